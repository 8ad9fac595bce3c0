// ws.test.mjs -- the /ws live path (DESIGN §5 WebSocket): hello, live events for HTTP ingest,
// subscribe filters, ingest over the socket with ack/error, get_stats, get_recent_events,
// ping/pong, stats every second, and close code 1001 on shutdown.

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, api, post, allEvents, quiescent, settled, test, uid } from './lib/daemon.mjs';
import { WsClient } from './lib/wsclient.mjs';

let d;
const clients = [];

before(async () => {
  d = await Daemon.start({ label: 'ws' });
});

after(async () => {
  for (const c of clients) {
    c.ws.terminate();
  }
  await d?.cleanup();
});

async function connect() {
  const c = await WsClient.connect(d.wsUrl);
  clients.push(c);
  await c.next('hello', (m) => m.type === 'hello');
  return c;
}

const maxSeq = async () => {
  const r = await api(d, 'GET', '/api/v1/events?limit=1');
  return r.json.events[0]?.seq ?? 0;
};

test('hello carries server_seq: 0 on an empty store, then the highest stored seq', async () => {
  const first = await connect();
  const hello = first.messages.find((m) => m.type === 'hello');
  assert.equal(hello.server_seq, 0);
  assert.equal(typeof hello.flags, 'object');
  await first.close();
  assert.equal((await post(d, [{ type: 'boot' }, { type: 'boot' }, { type: 'boot' }])).status, 202);
  await quiescent(d); // with a remote store, known to this instance once shipped
  const c = await connect();
  assert.equal(c.messages.find((m) => m.type === 'hello').server_seq, await maxSeq());
  await c.close();
});

test('events posted over HTTP arrive live as {"type":"event","seq",event}, in seq order', async () => {
  const c = await connect();
  const evs = Array.from({ length: 5 }, () => ({ id: uid('live'), type: 'live', source: 'http' }));
  assert.equal((await post(d, evs.slice(0, 2))).status, 202);
  assert.equal((await post(d, evs.slice(2))).status, 202);
  await c.until('5 live events', () => c.events().length >= 5);
  const got = c.events();
  assert.deepEqual(got.map((e) => e.id), evs.map((e) => e.id));
  const stored = (await allEvents(d)).filter((e) => e.id.startsWith('live-'));
  assert.deepEqual(got.map((e) => e.seq), stored.map((e) => e.seq), 'seqs are the stored ones');
  for (const m of c.messages.filter((x) => x.type === 'event')) {
    assert.equal(m.seq, m.event.seq, 'the envelope and the event agree on seq');
    assert.equal(m.event.source, 'http');
  }
  await c.close();
});

test('subscribe filters the live stream by type, source and session_id; {} clears it', async () => {
  const c = await connect();
  c.send({ type: 'subscribe', filter: { type: 'wanted' } });
  await c.sync(); // the subscribe has been handled
  await post(d, [{ id: 'sub-1', type: 'unwanted' }, { id: 'sub-2', type: 'wanted' },
                 { id: 'sub-3', type: 'unwanted' }, { id: 'sub-4', type: 'wanted' }]);
  // Live delivery follows the commit (with a remote store, the shipping after the 202):
  // change the filter only once the events meant for this one have arrived.
  await c.until('sub-4', () => c.events().some((e) => e.id === 'sub-4'));
  c.send({ type: 'subscribe', filter: { source: 'svc-a', session_id: 's1' } });
  await c.sync();
  await post(d, [{ id: 'sub-5', type: 'wanted', source: 'svc-b', session_id: 's1' },
                 { id: 'sub-6', type: 'other', source: 'svc-a', session_id: 's1' },
                 { id: 'sub-7', type: 'other', source: 'svc-a', session_id: 's2' }]);
  await c.until('sub-6', () => c.events().some((e) => e.id === 'sub-6'));
  await settled(d); // sub-7 was committed too (and withheld by the filter)
  await c.sync();
  c.send({ type: 'subscribe', filter: {} });
  await c.sync();
  await post(d, [{ id: 'sub-8', type: 'anything' }]);
  await c.until('sub-8', () => c.events().some((e) => e.id === 'sub-8'));
  assert.deepEqual(c.events().map((e) => e.id), ['sub-2', 'sub-4', 'sub-6', 'sub-8']);
  await c.close();
});

