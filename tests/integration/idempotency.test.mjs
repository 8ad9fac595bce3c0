// idempotency.test.mjs -- "same id twice = stored once" (DESIGN §2, §4.2): within one
// request, across requests, across HTTP and WebSocket, and under concurrent retries. A
// duplicate is acknowledged (the producer's retry succeeded), counted in "duplicates", and
// never broadcast a second time.

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, STORE_KIND, allEvents, post, test, uid } from './lib/daemon.mjs';
import { WsClient } from './lib/wsclient.mjs';

let d;
let watcher; // a /ws client that sees every broadcast of the whole file
const clients = [];

before(async () => {
  d = await Daemon.start({ label: 'idempotency' });
  watcher = await WsClient.connect(d.wsUrl);
  clients.push(watcher);
});

after(async () => {
  for (const c of clients) {
    c.ws.terminate();
  }
  await d?.cleanup();
});

const copies = async (id) => (await allEvents(d)).filter((e) => e.id === id);

// How often the watcher received 'id': once it has it at all, after one more round trip
// (with a remote store the broadcast follows the shipping, a moment after the 202).
async function broadcastCount(id) {
  await watcher.until(`broadcast of ${id}`, (w) => w.events().some((e) => e.id === id));
  await watcher.sync();
  return watcher.events().filter((e) => e.id === id).length;
}

// The answer to an ingest. 'duplicates' counts the events already there: with SQLite, already
// stored; with a remote store, already waiting in the local spool, which is all that can be
// known when the 202 goes out (a copy already shipped to the store is found there later,
// and stored once all the same). So with PostgreSQL it is at most the stored count.
function assertAck(got, accepted, duplicates, extra = {}) {
  if (STORE_KIND === 'sqlite') {
    assert.deepEqual(got, { ...extra, accepted, duplicates });
    return;
  }
  assert.deepEqual({ ...got, duplicates: 0 }, { ...extra, accepted, duplicates: 0 });
  assert.ok(got.duplicates >= 0 && got.duplicates <= duplicates, `duplicates ${got.duplicates}`);
}

test('the same id twice in one request is stored once', async () => {
  const id = uid('same-req');
  const r = await post(d, [{ id, type: 'dup', name: 'first' }, { id, type: 'dup', name: 'second' }]);
  assert.equal(r.status, 202, r.text);
  assert.deepEqual(r.json, { accepted: 2, duplicates: 1 }); // one request: exact everywhere
  const stored = await copies(id);
  assert.equal(stored.length, 1);
  assert.equal(stored[0].name, 'first', 'the first copy is the one kept');
  assert.equal(await broadcastCount(id), 1);
});

test('the same id in separate requests is stored once; the retry is acknowledged as a duplicate', async () => {
  const id = uid('sep-req');
  const r1 = await post(d, { id, type: 'dup' });
  assertAck(r1.json, 1, 0);
  const seq = (await copies(id))[0].seq;
  const r2 = await post(d, [{ id, type: 'dup' }, { id: uid('fresh'), type: 'dup' }]);
  assert.equal(r2.status, 202, r2.text);
  assertAck(r2.json, 2, 1);
  const stored = await copies(id);
  assert.equal(stored.length, 1);
  assert.equal(stored[0].seq, seq, 'the stored row is untouched');
  assert.equal(await broadcastCount(id), 1);
});

test('HTTP then WebSocket ingest with the same id: stored once', async () => {
  const id = uid('http-ws');
  assert.equal((await post(d, { id, type: 'dup' })).status, 202);
  const c = await WsClient.connect(d.wsUrl);
  clients.push(c);
  c.send({ type: 'ingest', ref: 'again', events: [{ id, type: 'dup' }] });
  const ack = await c.next('ack', (m) => m.type === 'ack');
  assertAck(ack, 1, 1, { type: 'ack', ref: 'again' });
  await c.close();
  assert.equal((await copies(id)).length, 1);
  assert.equal(await broadcastCount(id), 1);
});

test('WebSocket then HTTP ingest with the same id: stored once', async () => {
  const id = uid('ws-http');
  const c = await WsClient.connect(d.wsUrl);
  clients.push(c);
  c.send({ type: 'ingest', ref: 1, events: [{ id, type: 'dup' }] });
  assert.equal((await c.next('ack', (m) => m.type === 'ack')).duplicates, 0);
  await c.close();
  const r = await post(d, { id, type: 'dup' });
  assertAck(r.json, 1, 1);
  assert.equal((await copies(id)).length, 1);
});

test('20 concurrent retries of the same event (HTTP and WebSocket) are stored once', async () => {
  const id = uid('race');
  const c = await WsClient.connect(d.wsUrl);
  clients.push(c);
  const https = Array.from({ length: 15 }, () => post(d, { id, type: 'dup' }));
  for (let i = 0; i < 5; i++) {
    c.send({ type: 'ingest', ref: i, events: [{ id, type: 'dup' }] });
  }
  const results = await Promise.all(https);
  await c.until('5 acks', () => c.messages.filter((m) => m.type === 'ack').length === 5);
  const acks = c.messages.filter((m) => m.type === 'ack');
  for (const r of results) {
    assert.equal(r.status, 202, r.text);
  }
  const dupes = results.reduce((n, r) => n + r.json.duplicates, 0) +
                acks.reduce((n, a) => n + a.duplicates, 0);
  if (STORE_KIND === 'sqlite') {
    assert.equal(dupes, 19, 'all but one copy reported as duplicates');
  } else {
    assert.ok(dupes <= 19, `at most all but one reported as duplicates (${dupes})`);
  }
  await c.close();
  assert.equal((await copies(id)).length, 1);
  assert.equal(await broadcastCount(id), 1);
});

test('ids are compared exactly: ids differing in case or by a trailing space are distinct', async () => {
  const id = uid('Case');
  const r = await post(d, [{ id, type: 'dup' }, { id: id.toLowerCase(), type: 'dup' },
                           { id: `${id} `, type: 'dup' }]);
  assert.deepEqual(r.json, { accepted: 3, duplicates: 0 });
  const all = await allEvents(d);
  assert.equal(all.filter((e) => [id, id.toLowerCase(), `${id} `].includes(e.id)).length, 3);
});

test('the daemon exits with code 0 on SIGTERM', async () => {
  await watcher.close();
  await d.stop();
});
