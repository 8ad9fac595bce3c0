// session-tracker.test.mjs -- web/session-tracker.js: the waterfall (order, nesting by
// span ids, offsets, errors), the list route, and the live fallback when it answers 404.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionTracker, flattenTimeline, waterfall } from '../../../web/session-tracker.js';
import { fakeFetchJson } from './fakes.mjs';

const T = Date.parse('2026-12-01T00:00:00Z');
const e = (seq, dt, extra = {}) => ({ seq, id: `e${seq}`, type: 'tool_call', ts: T + dt, session_id: 's1', ...extra });

test('waterfall: parents before their children, depth, offsets, durations, errors', () => {
  const evs = [
    e(3, 30, { name: 'child', duration_ms: 10, status: 'error', attrs: { span_id: 'b', parent_span_id: 'a' } }),
    e(1, 0, { type: 'session_start', duration_ms: 99999 }),
    e(2, 10, { name: 'parent', duration_ms: 50, attrs: { span_id: 'a' } }),
    e(4, 70, { name: 'next', duration_ms: 5, attrs: { span_id: 'c', parent_span_id: 'zz' } }),
  ];
  const w = waterfall(evs);
  assert.deepEqual(w.rows.map((r) => [r.ev.seq, r.depth, r.offsetMs, r.durationMs, r.error]),
    [[1, 0, 0, 0, false], [2, 0, 10, 50, false], [3, 1, 30, 10, true], [4, 0, 70, 5, false]]);
  assert.equal(w.spanMs, 75);
});

test('flattenTimeline: nested children or flat lists', () => {
  const nested = { events: [{ seq: 1, children: [{ seq: 2, children: [{ seq: 3 }] }] }, { seq: 4 }] };
  assert.deepEqual(flattenTimeline(nested).map((x) => x.seq), [1, 2, 3, 4]);
  assert.deepEqual(flattenTimeline([{ seq: 9 }]).map((x) => x.seq), [9]);
});

test('the server\'s sessions and timeline when the routes exist', async () => {
  const fetchJson = fakeFetchJson({
    'GET /api/v1/sessions': () => ({ status: 200, body: { sessions: [{ session_id: 's1', state: 'active', events: 3, errors: 1, tool_calls: 2, p95_ms: 12 }], next_cursor: null } }),
    'GET /api/v1/sessions/s1': () => ({ status: 200, body: { session: { session_id: 's1' }, events: [e(1, 0), e(2, 5)] } }),
  });
  const t = new SessionTracker({ fetchJson });
  await t.refresh();
  assert.equal(t.available.get(), true);
  assert.deepEqual(t.sessions.get()[0], { id: 's1', state: 'active', firstSeen: null, lastSeen: null, events: 3, errors: 1, toolCalls: 2, p95: 12, source: null });
  const tl = await t.timeline('s1');
  assert.equal(tl.from, 'server');
  assert.equal(tl.rows.length, 2);
});

test('404: not available, and the sessions seen live instead', async () => {
  const t = new SessionTracker({ fetchJson: fakeFetchJson({}) });
  t.add([e(1, 0, { type: 'session_start' }), e(2, 5, { status: 'error' }), e(3, 9, { session_id: 's2' }), { seq: 4, type: 'x' }]);
  await t.refresh();
  assert.equal(t.available.get(), false);
  const list = t.sessions.get();
  assert.deepEqual(list.map((s) => [s.id, s.events, s.errors, s.toolCalls]).sort(), [['s1', 2, 1, 1], ['s2', 1, 0, 1]]);
  const tl = await t.timeline('s1');
  assert.equal(tl.from, 'live');
  assert.deepEqual(tl.rows.map((r) => r.ev.seq), [1, 2]);
});
