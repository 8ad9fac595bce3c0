// summaries.test.mjs -- what the persister keeps beside the events, read back through the
// routes (DESIGN §3, §5): GET /api/v1/metrics against a brute-force computation over the raw
// events (counts, rates, error rates exact; p50/p95/p99 within the 1% relative bound of
// core/loghist.h), a duplicate id never counted twice, the tiers, coarse tiers outliving the
// events' retention; GET /api/v1/sessions (states, filters, cursor paging) and
// GET /api/v1/sessions/{id} (the timeline nested by span ids); /metrics through
// `promtool check metrics`. Runs on SQLite, and on PostgreSQL with TELLTALE_TEST_STORE=postgres.

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Daemon, api, allEvents, post, settled, test, uid, waitFor } from './lib/daemon.mjs';

const ALPHA = 0.01; // LOGHIST_ALPHA
const MINUTE = 60_000;
let d;

after(async () => {
  await d?.cleanup();
});

const get = async (route) => {
  await settled(d);
  const r = await api(d, 'GET', route);
  assert.equal(r.status, 200, `GET ${route}: ${r.text}`);
  return r.json;
};

// The exact lower q-quantile, as loghist.h defines the guarantee.
const lowerQuantile = (sorted, q) => sorted[Math.floor(q * (sorted.length - 1))];

// Deterministic pseudo-random durations, spanning four decades.
function* durations(seed) {
  let x = seed;
  for (;;) {
    x = (x * 1103515245 + 12345) % 2147483648;
    yield 10 ** (-1 + 4 * (x / 2147483648));
  }
}

// The fixture: three minutes, two names, some errors, a few events without a duration; in the
// recent past (within the events' retention), aligned to an hour so all fall in one hour.
const HOUR0 = Math.floor((Date.now() - 3 * 3_600_000) / 3_600_000) * 3_600_000;
const SRC = uid('metrics-src');
const fixture = (() => {
  const gen = durations(42);
  const out = [];
  for (let i = 0; i < 1500; i++) {
    const ev = {
      id: uid('m'), type: 'tool_call', source: SRC, name: i % 3 === 0 ? 'search' : 'fetch',
      ts: HOUR0 + (i % 3) * MINUTE + (i % 997) * 17,
    };
    if (i % 10 !== 0) ev.duration_ms = gen.next().value;
    if (i % 7 === 0) ev.status = 'error';
    out.push(ev);
  }
  return out;
})();

before(async () => {
  d = await Daemon.start({ label: 'summaries' });
  for (let i = 0; i < fixture.length; i += 500) {
    const r = await post(d, fixture.slice(i, i + 500));
    assert.equal(r.status, 202, r.text);
  }
});

function bruteForce(events, bucketMs, keyOf) {
  const groups = new Map();
  for (const e of events) {
    const k = `${keyOf(e)}|${e.ts - (e.ts % bucketMs)}`;
    const g = groups.get(k) ?? { count: 0, errors: 0, durations: [] };
    g.count++;
    if (e.status === 'error') g.errors++;
    if (e.duration_ms !== undefined) g.durations.push(e.duration_ms);
    groups.set(k, g);
  }
  for (const g of groups.values()) g.durations.sort((a, b) => a - b);
  return groups;
}

function assertMatches(answer, events, bucketMs, keyOf, labelOf) {
  const want = bruteForce(events, bucketMs, keyOf);
  let points = 0;
  for (const s of answer.series) {
    for (const p of s.points) {
      points++;
      const k = `${labelOf(s.group)}|${Date.parse(p.t)}`;
      const w = want.get(k);
      assert.ok(w, `a point the raw events do not have: ${k}`);
      assert.equal(p.count, w.count, `count of ${k}`);
      assert.equal(p.errors, w.errors, `errors of ${k}`);
      assert.ok(Math.abs(p.rate - w.count / (bucketMs / 1000)) < 1e-9, `rate of ${k}`);
      assert.ok(Math.abs(p.error_rate - w.errors / w.count) < 1e-12, `error_rate of ${k}`);
      for (const [field, q] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]]) {
        const exact = lowerQuantile(w.durations, q);
        const rel = Math.abs(p[field] - exact) / exact;
        assert.ok(rel <= ALPHA + 1e-9, `${field} of ${k}: ${p[field]} vs exact ${exact} (${rel})`);
      }
    }
  }
  assert.equal(points, want.size, 'one point per bucket and group with events');
}

