// hostile-ws.test.mjs -- hostile WebSocket input on /ws (DESIGN §5: 1002 for protocol errors,
// 1003 binary, 1007 invalid UTF-8, 1009 too big; a bad message gets an error and the
// connection stays). Malformed frames are built by hand on a raw socket, since a client
// library refuses to send them. After EACH input the daemon must still serve (/health 200)
// and hold exactly the events it acknowledged.

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, Ledger, test, uid } from './lib/daemon.mjs';
import { OP, RawWs, closePayload, rawRequest, wsFrame } from './lib/raw.mjs';
import { WsClient } from './lib/wsclient.mjs';

let d;
const ledger = new Ledger();
const MAX_MESSAGE = 1024 * 1024 + 4096; // TELLTALE_MAX_BODY (default 1 MiB) + 4 KiB

before(async () => {
  d = await Daemon.start({ label: 'hostile-ws' });
  await ledger.postAccepted(d, Array.from({ length: 20 }, (_, i) => ({ id: `wsseed-${i}`, type: 'seed' })));
});

after(async () => {
  await d?.cleanup();
});

function hostile(name, fn) {
  test(name, async () => {
    if (!(await d.alive())) { // an earlier input killed it: judge this one on a live daemon
      await d.kill9();
      await d.restart();
    }
    await fn();
    await ledger.check(d);
  });
}

// Opens a raw /ws connection and waits for hello, so that frames go to an established socket.
async function rawWs() {
  const ws = await RawWs.connect(d.port);
  assert.equal(ws.status, 101, ws.handshake);
  assert.ok(await ws.waitMessage((m) => m.type === 'hello'), 'hello');
  return ws;
}

// Sends the frames and expects the server to close with 'code'; where 'orEof', a connection
// the server simply drops (no close frame, or one without a code) is accepted too.
async function expectClose(frames, code, { orEof = false } = {}) {
  const ws = await rawWs();
  for (const f of frames) {
    await ws.send(f);
  }
  const r = await ws.waitClose(5_000);
  try {
    if (orEof && r.code !== code) {
      assert.equal(r.code, null, `close code ${r.code} (${r.reason}); expected ${code} or a dropped connection`);
      assert.ok(r.eof || await ws.conn.waitClosed(5_000),
                `expected close code ${code} or the connection dropped, but it stayed open and ` +
                `answered: ${JSON.stringify(ws.messages().map((m) => m.type))}`);
    } else {
      assert.equal(r.code, code, `close frame ${JSON.stringify(r)}; messages: ` +
                   JSON.stringify(ws.messages().map((m) => m.type)));
    }
    // A connection that ended with a protocol error must not have been served further.
    assert.equal(ws.messages().filter((m) => m.type === 'pong').length, 0, 'no pong after the bad frame');
  } finally {
    await ws.destroy();
  }
  return r;
}

const text = (s, opts = {}) => wsFrame({ opcode: OP.TEXT, payload: Buffer.from(s), ...opts });
const PING_MSG = '{"type":"ping"}';

// ---- frames that break RFC 6455 ------------------------------------------------------------

hostile('unmasked client frame → 1002, nothing of it served (RFC 6455 §5.1)', async () => {
  // RFC 6455 §5.1: a server MUST close the connection on an unmasked client frame (§7.4.1:
  // 1002, protocol error). wslay refuses it (ws_h2o.c writes the 1002 close frame wslay would
  // not); the first edge, libwebsockets 4.1.6, read such a frame as if it were masked.
  await expectClose([text(PING_MSG, { mask: false })], 1002);
});

hostile('reserved data opcode 0x3 → 1002', async () => {
  await expectClose([wsFrame({ opcode: 0x3, payload: 'x' })], 1002);
});

hostile('reserved control opcode 0xB → 1002', async () => {
  await expectClose([wsFrame({ opcode: 0xb, payload: 'x' })], 1002);
});

hostile('RSV1 set without a negotiated extension → 1002', async () => {
  await expectClose([text(PING_MSG, { rsv: 4 })], 1002);
});

hostile('RSV2 and RSV3 set → 1002', async () => {
  await expectClose([text(PING_MSG, { rsv: 2 })], 1002);
  await expectClose([text(PING_MSG, { rsv: 1 })], 1002);
});

