// limits.test.mjs -- the limits against abuse (issue 10, item 4; DESIGN §5 "Limits"): open
// connections in total and per client address, the time to receive headers, a body's minimum
// progress, the idle keep-alive, WebSocket frame and message size, the ingest rate per key, and
// Realtime joins per connection. For each: a client that breaks it is answered (a JSON error,
// a close code, a phx_reply) or closed, the breach is counted in
// telltale_limit_rejections_total{limit}, and the daemon goes on serving others. Each daemon
// gets small limits so the tests are quick; no assertion is about how long anything took.
//
// Raw sockets (lib/raw.mjs) hold connections open and dribble bytes, as slowloris does; 127.0.0.2
// and 127.0.0.3 are other client addresses (the whole of 127.0.0.0/8 reaches a loopback
// listener on Linux).

import { after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { Daemon, api, test, uid, waitFor, withTimeout } from './lib/daemon.mjs';
import { WsClient } from './lib/wsclient.mjs';
import { OP, RawConn, RawWs, httpRequest, parseHttpResponses, rawRequest, wsFrame } from './lib/raw.mjs';

const LIMITS = ['connections_total', 'connections_per_address', 'header_timeout', 'body_progress',
                'idle', 'ws_frame', 'ws_message', 'ingest_rate', 'realtime_joins'];

const daemons = [];
after(async () => {
  for (const d of daemons) {
    await d.cleanup();
  }
});

async function start(label, args) {
  const d = await Daemon.start({ label, args });
  daemons.push(d);
  return d;
}

// telltale_limit_rejections_total by limit, from /metrics, on a connection of its own that
// closes: fetch's pool would keep one open, counted against the limits under test.
async function rejections(d, headers = {}) {
  const res = await rawRequest(d.port, httpRequest({ path: '/metrics',
                                                     headers: { host: 'x', connection: 'close', ...headers } }));
  assert.equal(res?.status, 200);
  return rejectionsIn(res.text);
}

function rejectionsIn(text) {
  const out = {};
  for (const m of text.matchAll(/^telltale_limit_rejections_total\{limit="(\w+)"\} (\d+)$/gm)) {
    out[m[1]] = Number(m[2]);
  }
  return out;
}

const GET_HEALTH = httpRequest({ path: '/health', headers: { host: 'x' } });

function postFrom(d, localAddress, path, body, headers = { 'content-type': 'application/json' }) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: d.port, path, method: 'POST', localAddress,
                               headers: { ...headers, 'content-length': Buffer.byteLength(body) },
                               agent: false },
    (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (s) => { text += s; }).on('end', () => {
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const events = (n, type = 'limits') => Array.from({ length: n }, () => ({ id: uid('lim'), type }));

test('every limit is counted in /metrics from the start, at 0', async () => {
  const d = await start('limits-metrics', []);
  const text = (await api(d, 'GET', '/metrics')).text;
  assert.match(text, /^# TYPE telltale_limit_rejections_total counter$/m);
  assert.deepEqual(await rejections(d), Object.fromEntries(LIMITS.map((l) => [l, 0])));
});

describe('time limits (slowloris)', () => {
  let d;
  test('start', async () => {
    d = await start('limits-time', ['--header-timeout', '400ms', '--body-timeout', '400ms',
                                    '--body-min-rate', '100', '--idle-timeout', '500ms']);
  });

  test('headers not complete within --header-timeout: 408 request_timeout, then closed', async () => {
    const before = await rejections(d);
    const c = await RawConn.connect(d.port);
    await c.write('GET /health HTTP/1.1\r\nHost: x\r\n'); // and never the blank line
    await c.write('X-Dribble: 1\r\n');
    assert.ok(await c.waitClosed(10_000), 'closed');
    const [res] = parseHttpResponses(c.data);
    assert.equal(res?.status, 408, c.data.toString('latin1'));
    assert.equal(res.headers.connection, 'close');
    assert.equal(res.json.error.code, 'request_timeout');
    assert.match(res.json.error.message, /TELLTALE_HEADER_TIMEOUT/);
    const now = await rejections(d);
    assert.equal(now.header_timeout, before.header_timeout + 1);
    assert.equal(now.idle, before.idle);
  });

  test('part of a request line within --header-timeout: 408 too (something was asked)', async () => {
    const c = await RawConn.connect(d.port);
    await c.write('GET /heal');
    assert.ok(await c.waitClosed(10_000), 'closed');
    const [res] = parseHttpResponses(c.data);
    assert.equal(res?.status, 408, c.data.toString('latin1'));
    assert.equal(res.json.error.code, 'request_timeout');
  });

  test('a connection that sends nothing is closed at the header timeout, unanswered', async () => {
    const before = await rejections(d);
    const c = await RawConn.connect(d.port);
    assert.ok(await c.waitClosed(10_000), 'closed');
    assert.equal(c.data.length, 0, 'nothing was asked, nothing is answered');
    assert.equal((await rejections(d)).header_timeout, before.header_timeout + 1);
  });

  test('a body below --body-min-rate: 408, closed, nothing stored', async () => {
    const before = await rejections(d);
    const id = uid('slow');
    const body = JSON.stringify([{ id, type: 'slow' }]).padEnd(1000, ' ');
    const c = await RawConn.connect(d.port);
    await c.write(`POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
                  `Content-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
    assert.ok(await c.waitClosed(10_000), 'closed');
    const [res] = parseHttpResponses(c.data);
    assert.equal(res?.status, 408, c.data.toString('latin1'));
    assert.match(res.json.error.message, /TELLTALE_BODY_MIN_RATE/);
    assert.equal((await rejections(d)).body_progress, before.body_progress + 1);
    const got = await api(d, 'GET', `/api/v1/events?type=slow`);
    assert.ok(!got.text.includes(id), 'the slow event was not stored');
  });

  test('a body that keeps up the rate may take longer than --body-timeout', async () => {
    // 50 bytes every 50 ms (~1000 B/s) against a minimum of 100 B/s: each piece earns 500 ms,
    // so the body outlives the 400 ms base by far and is accepted.
    const before = await rejections(d);
    const body = JSON.stringify([{ id: uid('steady'), type: 'steady' }]).padEnd(1500, ' ');
    const c = await RawConn.connect(d.port);
    await c.write(`POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
                  `Content-Length: ${body.length}\r\n\r\n`);
    for (let off = 0; off < body.length; off += 50) {
      await c.write(body.slice(off, off + 50));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const [res] = await c.responses(1, 10_000);
    assert.equal(res?.status, 202, c.data.toString('latin1'));
    await c.destroy();
    assert.equal((await rejections(d)).body_progress, before.body_progress);
  });

  test('an idle keep-alive connection is closed after --idle-timeout, with nothing written', async () => {
    const before = await rejections(d);
    const c = await RawConn.connect(d.port);
    await c.write(GET_HEALTH);
    const [res] = await c.responses(1);
    assert.equal(res.status, 200);
    const answered = c.data.length;
    assert.ok(await c.waitClosed(10_000), 'closed');
    assert.equal(c.data.length, answered, 'nothing after the answer');
    const now = await rejections(d);
    assert.equal(now.idle, before.idle + 1);
    assert.equal(now.header_timeout, before.header_timeout);
  });
});

test('nothing else slows down: while 40 connections dribble headers, others are served', async () => {
  const d = await start('limits-slowloris', ['--header-timeout', '60s']);
  const loris = [];
  for (let i = 0; i < 40; i++) {
    const c = await RawConn.connect(d.port);
    await c.write('POST /api/v1/events HTTP/1.1\r\nHost: x\r\n');
    loris.push(c);
  }
  for (const c of loris) {
    await c.write('X-Still-Here: 1\r\n');
  }
  const health = await api(d, 'GET', '/health');
  assert.equal(health.status, 200);
  const ingest = await api(d, 'POST', '/api/v1/events', { json: events(3) });
  assert.equal(ingest.status, 202);
  assert.ok(loris.every((c) => !c.closed), 'answered while every slow connection was still open');
  await Promise.all(loris.map((c) => c.destroy()));
});

describe('connection limits', () => {
  let d;
  test('start', async () => {
    d = await start('limits-conns', ['--max-connections', '4', '--max-connections-per-address', '3']);
  });

  test('over the per-address and the total limit: 503 too_many_connections, closed; others still served', async () => {
    const before = await rejections(d);
    const held = [];
    for (let i = 0; i < 3; i++) {
      held.push(await RawConn.connect(d.port));
    }
    // A fourth from the same address: refused at accept.
    const fourth = await RawConn.connect(d.port);
    assert.ok(await fourth.waitClosed(10_000), 'closed at accept');
    const [res] = parseHttpResponses(fourth.data);
    if (res !== undefined) { // the 503 is best effort: a close alone is the refusal too
      assert.equal(res.status, 503);
      assert.equal(res.json.error.code, 'too_many_connections');
      assert.match(res.json.error.message, /TELLTALE_MAX_CONNECTIONS_PER_ADDRESS/);
    }
    // Another address still gets in (the fourth connection of four) and is served ...
    const other = await RawConn.connect(d.port, '127.0.0.1', { localAddress: '127.0.0.2' });
    await other.write(GET_HEALTH);
    assert.equal((await other.responses(1))[0]?.status, 200);
    // ... but a fifth connection, from a third address, is over the total.
    const fifth = await RawConn.connect(d.port, '127.0.0.1', { localAddress: '127.0.0.3' });
    assert.ok(await fifth.waitClosed(10_000), 'closed at accept');
    const [res5] = parseHttpResponses(fifth.data);
    if (res5 !== undefined) {
      assert.equal(res5.status, 503);
      assert.match(res5.json.error.message, /TELLTALE_MAX_CONNECTIONS\)/);
    }
    // Counted once each (read over the open connection: every slot is taken).
    await other.write(httpRequest({ path: '/metrics', headers: { host: 'x' } }));
    const now = rejectionsIn((await other.responses(2))[1].text);
    assert.equal(now.connections_per_address, before.connections_per_address + 1);
    assert.equal(now.connections_total, before.connections_total + 1);
    await Promise.all([...held, other].map((c) => c.destroy()));
    // Slots free again: a new connection is served (a try before the closes are seen is
    // refused and counted, so the counts are read before).
    await waitFor('a connection served again', async () => (await api(d, 'GET', '/health')).status === 200);
    // ... and the address's count went down with its closes: two at once are served again
    // beside the keep-alive connection of the /health check above (three were held before).
    await waitFor('two more served at once', async () => {
      const again = await Promise.all([0, 1].map(() => RawConn.connect(d.port)));
      await Promise.all(again.map((c) => c.write(GET_HEALTH)));
      const ok = (await Promise.all(again.map((c) => c.responses(1)))).every((r) => r[0]?.status === 200);
      await Promise.all(again.map((c) => c.destroy()));
      return ok;
    });
  });
});

test('behind --trust-proxy, connections count per X-Forwarded-For client', async () => {
  const key = 'service-key-for-limits';
  const d = await start('limits-proxy', ['--trust-proxy', '127.0.0.1', '--max-connections-per-address', '2',
                                         '--service-key', key]);
  const req = (xff) => httpRequest({ path: '/health', headers: { host: 'x', 'x-forwarded-for': xff } });
  const held = [];
  for (let i = 0; i < 2; i++) { // two keep-alive connections of client 10.0.0.1, held open
    const c = await RawConn.connect(d.port);
    await c.write(req('10.0.0.1'));
    assert.equal((await c.responses(1))[0]?.status, 200);
    held.push(c);
  }
  const third = await RawConn.connect(d.port); // from the proxy: admitted, then told apart
  await third.write(req('10.0.0.1'));
  assert.ok(await third.waitClosed(10_000), 'closed');
  const [res] = parseHttpResponses(third.data);
  assert.equal(res?.status, 503, third.data.toString('latin1'));
  assert.equal(res.json.error.code, 'too_many_connections');
  // A WebSocket upgrade of that client is refused too, before the 101.
  const ws = await RawWs.connect(d.port, { extraHeaders: `apikey: ${key}\r\nX-Forwarded-For: 10.0.0.1\r\n` });
  // An HTTP/1.1 answer to an HTTP/1.1 request (RFC 9112 §2.3; the first edge, libwebsockets
  // 4.1.6, wrote HTTP/1.0 on a refused upgrade's status line)
  assert.match(ws.handshake, /^HTTP\/1\.1 503 /, ws.handshake);
  assert.match(ws.handshake, /content-type: application\/json/i);
  await ws.destroy();
  const otherClient = await RawConn.connect(d.port);
  await otherClient.write(req('10.0.0.2'));
  assert.equal((await otherClient.responses(1))[0]?.status, 200);
  await Promise.all([...held, otherClient].map((c) => c.destroy()));
  assert.equal((await rejections(d, { apikey: key })).connections_per_address, 2);
  // Its count went down as its connections closed: two are served again.
  await waitFor('client 10.0.0.1 served again', async () => {
    const again = await Promise.all([0, 1].map(() => RawConn.connect(d.port)));
    await Promise.all(again.map((c) => c.write(req('10.0.0.1'))));
    const ok = (await Promise.all(again.map((c) => c.responses(1)))).every((r) => r[0]?.status === 200);
    await Promise.all(again.map((c) => c.destroy()));
    return ok;
  });
});

test('behind --trust-proxy, an IPv6 or ip:port X-Forwarded-For names its client (RFC 7239 §6 node forms); "unknown" is the proxy', async () => {
  const key = 'service-key-for-limits';
  const d = await start('limits-proxy-ipv6', ['--trust-proxy', '127.0.0.1', '--max-connections-per-address', '2',
                                              '--service-key', key]);
  const req = (xff) => httpRequest({ path: '/health', headers: { host: 'x', 'x-forwarded-for': xff } });
  // Holds two connections whose requests name one client, spelt two ways each time; a third
  // naming it is refused, while another client (which the proxy's count would have refused
  // had the header been ignored) is served.
  const overLimit = async (spellings, third, other) => {
    const held = [];
    for (const xff of spellings) {
      const c = await RawConn.connect(d.port);
      await c.write(req(xff));
      assert.equal((await c.responses(1))[0]?.status, 200, xff);
      held.push(c);
    }
    const refused = await RawConn.connect(d.port);
    await refused.write(req(third));
    assert.ok(await refused.waitClosed(10_000), `${third}: closed`);
    const [res] = parseHttpResponses(refused.data);
    assert.equal(res?.status, 503, `${third} is the client of ${spellings.join(' and ')}`);
    assert.equal(res.json.error.code, 'too_many_connections');
    const served = await RawConn.connect(d.port);
    await served.write(req(other));
    assert.equal((await served.responses(1))[0]?.status, 200, `${other} is a client of its own`);
    await Promise.all([...held, served].map((c) => c.destroy()));
  };
  await overLimit(['[2001:db8::1]:443', '2001:DB8:0::1'], '6.6.6.6, 2001:db8::1', '2001:db8::2');
  await waitFor('the IPv6 client\'s connections closed', async () => (await rawRequest(d.port, req('10.9.9.9')))?.status === 200);
  await overLimit(['198.51.100.9:1234', '198.51.100.9:5678'], '198.51.100.9', '198.51.100.10:1234');
  // The log names the client, as the per-address count does; a hop without an address is the proxy.
  const refusal = (xff) => rawRequest(d.port, httpRequest({ path: '/api/v1/status', headers:
    { host: 'x', connection: 'close', apikey: 'not-the-key-not-the-key', 'x-forwarded-for': xff } }));
  await waitFor('the refusals in the log', async () => {
    assert.equal((await refusal('6.6.6.6, [2001:db8::3]:443'))?.status, 401);
    assert.equal((await refusal('unknown'))?.status, 401);
    return d.stderr.includes('access: 401 /api/v1/status from 2001:db8::3: unknown key') &&
      d.stderr.includes('access: 401 /api/v1/status from 127.0.0.1: unknown key');
  }, { intervalMs: 200 });
  assert.ok(!d.stderr.includes('6.6.6.6'), 'what the client wrote itself is not believed');
  // The unreadable hop is said once, so an operator learns the proxy writes what is not read.
  const said = d.stderr.split('\n').filter((l) => l.includes('names no address telltale can read'));
  assert.equal(said.length, 1, d.stderr);
  assert.match(said[0], /warn.*access: X-Forwarded-For 'unknown' names no address telltale can read .*counted as their proxy; said once/);
});

describe('WebSocket sizes and Realtime joins', () => {
  let d;
  test('start', async () => {
    d = await start('limits-ws', ['--ws-max-frame', '1024', '--ws-max-message', '4096',
                                  '--realtime-max-joins', '2']);
  });

  test('a frame over --ws-max-frame: close 1009, counted; a small message is answered', async () => {
    const before = await rejections(d);
    const ok = await RawWs.connect(d.port);
    assert.equal(ok.status, 101);
    ok.sendText(JSON.stringify({ type: 'ping', ref: 1 }));
    assert.ok(await ok.waitMessage((m) => m.type === 'pong' || m.ref === 1), 'answered');
    const big = await RawWs.connect(d.port);
    big.send(wsFrame({ opcode: OP.TEXT, payload: Buffer.from(JSON.stringify({ type: 'ping', pad: 'x'.repeat(2000) })) }));
    const close = await big.waitClose();
    assert.equal(close.code, 1009, JSON.stringify(close));
    assert.match(close.reason, /TELLTALE_WS_MAX_FRAME/);
    const now = await rejections(d);
    assert.equal(now.ws_frame, before.ws_frame + 1);
    assert.equal(now.ws_message, before.ws_message);
    await Promise.all([ok.destroy(), big.destroy()]);
  });

  test('a message over --ws-max-message in frames under the frame limit: close 1009', async () => {
    const before = await rejections(d);
    const ws = await RawWs.connect(d.port);
    const piece = Buffer.from('x'.repeat(1000));
    ws.send(wsFrame({ opcode: OP.TEXT, payload: piece, fin: false }));
    for (let i = 0; i < 5; i++) {
      ws.send(wsFrame({ opcode: OP.CONT, payload: piece, fin: i === 4 }));
    }
    const close = await ws.waitClose();
    assert.equal(close.code, 1009, JSON.stringify(close));
    assert.match(close.reason, /TELLTALE_WS_MAX_MESSAGE/);
    assert.equal((await rejections(d)).ws_message, before.ws_message + 1);
    await ws.destroy();
  });

  test('with the ws client library: a big message closes 1009 on /realtime/v1/websocket too', async () => {
    const ws = await WsClient.connect(`ws://127.0.0.1:${d.port}/realtime/v1/websocket?vsn=1.0.0`);
    ws.send('x'.repeat(3000)); // one frame of 3000 bytes
    const { code, reason } = await withTimeout(ws.closed, 10_000, 'the close');
    assert.equal(code, 1009);
    assert.match(reason, /TELLTALE_WS_MAX_FRAME/);
  });

  test('joins past --realtime-max-joins are refused with a phx_reply naming the limit', async () => {
    const before = await rejections(d);
    const ws = await WsClient.connect(`ws://127.0.0.1:${d.port}/realtime/v1/websocket?vsn=1.0.0`);
    const replies = ws.messages;
    const join = (topic, ref) => ws.send({ topic, event: 'phx_join', ref, join_ref: ref, payload: { config: {} } });
    join('realtime:a', '1');
    join('realtime:b', '2');
    join('realtime:c', '3');
    join('realtime:a', '4'); // a rejoin replaces a join: not one more
    const reply = (ref) => waitFor(`reply ${ref}`, () => replies.find((m) => m.event === 'phx_reply' && m.ref === ref));
    assert.equal((await reply('1')).payload.status, 'ok');
    assert.equal((await reply('2')).payload.status, 'ok');
    const third = await reply('3');
    assert.equal(third.payload.status, 'error', JSON.stringify(third));
    assert.match(third.payload.response.reason, /at most 2 \(TELLTALE_REALTIME_MAX_JOINS\)/);
    assert.equal((await reply('4')).payload.status, 'ok');
    assert.equal((await rejections(d)).realtime_joins, before.realtime_joins + 1);
    await ws.close();
  });
});

describe('ingest rate per key', () => {
  let d;
  test('start', async () => {
    // 1 event a second, bursts of 10: the bucket refills too slowly to matter in a test.
    d = await start('limits-rate', ['--ingest-rate', '1', '--ingest-burst', '10']);
  });

  test('over the rate: 429 rate_limited with Retry-After in seconds; another address is not limited', async () => {
    const first = await api(d, 'POST', '/api/v1/events', { json: events(10) });
    assert.equal(first.status, 202);
    const over = await api(d, 'POST', '/api/v1/events', { json: events(5) });
    assert.equal(over.status, 429, over.text);
    assert.equal(over.json.error.code, 'rate_limited');
    assert.match(over.json.error.message, /TELLTALE_INGEST_RATE/);
    // No keys configured: the limit is the client address's, and the message says so.
    assert.match(over.json.error.message, /^over the ingest rate of this client address \(/);
    const retry = over.headers.get('retry-after');
    assert.match(retry ?? '', /^[1-9]\d*$/, `Retry-After: ${retry}`);
    assert.ok(Number(retry) <= 5, `Retry-After ${retry}: 5 events at 1 a second`);
    const other = await postFrom(d, '127.0.0.2', '/api/v1/events', JSON.stringify(events(5)));
    assert.equal(other.status, 202, JSON.stringify(other.json));
    assert.equal((await rejections(d)).ingest_rate, 1);
  });

  test('OTLP, /rest/v1 inserts and /ws publishes count against the same key', async () => {
    const otlp = await api(d, 'POST', '/v1/logs', {
      json: { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'x' } }] }] }] } });
    assert.equal(otlp.status, 429, otlp.text);
    assert.match(otlp.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    const ws = await RawWs.connect(d.port);
    ws.sendText(JSON.stringify({ type: 'ingest', ref: 7, events: events(1) }));
    const err = await ws.waitMessage((m) => m.ref === 7);
    assert.equal(err?.error?.code, 'rate_limited', JSON.stringify(err));
    await ws.destroy();
    const rest = await api(d, 'POST', '/rest/v1/monitoring_events', { json: { id: uid('rest'), type: 'rest' } });
    assert.equal(rest.status, 429, rest.text);
    assert.equal(rest.json.code, 'rate_limited', rest.text); // PostgREST's error shape
    assert.match(rest.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    // The other address's bucket still has tokens.
    const other = await postFrom(d, '127.0.0.2', '/v1/logs', JSON.stringify({
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'y' } }] }] }] }));
    assert.equal(other.status, 200, JSON.stringify(other.json));
    assert.equal((await rejections(d)).ingest_rate, 4);
  });
});

