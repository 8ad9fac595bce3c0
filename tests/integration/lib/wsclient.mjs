// wsclient.mjs -- a /ws client on the `ws` package that keeps every message it receives, so
// tests can wait for one that matches a condition.

import WebSocket from 'ws';
import { withTimeout } from './daemon.mjs';

export class WsClient {
  messages = []; // parsed JSON, in arrival order
  closeInfo = null; // {code, reason} once closed
  #waiters = new Set();

  static async connect(url, { timeoutMs = 10_000, onMessage } = {}) {
    const c = new WsClient();
    c.ws = new WebSocket(url);
    c.closed = new Promise((resolve) => {
      c.ws.on('close', (code, reason) => {
        c.closeInfo = { code, reason: reason.toString() };
        c.#wake();
        resolve(c.closeInfo);
      });
    });
    c.ws.on('error', (err) => {
      c.error = err;
    });
    c.ws.on('message', (data, isBinary) => {
      let msg;
      try {
        msg = JSON.parse(data.toString('utf8'));
      } catch {
        msg = { unparsed: data.toString('utf8'), isBinary };
      }
      c.messages.push(msg);
      onMessage?.(msg, c);
      c.#wake();
    });
    await withTimeout(new Promise((resolve, reject) => {
      c.ws.once('open', resolve);
      c.ws.once('error', reject);
      c.ws.once('unexpected-response', (req, res) =>
        reject(new Error(`WebSocket upgrade answered ${res.statusCode}`)));
    }), timeoutMs, `WebSocket connect to ${url}`);
    return c;
  }

  #wake() {
    for (const w of this.#waiters) {
      w();
    }
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  // Waits for pred(this) to be true (checked on each message and on close).
  async until(what, pred, timeoutMs = 10_000) {
    if (pred(this)) {
      return;
    }
    await new Promise((resolve, reject) => {
      const check = () => {
        if (pred(this)) {
          finish();
          resolve();
        } else if (this.closeInfo) {
          finish();
          reject(new Error(`connection closed (${JSON.stringify(this.closeInfo)}) ` +
                           `while waiting for ${what}`));
        }
      };
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last messages: ` +
                         JSON.stringify(this.messages.slice(-5)).slice(0, 800)));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  // The first message at index >= from that matches pred, waiting for it if need be.
  async next(what, pred, { from = 0, timeoutMs = 10_000 } = {}) {
    const find = () => this.messages.slice(from).find(pred);
    await this.until(what, () => find() !== undefined, timeoutMs);
    return find();
  }

  // Sends a ping and waits for its pong: every message sent before it has been handled.
  async sync(timeoutMs = 10_000) {
    const from = this.messages.length;
    this.send({ type: 'ping' });
    return this.next('pong', (m) => m.type === 'pong', { from, timeoutMs });
  }

  // Seqs of every event message received, in arrival order ("events" batches flattened).
  eventSeqs() {
    return this.events().map((e) => e.seq);
  }

  // Every event received, in arrival order, each with its seq.
  events() {
    const out = [];
    for (const m of this.messages) {
      if (m.type === 'event') {
        out.push({ ...m.event, seq: m.seq });
      } else if (m.type === 'events' && Array.isArray(m.items)) {
        out.push(...m.items);
      }
    }
    return out;
  }

  async close() {
    if (this.closeInfo === null) {
      this.ws.close();
      await withTimeout(this.closed, 10_000, 'WebSocket close').catch(() => this.ws.terminate());
    }
  }
}

// Tries a WebSocket upgrade of 'url' with 'headers' and closes at once: {status: 101} when it
// opened, else {status, headers, body, message} of the refusal (message: its JSON error's), or
// {status: -1, err} when the connection failed.
export function tryUpgrade(url, headers = {}) {
  const ws = new WebSocket(url, { headers });
  return withTimeout(new Promise((resolve) => {
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101 });
    });
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => {
        let message;
        try {
          message = JSON.parse(body).error?.message;
        } catch {
          message = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, body, message });
      });
    });
    ws.once('error', (err) => resolve({ status: -1, err, message: String(err) }));
  }), 10_000, `the upgrade of ${url}`);
}