hostile('close frame with a 1-byte payload → 1002 (or connection closed)', async () => {
  await expectClose([wsFrame({ opcode: OP.CLOSE, payload: Buffer.from([0x03]) })], 1002, { orEof: true });
});

hostile('close frame with a reserved code (999, 1004, 1005, 1006, 1015) → 1002 (or connection closed)', async () => {
  for (const code of [999, 1004, 1005, 1006, 1015]) {
    await expectClose([wsFrame({ opcode: OP.CLOSE, payload: closePayload(code) })], 1002, { orEof: true });
  }
});

hostile('close frame with a code outside the RFC 6455 ranges (5000, 65535) → 1002 (or connection closed)', async () => {
  // Codes are 1000-2999 (protocol) and 3000-4999 (registered, private); anything above is
  // invalid and must fail the connection (RFC 6455 §7.4.2; Autobahn case 7.9.x).
  for (const code of [5000, 65535]) {
    await expectClose([wsFrame({ opcode: OP.CLOSE, payload: closePayload(code) })], 1002, { orEof: true });
  }
});

hostile('close frame whose reason is invalid UTF-8 → 1007/1002 or connection closed', async () => {
  const payload = Buffer.concat([closePayload(1000), Buffer.from([0xff, 0xfe])]);
  const ws = await rawWs();
  await ws.send(wsFrame({ opcode: OP.CLOSE, payload }));
  const r = await ws.waitClose(10_000);
  assert.ok([1002, 1007].includes(r.code) || (r.code === null && (r.eof || await ws.conn.waitClosed(10_000))),
            `close ${JSON.stringify(r)}`);
  await ws.destroy();
});

hostile('fragmented control frame (ping with FIN clear) → 1002', async () => {
  await expectClose([wsFrame({ opcode: OP.PING, payload: 'x', fin: false })], 1002);
});

hostile('control frame with a payload over 125 bytes → 1002 (or connection closed)', async () => {
  await expectClose([wsFrame({ opcode: OP.PING, payload: Buffer.alloc(126, 0x61) })], 1002, { orEof: true });
});

hostile('continuation frame with no message to continue → 1002', async () => {
  await expectClose([wsFrame({ opcode: OP.CONT, payload: PING_MSG })], 1002);
});

hostile('a new text frame inside a fragmented message → 1002', async () => {
  await expectClose([text('{"type":', { fin: false }), text('"ping"}')], 1002);
});

hostile('64-bit payload length with the most significant bit set → 1002 (or connection closed)', async () => {
  const frame = Buffer.from([0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 0x7b]);
  await expectClose([frame], 1002, { orEof: true });
});

// ---- content the protocol forbids ------------------------------------------------------------

hostile('invalid UTF-8 in a text frame → 1007', async () => {
  await expectClose([text(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]))], 1007);
});

hostile('invalid UTF-8 split across fragments, and overlong encodings → 1007', async () => {
  await expectClose([text(Buffer.from([0x22, 0xe2, 0x82]), { fin: false }),
                     wsFrame({ opcode: OP.CONT, payload: Buffer.from([0x41, 0x22]) })], 1007);
  await expectClose([text(Buffer.from([0x22, 0xc0, 0xaf, 0x22]))], 1007);
  await expectClose([text(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]))], 1007); // a surrogate
});

hostile('binary frame → 1003', async () => {
  await expectClose([wsFrame({ opcode: OP.BINARY, payload: Buffer.from('{"type":"ping"}') })], 1003);
});

hostile('message over TELLTALE_MAX_BODY + 4 KiB in one frame → 1009', async () => {
  const big = JSON.stringify({ type: 'ingest', ref: 'big', events: [{ type: 'a', attrs: { p: 'x'.repeat(MAX_MESSAGE) } }] });
  await expectClose([text(big)], 1009);
});

hostile('message over TELLTALE_MAX_BODY + 4 KiB across fragments → 1009', async () => {
  const chunk = Buffer.alloc(300_000, 0x20);
  const frames = [text('[', { fin: false })];
  for (let sent = 0; sent <= MAX_MESSAGE; sent += chunk.length) {
    frames.push(wsFrame({ opcode: OP.CONT, payload: chunk, fin: false }));
  }
  frames.push(wsFrame({ opcode: OP.CONT, payload: ']' }));
  await expectClose(frames, 1009);
});

// ---- bad messages: an error message, and the connection stays --------------------------------

