// metrics-window.test.mjs -- web/metrics-window.js: event time, error and latency rules,
// nearest-rank percentiles, and MetricsWindow's per-second series and summary: empty
// windows, late events landing in their own second, the window's edges, sliding and
// pruning, gaps before the page knew anything, and the bounded latency sample.
//
// MetricsWindow reads Date.now() when it is built and cleared; the tests pin it with
// node:test's mock timers and pass `nowMs` explicitly everywhere else.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MetricsWindow,
  eventTimeMs,
  isError,
  latencyOf,
  percentile,
} from '../../../web/metrics-window.js';

const T0S = 1_700_000_000; // a whole unix second
const T0 = T0S * 1000;
const at = (s, ms = 0) => T0 + s * 1000 + ms; // epoch ms, s seconds after T0

function pinClock(t, nowMs = T0) {
  t.mock.timers.enable({ apis: ['Date'], now: nowMs });
}

const req = (tsMs, extra = {}) => ({ type: 'request', status: 'ok', ts: tsMs, ...extra });

test('eventTimeMs: numeric ts, then an RFC 3339 ts, then received_at, then now', (t) => {
  pinClock(t, 42_000);
  assert.equal(eventTimeMs({ ts: 1234, received_at: 99 }), 1234);
  assert.equal(eventTimeMs({ ts: 0, received_at: 99 }), 0); // epoch 0 is a time, not absence
  assert.equal(eventTimeMs({ ts: '2024-01-02T03:04:05.678Z' }), Date.UTC(2024, 0, 2, 3, 4, 5, 678));
  assert.equal(eventTimeMs({ ts: 'not a time', received_at: '2024-01-02T00:00:00Z' }),
               Date.UTC(2024, 0, 2));
  assert.equal(eventTimeMs({ ts: NaN, received_at: 77 }), 77);
  assert.equal(eventTimeMs({ ts: Infinity, received_at: 77 }), 77);
  assert.equal(eventTimeMs({ received_at: 77 }), 77);
  assert.equal(eventTimeMs({ ts: null, received_at: null }), 42_000);
  assert.equal(eventTimeMs({}), 42_000);
});

test('isError: an error event, or any status other than "ok"', () => {
  assert.equal(isError({ type: 'error' }), true);
  assert.equal(isError({ type: 'error', status: 'ok' }), true);
  assert.equal(isError({ type: 'request', status: 'timeout' }), true);
  assert.equal(isError({ type: 'request', status: 'error' }), true);
  assert.equal(isError({ type: 'request', status: 'ok' }), false);
  assert.equal(isError({ type: 'request' }), false);
  assert.equal(isError({ type: 'metric', status: 500 }), false); // not a string: no status
});

test('latencyOf: an operation\'s duration_ms; session events, bad and missing values are null', () => {
  assert.equal(latencyOf({ type: 'request', duration_ms: 12.5 }), 12.5);
  assert.equal(latencyOf({ type: 'tool_call', duration_ms: 0 }), 0);
  assert.equal(latencyOf({ type: 'session_end', duration_ms: 60_000 }), null);
  assert.equal(latencyOf({ type: 'session_start', duration_ms: 1 }), null);
  assert.equal(latencyOf({ duration_ms: 5 }), null); // no type: not an operation
  assert.equal(latencyOf({ type: 'request', duration_ms: -1 }), null);
  assert.equal(latencyOf({ type: 'request', duration_ms: NaN }), null);
  assert.equal(latencyOf({ type: 'request', duration_ms: Infinity }), null);
  assert.equal(latencyOf({ type: 'request', duration_ms: '5' }), null);
  assert.equal(latencyOf({ type: 'request' }), null);
});

test('percentile: nearest rank of an ascending array, null when empty', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile([], 50), null);
  assert.equal(percentile([7], 0), 7);
  assert.equal(percentile([7], 50), 7);
  assert.equal(percentile([7], 100), 7);
  assert.equal(percentile([1, 2, 3, 4], 50), 2);
  assert.equal(percentile([1, 2, 3, 4], 51), 3);
  assert.equal(percentile([1, 2, 3, 4], 0), 1);
  assert.equal(percentile(hundred, 50), 50);
  assert.equal(percentile(hundred, 95), 95);
  assert.equal(percentile(hundred, 99), 99);
  assert.equal(percentile(hundred, 99.5), 100);
  assert.equal(percentile(hundred, 100), 100);
});

test('an empty window: seconds before the page was built are gaps (null), later ones zero', (t) => {
  pinClock(t);
  const w = new MetricsWindow({ windowS: 4 });
  assert.equal(w.windowS, 4);
  const before = w.series(at(0, 500));
  assert.deepEqual(before.x, [T0S - 4, T0S - 3, T0S - 2, T0S - 1]);
  assert.deepEqual(before.rate, [null, null, null, null]);
  assert.deepEqual(before.errors, [null, null, null, null]);
  assert.deepEqual(before.p50, [null, null, null, null]);

  const later = w.series(at(3, 999));
  assert.deepEqual(later.x, [T0S - 1, T0S, T0S + 1, T0S + 2]);
  assert.deepEqual(later.rate, [null, 0, 0, 0]);
  assert.deepEqual(later.errors, [null, 0, 0, 0]);
  assert.deepEqual(later.p99, [null, null, null, null]);
});

