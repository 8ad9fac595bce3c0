// rollup-fold.test.mjs -- on PostgreSQL the events' transaction writes only the minute rollups;
// hour and day rows are folded from the minutes afterwards (migrations/postgres/0008,
// store_fold_summaries). What must hold whatever the timing of the folds:
//
//   - ingest of minutes not folded yet writes minute rows only (the point of the change);
//   - GET /api/v1/metrics answers every tier the same before, during and after folding, and
//     matches the raw events (counts and errors exactly, percentiles within the histogram's
//     1%);
//   - a fold adds each minute once: folding again, or from another connection at the same
//     time as two instances ingest, never counts a minute twice, and a late event (into a
//     minute already folded) reaches its hour and day at once;
//   - once everything is folded, each hour and day row is exactly the sum of its minutes.
//
// The events are two days ahead of the clock, so the daemons' own housekeeping (which folds
// minutes that closed a minute ago) never reaches them: the test decides when they fold,
// calling monitoring.rollup_fold() as another instance would.
//
// The server is $TT_PG_URL (scripts/with-pg), or one started for this file (lib/pg.mjs).

import assert from 'node:assert/strict';
import { daemons, lib } from './lib/instances.mjs';

const { Daemon, api, createPgDatabase, settled, test, uid } = lib;
const { default: pg } = await import('pg');

const HOUR = 3_600_000;
const DAY0 = Math.floor(Date.now() / 86_400_000) * 86_400_000 + 2 * 86_400_000;
const T0 = DAY0 + 5 * HOUR; // hours T0 and T0 + 1h of DAY0 hold the events
const SRC = uid('fold');
const ALPHA = 0.01;

// Events in minute 'minute' (from T0) with durations spanning decades and some errors.
function events(prefix, minute, n, seed) {
  return Array.from({ length: n }, (_, i) => ({
    id: uid(prefix), type: 'tool_call', source: SRC, name: i % 2 ? 'search' : 'fetch',
    ts: T0 + minute * 60_000 + (i * 37) % 60_000,
    duration_ms: 10 ** (-1 + 4 * (((i + 1) * seed) % 1000) / 1000),
    bytes: i % 5, status: i % 7 === 0 ? 'error' : 'ok',
  }));
}

async function post(d, evs) {
  for (let i = 0; i < evs.length; i += 500) {
    const r = await api(d, 'POST', '/api/v1/events', { json: evs.slice(i, i + 500) });
    assert.equal(r.status, 202, r.text);
  }
}

const lowerQuantile = (sorted, q) => sorted[Math.floor(q * (sorted.length - 1))];

// The answer for 'bucket' by name must be what the raw events give.
async function assertExact(d, sent, bucket, bucketMs) {
  const since = DAY0;
  const until = DAY0 + 86_400_000;
  const r = await api(d, 'GET',
    `/api/v1/metrics?since=${since}&until=${until}&bucket=${bucket}&group_by=name&source=${SRC}`);
  assert.equal(r.status, 200, r.text);
  const want = new Map();
  for (const e of sent) {
    const k = `${e.name}|${e.ts - (e.ts % bucketMs)}`;
    const g = want.get(k) ?? { count: 0, errors: 0, durations: [] };
    g.count++;
    g.errors += e.status === 'error';
    g.durations.push(e.duration_ms);
    want.set(k, g);
  }
  let points = 0;
  for (const s of r.json.series) {
    for (const p of s.points) {
      points++;
      const k = `${s.group.name}|${Date.parse(p.t)}`;
      const w = want.get(k);
      assert.ok(w, `${bucket}: a point the raw events do not have: ${k}`);
      assert.equal(p.count, w.count, `${bucket}: count of ${k}`);
      assert.equal(p.errors, w.errors, `${bucket}: errors of ${k}`);
      w.durations.sort((a, b) => a - b);
      for (const [field, q] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]]) {
        const exact = lowerQuantile(w.durations, q);
        assert.ok(Math.abs(p[field] - exact) / exact <= ALPHA + 1e-9,
          `${bucket}: ${field} of ${k}: ${p[field]} vs ${exact}`);
      }
    }
  }
  assert.equal(points, want.size, `${bucket}: one point per bucket and name`);
  return r.json;
}

// The stored rows of 'tier' for the source, summed by bucket.
async function tierRows(db, tier) {
  return (await db.query(`SELECT (extract(epoch FROM bucket) * 1000)::bigint AS t,
      sum(count)::bigint AS count, sum(errors)::bigint AS errors, sum(bytes)::bigint AS bytes,
      sum(duration_count)::bigint AS duration_count, round(sum(duration_sum)::numeric, 6) AS dsum,
      min(duration_min) AS dmin, max(duration_max) AS dmax,
      sum((SELECT sum(value::bigint) FROM jsonb_each_text(latency)))::bigint AS hist
      FROM monitoring.metrics_rollup WHERE tier = $1 AND source = $2
      GROUP BY 1 ORDER BY 1`, [tier, SRC])).rows;
}

