// lib.mjs -- the official @supabase/supabase-js client pointed at a real telltale, for the
// compatibility suites. Nothing here fakes the client: these are the calls an application
// makes, over the protocol versions the client speaks (vsn 2.0.0, its default, and 1.0.0).

import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { createHmac } from 'node:crypto';
import net from 'node:net';

import { withTimeout, waitFor } from '../integration/lib/daemon.mjs';

export const VSNS = ['2.0.0', '1.0.0'];

// supabase-js on Node 20 prints a deprecation warning once per client; it says nothing about
// telltale, so it is kept out of the test output.
const warn = console.warn;
console.warn = (...args) => {
  if (!String(args[0]).includes('Node.js 20 and below are deprecated')) {
    warn(...args);
  }
};

// A supabase-js client for daemon d (or a base URL). key: the apikey it sends (any string
// when telltale has no keys configured).
export function client(d, { vsn = '2.0.0', key = 'no-keys-configured', realtime = {} } = {}) {
  const base = typeof d === 'string' ? d : d.base;
  return createClient(base, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    db: { schema: 'monitoring' },
    realtime: { transport: WebSocket, vsn, ...realtime },
  });
}

// Subscribes 'channel'; resolves once SUBSCRIBED, rejects with the error of CHANNEL_ERROR or
// TIMED_OUT. Later statuses (a rejoin after a restart) go to channel.statuses.
export function subscribe(channel, { timeoutMs = 10_000 } = {}) {
  channel.statuses = [];
  const done = new Promise((resolve, reject) => {
    channel.subscribe((status, err) => {
      channel.statuses.push(status);
      if (status === 'SUBSCRIBED') {
        resolve(channel);
      } else if (status === 'CHANNEL_ERROR' || status === 'TIMED_OUT') {
        reject(err ?? new Error(status));
      }
    });
  });
  return withTimeout(done, timeoutMs, `channel ${channel.topic} to be SUBSCRIBED`);
}

// Waits until list holds at least n items; returns it.
export function collected(list, n, what, timeoutMs = 10_000) {
  return waitFor(`${n} ${what} (have ${list.length})`, () => list.length >= n && list,
                 { timeoutMs });
}

// An HS256 JWT signed with secret, as a Supabase project's keys and sessions are.
export function jwt(secret, claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ iat: Math.floor(Date.now() / 1000), ...claims });
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

// A TCP port free at the moment, for a daemon that must come back on the same address.
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// A raw WebSocket on the Realtime endpoint, for what the official client never sends.
// Collects every message (parsed when text) in .messages; send() takes an array (vsn 2.0.0)
// or an object (1.0.0), or a Buffer sent as a binary frame.
export class RawRealtime {
  messages = [];
  closed = null;

  static async open(d, { vsn = '2.0.0', apikey = 'x', query } = {}) {
    const r = new RawRealtime();
    const q = query ?? `apikey=${encodeURIComponent(apikey)}&vsn=${vsn}`;
    r.ws = new WebSocket(`ws://${d.host}:${d.port}/realtime/v1/websocket?${q}`);
    r.ws.binaryType = 'arraybuffer';
    r.ws.on('message', (data, isBinary) => {
      r.messages.push(isBinary ? Buffer.from(data) : JSON.parse(data.toString()));
    });
    r.ws.on('close', (code, reason) => {
      r.closed = { code, reason: reason.toString() };
    });
    await withTimeout(new Promise((resolve, reject) => {
      r.ws.once('open', resolve);
      r.ws.once('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (c) => { body += c; });
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`),
                                                 { status: res.statusCode, body })));
      });
      r.ws.once('error', reject);
    }), 5_000, 'the Realtime WebSocket to open');
    return r;
  }

  send(msg) {
    this.ws.send(Buffer.isBuffer(msg) ? msg : JSON.stringify(msg), { binary: Buffer.isBuffer(msg) });
  }

  // The first message (in arrival order) for which pred is true, waiting for it.
  async next(what, pred, timeoutMs = 5_000) {
    return waitFor(what, () => this.messages.find(pred), { timeoutMs });
  }

  close() {
    this.ws.close();
  }
}

// The reply to ref, in either serializer's shape, as {topic, event, payload}.
export function asMessage(m) {
  if (Array.isArray(m)) {
    const [join_ref, ref, topic, event, payload] = m;
    return { join_ref, ref, topic, event, payload };
  }
  return m;
}
