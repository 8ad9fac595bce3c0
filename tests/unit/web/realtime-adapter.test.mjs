// realtime-adapter.test.mjs -- web/realtime-adapter.js over a fake supabase-js client: the
// start cursor from the store's head, after_seq kept in the binding (what realtime-js sends
// again on rejoin), each seq once, the REST backfill for a server without after_seq, and
// the client settings of supabase-client.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RealtimeAdapter, rowToEvent } from '../../../web/realtime-adapter.js';
import { createSupabaseClient, realtimeEndpoint, realtimeReconnectDelay, realtimeRejoinDelay, setRealtimeEndpoint } from '../../../web/supabase-client.js';
// The supabase-js the page ships (web/package-lock.json), not the test tooling's copy.
import { createClient as realCreateClient } from '../../../web/node_modules/@supabase/supabase-js/dist/index.mjs';
import { FakeStorage } from './fakes.mjs';

// The pieces of supabase-js the adapter uses: from().select().order().gt().lte().limit()
// (a thenable query over `rows`), channel().on().subscribe(), removeChannel().
class FakeClient {
  rows = [];
  channels = [];
  removed = [];
  queries = [];
  from(table) {
    const q = { table, filters: [], order: null, lim: null };
    this.queries.push(q);
    const b = {
      select: () => b,
      order: (col, { ascending }) => { q.order = ascending ? 'asc' : 'desc'; return b; },
      gt: (c, v) => { q.filters.push((r) => r.seq > v); return b; },
      lte: (c, v) => { q.filters.push((r) => r.seq <= v); return b; },
      limit: (n) => { q.lim = n; return b; },
      then: (res, rej) => {
        let data = this.rows.filter((r) => q.filters.every((f) => f(r)));
        data.sort((x, y) => (q.order === 'desc' ? y.seq - x.seq : x.seq - y.seq));
        data = data.slice(0, q.lim ?? data.length);
        return Promise.resolve({ data, error: null }).then(res, rej);
      },
    };
    return b;
  }
  channel(name) {
    const ch = { name, handlers: [], statusFn: null };
    ch.on = (kind, filter, fn) => { ch.handlers.push({ kind, filter, fn }); return ch; };
    ch.subscribe = (fn) => { ch.statusFn = fn; return ch; };
    ch.row = (row) => ch.handlers.filter((h) => h.kind === 'postgres_changes').forEach((h) => h.fn({ new: row }));
    this.channels.push(ch);
    return ch;
  }
  removeChannel(ch) {
    this.removed.push(ch);
  }
}

const settle = () => new Promise((r) => setTimeout(r, 0));
const row = (seq) => ({ seq, id: `e${seq}`, type: 't', source: null, attrs: null, ts: '2026-12-01T00:00:00.000+00:00' });

async function started(client, opts) {
  const a = new RealtimeAdapter(client, opts);
  const got = [];
  a.events.subscribe((evs) => got.push(...evs));
  a.start();
  await settle();
  await settle();
  const ch = client.channels.find((c) => c.handlers.some((h) => h.kind === 'postgres_changes'));
  return { a, got, ch };
}

test('rowToEvent drops nulls and reads a string seq', () => {
  assert.deepEqual(rowToEvent({ seq: '12', id: 'a', source: null, attrs: { k: 1 } }), { seq: 12, id: 'a', attrs: { k: 1 } });
});

test('starts backfill before the store\'s head and keeps after_seq at its cursor', async () => {
  const client = new FakeClient();
  client.rows = Array.from({ length: 500 }, (_, i) => row(i + 1));
  const { a, got, ch } = await started(client, { backfill: 200 });
  const binding = ch.handlers[0].filter;
  assert.deepEqual({ ...binding }, { event: 'INSERT', schema: 'monitoring', table: 'monitoring_events', after_seq: 300 });
  ch.statusFn('SUBSCRIBED');
  await settle();
  assert.equal(a.status.get().state, 'connected');
  assert.equal(a.catchingUp, true, 'the head (500) is not reached yet');
  for (let s = 301; s <= 500; s++) {
    ch.row(row(s));
  }
  ch.row(row(400)); // a repeat
  await settle();
  assert.equal(got.length, 200);
  assert.equal(got[0].seq, 301);
  assert.equal(a.cursor, 500);
  assert.equal(binding.after_seq, 500, 'a rejoin asks for what came after');
  assert.equal(a.catchingUp, false);
  ch.statusFn('CHANNEL_ERROR', new Error('socket closed'));
  assert.equal(a.status.get().state, 'reconnecting');
  a.stop();
  assert.equal(a.status.get().state, 'offline');
  assert.equal(client.removed.length, 2, 'the events and flags channels are removed');
});