// What the minute rows add up to per hour or day: what the folded tier must hold.
async function minutesBy(db, size) {
  return (await db.query(`SELECT
      (extract(epoch FROM date_bin($1::interval, bucket, 'epoch')) * 1000)::bigint AS t,
      sum(count)::bigint AS count, sum(errors)::bigint AS errors, sum(bytes)::bigint AS bytes,
      sum(duration_count)::bigint AS duration_count, round(sum(duration_sum)::numeric, 6) AS dsum,
      min(duration_min) AS dmin, max(duration_max) AS dmax,
      sum((SELECT sum(value::bigint) FROM jsonb_each_text(latency)))::bigint AS hist
      FROM monitoring.metrics_rollup WHERE tier = 'minute' AND source = $2
      GROUP BY 1 ORDER BY 1`, [size, SRC])).rows;
}

const fold = (db, untilMs) => db.query(
  "SELECT monitoring.rollup_fold(to_timestamp($1::bigint / 1000.0), interval '7 days') AS through",
  [untilMs]);

test('hour and day rollups folded from minutes: exact before, during and after, each minute once',
  { timeout: 180_000 }, async () => {
    const store = await createPgDatabase();
    const a = await Daemon.start({ store, label: 'fold-a' });
    const b = await Daemon.start({ store, label: 'fold-b' });
    daemons.push(a, b);
    const db = new pg.Client({ connectionString: store });
    await db.connect();
    try {
      // 1. Minutes not folded yet: the events' transactions write minute rows only.
      const sent = [...events('a', 5, 600, 7), ...events('a', 50, 400, 13), ...events('a', 70, 300, 3)];
      await post(a, sent);
      await settled(a);
      assert.deepEqual(await tierRows(db, 'hour'), [], 'no hour row before folding');
      assert.deepEqual(await tierRows(db, 'day'), [], 'no day row before folding');
      const before = {
        hour: await assertExact(a, sent, '1h', HOUR),
        day: await assertExact(b, sent, '1d', 86_400_000),
      };

      // 2. Fold half of the first hour: the answers do not change.
      assert.equal((await fold(db, T0 + 30 * 60_000)).rows[0].through.getTime(), T0 + 30 * 60_000);
      assert.deepEqual(await assertExact(b, sent, '1h', HOUR), before.hour);
      assert.deepEqual(await assertExact(a, sent, '1d', 86_400_000), before.day);

      // 3. Late events (into minute 5, folded) and new ones (minute 40, not folded), from both
      //    instances, while another connection folds minute by minute up to T0 + 45 min.
      const late = [...events('late', 5, 300, 11), ...events('new', 40, 300, 17)];
      const folder = new pg.Client({ connectionString: store });
      await folder.connect();
      const folding = (async () => {
        for (let m = 31; m <= 45; m++) {
          await fold(folder, T0 + m * 60_000);
        }
      })();
      await Promise.all([post(a, late.slice(0, 300)), post(b, late.slice(300)), folding]);
      await folder.end();
      await Promise.all([settled(a), settled(b)]);
      const all = [...sent, ...late];
      await assertExact(a, all, '1h', HOUR);
      await assertExact(b, all, '1d', 86_400_000);
      await assertExact(a, all, '10m', 600_000);

      // 4. Fold everything, twice: each hour and day row is then exactly its minutes' sum.
      const through = (await fold(db, DAY0 + 86_400_000)).rows[0].through.getTime();
      assert.equal(through, DAY0 + 86_400_000);
      assert.equal((await fold(db, DAY0 + 86_400_000)).rows[0].through.getTime(), through,
        'nothing left to fold');
      assert.deepEqual(await tierRows(db, 'hour'), await minutesBy(db, '1 hour'));
      assert.deepEqual(await tierRows(db, 'day'), await minutesBy(db, '1 day'));
      const [day] = await tierRows(db, 'day');
      assert.equal(day.count, all.length);
      assert.equal(day.hist, all.length);
      const after = {
        hour: await assertExact(a, all, '1h', HOUR),
        day: await assertExact(b, all, '1d', 86_400_000),
      };

      // 5. A replay of everything (the same ids) changes nothing at any tier.
      await post(b, all);
      await settled(b);
      assert.deepEqual(await assertExact(a, all, '1h', HOUR), after.hour);
      assert.deepEqual(await assertExact(b, all, '1d', 86_400_000), after.day);
    } finally {
      await db.end();
    }
    await a.stop();
    await b.stop();
  });
