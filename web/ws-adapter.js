// ws-adapter.js -- the legacy live path: one WebSocket to /ws, gap-free across reconnects.
//
// Every event the server pushes carries its store `seq`. The adapter applies each seq at
// most once and keeps a cursor: the seq up to which it has applied everything the server
// will ever send. When the connection drops it reconnects with exponential backoff and
// jitter and sends {"type":"resume","after_seq":cursor}; the server then replays every
// committed event after the cursor in order, then the live tail.
//
// One race needs care. After `hello` the server may push live events (seq > server_seq)
// before it has read our `resume`; it sends them again, in order, once it has. If those
// early events moved the cursor, the replayed events below them would look like
// duplicates and be lost. So while catching up to the hello's server_seq, events above it
// are applied (shown at once) but parked in `#ahead` instead of moving the cursor; the
// replay later moves the cursor across them and their second copies are dropped.
//
// The first connection resumes a little before server_seq (`backfill`), so the page
// opens with recent history through the same gap-free path.

import { Topic, Value } from './observable.js';

// Delay before reconnect attempt `attempt` (0-based): the ceiling doubles from baseMs up
// to capMs, and the delay is drawn from its upper half ("equal jitter") so that clients
// dropped together do not return together, yet none retries sooner than half the ceiling.
// `rnd` is a number in [0, 1).
export function backoffDelay(attempt, baseMs, capMs, rnd) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + (rnd * ceiling) / 2;
}