// Sends each message and expects an error with 'code' for it (and 'ref' where given); then the
// connection must still answer ping.
async function expectErrors(messages, code, { ref } = {}) {
  const c = await WsClient.connect(d.wsUrl);
  try {
    await c.next('hello', (m) => m.type === 'hello');
    for (const msg of messages) {
      const from = c.messages.length;
      c.send(msg);
      const err = await c.next(`error for ${String(msg).slice(0, 60)}`, (m) => m.type === 'error', { from, timeoutMs: 5_000 });
      assert.equal(err.error?.code, code, `${String(msg).slice(0, 80)} → ${JSON.stringify(err)}`);
      assert.equal(typeof err.error.message, 'string');
      if (ref !== undefined) {
        assert.deepEqual(err.ref, ref);
      }
    }
    await c.sync(); // still connected and served
    assert.equal(c.closeInfo, null);
    assert.equal(c.messages.filter((m) => m.type === 'ack').length, 0, 'nothing acknowledged');
  } finally {
    await c.close();
  }
}

hostile('invalid JSON messages → error invalid_json, connection stays', async () => {
  await expectErrors(['{not json', '', '{"type":"ping"', '\u0000', '{"type":"ping",}'], 'invalid_json');
});

hostile('a message with data after the JSON value → error invalid_json; nothing is ingested', async () => {
  // As POST /api/v1/events does for a body. Otherwise the tail of a message is silently
  // dropped, and a producer that concatenated two messages loses the second without a word.
  await expectErrors(['{"type":"ping"} trailing', '{"type":"ping"}{"type":"get_stats"}',
                      JSON.stringify({ type: 'ingest', ref: 't1', events: [{ type: 'a', id: uid('trail') }] }) + ' {"x":'],
                     'invalid_json');
});

hostile('messages that are not an object with a string type → error invalid_message, connection stays', async () => {
  await expectErrors(['[]', '42', '"ping"', 'null', '{}', '{"type":7}', '{"type":null}'], 'invalid_message');
});

hostile('unknown message type → error unknown_message, connection stays', async () => {
  await expectErrors(['{"type":"frobnicate"}', '{"type":"PING"}', '{"type":""}'], 'unknown_message');
});

hostile('message nested 100 deep → error, connection stays', async () => {
  const c = await WsClient.connect(d.wsUrl);
  c.send(`{"type":"ping","x":${'['.repeat(100)}${']'.repeat(100)}}`);
  const err = await c.next('error', (m) => m.type === 'error');
  assert.ok(['invalid_json', 'invalid_message', 'nesting_too_deep'].includes(err.error.code), JSON.stringify(err));
  await c.sync();
  await c.close();
});

hostile('ingest with bad events (not an array, invalid event, too many) → error with ref; nothing stored', async () => {
  await expectErrors([JSON.stringify({ type: 'ingest', ref: 'r1', events: { type: 'a' } })], 'invalid_message', { ref: 'r1' });
  await expectErrors([JSON.stringify({ type: 'ingest', ref: 'r2' })], 'invalid_message', { ref: 'r2' });
  await expectErrors([JSON.stringify({ type: 'ingest', ref: 'r3', events: [] })], 'empty_batch', { ref: 'r3' });
  await expectErrors([JSON.stringify({ type: 'ingest', ref: 'r4', events: [{ type: 'a', id: uid('w') }, { type: 'a', bogus: 1 }] })],
                     'unknown_field', { ref: 'r4' });
  const many = Array.from({ length: 10_001 }, (_, i) => ({ type: 'many', id: `wsmany-${i}` }));
  await expectErrors([JSON.stringify({ type: 'ingest', ref: 'r5', events: many })], 'too_many_events', { ref: 'r5' });
});

hostile('ingest with an unusable ref (object, or over 128 bytes) → error invalid_message; nothing stored', async () => {
  await expectErrors([JSON.stringify({ type: 'ingest', ref: { a: 1 }, events: [{ type: 'a', id: uid('ref') }] }),
                      JSON.stringify({ type: 'ingest', ref: 'r'.repeat(129), events: [{ type: 'a', id: uid('ref') }] })],
                     'invalid_message');
});

hostile('resume with a bad after_seq (string, negative, fraction, missing) → error invalid_message', async () => {
  await expectErrors(['{"type":"resume","after_seq":"5"}', '{"type":"resume","after_seq":-1}',
                      '{"type":"resume","after_seq":1.5}', '{"type":"resume"}'], 'invalid_message');
});

