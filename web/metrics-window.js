// metrics-window.js -- per-second throughput, errors and latency over a sliding window.
//
// Pure bookkeeping, no DOM: the chart manager feeds it events and reads series back.
// Events are placed by their own time (`ts`, else `received_at`), so events that arrive
// late -- a resume after a reconnect, the backfill on load -- land in the second they
// happened in. Latency percentiles are computed from each second's `duration_ms` values;
// a busy second keeps a uniform sample of them (reservoir sampling) so memory stays
// bounded whatever the event rate.

export function eventTimeMs(ev) {
  for (const t of [ev.ts, ev.received_at]) {
    if (typeof t === 'number' && Number.isFinite(t)) {
      return t;
    }
    if (typeof t === 'string') {
      const ms = Date.parse(t);
      if (Number.isFinite(ms)) {
        return ms;
      }
    }
  }
  return Date.now();
}

// An event counts as an error when it is one, or when its status says it failed.
export function isError(ev) {
  return ev.type === 'error' || (typeof ev.status === 'string' && ev.status !== 'ok');
}

// Latency is an operation's duration: a session_end's duration_ms is how long the whole
// session lasted, which would swamp every percentile, so session events are left out.
export function latencyOf(ev) {
  const d = ev.duration_ms;
  const isOperation = typeof ev.type === 'string' && !ev.type.startsWith('session_');
  return isOperation && typeof d === 'number' && Number.isFinite(d) && d >= 0 ? d : null;
}

// Nearest-rank percentile of an ascending array; null when it is empty.
export function percentile(sorted, p) {
  if (sorted.length === 0) {
    return null;
  }
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

const FUTURE_SLACK_S = 60; // tolerated clock skew between producers and this browser

export class MetricsWindow {
  #windowS;
  #samplesPerSecond;
  #random;
  #buckets = new Map(); // unix second -> { count, errors, seen, durations }
  #coveredFromS; // seconds before this are unknown to the page, not idle: drawn as gaps

  constructor({ windowS = 300, samplesPerSecond = 500, random = Math.random } = {}) {
    this.#windowS = windowS;
    this.#samplesPerSecond = samplesPerSecond;
    this.#random = random;
    this.#coveredFromS = Math.floor(Date.now() / 1000);
  }

  get windowS() {
    return this.#windowS;
  }

  add(ev, nowMs = Date.now()) {
    const sec = Math.floor(eventTimeMs(ev) / 1000);
    const nowS = Math.floor(nowMs / 1000);
    if (sec <= nowS - this.#windowS - 1 || sec > nowS + FUTURE_SLACK_S) {
      return;
    }
    if (this.#buckets.size === 0 && sec < this.#coveredFromS) {
      this.#coveredFromS = sec; // the first event is the oldest of the backfill
    }
    let b = this.#buckets.get(sec);
    if (!b) {
      b = { count: 0, errors: 0, seen: 0, durations: [], sources: new Map() };
      this.#buckets.set(sec, b);
    }
    b.count++;
    const src = typeof ev.source === 'string' && ev.source !== '' ? ev.source : '(none)';
    b.sources.set(src, (b.sources.get(src) ?? 0) + 1);
    if (isError(ev)) {
      b.errors++;
    }
    const d = latencyOf(ev);
    if (d !== null) {
      b.seen++;
      if (b.durations.length < this.#samplesPerSecond) {
        b.durations.push(d);
      } else {
        const j = Math.floor(this.#random() * b.seen);
        if (j < this.#samplesPerSecond) {
          b.durations[j] = d;
        }
      }
    }
  }

  clear() {
    this.#buckets.clear();
    this.#coveredFromS = Math.floor(Date.now() / 1000);
  }

  // One point per complete second of the window ending at the second before nowMs (the
  // current second is still filling and would always dip). x is in unix seconds.
  series(nowMs = Date.now()) {
    const last = Math.floor(nowMs / 1000) - 1;
    const first = last - this.#windowS + 1;
    this.#prune(first);
    const out = { x: [], rate: [], errors: [], p50: [], p95: [], p99: [] };
    for (let s = first; s <= last; s++) {
      const b = this.#buckets.get(s);
      const known = s >= this.#coveredFromS;
      out.x.push(s);
      out.rate.push(b ? b.count : known ? 0 : null);
      out.errors.push(b ? b.errors : known ? 0 : null);
      if (b && b.durations.length > 0) {
        const sorted = Float64Array.from(b.durations).sort();
        out.p50.push(percentile(sorted, 50));
        out.p95.push(percentile(sorted, 95));
        out.p99.push(percentile(sorted, 99));
      } else {
        out.p50.push(null);
        out.p95.push(null);
        out.p99.push(null);
      }
    }
    return out;
  }

  // Events per second of the `top` busiest sources over the window (the rest summed as
  // "other"), one point per complete second like series(): { x, names, values: [[...]] }.
  sourceSeries(nowMs = Date.now(), top = 5) {
    const last = Math.floor(nowMs / 1000) - 1;
    const first = last - this.#windowS + 1;
    this.#prune(first);
    const totals = new Map();
    for (const [sec, b] of this.#buckets) {
      if (sec >= first && sec <= last) {
        for (const [src, n] of b.sources) {
          totals.set(src, (totals.get(src) ?? 0) + n);
        }
      }
    }
    const ranked = [...totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => k);
    const names = ranked.slice(0, top);
    const hasOther = ranked.length > top;
    if (hasOther) {
      names.push('other');
    }
    const x = [];
    const values = names.map(() => []);
    for (let sec = first; sec <= last; sec++) {
      const b = this.#buckets.get(sec);
      const known = sec >= this.#coveredFromS;
      x.push(sec);
      let rest = b ? b.count : 0;
      names.forEach((name, i) => {
        if (hasOther && i === names.length - 1) {
          values[i].push(b ? rest : known ? 0 : null);
          return;
        }
        const n = b?.sources.get(name) ?? 0;
        rest -= n;
        values[i].push(b || known ? n : null);
      });
    }
    return { x, names, values };
  }

  // Totals over the last `spanS` complete seconds, for the header.
  summary(nowMs = Date.now(), spanS = 60) {
    const last = Math.floor(nowMs / 1000) - 1;
    let count = 0;
    let errors = 0;
    const durations = [];
    for (let s = last - spanS + 1; s <= last; s++) {
      const b = this.#buckets.get(s);
      if (b) {
        count += b.count;
        errors += b.errors;
        durations.push(...b.durations);
      }
    }
    const sorted = Float64Array.from(durations).sort();
    return {
      spanS,
      count,
      rate: count / spanS,
      errorRate: count > 0 ? errors / count : null,
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
    };
  }

  #prune(firstKept) {
    for (const s of this.#buckets.keys()) {
      if (s < firstKept) {
        this.#buckets.delete(s);
      }
    }
  }
}
