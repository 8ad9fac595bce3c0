// producer.mjs -- the load of the chaos cases: N concurrent producers posting batches of events
// with unique ids over HTTP, and some over the WebSocket /ws ingest, recording in a Ledger every
// id the daemon acknowledged (202 or ack) and every id whose answer never came (unsure: it may
// or may not be stored). Paced at a total rate (events/s) or flat out; stoppable; every loop
// ends once stop() is called, each request bounded by a timeout.
//
// A producer behaves as a careful client does: a request that failed without an answer
// (connection refused or reset, timeout) is sent again with the same ids, and so is, by default,
// a batch refused with 429/503 (after its Retry-After, capped so that the tests stay short).
// Every refusal must be a 429 or a 503 carrying Retry-After (WebSocket: an error of a refusal
// code); anything else is recorded in stats.unexpected, for the case to fail on.

import WebSocket from 'ws';
import { sleep } from '../../integration/lib/daemon.mjs';

const REFUSAL_CODES = new Set(['overloaded', 'spool_full', 'store_unavailable', 'shutting_down']);

// Hands out send slots at a total rate shared by every producer; with no rate, at once.
class Pacer {
  #next = 0;

  constructor(rate) {
    this.rate = rate;
  }

  async take(n) {
    if (!this.rate) {
      return;
    }
    const now = Date.now();
    // A producer that fell behind does not get to burst to catch up for more than a moment.
    this.#next = Math.max(this.#next, now - 100) + (n * 1000) / this.rate;
    const wait = this.#next - now;
    if (wait > 0) {
      await sleep(wait);
    }
  }
}

// The default event: small, with enough fields to look like real traffic.
export function defaultEvent(id, producer, n, tag) {
  return {
    id,
    type: 'chaos',
    source: tag,
    session_id: `${tag}-p${producer}`,
    name: `op${n % 7}`,
    status: n % 13 === 0 ? 'error' : 'ok',
    duration_ms: n % 97,
    attrs: { producer, n },
  };
}

export class Producers {
  stats = {
    batches: 0, // batches acknowledged
    acked: 0, // events acknowledged
    sent: 0, // requests sent (retries included)
    noAnswer: 0, // requests that got no answer (network error, timeout, WebSocket closed)
    refusals: {}, // "429 overloaded" -> count
    refusedEvents: 0,
    unexpected: [], // answers that are neither an acknowledgement nor a proper refusal
  };

  #stopped = false;
  #loops = [];

  // daemon: a Daemon (its current address is read at each request, so restarts are followed);
  // ledger: a Ledger; tag: the id prefix and the events' source; http, ws: producers of each
  // kind; batch: events per request; rate: total events/s (null: flat out); event(id,p,n,tag):
  // the event factory; retryRefused: send a refused batch again (else its ids stay unsure).
  constructor({ daemon, ledger, tag, http = 4, ws = 1, batch = 20, rate = null,
                event = defaultEvent, retryRefused = true, requestTimeoutMs = 15_000,
                retryCapMs = 250 }) {
    Object.assign(this, { daemon, ledger, tag, http, ws, batch, event, retryRefused,
                          requestTimeoutMs, retryCapMs });
    this.pacer = new Pacer(rate);
  }

  get stopped() {
    return this.#stopped;
  }

  start() {
    for (let p = 0; p < this.http; p++) {
      this.#loops.push(this.#httpLoop(p));
    }
    for (let p = this.http; p < this.http + this.ws; p++) {
      this.#loops.push(this.#wsLoop(p));
    }
    return this;
  }

  // Stops every producer after its current request; resolves once all have.
  async stop() {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }

  // Resolves once at least n events have been acknowledged (or the producers stopped, or
  // timeoutMs passed: the caller checks the count it needs).
  async acked(n, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    while (this.stats.acked < n && !this.#stopped && Date.now() < deadline) {
      await sleep(20);
    }
    return this.stats.acked;
  }

