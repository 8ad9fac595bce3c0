// session-index.test.mjs -- SQLite's session index is written in sorted batches behind a
// watermark, a slice per writer turn (migrations/sqlite/0007, store_sqlite_index.c): events
// above session_index_through.seq have no entry read yet and every read by session reads the
// index and that tail in one statement. These tests give the file the state a crash in the
// middle of a batch leaves (the watermark behind, some entries above it written, some not),
// start the daemon on it, and read sessions through every route -- GET
// /api/v1/events?session_id=, after_seq pages, the timeline, /rest/v1 session_id=eq. --
// comparing each answer with the same filter applied to every stored event, while the daemon
// finishes the index and after; then retention (which must take the entries with the events).
// SQLite only: PostgreSQL keeps a plain index. The reads across a tail held in place, at every
// stage of a batch, are unit tests on the store and /rest/v1 with the index driven by hand
// (tests/unit/store/test_store_sqlite_index.c, tests/unit/rest/test_rest_run.c): the daemon
// has no switch to hold its index back.

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  Daemon, STORE_KIND, allEvents, api, post, settled, test, uid, waitFor,
} from './lib/daemon.mjs';

const skip = STORE_KIND !== 'sqlite' && 'SQLite only';
const SESSIONS = ['sx-a', 'sx-b', 'sx-c'];
let d;