// The /ws URL next to the page, whatever host, port, scheme or path prefix serves it.
// (The page itself uses api-client.js's wsUrl, which adds the key.)
export function liveUrl(href = location.href) {
  const url = new URL('ws', href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';
  return url.href;
}

const AHEAD_LIMIT = 10_000;

export class WsAdapter {
  // { state: 'connecting' | 'connected' | 'reconnecting' | 'offline',
  //   attempt, retryAt (epoch ms of the next attempt, or null), serverSeq }
  status = new Value({ state: 'connecting', attempt: 0, retryAt: null, serverSeq: null });
  // Arrays of newly applied events, each seq exactly once, normally ascending.
  events = new Topic();
  // The server's latest `stats` message (null until the first).
  stats = new Value(null);
  // The server's history restarted below our cursor (a new, empty store): views clear.
  reset = new Topic();
  // The server's flags, from `hello` and from each `flags` message (its `flags` member).
  flags = new Topic();
  // Any other message this adapter does not handle itself (e.g. a `state` push).
  messages = new Topic();

  #url;
  #opts;
  #ws = null;
  #retryTimer = null;
  #pingTimer = null;
  #attempt = 0;
  #running = false;
  #lastMessageAt = 0;

  #cursor = null; // null until the first hello
  #catchUpTo = null; // server_seq of the current connection's hello while replaying
  #ahead = new Set(); // applied seqs above the cursor, see the comment at the top

  constructor(url, opts = {}) {
    this.#url = url;
    this.#opts = {
      backfill: 200,
      baseDelayMs: 250,
      maxDelayMs: 10_000,
      pingEveryMs: 10_000,
      staleAfterMs: 25_000, // the server sends stats every second; silence means a dead link
      random: Math.random,
      // Delay before reconnect attempt `attempt`, given a random number in [0, 1).
      delay: null,
      // Where the first connection resumes from instead of `backfill` before server_seq
      // (a hand-over from another path that has applied everything up to it).
      initialCursor: null,
      // A dashboard client id whose state changes this connection asks for (DESIGN §5
      // "Dashboard state": state_subscribe after each hello), or null.
      stateClientId: null,
      ...opts,
    };
  }

  // True while a resume is replaying what was committed before this connection's hello.
  get catchingUp() {
    return this.#catchUpTo !== null;
  }

  // The seq up to which every event has been applied, or null before the first hello.
  get cursor() {
    return this.#cursor;
  }

  start() {
    if (this.#running) {
      return;
    }
    this.#running = true;
    addEventListener('online', this.#onOnline);
    addEventListener('offline', this.#onOffline);
    this.#pingTimer = setInterval(() => this.#keepalive(), this.#opts.pingEveryMs);
    this.#connect();
  }

  stop() {
    this.#running = false;
    removeEventListener('online', this.#onOnline);
    removeEventListener('offline', this.#onOffline);
    clearInterval(this.#pingTimer);
    clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#detach()?.close(1000, 'client stopped');
    this.#setStatus('offline');
  }

  // Sends a client message if connected; returns whether it was sent.
  send(msg) {
    if (this.#ws?.readyState !== WebSocket.OPEN) {
      return false;
    }
    this.#ws.send(JSON.stringify(msg));
    return true;
  }

  #connect() {
    this.#retryTimer = null;
    const ws = new WebSocket(typeof this.#url === 'function' ? this.#url() : this.#url);
    ws.onmessage = (e) => this.#onMessage(e.data);
    ws.onclose = () => this.#lost();
    this.#ws = ws;
    this.#lastMessageAt = Date.now();
    const st = this.status.get().state;
    this.#setStatus(st === 'connecting' ? 'connecting' : 'reconnecting');
  }

  // Forgets the current socket without waiting for its close handshake; returns it.
  #detach() {
    const ws = this.#ws;
    if (ws) {
      ws.onmessage = ws.onclose = null;
      this.#ws = null;
    }
    return ws;
  }

  #lost() {
    this.#detach();
    if (!this.#running) {
      return;
    }
    if (navigator.onLine === false) {
      this.#setStatus('offline'); // #onOnline reconnects
      return;
    }
    const rnd = this.#opts.random();
    const delay = this.#opts.delay
      ? this.#opts.delay(this.#attempt, rnd)
      : backoffDelay(this.#attempt, this.#opts.baseDelayMs, this.#opts.maxDelayMs, rnd);
    this.#attempt++;
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
    this.#setStatus('reconnecting', Date.now() + delay);
  }

  #onOnline = () => {
    if (this.#running && !this.#ws) {
      clearTimeout(this.#retryTimer);
      this.#attempt = 0;
      this.#connect();
    }
  };

  #onOffline = () => {
    if (this.#running && !this.#ws) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
      this.#setStatus('offline');
    }
  };

  #keepalive() {
    if (!this.#ws || this.#ws.readyState !== WebSocket.OPEN) {
      return;
    }
    if (Date.now() - this.#lastMessageAt > this.#opts.staleAfterMs) {
      this.#detach().close(4000, 'no traffic');
      this.#lost();
      return;
    }
    this.send({ type: 'ping' });
  }

  #setStatus(state, retryAt = null) {
    const serverSeq = this.stats.get()?.server_seq ?? this.status.get().serverSeq;
    this.status.set({ state, attempt: this.#attempt, retryAt, serverSeq });
  }

  #onMessage(data) {
    this.#lastMessageAt = Date.now();
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      console.error('telltale /ws: a frame that is not JSON');
      return;
    }
    switch (msg?.type) {
    case 'hello':
      this.#onHello(msg);
      break;
    case 'event':
      if (msg.event && typeof msg.event === 'object') {
        this.#apply([{ ...msg.event, seq: msg.seq ?? msg.event.seq }]);
      }
      break;
    case 'events':
      if (Array.isArray(msg.items)) {
        this.#apply(msg.items);
      }
      break;
    case 'stats':
      this.stats.set(msg);
      break;
    case 'flags':
      if (msg.flags && typeof msg.flags === 'object') {
        this.flags.emit(msg.flags);
      }
      break;
    case 'error':
      console.error(`telltale /ws error ${msg.error?.code}: ${msg.error?.message}`);
      break;
    case 'pong':
      break;
    default: // messages newer than this adapter: whoever wants them
      this.messages.emit(msg);
      break;
    }
  }

  #onHello(msg) {
    const serverSeq = Number.isSafeInteger(msg.server_seq) ? msg.server_seq : 0;
    this.#attempt = 0;
    if (this.#cursor !== null && serverSeq < this.#cursor) {
      // The store behind this server has never seen our events: it is not the same
      // history, so resuming from our cursor would silently drop everything new.
      this.#cursor = null;
      this.#ahead.clear();
      this.reset.emit();
    }
    if (this.#cursor === null) {
      const start = this.#opts.initialCursor;
      this.#cursor = Number.isSafeInteger(start) && start >= 0 && start <= serverSeq
        ? start
        : Math.max(0, serverSeq - this.#opts.backfill);
    }
    this.#catchUpTo = this.#cursor < serverSeq ? serverSeq : null;
    this.send({ type: 'resume', after_seq: this.#cursor });
    if (this.#opts.stateClientId) {
      this.send({ type: 'state_subscribe', client_id: this.#opts.stateClientId });
    }
    this.status.set({ state: 'connected', attempt: 0, retryAt: null, serverSeq });
    if (msg.flags && typeof msg.flags === 'object') {
      this.flags.emit(msg.flags);
    }
  }

  #apply(items) {
    if (this.#cursor === null) {
      return; // nothing is applied before the hello fixes where we stand
    }
    const fresh = [];
    for (const ev of items) {
      const seq = ev?.seq;
      if (!Number.isSafeInteger(seq) || seq <= this.#cursor) {
        continue;
      }
      if (this.#ahead.has(seq)) {
        // The replay has reached an event we applied early: it is a duplicate, and the
        // replay is now in order past the hello's server_seq.
        this.#ahead.delete(seq);
        this.#advance(seq);
        this.#catchUpTo = null;
        continue;
      }
      fresh.push(ev);
      if (this.#catchUpTo !== null && seq > this.#catchUpTo) {
        this.#ahead.add(seq);
        if (this.#ahead.size > AHEAD_LIMIT) {
          // The replay never delivered server_seq (pruned by retention): stop waiting.
          this.#advance(Math.max(...this.#ahead));
          this.#catchUpTo = null;
        }
      } else {
        this.#advance(seq);
        if (this.#catchUpTo !== null && seq >= this.#catchUpTo) {
          this.#catchUpTo = null;
        }
      }
    }
    if (fresh.length > 0) {
      this.events.emit(fresh);
    }
  }

  #advance(seq) {
    this.#cursor = seq;
    for (const s of this.#ahead) {
      if (s <= seq) {
        this.#ahead.delete(s);
      }
    }
  }
}
