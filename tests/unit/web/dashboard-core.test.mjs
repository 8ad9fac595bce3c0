// dashboard-core.test.mjs -- modes, hand-over between paths, de-duplication by id, the
// agreement counts and latencies, with fake adapters standing in for /ws and Realtime.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agreement, DashboardCore, pathsOf } from '../../../web/dashboard-core.js';
import { Topic, Value } from '../../../web/observable.js';
import { fullJitterDelay } from '../../../web/backoff.js';

class FakeAdapter {
  status = new Value({ state: 'connecting', serverSeq: 0 });
  events = new Topic();
  reset = new Topic();
  running = false;
  cursor = null;
  constructor(path, opts) {
    this.path = path;
    this.opts = opts;
  }
  start() {
    this.running = true;
    this.cursor = this.opts.initialCursor ?? 0;
  }
  stop() {
    this.running = false;
  }
  deliver(evs) {
    for (const e of evs) {
      this.cursor = Math.max(this.cursor, e.seq);
    }
    this.events.emit(evs);
  }
}

function setup(now = () => 1000) {
  const made = [];
  const core = new DashboardCore({
    makeAdapter: (path, opts) => {
      const a = new FakeAdapter(path, opts);
      made.push(a);
      return a;
    },
    now,
    agreement: { graceMs: 100 },
  });
  const shown = [];
  core.subscribe((evs) => shown.push(...evs));
  const changes = [];
  core.sourceChanges.subscribe((c) => changes.push(c));
  return { core, made, shown, changes };
}

const ev = (seq, extra = {}) => ({ id: `e${seq}`, seq, type: 't', ...extra });

test('pathsOf: which paths each mode runs', () => {
  assert.deepEqual(pathsOf('legacy'), ['legacy']);
  assert.deepEqual(pathsOf('realtime'), ['realtime']);
  assert.deepEqual(pathsOf('dual'), ['legacy', 'realtime']);
});

test('a mode starts its paths; an unknown mode is refused', () => {
  const { core, made, changes } = setup();
  core.setMode('legacy', 'flag');
  assert.equal(made.length, 1);
  assert.equal(made[0].path, 'legacy');
  assert.ok(made[0].running);
  assert.deepEqual(changes.map((c) => [c.from, c.to, c.reason]), [[null, 'legacy', 'flag']]);
  assert.throws(() => core.setMode('both'), /unknown data source mode/);
  core.setMode('legacy');
  assert.equal(changes.length, 1, 'the same mode again is no change');
});

test('switching hands over at the running path\'s cursor: no gap, no repeat', () => {
  const { core, made, shown } = setup();
  core.setMode('legacy');
  made[0].deliver([ev(1), ev(2), ev(3)]);
  core.setMode('realtime', 'operator');
  assert.equal(made[0].running, false, 'legacy stopped');
  assert.equal(made[1].path, 'realtime');
  assert.equal(made[1].opts.initialCursor, 3, 'realtime resumes after the last seq shown');
  made[1].deliver([ev(3), ev(4)]); // a repeat of 3 is dropped by id
  assert.deepEqual(shown.map((e) => e.seq), [1, 2, 3, 4]);
  assert.deepEqual(shown.map((e) => e._via), ['legacy', 'legacy', 'legacy', 'realtime']);
  core.setMode('legacy');
  assert.equal(made[2].opts.initialCursor, 4);
});

test('dual mode: each event once, whichever path brings it first', () => {
  const { core, made, shown } = setup();
  core.setMode('dual');
  const [legacy, realtime] = made;
  legacy.deliver([ev(1), ev(2)]);
  realtime.deliver([ev(1), ev(2), ev(3)]);
  legacy.deliver([ev(3)]);
  assert.deepEqual(shown.map((e) => `${e.seq}${e._via[0]}`), ['1l', '2l', '3r']);
  assert.equal(core.maxSeq, 3);
});

test('dual mode agreement: both, one-path-only after the grace period, latencies', () => {
  let t = 10_000;
  const { core, made } = setup(() => t);
  core.setMode('dual');
  const [legacy, realtime] = made;
  const at = (ms) => new Date(ms).toISOString();
  legacy.deliver([ev(1, { received_at: at(t - 5) }), ev(2, { received_at: at(t - 5) })]);
  t += 20;
  realtime.deliver([ev(1, { received_at: at(9995) }), ev(3, { received_at: at(9995) })]);
  core.tick();
  let a = core.agreement.get();
  assert.equal(a.both, 1);
  assert.equal(a.pending, 2, 'within the grace period, not yet a disagreement');
  t += 200;
  core.tick();
  a = core.agreement.get();
  assert.deepEqual([a.both, a.legacyOnly, a.realtimeOnly], [1, 1, 1]);
  assert.deepEqual(a.legacyOnlyIds, ['e2']);
  assert.deepEqual(a.realtimeOnlyIds, ['e3']);
  assert.equal(a.agreement, 1 / 3);
  assert.equal(a.latency.legacy.p50, 5);
  assert.equal(a.latency.realtime.p99, 25);
  // The late copy still counts as seen on both.
  realtime.deliver([ev(2, { received_at: at(9995) })]);
  a = core.agreement.get();
  core.tick();
  a = core.agreement.get();
  assert.deepEqual([a.both, a.legacyOnly, a.realtimeOnly], [2, 0, 1]);
});

