// ofrep.test.mjs -- the OpenFeature Remote Evaluation Protocol (open-feature/protocol,
// service/openapi.yaml) on the store the suite runs against: the answers' shapes for every
// reason and error code, bulk evaluation with ETag / If-None-Match -> 304, and the official
// Node SDK (@openfeature/server-sdk with @openfeature/ofrep-provider) reading telltale's
// flags. (The browser SDK is tests/e2e/ofrep-web.test.mjs.)

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { Daemon, api, test, uid } from './lib/daemon.mjs';

let d;
const K = uid('of').toLowerCase().replace(/[^a-z0-9]/g, '');
const keys = {
  on: `${K}.on`, off: `${K}.off`, variant: `${K}.source`, split: `${K}.split`, rules: `${K}.rules`,
};
before(async () => {
  d = await Daemon.start({ label: 'ofrep' });
  const flags = {
    [keys.on]: { enabled: true },
    [keys.off]: { enabled: false, variant: 'dual' },
    [keys.variant]: { enabled: true, variant: 'dual', rollout_percent: 100 },
    [keys.split]: { enabled: true, variant: 'realtime', rollout_percent: 50 },
    [keys.rules]: { enabled: true, rules: [{ attribute: 'plan', in: ['pro', 'team'] }] },
  };
  for (const [k, f] of Object.entries(flags)) {
    const r = await api(d, 'PUT', `/api/v1/flags/${k}`, { json: f });
    assert.equal(r.status, 201, r.text);
  }
});
after(async () => {
  await OpenFeature.close();
  await d?.cleanup();
});

const evaluate = (key, body) => api(d, 'POST', `/ofrep/v1/evaluate/flags/${key}`,
                                    body === undefined ? {} : { json: body });

test('single evaluation: every reason, values and variants as the OpenAPI document has them', async () => {
  let r = await evaluate(keys.on, { context: {} });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /application\/json/);
  assert.deepEqual(r.json, { key: keys.on, reason: 'STATIC', variant: 'on', value: true, metadata: { version: 1 } });
  r = await evaluate(keys.variant);
  assert.deepEqual([r.json.reason, r.json.value, r.json.variant], ['STATIC', 'dual', 'dual']);
  r = await evaluate(keys.off, { context: { targetingKey: 'u' } });
  assert.deepEqual(r.json, { key: keys.off, reason: 'DISABLED', metadata: { version: 1 } },
                   'no value: the caller\'s default (codeDefaultFlag)');
  r = await evaluate(keys.rules, { context: { plan: 'pro' } });
  assert.deepEqual([r.json.reason, r.json.value], ['TARGETING_MATCH', true]);
  r = await evaluate(keys.rules, { context: { plan: 'free' } });
  assert.equal(r.json.reason, 'DEFAULT');
  assert.ok(!('value' in r.json));
  let inside = 0;
  for (let i = 0; i < 200; i++) {
    r = await evaluate(keys.split, { context: { targetingKey: `user-${i}` } });
    assert.equal(r.json.reason, 'SPLIT');
    if ('value' in r.json) {
      assert.equal(r.json.value, 'realtime');
      inside++;
    }
    const again = await evaluate(keys.split, { context: { targetingKey: `user-${i}` } });
    assert.deepEqual(again.json, r.json, 'sticky');
  }
  assert.ok(inside > 60 && inside < 140, `about half of 200 in the rollout: ${inside}`);
});

