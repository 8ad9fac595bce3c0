// panels.test.mjs -- the panels' pure parts: the banner's words for each path state, SLO burn
// and colour, and /api/v1/metrics answers turned into chart points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bannerText } from '../../../web/source-panel.js';
import { burnOf, colourOf } from '../../../web/slo-panel.js';
import { rollupPoints } from '../../../web/rollup-data.js';
import { breakerLines } from '../../../web/resilience-panel.js';
import { formatClock } from '../../../web/format.js';

test('bannerText: nothing while every running path is connected and caught up', () => {
  const ok = { state: 'connected', attempt: 0, retryAt: null, catchingUp: false };
  assert.equal(bannerText({ legacy: ok, realtime: null }), '');
  assert.equal(bannerText({ legacy: ok, realtime: ok }), '');
});

test('bannerText: down with the countdown and attempt; catching up with how far behind', () => {
  const t = bannerText({
    legacy: { state: 'reconnecting', attempt: 2, retryAt: 4500 },
    realtime: { state: 'connected', attempt: 0, catchingUp: true, serverSeq: 120, cursor: 100 },
  }, 1000);
  assert.equal(t, '/ws is down — reconnecting in 4s (attempt 3); what it misses is replayed by seq on return · Realtime catching up (20 behind)');
});

test('burnOf and colourOf: at-most objectives by ratio, uptime by downtime budget', () => {
  assert.equal(burnOf(500, 1000, true), 0.5);
  assert.equal(colourOf(burnOf(1500, 1000, true)), 'amber');
  assert.equal(colourOf(burnOf(2500, 1000, true)), 'red');
  assert.equal(Math.round(burnOf(0.998, 0.999, false) * 100) / 100, 2);
  assert.equal(colourOf(burnOf(1, 0.999, false)), 'green');
  assert.equal(burnOf(null, 1, true), null);
  assert.equal(colourOf(null), 'none');
});

test('rollupPoints: groups summed per bucket, p95 the worst group, times in any form', () => {
  const body = {
    series: [
      { group: { source: 'a' }, points: [{ t: '2026-12-01T00:00:00Z', count: 60, p95: 10 }, { t: '2026-12-01T00:01:00Z', rate: 2, p95: 12 }] },
      { group: { source: 'b' }, points: [{ t: Date.parse('2026-12-01T00:00:00Z') / 1000, rate: 3, p95: 30 }] },
    ],
  };
  assert.deepEqual(rollupPoints(body, 60_000), [
    { t: Date.parse('2026-12-01T00:00:00Z'), rate: 4, p95: 30 },
    { t: Date.parse('2026-12-01T00:01:00Z'), rate: 2, p95: 12 },
  ]);
  assert.deepEqual(rollupPoints({ points: [{ bucket: 'nonsense' }] }, 60_000), []);
});

test('breakerLines: the history starts from the server\'s last transition, then names each one it reports', () => {
  const t = Date.parse('2026-12-01T06:00:00Z');
  const at = formatClock(t);
  const first = breakerLines(null, { state: 'closed', transitions: 3, last_transition: { from: 'half_open', to: 'closed', reason: 'probe succeeded' } }, t);
  assert.deepEqual(first.lines, [`${at} closed`, 'before this page: half_open → closed (probe succeeded), 3 transitions since start']);
  const fresh = breakerLines(null, { state: 'closed', transitions: 0 }, t);
  assert.deepEqual(fresh.lines, [`${at} closed`], 'a server whose breaker never moved: nothing before');
  const same = breakerLines(first.seen, { state: 'closed', transitions: 3, last_transition: { from: 'half_open', to: 'closed' } }, t);
  assert.deepEqual(same.lines, []);
  // Closed -> open -> half_open between two reads: the page still says what it missed.
  const jump = breakerLines(first.seen, { state: 'half_open', transitions: 5, last_transition: { from: 'open', to: 'half_open', reason: 'open period over' } }, t);
  assert.deepEqual(jump.lines, [`${at} open → half_open (open period over) (+1 more since the last read)`]);
  // A server without counts: the page's own view of state changes.
  const bare = breakerLines({ state: 'closed', transitions: null }, { state: 'open' }, t);
  assert.deepEqual(bare.lines, [`${at} closed → open`]);
});
