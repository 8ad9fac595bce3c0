// session-index.test.mjs -- SQLite's session index is written in sorted batches behind a
// watermark (migrations/sqlite/0007): events above session_index_through.seq have no entry
// yet and every read by session reads the index and that tail in one statement. These tests
// hold a tail in place (TELLTALE_SESSION_INDEX_HOLD), read sessions whose events lie on both
// sides of the watermark -- GET /api/v1/events?session_id=, after_seq pages across the
// boundary, the timeline, /rest/v1 session_id=eq. -- and compare each answer with the same
// filter applied to every stored event; then a restart (which indexes the tail) and retention
// (which must take the entries with the events). SQLite only: PostgreSQL keeps a plain index.

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  Daemon, STORE_KIND, allEvents, api, post, settled, test, uid, waitFor,
} from './lib/daemon.mjs';

const skip = STORE_KIND !== 'sqlite' && 'SQLite only';
const SESSIONS = ['sx-a', 'sx-b', 'sx-c'];
let d;

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
  const r = await post(d, batch(300, 'one'));
  assert.equal(r.status, 202, r.text);
  await settled(d);
  // The writer indexes once idle: the first events all get their entries.
  await waitFor('the first events indexed', async () => watermark(d.db) === maxSeq(d.db));
  await d.stop();
  d.env.TELLTALE_SESSION_INDEX_HOLD = '1';
  await d.restart();
  for (let i = 0; i < 3; i++) {
    const more = await post(d, batch(100, `tail${i}`));
    assert.equal(more.status, 202, more.text);
  }
  await settled(d);
});

after(async () => {
  await d?.cleanup();
});

test('the fixture lies on both sides of the watermark', { skip }, () => {
  const w = watermark(d.db);
  assert.ok(w > 0 && w < maxSeq(d.db), `watermark ${w}, newest ${maxSeq(d.db)}`);
  assert.equal(Number(sql(d.db, `SELECT count(*) FROM monitoring_events_by_session WHERE seq > ${w}`)), 0);
});

test('reads by session across the watermark: every event once, in order, limits and after_seq exact',
  { skip }, async () => {
    await checkReads('across the watermark');
  });

test('a restart indexes the tail, and the answers stay the same', { skip }, async () => {
  await d.stop();
  delete d.env.TELLTALE_SESSION_INDEX_HOLD;
  await d.restart();
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
