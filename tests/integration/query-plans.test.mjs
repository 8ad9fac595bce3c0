// query-plans.test.mjs -- every query the API serves on SQLite has an index-backed plan
// (issue 13 item 2): the daemon runs with TELLTALE_SQLITE_TRACE, which records the text of
// every statement it runs; the test drives every read route with every filter shape (events,
// a session's timeline, sessions, metrics, /rest/v1 on the events' indexed columns), then
// asks SQLite for the plan of each recorded SELECT (`EXPLAIN QUERY PLAN`, the sqlite3 shell,
// on the daemon's own file) and fails on a full SCAN of monitoring_events.
//
// The one SCAN accepted is the walk of the table in seq order (its primary key) when nothing
// but seq and ts bounds filters it: newest-first (or from after_seq on), it stops after
// 'limit' rows of the recent past. A filter on type, source, session_id, status or name must
// SEARCH an index. The session index is a table written in batches behind a watermark
// (migrations/sqlite/0007): a read by session must SEARCH it (never SCAN it) and read the tail
// above the watermark by seq range. The checker is shown to fail: on a copy of the file whose
// session index has no key, the timeline's statement is reported. SQLite only (PostgreSQL's
// plans are the other store's suite).

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  Daemon, STORE_KIND, allEvents, api, makeTmpDir, post, removeTmpDir, test, uid,
} from './lib/daemon.mjs';

const skip = STORE_KIND !== 'sqlite' && 'SQLite only';
const TEXT_FILTERS = ['type', 'source', 'session_id', 'status', 'name'];
let d;
let dir;
let statements = [];
let stored = [];
const answers = new Map(); // route -> the seqs it answered

// Several values of a column become one UNION ALL arm per value (store_sqlite_query.c): these
// routes' answers are compared with the same filter applied to every stored event.
const ARMS = ['type=tool_call&type=request&limit=7', 'source=src-0&source=src-2&limit=9',
  'session_id=sess-1&session_id=sess-3&session_id=sess-1&limit=11',
  'status=ok&status=error&name=read&limit=5', 'name=read&name=write&after_seq=20&limit=13',
  'session_id=sess-0&session_id=sess-4&type=request&type=tool_call&limit=6',
  'source=src-1&source=src-2&status=ok&after_seq=150&limit=100'];

// The distinct SELECTs the daemon ran on the tables the API reads.
function recorded(traceFile) {
  const all = readFileSync(traceFile, 'utf8').split('\x1e\n').map((s) => s.trim());
  return [...new Set(all)].filter((s) => /^SELECT\b/i.test(s) &&
    /\b(monitoring_events|sessions|metrics_rollup|metrics_rollup_exact)\b/.test(s));
}

