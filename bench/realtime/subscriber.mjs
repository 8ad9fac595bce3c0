// subscriber.mjs -- one worker process of bench/realtime: opens `count` subscribers on one
// path and records, for every event delivered, the time from its ingest (attrs.t, stamped by
// the producer just before the POST) to the client's callback, in a log-scale histogram.
//
// Paths: "realtime" (the official supabase-js client, postgres_changes, vsn from the message),
// "rt-raw" (the same endpoint through a plain socket) and "ws" (telltale's own /ws stream, the
// baseline). Messages from the parent:
//   {cmd:'start', base, path, vsn, count, first, key, partition}  ->  {ready:true} once every
//     client subscribed; client first+i takes the events of source key + (first+i) % partition
//     (partition 0: every event, of source key)
//   {cmd:'stop'}                                 ->  {histogram, delivered, first, last}

import WebSocket from 'ws';
import { performance } from 'node:perf_hooks';

import { client, subscribe } from '../../tests/supabase/lib.mjs';

import { BUCKETS, bucketOf } from '../lib/latency.mjs';

const histogram = new Uint32Array(BUCKETS);
let delivered = 0;
let first = 0;
let last = 0;
const now = () => performance.timeOrigin + performance.now();

function record(row) {
  const t = row?.attrs?.t;
  if (typeof t === 'number') {
    const at = now();
    histogram[bucketOf(at - t)]++;
    delivered++;
    first ||= at;
    last = at;
  }
}

// The source the i-th client of this worker subscribes to.
function sourceOf({ first, key, partition }, i) {
  return partition > 0 ? `${key}${(first + i) % partition}` : key;
}

async function realtimeSubscribers(o) {
  const { base, vsn, count } = o;
  const clients = [];
  for (let i = 0; i < count; i++) {
    const c = client(base, { vsn });
    const ch = c.channel(`bench-${process.pid}-${i}`).on('postgres_changes',
      { event: 'INSERT', schema: 'monitoring', table: 'monitoring_events', filter: `source=eq.${sourceOf(o, i)}` },
      (p) => record(p.new));
    await subscribe(ch, { timeoutMs: 30_000 });
    clients.push(c);
  }
  return () => Promise.all(clients.map((c) => c.removeAllChannels()));
}

async function wsSubscribers(o) {
  const { base, count } = o;
  const sockets = [];
  for (let i = 0; i < count; i++) {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`);
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'event') {
        record(m.event);
      } else if (m.type === 'events') {
        m.items.forEach(record);
      }
    });
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    ws.send(JSON.stringify({ type: 'subscribe', filter: { source: sourceOf(o, i) } }));
    sockets.push(ws);
  }
  return async () => sockets.forEach((ws) => ws.close());
}

// The Realtime endpoint without supabase-js: a plain socket that joins and parses each
// message as JSON, as the /ws baseline's clients do. Separates telltale's cost from the
// official client's own per-message work.
async function rawRealtimeSubscribers(o) {
  const { base, count } = o;
  const sockets = [];
  const url = `${base.replace('http', 'ws')}/realtime/v1/websocket?apikey=bench&vsn=2.0.0`;
  for (let i = 0; i < count; i++) {
    const ws = new WebSocket(url);
    const joined = new Promise((resolve) => {
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString());
        if (m[3] === 'postgres_changes') {
          record(m[4].data.record);
        } else if (m[3] === 'phx_reply' && m[1] === 'join') {
          resolve();
        }
      });
    });
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    ws.send(JSON.stringify(['1', 'join', `realtime:bench-${i}`, 'phx_join', { config: { postgres_changes: [
      { event: 'INSERT', schema: 'monitoring', table: 'monitoring_events', filter: `source=eq.${sourceOf(o, i)}` }] } }]));
    await joined;
    sockets.push(ws);
  }
  return async () => sockets.forEach((ws) => ws.close());
}

const SUBSCRIBERS = { realtime: realtimeSubscribers, 'rt-raw': rawRealtimeSubscribers, ws: wsSubscribers };

let close = null;
process.on('message', async (m) => {
  if (m.cmd === 'start') {
    close = await SUBSCRIBERS[m.path](m);
    process.send({ ready: true });
  } else if (m.cmd === 'stop') {
    process.send({ histogram: [...histogram], delivered, first, last });
    await close?.();
    process.exit(0);
  }
});