test('ingest over WebSocket is acked with its ref once stored, and broadcast', async () => {
  const c = await connect();
  const evs = [{ id: uid('wsin'), type: 'ws_ingest' }, { id: uid('wsin'), type: 'ws_ingest' }];
  c.send({ type: 'ingest', ref: 'batch-1', events: evs });
  const ack = await c.next('ack', (m) => m.type === 'ack');
  assert.deepEqual(ack, { type: 'ack', ref: 'batch-1', accepted: 2, duplicates: 0 });
  const stored = (await allEvents(d)).filter((e) => e.type === 'ws_ingest');
  assert.deepEqual(stored.map((e) => e.id), evs.map((e) => e.id), 'stored when acked');
  await c.until('own events broadcast back', () => c.events().filter((e) => e.type === 'ws_ingest').length === 2);
  c.send({ type: 'ingest', ref: 42, events: [{ type: 'ws_ingest', id: uid('wsin') }] });
  const ack2 = await c.next('ack ref 42', (m) => m.type === 'ack' && m.ref === 42);
  assert.equal(ack2.accepted, 1, 'a numeric ref is echoed as a number');
  await c.close();
});

test('a bad ingest batch gets {"type":"error","ref",error:{code,index}}; nothing is stored', async () => {
  const c = await connect();
  const before = (await allEvents(d)).length;
  c.send({ type: 'ingest', ref: 'bad-1',
           events: [{ id: uid('good'), type: 'fine' }, { id: uid('bad'), type: 'Not A Type' }] });
  const err = await c.next('error', (m) => m.type === 'error');
  assert.equal(err.ref, 'bad-1');
  assert.equal(err.error.code, 'invalid_field');
  assert.equal(err.error.index, 1);
  assert.equal(typeof err.error.message, 'string');
  c.send({ type: 'ingest', ref: 'bad-2', events: { type: 'x' } });
  const err2 = await c.next('error bad-2', (m) => m.type === 'error' && m.ref === 'bad-2');
  assert.equal(err2.error.code, 'invalid_message');
  await c.sync(); // still connected
  assert.equal((await allEvents(d)).length, before, 'all or nothing: the good event was not kept');
  assert.equal(c.messages.filter((m) => m.type === 'ack').length, 0);
  await c.close();
});

test('large ingest messages (read on a worker) and small ones sent back to back are handled in the order sent', async () => {
  // A message of 32 KiB or more is read on libuv's pool (GATEWAY_PARSE_OFF_LOOP_BYTES) while
  // the connection reads nothing more; the messages behind it wait in order.
  const c = await connect();
  const tag = uid('order');
  const batch = (name, n) => Array.from({ length: n }, (_, i) => ({ id: `${tag}-${name}-${i}`, type: 'ws_order', name: `${name}-${i}`, attrs: { pad: 'p'.repeat(40) } }));
  const l1 = batch('l1', 600);
  const l2 = batch('l2', 600);
  l2[500] = { id: `${tag}-l2-bad`, type: 'Not A Type' };
  assert.ok(JSON.stringify(l1).length >= 32 * 1024);
  c.send({ type: 'ingest', ref: 'L1', events: l1 });
  c.send({ type: 'ingest', ref: 'S1', events: batch('s1', 1) });
  c.send({ type: 'ingest', ref: 'L2', events: l2 });
  c.send({ type: 'ingest', ref: 'S2', events: batch('s2', 1) });
  c.send({ type: 'ping' });
  await c.until('the answers', () => ['L1', 'S1', 'S2'].every((r) => c.messages.some((m) => m.type === 'ack' && m.ref === r)) &&
                                      c.messages.some((m) => m.type === 'error' && m.ref === 'L2') &&
                                      c.messages.some((m) => m.type === 'pong'));
  const err = c.messages.find((m) => m.type === 'error' && m.ref === 'L2');
  assert.equal(err.error.index, 500, JSON.stringify(err));
  const acks = c.messages.filter((m) => m.type === 'ack').map((m) => m.ref);
  assert.deepEqual(acks, ['L1', 'S1', 'S2'], 'acked in the order sent');
  const stored = (await allEvents(d)).filter((e) => e.id.startsWith(`${tag}-`));
  assert.deepEqual(stored.map((e) => e.id), [...l1, ...batch('s1', 1), ...batch('s2', 1)].map((e) => e.id),
                   'stored in the order sent (seq order), nothing of L2');
  await c.close();
});

