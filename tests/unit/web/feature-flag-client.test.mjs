// feature-flag-client.test.mjs -- web/feature-flag-client.js against fake routes: OFREP bulk
// evaluation with the client id as targeting key and ETag, the /api/v1/flags fallback,
// cache and defaults when nothing answers, and pushes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeatureFlagClient, definitionsOf, evaluateDefinition } from '../../../web/feature-flag-client.js';
import { FakeStorage, fakeFetchJson } from './fakes.mjs';

const KEY = 'dashboard.data_source';

test('defaults when no route answers; the source says unavailable', async () => {
  const fetchJson = fakeFetchJson({});
  const f = new FeatureFlagClient({ fetchJson, clientId: 'c1', storage: new FakeStorage() });
  await f.refresh();
  assert.equal(f.get(KEY), 'legacy');
  assert.equal(f.values.get()[KEY].from, 'default');
  assert.equal(f.source.get(), 'unavailable');
});

test('OFREP bulk: targetingKey is the client id; the value, its reason, and 304 on the ETag', async () => {
  let variant = 'dual';
  const fetchJson = fakeFetchJson({
    'POST /ofrep/v1/evaluate/flags': (call) => {
      if (call.headers['If-None-Match'] === `"v-${variant}"`) {
        return { status: 304 };
      }
      return { status: 200, headers: { ETag: `"v-${variant}"` },
               body: { flags: [{ key: KEY, value: variant, reason: 'SPLIT', variant }, { key: 'other', value: true }] } };
    },
  });
  const storage = new FakeStorage();
  const f = new FeatureFlagClient({ fetchJson, clientId: 'client-7', storage });
  const seen = [];
  f.subscribe((v) => seen.push(v[KEY].value));
  await f.refresh();
  assert.deepEqual(fetchJson.calls[0].body, { context: { targetingKey: 'client-7' } });
  assert.equal(f.get(KEY), 'dual');
  assert.equal(f.values.get()[KEY].reason, 'SPLIT');
  assert.equal(f.source.get(), 'ofrep');
  await f.refresh();
  assert.equal(fetchJson.calls[1].headers['If-None-Match'], '"v-dual"');
  assert.deepEqual(seen, ['legacy', 'dual'], 'a 304 changes nothing');
  // The cache: a new page starts from the last value seen, before the server answers.
  const g = new FeatureFlagClient({ fetchJson: fakeFetchJson({}), clientId: 'client-7', storage });
  assert.equal(g.get(KEY), 'dual');
  assert.equal(g.values.get()[KEY].from, 'cache');
  // A push: the ETag is dropped and the server asked again.
  variant = 'realtime';
  await f.applyPush({});
  assert.equal(f.get(KEY), 'realtime');
});

test('OFREP FLAG_NOT_FOUND for our key: the default', async () => {
  const fetchJson = fakeFetchJson({
    'POST /ofrep/v1/evaluate/flags': () => ({ status: 200, body: { flags: [{ key: KEY, errorCode: 'FLAG_NOT_FOUND' }] } }),
  });
  const f = new FeatureFlagClient({ fetchJson, clientId: 'c', storage: new FakeStorage() });
  await f.refresh();
  assert.equal(f.get(KEY), 'legacy');
  assert.equal(f.values.get()[KEY].reason, 'FLAG_NOT_FOUND');
});

test('without OFREP: /api/v1/flags definitions, evaluated where unambiguous', async () => {
  let def = { key: KEY, enabled: true, variant: 'realtime', rollout_percent: 100, version: 3 };
  const fetchJson = fakeFetchJson({ 'GET /api/v1/flags': () => ({ status: 200, body: { flags: [def] } }) });
  const f = new FeatureFlagClient({ fetchJson, clientId: 'c', storage: new FakeStorage() });
  await f.refresh();
  assert.equal(f.get(KEY), 'realtime');
  assert.equal(f.source.get(), 'flags');
  def = { ...def, enabled: false };
  await f.refresh();
  assert.equal(f.get(KEY), 'legacy');
  assert.equal(f.values.get()[KEY].reason, 'DISABLED');
});

test('a push with a definitive value applies before the server answers', async () => {
  const f = new FeatureFlagClient({ fetchJson: fakeFetchJson({}), clientId: 'c', storage: new FakeStorage() });
  const p = f.applyPush({ [KEY]: { enabled: true, variant: 'dual', rollout_percent: 100 } });
  assert.equal(f.get(KEY), 'dual');
  await p;
  assert.equal(f.get(KEY), 'dual', 'no server: the push stands');
  f.applyPush({ [KEY]: { enabled: true, variant: 'realtime', rollout_percent: 50 } });
  assert.equal(f.get(KEY), 'dual', 'a partial rollout is the server\'s to evaluate');
});

test('evaluateDefinition and definitionsOf', () => {
  assert.deepEqual(evaluateDefinition({ enabled: true, rollout_percent: 0, variant: 'x' }, 'd'), { value: 'd', reason: 'DEFAULT' });
  assert.equal(evaluateDefinition({ enabled: true, rollout_percent: 30, variant: 'x' }, 'd'), null);
  assert.equal(evaluateDefinition({ enabled: true }, false).value, true);
  assert.deepEqual(definitionsOf([{ key: 'a' }, { nokey: 1 }]), [{ key: 'a' }]);
  assert.deepEqual(definitionsOf({ flags: { a: { enabled: true } } }), [{ key: 'a', enabled: true }]);
});
