// session-tracker.js -- sessions (MCP sessions, conversations) and one session's timeline.
//
// The server keeps sessions (`GET /api/v1/sessions`, `GET /api/v1/sessions/{id}`); this
// module reads them and turns a timeline into rows for a waterfall: tool calls in order,
// each with its start offset, duration, depth (parent/child by attrs.span_id and
// attrs.parent_span_id) and whether it failed. When the routes answer 404 (a telltale
// without them) `available` says so, and the tracker offers the sessions it has seen on the
// live stream instead, clearly marked as such.

import { Value } from './observable.js';
import { eventTimeMs, isError } from './metrics-window.js';

const LIVE_SESSIONS = 200;
const LIVE_EVENTS_PER_SESSION = 500;

// Flattens a timeline body: {events:[...]}, {timeline:[...]}, [...], with nested `children`.
export function flattenTimeline(body) {
  const top = Array.isArray(body) ? body : body?.timeline ?? body?.events ?? body?.items ?? [];
  const out = [];
  const walk = (items) => {
    for (const it of items ?? []) {
      const ev = it?.event && typeof it.event === 'object' ? { ...it.event, ...it, event: undefined } : it;
      if (!ev || typeof ev !== 'object') {
        continue;
      }
      const { children, ...rest } = ev;
      out.push(rest);
      if (Array.isArray(children)) {
        walk(children);
      }
    }
  };
  walk(top);
  return out;
}

const spanOf = (ev) => ev?.attrs?.span_id ?? null;
const parentOf = (ev) => ev?.attrs?.parent_span_id ?? null;

// Waterfall rows from a session's events: ordered by start (parents before children), with
// depth, offset from the session's first event, duration and error flag.
export function waterfall(events) {
  const evs = events.filter((e) => e && typeof e === 'object')
    .map((e) => ({ ev: e, start: eventTimeMs(e) }))
    .sort((a, b) => a.start - b.start || (a.ev.seq ?? 0) - (b.ev.seq ?? 0));
  const bySpan = new Map();
  for (const x of evs) {
    const s = spanOf(x.ev);
    if (s !== null && !bySpan.has(s)) {
      bySpan.set(s, x);
    }
  }
  const children = new Map();
  const roots = [];
  for (const x of evs) {
    const p = parentOf(x.ev);
    if (p !== null && bySpan.has(p) && bySpan.get(p) !== x) {
      if (!children.has(p)) {
        children.set(p, []);
      }
      children.get(p).push(x);
    } else {
      roots.push(x);
    }
  }
  const t0 = evs.length ? evs[0].start : 0;
  let end = t0;
  const rows = [];
  const seen = new Set();
  const visit = (x, depth) => {
    if (seen.has(x)) {
      return; // a cycle in the producer's span ids
    }
    seen.add(x);
    const d = typeof x.ev.duration_ms === 'number' && !x.ev.type?.startsWith('session_') ? x.ev.duration_ms : 0;
    end = Math.max(end, x.start + d);
    rows.push({ ev: x.ev, depth, offsetMs: x.start - t0, durationMs: d, error: isError(x.ev) });
    for (const c of children.get(spanOf(x.ev)) ?? []) {
      visit(c, depth + 1);
    }
  };
  for (const r of roots) {
    visit(r, 0);
  }
  return { rows, startMs: t0, spanMs: Math.max(1, end - t0) };
}

// A session summary from the list route, with the names the panel uses.
export function normalizeSession(s) {
  return {
    id: s.session_id ?? s.id,
    state: s.state ?? 'unknown',
    firstSeen: s.first_seen ?? s.first_ts ?? null,
    lastSeen: s.last_seen ?? s.last_ts ?? null,
    events: s.events ?? s.event_count ?? 0,
    errors: s.errors ?? s.error_count ?? 0,
    toolCalls: s.tool_calls ?? 0,
    p95: s.p95_ms ?? s.p95 ?? s.p95_duration_ms ?? null,
    source: s.source ?? null,
  };
}

export class SessionTracker {
  // null (not asked) | true | false (404: the server has no session routes)
  available = new Value(null);
  // Normalized sessions, newest activity first.
  sessions = new Value([]);

  #fetchJson;
  #live = new Map(); // session_id -> { events: [], first, last, errors, toolCalls, ended }

  constructor({ fetchJson }) {
    this.#fetchJson = fetchJson;
  }

  subscribe(fn) {
    return this.sessions.subscribe(fn);
  }

  // Live events: kept per session, for the fallback and for a timeline's newest events.
  add(events) {
    for (const ev of events) {
      const id = ev.session_id;
      if (!id) {
        continue;
      }
      let s = this.#live.get(id);
      if (!s) {
        s = { events: [], first: eventTimeMs(ev), last: 0, errors: 0, toolCalls: 0, ended: false, source: ev.source };
        this.#live.set(id, s);
        if (this.#live.size > LIVE_SESSIONS) {
          this.#live.delete(this.#live.keys().next().value);
        }
      }
      s.events.push(ev);
      if (s.events.length > LIVE_EVENTS_PER_SESSION) {
        s.events.shift();
      }
      const t = eventTimeMs(ev);
      s.first = Math.min(s.first, t);
      s.last = Math.max(s.last, t);
      s.errors += isError(ev) ? 1 : 0;
      s.toolCalls += ev.type === 'tool_call' ? 1 : 0;
      s.ended ||= ev.type === 'session_end';
    }
  }

  liveSessions(nowMs = Date.now()) {
    return [...this.#live].map(([id, s]) => ({
      id,
      state: s.ended ? 'ended' : nowMs - s.last > 5 * 60_000 ? 'idle' : 'active',
      firstSeen: new Date(s.first).toISOString(),
      lastSeen: new Date(s.last).toISOString(),
      events: s.events.length,
      errors: s.errors,
      toolCalls: s.toolCalls,
      p95: null,
      source: s.source ?? null,
    })).sort((a, b) => (a.lastSeen < b.lastSeen ? 1 : -1));
  }

  async refresh() {
    const res = await this.#fetchJson('/api/v1/sessions?limit=50', { method: 'GET' });
    if (res.ok) {
      const list = Array.isArray(res.body) ? res.body : res.body?.sessions ?? [];
      this.available.set(true);
      this.sessions.set(list.map(normalizeSession));
      return;
    }
    this.available.set(false);
    this.sessions.set(this.liveSessions());
  }

  // { from: 'server' | 'live', summary, waterfall }
  async timeline(id) {
    if (this.available.get() !== false) {
      const res = await this.#fetchJson(`/api/v1/sessions/${encodeURIComponent(id)}`, { method: 'GET' });
      if (res.ok) {
        return { from: 'server', summary: res.body?.session ?? null, ...waterfall(flattenTimeline(res.body)) };
      }
    }
    const s = this.#live.get(id);
    return { from: 'live', summary: null, ...waterfall(s ? s.events : []) };
  }
}