test('GET /api/v1/metrics by minute and name matches the raw events (percentiles within 1%)', async () => {
  const stored = (await allEvents(d)).filter((e) => e.source === SRC);
  assert.equal(stored.length, fixture.length);
  const raw = stored.map((e) => ({ ...e, ts: Date.parse(e.ts) }));
  const since = HOUR0, until = HOUR0 + 10 * MINUTE;
  const m = await get(`/api/v1/metrics?since=${since}&until=${until}&bucket=1m&group_by=name&source=${SRC}`);
  assert.equal(m.tier, 'minute');
  assert.equal(m.bucket_ms, MINUTE);
  assert.deepEqual(m.group_by, ['name']);
  assert.equal(m.truncated, false);
  assert.deepEqual(m.series.map((s) => s.group.name).sort(), ['fetch', 'search']);
  assertMatches(m, raw, MINUTE, (e) => e.name, (g) => g.name);
});

test('coarser buckets read coarser tiers and agree with the raw events', async () => {
  const raw = (await allEvents(d)).filter((e) => e.source === SRC).map((e) => ({ ...e, ts: Date.parse(e.ts) }));
  const since = HOUR0, until = HOUR0 + 3_600_000;
  const five = await get(`/api/v1/metrics?since=${since}&until=${until}&bucket=5m&source=${SRC}`);
  assert.equal(five.tier, 'minute');
  assertMatches(five, raw, 5 * MINUTE, () => '', () => '');
  const hour = await get(`/api/v1/metrics?since=${since}&until=${until}&bucket=1h&group_by=type,name&source=${SRC}`);
  assert.equal(hour.tier, 'hour');
  assertMatches(hour, raw, 3_600_000, (e) => `${e.type}/${e.name}`, (g) => `${g.type}/${g.name}`);
  const day = await get(`/api/v1/metrics?since=${since}&until=${until}&bucket=1d&source=${SRC}`);
  assert.equal(day.tier, 'day');
  assert.equal(day.series[0].points.reduce((n, p) => n + p.count, 0), fixture.length);
});

test('a replayed batch (the same ids) is not counted again', async () => {
  const before = await get(`/api/v1/metrics?since=${HOUR0}&until=${HOUR0 + 3_600_000}&bucket=1h&source=${SRC}`);
  const r = await post(d, fixture.slice(0, 400));
  assert.equal(r.status, 202, r.text);
  const again = await get(`/api/v1/metrics?since=${HOUR0}&until=${HOUR0 + 3_600_000}&bucket=1h&source=${SRC}`);
  assert.deepEqual(again, before);
  assert.equal(again.series[0].points[0].count, fixture.length);
});

test('a default range is the last hour, by minute', async () => {
  const src = uid('now');
  await post(d, [{ type: 'request', source: src, duration_ms: 5 }, { type: 'request', source: src, error: 'x' }]);
  const m = await get(`/api/v1/metrics?source=${src}&group_by=source`);
  assert.equal(m.tier, 'minute');
  assert.ok(Date.parse(m.until) - Date.parse(m.since) >= 3_600_000);
  const points = m.series.flatMap((s) => s.points);
  assert.equal(points.reduce((n, p) => n + p.count, 0), 2);
  assert.equal(points.reduce((n, p) => n + p.errors, 0), 1);
});

test('GET /api/v1/metrics refuses bad parameters with a specific 400', async () => {
  for (const qs of ['bucket=7s', 'bucket=0', 'bucket=abc', 'group_by=colour', 'since=2030-01-01T00:00:00Z&until=2029-01-01T00:00:00Z',
    'since=0&until=100000000000', 'since=0&until=864000000&bucket=1m', 'whatever=1', 'type=', `name=${'n'.repeat(200)}`]) {
    const r = await api(d, 'GET', `/api/v1/metrics?${qs}`);
    assert.equal(r.status, 400, `${qs}: ${r.text}`);
    assert.equal(r.json.error.code, 'invalid_parameter', qs);
    assert.ok(r.json.error.message.length > 10, qs);
  }
});

