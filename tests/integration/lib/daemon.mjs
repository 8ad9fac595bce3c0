// daemon.mjs -- the real `telltale serve` for integration tests: start it on port 0 against a
// temporary SQLite file, read the port from stderr, keep its stderr for failure reports,
// stop it with SIGTERM and report how it exited.
//
// The binary is $TELLTALE_BIN, default <repo>/build/telltale, so the same suite runs against a
// sanitizer build. Nothing here sleeps for a fixed time as a condition: every wait polls (or
// listens) for a condition with a deadline and fails naming what it waited for.

import { test as nodeTest } from 'node:test';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = process.env.TELLTALE_BIN || path.join(REPO, 'build', 'telltale');

// Which store the suite runs against: SQLite (a temporary file per daemon) by default, or
// PostgreSQL when TELLTALE_TEST_STORE=postgres, with TT_PG_URL naming a server on which each
// daemon gets a fresh database, migrated with `telltale migrate` (see scripts/pg-server).
export { createPgDatabase };
export const STORE_KIND = process.env.TELLTALE_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
const PG_URL = process.env.TT_PG_URL;
if (STORE_KIND === 'postgres' && !PG_URL) {
  throw new Error('TELLTALE_TEST_STORE=postgres needs TT_PG_URL (eval "$(scripts/pg-server start)")');
}
const pgDatabases = new Set();
let pgDatabaseCount = 0;

// A new, migrated database on the test server; returns its URL.
async function createPgDatabase() {
  const { default: pg } = await import('pg');
  pgDatabaseCount += 1; // taken before any await, so concurrent starts never share a name
  const name = `tt_${process.pid}_${Date.now().toString(36)}_${pgDatabaseCount}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  pgDatabases.add(name);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  const migrate = spawnSync(BIN, ['migrate', '--store', url.href], { encoding: 'utf8' });
  if (migrate.status !== 0) {
    throw new Error(`telltale migrate failed (${migrate.status}): ${migrate.stderr}`);
  }
  return url.href;
}

async function dropPgDatabase(url) {
  const { default: pg } = await import('pg');
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  pgDatabases.delete(name);
}

// Sanitizer builds start and stop more slowly: every deadline here is generous, and none of
// them is an assertion about speed.
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 20_000;
const STDERR_KEEP = 400; // lines

const tmpDirs = new Set();
const allDaemons = new Set();

// Nothing this process started may outlive it, whatever failed.
process.on('exit', () => {
  for (const d of allDaemons) {
    if (d.running) {
      try {
        process.kill(d.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  for (const dir of tmpDirs) {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A fresh temporary directory, removed by removeTmpDir() or when the process exits.
export function makeTmpDir(prefix = 'telltale-it-') {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tmpDirs.add(dir);
  return dir;
}

export function removeTmpDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tmpDirs.delete(dir);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls fn until it returns a truthy value, which it returns; throws after timeoutMs, naming
// what it waited for and the last value (or error) seen.
export async function waitFor(what, fn, { timeoutMs = 10_000, intervalMs = 20 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) {
        return last;
      }
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const seen = last instanceof Error ? last.message : JSON.stringify(last)?.slice(0, 500);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${seen})`);
    }
    await sleep(intervalMs);
  }
}

// Races a promise against a deadline.
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// One `telltale serve` process.
export class Daemon {
  lines = [];
  port = 0;
  host = '';
  #child = null;
  #exit = null;

  // Starts the daemon. opts.db: the SQLite file (default: a new one in a new temporary
  // directory); opts.args: more command-line flags; opts.env: more environment.
  // opts.store: a store URL to use as it is (e.g. a PostgreSQL database another daemon uses).
  static async start({ db, store, args = [], env = {}, label = 'telltale' } = {}) {
    const d = new Daemon();
    d.label = label;
    d.dir = db === undefined ? makeTmpDir() : null; // removed by cleanup()
    d.db = db ?? path.join(d.dir, 'events.db');
    d.ownsStore = store === undefined;
    d.store = store ?? (STORE_KIND === 'postgres' && db === undefined ? await createPgDatabase()
                                                                     : `sqlite:${d.db}`);
    d.args = args;
    d.env = env;
    await d.#spawn();
    return d;
  }

