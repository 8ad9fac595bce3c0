// probe.mjs -- the latency a lone client sees while others load the daemon: one request at a
// time over one keep-alive connection, --gap-ms between answers, until its standard input
// closes; then one line of JSON on standard output: {"n","p50","p99","max","errors"}
// (latencies in ms, from the request's write to its answer's end). A process of its own, so
// that the load generator's work does not count in it. The request:
//   post   -- a 1-event POST /api/v1/events, answered once durable: it waits for the commit
//             that takes it, behind the events queued before it
//   health -- GET /health, answered at once by the loop: how long the loop keeps others waiting
//
//   node bench/lib/probe.mjs --port P [--gap-ms 10] [--what post|health]

import http from 'node:http';

import { BUCKETS, bucketOf, percentile } from './latency.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const port = arg('port', 0);
const gapMs = arg('gap-ms', 10);
const i = process.argv.indexOf('--what');
const what = i > 0 ? process.argv[i + 1] : 'post';
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const hist = new Array(BUCKETS).fill(0);
let n = 0;
let max = 0;
let errors = 0;
let stopping = false;

function requestOne(i) {
  const body = what === 'post'
    ? Buffer.from(JSON.stringify({ type: 'probe', source: 'bench', name: `probe-${i}` })) : null;
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({
      host: '127.0.0.1', port, agent,
      ...(body ? { path: '/api/v1/events', method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } }
        : { path: '/health', method: 'GET' }),
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: res.statusCode === (body ? 202 : 200), ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    req.on('error', () => resolve({ ok: false, ms: 0 }));
    req.end(body ?? undefined);
  });
}

process.stdin.on('end', () => { stopping = true; });
process.stdin.resume();
for (let i = 0; !stopping; i++) {
  const { ok, ms } = await requestOne(i);
  if (ok) {
    hist[bucketOf(ms)]++;
    n++;
    max = Math.max(max, ms);
  } else {
    errors++;
  }
  await new Promise((r) => setTimeout(r, gapMs));
}
agent.destroy();
// A percentile is its bucket's upper edge (2 % wide), never above the largest latency seen.
const q = (x) => Number(Math.min(percentile(hist, n, x), max).toFixed(2));
process.stdout.write(`${JSON.stringify({ n, p50: q(0.5), p99: q(0.99), max: Number(max.toFixed(2)), errors })}\n`);