// One rule for values on every /api/v1 route (DESIGN §5): an empty value is 400
// invalid_parameter naming the parameter (it used to mean "none" for group_by), and an entry
// given twice in a list is 400 naming it (group_by=name,name used to be merged silently).
test('every /api/v1 parameter: empty is 400 naming it; a list entry given twice is 400 naming it', async () => {
  const routes = {
    'GET /api/v1/events': ['after_seq', 'since', 'until', 'type', 'source', 'session_id', 'status', 'name', 'limit'],
    'GET /api/v1/metrics': ['since', 'until', 'bucket', 'group_by', 'type', 'source', 'name'],
    'GET /api/v1/sessions': ['source', 'state', 'since', 'until', 'limit', 'cursor'],
    [`GET /api/v1/sessions/${uid('s')}`]: ['limit'],
    'GET /api/v1/dlq': ['status', 'after_id', 'limit'],
    'DELETE /api/v1/dlq': ['older_than'],
  };
  for (const [route, params] of Object.entries(routes)) {
    const [method, path] = route.split(' ');
    for (const p of params) {
      for (const qs of [`${p}=`, p]) {
        const r = await api(d, method, `${path}?${qs}`);
        assert.equal(r.status, 400, `${route}?${qs}: ${r.text}`);
        assert.equal(r.json.error.code, 'invalid_parameter', `${route}?${qs}`);
        assert.equal(r.json.error.message, `parameter '${p}' is empty: give it a value, or leave it out`, `${route}?${qs}`);
      }
    }
  }
  for (const [qs, says] of [['group_by=name,name', /^parameter 'group_by' gives 'name' twice/],
                            ['group_by=type,source,type', /^parameter 'group_by' gives 'type' twice/],
                            ['group_by=type,,name', /^parameter 'group_by' has an empty entry/],
                            ['group_by=name,', /^parameter 'group_by' has an empty entry/],
                            ['group_by=,name', /^parameter 'group_by' has an empty entry/]]) {
    const r = await api(d, 'GET', `/api/v1/metrics?${qs}`);
    assert.equal(r.status, 400, `${qs}: ${r.text}`);
    assert.equal(r.json.error.code, 'invalid_parameter', qs);
    assert.match(r.json.error.message, says, qs);
  }
  assert.equal((await api(d, 'GET', '/api/v1/metrics?group_by=type,name')).status, 200, 'distinct entries are fine');
  assert.equal((await api(d, 'GET', '/api/v1/events?type=a&type=b')).status, 200, 'distinct values are fine');
});

// ---- sessions ----

const SESSION_SRC = uid('sess-src');
const NOW = Date.now();

test('sessions: counts, p95, states from start/end and the idle timeout, timelines nested by span', async () => {
  const ended = uid('ended'), active = uid('active'), idle = uid('idle with space');
  const evs = [
    { type: 'session_start', session_id: ended, source: SESSION_SRC, ts: NOW - 5000 },
    { type: 'tool_call', session_id: ended, name: 'plan', duration_ms: 100, ts: NOW - 4000, attrs: { span_id: 'root' } },
    { type: 'tool_call', session_id: ended, name: 'read', duration_ms: 10, ts: NOW - 3900, attrs: { span_id: 'c1', parent_span_id: 'root' } },
    { type: 'llm', session_id: ended, name: 'k2', duration_ms: 40, ts: NOW - 3800, attrs: { span_id: 'g1', parent_span_id: 'c1' } },
    { type: 'tool_call', session_id: ended, name: 'write', duration_ms: 20, status: 'error', ts: NOW - 3000, attrs: { span_id: 'c2', parent_span_id: 'root' } },
    { type: 'note', session_id: ended, ts: NOW - 2500, attrs: { span_id: 'orphan', parent_span_id: 'missing' } },
    { type: 'session_end', session_id: ended, ts: NOW - 2000 },
    { type: 'session_start', session_id: active, source: SESSION_SRC, ts: NOW - 1000 },
    { type: 'tool_call', session_id: active, source: SESSION_SRC, ts: NOW - 900 },
    { type: 'session_start', session_id: idle, source: SESSION_SRC, ts: NOW - 3_600_000 },
  ].map((e) => ({ id: uid('s'), ...e }));
  assert.equal((await post(d, evs.slice(0, 5))).status, 202);
  assert.equal((await post(d, evs.slice(5))).status, 202);
  assert.equal((await post(d, evs)).status, 202); // replayed: not counted again

  const all = await get(`/api/v1/sessions?source=${SESSION_SRC}`);
  assert.deepEqual(all.sessions.map((s) => s.session_id), [active, ended, idle]); // newest first
  assert.equal(all.next_cursor, null);
  const e = all.sessions[1];
  assert.equal(e.state, 'ended');
  assert.equal(e.events, 7);
  assert.equal(e.errors, 1);
  assert.equal(e.tool_calls, 3);
  assert.equal(e.source, SESSION_SRC);
  assert.equal(Date.parse(e.first_seen), NOW - 5000);
  assert.equal(Date.parse(e.last_seen), NOW - 2000);
  assert.equal(Date.parse(e.ended_at), NOW - 2000);
  assert.ok(Math.abs(e.p95_ms - 40) <= 40 * ALPHA, `p95 ${e.p95_ms}`); // lower quantile of 10,20,40,100
  assert.equal(all.sessions[0].state, 'active');
  assert.equal(all.sessions[0].p95_ms, null);
  assert.equal(all.sessions[2].state, 'idle');

  for (const [state, want] of [['active', [active]], ['ended', [ended]], ['idle', [idle]]]) {
    const r = await get(`/api/v1/sessions?source=${SESSION_SRC}&state=${state}`);
    assert.deepEqual(r.sessions.map((s) => s.session_id), want, state);
  }
  const recent = await get(`/api/v1/sessions?source=${SESSION_SRC}&since=${NOW - 10_000}`);
  assert.deepEqual(recent.sessions.map((s) => s.session_id), [active, ended]);

  const t = await get(`/api/v1/sessions/${encodeURIComponent(ended)}`);
  assert.equal(t.session.session_id, ended);
  assert.equal(t.truncated, false);
  const shape = t.timeline.map((n) => [n.depth, n.parent, n.event.type, n.event.name ?? null]);
  assert.deepEqual(shape, [
    [0, null, 'session_start', null],
    [0, null, 'tool_call', 'plan'],
    [1, 1, 'tool_call', 'read'],
    [2, 2, 'llm', 'k2'],
    [1, 1, 'tool_call', 'write'],
    [0, null, 'note', null],
    [0, null, 'session_end', null],
  ]);
  const spaced = await get(`/api/v1/sessions/${encodeURIComponent(idle)}`);
  assert.equal(spaced.session.session_id, idle);
  assert.equal(spaced.timeline.length, 1);
  const cut = await get(`/api/v1/sessions/${encodeURIComponent(ended)}?limit=3`);
  assert.equal(cut.timeline.length, 3);
  assert.equal(cut.truncated, true);
});

