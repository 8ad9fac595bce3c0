// bench/sqlite/pages.mjs -- WAL pages written per committed event on SQLite, by physical design,
// number of concurrent sessions and commit size (issue 13 item 2, "measure first").
//
//   node bench/sqlite/pages.mjs [--events N] [--sessions 1,100,1000,10000]
//       [--commits 5000,20000] [--variants before,percommit,after,sliced,none] [--cache KIB]
//       [--pagesize B] [--batch N] [--slice N]
//
// Each run makes a fresh file with every migration in migrations/sqlite, the daemon's pragmas
// (WAL, synchronous=FULL) and wal_autocheckpoint=0, so that the WAL keeps every frame the
// commits wrote; then N events (the peers bench's shape: 4 types, 5 sources, S sessions drawn
// at random, ts increasing, time-ordered ids) are inserted in commits of B events through the
// sqlite3 shell, each commit also upserting the sessions rows it touches, as the persister
// does. Reported: WAL frames (pages of --pagesize bytes) per event and WAL bytes per event.
// Variants: after = the schema as migrated (every file of migrations/sqlite): since 0007 the
// session index is the table monitoring_events_by_session, written as the persister does
// (store_sqlite.c) once --batch events (default 50,000, SESSION_INDEX_BATCH_EVENTS) are above
// the watermark, in one sorted INSERT, and once more at the end; percommit = the session index
// of migration 0006 (monitoring_events_session, written with every commit); sliced = after as
// the persister writes it since the batches went into slices (store_sqlite_index.c): after
// each commit one transaction stages the commit's events into a TEMP table sorted by
// (session_id, seq) (the daemon keeps its stage in memory, by session, and takes the sessions
// in the order first seen, not by id: the same pages, each session's entries in one slice or
// two) and, while a batch of --batch staged events is being written, writes the
// next commit + --slice (default 2,000) of its entries in that order (twice --slice per slice
// for the rest at the end, as when idle); before = the
// events indexes as migration 0005 left them ((session_id, ts), (type, ts), no source, status,
// name); none = after with the batches never written (a floor, not a usable schema).
// Deterministic (counts, not timings): the same numbers every run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { isGiven, parseOptions, refuse } from '../lib/options.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// --cache is SQLite's cache_size: pages, or KiB when negative (the default, 256 MiB).
const o = parseOptions(process.argv.slice(2), {
  events: { int: [1, 100_000_000], def: 500000 },
  sessions: { ints: [1, 100_000_000], def: '1,100,1000,10000' },
  commits: { ints: [1, 100_000_000], def: '5000,20000' },
  variants: { choices: ['before', 'percommit', 'after', 'sliced', 'none'], def: 'before,percommit,after,none' },
  cache: { text: true, def: '-262144' },
  pagesize: { choice: ['512', '1024', '2048', '4096', '8192', '16384', '32768', '65536'], def: '4096' },
  batch: { int: [1, 100_000_000], def: 50000 },
  slice: { int: [1, 100_000_000], def: 2000 },
}, 'WAL pages and bytes written per committed event on SQLite, by physical design (counts)');
if (!/^-?\d+$/.test(o.cache)) refuse(`--cache takes an integer (pages, or -KiB), not '${o.cache}'`);
// Options only some variants read: given without them, they would change nothing.
const reads = { '--batch': ['after', 'sliced'], '--slice': ['sliced'] };
for (const [flag, by] of Object.entries(reads)) {
  if (isGiven(process.argv, flag) && !o.variants.some((v) => by.includes(v))) {
    refuse(`${flag} needs --variants with ${by.join(' or ')} (without it, it does nothing)`);
  }
}

const dir = path.join(REPO, 'migrations', 'sqlite');
const migrations = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()
  .map((f) => readFileSync(path.join(dir, f), 'utf8'));
const NEW_INDEXES = ['monitoring_events_type',
  'monitoring_events_source', 'monitoring_events_status', 'monitoring_events_name'];
const BATCHED = 'DROP TABLE monitoring_events_by_session;';
const VARIANT = {
  after: '',
  percommit: BATCHED + 'CREATE INDEX monitoring_events_session ON monitoring_events (session_id);',
  before: BATCHED + NEW_INDEXES.map((i) => `DROP INDEX ${i};`).join('') +
    'CREATE INDEX monitoring_events_session_ts ON monitoring_events (session_id, ts);' +
    'CREATE INDEX monitoring_events_type_ts ON monitoring_events (type, ts);',
  sliced: 'CREATE TEMP TABLE st0 (session_id TEXT NOT NULL, seq INTEGER NOT NULL, ' +
    'PRIMARY KEY (session_id, seq)) WITHOUT ROWID; CREATE TEMP TABLE st1 (session_id TEXT NOT NULL, ' +
    'seq INTEGER NOT NULL, PRIMARY KEY (session_id, seq)) WITHOUT ROWID;',
  none: '',
};
// The persister's batch of the session index (store_sqlite.c, sqlite_index_sessions).
const INDEX_BATCH = `BEGIN IMMEDIATE;
INSERT INTO monitoring_events_by_session (session_id, seq)
SELECT session_id, seq FROM monitoring_events WHERE seq > (SELECT seq FROM session_index_through)
  AND session_id IS NOT NULL ORDER BY session_id, seq;
UPDATE session_index_through SET seq = max(seq, (SELECT coalesce(max(seq), 0) FROM monitoring_events));
COMMIT;
`;

