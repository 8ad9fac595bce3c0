// supabase-client.js -- the official supabase-js client, set up for the dashboard.
//
// By default it talks to the telltale that served the page (its /rest/v1 and
// /realtime/v1), with the page's key (api-client.js). Pointing the Realtime path at a real
// Supabase project is a setting kept in this browser's localStorage under
// `telltale.realtime`: {"url":"https://PROJECT.supabase.co","key":"ANON_KEY"} (set it from
// the page's settings, or `app.setRealtimeEndpoint(url, key)` in the console; clear it to
// come back to telltale). Such a server does not replay by `after_seq`, so the adapter
// backfills by REST after each join instead.
//
// supabase-js's browser build (dist/umd/supabase.js, from npm, embedded at build time) is
// loaded by index.html as a classic script and defines the global `supabase`.

import { apiKey, baseUrl } from './api-client.js';
import { fullJitterDelay } from './backoff.js';
import { Value } from './observable.js';

export const ENDPOINT_STORAGE = 'telltale.realtime';

// supabase-js insists on a key; telltale without keys configured trusts any caller on
// loopback and ignores it.
const NO_KEY = 'telltale-no-key';

// The endpoint the Realtime path uses: { url, key, custom } (custom: a Supabase project).
export function realtimeEndpoint({ storage = globalThis.localStorage, href, key = apiKey.get() } = {}) {
  let saved = null;
  try {
    saved = JSON.parse(storage?.getItem(ENDPOINT_STORAGE) ?? 'null');
  } catch {
    saved = null;
  }
  if (saved && typeof saved.url === 'string' && /^https?:\/\//.test(saved.url)) {
    return { url: saved.url.replace(/\/+$/, ''), key: saved.key || NO_KEY, custom: true };
  }
  return { url: baseUrl(href).replace(/\/+$/, ''), key: key || NO_KEY, custom: false };
}

export function setRealtimeEndpoint(url, key, storage = globalThis.localStorage) {
  if (url) {
    storage?.setItem(ENDPOINT_STORAGE, JSON.stringify({ url, key }));
  } else {
    storage?.removeItem(ENDPOINT_STORAGE);
  }
}

// Reconnect delays for realtime-js (`tries` counts from 1): full jitter, 250 ms doubling
// to 10 s, like the /ws path.
export function realtimeReconnectDelay(tries, rnd = Math.random()) {
  return fullJitterDelay(tries - 1, 250, 10_000, rnd);
}

// Delays before realtime-js joins a channel again after a join failed or timed out (`tries`
// counts from 1): full jitter, 1 s doubling to 10 s. realtime-js's own schedule is fixed
// (1, 2, 5, then 10 s), so pages refused together would return together.
export function realtimeRejoinDelay(tries, rnd = Math.random()) {
  return fullJitterDelay(tries - 1, 1000, 10_000, rnd);
}

// realtime-js takes no rejoin option (its RealtimeClient does not pass one on to the Phoenix
// socket underneath), but every channel's rejoin timer reads the socket's rejoinAfterMs when
// the channel is made: set it there, before any channel. Returns whether it could (the unit
// test checks it still can with the supabase-js in web/package-lock.json).
export function useRejoinBackoff(client, delay = realtimeRejoinDelay) {
  const socket = client?.realtime?.socketAdapter?.socket;
  if (typeof socket?.rejoinAfterMs !== 'function') {
    console.warn('telltale realtime: this realtime-js has no socket rejoinAfterMs; channels rejoin on its own schedule');
    return false;
  }
  socket.rejoinAfterMs = (tries) => delay(tries);
  return true;
}

// Creates the client. `createClient` defaults to the browser build's global.
export function createSupabaseClient({ createClient = globalThis.supabase?.createClient,
                                       endpoint = realtimeEndpoint() } = {}) {
  if (typeof createClient !== 'function') {
    throw new Error('supabase-js is not loaded (vendor/supabase.js)');
  }
  const client = createClient(endpoint.url, endpoint.key, {
    db: { schema: 'monitoring' },
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { reconnectAfterMs: (tries) => realtimeReconnectDelay(tries) },
  });
  useRejoinBackoff(client);
  return { client, endpoint };
}

// Connection status of a client's Realtime socket, polled (realtime-js has no event for
// it): Value of 'connected' | 'disconnected'.
export function connectionStatus(client, { everyMs = 1000 } = {}) {
  const v = new Value('disconnected');
  const read = () => {
    const up = Boolean(client.realtime?.isConnected?.());
    const s = up ? 'connected' : 'disconnected';
    if (v.get() !== s) {
      v.set(s);
    }
  };
  read();
  const timer = setInterval(read, everyMs);
  return { status: v, stop: () => clearInterval(timer) };
}
