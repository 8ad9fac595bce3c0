// answers.test.mjs -- the exact shape of answers that one module now writes for every protocol
// (the ingest gateway's refusals, the router's error shapes, the counters): what a producer or a
// supabase-js client reads, byte for byte where it matters.

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, api, test } from './lib/daemon.mjs';

let d;

before(async () => {
  d = await Daemon.start({ label: 'answers' });
});

after(async () => {
  await d?.cleanup();
});

const status = async () => (await api(d, 'GET', '/api/v1/status')).json;

test('a refused body names the bad event; other refusals have no index', async () => {
  const bad = await api(d, 'POST', '/api/v1/events', { json: [{ type: 'a' }, { type: 'b', x: 1 }] });
  assert.equal(bad.status, 400);
  assert.deepEqual(Object.keys(bad.json.error), ['code', 'message', 'index']);
  assert.equal(bad.json.error.index, 1);
  const whole = await api(d, 'POST', '/api/v1/events', { body: '{', headers: { 'content-type': 'application/json' } });
  assert.equal(whole.status, 400);
  assert.equal(whole.json.error.index, null); /* the body as a whole: index null */
  const media = await api(d, 'POST', '/api/v1/events', { body: 'a,b', headers: { 'content-type': 'text/csv' } });
  assert.equal(media.status, 415);
  assert.deepEqual(Object.keys(media.json.error), ['code', 'message']);
  assert.equal(media.json.error.code, 'unsupported_media_type');
});

test('an ingest is acknowledged with accepted and duplicates, and counted once', async () => {
  const before = (await status()).ingest;
  const r = await api(d, 'POST', '/api/v1/events', { json: [{ id: 'ans-1', type: 'a' }, { id: 'ans-1', type: 'a' }] });
  assert.equal(r.status, 202);
  assert.deepEqual(r.json, { accepted: 2, duplicates: 1 });
  const now = (await status()).ingest;
  assert.equal(now.events_accepted - before.events_accepted, 2);
  assert.equal(now.requests_invalid, before.requests_invalid);
});

test('a path under /rest/v1 that no route takes answers in PostgREST\'s shape, with CORS', async () => {
  for (const path of ['/rest/v1/a/b', '/rest/v1/']) {
    const r = await api(d, 'GET', path);
    assert.equal(r.status, 404, path);
    assert.equal(r.headers.get('access-control-allow-origin'), '*', path);
    assert.deepEqual(Object.keys(r.json).sort(), ['code', 'details', 'hint', 'message'], path);
  }
  // a path refused before routing (too long, a malformed %-escape) keeps the shape of the
  // route its decoded prefix names
  for (const path of ['/rest/v1/' + 'x'.repeat(600), '/rest/v1/monitoring_events%zz']) {
    const refused = await api(d, 'GET', path);
    assert.ok(refused.status === 414 || refused.status === 400, `${refused.status} ${path}`);
    assert.equal(refused.headers.get('access-control-allow-origin'), '*', path);
    assert.deepEqual(Object.keys(refused.json).sort(), ['code', 'details', 'hint', 'message']);
  }
  const other = await api(d, 'GET', '/api/v1/nothing-here');
  assert.equal(other.status, 404);
  assert.equal(other.json.error.code, 'not_found');
  assert.equal(other.headers.get('access-control-allow-origin'), null);
});

test('an empty insert through /rest/v1 is a 201 and not counted as an invalid request', async () => {
  const before = (await status()).ingest.requests_invalid;
  for (const body of ['[]', ' [ ] ']) {
    const r = await api(d, 'POST', '/rest/v1/monitoring_events', {
      body,
      headers: { 'content-type': 'application/json', prefer: 'return=representation' },
    });
    assert.equal(r.status, 201, body);
    assert.deepEqual(r.json, []);
  }
  assert.equal((await status()).ingest.requests_invalid, before);
  const bad = await api(d, 'POST', '/rest/v1/monitoring_events', { json: [{ type: 'a', oops: 1 }] });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.code, 'PGRST204');
  assert.equal((await status()).ingest.requests_invalid, before + 1);
});

test('405 names the methods the path takes', async () => {
  const r = await api(d, 'PATCH', '/api/v1/dlq');
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('allow'), 'GET, HEAD, DELETE, OPTIONS'); // as OPTIONS says
  assert.equal(r.json.error.code, 'method_not_allowed');
});