test('a hand-over cursor wins over the backfill', async () => {
  const client = new FakeClient();
  client.rows = [row(1), row(2), row(50)];
  const { ch } = await started(client, { initialCursor: 42 });
  assert.equal(ch.handlers[0].filter.after_seq, 42);
});

test('without after_seq on the server: each join backfills by REST, live rows held in order', async () => {
  const client = new FakeClient();
  client.rows = Array.from({ length: 30 }, (_, i) => row(i + 1));
  const { a, got, ch } = await started(client, { initialCursor: 10, serverReplays: false, backfillPage: 7 });
  assert.equal('after_seq' in ch.handlers[0].filter, false, 'a plain Supabase binding');
  client.rows.push(row(31));
  ch.statusFn('SUBSCRIBED');
  ch.row(row(31)); // live, while the backfill runs
  for (let i = 0; i < 20; i++) {
    await settle();
  }
  assert.deepEqual(got.map((e) => e.seq), Array.from({ length: 21 }, (_, i) => i + 11));
  assert.equal(a.cursor, 31);
});

test('flags broadcasts are passed on', async () => {
  const client = new FakeClient();
  const { a } = await started(client, {});
  const seen = [];
  a.flags.subscribe((f) => seen.push(f));
  const flagCh = client.channels.find((c) => c.name === 'flags');
  flagCh.handlers[0].fn({ event: 'flags', payload: { flags: { k: 1 } } });
  assert.deepEqual(seen, [{ k: 1 }]);
});

test('supabase-client: the page\'s origin by default, a saved Supabase project when set', () => {
  const storage = new FakeStorage();
  assert.deepEqual(realtimeEndpoint({ storage, href: 'http://127.0.0.1:9/', key: '' }),
                   { url: 'http://127.0.0.1:9', key: 'telltale-no-key', custom: false });
  setRealtimeEndpoint('https://abc.supabase.co/', 'anon', storage);
  assert.deepEqual(realtimeEndpoint({ storage, href: 'http://127.0.0.1:9/' }),
                   { url: 'https://abc.supabase.co', key: 'anon', custom: true });
  setRealtimeEndpoint('', '', storage);
  assert.equal(realtimeEndpoint({ storage, href: 'http://h/' }).custom, false);
  let args;
  createSupabaseClient({ createClient: (...a) => { args = a; return {}; }, endpoint: { url: 'http://h', key: 'k' } });
  assert.equal(args[0], 'http://h');
  assert.equal(args[2].db.schema, 'monitoring');
  const d = args[2].realtime.reconnectAfterMs(3);
  assert.ok(d >= 0 && d < 1000, `third try within a 1 s ceiling: ${d}`);
  assert.equal(realtimeReconnectDelay(1, 0.5), 125);
  assert.throws(() => createSupabaseClient({ createClient: undefined }), /not loaded/);
});

test('with a client id, the state:<id> broadcasts come out as state messages, and stop leaves the topic', async () => {
  const client = new FakeClient();
  const { a } = await started(client, { stateClientId: 'client-1' });
  const got = [];
  a.messages.subscribe((m) => got.push(m));
  const ch = client.channels.find((c) => c.name === 'state:client-1');
  assert.ok(ch, `channels: ${client.channels.map((c) => c.name)}`);
  const h = ch.handlers.find((x) => x.kind === 'broadcast');
  assert.deepEqual(h.filter, { event: 'state' });
  h.fn({ event: 'state', payload: { client_id: 'client-1', state: { theme: { value: 'dark', version: 2 } } } });
  assert.deepEqual(got, [{ type: 'state', client_id: 'client-1', state: { theme: { value: 'dark', version: 2 } } }]);
  a.stop();
  assert.ok(client.removed.includes(ch));
});

test('supabase-client: realtime-js rejoins a channel after full-jitter delays, not its fixed 1, 2, 5, 10 s', () => {
  assert.equal(realtimeRejoinDelay(1, 0.5), 500);
  assert.equal(realtimeRejoinDelay(3, 0.999), 3996);
  assert.equal(realtimeRejoinDelay(9, 0.5), 5000, 'capped at 10 s');
  // The real client (Node has no WebSocket: a stand-in transport, never connected).
  const { client } = createSupabaseClient({
    createClient: (url, key, opts) => realCreateClient(url, key, { ...opts, realtime: { ...opts.realtime, transport: class {} } }),
    endpoint: { url: 'http://127.0.0.1:9', key: 'k' },
  });
  const timer = client.channel('rejoin-probe').rejoinTimer;
  const third = Array.from({ length: 50 }, () => timer.timerCalc(3));
  assert.ok(third.every((d) => d >= 0 && d < 4000), `third rejoin within a 4 s ceiling: ${third}`);
  assert.ok(new Set(third).size > 1, 'drawn, not fixed');
  client.removeAllChannels();
});
