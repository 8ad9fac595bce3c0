// raw.mjs -- raw TCP clients for inputs a proper client library refuses to send: malformed
// HTTP, pipelining, partial requests, hand-built WebSocket frames.

import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { withTimeout } from './daemon.mjs';

// A TCP connection that collects everything it receives.
export class RawConn {
  data = Buffer.alloc(0);
  closed = false; // the server closed (or reset) the connection
  error = null;
  #waiters = new Set();
  #closedPromise;

  // localAddress: the source address (any of 127.0.0.0/8 reaches a loopback listener).
  static connect(port, host = '127.0.0.1', { timeoutMs = 5_000, localAddress } = {}) {
    const c = new RawConn();
    c.socket = net.connect({ port, host, localAddress });
    c.socket.setNoDelay(true);
    c.socket.on('data', (chunk) => {
      c.data = Buffer.concat([c.data, chunk]);
      c.#wake();
    });
    c.#closedPromise = new Promise((resolve) => {
      c.socket.on('close', () => {
        c.closed = true;
        c.#wake();
        resolve();
      });
    });
    c.socket.on('error', (err) => {
      c.error = err; // ECONNRESET and EPIPE are answers too; 'close' follows
    });
    return withTimeout(new Promise((resolve, reject) => {
      c.socket.once('connect', () => resolve(c));
      c.socket.once('error', reject);
    }), timeoutMs, `connect to port ${port}`);
  }

  #wake() {
    for (const w of this.#waiters) {
      w();
    }
  }

  write(bytes) {
    return new Promise((resolve) => {
      if (this.socket.destroyed || this.closed) {
        resolve(false);
        return;
      }
      this.socket.write(bytes, (err) => resolve(!err));
    });
  }

  // Waits until pred(this) is true (checked on every arrival and on close); returns whether it
  // became true before the deadline.
  async waitUntil(pred, timeoutMs = 10_000) {
    if (pred(this)) {
      return true;
    }
    return new Promise((resolve) => {
      const done = (v) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(v);
      };
      const check = () => {
        if (pred(this)) {
          done(true);
        }
      };
      const timer = setTimeout(() => done(pred(this)), timeoutMs);
      this.#waiters.add(check);
    });
  }

  // Waits for the server to close the connection; returns whether it did in time.
  waitClosed(timeoutMs = 10_000) {
    return this.waitUntil((c) => c.closed, timeoutMs);
  }

  // Waits until n complete HTTP responses arrived (or the connection closed); returns them.
  async responses(n = 1, timeoutMs = 10_000) {
    await this.waitUntil((c) => c.closed || parseHttpResponses(c.data).length >= n, timeoutMs);
    return parseHttpResponses(this.data);
  }

  destroy() {
    this.socket.destroy();
    return this.#closedPromise;
  }
}

// Parses the complete HTTP/1.x responses at the start of buf (bodies by Content-Length; a
// response without one is complete only when nothing more can come, so it is left out).
export function parseHttpResponses(buf) {
  const out = [];
  let off = 0;
  while (off < buf.length) {
    const end = buf.indexOf('\r\n\r\n', off);
    if (end < 0) {
      break;
    }
    const head = buf.subarray(off, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
    if (!m) {
      break;
    }
    const headers = {};
    for (const line of head.slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) {
        // a field given on several lines is one comma-separated list (RFC 9110 §5.3)
        const name = line.slice(0, i).trim().toLowerCase(), value = line.slice(i + 1).trim();
        headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
      }
    }
    const len = Number(headers['content-length'] ?? NaN);
    const status = Number(m[1]);
    const bodyLen = Number.isFinite(len) ? len : 0;
    if (!Number.isFinite(len) && status !== 101 && status !== 304) {
      break;
    }
    if (end + 4 + bodyLen > buf.length) {
      break;
    }
    const text = buf.subarray(end + 4, end + 4 + bodyLen).toString('utf8');
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    out.push({ status, statusLine: head[0], headers, text, json });
    off = end + 4 + bodyLen;
  }
  return out;
}

