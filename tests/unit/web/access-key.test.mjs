// access-key.test.mjs -- web/access-key.js: no prompt when telltale needs no key or the tab's
// key works; one prompt per refusal with the reason, the key stored for the tab only once the
// API took it; the header and URL forms of the key.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STORAGE_KEY, ensureKey, keyHeaders, withKey } from '../../../web/access-key.js';

// A sessionStorage stand-in.
function memoryStorage(initial = {}) {
  const m = new Map(Object.entries(initial));
  return {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => m.set(k, String(v)),
    removeItem: (k) => m.delete(k),
    map: m,
  };
}

// A fetch that answers by the apikey header: 200 for readers, 403 for 'producer', 401 else.
function api(readers) {
  const calls = [];
  const fetchFn = async (url, init) => {
    calls.push({ url, key: init.headers.apikey ?? null });
    const k = init.headers.apikey;
    return { status: k === 'producer' ? 403 : readers.has(k ?? '') ? 200 : 401 };
  };
  return { fetchFn, calls };
}

test('no keys configured: no prompt, no key stored', async () => {
  const { fetchFn, calls } = api(new Set(['']));
  const storage = memoryStorage();
  const key = await ensureKey({ fetchFn, storage, ask: () => assert.fail('asked') });
  assert.equal(key, '');
  assert.equal(storage.map.size, 0);
  assert.deepEqual(calls, [{ url: 'api/v1/status', key: null }]);
});

test('the tab\'s stored key is used without a prompt', async () => {
  const { fetchFn } = api(new Set(['good']));
  const storage = memoryStorage({ [STORAGE_KEY]: 'good' });
  assert.equal(await ensureKey({ fetchFn, storage, ask: () => assert.fail('asked') }), 'good');
});

test('401: asks, says why on each refusal, stores the key only once it works', async () => {
  const { fetchFn, calls } = api(new Set(['good']));
  const storage = memoryStorage({ [STORAGE_KEY]: 'stale' });
  const answers = ['  wrong ', 'producer', ' good '];
  const reasons = [];
  const ask = async (reason) => {
    reasons.push(reason);
    assert.equal(storage.getItem(STORAGE_KEY), null, 'a refused key is not kept');
    return answers.shift();
  };
  assert.equal(await ensureKey({ fetchFn, storage, ask }), 'good');
  assert.equal(storage.getItem(STORAGE_KEY), 'good');
  assert.deepEqual(calls.map((c) => c.key), ['stale', 'wrong', 'producer', 'good']);
  assert.equal(reasons.length, 3);
  assert.match(reasons[0], /not accepted/); // the stale key
  assert.match(reasons[1], /not accepted/);
  assert.match(reasons[2], /cannot read/);
});

test('a first visit without a stored key explains why it asks', async () => {
  const { fetchFn } = api(new Set(['k']));
  let reason;
  await ensureKey({ fetchFn, storage: memoryStorage(), ask: async (r) => { reason = r; return 'k'; } });
  assert.match(reason, /needs a key/);
});

test('a network failure rejects rather than asking', async () => {
  const fetchFn = async () => { throw new TypeError('Failed to fetch'); };
  await assert.rejects(ensureKey({ fetchFn, storage: memoryStorage(), ask: () => assert.fail('asked') }),
                       /Failed to fetch/);
});

test('keyHeaders and withKey', () => {
  assert.deepEqual(keyHeaders(''), {});
  assert.deepEqual(keyHeaders('k'), { apikey: 'k' });
  assert.equal(withKey('ws://h:1/ws', ''), 'ws://h:1/ws');
  assert.equal(withKey('wss://h:1/ws', 'a b&c=d'), 'wss://h:1/ws?apikey=a+b%26c%3Dd');
});