  #makeBatch(p, counter) {
    const events = [];
    for (let i = 0; i < this.batch; i++) {
      const n = counter.n++;
      events.push(this.event(`${this.tag}-p${p}-${n}`, p, n, this.tag));
    }
    return events;
  }

  #refused(status, code, events) {
    const key = `${status} ${code}`;
    this.stats.refusals[key] = (this.stats.refusals[key] ?? 0) + 1;
    this.stats.refusedEvents += events.length;
  }

  #unexpected(what) {
    if (this.stats.unexpected.length < 20) {
      this.stats.unexpected.push(what);
    }
  }

  #acknowledged(ids) {
    this.ledger.ack(ids);
    this.stats.acked += ids.length;
    this.stats.batches += 1;
  }

  async #httpLoop(p) {
    const counter = { n: 0 };
    let failures = 0;
    while (!this.#stopped) {
      const events = this.#makeBatch(p, counter);
      const ids = events.map((e) => e.id);
      const body = JSON.stringify(events);
      await this.pacer.take(events.length);
      while (!this.#stopped) {
        this.ledger.unsure(ids); // from here on it may be stored, acknowledged or not
        this.stats.sent += 1;
        let res;
        let text;
        try {
          res = await fetch(`${this.daemon.base}/api/v1/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            signal: AbortSignal.timeout(this.requestTimeoutMs),
          });
          text = await res.text();
        } catch {
          this.stats.noAnswer += 1;
          failures += 1;
          await sleep(Math.min(10 * 2 ** Math.min(failures, 5), this.retryCapMs));
          continue; // the same ids again: the daemon was killed, restarting, or slow
        }
        failures = 0;
        if (res.status === 202) {
          this.#acknowledged(ids);
          break;
        }
        let code = '?';
        try {
          code = JSON.parse(text).error.code;
        } catch {
          /* not the JSON error it must be: reported below */
        }
        const retryAfter = Number(res.headers.get('retry-after'));
        if ((res.status === 429 || res.status === 503) && Number.isInteger(retryAfter) &&
            retryAfter > 0 && REFUSAL_CODES.has(code)) {
          this.#refused(res.status, code, events);
          if (!this.retryRefused) {
            break;
          }
          await sleep(Math.min(retryAfter * 1000, this.retryCapMs));
          continue;
        }
        this.#unexpected(`HTTP ${res.status} retry-after=${res.headers.get('retry-after')} ` +
                         `${text.slice(0, 300)}`);
        break;
      }
    }
  }

  // One WebSocket producer: connects (again after each loss), asks for no live events (it only
  // ingests), and sends one ingest at a time.
  async #wsLoop(p) {
    const counter = { n: 0 };
    let conn = null;
    let failures = 0;
    let ref = 0;
    try {
      while (!this.#stopped) {
        const events = this.#makeBatch(p, counter);
        const ids = events.map((e) => e.id);
        await this.pacer.take(events.length);
        while (!this.#stopped) {
          if (conn === null || conn.closed) {
            conn = await WsConn.open(this.daemon.wsUrl, this.requestTimeoutMs).catch(() => null);
            if (conn === null) {
              failures += 1;
              await sleep(Math.min(10 * 2 ** Math.min(failures, 5), this.retryCapMs));
              continue;
            }
          }
          ref += 1;
          this.ledger.unsure(ids);
          this.stats.sent += 1;
          const answer = await conn.ingest(ref, events, this.requestTimeoutMs);
          if (answer === null) {
            this.stats.noAnswer += 1;
            failures += 1;
            conn.close();
            conn = null;
            await sleep(Math.min(10 * 2 ** Math.min(failures, 5), this.retryCapMs));
            continue;
          }
          failures = 0;
          if (answer.type === 'ack' && answer.accepted === events.length) {
            this.#acknowledged(ids);
            break;
          }
          const code = answer.error?.code;
          if (answer.type === 'error' && REFUSAL_CODES.has(code)) {
            this.#refused('ws', code, events);
            if (!this.retryRefused) {
              break;
            }
            await sleep(this.retryCapMs);
            continue;
          }
          this.#unexpected(`WebSocket answer ${JSON.stringify(answer).slice(0, 300)}`);
          break;
        }
      }
    } finally {
      conn?.close();
    }
  }
}

// A /ws connection for ingest: answers are matched to requests by ref.
class WsConn {
  closed = false;
  #waiting = new Map(); // ref -> resolve

  static open(url, timeoutMs) {
    return new Promise((resolve, reject) => {
      const c = new WsConn();
      c.ws = new WebSocket(url, { handshakeTimeout: timeoutMs });
      const fail = (err) => {
        c.close();
        reject(err);
      };
      c.ws.once('open', () => {
        c.ws.send(JSON.stringify({ type: 'subscribe', filter: { type: 'chaos.nothing' } }));
        resolve(c);
      });
      c.ws.on('error', fail);
      c.ws.on('close', () => {
        c.closed = true;
        for (const r of c.#waiting.values()) {
          r(null);
        }
        c.#waiting.clear();
      });
      c.ws.on('message', (data) => {
        let msg;
        try {
          msg = JSON.parse(data.toString('utf8'));
        } catch {
          return;
        }
        if (msg.ref !== undefined && c.#waiting.has(msg.ref)) {
          const r = c.#waiting.get(msg.ref);
          c.#waiting.delete(msg.ref);
          r(msg);
        }
      });
    });
  }

  // Resolves with the answer to this ingest, or null if none came (closed, timed out).
  ingest(ref, events, timeoutMs) {
    if (this.closed) {
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(ref);
        resolve(null);
      }, timeoutMs);
      this.#waiting.set(ref, (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      this.ws.send(JSON.stringify({ type: 'ingest', ref, events }), (err) => {
        if (err) {
          this.#waiting.get(ref)?.(null);
          this.#waiting.delete(ref);
        }
      });
    });
  }

  close() {
    this.closed = true;
    try {
      this.ws.terminate();
    } catch {
      /* not open yet */
    }
  }
}
