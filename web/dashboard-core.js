// dashboard-core.js -- the data sources behind every live panel: mode, hand-over, de-duplication.
//
// Two paths bring committed events: `legacy` (/ws, WsAdapter) and `realtime` (Supabase
// Realtime, RealtimeAdapter). The mode says which run: legacy, realtime, or dual (both).
// Whatever the mode, views get each event once: the core de-duplicates by event id (an
// event's id is the same on both paths; its seq too, on one store) and emits the first copy.
//
// Switching mode live is a hand-over, not a restart: the path that starts resumes from the
// cursor of the path that was running (everything up to it already shown), so the table
// neither misses nor repeats an event across the switch.
//
// In dual mode an Agreement records, for every event committed after dual mode began, which
// path delivered it and how late (arrival here minus the server's received_at), so the
// operator can see that Realtime delivers what /ws delivers before switching to it.

import { Topic, Value } from './observable.js';
import { percentile } from './metrics-window.js';

export const MODES = Object.freeze(['legacy', 'realtime', 'dual']);
export const PATHS = Object.freeze(['legacy', 'realtime']);

export function isMode(m) {
  return MODES.includes(m);
}

export function pathsOf(mode) {
  return mode === 'dual' ? ['legacy', 'realtime'] : [mode];
}

// Epoch ms of the server's acceptance of an event (received_at), or null.
export function receivedMs(ev) {
  const t = ev?.received_at;
  if (typeof t === 'number' && Number.isFinite(t)) {
    return t;
  }
  if (typeof t === 'string') {
    const ms = Date.parse(t);
    return Number.isFinite(ms) ? ms : null;
  }
  return null;
}

// Which path saw which event, with each path's delivery latency. Pure: time is passed in.
// An event seen on one path is `pending` for graceMs (the other path may be a little
// slower); after that it counts as seen on that path only, until the other copy arrives.
// Memory is bounded: each path keeps at most maxIds single-path ids (the oldest are forgotten
// but still counted, so a path down for hours costs no more than maxIds entries; a forgotten id
// whose other copy arrives after all is then counted once on each path instead of as both).
export class Agreement {
  #graceMs;
  #keepIds;
  #samples;
  #maxIds;
  #forgotten = { legacy: 0, realtime: 0 };
  #pending = new Map(); // id -> { path, at }
  #one = { legacy: new Map(), realtime: new Map() }; // settled single-path ids -> seq
  #both = 0;
  #latency; // per path, a ring of the last `samples` latencies: { buf, next, n }
  #total = { legacy: 0, realtime: 0 };

  constructor({ graceMs = 5000, keepIds = 8, samples = 5000, maxIds = 100_000 } = {}) {
    this.#graceMs = graceMs;
    this.#keepIds = keepIds;
    this.#samples = samples;
    this.#maxIds = maxIds;
    const ring = () => ({ buf: new Float64Array(samples), next: 0, n: 0 });
    this.#latency = { legacy: ring(), realtime: ring() };
  }