  // Starts a new process on the same SQLite file (after stop() or kill9()).
  async restart() {
    if (this.running) {
      throw new Error('restart() while the daemon still runs');
    }
    this.lines.push(`---- restart ----`);
    await this.#spawn();
    return this;
  }

  get running() {
    return this.#child !== null && this.#exit.result === null;
  }

  get pid() {
    return this.#child?.pid;
  }

  get base() {
    return `${this.scheme}://${this.host}:${this.port}`;
  }

  get wsUrl() {
    return `${this.scheme === 'https' ? 'wss' : 'ws'}://${this.host}:${this.port}/ws`;
  }

  // Sends the running daemon a signal ('SIGHUP': reread the TLS certificate).
  signal(name) {
    this.#child.kill(name);
  }

  // The headers of the operator (service_role) for a daemon started with TELLTALE_SERVICE_KEY;
  // none without keys, where every caller is service_role.
  get authHeaders() {
    const key = this.env.TELLTALE_SERVICE_KEY;
    return key ? { apikey: key } : {};
  }

  get stderr() {
    return this.lines.join('\n');
  }

  // The last n lines of stderr, for failure reports.
  tail(n = 80) {
    return this.lines.slice(-n).join('\n');
  }

  // Resolves with {code, signal} once the process has exited.
  exited() {
    return this.#exit.promise;
  }

  async #spawn() {
    // The defaults of these tests for what the test's own args do not set (serve refuses a
    // setting given twice).
    const sets = (flag) => this.args.some((a) => a === flag || a.startsWith(`${flag}=`));
    const argv = ['serve', ...(sets('--listen') ? [] : ['--listen', '127.0.0.1:0']),
                  ...(sets('--store') ? [] : ['--store', this.store]), ...this.args];
    // A spool of its own (used with a remote store), kept across restarts like the database.
    this.spoolDir ??= path.join(this.dir ?? makeTmpDir(), 'spool');
    const child = spawn(BIN, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { TELLTALE_SPOOL_DIR: this.spoolDir, ...process.env, ...this.env },
    });
    this.#child = child;
    allDaemons.add(this);
    const exit = { result: null };
    exit.promise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exit.result = { code, signal };
        resolve(exit.result);
      });
    });
    this.#exit = exit;
    const keep = (line) => {
      this.lines.push(line);
      if (this.lines.length > STDERR_KEEP) {
        this.lines.splice(0, this.lines.length - STDERR_KEEP);
      }
    };
    child.stdout.setEncoding('utf8').on('data', (s) => s.split('\n').filter(Boolean).forEach(keep));
    const listening = new Promise((resolve, reject) => {
      let pending = '';
      child.stderr.setEncoding('utf8').on('data', (s) => {
        pending += s;
        const parts = pending.split('\n');
        pending = parts.pop();
        for (const line of parts) {
          keep(line);
          const m = /listening on (https?):\/\/([^:\s]+):(\d+)/.exec(line);
          if (m) {
            resolve({ scheme: m[1], host: m[2], port: Number(m[3]) });
          }
        }
      });
      child.stderr.on('end', () => pending && keep(pending));
      child.once('error', reject);
      exit.promise.then(({ code, signal }) =>
        reject(new Error(`telltale exited (code ${code}, signal ${signal}) before listening`)));
    });
    let where;
    try {
      where = await withTimeout(listening, START_TIMEOUT_MS, 'telltale to print "listening on"');
    } catch (err) {
      if (this.running) {
        child.kill('SIGKILL');
      }
      err.message += `\n---- ${this.label} stderr ----\n${this.tail()}`;
      throw err;
    }
    this.scheme = where.scheme;
    this.host = where.host;
    this.port = where.port;
  }

  // SIGTERM, then waits for the exit. With expectClean (the default) anything but exit code 0
  // is an error -- under ASan a leak or a memory error makes the exit code non-zero.
  async stop({ expectClean = true, timeoutMs = STOP_TIMEOUT_MS } = {}) {
    const wasRunning = this.running;
    let result;
    if (wasRunning) {
      this.#child.kill('SIGTERM');
      try {
        result = await withTimeout(this.exited(), timeoutMs, `${this.label} to exit after SIGTERM`);
      } catch (err) {
        this.#child.kill('SIGKILL');
        await this.exited();
        throw new Error(`${err.message}; killed it\n---- ${this.label} stderr ----\n${this.tail()}`);
      }
    } else {
      result = await this.exited();
    }
    if (expectClean && (!wasRunning || result.code !== 0 || result.signal !== null)) {
      throw new Error(`${this.label} ${wasRunning ? 'exited after SIGTERM' : 'had already exited'} ` +
                      `with code ${result.code}, signal ${result.signal} (expected a clean exit, ` +
                      `code 0, on SIGTERM)\n---- stderr ----\n${this.tail(200)}`);
    }
    return result;
  }

  // True if the daemon runs and answers /health with 200 (a crash may not have been reaped yet).
  async alive() {
    if (!this.running) {
      return false;
    }
    try {
      return (await api(this, 'GET', '/health', { timeoutMs: 5_000 })).status === 200;
    } catch {
      return false;
    }
  }

  // For after() hooks: stops the daemon if a test left it running (SIGKILL if SIGTERM does
  // not do), and removes the temporary directory it was given. Asserts nothing.
  async cleanup() {
    if (this.running) {
      await this.stop({ expectClean: false }).catch(() => this.kill9());
    }
    if (this.dir !== null) {
      removeTmpDir(this.dir);
    }
    if (this.ownsStore && this.store.startsWith('postgres')) {
      await dropPgDatabase(this.store).catch(() => {});
    }
  }

  // kill -9: no chance to clean up.
  async kill9() {
    if (this.running) {
      this.#child.kill('SIGKILL');
    }
    return this.exited();
  }
}

