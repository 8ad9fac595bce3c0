// rollup-instances.test.mjs -- two telltale instances on one PostgreSQL database add into the
// same rollup and session rows (DESIGN §3): concurrent producers on both, every event landing
// in the same minute x (type, source, name) and the same sessions; the rows must hold exactly
// the sum -- counts, errors, bytes, duration sums, min/max, histogram counts -- with no lost
// update and no deadlock, and a batch replayed to the other instance (the same ids) must not
// be counted again. Read both from the table and through GET /api/v1/metrics on either
// instance.
//
// The server is $TT_PG_URL (scripts/with-pg), or one started for this file (lib/pg.mjs).

import assert from 'node:assert/strict';
import { daemons, lib } from './lib/instances.mjs';

const { Daemon, api, createPgDatabase, settled, test, uid } = lib;
const { default: pg } = await import('pg');

const MINUTE0 = Math.floor((Date.now() - 600_000) / 60_000) * 60_000;

// Posts 'total' events to d in batches of 1..40 from 4 concurrent loops; returns them.
async function produce(d, prefix, total) {
  const sent = [];
  let next = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < total) {
      const n = Math.min(1 + Math.floor(Math.random() * 40), total - next);
      const events = Array.from({ length: n }, (_, k) => {
        const i = next + k;
        return {
          id: uid(prefix), type: 'tool_call', source: 'shared', name: 'search',
          session_id: `sess-${i % 5}`, ts: MINUTE0 + (i % 50) * 1000,
          duration_ms: 1 + (i % 200), bytes: i % 3, status: i % 9 === 0 ? 'error' : 'ok',
        };
      });
      next += n;
      const r = await api(d, 'POST', '/api/v1/events', { json: events });
      assert.equal(r.status, 202, r.text);
      sent.push(...events);
    }
  }));
  return sent;
}

test('two instances add into the same rollup and session rows, exactly', { timeout: 180_000 }, async () => {
  const store = await createPgDatabase();
  const a = await Daemon.start({ store, label: 'instance-a' });
  const b = await Daemon.start({ store, label: 'instance-b' });
  daemons.push(a, b);
  const [fromA, fromB] = await Promise.all([produce(a, 'a', 3000), produce(b, 'b', 3000)]);
  // replays, crosswise: the other instance gets a batch already stored
  assert.equal((await api(b, 'POST', '/api/v1/events', { json: fromA.slice(0, 300) })).status, 202);
  assert.equal((await api(a, 'POST', '/api/v1/events', { json: fromB.slice(0, 300) })).status, 202);
  await Promise.all([settled(a), settled(b)]);
  const all = [...fromA, ...fromB];
  const want = {
    count: all.length,
    errors: all.filter((e) => e.status === 'error').length,
    bytes: all.reduce((n, e) => n + e.bytes, 0),
    sum: all.reduce((n, e) => n + e.duration_ms, 0),
  };

  const db = new pg.Client({ connectionString: store });
  await db.connect();
  try {
    // Through the view the readers use: each tier's rows plus the minutes not folded into
    // hours and days yet (migrations/postgres/0008), whenever housekeeping folds them.
    const rows = (await db.query(`SELECT tier, sum(count) AS count, sum(errors) AS errors,
        sum(bytes) AS bytes, sum(duration_count) AS duration_count,
        sum(duration_sum) AS duration_sum, min(duration_min) AS duration_min,
        max(duration_max) AS duration_max,
        sum((SELECT sum(value::bigint) FROM jsonb_each_text(latency))) AS hist
        FROM monitoring.metrics_rollup_exact WHERE source = 'shared'
        GROUP BY tier ORDER BY tier`)).rows;
    assert.deepEqual(rows.map((r) => r.tier), ['day', 'hour', 'minute'], 'one row per tier');
    for (const r of rows) {
      assert.equal(Number(r.count), want.count, `${r.tier} count`);
      assert.equal(Number(r.errors), want.errors, `${r.tier} errors`);
      assert.equal(Number(r.bytes), want.bytes, `${r.tier} bytes`);
      assert.equal(Number(r.duration_count), want.count, `${r.tier} duration_count`);
      assert.ok(Math.abs(r.duration_sum - want.sum) < 1e-6, `${r.tier} duration_sum`);
      assert.equal(r.duration_min, 1);
      assert.equal(r.duration_max, 200);
      assert.equal(Number(r.hist), want.count, `${r.tier} histogram counts`);
    }
    const sessions = (await db.query(`SELECT session_id, events FROM monitoring.sessions
        WHERE session_id LIKE 'sess-%' ORDER BY session_id`)).rows;
    assert.equal(sessions.length, 5);
    assert.equal(sessions.reduce((n, s) => n + Number(s.events), 0), want.count);
  } finally {
    await db.end();
  }

  for (const d of [a, b]) { // either instance reads the same sums
    const m = (await api(d, 'GET', `/api/v1/metrics?since=${MINUTE0}&until=${MINUTE0 + 60_000}&source=shared`)).json;
    assert.equal(m.series[0].points[0].count, want.count);
    assert.equal(m.series[0].points[0].errors, want.errors);
  }
  await a.stop();
  await b.stop();
});
