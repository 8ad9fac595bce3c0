// cost.mjs -- cost per delivered live message (issue 13 item 6): the daemon's CPU instructions,
// counted by callgrind over every thread, for each event delivered to a subscriber of /ws or of
// Realtime (postgres_changes on SQLite), on a fixed workload.
//
//   node bench/fanout/cost.mjs [--bin PATH ...] [--events E] [--subscribers S] [--path ws|rt]
//
// For each binary, two runs under callgrind with the same E events posted (batches of 100, one
// at a time) into a fresh SQLite file: one with S subscribers of the path
// (bench/fanout/subscribers.mjs, the cheap frame-reading client), one with none. The run with
// subscribers waits until all E × S deliveries have arrived. (Ir(S) - Ir(0)) / (E × S) is the
// cost of one delivered message, without start-up, ingest and shutdown, which both runs pay
// alike. Counts, not times: a busy machine gives nearly the same figure.

import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseOptions } from '../lib/options.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const o = parseOptions(process.argv.slice(2), {
  bin: { bin: true, many: true, def: [path.join(REPO, 'build', 'telltale')] },
  events: { int: [1, 1_000_000], def: 2000 },
  subscribers: { int: [1, 10_000], def: 20 },
  path: { choice: ['ws', 'rt'], def: 'ws' },
}, 'CPU instructions (callgrind) per live message delivered to a subscriber, per binary');
o.bins = o.bin;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Waits for fn() to be true; gives up after timeoutMs, or at once when 'child' (if given) has
// failed to start or exited (as bench/peers/ingest.mjs waitFor), with what it said ('log()').
async function until(what, fn, timeoutMs = 600_000, child = null, log = () => '') {
  const deadline = Date.now() + timeoutMs;
  let ended = null;
  child?.once('error', (err) => { ended = err.message; });
  child?.once('exit', (code, signal) => { ended = `exited (${signal ?? code})`; });
  while (!(await fn())) {
    if (ended !== null || Date.now() > deadline) {
      const err = new Error(`waiting for ${what}: ${ended ?? 'timed out'}` +
        `${log() ? `; it said:\n${log().trim()}` : ''}`);
      err.code = 'ESTART'; // said as it is, without a stack
      throw err;
    }
    await sleep(100);
  }
}

// One run: the daemon under callgrind, 'subscribers' of o.path, o.events events; its Ir.
async function run(bin, subscribers) {
  const dir = mkdtempSync(path.join(tmpdir(), 'telltale-cost-'));
  const out = path.join(dir, 'callgrind.out');
  const daemon = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, bin, 'serve',
    '--listen', '127.0.0.1:0', '--store', `sqlite:${path.join(dir, 'cost.db')}`],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  daemon.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((r) => { daemon.once('close', r); daemon.once('error', r); });
  await until('the daemon to listen', () => /listening on http:\/\/[^:]+:\d+/.test(log), 120_000,
    daemon, () => log).catch((err) => {
    daemon.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const base = `http://127.0.0.1:${log.match(/listening on http:\/\/[^:]+:(\d+)/)[1]}`;
  let worker = null;
  let delivered = 0;
  if (subscribers > 0) {
    worker = fork(path.join(REPO, 'bench/fanout/subscribers.mjs'));
    worker.on('message', (m) => { if ('delivered' in m) delivered = m.delivered; });
    const ready = new Promise((r) => worker.once('message', r));
    worker.send({ cmd: 'start', url: base.replace('http', 'ws'), path: o.path, count: subscribers,
                  first: 0, key: 'bench', partition: 0, type: 'bench' });
    await ready;
  }
  for (let sent = 0; sent < o.events; sent += 100) {
    const batch = Array.from({ length: Math.min(100, o.events - sent) }, (_, i) => ({
      type: 'bench', source: 'cost', name: `e${sent + i}`, attrs: { t: Date.now() } }));
    const res = await fetch(`${base}/api/v1/events`, { method: 'POST', body: JSON.stringify(batch),
                                                        headers: { 'content-type': 'application/json' } });
    if (res.status !== 202) throw new Error(`POST: ${res.status} ${await res.text()}`);
  }
  if (worker) {
    await until(`${o.events * subscribers} deliveries`, async () => {
      worker.send({ cmd: 'count' });
      await sleep(200);
      return delivered >= o.events * subscribers;
    });
    worker.kill();
  }
  daemon.kill('SIGTERM');
  await exited;
  const ir = Number(readFileSync(out, 'utf8').match(/^summary: *(\d+)/m)[1]);
  rmSync(dir, { recursive: true, force: true });
  return ir;
}

console.log(`# ${o.events} events, ${o.subscribers} subscribers of ${o.path}, callgrind; ${new Date().toISOString()}`);
try {
  for (const bin of o.bins) {
    const none = await run(bin, 0);
    const some = await run(bin, o.subscribers);
    const per = (some - none) / (o.events * o.subscribers);
    console.log(`${bin}: ${Math.round(per).toLocaleString('en-US')} instructions per delivered message ` +
                `(Ir ${some.toLocaleString('en-US')} with, ${none.toLocaleString('en-US')} without)`);
  }
} catch (err) {
  console.error(err.code === 'ESTART' ? err.message : err.stack || String(err));
  process.exit(1);
}
