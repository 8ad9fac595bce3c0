// cross-session-state.test.mjs -- web/cross-session-state.js: localStorage, other tabs over a
// BroadcastChannel, the server with versions (If-Match, 412 answered by writing on top of
// the current version), newer remote versions adopted, local-only when the route is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CrossSessionState, conflictOf, entriesOf } from '../../../web/cross-session-state.js';
import { FakeBroadcastHub, FakeStorage, fakeFetchJson } from './fakes.mjs';

// A server keeping one client's keys with versions, as DESIGN §5 describes the route.
function stateServer(clientId) {
  const keys = new Map();
  const base = `/api/v1/state/${clientId}`;
  const routes = {
    [`GET ${base}`]: () => ({ status: 200, body: { client_id: clientId, state: Object.fromEntries(keys) } }),
  };
  const putKey = (key) => (call) => {
    const cur = keys.get(key);
    // As the route answers: a false If-Match is 412 with what is there now (DESIGN §5); none
    // writes over whatever is there.
    const m = /"(\d+)"/.exec(call.headers['If-Match'] ?? '');
    if (m && Number(m[1]) !== cur?.version) {
      return { status: 412, body: { error: { code: 'precondition_failed', message: 'x' }, current: cur ?? null } };
    }
    const next = { value: call.body.value, version: (cur?.version ?? 0) + 1 };
    keys.set(key, next);
    return { status: 200, body: { key, ...next } };
  };
  for (const k of ['mode', 'theme']) {
    routes[`PUT ${base}/${k}`] = putKey(k);
  }
  return { routes, keys };
}

test('set: stored here, told to the other tab, written to the server with versions', async () => {
  const server = stateServer('c1');
  const fetchJson = fakeFetchJson(server.routes);
  const hub = new FakeBroadcastHub();
  const storage = new FakeStorage();
  const a = new CrossSessionState({ clientId: 'c1', fetchJson, storage, channel: hub.channel() });
  const b = new CrossSessionState({ clientId: 'c1', fetchJson, storage: new FakeStorage(), channel: hub.channel() });
  const seenB = [];
  b.subscribe((c) => seenB.push(c));
  await a.load();
  await a.set('mode', 'dual');
  assert.equal(a.get('mode'), 'dual');
  assert.deepEqual(seenB, [{ key: 'mode', value: 'dual', origin: 'tab' }]);
  assert.equal(b.get('mode'), 'dual');
  assert.deepEqual(server.keys.get('mode'), { value: 'dual', version: 1 });
  assert.equal(a.version('mode'), 1);
  await a.set('mode', 'realtime');
  const put = fetchJson.calls.filter((c) => c.method === 'PUT').at(-1);
  assert.equal(put.headers['If-Match'], '"1"');
  assert.deepEqual(server.keys.get('mode'), { value: 'realtime', version: 2 });
});

test('412: the current version is taken and the operator\'s write goes on top of it', async () => {
  const server = stateServer('c2');
  server.keys.set('mode', { value: 'legacy', version: 5 });
  const fetchJson = fakeFetchJson(server.routes);
  const storage = new FakeStorage();
  storage.setItem('telltale.state.mode', JSON.stringify({ value: 'legacy', version: 3, dirty: false }));
  const s = new CrossSessionState({ clientId: 'c2', fetchJson, storage, channel: null });
  await s.set('mode', 'dual'); // version 3 known, stale: the server says 412 with version 5
  const puts = fetchJson.calls.filter((c) => c.method === 'PUT').map((c) => c.headers['If-Match']);
  assert.deepEqual(puts, ['"3"', '"5"']);
  assert.deepEqual(server.keys.get('mode'), { value: 'dual', version: 6 });
  assert.equal(s.version('mode'), 6);
});

test('load adopts newer server versions; a newer remote push replaces, an older does not', async () => {
  const server = stateServer('c3');
  server.keys.set('theme', { value: 'light', version: 4 });
  const s = new CrossSessionState({ clientId: 'c3', fetchJson: fakeFetchJson(server.routes), storage: new FakeStorage(), channel: null });
  const seen = [];
  s.subscribe((c) => seen.push(c));
  await s.load();
  assert.equal(s.get('theme'), 'light');
  assert.equal(s.serverAvailable.get(), true);
  s.applyRemote({ key: 'theme', value: 'dark', version: 3 });
  assert.equal(s.get('theme'), 'light');
  s.applyRemote({ key: 'theme', value: 'dark', version: 7 });
  s.applyRemote({ key: 'theme', value: 'x', version: 9, client_id: 'someone-else' });
  assert.equal(s.get('theme'), 'dark');
  assert.deepEqual(seen.map((c) => c.origin), ['server', 'server']);
});

test('no state route: local only, values survive a new page on the same storage', async () => {
  const fetchJson = fakeFetchJson({});
  const storage = new FakeStorage();
  const s = new CrossSessionState({ clientId: 'c4', fetchJson, storage, channel: null });
  await s.load();
  assert.equal(s.serverAvailable.get(), false);
  await s.set('mode', 'realtime');
  assert.equal(fetchJson.calls.filter((c) => c.method === 'PUT').length, 0);
  const again = new CrossSessionState({ clientId: 'c4', fetchJson, storage, channel: null });
  assert.equal(again.get('mode'), 'realtime');
  assert.equal(again.get('missing', 'fallback'), 'fallback');
});

test('conflictOf and entriesOf read the shapes the server may use', () => {
  assert.deepEqual(conflictOf({ error: { code: 'c' }, current: { version: 2, value: 1 } }), { version: 2, value: 1 });
  assert.deepEqual(conflictOf({ error: { version: 3, value: 'v' } }), { version: 3, value: 'v' });
  assert.equal(conflictOf({}), null);
  assert.deepEqual(entriesOf({ items: [{ key: 'a', value: 1, version: 2 }] }), { a: { value: 1, version: 2 } });
  assert.deepEqual(entriesOf({ a: { value: 1, version: '2' } }), { a: { value: 1, version: 2 } });
});

test('a server push of the client\'s whole state (as /ws and Realtime send it) adopts each newer key', async () => {
  const server = stateServer('c9');
  const s = new CrossSessionState({ clientId: 'c9', fetchJson: fakeFetchJson(server.routes), storage: new FakeStorage(), channel: null });
  await s.load();
  await s.set('theme', 'light');
  s.applyPush({ type: 'state', client_id: 'c9', state: {
    theme: { value: 'dark', version: 5, updated_at: 'x' }, 'dashboard.data_source_override': { value: 'dual', version: 2 } } });
  assert.equal(s.get('theme'), 'dark');
  assert.equal(s.get('dashboard.data_source_override'), 'dual');
  s.applyPush({ type: 'state', client_id: 'another', state: { theme: { value: 'x', version: 99 } } });
  assert.equal(s.get('theme'), 'dark', 'another client\'s state is not ours');
  s.applyPush({ type: 'state', key: 'theme', value: 'light', version: 6 }); // one key, as a broadcast may carry it
  assert.equal(s.get('theme'), 'light');
});
