// bench/flags/run.mjs -- feature flags under load: OFREP single and bulk evaluations per
// second (against GET /health, the same HTTP path with no store work, as the baseline), and
// the time from a flag's PUT being answered to its {"type":"flags"} push reaching a /ws client.
//
//   node bench/flags/run.mjs [--flags 50] [--seconds 5] [--concurrency 8] [--flips 100]
//   (TELLTALE_TEST_STORE=postgres under scripts/with-pg for PostgreSQL; TELLTALE_BIN to choose
//   the build). Prints one JSON object. A benchmark, not a test: nothing here asserts a time.

import { Daemon, api } from '../../tests/integration/lib/daemon.mjs';
import { WsClient } from '../../tests/integration/lib/wsclient.mjs';
import { parseOptions } from '../lib/options.mjs';

const o = parseOptions(process.argv.slice(2), {
  flags: { int: [1, 100_000], def: 50 },
  seconds: { int: [1, 3600], def: 5 },
  concurrency: { int: [1, 256], def: 8 },
  flips: { int: [1, 100_000], def: 100 },
}, 'OFREP evaluations/s (single, bulk; GET /health the baseline) and PUT-to-/ws-push latency of a flag');
const NFLAGS = Number(o.flags);
const SECONDS = Number(o.seconds);
const CONC = Number(o.concurrency);

const d = await Daemon.start({ label: 'bench-flags' });
try {
  for (let i = 0; i < NFLAGS; i++) {
    const flag = i % 3 === 0 ? { enabled: true, variant: 'dual', rollout_percent: 50 }
      : i % 3 === 1 ? { enabled: true, rules: [{ attribute: 'plan', in: ['pro', 'team'] }] }
        : { enabled: i % 2 === 0 };
    await api(d, 'PUT', `/api/v1/flags/bench.${i}`, { json: flag });
  }

  // Requests per second of one kind, CONC at a time, for SECONDS.
  async function rate(name, makeRequest) {
    const until = Date.now() + SECONDS * 1000;
    let n = 0;
    let bad = 0;
    let seq = 0;
    await Promise.all(Array.from({ length: CONC }, async () => {
      while (Date.now() < until) {
        const res = await makeRequest(seq++);
        await res.arrayBuffer();
        n++;
        bad += res.status !== 200;
      }
    }));
    return { name, per_second: Math.round(n / SECONDS), requests: n, not_200: bad };
  }
  const post = (path, body) => fetch(d.base + path, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const results = [];
  results.push(await rate('GET /health (baseline)', () => fetch(`${d.base}/health`)));
  results.push(await rate('OFREP single', (i) => post(`/ofrep/v1/evaluate/flags/bench.${i % NFLAGS}`,
    { context: { targetingKey: `user-${i}`, plan: 'pro' } })));
  results.push(await rate(`OFREP bulk (${NFLAGS} flags)`, (i) => post('/ofrep/v1/evaluate/flags',
    { context: { targetingKey: `user-${i}`, plan: 'pro' } })));

  // PUT answered -> the push seen by a /ws client.
  const ws = await WsClient.connect(d.wsUrl);
  const lat = [];
  for (let i = 0; i < Number(o.flips); i++) {
    const variant = `v${i}`;
    const r = await api(d, 'PUT', '/api/v1/flags/bench.flip', { json: { enabled: true, variant } });
    const t0 = performance.now();
    await ws.until('the push', (c) => c.messages.some((m) => m.type === 'flags' && m.flags['bench.flip']?.variant === variant));
    lat.push(performance.now() - t0);
    if (r.status >= 300) {
      throw new Error(`PUT answered ${r.status}`);
    }
  }
  await ws.close();
  lat.sort((a, b) => a - b);
  const pct = (p) => Number(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(2));
  console.log(JSON.stringify({
    store: d.store.startsWith('postgres') ? 'postgres' : 'sqlite', concurrency: CONC, seconds: SECONDS,
    results, push_after_put_ms: { flips: lat.length, p50: pct(0.5), p95: pct(0.95), max: pct(1) },
  }, null, 1));
} finally {
  await d.cleanup();
}
