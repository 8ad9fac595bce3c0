// bench/peers/ingest.mjs -- telltale's ingest against InfluxDB 1.6 and raw SQLite, side by side
// in one invocation, with the same events and the same load generator.
//
//   node bench/peers/ingest.mjs [--events N] [--sessions S] [--batch B] [--connections C]
//       [--rounds R] [--ids supplied|server] [--influx-session tag|field] [--peers influx,sqlite]
//       [--bin PATH] [--bin-before PATH] [--telltale-args "ARGS"] [--probe-gap-ms G]
//       [--probe post|health] [--ts fixed|live]
//
// (--peers none: telltale alone, e.g. with --bin-before. Every value is checked before anything
// starts: a count out of its bounds or a value not listed here exits 2 with what is allowed.)
//
// What is measured: N events (time-ordered `ts`, 4 types, 5 sources, S concurrent sessions,
// interleaved as a fleet would send them) are built into request bodies before any clock
// starts, then sent in a closed loop -- C keep-alive connections, each posting its next body
// once the previous one is answered -- and the rate is N / (last answer - first send).
//
// Event times: --ts fixed (the default) starts them at 2026-11-01, the same every run (to the
// rollups a backfill: every minute long closed, so telltale adds each event to its minute,
// hour and day row at once); --ts live starts them at the clock when the bodies are built, as a
// live fleet's (minute rows only; hours and days folded from closed minutes, DESIGN §3).
//
// - telltale: `telltale serve` on a fresh SQLite file each round, NDJSON bodies to
//   POST /api/v1/events; a body counts at its 202, i.e. once fsynced (synchronous=FULL).
// - InfluxDB 1.6 (Debian's `influxdb`): a throwaway data directory on this machine, WAL
//   fsynced on every write (`wal-fsync-delay = "0s"`), line protocol to POST /write; a body
//   counts at its 204. `session_id` is a tag by default (so a session's points are indexed, as
//   telltale indexes them), `--influx-session field` makes it a plain field.
// - raw SQLite: the same rows through the sqlite3 shell in one transaction into a fresh file
//   with telltale's schema (every migration) and pragmas: the limit of the storage engine.
//
// - telltale-before (with --bin-before): a second telltale binary (e.g. built from the commit
//   before a change), run the same way in the same rounds, for a before/after ratio.
//
// - with --probe-gap-ms G: while telltale is loaded, a lone client in a process of its own
//   (bench/lib/probe.mjs) sends one request at a time, G ms apart -- a 1-event POST (--probe
//   post, the default: it waits for its commit) or GET /health (--probe health: answered by
//   the loop at once) -- and its latencies' p50 and p99 are printed: what a small request
//   waits behind large bodies being ingested.
//
// Rounds alternate the systems so that all see the same noise; medians and the ratios
// telltale / peer are printed. A benchmark, not a test: nothing is asserted.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { isGiven, parseOptions, refuse } from '../lib/options.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const SPEC = {
  events: { int: [1, 100_000_000], def: 1_000_000 },
  sessions: { int: [1, 1_000_000], def: 1000 },
  batch: { int: [1, 100_000], def: 5000 }, // at most telltale's --max-events limit
  connections: { int: [1, 256], def: 4 },
  rounds: { int: [1, 100], def: 3 },
  ids: { choice: ['supplied', 'server'], def: 'supplied' },
  influxSession: { choice: ['tag', 'field'], def: 'tag' },
  peers: { choices: ['influx', 'sqlite', 'none'], def: 'influx,sqlite' },
  bin: { bin: true, def: path.join(REPO, 'build', 'telltale') },
  binBefore: { bin: true, def: '' },
  telltaleArgs: { text: true, def: '' },
  // No probe unless --probe-gap-ms is given (0 is refused: it would mean none). --probe needs
  // it rather than a default gap: the gap sets the probe's own load on the daemon, which a
  // recorded run states (BENCHMARKS.md).
  probeGapMs: { int: [1, 60_000], def: undefined },
  probe: { choice: ['post', 'health'], def: 'post', needs: 'probeGapMs' },
  ts: { choice: ['fixed', 'live'], def: 'fixed' },
};

function parseArgs(argv) {
  const o = parseOptions(argv.slice(2), SPEC,
    "telltale's ingest (events/s) against InfluxDB 1.6 and raw SQLite, same events, same load");
  if (isGiven(argv, '--influx-session') && !o.peers.includes('influx')) {
    refuse('--influx-session needs influx in --peers (without it, it does nothing)');
  }
  o.peers = o.peers.filter((p) => p !== 'none');
  return o;
}

// ---- the events: a deterministic fleet ----