// Sends 'request' on a new connection and returns the first response, or null if the server
// closed the connection without one. Closes the connection afterwards.
export async function rawRequest(port, request, { timeoutMs = 10_000 } = {}) {
  const c = await RawConn.connect(port);
  await c.write(request);
  const rs = await c.responses(1, timeoutMs);
  await c.destroy();
  return rs[0] ?? null;
}

// ---- WebSocket frames --------------------------------------------------------------------

export const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 };

// One frame as a client would send it (masked unless mask: false). rsv is the 3 RSV bits as
// a number 0..7; fin defaults to true.
export function wsFrame({ opcode, payload = Buffer.alloc(0), fin = true, rsv = 0, mask = true }) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const len = data.length;
  const head = [((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f))];
  const maskBit = mask ? 0x80 : 0;
  if (len < 126) {
    head.push(maskBit | len);
  } else if (len < 65536) {
    head.push(maskBit | 126, len >> 8, len & 0xff);
  } else {
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(len));
    head.push(maskBit | 127, ...big);
  }
  if (!mask) {
    return Buffer.concat([Buffer.from(head), data]);
  }
  const key = randomBytes(4);
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) {
    masked[i] = data[i] ^ key[i & 3];
  }
  return Buffer.concat([Buffer.from(head), key, masked]);
}

// A close frame's payload: the code, then the reason.
export function closePayload(code, reason = '') {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.from(reason)]);
}

// Parses the server's (unmasked) frames in buf; returns {frames, rest}.
export function parseWsFrames(buf) {
  const frames = [];
  let off = 0;
  for (;;) {
    if (buf.length - off < 2) {
      break;
    }
    const b0 = buf[off];
    const b1 = buf[off + 1];
    let len = b1 & 0x7f;
    let p = off + 2;
    if (len === 126) {
      if (buf.length - p < 2) {
        break;
      }
      len = buf.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      if (buf.length - p < 8) {
        break;
      }
      len = Number(buf.readBigUInt64BE(p));
      p += 8;
    }
    if (b1 & 0x80) {
      p += 4; // a masked server frame is itself a protocol error; tests check 'masked'
    }
    if (buf.length - p < len) {
      break;
    }
    const payload = buf.subarray(p, p + len);
    frames.push({ fin: !!(b0 & 0x80), rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f,
                  masked: !!(b1 & 0x80), payload });
    off = p + len;
  }
  return { frames, rest: buf.subarray(off) };
}