hostile('subscribe with a bad filter (not an object, unknown key, non-string, too long) → error invalid_message', async () => {
  await expectErrors(['{"type":"subscribe","filter":"x"}', '{"type":"subscribe","filter":{"colour":"red"}}',
                      '{"type":"subscribe","filter":{"type":5}}',
                      JSON.stringify({ type: 'subscribe', filter: { source: 's'.repeat(65) } })], 'invalid_message');
});

hostile('get_recent_events with a bad limit (0, 1001, "5", 2.5) → error invalid_message', async () => {
  await expectErrors(['{"type":"get_recent_events","limit":0}', '{"type":"get_recent_events","limit":1001}',
                      '{"type":"get_recent_events","limit":"5"}', '{"type":"get_recent_events","limit":2.5}'],
                     'invalid_message');
});

hostile('a client that vanishes mid-message (half a frame, then EOF) → the daemon keeps serving', async () => {
  const ws = await rawWs();
  const frame = text(JSON.stringify({ type: 'ingest', ref: 1, events: [{ type: 'a', id: 'vanish-1' }] }));
  await ws.send(frame.subarray(0, 10));
  await ws.destroy();
  const ws2 = await rawWs(); // served after the first one's EOF was handled
  await ws2.sendText(PING_MSG);
  assert.ok(await ws2.waitMessage((m) => m.type === 'pong'), 'pong');
  await ws2.destroy();
});

hostile('frames sent in the same write as the handshake are read as frames, after it', async () => {
  // h2o-edge: the 101 and the hand-over of the socket are h2o_http1_upgrade's, and ws_h2o.c
  // takes the request's bytes out of h2o's socket input by the size h2o reports (h2o 2.2.5's
  // layout, docs/h2o-spike.md): were either to change, these frames would be lost or misread.
  const frames = Buffer.concat([wsFrame({ opcode: OP.TEXT, payload: '{"type":"ping"}' }),
                                wsFrame({ opcode: OP.TEXT, payload: '{"type":"get_recent_events","limit":1}' })]);
  const ws = await RawWs.connect(d.port, { frames });
  try {
    assert.equal(ws.status, 101, ws.handshake);
    assert.ok(await ws.waitMessage((m) => m.type === 'pong'), `pong; got ${JSON.stringify(ws.messages())}`);
    assert.ok(await ws.waitMessage((m) => m.type === 'recent_events'), `recent_events; got ${JSON.stringify(ws.messages())}`);
    assert.equal(ws.messages().filter((m) => m.type === 'error').length, 0, JSON.stringify(ws.messages()));
  } finally {
    await ws.destroy();
  }
});

// ---- the opening handshake (RFC 6455 §4.2.1, §4.2.2) ---------------------------------------

// Every WebSocket endpoint holds a handshake to all of RFC 6455 §4.1's rules, not only to the
// Upgrade field and a key of 24 bytes that libh2o's h2o_is_websocket_handshake() looks at.
const ENDPOINTS = ['/ws', '/realtime/v1/websocket?vsn=1.0.0'];
const GOOD_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function handshake(target, { version = 'HTTP/1.1', method = 'GET', fields = {} } = {}) {
  const all = { Host: `127.0.0.1:${d.port}`, Upgrade: 'websocket', Connection: 'Upgrade',
                'Sec-WebSocket-Key': GOOD_KEY, 'Sec-WebSocket-Version': '13', ...fields };
  const lines = Object.entries(all).filter(([, v]) => v !== null).map(([k, v]) => `${k}: ${v}`);
  return `${method} ${target} ${version}\r\n${lines.join('\r\n')}\r\n\r\n`;
}

// An Upgrade field goes with the "upgrade" option in Connection (RFC 9110 §7.8), whatever else
// Connection says (keep-alive or close: the connection's fate is libh2o's).
function assertUpgradeOption(r, what) {
  const options = (r.headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim());
  assert.ok(options.includes('upgrade'), `${what}: Connection '${r.headers.connection}' names upgrade`);
}

