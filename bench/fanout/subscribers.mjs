// subscribers.mjs -- one worker process of bench/fanout: `count` WebSocket subscribers on one
// path, recording for every event delivered the time from the producer's stamp (attrs.t, taken
// just before the POST) to the frame's arrival, in a log-scale histogram.
//
// The client is kept cheap and the same for every path, so that it is not what is measured: a
// plain TCP socket whose frames are parsed in place (RawSocket), and a frame is not
// JSON-parsed: the `"t":` member is found from its end (every event carries attrs.t, last, and
// nothing else has a member named t). Measured alone (a loop over 64 KiB chunks of /ws frames),
// this client takes about 0.3 us a message, where the `ws` package with the same scan took 3.
// Paths:
//   ws      telltale's /ws (or the peer's, same messages): hello, then {"type":"event",...}
//   rt      telltale's Realtime, vsn 2.0.0, one channel joined with postgres_changes INSERT on
//           monitoring.monitoring_events, no filter
//   rt-eq   the same with the filter type=eq.<type> (every bench event matches it)
//   rt-src  the same with the filter source=eq.<source> (a dashboard per service, --partition)
// With a partition, ws subscribers send {"type":"subscribe","filter":{"source":...}}.
//
// Messages from the parent:
//   {cmd:'start', url, path, count, first, key, partition, type} -> {ready:true} when all joined
//   {cmd:'mark'}  the producer starts: CPU time is counted from here
//   {cmd:'count'} -> {delivered} so far (bench/fanout/cost.mjs waits on it)
//   {cmd:'stop'}  -> {histogram, delivered, first, last, cpuMs, closed}

import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

import { BUCKETS, bucketOf } from '../lib/latency.mjs';

const histogram = new Uint32Array(BUCKETS);
let delivered = 0;
let first = 0;
let last = 0;
let closed = 0; // sockets the server closed (a slow consumer, 1008)
let cpuAtMark = null;
const now = () => performance.timeOrigin + performance.now();
const KEY = Buffer.from('"t":');

// A frame's event: its stamp is the last `"t":<number>` of the frame (attrs come last in both
// servers' messages, so the search from the end stops within a few dozen bytes), one
// delivered event per frame that has one (neither server coalesces events into one message in
// these runs). Digits are read by hand: no string is made per message.
function record(buf, start, end) {
  const i = buf.lastIndexOf(KEY, end - KEY.length);
  if (i < start) {
    return; /* hello, stats, system: no stamp */
  }
  let k = i + KEY.length;
  while (buf[k] === 0x20) {
    k++;
  }
  let t = 0;
  for (; k < end && buf[k] >= 0x30 && buf[k] <= 0x39; k++) {
    t = t * 10 + (buf[k] - 0x30);
  }
  if (buf[k] === 0x2e) {
    let scale = 0.1;
    for (k++; k < end && buf[k] >= 0x30 && buf[k] <= 0x39; k++, scale /= 10) {
      t += (buf[k] - 0x30) * scale;
    }
  }
  const at = now();
  histogram[bucketOf(at - t)]++;
  delivered++;
  first ||= at;
  last = at;
}

function sourceOf({ first: base, key, partition }, i) {
  return partition > 0 ? `${key}${(base + i) % partition}` : key;
}

// A WebSocket client on a plain TCP socket: the upgrade by hand, then frames parsed in place
// from each chunk read (RFC 6455 §5.2), without a Buffer or an event per message, so that a
// subscriber costs as little as a client can and the servers are what is measured. Text frames
// go to onText(buf, start, end); a close frame from the server counts as closed unless normal.
class RawSocket {
  constructor(url, onText) {
    this.onText = onText;
    this.carry = null;
    this.upgraded = false;
    const u = new URL(url);
    this.sock = net.connect({ host: u.hostname, port: Number(u.port), noDelay: true });
    this.opened = new Promise((resolve, reject) => {
      this.sock.once('error', reject);
      this.sock.once('connect', () => {
        this.sock.write(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\n` +
                        `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
                        'Sec-WebSocket-Version: 13\r\n\r\n');
      });
      this.resolveOpen = resolve;
      this.rejectOpen = reject;
    });
    this.sock.on('data', (chunk) => this.read(chunk));
  }

