// ws-adapter.test.mjs -- web/ws-adapter.js without a browser: backoffDelay and liveUrl, and
// WsAdapter driven through a fake WebSocket under mock timers -- the hello/resume
// handshake and backfill, each seq applied at most once, the live-before-replay race,
// gaps, reconnect backoff, a server whose history restarted, the stale-link keepalive,
// offline/online, and stop().
//
// WsAdapter uses the page's globals: WebSocket, addEventListener/removeEventListener for
// 'online'/'offline', and navigator.onLine. Node 20 has none of them, so the tests install
// stand-ins for the duration of this file; the module itself is unchanged.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WsAdapter, backoffDelay, liveUrl } from '../../../web/ws-adapter.js';

const T0 = 1_700_000_000_000;

class FakeWebSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  static instances = [];

  constructor(url) {
    this.url = url;
    this.readyState = FakeWebSocket.CONNECTING;
    this.sent = [];
    this.closedWith = null;
    this.onmessage = null;
    this.onclose = null;
    FakeWebSocket.instances.push(this);
  }

  send(text) {
    this.sent.push(JSON.parse(text));
  }

  close(code, reason) {
    this.closedWith = { code, reason };
    this.readyState = FakeWebSocket.CLOSED;
  }

  // The server's side.
  open() {
    this.readyState = FakeWebSocket.OPEN;
  }

  receive(msg) {
    this.onmessage?.({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) });
  }

  drop() {
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.({ code: 1006 });
  }
}

const page = new EventTarget();
const saved = {};
const GLOBALS = ['WebSocket', 'addEventListener', 'removeEventListener', 'navigator'];

before(() => {
  for (const name of GLOBALS) {
    saved[name] = Object.getOwnPropertyDescriptor(globalThis, name);
  }
  const define = (name, value) =>
    Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  define('WebSocket', FakeWebSocket);
  define('addEventListener', page.addEventListener.bind(page));
  define('removeEventListener', page.removeEventListener.bind(page));
  define('navigator', { onLine: true });
});

after(() => {
  for (const name of GLOBALS) {
    if (saved[name]) {
      Object.defineProperty(globalThis, name, saved[name]);
    } else {
      delete globalThis[name];
    }
  }
});

const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const items = (seqs) => ({ type: 'events', items: seqs.map((seq) => ({ seq, type: 'request' })) });

// A started adapter under mock timers, with everything it emits recorded.
function start(t, opts = {}) {
  t.mock.timers.enable({ apis: ['Date', 'setTimeout', 'setInterval'], now: T0 });
  FakeWebSocket.instances = [];
  navigator.onLine = true;
  const adapter = new WsAdapter('ws://example.test/ws', { random: () => 0, ...opts });
  const rec = { applied: [], batches: [], statuses: [], resets: 0 };
  adapter.events.subscribe((evs) => {
    rec.batches.push(evs.map((e) => e.seq));
    rec.applied.push(...evs.map((e) => e.seq));
  });
  adapter.status.subscribe((s) => rec.statuses.push(s));
  adapter.reset.subscribe(() => rec.resets++);
  adapter.start();
  t.after(() => adapter.stop());
  const ws = () => FakeWebSocket.instances.at(-1);
  return { adapter, rec, ws };
}

// Opens the current socket and has the server say hello.
function hello(ws, serverSeq) {
  ws.open();
  ws.receive({ type: 'hello', server_seq: serverSeq, flags: {} });
}

test('backoffDelay: equal jitter in the upper half of a ceiling that doubles up to the cap', () => {
  assert.equal(backoffDelay(0, 250, 10_000, 0), 125);
  assert.equal(backoffDelay(0, 250, 10_000, 0.5), 187.5);
  assert.equal(backoffDelay(0, 250, 10_000, 0.999), 249.875);
  assert.equal(backoffDelay(1, 250, 10_000, 0), 250);
  assert.equal(backoffDelay(3, 250, 10_000, 0.5), 1500);
  assert.equal(backoffDelay(5, 250, 10_000, 0), 4000);
  assert.equal(backoffDelay(6, 250, 10_000, 0), 5000); // 16 000 capped to 10 000
  assert.equal(backoffDelay(6, 250, 10_000, 0.5), 7500);
  // A huge attempt count stays at the cap.
  assert.equal(backoffDelay(5000, 250, 10_000, 0), 5000);
  assert.equal(backoffDelay(Number.MAX_SAFE_INTEGER, 250, 10_000, 0.5), 7500);
});

