// if-match.mjs -- the If-Match values /api/v1/flags and /api/v1/state refuse, one rule for
// both (DESIGN §5, "If-Match"), each with what its 400 must say; the check of one answer; and
// the check of If-Match with If-None-Match on one resource (RFC 9110 §13), shared by both.

import assert from 'node:assert/strict';

export const REFUSED_IF_MATCH = [
  ['"0"', /^If-Match names no version 0: versions start at 1$/],
  ['"00"', /^If-Match names no version 0: versions start at 1$/],
  ['1', /^an entity-tag is quoted: write If-Match: "1"$/],
  ['"01"', /^If-Match "01" is no tag the server issued: a version is written without leading zeros, e.g. "1"$/],
  ['"+1"', /^If-Match "\+1" names no version/],
  ['"-1"', /^If-Match "-1" names no version/],
  ['W/"1"', /^If-Match compares entity-tags strongly.*the weak W\/"1" never matches; send "1"$/],
  ['"1", "2"', /^If-Match takes one entity-tag here, or \*, not a list$/],
  ['"v1"', /^If-Match "v1" names no version: a version is a whole number from 1, in quotes/],
  ['"abc"', /^If-Match "abc" names no version: a version is a whole number from 1, in quotes/],
  // A value holding a double quote that is not one quoted tag is malformed (RFC 9110 8.8.3;
  // W/ is case-sensitive); what the message suggests is always a tag the server accepts.
  ['"', /^If-Match " is a malformed entity-tag \(RFC 9110 8\.8\.3.*\); send "3"$/],
  ['w/"1"', /^If-Match w\/"1" is a malformed entity-tag .*upper-case W\/.*; send "1"$/],
  ['W/"', /^If-Match W\/" is a malformed entity-tag .*; send "3"$/],
  ['1"', /^If-Match 1" is a malformed entity-tag .*; send "3"$/],
  ['"1"1"', /^If-Match "1"1" is a malformed entity-tag/],
  ['W/"v1"', /the weak W\/"v1" never matches; send "3"$/],
  ['abc', /^an entity-tag is quoted: write If-Match: "3"$/],
];

// Asserts that 'r' (from api()) is the 400 invalid_header that 'says', and that any tag its
// message suggests is one the server accepts.
export function assertIfMatchRefused(r, says, what) {
  assert.equal(r.status, 400, `${what}: ${r.text}`);
  assert.equal(r.json.error.code, 'invalid_header');
  assert.match(r.json.error.message, says, what);
  for (const tag of r.json.error.message.match(/(?:send|write If-Match:|e\.g\.) (\S+)$/)?.slice(1) ?? []) {
    assert.match(tag, /^"[1-9][0-9]*"$/, `the suggested form is valid: ${r.json.error.message}`);
  }
}

// If-None-Match values refused as no version tags (400 invalid_header), on both routes.
export const REFUSED_IF_NONE_MATCH = ['3', '"v1"', '"1", x', '"0"', 'w/"1"', '"1", *'];

// The preconditions of RFC 9110 §13 on one versioned resource at 'path' (absent at the start),
// written by PUT 'body': If-None-Match: * creates only; a list of tags is false when one names
// the current version (weakly: W/"N" too) -- 412 for PUT and DELETE, 304 for GET; If-Match is
// evaluated first (§13.2.2); a 412 carries the current ETag and says which condition was false.
// 'api' is the suite's request helper bound to a daemon.
export async function assertPreconditions(api, path, body) {
  const put = (headers) => api('PUT', path, { json: body, headers });
  const expect412 = (r, etag, says, what) => {
    assert.equal(r.status, 412, `${what}: ${r.text}`);
    assert.equal(r.json.error.code, 'precondition_failed', what);
    assert.match(r.json.error.message, says, what);
    assert.equal(r.headers.get('etag'), etag, `${what}: the current ETag`);
  };
  let r = await put({ 'if-none-match': '*' });
  assert.equal(r.status, 201, `If-None-Match: * on nothing creates: ${r.text}`);
  assert.equal(r.json.version, 1);
  r = await put({ 'if-none-match': '*' });
  expect412(r, '"1"', /^If-None-Match: \* and .* exists \(version 1\): it creates only$/, 'a second If-None-Match: *');
  for (const tags of ['"1"', 'W/"1"', '"5", "1"', '"5",W/"1"']) {
    expect412(await put({ 'if-none-match': tags }), '"1"', /is at version 1, which If-None-Match names$/,
      `PUT If-None-Match: ${tags}`);
  }
  assert.equal((await api('GET', path)).json.version, 1, 'none of those wrote');
  r = await put({ 'if-none-match': '"7", "8"' });
  assert.equal(r.status, 200, `a list not naming version 1 is true: ${r.text}`);
  assert.equal(r.json.version, 2);
  for (const [tags, status] of [['"2"', 304], ['W/"2"', 304], ['*', 304], ['"1", "2"', 304], ['"1"', 200]]) {
    r = await api('GET', path, { headers: { 'if-none-match': tags } });
    assert.equal(r.status, status, `GET If-None-Match: ${tags}: ${r.text}`);
    assert.equal(r.headers.get('etag'), '"2"');
  }
  r = await api('GET', path, { headers: { 'if-match': '"1"' } });
  expect412(r, '"2"', /is at version 2, not the If-Match version$/, 'GET with a stale If-Match');
  r = await api('GET', path, { headers: { 'if-match': '"1"', 'if-none-match': '"2"' } });
  expect412(r, '"2"', /not the If-Match version$/, 'If-Match first: 412, not 304');
  r = await api('GET', path, { headers: { 'if-match': '"2"', 'if-none-match': '"2"' } });
  assert.equal(r.status, 304, 'If-Match true, then If-None-Match false on GET');
  r = await put({ 'if-match': '"1"', 'if-none-match': '"9"' });
  expect412(r, '"2"', /not the If-Match version$/, 'PUT: a false If-Match');
  r = await put({ 'if-match': '"2"', 'if-none-match': '"2"' });
  expect412(r, '"2"', /which If-None-Match names$/, 'PUT: If-Match true, If-None-Match false');
  for (const h of REFUSED_IF_NONE_MATCH) {
    r = await put({ 'if-none-match': h });
    assert.equal(r.status, 400, `If-None-Match: ${h}: ${r.text}`);
    assert.equal(r.json.error.code, 'invalid_header');
    assert.match(r.json.error.message, /^If-None-Match takes \* or a list of version tags/);
  }
  for (const tags of ['*', '"2"']) {
    r = await api('DELETE', path, { headers: { 'if-none-match': tags } });
    expect412(r, '"2"', /If-None-Match/, `DELETE If-None-Match: ${tags}`);
  }
  assert.equal((await api('GET', path)).json.version, 2, 'nothing was written or deleted');
  r = await api('DELETE', path, { headers: { 'if-none-match': '"1"' } });
  assert.equal(r.status, 204, `DELETE If-None-Match: "1" at version 2: ${r.text}`);
  r = await api('DELETE', path, { headers: { 'if-none-match': '*' } });
  assert.equal(r.status, 404, `DELETE If-None-Match: * on nothing: ${r.text}`);
  r = await api('GET', path, { headers: { 'if-match': '"2"' } });
  assert.equal(r.status, 404, 'GET on nothing is 404 whatever the preconditions (§13.2.1)');
}