  read(chunk) {
    let buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = null;
    let at = 0;
    if (!this.upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) {
        this.carry = buf;
        return;
      }
      if (!buf.latin1Slice(0, 12).includes(' 101')) {
        this.rejectOpen(new Error(`upgrade refused: ${buf.latin1Slice(0, end)}`));
        return;
      }
      this.upgraded = true;
      this.resolveOpen();
      at = end + 4;
    }
    while (buf.length - at >= 2) {
      const op = buf[at] & 0x0f;
      let len = buf[at + 1] & 0x7f;
      let hl = 2;
      if (len === 126) {
        if (buf.length - at < 4) break;
        len = buf.readUInt16BE(at + 2);
        hl = 4;
      } else if (len === 127) {
        if (buf.length - at < 10) break;
        len = Number(buf.readBigUInt64BE(at + 2));
        hl = 10;
      }
      if (buf.length - at < hl + len) break;
      if (op === 1) {
        this.onText(buf, at + hl, at + hl + len);
      } else if (op === 8) {
        const code = len >= 2 ? buf.readUInt16BE(at + hl) : 1005;
        if (code !== 1000 && code !== 1005) {
          closed++;
        }
      }
      at += hl + len;
    }
    if (at < buf.length) {
      this.carry = buf.subarray(at);
    }
  }

  // A masked text frame (a client must mask, RFC 6455 §5.3).
  send(text) {
    const payload = Buffer.from(text);
    const mask = randomBytes(4);
    const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length])
      : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    for (let i = 0; i < payload.length; i++) {
      payload[i] ^= mask[i & 3];
    }
    this.sock.write(Buffer.concat([head, mask, payload]));
  }

  terminate() {
    this.sock.destroy();
  }
}

async function wsSubscriber(o, i) {
  const ws = new RawSocket(`${o.url}/ws`, record);
  await ws.opened;
  if (o.partition > 0) {
    ws.send(JSON.stringify({ type: 'subscribe', filter: { source: sourceOf(o, i) } }));
  }
  return ws;
}

function rtFilter(o, i) {
  if (o.path === 'rt-eq') {
    return `type=eq.${o.type}`;
  }
  if (o.path === 'rt-src' || o.partition > 0) {
    return `source=eq.${sourceOf(o, i)}`;
  }
  return undefined;
}

async function rtSubscriber(o, i) {
  let joined;
  const reply = new Promise((resolve, reject) => { joined = { resolve, reject }; });
  let streaming = false;
  const ws = new RawSocket(`${o.url}/realtime/v1/websocket?apikey=bench&vsn=2.0.0`, (buf, start, end) => {
    if (streaming) {
      record(buf, start, end);
      return;
    }
    const m = JSON.parse(buf.toString('utf8', start, end));
    if (m[3] === 'phx_reply' && m[4]?.status === 'ok') {
      streaming = true;
      joined.resolve();
    } else {
      joined.reject(new Error(`join refused: ${JSON.stringify(m)}`));
    }
  });
  await ws.opened;
  const binding = { event: 'INSERT', schema: 'monitoring', table: 'monitoring_events' };
  const filter = rtFilter(o, i);
  if (filter !== undefined) {
    binding.filter = filter;
  }
  ws.send(JSON.stringify(['1', '1', `realtime:fanout-${o.first + i}`, 'phx_join',
    { config: { postgres_changes: [binding] } }]));
  await reply;
  return ws;
}

let sockets = [];
process.on('message', async (m) => {
  if (m.cmd === 'start') {
    const make = m.path === 'ws' ? wsSubscriber : rtSubscriber;
    for (let i = 0; i < m.count; i++) {
      sockets.push(await make(m, i));
    }
    process.send({ ready: true });
  } else if (m.cmd === 'count') {
    process.send({ delivered });
  } else if (m.cmd === 'mark') {
    cpuAtMark = process.cpuUsage();
  } else if (m.cmd === 'stop') {
    const cpu = process.cpuUsage(cpuAtMark ?? undefined);
    process.send({ histogram: [...histogram], delivered, first, last, closed,
                   cpuMs: (cpu.user + cpu.system) / 1000 });
    sockets.forEach((ws) => ws.terminate());
    process.exit(0);
  }
});