test('liveUrl: /ws next to the page, ws: or wss:, without query or fragment', () => {
  assert.equal(liveUrl('http://host:8080/'), 'ws://host:8080/ws');
  assert.equal(liveUrl('http://host:8080/index.html?x=1#top'), 'ws://host:8080/ws');
  assert.equal(liveUrl('https://example.org/telltale/'), 'wss://example.org/telltale/ws');
  assert.equal(liveUrl('https://example.org/telltale/index.html'), 'wss://example.org/telltale/ws');
});

test('first connection: nothing applies before hello; resume asks for the backfill', (t) => {
  const { adapter, rec, ws } = start(t, { backfill: 200 });
  assert.equal(FakeWebSocket.instances.length, 1);
  assert.equal(ws().url, 'ws://example.test/ws');
  assert.deepEqual(rec.statuses, [
    { state: 'connecting', attempt: 0, retryAt: null, serverSeq: null },
    { state: 'connecting', attempt: 0, retryAt: null, serverSeq: null },
  ]);
  assert.equal(adapter.send({ type: 'ping' }), false); // not open yet
  assert.equal(adapter.cursor, null);

  ws().open();
  ws().receive(items([499, 500])); // before hello: ignored
  ws().receive({ type: 'hello', server_seq: 500, flags: {} });
  assert.deepEqual(ws().sent, [{ type: 'resume', after_seq: 300 }]);
  assert.equal(adapter.cursor, 300);
  assert.deepEqual(rec.statuses.at(-1), { state: 'connected', attempt: 0, retryAt: null, serverSeq: 500 });
  assert.deepEqual(rec.applied, []);
});

test('an empty store: resume after 0, and live events apply from seq 1', (t) => {
  const { adapter, rec, ws } = start(t);
  hello(ws(), 0);
  assert.deepEqual(ws().sent, [{ type: 'resume', after_seq: 0 }]);
  ws().receive({ type: 'event', seq: 1, event: { type: 'request' } });
  ws().receive({ type: 'event', event: { seq: 2, type: 'request' } }); // seq only inside
  assert.deepEqual(rec.applied, [1, 2]);
  assert.equal(adapter.cursor, 2);
});

test('the replay applies each seq once, in order; duplicates and bad seqs are dropped', (t) => {
  const { adapter, rec, ws } = start(t, { backfill: 5 });
  hello(ws(), 10);
  assert.deepEqual(ws().sent, [{ type: 'resume', after_seq: 5 }]);
  ws().receive(items([4, 5, 6, 7])); // 4 and 5 are at or below the cursor
  ws().receive({ type: 'event', seq: 7, event: { type: 'request' } }); // again
  ws().receive(items([8]));
  ws().receive({ type: 'events', items: [{ seq: '9' }, { seq: 9.5 }, { type: 'x' }, null] });
  ws().receive(items([9, 10, 10, 11]));
  assert.deepEqual(rec.batches, [[6, 7], [8], [9, 10, 11]]);
  assert.equal(adapter.cursor, 11);
});

test('live events pushed before the server read resume are shown at once, never twice', (t) => {
  const { adapter, rec, ws } = start(t, { backfill: 200 });
  hello(ws(), 500);
  // The server pushes two live events before it reads our resume...
  ws().receive({ type: 'event', seq: 501, event: { type: 'request' } });
  ws().receive({ type: 'event', seq: 502, event: { type: 'request' } });
  assert.deepEqual(rec.applied, [501, 502]);
  assert.equal(adapter.cursor, 300, 'early events must not move the cursor past the replay');
  // ...then replays everything after 300 in order, those two included, then the tail.
  ws().receive(items(range(301, 502)));
  assert.equal(adapter.cursor, 502);
  ws().receive({ type: 'event', seq: 503, event: { type: 'request' } });
  assert.deepEqual(rec.applied, [501, 502, ...range(301, 500), 503]);
  assert.equal(new Set(rec.applied).size, rec.applied.length);
});

test('gaps in seq (other stores\' numbering, deleted rows) do not stall the cursor', (t) => {
  const { adapter, rec, ws } = start(t, { backfill: 0 });
  hello(ws(), 100);
  ws().receive(items([105]));
  ws().receive(items([110, 120]));
  ws().receive(items([115])); // below the cursor now: dropped
  assert.deepEqual(rec.applied, [105, 110, 120]);
  assert.equal(adapter.cursor, 120);
});