test('get_stats answers a stats message with the server counters', async () => {
  const c = await connect();
  c.send({ type: 'get_stats' });
  const s = await c.next('stats', (m) => m.type === 'stats');
  assert.equal(s.server_seq, await maxSeq());
  for (const k of ['accepted_total', 'rejected_total', 'events_per_s', 'queue_depth',
                   'ws_clients', 'uptime_s']) {
    assert.equal(typeof s[k], 'number', `stats.${k}`);
  }
  assert.ok(s.ws_clients >= 1);
  assert.ok(s.accepted_total >= 1);
  await c.close();
});

test('get_recent_events answers recent_events: the newest N, oldest first', async () => {
  const c = await connect();
  await post(d, Array.from({ length: 8 }, (_, i) => ({ id: `recent-${i}`, type: 'recent' })));
  await settled(d); // in the store, with a remote one
  c.send({ type: 'get_recent_events', limit: 5 });
  const r = await c.next('recent_events', (m) => m.type === 'recent_events');
  const newest = (await allEvents(d)).slice(-5);
  assert.deepEqual(r.items.map((e) => e.seq), newest.map((e) => e.seq));
  assert.deepEqual(r.items.map((e) => e.id), ['recent-3', 'recent-4', 'recent-5', 'recent-6', 'recent-7']);
  await c.close();
});

test('a message longer than one write (recent_events of 40 events of 12 kB) arrives whole; live events and pongs go on after it', async () => {
  const c = await connect();
  const pad = 'x'.repeat(12_000);
  await post(d, Array.from({ length: 40 }, (_, i) => ({ id: `big-${i}`, type: 'big', attrs: { pad } })));
  await settled(d);
  c.send({ type: 'get_recent_events', limit: 40 });
  const r = await c.next('recent_events', (m) => m.type === 'recent_events');
  assert.ok(JSON.stringify(r).length > 65_536 * 4, 'several writes long');
  assert.deepEqual(r.items.map((e) => e.id), Array.from({ length: 40 }, (_, i) => `big-${i}`));
  assert.ok(r.items.every((e) => e.attrs.pad === pad));
  const after = await Promise.all([post(d, [{ id: 'big-after', type: 'big' }]), c.send({ type: 'ping' })]);
  assert.equal(after[0].status, 202);
  await c.until('the live event and the pong', () =>
    c.events().some((e) => e.id === 'big-after') && c.messages.some((m) => m.type === 'pong'));
  await c.close();
});

test('ping is answered by pong', async () => {
  const c = await connect();
  c.send({ type: 'ping' });
  await c.next('pong', (m) => m.type === 'pong');
  await c.close();
});

test('stats arrive unasked, once a second (three in a row, uptime increasing)', async () => {
  const c = await connect();
  await c.until('3 stats messages', () => c.messages.filter((m) => m.type === 'stats').length >= 3, 10_000);
  const stats = c.messages.filter((m) => m.type === 'stats');
  for (let i = 1; i < stats.length; i++) {
    assert.ok(stats[i].uptime_s > stats[i - 1].uptime_s, `uptime ${stats[i - 1].uptime_s} → ${stats[i].uptime_s}`);
  }
  await c.close();
});

test('SIGTERM: connected clients get close code 1001, then the daemon exits with code 0', async () => {
  const c = await connect();
  await d.stop();
  const info = await c.closed;
  assert.equal(info.code, 1001, JSON.stringify(info));
});
