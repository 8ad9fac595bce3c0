// cross-session-state.js -- dashboard settings that follow the operator: this tab, the other
// tabs of this browser, and every session of the same client id (the server).
//
// Three layers. localStorage answers at once, also offline. A BroadcastChannel tells the
// other tabs of this browser about each change. The server (`/api/v1/state/{client_id}`)
// keeps each key with a `version`; writes carry `If-Match: "<version>"`, and a 412 (someone
// else wrote first: the If-Match was false, RFC 9110 §13.1.1) answers with the current version: the operator's latest action wins,
// so the write is repeated on top of it, once. A key changed remotely is adopted when its
// version is newer than ours. When the route is missing (404) the state stays local.

import { Topic, Value } from './observable.js';

const PREFIX = 'telltale.state.';

// The current version and value out of a 412 body, in the shapes it may take:
// {version, value}, {current:{version,value}}, {error:{..., version, value}}.
export function conflictOf(body) {
  for (const c of [body, body?.current, body?.error, body?.error?.current]) {
    if (c && Number.isFinite(c.version)) {
      return { version: c.version, value: c.value };
    }
  }
  return null;
}

// The server's state for one client as { key: { value, version } }, from
// {state:{key:{value,version}}}, {items|keys|state:[{key,value,version}]} or {key:{value,version}}.
export function entriesOf(body) {
  const out = {};
  const src = body?.state ?? body?.items ?? body?.keys ?? body;
  if (Array.isArray(src)) {
    for (const e of src) {
      if (e && typeof e.key === 'string') {
        out[e.key] = { value: e.value, version: Number(e.version) || 0 };
      }
    }
  } else if (src && typeof src === 'object') {
    for (const [k, e] of Object.entries(src)) {
      if (e && typeof e === 'object' && 'value' in e) {
        out[k] = { value: e.value, version: Number(e.version) || 0 };
      }
    }
  }
  return out;
}

function versionOf(res) {
  if (Number.isFinite(res.body?.version)) {
    return res.body.version;
  }
  const etag = res.headers?.get?.('ETag');
  const m = etag && /"?(\d+)"?/.exec(etag);
  return m ? Number(m[1]) : null;
}

export class CrossSessionState {
  // fn({ key, value, origin: 'local' | 'tab' | 'server' })
  changes = new Topic();
  // null (not asked yet) | true | false (route missing or unreachable)
  serverAvailable = new Value(null);

  #clientId;
  #storage;
  #fetchJson;
  #channel;
  #writes = new Map(); // key -> promise chain, so writes to one key go in order

  constructor({ clientId, fetchJson, storage = globalThis.localStorage,
                channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('telltale-state') : null }) {
    this.#clientId = clientId;
    this.#fetchJson = fetchJson;
    this.#storage = storage;
    this.#channel = channel;
    if (channel) {
      channel.onmessage = (e) => this.#fromTab(e.data);
    }
  }

  get clientId() {
    return this.#clientId;
  }

  subscribe(fn) {
    return this.changes.subscribe(fn);
  }

  get(key, fallback = undefined) {
    const rec = this.#read(key);
    return rec ? rec.value : fallback;
  }

  version(key) {
    return this.#read(key)?.version ?? 0;
  }

  // Sets a key here, tells the other tabs, and writes it to the server; resolves when the
  // server has it (or is known not to keep state).
  set(key, value) {
    const rec = { value, version: this.version(key), dirty: true };
    this.#write(key, rec);
    this.#channel?.postMessage({ clientId: this.#clientId, key, value, version: rec.version });
    this.changes.emit({ key, value, origin: 'local' });
    const chain = (this.#writes.get(key) ?? Promise.resolve()).then(() => this.#push(key));
    this.#writes.set(key, chain);
    return chain;
  }

  // Reads the server's state; newer versions win; local changes the server has not seen
  // are written to it.
  async load() {
    const res = await this.#fetchJson(`/api/v1/state/${encodeURIComponent(this.#clientId)}`, { method: 'GET' });
    if (!res.ok) {
      this.serverAvailable.set(false);
      return;
    }
    this.serverAvailable.set(true);
    for (const [key, e] of Object.entries(entriesOf(res.body))) {
      this.applyRemote({ key, value: e.value, version: e.version });
    }
    const dirty = [];
    for (let i = 0; i < (this.#storage?.length ?? 0); i++) {
      const k = this.#storage.key(i);
      if (k?.startsWith(PREFIX) && this.#read(k.slice(PREFIX.length))?.dirty) {
        dirty.push(k.slice(PREFIX.length));
      }
    }
    await Promise.all(dirty.map((k) => this.#push(k)));
  }

  // A server push: one key ({key, value, version}) or, as telltale pushes it on /ws and
  // Realtime, the client's whole state ({client_id, state: {KEY: {value, version}}}).
  applyPush(msg) {
    if (msg?.state && typeof msg.state === 'object') {
      for (const [key, e] of Object.entries(entriesOf(msg))) {
        this.applyRemote({ key, value: e.value, version: e.version, client_id: msg.client_id });
      }
    } else {
      this.applyRemote(msg ?? {});
    }
  }

  // A change made elsewhere (a server push, a load): adopted if newer than ours.
  applyRemote({ key, value, version, client_id: cid }) {
    if (typeof key !== 'string' || (cid && cid !== this.#clientId)) {
      return;
    }
    const mine = this.#read(key);
    if (mine && (mine.dirty || mine.version >= version)) {
      return;
    }
    this.#write(key, { value, version, dirty: false });
    this.changes.emit({ key, value, origin: 'server' });
  }

  close() {
    this.#channel?.close();
  }

  async #push(key) {
    if (this.serverAvailable.get() === false) {
      return;
    }
    const path = `/api/v1/state/${encodeURIComponent(this.#clientId)}/${encodeURIComponent(key)}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const rec = this.#read(key);
      if (!rec?.dirty) {
        return;
      }
      const headers = rec.version > 0 ? { 'If-Match': `"${rec.version}"` } : {};
      const res = await this.#fetchJson(path, { method: 'PUT', headers, body: JSON.stringify({ value: rec.value }) });
      if (res.ok) {
        const v = versionOf(res) ?? rec.version + 1;
        const now = this.#read(key);
        // Only clean if no newer local change arrived while the request was out.
        this.#write(key, { value: now.value, version: v, dirty: now.value !== rec.value && JSON.stringify(now.value) !== JSON.stringify(rec.value) });
        return;
      }
      if (res.status === 412) {
        const c = conflictOf(res.body);
        if (!c) {
          return;
        }
        this.#write(key, { ...this.#read(key), version: c.version }); // then write on top
        continue;
      }
      if (res.status === 404 || res.status === 405 || res.status === 0) {
        this.serverAvailable.set(false);
      }
      return;
    }
  }

  #fromTab(msg) {
    if (!msg || msg.clientId !== this.#clientId || typeof msg.key !== 'string') {
      return;
    }
    // The tab that wrote also writes the server; here it is only shown.
    this.#write(msg.key, { value: msg.value, version: msg.version, dirty: false });
    this.changes.emit({ key: msg.key, value: msg.value, origin: 'tab' });
  }

  #read(key) {
    try {
      return JSON.parse(this.#storage?.getItem(PREFIX + key) ?? 'null');
    } catch {
      return null;
    }
  }

  #write(key, rec) {
    try {
      this.#storage?.setItem(PREFIX + key, JSON.stringify(rec));
    } catch {
      // storage full or disabled: the value still reached the views
    }
  }
}