function prng(seed) { // mulberry32: the same events every run
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES = ['request', 'tool_call', 'connection', 'metric'];
const SOURCES = ['gateway', 'mcp-files', 'mcp-search', 'agent', 'websocket'];
const NAMES = ['/login', '/events', 'read_file', 'search', 'list_tools', 'chat', 'embed', 'ping'];

function buildEvents(o) {
  const rnd = prng(42);
  const t0 = o.ts === 'live' ? Date.now() : Date.UTC(2026, 10, 1);
  const events = new Array(o.events);
  for (let i = 0; i < o.events; i++) {
    const ts = t0 + Math.floor(i / 10); // 10 events per millisecond, increasing
    const ev = {
      ts,
      type: TYPES[Math.floor(rnd() * TYPES.length)],
      source: SOURCES[Math.floor(rnd() * SOURCES.length)],
      session_id: `sess-${Math.floor(rnd() * o.sessions)}`,
      name: NAMES[Math.floor(rnd() * NAMES.length)],
      status: rnd() < 0.02 ? 'error' : 'ok',
      duration_ms: Math.round(rnd() * 5000) / 10,
      bytes: Math.floor(rnd() * 4096),
    };
    if (o.ids === 'supplied') { // time-ordered, as a UUIDv7 is
      ev.id = `${ts.toString(16).padStart(12, '0')}-${i.toString(16).padStart(8, '0')}`;
    }
    events[i] = ev;
  }
  return events;
}

function ndjsonBodies(events, batch) {
  const bodies = [];
  for (let i = 0; i < events.length; i += batch) {
    const lines = events.slice(i, i + batch).map((e) => JSON.stringify(e));
    bodies.push({ data: Buffer.from(lines.join('\n') + '\n'), count: lines.length });
  }
  return bodies;
}

const esc = (s) => s.replace(/[ ,=\\]/g, (c) => `\\${c}`);
const str = (s) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;

function lineProtocolBodies(events, batch, sessionAs, ids) {
  const bodies = [];
  for (let i = 0; i < events.length; i += batch) {
    const lines = events.slice(i, i + batch).map((e) => {
      let tags = `events,type=${esc(e.type)},source=${esc(e.source)}`;
      let fields = `name=${str(e.name)},status=${str(e.status)},duration_ms=${e.duration_ms},bytes=${e.bytes}i`;
      if (sessionAs === 'tag') tags += `,session_id=${esc(e.session_id)}`;
      else fields += `,session_id=${str(e.session_id)}`;
      if (ids === 'supplied') fields += `,id=${str(e.id)}`;
      return `${tags} ${fields} ${e.ts}`;
    });
    bodies.push({ data: Buffer.from(lines.join('\n') + '\n'), count: lines.length });
  }
  return bodies;
}

// ---- the load generator: a closed loop over C keep-alive connections ----

function post(agent, port, pathAndQuery, contentType, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, path: pathAndQuery, method: 'POST', agent,
      headers: { 'Content-Type': contentType, 'Content-Length': body.length },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function closedLoop(port, pathAndQuery, contentType, bodies, connections, okStatus) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  let next = 0;
  let events = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const b = bodies[next++];
      const res = await post(agent, port, pathAndQuery, contentType, b.data);
      if (res.status !== okStatus) {
        throw new Error(`${pathAndQuery}: status ${res.status}: ${res.body.slice(0, 300)}`);
      }
      events += b.count;
    }
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: connections }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  agent.destroy();
  return events / seconds;
}