// The persister's slices (store_sqlite_index.c) for a fresh file, where event i has seq i + 1.
// The cursor is an offset here: the same entries per slice as the daemon's (session_id, seq).
function slicer() {
  const st = { staged: 0, rows: 0, filling: 0, draining: false, through: 0, done: 0 };
  return (newest, budget, finish) => {
    let sql = 'BEGIN IMMEDIATE;\n';
    if (newest > st.staged) {
      sql += `INSERT INTO temp.st${st.filling} SELECT session_id, seq FROM monitoring_events ` +
        `WHERE seq > ${st.staged} AND seq <= ${newest} AND session_id IS NOT NULL;\n`;
      st.rows += newest - st.staged;
      st.staged = newest;
    }
    if (!st.draining && (st.rows >= Number(o.batch) || (finish && st.rows > 0))) {
      Object.assign(st, { draining: true, filling: 1 - st.filling, through: st.staged, rows: 0,
        done: 0, total: st.rows });
    }
    if (st.draining) {
      const t = 1 - st.filling;
      sql += `INSERT OR IGNORE INTO monitoring_events_by_session SELECT session_id, seq FROM temp.st${t} ` +
        `ORDER BY session_id, seq LIMIT ${budget} OFFSET ${st.done};\n`;
      st.done += budget;
      if (st.done >= st.total) {
        sql += `UPDATE session_index_through SET seq = ${st.through}; DELETE FROM temp.st${t};\n`;
        st.draining = false;
      }
    }
    return { sql: sql + 'COMMIT;\n', more: st.draining || st.rows > 0 };
  };
}

// One commit: B events generated in SQL (deterministic: a multiplicative hash of the event's
// number picks type, source, session), then the sessions upsert for the sessions it touched.
function commitSql(from, count, sessions) {
  const h = (k) => `((i * 2654435761 + ${k}) % 4294967296)`;
  return `BEGIN IMMEDIATE;
CREATE TEMP TABLE IF NOT EXISTS b (i INTEGER PRIMARY KEY, s TEXT);
DELETE FROM b;
WITH RECURSIVE c(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM c WHERE i < ${from + count - 1})
INSERT INTO b SELECT i, 'sess-' || (${h(7)} % ${sessions}) FROM c;
INSERT INTO monitoring_events (id, ts, received_at, type, source, session_id, name, status,
  duration_ms, bytes)
SELECT printf('%012x-%08x', 1793491200000 + i / 10, i), 1793491200000 + i / 10, 1793491200000 + i / 10,
  json_extract('["request","tool_call","connection","metric"]', '$[' || (${h(1)} % 4) || ']'),
  json_extract('["gateway","mcp-files","mcp-search","agent","websocket"]', '$[' || (${h(2)} % 5) || ']'),
  s, 'read_file', CASE WHEN ${h(3)} % 50 = 0 THEN 'error' ELSE 'ok' END, (${h(4)} % 5000) / 10.0,
  ${h(5)} % 4096
FROM b ORDER BY i;
INSERT INTO sessions (session_id, source, first_seen, last_seen, events)
SELECT s, 'agent', min(1793491200000 + i / 10), max(1793491200000 + i / 10), count(*) FROM b GROUP BY s
ON CONFLICT (session_id) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen),
  events = events + excluded.events;
COMMIT;
`;
}

let slice;
function slicedSql() {
  let sql = '';
  for (let r = { more: true }; r.more;) {
    r = slice(Number(o.events), 2 * Number(o.slice), true);
    sql += r.sql;
  }
  return sql;
}

function run(variant, sessions, commit) {
  slice = slicer();
  const tmp = mkdtempSync(path.join(tmpdir(), 'tt-pages-'));
  const db = path.join(tmp, 'e.db');
  let sql = `PRAGMA page_size=${o.pagesize};` + 'PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0;\n' +
    `PRAGMA cache_size=${o.cache};\n` + migrations.join('\n') + VARIANT[variant] + '\n';
  const n = Number(o.events);
  let unindexed = 0;
  for (let i = 0; i < n; i += commit) {
    sql += commitSql(i, Math.min(commit, n - i), sessions);
    if (variant === 'sliced') sql += slice(Math.min(n, i + commit), commit + Number(o.slice), false).sql;
    unindexed += Math.min(commit, n - i);
    if (variant === 'after' && unindexed >= Number(o.batch)) {
      sql += INDEX_BATCH;
      unindexed = 0;
    }
  }
  if (variant === 'after' && unindexed > 0) sql += INDEX_BATCH;
  if (variant === 'sliced') sql += slicedSql();
  // The shell must not checkpoint at exit: count the WAL before it closes.
  sql += `.shell stat -c %s ${db}-wal > ${tmp}/walsize\n`;
  const r = spawnSync('sqlite3', [db], { input: sql, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr);
  const wal = Number(readFileSync(path.join(tmp, 'walsize'), 'utf8'));
  const frames = (wal - 32) / (Number(o.pagesize) + 24);
  rmSync(tmp, { recursive: true, force: true });
  return { frames, perEvent: frames / n, bytesPerEvent: wal / n };
}

console.log('variant   sessions  commit  WAL pages/event  WAL bytes/event');
for (const v of o.variants) {
  for (const s of o.sessions) {
    for (const c of o.commits) {
      const r = run(v, s, c);
      console.log(`${v.padEnd(9)} ${String(s).padStart(8)} ${String(c).padStart(7)}  ` +
        `${r.perEvent.toFixed(4).padStart(15)}  ${r.bytesPerEvent.toFixed(0).padStart(15)}`);
    }
  }
}