// A WebSocket client on a raw socket: does the handshake, then sends whatever bytes it is
// given and parses what comes back.
export class RawWs {
  // 'frames' (bytes) go in the same write as the handshake, before any answer to it.
  static async connect(port, { path = '/ws', extraHeaders = '', frames = null } = {}) {
    const ws = new RawWs();
    ws.conn = await RawConn.connect(port);
    const key = randomBytes(16).toString('base64');
    const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
      'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`, 'latin1');
    await ws.conn.write(frames ? Buffer.concat([request, frames]) : request);
    const ok = await ws.conn.waitUntil((c) => c.closed || c.data.indexOf('\r\n\r\n') >= 0, 10_000);
    const end = ws.conn.data.indexOf('\r\n\r\n');
    if (!ok || end < 0) {
      throw new Error(`no WebSocket handshake answer (closed: ${ws.conn.closed})`);
    }
    ws.handshake = ws.conn.data.subarray(0, end).toString('latin1');
    ws.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(ws.handshake)?.[1]);
    ws.offset = end + 4;
    if (ws.status === 101) {
      const accept = createHash('sha1')
        .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      if (!ws.handshake.toLowerCase().includes(`sec-websocket-accept: ${accept.toLowerCase()}`)) {
        throw new Error(`bad Sec-WebSocket-Accept in:\n${ws.handshake}`);
      }
    }
    return ws;
  }

  // Frames received so far (after the handshake), parsed incrementally.
  frames() {
    this.parsed ??= [];
    const { frames, rest } = parseWsFrames(this.conn.data.subarray(this.offset));
    for (const f of frames) {
      this.parsed.push(f);
    }
    this.offset = this.conn.data.length - rest.length;
    if (this.offset > 1 << 20) { // drop what is parsed, so a long stream stays linear
      this.conn.data = this.conn.data.subarray(this.offset);
      this.offset = 0;
    }
    return this.parsed;
  }

  // Text frames received so far, parsed as JSON where they are JSON.
  messages() {
    this.msgs ??= [];
    const frames = this.frames();
    this.msgCursor ??= 0;
    for (; this.msgCursor < frames.length; this.msgCursor++) {
      const f = frames[this.msgCursor];
      if (f.opcode !== OP.TEXT) {
        continue;
      }
      try {
        this.msgs.push(JSON.parse(f.payload.toString('utf8')));
      } catch {
        this.msgs.push({ unparsed: f.payload.toString('utf8') });
      }
    }
    return this.msgs;
  }

  send(frameBytes) {
    return this.conn.write(frameBytes);
  }

  sendText(text) {
    return this.send(wsFrame({ opcode: OP.TEXT, payload: Buffer.from(text) }));
  }

  async waitMessage(pred, timeoutMs = 10_000) {
    await this.conn.waitUntil((c) => c.closed || this.messages().some(pred), timeoutMs);
    return this.messages().find(pred) ?? null;
  }

  // Waits for the server's close frame or for the connection to end. Returns
  // {code, reason, closeFrame, eof}: code is null when no close frame came (or it had no code).
  async waitClose(timeoutMs = 10_000) {
    const hasClose = () => this.frames().some((f) => f.opcode === OP.CLOSE);
    await this.conn.waitUntil((c) => c.closed || hasClose(), timeoutMs);
    const f = this.frames().find((x) => x.opcode === OP.CLOSE);
    const code = f && f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null;
    const reason = f && f.payload.length > 2 ? f.payload.subarray(2).toString('utf8') : '';
    return { code, reason, closeFrame: !!f, eof: this.conn.closed };
  }

  destroy() {
    return this.conn.destroy();
  }
}

// ---- HTTP/1.1 request bytes ----------------------------------------------------------------

// One HTTP/1.1 request as bytes: headers as [name, value] pairs (or an object), body a string
// or Buffer. Content-Length is added for a body unless 'length' is false or a header sets
// Transfer-Encoding.
export function httpRequest({ method = 'GET', path = '/', headers = {}, body, length = true,
                              host = '127.0.0.1', version = '1.1' }) {
  const pairs = Array.isArray(headers) ? [...headers] : Object.entries(headers);
  const names = new Set(pairs.map(([n]) => n.toLowerCase()));
  if (!names.has('host')) {
    pairs.unshift(['Host', host]);
  }
  const data = body === undefined ? null : Buffer.isBuffer(body) ? body : Buffer.from(body);
  if (data && length && !names.has('transfer-encoding') && !names.has('content-length')) {
    pairs.push(['Content-Length', String(data.length)]);
  }
  const head = `${method} ${path} HTTP/${version}\r\n${pairs.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  return data ? Buffer.concat([Buffer.from(head, 'latin1'), data]) : Buffer.from(head, 'latin1');
}

// A body in chunked transfer coding (RFC 9112 §7.1): 'chunks' as strings or Buffers; 'ext' is
// added to every chunk-size line (";name=value"), 'trailers' as [name, value] pairs.
export function chunked(chunks, { ext = '', trailers = [] } = {}) {
  const parts = [];
  for (const c of chunks) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(c);
    parts.push(Buffer.from(`${b.length.toString(16)}${ext}\r\n`), b, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`0${ext}\r\n${trailers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`));
  return Buffer.concat(parts);
}

// The interim (1xx) responses at the start of buf, as status numbers; parseHttpResponses skips
// none of them, so tests that expect 100 Continue look here first.
export function interimStatuses(buf) {
  const out = [];
  let off = 0;
  for (;;) {
    const m = /^HTTP\/1\.1 (1\d\d)[^\r]*\r\n/.exec(buf.subarray(off, off + 200).toString('latin1'));
    const end = buf.indexOf('\r\n\r\n', off);
    if (!m || end < 0) {
      return { statuses: out, rest: buf.subarray(off) };
    }
    out.push(Number(m[1]));
    off = end + 4;
  }
}