test('a handshake of another WebSocket version is 426 with Sec-WebSocket-Version: 13, on every endpoint', async () => {
  for (const target of ENDPOINTS) {
    for (const v of ['8', '7', '14', '13, 8']) {
      const r = await rawRequest(d.port, handshake(target, { fields: { 'Sec-WebSocket-Version': v } }));
      assert.equal(r?.status, 426, `${target} version ${v}: ${r?.statusLine} ${r?.text}`);
      assert.equal(r.headers['sec-websocket-version'], '13', `${target} version ${v}`);
      assert.equal(r.headers.upgrade, 'websocket', `${target}: a 426 names the protocol (RFC 9110 §15.5.22)`);
      assertUpgradeOption(r, target);
      assert.equal(r.json.error.code, 'upgrade_required');
      assert.match(r.json.error.message, /version 13 only/);
    }
  }
});

test('a handshake that breaks RFC 6455 §4.1 is 400 invalid_websocket_handshake naming the part, on every endpoint', async () => {
  const cases = [
    [{ version: 'HTTP/1.0' }, /HTTP\/1\.1 or later.*HTTP\/1\.0/],
    [{ method: 'POST', fields: { 'Content-Length': '0' } }, /must be a GET.*not POST/],
    [{ method: 'PUT', fields: { 'Content-Length': '0' } }, /must be a GET.*not PUT/],
    [{ fields: { 'Sec-WebSocket-Version': null } }, /needs Sec-WebSocket-Version: 13/],
    [{ fields: { 'Sec-WebSocket-Key': null } }, /Sec-WebSocket-Key: base64 of 16 bytes/],
    [{ fields: { 'Sec-WebSocket-Key': '************************' } }, /Sec-WebSocket-Key: base64 of 16 bytes/],
    // base64 of 17 bytes; of 15; 24 characters that are no base64
    [{ fields: { 'Sec-WebSocket-Key': Buffer.alloc(17, 1).toString('base64') } }, /base64 of 16 bytes/],
    [{ fields: { 'Sec-WebSocket-Key': Buffer.alloc(15, 1).toString('base64') } }, /base64 of 16 bytes/],
    [{ fields: { 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ=a' } }, /base64 of 16 bytes/],
  ];
  for (const target of ENDPOINTS) {
    for (const [opts, says] of cases) {
      const r = await rawRequest(d.port, handshake(target, opts));
      const what = `${target} ${JSON.stringify(opts)}`;
      assert.equal(r?.status, 400, `${what}: ${r?.statusLine} ${r?.text}`);
      assert.equal(r.json.error.code, 'invalid_websocket_handshake', what);
      assert.match(r.json.error.message, says, what);
    }
  }
  assert.equal((await fetch(`${d.base}/health`)).status, 200, 'the daemon keeps serving');
});

test('Upgrade and Connection are token lists, compared without case: a handshake that has them in a list opens', async () => {
  for (const target of ENDPOINTS) {
    const r = await rawRequest(d.port, handshake(target, {
      fields: { Upgrade: 'WebSocket, foo/1', Connection: 'keep-alive, UPGRADE' } }));
    assert.equal(r?.status, 101, `${target}: ${r?.statusLine} ${r?.text}`);
    assert.equal(r.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  }
});

test('a request at a WebSocket endpoint that is no upgrade is 426 naming the handshake, not 404', async () => {
  for (const target of ENDPOINTS) {
    // a plain GET; and an Upgrade without the "upgrade" token in Connection, which is no
    // upgrade request (RFC 9110 §7.8) and libh2o does not take for one
    for (const fields of [{ Upgrade: null, Connection: null, 'Sec-WebSocket-Key': null, 'Sec-WebSocket-Version': null },
                          { Connection: 'keep-alive' }, { Connection: null }]) {
      const r = await rawRequest(d.port, handshake(target, { fields }));
      const what = `${target} ${JSON.stringify(fields)}`;
      assert.equal(r?.status, 426, `${what}: ${r?.statusLine} ${r?.text}`);
      assert.equal(r.headers.upgrade, 'websocket', `${what}: a 426 names the protocol (RFC 9110 §15.5.22)`);
      assertUpgradeOption(r, what);
      assert.equal(r.json.error.code, 'upgrade_required', what);
      assert.match(r.json.error.message, /takes only a WebSocket upgrade.*Connection: Upgrade/, what);
    }
  }
  const other = await rawRequest(d.port, handshake('/health', { fields: { Connection: 'keep-alive' } }));
  assert.equal(other?.status, 200, 'elsewhere an Upgrade without Connection: upgrade is served as any request');
});

test('an upgrade with header fields over 16 KiB is 431 header_fields_too_large, on every endpoint', async () => {
  for (const target of ENDPOINTS) {
    for (const fields of [{ 'X-A': 'a'.repeat(17_000) },
                          Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`X-${i}`, 'b'.repeat(15_000)]))]) {
      const r = await rawRequest(d.port, handshake(target, { fields }));
      assert.equal(r?.status, 431, `${target} ${Object.keys(fields)}: ${r?.statusLine} ${r?.text}`);
      assert.equal(r.json.error.code, 'header_fields_too_large');
    }
    const ok = await rawRequest(d.port, handshake(target, { fields: { 'X-A': 'a'.repeat(15_000) } }));
    assert.equal(ok?.status, 101, `${target}: 15,000 bytes of X-A is within the limit`);
  }
});

test('an upgrade whose field values end in spaces or tabs opens: they are not part of the value (RFC 9110 §5.5)', async () => {
  for (const target of ENDPOINTS) {
    for (const ows of [' ', '\t']) {
      for (const name of ['Upgrade', 'Connection', 'Sec-WebSocket-Key', 'Sec-WebSocket-Version', 'Host', 'Origin']) {
        const base = { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': GOOD_KEY,
                       'Sec-WebSocket-Version': '13', Host: `127.0.0.1:${d.port}`, Origin: `http://127.0.0.1:${d.port}` };
        const r = await rawRequest(d.port, handshake(target, { fields: { [name]: base[name] + ows } }));
        assert.equal(r?.status, 101, `${target} ${name} + ${JSON.stringify(ows)}: ${r?.statusLine} ${r?.text}`);
      }
    }
  }
});

test('a WebSocket endpoint answers OPTIONS with 200 and Allow, another method with 405 and Allow', async () => {
  for (const target of ENDPOINTS) {
    const plain = { Upgrade: null, Connection: null, 'Sec-WebSocket-Key': null, 'Sec-WebSocket-Version': null };
    const o = await rawRequest(d.port, handshake(target, { method: 'OPTIONS', fields: plain }));
    assert.equal(o?.status, 200, `OPTIONS ${target}: ${o?.statusLine} ${o?.text}`);
    assert.equal(o.headers.allow, 'GET, HEAD, OPTIONS', `OPTIONS ${target}`);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await rawRequest(d.port, handshake(target, { method, fields: { ...plain,
        ...(method === 'DELETE' ? {} : { 'Content-Type': 'application/json', 'Content-Length': '0' }) } }));
      assert.equal(r?.status, 405, `${method} ${target}: ${r?.statusLine} ${r?.text}`);
      assert.equal(r.json.error.code, 'method_not_allowed');
      assert.equal(r.headers.allow, 'GET, HEAD, OPTIONS', `${method} ${target}`);
    }
  }
});