test('sessions: a timeline whose spans form a cycle, or repeat, still lists every event once', async () => {
  const id = uid('cycle');
  const evs = [
    { type: 'a', attrs: { span_id: 'x', parent_span_id: 'y' } },
    { type: 'b', attrs: { span_id: 'y', parent_span_id: 'x' } },
    { type: 'c', attrs: { span_id: 'z', parent_span_id: 'z' } }, // its own parent
    { type: 'd', attrs: { span_id: 'x' } }, // a repeated span id: the earliest is the parent
    { type: 'e', attrs: { parent_span_id: 'x' } },
  ].map((e, i) => ({ id: uid('cy'), session_id: id, ts: NOW - 1000 + i, ...e }));
  assert.equal((await post(d, evs)).status, 202);
  const t = await get(`/api/v1/sessions/${id}`);
  const types = t.timeline.map((n) => n.event.type);
  assert.deepEqual([...types].sort(), ['a', 'b', 'c', 'd', 'e']);
  for (const [i, n] of t.timeline.entries()) {
    if (n.parent !== null) {
      assert.ok(n.parent < i, 'a parent comes before its children');
      assert.equal(n.depth, t.timeline[n.parent].depth + 1);
    }
  }
  const e = t.timeline.find((n) => n.event.type === 'e');
  assert.equal(t.timeline[e.parent].event.type, 'a');
});

