// latency.mjs -- the latency histogram the live-path benches share (bench/realtime, bench/fanout):
// log-spaced buckets of 2 % from 0.01 ms to past 60 s, filled by subscriber processes and summed
// by the runner, so percentiles need no list of samples.

export const BUCKET_GROWTH = 1.02; // 2 % resolution
export const BUCKETS = 1200;       // from 0.01 ms past 60 s

// The bucket of a latency in ms (clamped to the first and last).
export function bucketOf(ms) {
  const b = Math.floor(Math.log(Math.max(ms, 0.01) / 0.01) / Math.log(BUCKET_GROWTH));
  return Math.min(Math.max(b, 0), BUCKETS - 1);
}

// The q-quantile (0..1) of 'total' latencies counted in 'hist': its bucket's upper edge, ms.
export function percentile(hist, total, q) {
  let seen = 0;
  for (let b = 0; b < BUCKETS; b++) {
    seen += hist[b];
    if (seen >= q * total) {
      return 0.01 * BUCKET_GROWTH ** (b + 1);
    }
  }
  return Infinity;
}
