// feature-flag-client.js -- the server's feature flags as this dashboard sees them.
//
// Evaluation is the server's: the bulk OFREP route (`POST /ofrep/v1/evaluate/flags` with
// this dashboard's client id as `targetingKey`, so a percentage rollout puts this dashboard
// in or out the same way every time), with its ETag (304 = unchanged). If that route is
// missing or fails, `GET /api/v1/flags` is read and evaluated where that is unambiguous
// (disabled, or rolled out to 0 % or 100 %). If neither answers, the last values this
// browser saw (localStorage) are used, and failing those the defaults. Every value says
// where it came from. A push (`flags` on /ws, the `flags` broadcast on Realtime) triggers
// a fresh evaluation at once; the client also re-reads every pollMs.

import { Value } from './observable.js';

export const FLAG_DEFAULTS = Object.freeze({ 'dashboard.data_source': 'legacy' });
const CACHE_KEY = 'telltale.flags';

// A flag definition (a row of feature_flags) evaluated without the server's bucket hash:
// { value, reason } when the answer does not depend on the bucket, else null.
export function evaluateDefinition(def, fallback) {
  if (!def || typeof def !== 'object') {
    return null;
  }
  if (def.enabled === false) {
    return { value: fallback, reason: 'DISABLED' };
  }
  const pct = def.rollout_percent ?? 100;
  const on = def.variant ?? true;
  if (pct >= 100) {
    return { value: on, reason: 'STATIC', variant: def.variant ?? undefined };
  }
  if (pct <= 0) {
    return { value: fallback, reason: 'DEFAULT' };
  }
  return null;
}

// A list of flag definitions from /api/v1/flags in any of the shapes it may take:
// [{key,...}], {flags:[...]}, {flags:{key:{...}}}.
export function definitionsOf(body) {
  const list = Array.isArray(body) ? body : body?.flags;
  if (Array.isArray(list)) {
    return list.filter((f) => f && typeof f.key === 'string');
  }
  if (list && typeof list === 'object') {
    return Object.entries(list).map(([key, f]) => ({ key, ...(typeof f === 'object' ? f : { variant: f }) }));
  }
  return [];
}

export class FeatureFlagClient {
  // key -> { value, reason, variant?, from: 'server' | 'definition' | 'cache' | 'default' }
  values;
  // 'unknown' | 'ofrep' | 'flags' | 'unavailable'
  source = new Value('unknown');

  #fetchJson;
  #clientId;
  #defaults;
  #storage;
  #pollMs;
  #etag = null;
  #timer = null;
  #inflight = null;

  // fetchJson(path, init) answers { status, ok, body, headers } (api-client's apiJson).
  constructor({ fetchJson, clientId, defaults = FLAG_DEFAULTS, storage = globalThis.localStorage,
                pollMs = 30_000 }) {
    this.#fetchJson = fetchJson;
    this.#clientId = clientId;
    this.#defaults = { ...defaults };
    this.#storage = storage;
    this.#pollMs = pollMs;
    const initial = {};
    const cached = this.#readCache();
    for (const [key, value] of Object.entries(this.#defaults)) {
      initial[key] = cached?.[key] !== undefined
        ? { value: cached[key], reason: 'CACHED', from: 'cache' }
        : { value, reason: 'DEFAULT', from: 'default' };
    }
    this.values = new Value(initial);
  }

  get(key) {
    return this.values.get()[key]?.value ?? this.#defaults[key];
  }

  subscribe(fn) {
    return this.values.subscribe(fn);
  }

  start() {
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.refresh(), this.#pollMs);
    }
    return this.refresh();
  }

  stop() {
    clearInterval(this.#timer);
    this.#timer = null;
  }

  // A pushed change (its `flags` member, in whatever shape): definitive parts are applied
  // at once, then the server evaluates again for this client.
  applyPush(flags) {
    const next = { ...this.values.get() };
    let changed = false;
    for (const def of definitionsOf({ flags })) {
      if (!(def.key in this.#defaults)) {
        continue;
      }
      let r = null;
      if ('value' in def) {
        r = { value: def.value, reason: def.reason ?? 'STATIC' };
      } else {
        r = evaluateDefinition(def, this.#defaults[def.key]);
      }
      if (r) {
        next[def.key] = { ...r, from: 'push' };
        changed = true;
      }
    }
    if (changed) {
      this.#publish(next);
    }
    this.#etag = null;
    return this.refresh();
  }

  // Evaluates every flag again; resolves when done. Concurrent calls share one request.
  refresh() {
    this.#inflight ??= this.#refresh().finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  async #refresh() {
    const headers = this.#etag ? { 'If-None-Match': this.#etag } : {};
    const res = await this.#fetchJson('/ofrep/v1/evaluate/flags', {
      method: 'POST',
      headers,
      body: JSON.stringify({ context: { targetingKey: this.#clientId } }),
    });
    if (res.status === 304) {
      this.source.set('ofrep');
      return;
    }
    if (res.ok && Array.isArray(res.body?.flags)) {
      this.#etag = res.headers?.get?.('ETag') ?? null;
      const next = {};
      for (const [key, value] of Object.entries(this.#defaults)) {
        const f = res.body.flags.find((x) => x?.key === key);
        if (f && !f.errorCode && f.value !== undefined) {
          next[key] = { value: f.value, reason: f.reason ?? 'UNKNOWN', variant: f.variant, from: 'server' };
        } else {
          next[key] = { value, reason: f?.errorCode ?? 'DEFAULT', from: 'default' };
        }
      }
      this.source.set('ofrep');
      this.#publish(next);
      return;
    }
    const list = await this.#fetchJson('/api/v1/flags', { method: 'GET' });
    if (list.ok) {
      const defs = definitionsOf(list.body);
      const next = { ...this.values.get() };
      for (const [key, value] of Object.entries(this.#defaults)) {
        const r = evaluateDefinition(defs.find((d) => d.key === key), value);
        next[key] = r ? { ...r, from: 'definition' } : { value, reason: 'DEFAULT', from: 'default' };
      }
      this.source.set('flags');
      this.#publish(next);
      return;
    }
    this.source.set('unavailable'); // keep what we have: cache or defaults
  }

  #publish(next) {
    const prev = this.values.get();
    if (JSON.stringify(prev) === JSON.stringify(next)) {
      return;
    }
    this.values.set(next);
    const cache = {};
    for (const [k, v] of Object.entries(next)) {
      if (v.from !== 'default') {
        cache[k] = v.value;
      }
    }
    try {
      this.#storage?.setItem(CACHE_KEY, JSON.stringify(cache));
    } catch {
      // storage full or disabled: the cache is a convenience
    }
  }

  #readCache() {
    try {
      return JSON.parse(this.#storage?.getItem(CACHE_KEY) ?? 'null');
    } catch {
      return null;
    }
  }
}