test('sessions: cursor paging visits each session once, newest first', async () => {
  const src = uid('paging');
  const ids = Array.from({ length: 7 }, (_, i) => `${src}-${i}`);
  // two share a last_seen: the cursor orders them by id
  await post(d, ids.map((id, i) => ({ type: 'request', session_id: id, source: src, ts: NOW - 60_000 + Math.min(i, 5) * 1000 })));
  const seen = [];
  let cursor = null;
  for (let page = 0; page < 10; page++) {
    const r = await get(`/api/v1/sessions?source=${src}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    seen.push(...r.sessions.map((s) => s.session_id));
    assert.ok(r.sessions.length <= 2);
    cursor = r.next_cursor;
    if (cursor === null) break;
  }
  assert.deepEqual(seen, [ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]]);
});

test('sessions: unknown session 404, bad parameters 400', async () => {
  const r = await api(d, 'GET', `/api/v1/sessions/${uid('nope')}`);
  assert.equal(r.status, 404);
  assert.equal(r.json.error.code, 'not_found');
  for (const qs of ['state=closed', 'limit=0', 'limit=1001', 'cursor=abc', 'since=yesterday', 'colour=red']) {
    const b = await api(d, 'GET', `/api/v1/sessions?${qs}`);
    assert.equal(b.status, 400, `${qs}: ${b.text}`);
    assert.equal(b.json.error.code, 'invalid_parameter');
  }
  for (const path of [`/api/v1/sessions/${'x'.repeat(129)}`, '/api/v1/sessions/a?limit=0']) {
    const b = await api(d, 'GET', path);
    assert.equal(b.status, 400, `${path}: ${b.text}`);
  }
});

// ---- /metrics ----

test('/metrics: event series pass promtool check metrics, with bounded names', async () => {
  const src = uid('prom');
  const evs = Array.from({ length: 60 }, (_, i) => ({ type: 'tool_call', source: src, name: `tool-${i}`, duration_ms: i + 1 }));
  await post(d, evs);
  await api(d, 'GET', '/metrics'); // the busiest waiting names get their places
  await post(d, evs);
  const r = await api(d, 'GET', '/metrics');
  assert.equal(r.status, 200);
  const check = spawnSync('promtool', ['check', 'metrics'], { input: r.text, encoding: 'utf8' });
  assert.equal(check.error, undefined, 'promtool runs (scripts/setup --test installs it)');
  assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
  assert.match(r.text, new RegExp(`^telltale_events_total\\{type="tool_call",source="${src}"\\} 120$`, 'm'));
  const names = new Set([...r.text.matchAll(/^telltale_event_duration_seconds_count\{name="([^"]*)"\}/gm)].map((m) => m[1]));
  assert.ok(names.size <= 21, `at most 20 names and other: ${names.size}`);
  assert.ok(names.has('other'));
});

// ---- retention ----

test('hour and day rollups outlive the events and the minute rollups', async () => {
  const store = d.store; // another daemon, with a short retention, on a fresh store
  const old = await Daemon.start({ label: 'retention', env: { TELLTALE_RETENTION: '1d', TELLTALE_ROLLUP_RETENTION: '30d' } });
  try {
    const dayAgo = Math.floor((Date.now() - 3 * 86_400_000) / 86_400_000) * 86_400_000 + 3_600_000;
    const r = await post(old, Array.from({ length: 30 }, (_, i) => ({ type: 'request', ts: dayAgo + i * 1000, duration_ms: 3 })));
    assert.equal(r.status, 202, r.text);
    await settled(old);
    // retention runs in the writer's first idle moment after a start, then once a minute:
    // a restart makes it run now
    await old.stop();
    await old.restart();
    await waitFor('the old events deleted', async () => (await api(old, 'GET', `/api/v1/events?until=${dayAgo + 60_000}`)).json.events.length === 0, { timeoutMs: 20_000 });
    const q = (bucket) => api(old, 'GET', `/api/v1/metrics?since=${dayAgo - 3_600_000}&until=${dayAgo + 3_600_000}&bucket=${bucket}`);
    await waitFor('the minute rollups deleted', async () => (await q('1m')).json.series.length === 0);
    const hour = (await q('1h')).json;
    assert.equal(hour.tier, 'hour');
    assert.equal(hour.series[0].points[0].count, 30);
    const day = await api(old, 'GET', `/api/v1/metrics?since=${dayAgo - 86_400_000}&until=${dayAgo + 86_400_000}&bucket=1d`);
    assert.equal(day.json.series[0].points.reduce((n, p) => n + p.count, 0), 30);
  } finally {
    await old.cleanup();
  }
  assert.ok(store);
});

// ---- crash ----

test('kill -9 mid-stream, restart, producers replay everything: every event counted once', async () => {
  const c = await Daemon.start({ label: 'crash' });
  try {
    const src = uid('crash');
    const events = Array.from({ length: 2000 }, (_, i) => ({
      id: uid('k'), type: 'request', source: src, session_id: `${src}-s${i % 4}`, duration_ms: 1 + (i % 50),
    }));
    // Posted in flight while the daemon is killed: some acknowledged, some not, maybe one
    // batch half-way through its transaction.
    const inflight = [];
    for (let i = 0; i < events.length; i += 100) {
      inflight.push(post(c, events.slice(i, i + 100)).catch(() => null));
      if (i === 1000) await c.kill9();
    }
    await Promise.all(inflight);
    await c.restart();
    for (let i = 0; i < events.length; i += 500) { // the producers' retry: all of it, again
      assert.equal((await post(c, events.slice(i, i + 500))).status, 202);
    }
    await settled(c);
    const m = (await api(c, 'GET', `/api/v1/metrics?source=${src}&bucket=1d&since=${Date.now() - 86_400_000}`)).json;
    assert.equal(m.series[0].points.reduce((n, p) => n + p.count, 0), events.length);
    const s = (await api(c, 'GET', `/api/v1/sessions?source=${src}`)).json.sessions;
    assert.equal(s.reduce((n, x) => n + x.events, 0), events.length);
  } finally {
    await c.cleanup();
  }
});