test('with keys configured the 429 names the key as the limit\'s holder', async () => {
  const key = 'service-key-for-limits-rate';
  const d = await start('limits-rate-key', ['--ingest-rate', '1', '--ingest-burst', '2', '--service-key', key]);
  const send = () => api(d, 'POST', '/api/v1/events', { json: events(2), headers: { apikey: key } });
  assert.equal((await send()).status, 202);
  const over = await send();
  assert.equal(over.status, 429, over.text);
  assert.match(over.json.error.message, /^over the ingest rate of this key \(/);
});

test('TELLTALE_MAX_INFLIGHT_BODIES counts a body once decoded: 503 while others hold the memory', async () => {
  const d = await start('limits-inflight', ['--max-body', '1MiB', '--max-inflight-bodies', '1MiB']);
  // ~500 kB of JSON that gzip makes a few kB: small as sent, large once decoded.
  const body = gzipSync(JSON.stringify(Array.from({ length: 40 }, () =>
    ({ id: uid('zip'), type: 'zip', attrs: { pad: 'z'.repeat(12_000) } }))));
  assert.ok(body.length < 10_000);
  const send = () => api(d, 'POST', '/api/v1/events', {
    body, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
  // A body of 600 kB announced and not sent holds 600 kB of the 1 MiB while it is awaited.
  const holder = await RawConn.connect(d.port);
  await holder.write('POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
                     'Content-Length: 600000\r\n\r\n[');
  const refused = await send();
  assert.equal(refused.status, 503, refused.text);
  assert.equal(refused.json.error.code, 'overloaded');
  assert.match(refused.json.error.message, /TELLTALE_MAX_INFLIGHT_BODIES/);
  assert.equal(refused.headers.get('retry-after'), '1');
  await holder.destroy();
  await waitFor('the decoded body accepted once the memory is free', async () => (await send()).status === 202);
});

test('a path logged with a refusal has its control bytes escaped', async () => {
  const key = 'service-key-for-limits';
  const d = await start('limits-logpath', ['--service-key', key]);
  // (telltale %-decodes the path itself, headers.c: the control bytes reach the log unless escaped)
  const res = await rawRequest(d.port, httpRequest({ path: '/api/v1/state/a%1b[31mRED%09TAB%7f',
                                                     headers: { host: 'x', connection: 'close' } }));
  assert.equal(res?.status, 401);
  await waitFor('the refusal logged', () => d.tail(50).includes('access: 401 /api/v1/state/'));
  const lines = d.tail(50).split('\n');
  const line = lines.find((l) => l.includes('access: 401 /api/v1/state/'));
  assert.ok(line.includes('/api/v1/state/a\\x1b[31mRED\\x09TAB\\x7f from 127.0.0.1'), line);
  assert.ok(!/[\x00-\x08\x0b-\x1f\x7f]/.test(d.tail(50)), 'no control byte in the log');
});

test('every daemon of this file exits with code 0 on SIGTERM (under ASan: no leak, no error)', async () => {
  for (const d of daemons) {
    if (d.running) {
      await d.stop();
    }
  }
});
