// peer.mjs -- bench/fanout's peer: a broadcast server written the way a Node team would write
// one with the `ws` package, fed the same events as telltale and pushing the same JSON as
// telltale's /ws ({"type":"event","seq":S,"event":{...}}, one message per event).
//
//   node bench/fanout/peer.mjs --mode send|cork    (prints "listening on http://127.0.0.1:PORT")
//
// POST /api/v1/events (a JSON array, as telltale takes it) assigns each event a seq, an id and
// received_at, renders its message once (one Buffer shared by every subscriber) and answers
// 202 {"accepted":N}. Nothing is stored: the peer does no durable write, where telltale
// commits every event before pushing it -- the comparison favours the peer.
//
// GET /ws: a subscriber; it gets a hello, then every event, or only those of the source its
// {"type":"subscribe","filter":{"source":S}} names (the /ws filter, source only).
//
// Two send modes:
//   send  one ws.send() per message per subscriber, as the messages come (the simple loop)
//   cork  messages are collected for one event-loop turn (setImmediate), then each subscriber's
//         socket is corked, gets every message of the turn, and is uncorked: one write per
//         subscriber per turn
// Both use ws's own framing (no permessage-deflate), as telltale's /ws sends plain frames.

import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';

const mode = process.argv[process.argv.indexOf('--mode') + 1];
if (mode !== 'send' && mode !== 'cork') {
  console.error('usage: node bench/fanout/peer.mjs --mode send|cork');
  process.exit(2);
}

const MAX_BODY = 8 << 20;
let seq = 0;
const clients = new Set(); // { ws, source }
let pending = [];          // cork mode: [{ source, buf }] of this turn
let flushScheduled = false;

function render(ev) {
  seq += 1;
  const now = Date.now();
  const stored = {
    seq,
    id: ev.id ?? randomUUID(),
    ts: new Date(typeof ev.ts === 'number' ? ev.ts : now).toISOString(),
    received_at: new Date(now).toISOString(),
    ...ev,
  };
  return { source: ev.source ?? '', buf: Buffer.from(JSON.stringify({ type: 'event', seq, event: stored })) };
}

function sendAll(msg) {
  for (const c of clients) {
    if (c.source === null || c.source === msg.source) {
      c.ws.send(msg.buf, { binary: false });
    }
  }
}

function flush() {
  flushScheduled = false;
  const msgs = pending;
  pending = [];
  for (const c of clients) {
    const sock = c.ws._socket;
    sock.cork();
    for (const msg of msgs) {
      if (c.source === null || c.source === msg.source) {
        c.ws.send(msg.buf, { binary: false });
      }
    }
    sock.uncork();
  }
}

function broadcast(events) {
  for (const ev of events) {
    const msg = render(ev);
    if (mode === 'send') {
      sendAll(msg);
    } else {
      pending.push(msg);
    }
  }
  if (mode === 'cork' && !flushScheduled && pending.length > 0) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

function answer(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/api/v1/events') {
    answer(res, 404, { error: { code: 'not_found', message: 'POST /api/v1/events only' } });
    return;
  }
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size <= MAX_BODY) {
      chunks.push(c);
    }
  });
  req.on('end', () => {
    if (size > MAX_BODY) {
      answer(res, 413, { error: { code: 'too_large', message: `body over ${MAX_BODY} bytes` } });
      return;
    }
    let events;
    try {
      events = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (e) {
      answer(res, 400, { error: { code: 'invalid_json', message: e.message } });
      return;
    }
    events = Array.isArray(events) ? events : [events];
    broadcast(events);
    answer(res, 202, { accepted: events.length });
  });
});

const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false });
wss.on('connection', (ws) => {
  const c = { ws, source: null };
  clients.add(c);
  ws.send(JSON.stringify({ type: 'hello', server_seq: seq, flags: {} }));
  ws.on('message', (data) => {
    let m;
    try {
      m = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (m.type === 'subscribe') {
      c.source = m.filter?.source ?? null;
    }
  });
  ws.on('close', () => clients.delete(c));
  ws.on('error', () => clients.delete(c));
});

server.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));