// ---- the systems ----

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Waits for fn() to be true; gives up after timeoutMs, or at once when 'child' (if given) has
// failed to start or exited, with what it said on stderr ('log()').
async function waitFor(what, fn, timeoutMs = 30_000, child = null, log = () => '') {
  const deadline = Date.now() + timeoutMs;
  let ended = null;
  child?.once('error', (err) => { ended = err.message; });
  child?.once('exit', (code, signal) => { ended = `exited (${signal ?? code})`; });
  for (;;) {
    try {
      if (await fn()) return;
    } catch { /* not yet */ }
    if (ended !== null || Date.now() > deadline) {
      const why = ended ?? 'timed out';
      const err = new Error(`waiting for ${what}: ${why}${log() ? `; it said:\n${log().trim()}` : ''}`);
      err.code = 'ESTART'; // said as it is, without a stack
      throw err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

// The lone producer of --probe-gap-ms, started; stop() ends it and resolves to its figures.
function startProbe(port, gapMs, what) {
  const child = spawn(process.execPath, [path.join(REPO, 'bench/lib/probe.mjs'), '--port',
    String(port), '--gap-ms', String(gapMs), '--what', what], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    async stop() {
      child.stdin.end();
      await exited;
      return JSON.parse(out);
    },
  };
}

// One round of telltale: its rate, and with --probe-gap-ms the probe's figures.
async function telltaleRound(o, bodies, dir, bin = o.bin) {
  const db = path.join(dir, `telltale-${Date.now()}.db`);
  const maxBody = Math.max(...bodies.map((b) => b.data.length)) + 1024;
  const child = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--store', `sqlite:${db}`,
    '--max-body', String(maxBody), '--max-events', String(o.batch),
    '--queue-max', String(Math.max(100_000, o.batch * o.connections * 2)),
    ...o.telltaleArgs.split(' ').filter(Boolean)],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((r) => { child.once('close', r); child.once('error', r); });
  let probe = null;
  try {
    await waitFor(`${bin} to listen`, () => /listening on http:\/\/[^:]+:(\d+)/.test(log), 30_000,
      child, () => log);
    const port = Number(log.match(/listening on http:\/\/[^:]+:(\d+)/)[1]);
    probe = o.probeGapMs > 0 ? startProbe(port, o.probeGapMs, o.probe) : null;
    const rate = await closedLoop(port, '/api/v1/events', 'application/x-ndjson', bodies,
      o.connections, 202);
    return { rate, probe: await probe?.stop() };
  } finally {
    child.kill('SIGTERM');
    await exited;
    for (const f of readdirSync(dir)) if (f.startsWith(path.basename(db))) rmSync(path.join(dir, f));
  }
}

async function startInflux(dir) {
  const port = await freePort();
  const rpc = await freePort();
  const conf = path.join(dir, 'influxdb.conf');
  writeFileSync(conf, `reporting-disabled = true
bind-address = "127.0.0.1:${rpc}"
[meta]
  dir = "${dir}/influx/meta"
  logging-enabled = false
[data]
  dir = "${dir}/influx/data"
  wal-dir = "${dir}/influx/wal"
  wal-fsync-delay = "0s"
  query-log-enabled = false
  trace-logging-enabled = false
[http]
  bind-address = "127.0.0.1:${port}"
  log-enabled = false
  max-body-size = 0
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
`);
  const child = spawn('influxd', ['-config', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log = (log + d).slice(-4000); });
  try {
    await waitFor('influxd to answer /ping (installed by scripts/setup --bench)', async () =>
      (await fetch(`http://127.0.0.1:${port}/ping`)).status === 204, 30_000, child, () => log);
  } catch (err) {
    child.kill('SIGTERM');
    throw err;
  }
  return { child, port };
}

async function influxQuery(port, q) {
  const res = await fetch(`http://127.0.0.1:${port}/query?q=${encodeURIComponent(q)}`, { method: 'POST' });
  if (res.status !== 200) throw new Error(`influx ${q}: ${res.status}`);
}

// A new database each round: InfluxDB 1.6 drops a database's shards asynchronously, and
// writing into one re-created under the same name can meet "shard not found".
async function influxRound(o, influx, bodies, round) {
  const db = `bench_${round}`;
  await influxQuery(influx.port, `CREATE DATABASE ${db}`);
  const rate = await closedLoop(influx.port, `/write?db=${db}&precision=ms`, 'text/plain', bodies,
    o.connections, 204);
  await influxQuery(influx.port, `DROP DATABASE ${db}`);
  return rate;
}

function schemaSql() {
  const dir = path.join(REPO, 'migrations', 'sqlite');
  return readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()
    .map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n');
}

const sqlText = (v) => (v === undefined ? 'NULL' : typeof v === 'number' ? String(v)
  : `'${String(v).replace(/'/g, "''")}'`);

// The same rows as one transaction of multi-row INSERTs, written before the clock starts.
function rawSqliteScript(events, dir) {
  const file = path.join(dir, 'rows.sql');
  const parts = ['BEGIN;'];
  for (let i = 0; i < events.length; i += 500) {
    const rows = events.slice(i, i + 500).map((e, k) => `(${sqlText(e.id ?? `srv-${i + k}`)},${e.ts},${e.ts},` +
      `${sqlText(e.type)},${sqlText(e.source)},${sqlText(e.session_id)},${sqlText(e.name)},` +
      `${sqlText(e.status)},${e.duration_ms},${e.bytes})`);
    parts.push('INSERT INTO monitoring_events (id, ts, received_at, type, source, session_id, name, ' +
      `status, duration_ms, bytes) VALUES ${rows.join(',')};`);
  }
  parts.push('COMMIT;');
  writeFileSync(file, parts.join('\n'));
  return file;
}

function rawSqliteRound(events, script, dir) {
  const db = path.join(dir, `raw-${Date.now()}.db`);
  const setup = spawnSync('sqlite3', [db], {
    input: `PRAGMA journal_mode=WAL;\n${schemaSql()}`, encoding: 'utf8',
  });
  if (setup.status !== 0) throw new Error(`sqlite3 schema: ${setup.stderr}`);
  const start = process.hrtime.bigint();
  const run = spawnSync('sqlite3', ['-cmd', 'PRAGMA synchronous=FULL', '-cmd',
    'PRAGMA cache_size=-32768', db, `.read ${script}`], // telltale's writer's (--sqlite-cache)
    { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (run.status !== 0) throw new Error(`sqlite3 insert: ${run.stderr}`);
  for (const f of readdirSync(dir)) if (f.startsWith(path.basename(db))) rmSync(path.join(dir, f));
  return events.length / seconds;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => Math.round(x).toLocaleString('en-US');

async function main() {
  const o = parseArgs(process.argv);
  console.log(`# ${o.events} events, ${o.sessions} sessions, batches of ${o.batch} over ` +
    `${o.connections} connections, ids ${o.ids}, ts ${o.ts}, ${o.rounds} ` +
    `round${o.rounds === 1 ? '' : 's'}; ${cpus().length}× ${cpus()[0].model.trim()}; ` +
    `${new Date().toISOString()}`);
  const events = buildEvents(o);
  const tt = ndjsonBodies(events, o.batch);
  const influxBodies = o.peers.includes('influx')
    ? lineProtocolBodies(events, o.batch, o.influxSession, o.ids) : null;
  const dir = mkdtempSync(path.join(tmpdir(), 'telltale-peers-'));
  let influx = null;
  const rates = { telltale: [], before: [], influx: [], sqlite: [] };
  const probes = { telltale: [], before: [] };
  const telltale = async (which, bin) => {
    const { rate, probe } = await telltaleRound(o, tt, dir, bin);
    rates[which].push(rate);
    if (probe) {
      probes[which].push(probe);
      console.log(`  ${which} probe: ${probe.n} answers, p50 ${probe.p50} ms, p99 ${probe.p99} ms, ` +
        `max ${probe.max} ms, ${probe.errors} errors`);
    }
  };
  try {
    const script = o.peers.includes('sqlite') ? rawSqliteScript(events, dir) : null;
    influx = influxBodies ? await startInflux(dir) : null;
    for (let r = 1; r <= o.rounds; r++) {
      await telltale('telltale', o.bin);
      if (o.binBefore) await telltale('before', o.binBefore);
      if (influx) rates.influx.push(await influxRound(o, influx, influxBodies, r));
      if (script) rates.sqlite.push(rawSqliteRound(events, script, dir));
      console.log(`round ${r}: ` + Object.entries(rates).filter(([, v]) => v.length)
        .map(([k, v]) => `${k} ${fmt(v[v.length - 1])}/s`).join(', '));
    }
  } finally {
    if (influx) {
      const gone = new Promise((r) => influx.child.once('close', r));
      influx.child.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  }
  const t = median(rates.telltale);
  console.log(`median: telltale ${fmt(t)} events/s`);
  if (rates.influx.length) {
    console.log(`median: InfluxDB ${fmt(median(rates.influx))} points/s; telltale/InfluxDB ` +
      `${(t / median(rates.influx)).toFixed(2)} (per round: ` +
      `${rates.telltale.map((x, i) => (x / rates.influx[i]).toFixed(2)).join(', ')})`);
  }
  if (rates.before.length) {
    const b = median(rates.before);
    console.log(`median: telltale-before ${fmt(b)} events/s; telltale/telltale-before ` +
      `${(t / b).toFixed(2)}` + (rates.influx.length
      ? `; telltale-before/InfluxDB ${(b / median(rates.influx)).toFixed(2)}` : ''));
  }
  if (probes.telltale.length) {
    const p99 = (which) => median(probes[which].map((p) => p.p99));
    console.log(`median probe p99: telltale ${p99('telltale')} ms` + (probes.before.length
      ? `, telltale-before ${p99('before')} ms; telltale-before/telltale ` +
        `${(p99('before') / p99('telltale')).toFixed(2)}` : ''));
  }
  if (rates.sqlite.length) {
    console.log(`median: raw SQLite ${fmt(median(rates.sqlite))} rows/s; telltale/raw ` +
      `${(t / median(rates.sqlite)).toFixed(2)}`);
  }
}

main().catch((err) => {
  console.error(err.code === 'ESTART' ? err.message : err.stack || String(err));
  process.exit(1);
});