function sqlRw(db, text) {
  const r = spawnSync('sqlite3', [db, text], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

function sql(db, text) {
  const r = spawnSync('sqlite3', ['-readonly', db, text], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

const watermark = (db) => Number(sql(db, 'SELECT seq FROM session_index_through'));
const maxSeq = (db) => Number(sql(db, 'SELECT coalesce(max(seq), 0) FROM monitoring_events'));
const entries = (db) => Number(sql(db, 'SELECT count(*) FROM monitoring_events_by_session'));

function batch(n, tag) {
  return Array.from({ length: n }, (_, i) => ({
    id: uid(tag), type: ['request', 'tool_call'][i % 2], source: 'sx',
    session_id: i % 7 === 6 ? undefined : SESSIONS[i % SESSIONS.length], duration_ms: i,
  }));
}

// A session's events as every read by session must answer them, oldest first.
async function expected(s) {
  return (await allEvents(d)).filter((e) => e.session_id === s).map((e) => e.seq);
}

async function pagedSeqs(s, limit) {
  const seqs = [];
  let cursor = 0;
  for (;;) {
    const r = await api(d, 'GET', `/api/v1/events?session_id=${s}&after_seq=${cursor}&limit=${limit}`);
    assert.equal(r.status, 200, r.text);
    if (r.json.events.length === 0) {
      return seqs;
    }
    seqs.push(...r.json.events.map((e) => e.seq));
    cursor = r.json.events.at(-1).seq;
  }
}

async function checkReads(what) {
  for (const s of SESSIONS) {
    const want = await expected(s);
    assert.ok(want.length > 20, `${what}: the fixture has events of ${s}`);
    const newest = await api(d, 'GET', `/api/v1/events?session_id=${s}&limit=1000`);
    assert.deepEqual(newest.json.events.map((e) => e.seq), [...want].reverse(), `${what}: ${s} newest first`);
    const top = await api(d, 'GET', `/api/v1/events?session_id=${s}&limit=7`);
    assert.deepEqual(top.json.events.map((e) => e.seq), [...want].reverse().slice(0, 7), `${what}: ${s} limit`);
    for (const limit of [1, 6, 25]) {
      assert.deepEqual(await pagedSeqs(s, limit), want, `${what}: ${s} after_seq pages of ${limit}`);
    }
    const mid = want[Math.floor(want.length / 3)];
    const from = await api(d, 'GET', `/api/v1/events?session_id=${s}&after_seq=${mid}&limit=1000`);
    assert.deepEqual(from.json.events.map((e) => e.seq), want.filter((q) => q > mid), `${what}: ${s} after_seq`);
    const two = await api(d, 'GET', `/api/v1/events?session_id=${s}&session_id=sx-c&type=request&limit=1000`);
    const all = await allEvents(d);
    const wantTwo = all.filter((e) => (e.session_id === s || e.session_id === 'sx-c') && e.type === 'request')
      .map((e) => e.seq).reverse();
    assert.deepEqual(two.json.events.map((e) => e.seq), wantTwo, `${what}: ${s} and sx-c, requests`);
    const tl = await api(d, 'GET', `/api/v1/sessions/${s}?limit=1000`);
    assert.equal(tl.status, 200, tl.text);
    const rest = await api(d, 'GET', `/rest/v1/monitoring_events?session_id=eq.${s}&order=seq.asc&limit=1000`,
      { headers: { apikey: d.env.TELLTALE_SERVICE_KEY ?? '' } });
    if (rest.status === 200) {
      assert.deepEqual(rest.json.map((e) => e.seq), want, `${what}: ${s} through /rest/v1`);
      const page = await api(d, 'GET', `/rest/v1/monitoring_events?session_id=eq.${s}&order=seq.desc&limit=5&offset=3`,
        { headers: { apikey: d.env.TELLTALE_SERVICE_KEY ?? '' } });
      assert.deepEqual(page.json.map((e) => e.seq), [...want].reverse().slice(3, 8), `${what}: ${s} REST page`);
    } else {
      assert.fail(`/rest/v1: ${rest.status} ${rest.text}`);
    }
  }
}

before(async () => {
  if (skip) {
    return;
  }
  d = await Daemon.start({ label: 'session-index' });
  for (const tag of ['one', 'two', 'three']) {
    const r = await post(d, batch(200, tag));
    assert.equal(r.status, 202, r.text);
  }
  await settled(d);
  // The writer indexes once idle: every event gets its entry.
  await waitFor('the events indexed', async () => watermark(d.db) === maxSeq(d.db));
  await d.stop();
  // A crash in the middle of a batch: the watermark at a third, the entries of the next third
  // written (above it, so not read), those of the last third not.
  const third = Math.floor(maxSeq(d.db) / 3);
  sqlRw(d.db, `UPDATE session_index_through SET seq = ${third};
    DELETE FROM monitoring_events_by_session WHERE seq > ${2 * third};`);
});

after(async () => {
  await d?.cleanup();
});

test('the file lies on both sides of the watermark, with entries above it', { skip }, () => {
  const w = watermark(d.db);
  assert.ok(w > 0 && w < maxSeq(d.db), `watermark ${w}, newest ${maxSeq(d.db)}`);
  assert.ok(Number(sql(d.db, `SELECT count(*) FROM monitoring_events_by_session WHERE seq > ${w}`)) > 0);
});

test('a restart finishes the batch; reads by session are exact while it does and after',
  { skip }, async () => {
    await d.restart();
    await checkReads('while the daemon finishes the batch');
    await waitFor('the tail indexed', async () => watermark(d.db) === maxSeq(d.db), { timeoutMs: 20_000 });
    const withSession = Number(sql(d.db, 'SELECT count(*) FROM monitoring_events WHERE session_id IS NOT NULL'));
    assert.equal(entries(d.db), withSession);
    await checkReads('all indexed');
  });

test('retention deletes the entries with their events', { skip }, async () => {
  const old = await Daemon.start({ label: 'session-index-retention' });
  try {
    const dayAgo = Date.now() - 3 * 86_400_000;
    const events = batch(60, 'old').map((e, i) => ({ ...e, ts: dayAgo + i }));
    const r = await post(old, [...events, ...batch(30, 'new')]);
    assert.equal(r.status, 202, r.text);
    await settled(old);
    await waitFor('indexed', async () => watermark(old.db) === maxSeq(old.db));
    assert.equal(entries(old.db), 60 - 8 + 30 - 4); // every seventh has no session
    await old.stop();
    old.env.TELLTALE_RETENTION = '1d';
    await old.restart(); // retention runs at the writer's first idle moment after a start
    await waitFor('the old events deleted', async () => (await api(old, 'GET', `/api/v1/events?until=${dayAgo + 60_000}`)).json.events.length === 0, { timeoutMs: 20_000 });
    const left = Number(sql(old.db, 'SELECT count(*) FROM monitoring_events WHERE session_id IS NOT NULL'));
    assert.equal(left, 30 - 4);
    assert.equal(entries(old.db), left, 'no entry outlives its event');
    assert.equal(Number(sql(old.db, 'SELECT count(*) FROM monitoring_events_by_session b WHERE NOT EXISTS (SELECT 1 FROM monitoring_events e WHERE e.seq = b.seq)')), 0);
  } finally {
    await old.cleanup();
  }
});