function plan(db, sql) {
  const r = spawnSync('sqlite3', ['-readonly', db, `EXPLAIN QUERY PLAN ${sql}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, `sqlite3 failed on ${sql}: ${r.stderr}`);
  return r.stdout;
}

// The statements among 'sqls' whose plan scans monitoring_events where it must not.
function fullScans(db, sqls) {
  const offenders = [];
  for (const sql of sqls) {
    const p = plan(db, sql);
    if (/\bSCAN (b|monitoring_events_by_session)\b/.test(p)) {
      offenders.push(`${sql}\n${p}`);
      continue;
    }
    if (!/\bSCAN monitoring_events\b/.test(p)) {
      continue;
    }
    const where = sql.split(/\bWHERE\b/i)[1] ?? '';
    const textFilter = TEXT_FILTERS.some((c) => new RegExp(`\\b${c}\\s+(IN|=)`, 'i').test(where));
    const seqWalk = /\bORDER BY "?seq"?\s/i.test(sql) && /\bLIMIT\b/i.test(sql);
    if (textFilter || !seqWalk) {
      offenders.push(`${sql}\n${p}`);
    }
  }
  return offenders;
}

before(async () => {
  if (skip) {
    return;
  }
  dir = makeTmpDir('telltale-plans-');
  const trace = path.join(dir, 'trace.sql');
  d = await Daemon.start({ env: { TELLTALE_SQLITE_TRACE: trace } });
  const now = Date.now();
  const events = [];
  for (let i = 0; i < 200; i++) {
    events.push({
      id: uid('plan'), ts: now - 60_000 + i * 100, type: ['request', 'tool_call'][i % 2],
      source: `src-${i % 3}`, session_id: `sess-${i % 5}`, name: ['read', 'write'][i % 2],
      status: i % 10 === 0 ? 'error' : 'ok', duration_ms: i,
    });
  }
  const r = await post(d, events);
  assert.equal(r.status, 202, r.text);

  const since = now - 30_000;
  const until = now + 60_000;
  const routes = [];
  for (const cursor of ['', `after_seq=3`]) {
    for (const window of ['', `since=${since}`, `until=${until}`, `since=${since}&until=${until}`]) {
      const texts = [''];
      for (const c of TEXT_FILTERS) {
        const v = { type: 'tool_call', source: 'src-1', session_id: 'sess-2', status: 'error',
          name: 'read' }[c];
        texts.push(`${c}=${v}`, `${c}=${v}&${c}=other`);
      }
      texts.push('session_id=sess-2&type=tool_call', 'type=request&source=src-0&status=ok');
      for (const t of texts) {
        routes.push(`/api/v1/events?${[cursor, window, t].filter(Boolean).join('&')}`);
      }
    }
  }
  routes.push('/api/v1/sessions/sess-2', '/api/v1/sessions/sess-2?limit=5',
    '/api/v1/sessions/none-such');
  for (const q of ['', 'source=src-1', 'state=active', 'state=idle', 'state=ended',
    `since=${since}`, `until=${until}`, 'limit=2']) {
    routes.push(`/api/v1/sessions?${q}`);
  }
  for (const q of ['', 'group_by=type', 'group_by=type,source,name', 'type=tool_call',
    'source=src-1&name=read', 'bucket=1h', 'bucket=1d&since=' + (now - 40 * 86_400_000)]) {
    routes.push(`/api/v1/metrics?${q}`);
  }
  routes.push('/rest/v1/monitoring_events?session_id=eq.sess-2&order=seq.desc&limit=10',
    '/rest/v1/monitoring_events?session_id=eq.sess-2&type=eq.tool_call&order=ts.desc&limit=10',
    '/rest/v1/monitoring_events?session_id=gt.sess-5&order=seq.desc&limit=10',
    '/rest/v1/monitoring_events?session_id=lte.sess-2&type=eq.tool_call&order=seq.asc&limit=10',
    '/rest/v1/monitoring_events?type=eq.tool_call&order=seq.asc&limit=10',
    '/rest/v1/monitoring_events?seq=gt.5&order=seq.asc&limit=10',
    '/rest/v1/monitoring_events?order=seq.desc&limit=10');
  const first = await api(d, 'GET', '/api/v1/sessions?limit=2');
  routes.push(`/api/v1/sessions?limit=2&cursor=${encodeURIComponent(first.json.next_cursor)}`);
  for (const route of routes) {
    const res = await api(d, 'GET', route);
    assert.ok(res.status === 200 || (res.status === 404 && route.endsWith('none-such')),
      `GET ${route}: ${res.status} ${res.text}`);
  }
  for (const q of ARMS) {
    const res = await api(d, 'GET', `/api/v1/events?${q}`);
    assert.equal(res.status, 200, res.text);
    answers.set(q, res.json.events.map((e) => e.seq));
  }
  stored = await allEvents(d);
  await d.stop();
  statements = recorded(trace);
});

after(async () => {
  await d?.cleanup();
  if (dir) {
    removeTmpDir(dir);
  }
});

test('the trace holds the statements of every route driven', { skip }, () => {
  const has = (re) => statements.some((s) => re.test(s));
  assert.ok(has(/FROM monitoring_events_by_session AS b CROSS JOIN monitoring_events AS e .*WHERE b\.seq <= \(SELECT seq FROM session_index_through\) AND b\.seq > \? AND b\.session_id = \? UNION ALL SELECT .* FROM monitoring_events NOT INDEXED WHERE seq > \(SELECT seq FROM session_index_through\) AND seq > \? AND session_id = \?/),
    'the timeline statement: the indexed part and the tail');
  assert.ok(has(/"seq" IN \(SELECT seq FROM monitoring_events_by_session WHERE session_id = \? AND seq <= \(SELECT seq FROM session_index_through\) UNION ALL SELECT seq FROM monitoring_events NOT INDEXED WHERE seq > \(SELECT seq FROM session_index_through\) AND session_id = \?\)/),
    'the /rest/v1 session_id=eq. statement');
  assert.ok(has(/"seq" IN \(SELECT seq FROM monitoring_events_by_session WHERE session_id > \? AND seq <= \(SELECT seq FROM session_index_through\) UNION ALL SELECT seq FROM monitoring_events NOT INDEXED WHERE seq > \(SELECT seq FROM session_index_through\) AND session_id > \?\)/),
    'the /rest/v1 session_id=gt. statement');
  for (const c of TEXT_FILTERS.filter((x) => x !== 'session_id')) {
    // Two values of one column: one arm per value (store_sqlite_query.c).
    assert.ok(has(new RegExp(`FROM monitoring_events WHERE .* AND ${c} = \\? UNION ALL `)),
      `an events statement filtering two values of ${c}`);
  }
  assert.ok(has(/FROM metrics_rollup_exact\b/), 'a metrics statement');
  assert.ok(has(/FROM sessions WHERE .*session_id < \?/), 'a sessions page after a cursor');
});

test('a metrics statement reads rollups, and the minutes not folded yet, as index ranges', { skip }, () => {
  const metrics = statements.filter((s) => /\bFROM metrics_rollup_exact\b/.test(s));
  assert.ok(metrics.length > 0, 'a metrics statement was traced');
  for (const sql of metrics) {
    const p = plan(d.db, sql);
    const uses = [...p.matchAll(/USING INDEX sqlite_autoindex_metrics_rollup_1 \(([^)]*)\)/g)].map((m) => m[1]);
    assert.equal(uses.length, 2, `both halves of the view search the key:\n${p}`);
    for (const u of uses) {
      assert.match(u, /bucket>/, `a range of buckets, not every row of a tier (${u}):\n${sql}\n${p}`);
    }
    assert.doesNotMatch(p, /\bSCAN (metrics_rollup|x)\b/, `no scan of the rollups:\n${p}`);
  }
});

test('a filter of several values answers what IN would: the rows, their order, the limit',
  { skip }, () => {
    assert.equal(stored.length, 200);
    for (const q of ARMS) {
      const p = new URLSearchParams(q);
      const after = Number(p.get('after_seq') ?? 0);
      const want = stored.filter((e) => e.seq > after && TEXT_FILTERS.every((c) =>
        p.getAll(c).length === 0 || p.getAll(c).includes(e[c])));
      if (!p.has('after_seq')) {
        want.reverse(); // newest first
      }
      const seqs = want.slice(0, Number(p.get('limit'))).map((e) => e.seq);
      assert.ok(seqs.length > 0, `the fixture has rows for ${q}`);
      assert.deepEqual(answers.get(q), seqs, q);
    }
  });

test('no query the API served scans monitoring_events', { skip }, (t) => {
  for (const s of statements) {
    t.diagnostic(`${s}\n${plan(d.db, s).trim()}`);
  }
  const offenders = fullScans(d.db, statements);
  assert.deepEqual(offenders, [], `full scans of monitoring_events:\n${offenders.join('\n')}`);
});

test('the check fails when an index the API needs is missing', { skip }, () => {
  const copy = path.join(dir, 'no-session-index.db');
  copyFileSync(d.db, copy);
  const r = spawnSync('sqlite3', [copy, 'DROP TABLE monitoring_events_by_session; ' +
    'CREATE TABLE monitoring_events_by_session (session_id TEXT NOT NULL, seq INTEGER NOT NULL)'],
  { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const offenders = fullScans(copy, statements);
  assert.ok(offenders.some((o) => /b\.session_id = \?/.test(o)),
    `without the session index's key the timeline scans: ${offenders.length} reported`);
  assert.ok(offenders.some((o) => /"seq" IN \(SELECT seq FROM monitoring_events_by_session/.test(o)),
    `without the session index's key /rest/v1 scans: ${offenders.length} reported`);
});
