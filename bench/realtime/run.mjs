// run.mjs -- bench/realtime: how fast committed events reach Realtime subscribers.
//
//   node bench/realtime/run.mjs [--subscribers 100] [--rate 5000] [--seconds 10]
//                               [--workers 4] [--vsn 2.0.0] [--rounds 2] [--partition 0]
//   TELLTALE_TEST_STORE=postgres scripts/with-pg node bench/realtime/run.mjs ...
//
// A real daemon (the release build, a fresh SQLite file or PostgreSQL database), N subscribers
// spread over worker processes, and a producer posting events at a fixed rate (batches every
// 10 ms over keep-alive HTTP). Each event carries attrs.t, the time just before its POST;
// a subscriber's callback records now - t: ingest to client callback, through the commit, the
// read-back, the fan-out and the client's own decoding. Reported: p50/p95/p99 and delivered
// messages/s. With --partition P, events are spread over P sources and each subscriber's
// filter takes one of them (a dashboard per service); without it every subscriber gets every
// event (--subscribers x --rate messages a second).
//
// Baseline, same invocation, same subscribers and rate: telltale's own /ws stream, which
// broadcasts each batch straight from the commit (no read-back). Also measured: the Realtime
// endpoint through a plain socket ("rt-raw", JSON.parse per message like the /ws clients), so
// telltale's cost and supabase-js's own per-message work can be told apart. Rounds alternate
// the paths so all see the same noise; the ratios to ws are printed.
// Producer, subscribers and daemon share this machine's cores. A benchmark: nothing asserted.

import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import { Daemon, STORE_KIND, sleep } from '../../tests/integration/lib/daemon.mjs';
import { BUCKETS, percentile } from '../lib/latency.mjs';
import { parseOptions } from '../lib/options.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function options() {
  return parseOptions(process.argv.slice(2), {
    subscribers: { int: [1, 10_000], def: 100 },
    rate: { int: [1, 1_000_000], def: 5000 },
    seconds: { int: [1, 3600], def: 10 },
    workers: { int: [1, 64], def: 4 },
    vsn: { choice: ['1.0.0', '2.0.0'], def: '2.0.0' },
    rounds: { int: [1, 100], def: 2 },
    partition: { int: [0, 10_000], def: 0 },
  }, 'latency from ingest to Realtime subscribers (and to /ws, the baseline): p50/p95/p99, msg/s');
}

const now = () => performance.timeOrigin + performance.now();

// Posts `rate` events a second for `seconds`, in batches every 10 ms; returns events sent.
// Event n has source key + n % partition (partition 0: key).
async function produce(d, key, partition, rate, seconds) {
  const start = now();
  let sent = 0;
  const inflight = new Set();
  while (now() - start < seconds * 1000) {
    const due = Math.floor(((now() - start) / 1000) * rate);
    if (due > sent && inflight.size < 64) {
      const n = Math.min(due - sent, 1000);
      const t = now();
      const events = Array.from({ length: n }, (_, i) => ({
        type: 'bench', source: partition > 0 ? `${key}${(sent + i) % partition}` : key, value: sent + i, attrs: { t },
      }));
      sent += n;
      const p = fetch(`${d.base}/api/v1/events`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events),
      }).then(async (r) => {
        if (r.status !== 202) {
          throw new Error(`ingest answered ${r.status}: ${await r.text()}`);
        }
      }).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await sleep(10);
  }
  await Promise.all(inflight);
  return sent;
}

async function round(d, o, pathName, roundNo) {
  const key = `${pathName}.${roundNo}.`;
  const per = Math.ceil(o.subscribers / o.workers);
  const workers = [];
  for (let w = 0, left = o.subscribers; w < o.workers && left > 0; w++, left -= per) {
    const child = fork(path.join(HERE, 'subscriber.mjs'), { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const ready = new Promise((resolve) => child.once('message', resolve));
    child.send({ cmd: 'start', base: d.base, path: pathName, vsn: o.vsn, count: Math.min(per, left),
                 first: w * per, key, partition: o.partition });
    await ready;
    workers.push(child);
  }
  await sleep(500);
  const sent = await produce(d, key, o.partition, o.rate, o.seconds);
  await sleep(3000); // the tail of the deliveries
  const hist = new Array(BUCKETS).fill(0);
  let delivered = 0;
  let first = Infinity;
  let last = 0;
  for (const child of workers) {
    const done = new Promise((resolve) => child.once('message', resolve));
    child.send({ cmd: 'stop' });
    const r = await done;
    r.histogram.forEach((n, b) => { hist[b] += n; });
    delivered += r.delivered;
    first = r.first ? Math.min(first, r.first) : first;
    last = Math.max(last, r.last);
  }
  const expected = o.partition > 0 ? sent * o.subscribers / o.partition : sent * o.subscribers;
  return {
    path: pathName, sent, delivered, expected,
    p50: percentile(hist, delivered, 0.5), p95: percentile(hist, delivered, 0.95),
    p99: percentile(hist, delivered, 0.99), msgsPerS: delivered / ((last - first) / 1000),
  };
}

function line(r) {
  const f = (x) => x.toFixed(1).padStart(8);
  return `${r.path.padEnd(9)} sent ${r.sent}  delivered ${r.delivered}/${r.expected}` +
         `  p50 ${f(r.p50)} ms  p95 ${f(r.p95)} ms  p99 ${f(r.p99)} ms  ${Math.round(r.msgsPerS)} msg/s`;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const o = options();
  console.log(`bench/realtime: store ${STORE_KIND}, ${o.subscribers} subscribers in ${o.workers} workers, ` +
              `${o.rate} events/s for ${o.seconds} s, vsn ${o.vsn}, ${o.rounds} rounds, ` +
              `${o.partition > 0 ? `events over ${o.partition} sources, one per subscriber filter` : 'every event to every subscriber'}`);
  const d = await Daemon.start({ label: 'telltale (bench)', env: { TELLTALE_LOG: 'warn' } });
  const PATHS = ['ws', 'rt-raw', 'realtime'];
  const results = Object.fromEntries(PATHS.map((p) => [p, []]));
  try {
    for (let i = 0; i < o.rounds; i++) {
      for (const p of PATHS) {
        const r = await round(d, o, p, i);
        results[p].push(r);
        console.log(line(r));
      }
    }
  } finally {
    await d.stop({ expectClean: false });
    await d.cleanup();
  }
  const med = (p, k) => median(results[p].map((r) => r[k]));
  console.log('\nmedians      p50 ms   p95 ms   p99 ms   msg/s');
  for (const p of PATHS) {
    console.log(`${p.padEnd(10)} ${['p50', 'p95', 'p99'].map((k) => med(p, k).toFixed(1).padStart(8)).join(' ')}` +
                `  ${Math.round(med(p, 'msgsPerS'))}`);
  }
  for (const p of ['rt-raw', 'realtime']) {
    console.log(`${p}/ws`.padEnd(10) + ` ${['p50', 'p95', 'p99'].map((k) => (med(p, k) / med('ws', k)).toFixed(2).padStart(8)).join(' ')}` +
                `  ${(med(p, 'msgsPerS') / med('ws', 'msgsPerS')).toFixed(2)}`);
  }
}

await main();