test('counts, errors and percentiles per second; the current second is left out', (t) => {
  pinClock(t);
  const w = new MetricsWindow({ windowS: 3 });
  const now = at(3, 100);
  w.add(req(at(0, 10), { duration_ms: 100 }), now);
  w.add(req(at(0, 20), { duration_ms: 9 }), now);
  w.add(req(at(0, 999), { duration_ms: 25 }), now);
  w.add(req(at(0, 30), { duration_ms: 3 }), now);
  w.add({ type: 'error', ts: at(1, 1), error: 'boom' }, now);
  w.add(req(at(1, 2), { status: 'timeout', duration_ms: 7 }), now);
  w.add(req(at(3, 50), { duration_ms: 1 }), now); // the current, unfinished second

  const s = w.series(now);
  assert.deepEqual(s.x, [T0S, T0S + 1, T0S + 2]);
  assert.deepEqual(s.rate, [4, 2, 0]);
  assert.deepEqual(s.errors, [0, 2, 0]);
  // Durations sort as numbers: [3, 9, 25, 100] (as strings the median would be 25).
  assert.deepEqual(s.p50, [9, 7, null]);
  assert.deepEqual(s.p95, [100, 7, null]);
  assert.deepEqual(s.p99, [100, 7, null]);

  // A second later the current second is complete and shows up.
  const next = w.series(at(4, 0));
  assert.deepEqual(next.x, [T0S + 1, T0S + 2, T0S + 3]);
  assert.deepEqual(next.rate, [2, 0, 1]);
  assert.deepEqual(next.p50, [7, null, 1]);
});

test('a late event lands in the second it happened in, not the second it arrived in', (t) => {
  pinClock(t);
  const w = new MetricsWindow({ windowS: 5 });
  const now = at(10, 0);
  w.add(req(at(9, 0)), now);
  w.add(req(at(6, 700)), now); // arrives 3 s late
  w.add({ type: 'request', received_at: new Date(at(7, 1)).toISOString() }, now); // no ts
  const s = w.series(now);
  assert.deepEqual(s.x, [T0S + 5, T0S + 6, T0S + 7, T0S + 8, T0S + 9]);
  assert.deepEqual(s.rate, [0, 1, 1, 0, 1]);
});

test('the window\'s edges: the oldest second shown is kept, older and far-future ones dropped', (t) => {
  pinClock(t, at(-100)); // built long before, so no second of the window is a gap
  const w = new MetricsWindow({ windowS: 5 });
  const now = at(10, 400);
  w.add(req(at(5, 0)), now); // the oldest second series(now) shows
  w.add(req(at(4, 999)), now); // one second older: dropped
  w.add(req(at(70, 999)), now); // 60 s ahead (tolerated skew): kept
  w.add(req(at(71, 0)), now); // 61 s ahead: dropped
  // Nothing was kept for the too-old second (summary reads whatever is stored; series
  // would prune it).
  assert.equal(w.summary(now, 6).count, 1);
  const s = w.series(now);
  assert.deepEqual(s.x, [T0S + 5, T0S + 6, T0S + 7, T0S + 8, T0S + 9]);
  assert.deepEqual(s.rate, [1, 0, 0, 0, 0]);
  // The skewed event is shown once its second is complete; the dropped ones never are.
  const later = w.series(at(72, 0));
  assert.deepEqual(later.x, [T0S + 67, T0S + 68, T0S + 69, T0S + 70, T0S + 71]);
  assert.deepEqual(later.rate, [0, 0, 0, 1, 0]);
});

test('the window slides: old seconds leave the series and are pruned for good', (t) => {
  pinClock(t);
  const w = new MetricsWindow({ windowS: 3 });
  w.add(req(at(0)), at(0, 500));
  w.add(req(at(1)), at(1, 500));
  w.add(req(at(1)), at(1, 500));
  w.add(req(at(2)), at(2, 500));
  assert.deepEqual(w.series(at(3)).rate, [1, 2, 1]);
  assert.deepEqual(w.series(at(4)).rate, [2, 1, 0]);
  assert.deepEqual(w.series(at(5)).rate, [1, 0, 0]);
  assert.deepEqual(w.series(at(6)).rate, [0, 0, 0]);
  // Once pruned, a second does not come back if the clock steps back.
  assert.deepEqual(w.series(at(3)).x, [T0S, T0S + 1, T0S + 2]);
  assert.deepEqual(w.series(at(3)).rate, [0, 0, 0]);
});

test('a backfill older than the page: its first event marks where knowledge starts', (t) => {
  pinClock(t, at(10));
  const w = new MetricsWindow({ windowS: 8 });
  const now = at(10, 0);
  w.add(req(at(5, 500)), now); // the oldest event of the backfill, first to arrive
  w.add(req(at(7)), now);
  w.add(req(at(3)), now); // older still, but not first: its second counts, the gap stays
  const s = w.series(now);
  assert.deepEqual(s.x, [T0S + 2, T0S + 3, T0S + 4, T0S + 5, T0S + 6, T0S + 7, T0S + 8, T0S + 9]);
  assert.deepEqual(s.rate, [null, 1, null, 1, 0, 1, 0, 0]);
  assert.deepEqual(s.errors, [null, 0, null, 0, 0, 0, 0, 0]);
});

