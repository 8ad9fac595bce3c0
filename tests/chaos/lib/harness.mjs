// harness.mjs -- what every chaos case shares: the PostgreSQL server (which the outage case
// stops and starts again), a fresh migrated database per case, the daemon's settings, a monitor
// that samples the daemon's resident memory and /api/v1/status throughout, the comparison of
// what was acknowledged with what PostgreSQL holds (read directly, not through the daemon), the
// seeded random numbers, and the summary table.
//
// Nothing here sleeps for a fixed time as a condition: waits poll a condition with a deadline.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Daemon, REPO, sleep, waitFor } from '../../integration/lib/daemon.mjs';
import { connect, createDatabase, migrate, startPgServer, withClusterLock } from '../../pg/lib/pg.mjs';

export { Daemon, sleep, waitFor };

const PG_SERVER = path.join(REPO, 'scripts', 'pg-server');
const MiB = 1024 * 1024;

// ---- randomness ----

// The run's seed: $CHAOS_SEED, or a new one. Printed by every case that uses it.
export const SEED = process.env.CHAOS_SEED !== undefined
  ? Number(process.env.CHAOS_SEED) >>> 0
  : (Date.now() ^ (process.pid << 16)) >>> 0;

// mulberry32: a small seeded generator; returns floats in [0, 1).
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- PostgreSQL ----

let server = null;

// The suite's server: the one scripts/with-pg started (TT_PG_URL and TT_PG_DIR, as `make chaos`
// runs it), else one of its own, stopped when the process exits. Either way the suite may stop
// and start it: nothing else uses it meanwhile.
export function pgServer() {
  if (server === null) {
    const own = !(process.env.TT_PG_URL && process.env.TT_PG_DIR);
    const s = own ? startPgServer() : { url: process.env.TT_PG_URL, dir: process.env.TT_PG_DIR };
    if (own) {
      // Stopped at exit (pg.mjs); a signal exits through the same path.
      for (const sig of ['SIGINT', 'SIGTERM']) {
        process.once(sig, () => process.exit(128 + (sig === 'SIGINT' ? 2 : 15)));
      }
    }
    const port = Number(new URL(s.url).port);
    server = {
      ...s,
      port,
      down: () => execFileSync(PG_SERVER, ['down', s.dir], { stdio: 'pipe', timeout: 60_000 }),
      up: () => execFileSync(PG_SERVER, ['up', s.dir], { stdio: 'pipe', timeout: 90_000 }),
    };
  }
  return server;
}

// A fresh database migrated by the real `telltale migrate`; {name, url, query(), close()}.
export async function freshDatabase(label) {
  const srv = pgServer();
  const db = await createDatabase(srv, `chaos_${label}`);
  const r = await withClusterLock(srv, () => migrate(db.url));
  if (r.code !== 0) {
    throw new Error(`telltale migrate failed:\n${r.stderr}`);
  }
  return {
    ...db,
    // One query on a connection of its own (the server may be down between two of them).
    async query(sql, params = []) {
      const c = await connect(db.url);
      try {
        return (await c.query(sql, params)).rows;
      } finally {
        await c.end();
      }
    },
    // The store URL for a daemon reaching this database through a proxy on proxyPort.
    urlVia(proxyPort, params = '') {
      const u = new URL(db.url);
      u.port = String(proxyPort);
      return u.href + params;
    },
  };
}

// ---- the daemon ----

export const QUEUE_MAX_BYTES = 16 * MiB;
export const MAX_INFLIGHT_BODIES = 16 * MiB;
// The documented bound on the daemon's resident memory.
export const RSS_BOUND = 48 * MiB + QUEUE_MAX_BYTES + MAX_INFLIGHT_BODIES;

// Settings that make faults play out in seconds rather than minutes; a case adds its own.
export const FAST_ARGS = [
  '--breaker-open-ms', '500',
  '--retry-base-ms', '20',
  '--retry-cap-ms', '200',
  '--flush-ms', '2',
  '--shutdown-timeout', '10s',
  '--queue-max-bytes', String(QUEUE_MAX_BYTES),
  '--max-inflight-bodies', String(MAX_INFLIGHT_BODIES),
];

// FAST_ARGS with a case's own settings in place of the ones it names (serve refuses a setting
// given twice): flags as '--name', 'value' pairs or '--name=value'.
export function argsWith(extra) {
  const name = (a) => a.split('=')[0];
  const named = new Set(extra.filter((a) => a.startsWith('--')).map(name));
  const base = [];
  for (let i = 0; i < FAST_ARGS.length; i += 2) {
    if (!named.has(name(FAST_ARGS[i]))) {
      base.push(FAST_ARGS[i], FAST_ARGS[i + 1]);
    }
  }
  return [...base, ...extra];
}

export async function status(d, timeoutMs = 5_000) {
  try {
    const res = await fetch(`${d.base}/api/v1/status`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.status === 200 ? await res.json() : null;
  } catch {
    return null;
  }
}

// Waits until nothing acknowledged is left on its way to PostgreSQL: nothing in the queue, the
// spool empty, the shipper not waiting for the store. Returns that status.
export async function drained(d, what, timeoutMs = 60_000) {
  return waitFor(`${what}: the spool backlog drained to 0`, async () => {
    const st = await status(d);
    return st && st.queue.inflight === 0 && st.spool.enabled && st.spool.events === 0 &&
      !st.spool.waiting_for_store ? st : false;
  }, { timeoutMs, intervalMs: 100 });
}

function procStatusKiB(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // exited
  }
}

