// two-writers.test.mjs -- several telltale instances on one PostgreSQL database.
//
// The hard guarantee of DESIGN §3/§4.7 with two writers: seq is assigned so that a reader
// following after_seq never skips a row that commits late. Two daemons take events from
// concurrent producers while a reader pages GET /api/v1/events?after_seq= on both of them
// alternately; the reader must see every acknowledged event exactly once, in strictly
// increasing seq. (Without the advisory lock around seq assignment in store_pg.c, this test
// fails: checked by hand when it was written, with the lock removed.) Also: each instance
// hears of the other's commits through the change feed (LISTEN/NOTIFY).
//
// The server is $TT_PG_URL (scripts/with-pg), or one started for this file (lib/pg.mjs).

import assert from 'node:assert/strict';
import { daemons, lib } from './lib/instances.mjs';

const { Daemon, api, createPgDatabase, settled, test, uid, waitFor } = lib;

async function twoInstances() {
  const store = await createPgDatabase();
  const a = await Daemon.start({ store, label: 'instance-a' });
  const b = await Daemon.start({ store, label: 'instance-b' });
  daemons.push(a, b);
  return [a, b];
}

// Posts 'total' events in batches of 1..maxBatch to d, from 'producers' concurrent loops;
// returns the ids acknowledged with 202.
async function produce(d, prefix, total, producers, maxBatch) {
  const acked = [];
  let next = 0;
  await Promise.all(Array.from({ length: producers }, async () => {
    while (next < total) {
      const n = Math.min(1 + Math.floor(Math.random() * maxBatch), total - next);
      next += n;
      const events = Array.from({ length: n }, () => ({ id: uid(prefix), type: 'race', source: prefix }));
      const r = await api(d, 'POST', '/api/v1/events', { json: events });
      assert.equal(r.status, 202, r.text);
      acked.push(...events.map((e) => e.id));
    }
  }));
  return acked;
}

test('a reader following after_seq sees every event of two concurrent writers exactly once', { timeout: 120_000 }, async () => {
  const [a, b] = await twoInstances();
  const seen = new Map(); // id -> seq
  const seqs = [];
  let cursor = 0;
  let producing = true;
  let pages = 0;
  const readOnce = async () => {
    const from = pages++ % 2 === 0 ? a : b; // both instances answer from the same store
    const r = await api(from, 'GET', `/api/v1/events?after_seq=${cursor}&limit=700`);
    assert.equal(r.status, 200, r.text);
    for (const e of r.json.events) {
      assert.ok(!seen.has(e.id), `event ${e.id} delivered twice (seq ${seen.get(e.id)} and ${e.seq})`);
      assert.ok(e.seq > cursor, `seq ${e.seq} after cursor ${cursor}`);
      seen.set(e.id, e.seq);
      seqs.push(e.seq);
      cursor = e.seq;
    }
    return r.json.events.length;
  };
  const reader = (async () => {
    while (producing) {
      await readOnce();
    }
    while ((await readOnce()) > 0) {
      /* drain what committed after the producers stopped */
    }
  })();
  const [fromA, fromB] = await Promise.all([
    produce(a, 'a', 6000, 4, 40),
    produce(b, 'b', 6000, 4, 40),
  ]);
  await Promise.all([settled(a), settled(b)]); // every acknowledged event is in the store now
  producing = false;
  await reader;
  for (let i = 1; i < seqs.length; i++) {
    assert.ok(seqs[i] > seqs[i - 1], `seq went from ${seqs[i - 1]} to ${seqs[i]}`);
  }
  const missing = [...fromA, ...fromB].filter((id) => !seen.has(id));
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} acknowledged events never reached the reader`);
  assert.equal(seen.size, fromA.length + fromB.length, 'nothing the producers did not send');
  assert.ok(pages > 10, `the reader really raced the writers (${pages} pages)`);
  await a.stop();
  await b.stop();
});

test('each instance hears of the other instance\'s commits through the change feed', async () => {
  const [a, b] = await twoInstances();
  const st = async (d) => (await api(d, 'GET', '/api/v1/status')).json.change_feed;
  await waitFor('both feeds connected', async () => (await st(a)).connected && (await st(b)).connected);
  assert.equal((await st(a)).kind, 'listen-notify');
  const r = await api(a, 'POST', '/api/v1/events', { json: [{ type: 'x' }, { type: 'y' }] });
  assert.equal(r.status, 202);
  const top = (await api(a, 'GET', '/api/v1/events?limit=1')).json.events[0].seq;
  await waitFor(`instance b to hear of seq ${top}`, async () => (await st(b)).last_seq >= top);
  const rb = await api(b, 'POST', '/api/v1/events', { json: { type: 'z' } });
  assert.equal(rb.status, 202);
  const topB = (await api(b, 'GET', '/api/v1/events?limit=1')).json.events[0].seq;
  assert.ok(topB > top);
  await waitFor(`instance a to hear of seq ${topB}`, async () => (await st(a)).last_seq >= topB);
  assert.ok((await st(b)).notifications >= 1);
  await a.stop();
  await b.stop();
});

test('a restarted database connection: the feed reconnects and catches up from the store', async () => {
  const [a, b] = await twoInstances();
  const st = async (d) => (await api(d, 'GET', '/api/v1/status')).json.change_feed;
  await waitFor('b connected', async () => (await st(b)).connected);
  // Cut b's feed connection from the server side (what a PostgreSQL restart does to it).
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: process.env.TT_PG_URL });
  await admin.connect();
  try {
    const killed = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND application_name = 'telltale'");
    assert.ok(killed.rowCount >= 1, 'found the feed connections');
  } finally {
    await admin.end();
  }
  await waitFor('b notices the loss', async () => !(await st(b)).connected || (await st(b)).reconnects > 0);
  // Commits made meanwhile are learned from the store once the feed is back.
  assert.equal((await api(a, 'POST', '/api/v1/events', { json: { type: 'while-away' } })).status, 202);
  const top = (await api(a, 'GET', '/api/v1/events?limit=1')).json.events[0].seq;
  await waitFor(`b reconnected and at seq ${top}`, async () => {
    const s = await st(b);
    return s.connected && s.last_seq >= top;
  }, { timeoutMs: 20_000 });
  assert.ok((await st(b)).reconnects >= 1);
  await a.stop();
  await b.stop();
});
