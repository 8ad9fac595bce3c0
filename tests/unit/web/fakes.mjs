// fakes.mjs -- small stand-ins for the browser's storage, fetch and BroadcastChannel, shared by
// the dashboard's unit tests.

export class FakeStorage {
  #m = new Map();
  get length() {
    return this.#m.size;
  }
  key(i) {
    return [...this.#m.keys()][i] ?? null;
  }
  getItem(k) {
    return this.#m.has(k) ? this.#m.get(k) : null;
  }
  setItem(k, v) {
    this.#m.set(k, String(v));
  }
  removeItem(k) {
    this.#m.delete(k);
  }
}

// A fetchJson (api-client's apiJson shape) answering from a route table:
// routes['METHOD /path'] = (init, call) => ({ status, body, headers }). Unlisted: 404.
export function fakeFetchJson(routes) {
  const calls = [];
  const fn = async (path, init = {}) => {
    const method = init.method ?? 'GET';
    const call = { method, path, headers: { ...(init.headers ?? {}) }, body: init.body ? JSON.parse(init.body) : undefined };
    calls.push(call);
    const route = routes[`${method} ${path.split('?')[0]}`];
    const r = route ? await route(call) : { status: 404, body: { error: { code: 'not_found' } } };
    const headers = new Headers(r.headers ?? {});
    return { status: r.status, ok: r.status >= 200 && r.status < 300, body: r.body ?? null, headers };
  };
  fn.calls = calls;
  return fn;
}

// BroadcastChannels that reach each other (not themselves), like the browser's.
export class FakeBroadcastHub {
  #members = new Set();
  channel() {
    const hub = this.#members;
    const ch = {
      onmessage: null,
      postMessage(data) {
        for (const other of hub) {
          if (other !== ch) {
            other.onmessage?.({ data: structuredClone(data) });
          }
        }
      },
      close() {
        hub.delete(ch);
      },
    };
    hub.add(ch);
    return ch;
  }
}