// node:test's test(), with the stderr of every daemon this file started appended to the error
// of a test that fails, and a default timeout so that a hang fails instead of blocking the run.
export function test(name, optsOrFn, maybeFn) {
  const fn = typeof optsOrFn === 'function' ? optsOrFn : maybeFn;
  const opts = { timeout: 60_000, ...(typeof optsOrFn === 'object' ? optsOrFn : {}) };
  return nodeTest(name, opts, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      const logs = [...allDaemons].map((d) => `---- ${d.label} (pid ${d.pid}, ` +
        `${d.running ? 'running' : 'exited'}) stderr, last lines ----\n${d.tail(60)}`);
      if (logs.length > 0 && err && typeof err === 'object') {
        try {
          err.message = `${err.message}\n${logs.join('\n')}`;
        } catch {
          /* a frozen error: the report goes without the logs */
        }
      }
      throw err;
    }
  });
}

// ---- HTTP over fetch ------------------------------------------------------------------

// One HTTP request. body: a string or Buffer sent as is; json: a value sent as JSON. Returns
// {status, headers, text, json} (json is undefined when the body is not JSON).
export async function api(d, method, route, { json, body, headers = {}, timeoutMs = 15_000 } = {}) {
  if (method === 'GET' && route.startsWith('/api/v1/events')) {
    await settled(d);
  }
  const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(timeoutMs) };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers['content-type'] ??= 'application/json';
  } else if (body !== undefined) {
    init.body = body;
  }
  const res = await fetch(d.base + route, init);
  const text = await res.text();
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text, json: parsed };
}

// With a remote store, a 202 means "durable in the local spool"; the shipper moves events to
// the store a moment later (DESIGN §4.1). Reads of what was just written wait for that: until
// nothing is in flight and the spool is empty (at once with SQLite). A read-your-writes
// convenience for the tests, not a property the daemon promises to a reader.
export async function settled(d, { timeoutMs = 20_000 } = {}) {
  if (STORE_KIND !== 'postgres' || !d.running) {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let st;
    try {
      const res = await fetch(`${d.base}/api/v1/status`,
                              { headers: d.authHeaders, signal: AbortSignal.timeout(5_000) });
      st = await res.json();
    } catch {
      return; /* the daemon is down: let the read itself report that */
    }
    if (st.queue.inflight === 0 && (!st.spool?.enabled || st.spool.events === 0)) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`the spool did not empty in ${timeoutMs} ms: ${JSON.stringify(st.spool)}`);
    }
    await sleep(10);
  }
}