test('a replay that never delivers server_seq still applies everything once', (t) => {
  // The event at server_seq is gone by the time the replay runs (retention), so events
  // above it wait in `ahead`; a later connection's replay of them is not applied again.
  const { adapter, rec, ws } = start(t, { backfill: 10 });
  hello(ws(), 100);
  ws().receive(items([...range(91, 99), 101, 102]));
  assert.equal(adapter.cursor, 99);
  ws().drop();
  t.mock.timers.tick(125);
  hello(ws(), 102);
  assert.deepEqual(ws().sent, [{ type: 'resume', after_seq: 99 }]);
  ws().receive(items([101, 102, 103]));
  assert.deepEqual(rec.applied, [...range(91, 99), 101, 102, 103]);
  assert.equal(adapter.cursor, 103);
});

test('after 10 000 events waiting above server_seq the cursor stops waiting for the replay', (t) => {
  const { adapter, rec, ws } = start(t, { backfill: 10 });
  hello(ws(), 100);
  ws().receive(items(range(101, 10_100))); // 10 000 waiting: still waiting
  assert.equal(adapter.cursor, 90);
  ws().receive(items([10_101]));
  assert.equal(adapter.cursor, 10_101);
  ws().receive(items([95, 10_101, 10_102])); // the replay's start now comes too late
  assert.equal(rec.applied.length, 10_002);
  assert.equal(rec.applied.at(-1), 10_102);
});

test('a dropped connection reconnects after the backoff and resumes from the cursor', (t) => {
  const { adapter, rec, ws } = start(t, { backfill: 200, baseDelayMs: 250 });
  hello(ws(), 500);
  ws().receive(items(range(301, 505)));
  ws().drop();
  assert.deepEqual(rec.statuses.at(-1), {
    state: 'reconnecting', attempt: 1, retryAt: T0 + 125, serverSeq: 500,
  });
  t.mock.timers.tick(124);
  assert.equal(FakeWebSocket.instances.length, 1);
  t.mock.timers.tick(1);
  assert.equal(FakeWebSocket.instances.length, 2);
  assert.deepEqual(rec.statuses.at(-1), {
    state: 'reconnecting', attempt: 1, retryAt: null, serverSeq: 500,
  });
  hello(ws(), 510);
  assert.deepEqual(ws().sent, [{ type: 'resume', after_seq: 505 }]);
  assert.deepEqual(rec.statuses.at(-1), { state: 'connected', attempt: 0, retryAt: null, serverSeq: 510 });
  ws().receive(items(range(500, 510))); // overlaps what we had
  assert.deepEqual(rec.applied, range(301, 510));
  assert.equal(rec.resets, 0);
});

test('backoff doubles per failed attempt up to the cap, and a hello starts it over', (t) => {
  const { rec, ws } = start(t, { baseDelayMs: 250, maxDelayMs: 2000, random: () => 0.5 });
  const delays = [];
  for (let i = 0; i < 6; i++) {
    ws().drop(); // fails before any hello
    const st = rec.statuses.at(-1);
    assert.equal(st.attempt, i + 1);
    delays.push(st.retryAt - Date.now());
    t.mock.timers.tick(st.retryAt - Date.now());
  }
  assert.deepEqual(delays, [187.5, 375, 750, 1500, 1500, 1500]);
  assert.equal(FakeWebSocket.instances.length, 7);
  hello(ws(), 0);
  ws().drop();
  assert.equal(rec.statuses.at(-1).attempt, 1);
  assert.equal(rec.statuses.at(-1).retryAt - Date.now(), 187.5);
});

test('a server whose history restarted below the cursor resets the views and starts over', (t) => {
  const { adapter, rec, ws } = start(t, { backfill: 200 });
  hello(ws(), 500);
  ws().receive(items(range(301, 500)));
  ws().drop();
  t.mock.timers.tick(125);
  let appliedAtReset = null;
  adapter.reset.subscribe(() => {
    appliedAtReset = rec.applied.length;
  });
  hello(ws(), 20); // a new, empty-ish store
  assert.equal(rec.resets, 1);
  assert.equal(appliedAtReset, 200);
  assert.deepEqual(ws().sent, [{ type: 'resume', after_seq: 0 }]);
  ws().receive(items(range(1, 21)));
  assert.deepEqual(rec.applied.slice(200), range(1, 21));
  assert.equal(adapter.cursor, 21);
});

