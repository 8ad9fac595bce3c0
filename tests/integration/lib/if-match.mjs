// if-match.mjs -- the If-Match values /api/v1/flags and /api/v1/state refuse, one rule for
// both (DESIGN §5, "If-Match"), each with what its 400 must say; and the check of one answer.

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