test('clear() forgets every event and makes the seconds before it gaps again', (t) => {
  pinClock(t, at(0));
  const w = new MetricsWindow({ windowS: 4 });
  w.add(req(at(1)), at(1));
  w.add(req(at(2)), at(2));
  assert.deepEqual(w.series(at(4)).rate, [0, 1, 1, 0]);
  t.mock.timers.setTime(at(3, 200));
  w.clear();
  const s = w.series(at(5));
  assert.deepEqual(s.x, [T0S + 1, T0S + 2, T0S + 3, T0S + 4]);
  assert.deepEqual(s.rate, [null, null, 0, 0]);
  assert.equal(w.summary(at(5), 4).count, 0);
});

test('session events count as events but not as latency', (t) => {
  pinClock(t);
  const w = new MetricsWindow({ windowS: 2 });
  const now = at(2);
  w.add(req(at(1), { duration_ms: 10 }), now);
  w.add({ type: 'session_end', ts: at(1), duration_ms: 3_600_000 }, now);
  const s = w.series(now);
  assert.deepEqual(s.rate, [0, 2]);
  assert.deepEqual(s.p99, [null, 10]);
});

test('a busy second keeps a bounded uniform sample of its durations (reservoir)', (t) => {
  pinClock(t);
  const draws = [0.5, 0.9, 0.0];
  const random = () => draws.shift();
  const w = new MetricsWindow({ windowS: 1, samplesPerSecond: 3, random });
  const now = at(1);
  for (const d of [10, 20, 30]) {
    w.add(req(at(0), { duration_ms: d }), now); // fills the sample, no draw
  }
  assert.equal(draws.length, 3);
  w.add(req(at(0), { duration_ms: 40 }), now); // 4th seen: j = floor(0.5 * 4) = 2 replaces 30
  w.add(req(at(0), { duration_ms: 50 }), now); // 5th seen: j = floor(0.9 * 5) = 4, not kept
  w.add(req(at(0), { duration_ms: 60 }), now); // 6th seen: j = 0 replaces 10
  w.add(req(at(0), { type: 'session_end', duration_ms: 1 }), now); // not a latency: no draw
  assert.equal(draws.length, 0);
  const s = w.series(now);
  assert.deepEqual(s.rate, [7]); // every event is counted, sampled or not
  // Sample is [60, 20, 40] -> sorted [20, 40, 60].
  assert.deepEqual([s.p50[0], s.p95[0], s.p99[0]], [40, 60, 60]);
});

test('summary: totals, rate, error rate and percentiles over the last spanS complete seconds', (t) => {
  pinClock(t);
  const w = new MetricsWindow({ windowS: 300 });
  const now = at(100, 300);
  w.add(req(at(89), { duration_ms: 1000 }), now); // outside a 10 s span
  for (let i = 1; i <= 10; i++) {
    w.add(req(at(90 + (i % 10)), { duration_ms: i, status: i <= 2 ? 'error' : 'ok' }), now);
  }
  w.add(req(at(100), { duration_ms: 5000 }), now); // current second: not yet counted
  assert.deepEqual(w.summary(now, 10), {
    spanS: 10, count: 10, rate: 1, errorRate: 0.2, p50: 5, p95: 10, p99: 10,
  });
  // The default span is 60 s and takes in the older event too.
  assert.deepEqual(w.summary(now), {
    spanS: 60, count: 11, rate: 11 / 60, errorRate: 2 / 11, p50: 6, p95: 1000, p99: 1000,
  });
});

test('summary of an empty span: zero events, no error rate, no percentiles', (t) => {
  pinClock(t);
  const w = new MetricsWindow();
  assert.deepEqual(w.summary(at(5), 60), {
    spanS: 60, count: 0, rate: 0, errorRate: null, p50: null, p95: null, p99: null,
  });
});

test('sourceSeries: per-second counts of the busiest sources, the rest as "other"', (t) => {
  pinClock(t);
  const w = new MetricsWindow({ windowS: 3 });
  const now = at(3);
  for (const [sec, src, n] of [[0, 'a', 3], [0, 'b', 1], [1, 'a', 1], [1, 'c', 2], [2, 'd', 1], [2, undefined, 1]]) {
    for (let i = 0; i < n; i++) {
      w.add(req(at(sec, i), src === undefined ? {} : { source: src }), now);
    }
  }
  const s = w.sourceSeries(now, 2);
  assert.deepEqual(s.x, [T0S, T0S + 1, T0S + 2]);
  assert.deepEqual(s.names, ['a', 'c', 'other']);
  assert.deepEqual(s.values, [[3, 1, 0], [0, 2, 0], [1, 0, 2]]);
  assert.deepEqual(w.sourceSeries(now, 10).names, ['a', 'c', '(none)', 'b', 'd']);
});