test('after a reset, seqs that were waiting for the old replay apply in the new history', (t) => {
  const { rec, ws } = start(t, { backfill: 200 });
  hello(ws(), 500);
  ws().receive(items([501, 502])); // early live events, parked until the replay reaches them
  ws().drop(); // ...which it never does: the server comes back with a new store
  t.mock.timers.tick(125);
  hello(ws(), 0);
  assert.equal(rec.resets, 1);
  ws().receive(items(range(1, 502)));
  assert.deepEqual(rec.applied, [501, 502, ...range(1, 502)]);
});

test('the same server_seq as the cursor is not a reset', (t) => {
  const { adapter, rec, ws } = start(t, { backfill: 0 });
  hello(ws(), 7);
  ws().drop();
  t.mock.timers.tick(125);
  hello(ws(), 7);
  assert.equal(rec.resets, 0);
  assert.deepEqual(ws().sent, [{ type: 'resume', after_seq: 7 }]);
  assert.equal(adapter.cursor, 7);
});

test('keepalive pings while traffic flows and hangs up a link that went silent', (t) => {
  const { rec, ws } = start(t, { pingEveryMs: 10_000, staleAfterMs: 25_000 });
  hello(ws(), 0); // at T0
  t.mock.timers.tick(10_000);
  ws().receive({ type: 'stats', server_seq: 0 }); // at T0 + 10 s
  t.mock.timers.tick(10_000);
  t.mock.timers.tick(10_000); // T0 + 30 s: 20 s of silence, still within 25 s
  const first = ws();
  assert.deepEqual(first.sent.filter((m) => m.type === 'ping').length, 3);
  assert.equal(first.closedWith, null);
  t.mock.timers.tick(10_000); // T0 + 40 s: 30 s of silence
  assert.deepEqual(first.closedWith, { code: 4000, reason: 'no traffic' });
  assert.equal(first.sent.filter((m) => m.type === 'ping').length, 3);
  assert.deepEqual(rec.statuses.at(-1), {
    state: 'reconnecting', attempt: 1, retryAt: T0 + 40_000 + 125, serverSeq: 0,
  });
  t.mock.timers.tick(125);
  assert.equal(FakeWebSocket.instances.length, 2);
});

test('a socket still connecting is neither pinged nor declared stale', (t) => {
  start(t, { pingEveryMs: 10_000, staleAfterMs: 25_000 });
  t.mock.timers.tick(60_000);
  assert.equal(FakeWebSocket.instances.length, 1);
  assert.deepEqual(FakeWebSocket.instances[0].sent, []);
  assert.equal(FakeWebSocket.instances[0].closedWith, null);
});

test('offline: no retries until the browser is back online, then at once', (t) => {
  const { rec, ws } = start(t);
  hello(ws(), 0);
  navigator.onLine = false;
  ws().drop();
  assert.deepEqual(rec.statuses.at(-1), { state: 'offline', attempt: 0, retryAt: null, serverSeq: 0 });
  t.mock.timers.tick(120_000);
  assert.equal(FakeWebSocket.instances.length, 1);
  navigator.onLine = true;
  page.dispatchEvent(new Event('online'));
  assert.equal(FakeWebSocket.instances.length, 2);
  assert.deepEqual(rec.statuses.at(-1), { state: 'reconnecting', attempt: 0, retryAt: null, serverSeq: 0 });
});

test('going offline while waiting to retry cancels the retry', (t) => {
  const { rec, ws } = start(t);
  ws().drop();
  assert.equal(rec.statuses.at(-1).state, 'reconnecting');
  page.dispatchEvent(new Event('offline'));
  assert.equal(rec.statuses.at(-1).state, 'offline');
  t.mock.timers.tick(60_000);
  assert.equal(FakeWebSocket.instances.length, 1);
  page.dispatchEvent(new Event('online'));
  assert.equal(FakeWebSocket.instances.length, 2);
  assert.equal(rec.statuses.at(-1).attempt, 0);
});

test('online/offline while connected change nothing', (t) => {
  const { rec, ws } = start(t);
  hello(ws(), 0);
  const n = rec.statuses.length;
  page.dispatchEvent(new Event('offline'));
  page.dispatchEvent(new Event('online'));
  assert.equal(FakeWebSocket.instances.length, 1);
  assert.equal(rec.statuses.length, n);
});