test('single evaluation: FLAG_NOT_FOUND, PARSE_ERROR, INVALID_CONTEXT, TARGETING_KEY_MISSING', async () => {
  let r = await evaluate(`${K}.absent`, {});
  assert.equal(r.status, 404);
  assert.equal(r.json.key, `${K}.absent`);
  assert.equal(r.json.errorCode, 'FLAG_NOT_FOUND');
  assert.equal(typeof r.json.errorDetails, 'string');
  r = await api(d, 'POST', `/ofrep/v1/evaluate/flags/${keys.on}`, { body: '{"context":', headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 400);
  assert.deepEqual([r.json.key, r.json.errorCode], [keys.on, 'PARSE_ERROR']);
  for (const body of [{ context: [1] }, { context: 'x' }, [1], { context: { targetingKey: 5 } }]) {
    r = await evaluate(keys.on, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.errorCode, 'INVALID_CONTEXT', JSON.stringify(body));
  }
  r = await evaluate(keys.split, { context: { plan: 'pro' } });
  assert.equal(r.status, 400);
  assert.equal(r.json.errorCode, 'TARGETING_KEY_MISSING');
});

test('bulk evaluation: every flag, per-flag errors, ETag and If-None-Match -> 304', async () => {
  const body = { context: { targetingKey: 'user-7', plan: 'pro' } };
  let r = await api(d, 'POST', '/ofrep/v1/evaluate/flags', { json: body });
  assert.equal(r.status, 200, r.text);
  const mine = r.json.flags.filter((f) => f.key.startsWith(K));
  assert.equal(mine.length, 5);
  const etag = r.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]{16}"$/);
  r = await api(d, 'POST', '/ofrep/v1/evaluate/flags', { json: body, headers: { 'if-none-match': etag } });
  assert.equal(r.status, 304);
  assert.equal(r.text, '');
  for (const list of [`"0000000000000000", ${etag}`, `W/${etag}`, '*']) {
    r = await api(d, 'POST', '/ofrep/v1/evaluate/flags', { json: body, headers: { 'if-none-match': list } });
    assert.equal(r.status, 304, `If-None-Match: ${list}`);
  }
  r = await api(d, 'POST', '/ofrep/v1/evaluate/flags', { json: body, headers: { 'if-none-match': `"x${etag.slice(2)}` } });
  assert.equal(r.status, 200, 'another tag');
  r = await api(d, 'POST', '/ofrep/v1/evaluate/flags', { json: { context: { targetingKey: 'user-7', plan: 'free' } }, headers: { 'if-none-match': etag } });
  assert.equal(r.status, 200, 'a context with another answer gets it');
  assert.notEqual(r.headers.get('etag'), etag);
  assert.equal((await api(d, 'PUT', `/api/v1/flags/${keys.on}`, { json: { enabled: true, description: 'changed' } })).status, 200);
  r = await api(d, 'POST', '/ofrep/v1/evaluate/flags', { json: body, headers: { 'if-none-match': etag } });
  assert.equal(r.status, 200, 'a flag changed: the old ETag no longer matches');
  r = await api(d, 'POST', '/ofrep/v1/evaluate/flags', { json: { context: {} } });
  const split = r.json.flags.find((f) => f.key === keys.split);
  assert.deepEqual(split, { key: keys.split, errorCode: 'TARGETING_KEY_MISSING',
                            errorDetails: split.errorDetails });
  r = await api(d, 'POST', '/ofrep/v1/evaluate/flags', { body: 'nope', headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 400);
  assert.equal(r.json.errorCode, 'PARSE_ERROR');
  assert.ok(!('key' in r.json));
});

test('the official Node SDK (server-sdk + ofrep-provider) reads telltale flags', async () => {
  await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl: d.base }));
  const client = OpenFeature.getClient();
  let det = await client.getBooleanDetails(keys.on, false, { targetingKey: 'u1' });
  assert.deepEqual([det.value, det.reason, det.variant], [true, 'STATIC', 'on']);
  det = await client.getStringDetails(keys.variant, 'legacy', { targetingKey: 'u1' });
  assert.deepEqual([det.value, det.reason], ['dual', 'STATIC']);
  det = await client.getBooleanDetails(keys.rules, false, { targetingKey: 'u1', plan: 'team' });
  assert.deepEqual([det.value, det.reason], [true, 'TARGETING_MATCH']);
  det = await client.getStringDetails(`${K}.absent`, 'fallback', { targetingKey: 'u1' });
  assert.deepEqual([det.value, det.errorCode], ['fallback', 'FLAG_NOT_FOUND']);
  det = await client.getStringDetails(keys.split, 'legacy', {});
  assert.deepEqual([det.value, det.errorCode], ['legacy', 'TARGETING_KEY_MISSING']);
  det = await client.getNumberDetails(keys.variant, 3, { targetingKey: 'u1' });
  assert.deepEqual([det.value, det.errorCode], [3, 'TYPE_MISMATCH']);
  // A disabled flag answers without a value (the spec's codeDefaultFlag); this provider
  // version predates it and reports an error, and the caller still gets its default.
  det = await client.getStringDetails(keys.off, 'legacy', { targetingKey: 'u1' });
  assert.equal(det.value, 'legacy');
  // The split: a user inside gets the flag's value, one outside its default.
  let inside = 0;
  for (let i = 0; i < 40; i++) {
    det = await client.getStringDetails(keys.split, 'legacy', { targetingKey: `user-${i}` });
    inside += det.value === 'realtime';
    assert.ok(['realtime', 'legacy'].includes(det.value));
  }
  assert.ok(inside > 0 && inside < 40, `some in, some out: ${inside}`);
});