// Samples the daemon's VmRSS (and its own high-water mark, VmHWM, which catches peaks between
// samples) and /api/v1/status while a case runs; follows restarts, as it reads d.pid each time.
export class Monitor {
  peakRss = 0; // bytes, over every process of the case
  rssSamples = 0;
  breakerStates = new Set();
  maxSpoolEvents = 0;
  statusFailures = 0;
  #timers = [];

  constructor(d) {
    this.d = d;
  }

  start() {
    const rss = setInterval(() => {
      if (!this.d.running) {
        return;
      }
      const kib = Math.max(procStatusKiB(this.d.pid, 'VmRSS'), procStatusKiB(this.d.pid, 'VmHWM'));
      this.rssSamples += 1;
      this.peakRss = Math.max(this.peakRss, kib * 1024);
    }, 50);
    let busy = false;
    const st = setInterval(async () => {
      if (busy || !this.d.running) {
        return;
      }
      busy = true;
      const s = await status(this.d, 2_000);
      busy = false;
      if (s === null) {
        this.statusFailures += 1;
        return;
      }
      this.breakerStates.add(s.breaker?.state);
      this.maxSpoolEvents = Math.max(this.maxSpoolEvents, s.spool?.events ?? 0);
    }, 200);
    rss.unref();
    st.unref();
    this.#timers.push(rss, st);
    return this;
  }

  // A last memory reading (the high-water mark of the process that runs now), then stop.
  stop() {
    if (this.d.running) {
      const kib = Math.max(procStatusKiB(this.d.pid, 'VmRSS'), procStatusKiB(this.d.pid, 'VmHWM'));
      this.peakRss = Math.max(this.peakRss, kib * 1024);
    }
    for (const t of this.#timers) {
      clearInterval(t);
    }
  }

  // Before a process of the case is killed or stopped: its high-water mark, while it exists.
  sample() {
    if (this.d.running) {
      const kib = procStatusKiB(this.d.pid, 'VmHWM');
      this.peakRss = Math.max(this.peakRss, kib * 1024);
    }
  }
}

// ---- what was promised against what is stored ----

// Compares a Ledger with the ids PostgreSQL holds (one entry per row). Pure, so that the checks
// themselves can be shown to fail (see the first test of the suite).
export function compare(ledger, storedIds) {
  const count = new Map();
  for (const id of storedIds) {
    count.set(id, (count.get(id) ?? 0) + 1);
  }
  const lost = [...ledger.accepted].filter((id) => !count.has(id));
  const duplicated = [...count].filter(([, n]) => n > 1).map(([id]) => id);
  const unsent = [...count.keys()].filter((id) => !ledger.accepted.has(id) && !ledger.maybe.has(id));
  return {
    acked: ledger.accepted.size,
    unsure: ledger.maybe.size,
    stored: storedIds.length,
    lost,
    duplicated,
    unsent,
  };
}

// Every row of the case's events, read directly from PostgreSQL.
export async function storedIds(db) {
  return (await db.query('SELECT id FROM monitoring.monitoring_events')).map((r) => r.id);
}

// What a failed comparison says: counts and a few ids of each kind.
export function describe(c) {
  return `${c.lost.length} acknowledged events lost (${c.lost.slice(0, 5).join(', ')}), ` +
    `${c.duplicated.length} duplicated (${c.duplicated.slice(0, 5).join(', ')}), ` +
    `${c.unsent.length} stored that were never sent (${c.unsent.slice(0, 5).join(', ')})`;
}

// ---- the table ----

export const rows = [];

// One row per case, filled in as far as the case got.
export function row(name) {
  const r = { case: name, acked: '-', stored: '-', lost: '-', dup: '-', unsent: '-',
              opened: '-', closedAfter: '-', drained: '-', rss: '-', dlq: '-', seed: '-',
              note: '' };
  rows.push(r);
  return r;
}

export function mib(bytes) {
  return (bytes / MiB).toFixed(1);
}

export function printTable() {
  const cols = [
    ['case', 'case'], ['acked', 'acknowledged'], ['stored', 'stored'], ['lost', 'lost'],
    ['dup', 'duplicated'], ['unsent', 'never sent'], ['opened', 'breaker opened'],
    ['closedAfter', 'closed after'], ['drained', 'backlog drained'],
    ['rss', 'peak RSS MiB / bound'], ['dlq', 'DLQ items'], ['seed', 'seed'], ['note', 'note'],
  ];
  const cells = rows.map((r) => cols.map(([k]) => String(r[k])));
  const widths = cols.map(([, h], i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (vals) => `| ${vals.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  const out = [
    '',
    `chaos suite summary (seed ${SEED}; rerun with CHAOS_SEED=${SEED})`,
    line(cols.map(([, h]) => h)),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...cells.map(line),
    '',
  ];
  console.log(out.join('\n'));
}