test('stop() closes the socket, reports offline, and never reconnects', (t) => {
  const { adapter, rec, ws } = start(t);
  hello(ws(), 0);
  const sock = ws();
  adapter.stop();
  assert.deepEqual(sock.closedWith, { code: 1000, reason: 'client stopped' });
  assert.equal(sock.onclose, null);
  assert.equal(rec.statuses.at(-1).state, 'offline');
  page.dispatchEvent(new Event('online'));
  t.mock.timers.tick(120_000);
  assert.equal(FakeWebSocket.instances.length, 1);
  assert.equal(adapter.send({ type: 'ping' }), false);
});

test('stop() while waiting to retry cancels the retry', (t) => {
  const { adapter, ws } = start(t);
  ws().drop();
  adapter.stop();
  t.mock.timers.tick(60_000);
  assert.equal(FakeWebSocket.instances.length, 1);
});

test('stats are published, and later statuses carry their server_seq', (t) => {
  const { adapter, rec, ws } = start(t);
  hello(ws(), 3);
  const stats = { type: 'stats', server_seq: 42, events_per_s: 1.5 };
  ws().receive(stats);
  assert.deepEqual(adapter.stats.get(), stats);
  ws().drop();
  assert.equal(rec.statuses.at(-1).serverSeq, 42);
});

test('frames that are not JSON, errors and unknown types are ignored; the link goes on', (t) => {
  const logged = t.mock.method(console, 'error', () => {});
  const { adapter, rec, ws } = start(t, { backfill: 0 });
  hello(ws(), 0);
  ws().receive('{not json');
  ws().receive({ type: 'error', error: { code: 'bad', message: 'nope' } });
  ws().receive({ type: 'pong' });
  ws().receive({ type: 'flags', flags: {} });
  ws().receive({ type: 'something_newer' });
  ws().receive('null');
  ws().receive({ type: 'event', seq: 1 }); // no event object
  ws().receive({ type: 'events', items: 'nope' });
  ws().receive(items([1]));
  assert.deepEqual(rec.applied, [1]);
  assert.equal(adapter.cursor, 1);
  assert.deepEqual(logged.mock.calls.map((c) => c.arguments[0]), [
    'telltale /ws: a frame that is not JSON',
    'telltale /ws error bad: nope',
  ]);
});

test('flags from hello and from `flags` messages, other messages passed on, pong swallowed', () => {
  FakeWebSocket.instances.length = 0;
  const a = new WsAdapter(() => 'ws://h/ws?apikey=k', { random: () => 0 });
  const flags = [];
  const other = [];
  a.flags.subscribe((f) => flags.push(f));
  a.messages.subscribe((m) => other.push(m.type));
  a.start();
  const ws = FakeWebSocket.instances.at(-1);
  assert.equal(ws.url, 'ws://h/ws?apikey=k', 'the URL function is asked at each connect');
  ws.open();
  ws.receive({ type: 'hello', server_seq: 0, flags: { a: 1 } });
  ws.receive({ type: 'flags', flags: { a: 2 } });
  ws.receive({ type: 'pong' });
  ws.receive({ type: 'state', key: 'k', value: 1, version: 2 });
  a.stop();
  assert.deepEqual(flags, [{ a: 1 }, { a: 2 }]);
  assert.deepEqual(other, ['state']);
});

test('a hand-over cursor replaces the backfill on the first hello; a custom delay is used', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: T0 });
  FakeWebSocket.instances.length = 0;
  const delays = [];
  const a = new WsAdapter('ws://h/ws', { initialCursor: 42, delay: (n, rnd) => { delays.push([n, rnd]); return 7; }, random: () => 0.25 });
  a.start();
  let ws = FakeWebSocket.instances.at(-1);
  ws.open();
  ws.receive({ type: 'hello', server_seq: 500 });
  assert.deepEqual(ws.sent.at(-1), { type: 'resume', after_seq: 42 });
  assert.equal(a.catchingUp, true);
  ws.drop();
  assert.deepEqual(delays, [[0, 0.25]]);
  t.mock.timers.tick(7);
  ws = FakeWebSocket.instances.at(-1);
  assert.equal(FakeWebSocket.instances.length, 2, 'reconnected after the custom delay');
  a.stop();
});

test('with a client id, each hello is followed by state_subscribe after the resume', (t) => {
  const { ws } = start(t, { stateClientId: 'client-1' });
  hello(ws(), 10);
  assert.deepEqual(ws().sent.map((m) => m.type), ['resume', 'state_subscribe']);
  assert.equal(ws().sent[1].client_id, 'client-1');
});
