// probe.mjs -- the latency a lone producer sees while others load the daemon: one 1-event
// POST /api/v1/events at a time over one keep-alive connection, --gap-ms between answers, until
// its standard input closes; then one line of JSON on standard output:
// {"n","p50","p99","max","errors"} (latencies in ms, from the request's write to its answer's
// end). A process of its own, so that the load generator's work does not count in it.
//
//   node bench/lib/probe.mjs --port P [--gap-ms 10]

import http from 'node:http';

import { BUCKETS, bucketOf, percentile } from './latency.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const port = arg('port', 0);
const gapMs = arg('gap-ms', 10);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const hist = new Array(BUCKETS).fill(0);
let n = 0;
let max = 0;
let errors = 0;
let stopping = false;

function postOne(i) {
  const body = Buffer.from(JSON.stringify({ type: 'probe', source: 'bench', name: `probe-${i}` }));
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({
      host: '127.0.0.1', port, path: '/api/v1/events', method: 'POST', agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': body.length },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: res.statusCode === 202, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    req.on('error', () => resolve({ ok: false, ms: 0 }));
    req.end(body);
  });
}

process.stdin.on('end', () => { stopping = true; });
process.stdin.resume();
for (let i = 0; !stopping; i++) {
  const { ok, ms } = await postOne(i);
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
const q = (x) => Number(percentile(hist, n, x).toFixed(2));
process.stdout.write(`${JSON.stringify({ n, p50: q(0.5), p99: q(0.99), max: Number(max.toFixed(2)), errors })}\n`);
