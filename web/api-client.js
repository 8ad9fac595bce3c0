// api-client.js -- every HTTP call and WebSocket URL of the dashboard goes through here.
//
// The one place that knows where telltale is and which key the page holds: the key (when
// access control is on) is kept in sessionStorage and sent as `apikey` and
// `Authorization: Bearer` headers on fetch, and as `?apikey=` on WebSocket URLs, the way
// supabase-js sends it. A key dialog only has to call setApiKey().

import { Value } from './observable.js';

const KEY_STORAGE = 'telltale.apikey';

function sessionStore() {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null; // storage disabled by the browser's settings
  }
}

// The key the page holds, or '' when none (telltale on loopback without keys).
export const apiKey = new Value(sessionStore()?.getItem(KEY_STORAGE) ?? '');

export function setApiKey(key) {
  const store = sessionStore();
  if (key) {
    store?.setItem(KEY_STORAGE, key);
  } else {
    store?.removeItem(KEY_STORAGE);
  }
  apiKey.set(key || '');
}

// The page's base: where index.html came from (telltale serves the API next to it).
export function baseUrl(href = globalThis.location?.href ?? 'http://127.0.0.1/') {
  const url = new URL('.', href);
  url.search = '';
  url.hash = '';
  return url.href;
}

// fetch() relative to the page, with the key's headers. Never throws for an HTTP status;
// a network failure rejects as fetch does.
export function apiFetch(path, init = {}, { fetchFn = globalThis.fetch, href } = {}) {
  const headers = new Headers(init.headers ?? {});
  const key = apiKey.get();
  if (key) {
    headers.set('apikey', key);
    headers.set('Authorization', `Bearer ${key}`);
  }
  if (typeof init.body === 'string' && !headers.has('Content-Type')) {
    headers.set('Content-Type', 'application/json');
  }
  return fetchFn(new URL(path.replace(/^\//, ''), baseUrl(href)).href, { ...init, headers });
}

// apiFetch, answered as { status, ok, body (parsed JSON or null), headers }. A network
// failure answers status 0.
export async function apiJson(path, init = {}, opts = {}) {
  let res;
  try {
    res = await apiFetch(path, init, opts);
  } catch (err) {
    return { status: 0, ok: false, body: null, headers: new Headers(), error: err };
  }
  let body = null;
  const text = await res.text().catch(() => '');
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  return { status: res.status, ok: res.ok, body, headers: res.headers };
}

// A WebSocket URL next to the page (ws: or wss:), with the key as ?apikey=.
export function wsUrl(path, href) {
  const url = new URL(path.replace(/^\//, ''), baseUrl(href));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const key = apiKey.get();
  if (key) {
    url.searchParams.set('apikey', key);
  }
  return url.href;
}