  // Records that `path` delivered event {id, seq} `latencyMs` after the server got it.
  seen(path, id, seq, latencyMs, nowMs) {
    this.#total[path]++;
    if (Number.isFinite(latencyMs) && this.#samples > 0) {
      // A ring: O(1) per event, where an array trimmed from the front moved the whole window
      // (no measurable change in frames at 5,000 events/s: BENCHMARKS.md).
      const r = this.#latency[path];
      r.buf[r.next] = Math.max(0, latencyMs);
      r.next = (r.next + 1) % this.#samples;
      r.n = Math.min(r.n + 1, this.#samples);
    }
    const other = path === 'legacy' ? 'realtime' : 'legacy';
    const p = this.#pending.get(id);
    if (p) {
      if (p.path !== path) {
        this.#pending.delete(id);
        this.#both++;
      }
      return;
    }
    if (this.#one[other].has(id)) {
      // Late beyond the grace period, but it came: both paths saw it.
      this.#one[other].delete(id);
      this.#both++;
      return;
    }
    if (this.#one[path].has(id)) {
      return; // a repeat on the same path
    }
    this.#pending.set(id, { path, at: nowMs, seq });
    if (this.#pending.size > this.#maxIds) {
      this.settle(Infinity, 1); // the oldest pending id settles early rather than piling up
    }
  }

  // Moves events pending longer than the grace period (at most `limit` of them) to their one
  // path, forgetting the oldest single-path ids beyond maxIds.
  settle(nowMs, limit = Infinity) {
    for (const [id, p] of this.#pending) {
      if (limit-- <= 0 || nowMs - p.at < this.#graceMs) {
        break; // insertion order is arrival order
      }
      this.#pending.delete(id);
      const one = this.#one[p.path];
      one.set(id, p.seq);
      if (one.size > this.#maxIds) {
        one.delete(one.keys().next().value);
        this.#forgotten[p.path]++;
      }
    }
  }

  snapshot(nowMs) {
    this.settle(nowMs);
    const lat = (path) => {
      const r = this.#latency[path];
      const sorted = r.buf.slice(0, r.n).sort();
      return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), n: sorted.length };
    };
    const last = (m) => [...m.keys()].slice(-this.#keepIds).reverse();
    const legacyOnly = this.#one.legacy.size + this.#forgotten.legacy;
    const realtimeOnly = this.#one.realtime.size + this.#forgotten.realtime;
    const settled = this.#both + legacyOnly + realtimeOnly;
    return {
      both: this.#both,
      legacyOnly,
      realtimeOnly,
      pending: this.#pending.size,
      agreement: settled > 0 ? this.#both / settled : null,
      legacyOnlyIds: last(this.#one.legacy),
      realtimeOnlyIds: last(this.#one.realtime),
      delivered: { ...this.#total },
      latency: { legacy: lat('legacy'), realtime: lat('realtime') },
    };
  }
}

const DEDUPE_LIMIT = 100_000;

export class DashboardCore {
  // 'legacy' | 'realtime' | 'dual'
  mode = new Value('legacy');
  // Source-change events: { from, to, reason, at }.
  sourceChanges = new Topic();
  // Arrays of new events, each id once, in arrival order; each event has `_via` (the path
  // that delivered it first).
  events = new Topic();
  // The views' history restarted (a path's server has a new, empty store).
  reset = new Topic();
  // { legacy: status|null, realtime: status|null } (null: the path is not running);
  // a status is the adapter's plus `catchingUp`.
  paths = new Value({ legacy: null, realtime: null });
  // Agreement snapshot in dual mode (null otherwise), refreshed by tick().
  agreement = new Value(null);

  #makeAdapter;
  #now;
  #adapters = { legacy: null, realtime: null };
  #unsubs = { legacy: [], realtime: [] };
  #seen = new Map(); // id -> seq, bounded, insertion order
  #agreement = null;
  #dualFromSeq = 0; // dual mode's agreement counts events above it (null: not known yet)
  #maxSeq = 0;
  #lat = { legacy: [], realtime: [] }; // recent delivery latencies per path, any mode

  // makeAdapter(path, { initialCursor }) returns an adapter (start, stop, cursor, status,
  // events, reset; catchingUp optional).
  constructor({ makeAdapter, now = () => Date.now(), agreement = {} }) {
    this.#makeAdapter = makeAdapter;
    this.#now = now;
    this.agreementOpts = agreement;
  }

  subscribe(fn) {
    return this.events.subscribe(fn);
  }

  adapter(path) {
    return this.#adapters[path];
  }

  // The highest seq shown so far (0 before any).
  get maxSeq() {
    return this.#maxSeq;
  }

  // Starts the paths of `mode` and stops the others; the first call starts the core.
  setMode(mode, reason = 'operator') {
    if (!isMode(mode)) {
      throw new Error(`unknown data source mode ${mode}`);
    }
    const from = this.#started ? this.mode.get() : null;
    if (from === mode) {
      return;
    }
    const want = pathsOf(mode);
    const handOver = this.#handOverCursor();
    for (const path of PATHS) {
      if (want.includes(path) && !this.#adapters[path]) {
        this.#startPath(path, handOver);
      }
    }
    for (const path of PATHS) {
      if (!want.includes(path) && this.#adapters[path]) {
        this.#stopPath(path);
      }
    }
    if (mode === 'dual') {
      this.#agreement = new Agreement(this.agreementOpts);
      // Switched to from a running path: its cursor. Started in dual (a page's first mode):
      // each path first backfills recent history, each from its own server's head, which
      // need not be the same seq (and on another instance's /ws, not the same events);
      // so what dual compares starts above the higher of the two heads, once both are known.
      this.#dualFromSeq = handOver ?? (this.#maxSeq > 0 ? this.#maxSeq : null);
    } else {
      this.#agreement = null;
    }
    this.#started = true;
    this.mode.set(mode);
    this.#publishPaths();
    this.agreement.set(this.#agreement ? this.#agreement.snapshot(this.#now()) : null);
    this.sourceChanges.emit({ from, to: mode, reason, at: this.#now() });
  }

  #started = false;

  // Stops and starts every running path again, resuming where it was (e.g. after the key
  // changed: the adapters' connections carry the old one).
  restartPaths(reason = 'restart') {
    const running = PATHS.filter((p) => this.#adapters[p]);
    const handOver = this.#handOverCursor();
    for (const path of running) {
      this.#stopPath(path);
    }
    for (const path of running) {
      this.#startPath(path, handOver);
    }
    this.#publishPaths();
    const mode = this.mode.get();
    this.sourceChanges.emit({ from: mode, to: mode, reason, at: this.#now() });
  }

  stop() {
    for (const path of PATHS) {
      if (this.#adapters[path]) {
        this.#stopPath(path);
      }
    }
    this.#started = false;
    this.#publishPaths();
  }

  // Refreshes the agreement snapshot and path statuses (call once a second).
  tick() {
    if (this.#agreement) {
      this.agreement.set(this.#agreement.snapshot(this.#now()));
    }
    this.#publishPaths();
  }

  // The cursor a starting path resumes from: the lowest cursor of the running paths (each
  // has applied everything up to its own), or null when none runs yet.
  #handOverCursor() {
    let c = null;
    for (const path of PATHS) {
      const cur = this.#adapters[path]?.cursor;
      if (Number.isSafeInteger(cur)) {
        c = c === null ? cur : Math.min(c, cur);
      }
    }
    return c;
  }

  #startPath(path, initialCursor) {
    const a = this.#makeAdapter(path, { initialCursor });
    this.#adapters[path] = a;
    this.#unsubs[path] = [
      a.events.subscribe((items) => this.#onEvents(path, items)),
      a.status.subscribe(() => this.#publishPaths()),
      a.reset?.subscribe(() => this.#onReset()) ?? (() => {}),
    ];
    a.start();
  }

  #stopPath(path) {
    const a = this.#adapters[path];
    this.#adapters[path] = null;
    for (const u of this.#unsubs[path]) {
      u();
    }
    this.#unsubs[path] = [];
    a.stop();
  }

  #onReset() {
    this.#seen.clear();
    this.#maxSeq = 0;
    this.reset.emit();
  }

  // The higher of the running paths' server heads (their statuses' serverSeq), kept as the
  // seq dual mode starts above once both are known; Infinity (nothing counts) before.
  #bothHeads() {
    const heads = PATHS.map((p) => this.#adapters[p]?.status.get().serverSeq);
    if (!heads.every(Number.isSafeInteger)) {
      return Infinity;
    }
    this.#dualFromSeq = Math.max(...heads);
    return this.#dualFromSeq;
  }

  #onEvents(path, items) {
    const now = this.#now();
    const fresh = [];
    const lat = this.#lat[path];
    for (const ev of items) {
      const id = ev?.id ?? `seq:${ev?.seq}`;
      const rec = receivedMs(ev);
      const latency = rec === null ? NaN : now - rec;
      if (this.#agreement && ev.seq > (this.#dualFromSeq ?? this.#bothHeads())) {
        this.#agreement.seen(path, id, ev.seq, latency, now);
      }
      // Live deliveries only: a replay of old events says nothing about delivery latency.
      if (Number.isFinite(latency) && latency < 60_000) {
        lat.push(Math.max(0, latency));
      }
      if (this.#seen.has(id)) {
        continue;
      }
      this.#seen.set(id, ev.seq);
      if (this.#seen.size > DEDUPE_LIMIT) {
        this.#seen.delete(this.#seen.keys().next().value);
      }
      if (ev.seq > this.#maxSeq) {
        this.#maxSeq = ev.seq;
      }
      fresh.push({ ...ev, _via: path });
    }
    if (lat.length > 4000) {
      lat.splice(0, lat.length - 2000);
    }
    if (fresh.length > 0) {
      this.events.emit(fresh);
    }
  }

  // Delivery latency of a path's recent events (arrival here minus received_at), any mode.
  latency(path) {
    const sorted = Float64Array.from(this.#lat[path].slice(-2000)).sort();
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), n: sorted.length };
  }

  #publishPaths() {
    const out = {};
    for (const path of PATHS) {
      const a = this.#adapters[path];
      out[path] = a ? { ...a.status.get(), catchingUp: Boolean(a.catchingUp), cursor: a.cursor } : null;
    }
    const prev = this.paths.get();
    if (JSON.stringify(prev) !== JSON.stringify(out)) {
      this.paths.set(out);
    }
  }
}
