// rollup-data.js -- the history chart's data, without the chart: which bucket each range
// reads, and /api/v1/metrics answers turned into points (summed over the groups).

export const RANGES = Object.freeze({
  '15m': { ms: 15 * 60_000, bucket: '1m' },
  '1h': { ms: 3_600_000, bucket: '1m' },
  '24h': { ms: 86_400_000, bucket: '1h' },
  '7d': { ms: 7 * 86_400_000, bucket: '1h' },
  '30d': { ms: 30 * 86_400_000, bucket: '1d' },
});

const timeOf = (p) => {
  const t = p.t ?? p.ts ?? p.bucket ?? p.start ?? p.time;
  const ms = typeof t === 'number' ? (t < 1e11 ? t * 1000 : t) : Date.parse(t);
  return Number.isFinite(ms) ? ms : null;
};

// Points summed over groups: [{ t (ms), rate, p95 }], from {series:[{points}]}, {points},
// {buckets} or an array.
export function rollupPoints(body, bucketMs) {
  const lists = Array.isArray(body) ? [body]
    : Array.isArray(body?.series) ? body.series.map((s) => s.points ?? s.buckets ?? s.data ?? [])
      : [body?.points ?? body?.buckets ?? body?.data ?? []];
  const byT = new Map();
  for (const list of lists) {
    for (const p of list) {
      const t = timeOf(p);
      if (t === null) {
        continue;
      }
      const cur = byT.get(t) ?? { t, rate: 0, p95: null };
      cur.rate += Number(p.rate ?? (p.count != null ? p.count / (bucketMs / 1000) : 0)) || 0;
      if (Number.isFinite(p.p95)) {
        cur.p95 = cur.p95 === null ? p.p95 : Math.max(cur.p95, p.p95);
      }
      byT.set(t, cur);
    }
  }
  return [...byT.values()].sort((a, b) => a.t - b.t);
}

export const BUCKET_MS = { '1m': 60_000, '1h': 3_600_000, '1d': 86_400_000 };