test('a page that starts in dual compares above the higher of the two paths\' heads', () => {
  const { core, made, shown } = setup(() => 1000);
  made.length = 0;
  core.setMode('dual');
  const [legacy, realtime] = made;
  legacy.status.set({ state: 'connecting', serverSeq: null });
  realtime.status.set({ state: 'connecting', serverSeq: null });
  // Each backfills from its own head: /ws (head 10) from 8, Realtime (head 12) from 10.
  legacy.status.set({ state: 'connected', serverSeq: 10 });
  legacy.deliver([ev(8), ev(9), ev(10)]);
  realtime.status.set({ state: 'connected', serverSeq: 12 });
  realtime.deliver([ev(11), ev(12), ev(13)]);
  legacy.deliver([ev(11), ev(12), ev(13)]);
  core.tick();
  const a = core.agreement.get();
  assert.deepEqual([a.both, a.legacyOnly, a.realtimeOnly, a.pending], [1, 0, 0, 0],
                   'only seq 13, above both heads, is compared');
  assert.deepEqual(shown.map((e) => e.seq), [8, 9, 10, 11, 12, 13], 'the backfill is shown all the same');
});

test('agreement counts only what was committed after dual mode began', () => {
  const { core, made } = setup();
  core.setMode('legacy');
  made[0].deliver([ev(1), ev(2)]);
  core.setMode('dual');
  const realtime = made[1];
  assert.equal(realtime.opts.initialCursor, 2);
  made[0].deliver([ev(3)]);
  realtime.deliver([ev(3)]);
  core.tick();
  assert.equal(core.agreement.get().both, 1);
  core.setMode('legacy');
  assert.equal(core.agreement.get(), null, 'no agreement outside dual mode');
  assert.equal(realtime.running, false);
});

test('a path\'s reset (a new store) clears the views and the seen ids', () => {
  const { core, made, shown } = setup();
  let resets = 0;
  core.reset.subscribe(() => resets++);
  core.setMode('legacy');
  made[0].deliver([ev(1)]);
  made[0].reset.emit();
  made[0].deliver([ev(1)]);
  assert.equal(resets, 1);
  assert.equal(shown.length, 2, 'the same id in a new history is shown again');
});

test('paths reflect each running adapter\'s status', () => {
  const { core, made } = setup();
  core.setMode('dual');
  made[1].status.set({ state: 'reconnecting' });
  const p = core.paths.get();
  assert.equal(p.legacy.state, 'connecting');
  assert.equal(p.realtime.state, 'reconnecting');
  core.setMode('legacy');
  assert.equal(core.paths.get().realtime, null);
});

test('Agreement alone: repeats on one path are not agreement', () => {
  const a = new Agreement({ graceMs: 10 });
  a.seen('legacy', 'x', 1, 1, 0);
  a.seen('legacy', 'x', 1, 1, 1);
  const s = a.snapshot(100);
  assert.deepEqual([s.both, s.legacyOnly], [0, 1]);
});

test('fullJitterDelay: uniform below a ceiling that doubles up to the cap', () => {
  assert.equal(fullJitterDelay(0, 250, 10_000, 0), 0);
  assert.equal(fullJitterDelay(0, 250, 10_000, 0.5), 125);
  assert.equal(fullJitterDelay(2, 250, 10_000, 0.999), 999);
  assert.equal(fullJitterDelay(10, 250, 10_000, 0.5), 5000);
  assert.equal(fullJitterDelay(1e9, 250, 10_000, 0.5), 5000);
  assert.equal(fullJitterDelay(-1, 250, 10_000, 0.5), 125);
});

test('each path\'s delivery latency is kept in any mode; old replays are left out', () => {
  const t = 100_000;
  const { core, made } = setup(() => t);
  core.setMode('realtime');
  made[0].deliver([ev(1, { received_at: t - 10 }), ev(2, { received_at: t - 30 }), ev(3, { received_at: t - 3_600_000 })]);
  assert.deepEqual(core.latency('realtime'), { p50: 10, p99: 30, n: 2 });
  assert.equal(core.latency('legacy').n, 0);
});

test('restartPaths: each running path starts again from the hand-over cursor', () => {
  const { core, made, shown } = setup();
  core.setMode('dual');
  made[0].deliver([ev(1), ev(2)]);
  made[1].deliver([ev(1)]);
  core.restartPaths('key changed');
  assert.equal(made[0].running, false);
  assert.equal(made[1].running, false);
  assert.deepEqual(made.slice(2).map((a) => [a.path, a.opts.initialCursor, a.running]),
                   [['legacy', 1, true], ['realtime', 1, true]]);
  made[2].deliver([ev(2), ev(3)]);
  assert.deepEqual(shown.map((e) => e.seq), [1, 2, 3], 'nothing twice across the restart');
});

test('Agreement keeps at most maxIds single-path ids, still counting the forgotten ones', () => {
  const a = new Agreement({ graceMs: 10, maxIds: 100 });
  for (let i = 0; i < 1000; i++) {
    a.seen('legacy', `id-${i}`, i + 1, 5, i); // realtime is down: only legacy delivers
  }
  const s = a.snapshot(10_000);
  assert.equal(s.legacyOnly, 1000, 'every one-path event is counted');
  assert.equal(s.pending, 0);
  assert.deepEqual(s.legacyOnlyIds.slice(0, 2), ['id-999', 'id-998'], 'the newest ids are kept');
  // a late copy of a kept id still counts as seen on both paths
  a.seen('realtime', 'id-999', 1000, 5, 10_001);
  assert.equal(a.snapshot(10_002).both, 1);
});

test('agreement latencies: the last `samples` of each path', () => {
  const a = new Agreement({ samples: 3, graceMs: 10 });
  [100, 200, 1, 2, 3].forEach((ms, i) => a.seen('legacy', `l${i}`, i + 1, ms, 0));
  a.seen('realtime', 'l0', 1, 7, 0);
  const s = a.snapshot(0);
  assert.deepEqual(s.latency.legacy, { p50: 2, p99: 3, n: 3 }, 'the first two have left the window');
  assert.deepEqual(s.latency.realtime, { p50: 7, p99: 7, n: 1 });
});