test('an upgrade\'s query is held to any request\'s rules: %-escapes, size, no parameter twice; other parameters are ignored', async () => {
  const cases = [
    ['x=%ZZ', 400, 'invalid_percent_encoding', /'%' not followed by two hex digits/],
    ['apikey=k1-0123456789abcdef&apikey=k2-0123456789abcdef', 400, 'invalid_parameter', /'apikey' given more than once/],
    ['log_level=info&log_level=info', 400, 'invalid_parameter', /'log_level' given more than once/],
    [`pad=${'x'.repeat(9000)}`, 414, 'query_too_long', /too long/],
  ];
  for (const target of ENDPOINTS) {
    const join = target.includes('?') ? '&' : '?';
    for (const [query, status, code, says] of cases) {
      const r = await rawRequest(d.port, handshake(`${target}${join}${query}`));
      const what = `${target}${join}${query.slice(0, 40)}`;
      assert.equal(r?.status, status, `${what}: ${r?.statusLine} ${r?.text}`);
      assert.equal(r.json.error.code, code, what);
      assert.match(r.json.error.message, says, what);
    }
    const other = await rawRequest(d.port, handshake(`${target}${join}log_level=info`));
    assert.equal(other?.status, 101, `${target}: a parameter of the client's own is ignored: ${other?.text}`);
  }
});

test('the daemon exits with code 0 on SIGTERM', async () => {
  if (!(await d.alive())) {
    await d.kill9();
    await d.restart();
  }
  await ledger.check(d);
  await d.stop();
});