// Settled, and every stored event broadcast to /ws: nothing is on its way anywhere. (With a
// remote store the broadcast follows the shipping.) Tests that need a quiet daemon -- a new
// client that must see nothing live before its resume -- wait for this.
export async function quiescent(d, { timeoutMs = 20_000 } = {}) {
  await settled(d, { timeoutMs });
  if (STORE_KIND !== 'postgres') {
    return;
  }
  await waitFor('every stored event broadcast', async () => {
    const headers = d.authHeaders;
    const st = await (await fetch(`${d.base}/api/v1/status`, { headers })).json();
    const top = await (await fetch(`${d.base}/api/v1/events?limit=1`, { headers })).json();
    return st.websocket.last_seq >= (top.events[0]?.seq ?? 0);
  }, { timeoutMs });
}

// POSTs events (an object or an array) as JSON.
export function post(d, events, opts = {}) {
  return api(d, 'POST', '/api/v1/events', { json: events, ...opts });
}

// Every stored event, ascending by seq, by paging GET /api/v1/events?after_seq=.
export async function allEvents(d, { pageSize = 10_000, maxPages = 100 } = {}) {
  const out = [];
  let after = 0;
  for (let page = 0; page < maxPages; page++) {
    const r = await api(d, 'GET', `/api/v1/events?after_seq=${after}&limit=${pageSize}`);
    if (r.status !== 200) {
      throw new Error(`GET /api/v1/events?after_seq=${after} answered ${r.status}: ${r.text}`);
    }
    out.push(...r.json.events);
    if (r.json.events.length < pageSize) {
      return out;
    }
    after = r.json.next_after_seq;
  }
  throw new Error(`more than ${maxPages} pages of events`);
}

// A unique prefix for ids, so that tests never collide by accident.
let idCounter = 0;
export function uid(prefix = 'e') {
  idCounter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${idCounter}`;
}

// ---- what the daemon has promised -------------------------------------------------------

// The ids of every event the daemon acknowledged (202 or ack), and of events that may or may
// not be stored (sent, but the answer never came). check() asserts that the store holds every
// acknowledged event once, and nothing that was never sent.
export class Ledger {
  accepted = new Set();
  maybe = new Set();

  ack(ids) {
    for (const id of ids) {
      this.accepted.add(id);
      this.maybe.delete(id);
    }
  }

  unsure(ids) {
    for (const id of ids) {
      if (!this.accepted.has(id)) {
        this.maybe.add(id);
      }
    }
  }

  // POSTs events that must be accepted, and records them.
  async postAccepted(d, events) {
    const r = await post(d, events);
    if (r.status !== 202) {
      throw new Error(`POST of ${[].concat(events).length} valid events answered ${r.status}: ${r.text}`);
    }
    this.ack([].concat(events).map((e) => e.id));
    return r;
  }

  // Throws unless the daemon runs, /health answers 200, and the store holds exactly the
  // acknowledged events (plus, possibly, some of the unsure ones), each once.
  async check(d) {
    try {
      return await this.#check(d);
    } catch (err) {
      // A request that failed because the daemon died says so, not just "fetch failed".
      const exit = await withTimeout(d.exited(), 3_000, 'exit').catch(() => null);
      if (exit) {
        throw new Error(`the daemon died: exit code ${exit.code}, signal ${exit.signal} ` +
                        `(noticed as: ${err.message})`);
      }
      throw err;
    }
  }

  async #check(d) {
    const health = await api(d, 'GET', '/health');
    if (health.status !== 200) {
      throw new Error(`/health answered ${health.status}: ${health.text}`);
    }
    const stored = await allEvents(d);
    const ids = stored.map((e) => e.id);
    const seen = new Set();
    const dup = ids.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
    const missing = [...this.accepted].filter((id) => !seen.has(id));
    const unexpected = ids.filter((id) => !this.accepted.has(id) && !this.maybe.has(id));
    if (dup.length || missing.length || unexpected.length) {
      throw new Error(`store differs from what was acknowledged: ${missing.length} missing ` +
        `(${missing.slice(0, 5)}), ${dup.length} duplicated (${dup.slice(0, 5)}), ` +
        `${unexpected.length} never acknowledged (${unexpected.slice(0, 5)})`);
    }
    return stored;
  }
}
