// access.test.mjs -- the route × role matrix of DESIGN §5 "Access", every cell: each route and
// method (ROUTES, one row each: a new route is one row), each WebSocket endpoint and /ws message
// type, against each caller: no credential, a bad key, anon, ingest, authenticated (a JWT) and
// service_role. Twice: with the defaults (anon reads nothing, /metrics needs a key) and with
// TELLTALE_ANON_READ and TELLTALE_METRICS_PUBLIC on. Runs on SQLite, and on PostgreSQL with
// TELLTALE_TEST_STORE=postgres (same file).
//
// A refused cell must be exactly 401 (no, a bad or an expired credential) or 403 (a valid
// credential whose role may not), with the route's error shape and RFC 6750's WWW-Authenticate
// (checkChallenge); an admitted cell
// must be anything else: the handler's own answer (200, 202, 400, 404 ...), which proves the
// request went past the check.

import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { createHmac } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import WebSocket from 'ws';

import { BIN, Daemon, api, test, waitFor, withTimeout, uid } from './lib/daemon.mjs';
import { WsClient, tryUpgrade } from './lib/wsclient.mjs';

const SECRET = 'access-test-jwt-secret-of-at-least-32-bytes';
const SERVICE = 'access-service-key-0123456789';
const INGEST = 'access-ingest-key-0123456789';
const ANON = 'access-anon-key-0123456789';

function jwt(claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims });
  const sig = createHmac('sha256', SECRET).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

// A bearer token that has expired (an hour ago, past the 30 s leeway).
const EXPIRED = jwt({ role: 'service_role', exp: Math.floor(Date.now() / 1000) - 3600 });

// The callers, each with the headers it sends (and the key it puts in a WebSocket URL).
const CALLERS = {
  none: { headers: {}, key: null },
  bad: { headers: { apikey: 'not-a-key-of-this-daemon' }, key: 'not-a-key-of-this-daemon' },
  expired: { headers: { authorization: `Bearer ${EXPIRED}` }, key: EXPIRED },
  anon: { headers: { apikey: ANON }, key: ANON },
  ingest: { headers: { apikey: INGEST }, key: INGEST },
  authenticated: { headers: { authorization: `Bearer ${jwt({ role: 'authenticated', sub: 'u1' })}` },
                   key: jwt({ role: 'authenticated', sub: 'u1' }) },
  service_role: { headers: { apikey: SERVICE }, key: SERVICE },
  // a JWT of role anon that carries a sub: a sub alone grants no client's state
  anon_sub: { headers: { authorization: `Bearer ${jwt({ role: 'anon', sub: 'u1' })}` },
              key: jwt({ role: 'anon', sub: 'u1' }) },
};

// The callers with no valid credential: refused 401 wherever a credential is needed.
const UNKNOWN = ['none', 'bad', 'expired'];

// Who may use what. public: anyone; read: authenticated, service_role, and anon with
// TELLTALE_ANON_READ; ingest: ingest and service_role; service: service_role only.
const ADMITS = {
  public: () => true,
  read: (who, d) => who === 'authenticated' || who === 'service_role' ||
                    ((who === 'anon' || who === 'anon_sub') && d.anonRead),
  ingest: (who) => who === 'ingest' || who === 'service_role',
  service: (who) => who === 'service_role',
  connected: (who) => !UNKNOWN.includes(who), // any role admitted at the upgrade
  anykey: (who) => !UNKNOWN.includes(who), // any valid credential, anon too (OFREP)
  // a client's own dashboard state: service_role, or the reader whose JWT's sub names it
  own: (who) => who === 'service_role' || who === 'authenticated',
};

const event = () => ({ id: uid('acc'), type: 'access_test' });

// THE TABLE: one row per route and method. policy: a key of ADMITS, or a function of the
// daemon (for a switch). body: a function giving the JSON to send. rest: PostgREST's error
// shape.
const ROUTES = [
  { method: 'GET', path: '/health', policy: 'public' },
  { method: 'HEAD', path: '/health', policy: 'public' },
  { method: 'GET', path: '/ready', policy: 'public' },
  { method: 'GET', path: '/', policy: 'public' },
  { method: 'GET', path: '/index.html', policy: 'public' },
  { method: 'GET', path: '/app.js', policy: 'public' },
  { method: 'GET', path: '/style.css', policy: 'public' },
  { method: 'GET', path: '/vendor/uPlot.esm.js', policy: 'public' },
  { method: 'GET', path: '/no-such-file', policy: 'public' },
  { method: 'GET', path: '/metrics', policy: (d) => (d.metricsPublic ? 'public' : 'read') },
  { method: 'POST', path: '/api/v1/events', policy: 'ingest', body: event },
  { method: 'GET', path: '/api/v1/events?limit=1', policy: 'read' },
  { method: 'HEAD', path: '/api/v1/events', policy: 'read' },
  { method: 'GET', path: '/api/v1/status', policy: 'read' },
  { method: 'GET', path: '/api/v1/dlq', policy: 'service' },
  { method: 'GET', path: '/api/v1/dlq/stats', policy: 'read' },
  { method: 'POST', path: '/api/v1/dlq/recover', policy: 'service' },
  { method: 'POST', path: '/api/v1/dlq/no-such-item/retry', policy: 'service' },
  { method: 'POST', path: '/api/v1/dlq/no-such-item/fail', policy: 'service' },
  { method: 'DELETE', path: '/api/v1/dlq?older_than=3650d', policy: 'service' },
  { method: 'PUT', path: '/api/v1/breaker', policy: 'service', body: () => ({ state: 'closed' }) },
  { method: 'GET', path: '/rest/v1/monitoring_events?select=seq&limit=1', policy: 'read', rest: true },
  { method: 'HEAD', path: '/rest/v1/feature_flags', policy: 'read', rest: true },
  // Events are inserted through /rest/v1 by service_role only (rest.c's table policy, under the
  // route's readers); anon past the route check is refused as PostgREST refuses it, 401.
  { method: 'POST', path: '/rest/v1/monitoring_events', policy: 'service', rest: true, body: event,
    want: (who, d) => ((who === 'anon' || who === 'anon_sub') && d.anonRead ? 401 : undefined) },
  { method: 'OPTIONS', path: '/rest/v1/monitoring_events', policy: 'public', rest: true },
  { method: 'GET', path: '/api/v1/flags', policy: 'read' },
  { method: 'GET', path: '/api/v1/flags/dashboard.data_source', policy: 'read' },
  { method: 'PUT', path: '/api/v1/flags/access.test', policy: 'service', body: () => ({ enabled: true }) },
  { method: 'DELETE', path: '/api/v1/flags/access.nothing', policy: 'service' },
  { method: 'POST', path: '/ofrep/v1/evaluate/flags', policy: 'anykey',
    body: () => ({ context: { targetingKey: 'x' } }) },
  { method: 'POST', path: '/ofrep/v1/evaluate/flags/access.test', policy: 'anykey',
    body: () => ({ context: { targetingKey: 'x' } }) },
  { method: 'OPTIONS', path: '/ofrep/v1/evaluate/flags', policy: 'public' },
  // the authenticated caller's JWT has sub u1
  { method: 'GET', path: '/api/v1/state/u1', policy: 'own' },
  { method: 'PUT', path: '/api/v1/state/u1/theme', policy: 'own', body: () => ({ value: 'dark' }) },
  { method: 'DELETE', path: '/api/v1/state/u1/nothing', policy: 'own' },
  { method: 'GET', path: '/api/v1/state/another-client', policy: 'service' },
  { method: 'PUT', path: '/api/v1/state/u1', policy: 'own', body: () => ({ value: { theme: 'light' } }) },
  { method: 'GET', path: '/api/v1/metrics', policy: 'read' },
  { method: 'HEAD', path: '/api/v1/metrics', policy: 'read' },
  { method: 'GET', path: '/api/v1/sessions', policy: 'read' },
  { method: 'GET', path: '/api/v1/sessions/no-such-session', policy: 'read' },
  { method: 'POST', path: '/v1/traces', policy: 'ingest', body: () => ({ resourceSpans: [] }), rest: 'otlp' },
  { method: 'POST', path: '/v1/logs', policy: 'ingest', body: () => ({ resourceLogs: [] }), rest: 'otlp' },
  { method: 'POST', path: '/v1/metrics', policy: 'ingest', body: () => ({ resourceMetrics: [] }), rest: 'otlp' },
];

// /ws message types: who may send each, and a message of that type.
const WS_MESSAGES = [
  { type: 'ping', policy: 'connected', msg: () => ({ type: 'ping' }) },
  { type: 'resume', policy: 'read', msg: () => ({ type: 'resume', after_seq: 0 }) },
  { type: 'subscribe', policy: 'read', msg: () => ({ type: 'subscribe', filter: { type: 'x' } }) },
  { type: 'get_stats', policy: 'read', msg: () => ({ type: 'get_stats' }) },
  { type: 'get_recent_events', policy: 'read', msg: () => ({ type: 'get_recent_events', limit: 1 }) },
  { type: 'ingest', policy: 'ingest', msg: (ref) => ({ type: 'ingest', ref, events: [event()] }) },
  { type: 'state_subscribe', policy: 'own', msg: () => ({ type: 'state_subscribe', client_id: 'u1' }) },
];

function admits(policy, who, d) {
  return ADMITS[typeof policy === 'function' ? policy(d) : policy](who, d);
}

async function call(d, row, who) {
  const headers = { ...CALLERS[who].headers };
  const init = { method: row.method, headers, signal: AbortSignal.timeout(15_000) };
  if (row.body) {
    init.body = JSON.stringify(row.body());
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(d.base + row.path, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

// The WebSocket upgrade at 'path' with the caller's key in the URL: the status (101 = open).
function upgrade(d, path, who, query = '') {
  const key = CALLERS[who].key;
  const q = [key !== null ? `apikey=${encodeURIComponent(key)}` : '', query].filter(Boolean).join('&');
  return tryUpgrade(`ws://${d.host}:${d.port}${path}${q ? `?${q}` : ''}`);
}

// A Realtime socket admitted with 'key' (?apikey=), open, and the frames it received so far.
async function openRealtime(d, key) {
  const ws = new WebSocket(`ws://${d.host}:${d.port}/realtime/v1/websocket?apikey=` +
                           `${encodeURIComponent(key)}&vsn=1.0.0`);
  const replies = [];
  ws.on('message', (data) => replies.push(JSON.parse(data.toString())));
  await withTimeout(new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  }), 5_000, 'realtime open');
  return { ws, replies };
}

// The WWW-Authenticate every refusal carries (RFC 6750 §3, §3.1): the bare challenge without
// a credential, invalid_token for one refused, insufficient_scope for a role that may not
// (403, and /rest/v1's 401 for anon, as PostgREST answers it). Never the credential.
function checkChallenge(r, who, where, status) {
  const h = typeof r.headers.get === 'function' ? r.headers.get('www-authenticate')
                                                : r.headers['www-authenticate'];
  const at = `${where} as ${who} (${status}): WWW-Authenticate ${h}`;
  if (who === 'none') {
    assert.equal(h, 'Bearer', at);
    return;
  }
  const error = UNKNOWN.includes(who) ? 'invalid_token' : 'insufficient_scope';
  assert.match(h ?? '', new RegExp(`^Bearer error="${error}", error_description="[\\x20-\\x21\\x23-\\x5b\\x5d-\\x7e]+"$`), at);
  assert.ok(!h.includes(CALLERS[who].key ?? '\u0000'), `${at}: the credential is not echoed`);
  if (who === 'expired') {
    assert.match(h, /expired/, at);
  }
}

function checkRefusal(r, who, where, rest, override) {
  const want = override ?? (UNKNOWN.includes(who) ? 401 : 403);
  assert.equal(r.status, want, `${where} as ${who}: want ${want}, got ${r.status} ${r.text ?? r.body}`);
  checkChallenge(r, who, where, want);
  const text = r.text ?? r.body;
  if (text) {
    const body = JSON.parse(text);
    if (rest === 'otlp') { // google.rpc.Status: UNAUTHENTICATED 16, PERMISSION_DENIED 7
      assert.equal(body.code, want === 401 ? 16 : 7, `${where}: google.rpc code`);
    } else if (rest) {
      assert.equal(body.code, want === 401 && !override ? 'PGRST301' : '42501',
                   `${where}: PostgREST code`);
    } else {
      assert.equal(body.error.code, want === 401 ? 'unauthorized' : 'forbidden', `${where}: code`);
      assert.ok(!text.includes(CALLERS[who].key ?? '\u0000'), `${where}: the key is not echoed`);
    }
  }
}

const SETUPS = [
  { label: 'defaults', env: {}, anonRead: false, metricsPublic: false },
  { label: 'anon read, public metrics, a trusted proxy',
    env: { TELLTALE_ANON_READ: 'true', TELLTALE_METRICS_PUBLIC: 'true', TELLTALE_TRUST_PROXY: '127.0.0.1' },
    anonRead: true, metricsPublic: true, trustProxy: true },
];

for (const setup of SETUPS) {
  describe(`access matrix (${setup.label})`, () => {
    let d;
    before(async () => {
      d = await Daemon.start({
        label: `access-${setup.label}`,
        env: { TELLTALE_JWT_SECRET: SECRET, TELLTALE_SERVICE_KEY: SERVICE,
               TELLTALE_INGEST_KEY: INGEST, TELLTALE_ANON_KEY: ANON, ...setup.env },
      });
      d.anonRead = setup.anonRead;
      d.metricsPublic = setup.metricsPublic;
    });
    after(async () => {
      await d?.stop();
    });

    for (const row of ROUTES) {
      test(`${row.method} ${row.path}`, async () => {
        for (const who of Object.keys(CALLERS)) {
          const r = await call(d, row, who);
          const where = `${row.method} ${row.path}`;
          if (admits(row.policy, who, d)) {
            assert.ok(r.status !== 401 && r.status !== 403,
                      `${where} as ${who}: admitted, yet ${r.status} ${r.text}`);
          } else {
            checkRefusal(r, who, where, row.rest, row.want?.(who, d));
          }
        }
      });
    }

    test('refusals are logged with the client address (X-Forwarded-For only from a trusted proxy), never the key', async () => {
      const key = 'a-secret-looking-key-that-must-not-be-logged';
      const from = setup.trustProxy ? '198.51.100.7' : '127.0.0.1';
      // Refusals are logged at most 10 a second (the matrix above made many): ask again until
      // a second has room for this one.
      await waitFor('the refusal in the log', async () => {
        const r = await fetch(`${d.base}/api/v1/status`, {
          headers: { apikey: key, 'x-forwarded-for': '6.6.6.6, 198.51.100.7' },
        });
        assert.equal(r.status, 401);
        return d.stderr.includes(`access: 401 /api/v1/status from ${from}: unknown key`);
      }, { intervalMs: 200 });
      assert.ok(!d.stderr.includes(key), 'the key is not logged');
      assert.ok(!d.stderr.includes('6.6.6.6'), 'what the client wrote itself is not believed');
    });

    test('a JWT with role ingest posts events and reads nothing; alg other than HS256 is refused', async () => {
      const ingest = { authorization: `Bearer ${jwt({ role: 'ingest' })}` };
      let r = await fetch(`${d.base}/api/v1/events`, {
        method: 'POST', headers: { ...ingest, 'content-type': 'application/json' },
        body: JSON.stringify(event()),
      });
      assert.equal(r.status, 202);
      r = await fetch(`${d.base}/api/v1/events`, { headers: ingest });
      assert.equal(r.status, 403);
      const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.` +
                   `${Buffer.from('{"role":"service_role"}').toString('base64url')}.`;
      r = await fetch(`${d.base}/api/v1/dlq`, { headers: { authorization: `Bearer ${none}` } });
      assert.equal(r.status, 401);
      const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const signed = `${b64({ alg: 'HS384', typ: 'JWT' })}.${b64({ role: 'service_role' })}`;
      const hs384 = `${signed}.${createHmac('sha384', SECRET).update(signed).digest('base64url')}`;
      r = await fetch(`${d.base}/api/v1/dlq`, { headers: { authorization: `Bearer ${hs384}` } });
      assert.equal(r.status, 401);
      assert.match((await r.json()).error.message, /not signed with HS256: its alg is "HS384"/);
      // A header that is no JSON object is a malformed token (RFC 7515 §5.2), not a wrong alg.
      r = await fetch(`${d.base}/api/v1/dlq`, { headers: { authorization: 'Bearer abc.def.ghi' } });
      assert.equal(r.status, 401);
      assert.equal((await r.json()).error.message, 'invalid token: its header is not base64url JSON: it decodes to no JSON object (RFC 7515 5.2)');
    });

    test('the CLI sends TELLTALE_SERVICE_KEY, else TELLTALE_INGEST_KEY, from its environment', () => {
      const cli = (args, env) => spawnSync(BIN, args, {
        encoding: 'utf8', timeout: 20_000,
        env: { ...process.env, TELLTALE_SERVICE_KEY: '', TELLTALE_INGEST_KEY: '', ...env },
      });
      const ev = JSON.stringify(event());
      const send = ['send', '--url', d.base, ev];
      assert.equal(cli(send, { TELLTALE_INGEST_KEY: INGEST }).status, 0);
      assert.equal(cli(send, {}).status, 1, 'no key: refused');
      assert.equal(cli(['dlq', 'stats', '--url', d.base], { TELLTALE_SERVICE_KEY: SERVICE }).status, 0);
      const r = cli(['dlq', 'list', '--url', d.base], { TELLTALE_INGEST_KEY: INGEST });
      assert.equal(r.status, 1, `a producer key cannot list dead letters: ${r.stderr}`);
      assert.ok(!`${r.stdout}${r.stderr}`.includes(INGEST), 'the key is not printed');
    });

    // What happens on the connection itself (the body read through, Connection: close) is
    // http11.test.mjs's, on a raw socket; here: the refusal, and the daemon still serving.
    test('a large POST without a key is answered 401, and the daemon keeps serving', async () => {
      const r = await fetch(`${d.base}/api/v1/events`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify(Array.from({ length: 2000 }, event)),
      });
      assert.equal(r.status, 401);
      assert.equal((await fetch(`${d.base}/health`)).status, 200);
    });

    test('WebSocket upgrades: /ws and /realtime/v1/websocket', async () => {
      for (const who of Object.keys(CALLERS)) {
        const ws = await upgrade(d, '/ws', who);
        const wsAdmitted = admits('read', who, d) || who === 'ingest';
        if (wsAdmitted) {
          assert.equal(ws.status, 101, `/ws as ${who}: ${ws.status} ${ws.body ?? ''}`);
        } else {
          checkRefusal(ws, who, '/ws');
        }
        // Realtime's door takes any valid key; its channels check the role (below).
        const rt = await upgrade(d, '/realtime/v1/websocket', who, 'vsn=1.0.0');
        if (UNKNOWN.includes(who)) {
          checkRefusal(rt, who, '/realtime/v1/websocket');
        } else {
          assert.equal(rt.status, 101, `realtime as ${who}: ${rt.status} ${rt.body ?? ''}`);
        }
      }
      // Headers work as well as the URL parameter (clients that can set them).
      for (const [headers, want] of [[{ apikey: INGEST }, 101], [{ authorization: `Bearer ${SERVICE}` }, 101],
                                     [{ apikey: 'wrong-key-wrong-key' }, 401]]) {
        const { status } = await tryUpgrade(d.wsUrl, headers);
        assert.equal(status, want, JSON.stringify(headers));
      }
    });

    test('/ws message types: each role sends what its row allows, and gets "forbidden" otherwise', async () => {
      for (const who of ['ingest', 'authenticated', 'service_role', 'anon']) {
        if (!(admits('read', who, d) || who === 'ingest')) {
          continue; // refused at the upgrade (above)
        }
        const c = await WsClient.connect(`${d.wsUrl}?apikey=${encodeURIComponent(CALLERS[who].key)}`);
        try {
          await c.until('hello', (cl) => cl.messages.some((m) => m.type === 'hello'));
          for (const [i, m] of WS_MESSAGES.entries()) {
            const ref = `r${i}`;
            const before = c.messages.length;
            c.send({ ...m.msg(ref), ref });
            const allowed = admits(m.policy, who, d);
            // Every message is answered or acted on; a refusal is an error naming forbidden.
            // ping/ingest/get_* answer; resume and subscribe are silent when accepted, so a
            // ping after them shows whether an error came first.
            c.send({ type: 'ping' });
            // A ping row is answered twice (its own pong and the marker's): wait for both, so
            // that no pong of this row is taken for the next row's marker.
            const pongs = m.type === 'ping' && allowed ? 2 : 1;
            await c.until(`${who}: the reply to ${m.type}`,
                          (cl) => cl.messages.slice(before).filter((x) => x.type === 'pong').length >= pongs &&
                                  (m.type !== 'ingest' || !allowed ||
                                   cl.messages.slice(before).some((x) => x.type === 'ack' && x.ref === ref)));
            const got = c.messages.slice(before);
            const refused = got.find((x) => x.type === 'error' && x.error?.code === 'forbidden');
            if (allowed) {
              assert.equal(refused, undefined, `${who} may send ${m.type}: ${JSON.stringify(got)}`);
            } else {
              assert.ok(refused, `${who} may not send ${m.type}: ${JSON.stringify(got)}`);
              assert.equal(refused.ref, ref);
              assert.match(refused.error.message, new RegExp(`role ${who} may not send '${m.type}'`));
            }
          }
        } finally {
          c.ws.close();
        }
      }
    });

    test('a WebSocket admitted with a JWT is dropped when the token expires (exp + 30 s leeway)', async () => {
      // exp 27 s ago: accepted within the leeway, due to be dropped about 3 s from now.
      const token = jwt({ role: 'authenticated', exp: Math.floor(Date.now() / 1000) - 27 });
      const c = await WsClient.connect(`${d.wsUrl}?apikey=${token}`);
      await c.until('hello', (cl) => cl.messages.some((m) => m.type === 'hello'));
      c.send({ type: 'ping' });
      await c.until('pong', (cl) => cl.messages.some((m) => m.type === 'pong'));
      const closed = await withTimeout(c.closed, 15_000, 'the expired connection to be dropped');
      assert.equal(closed.code, 1006);
      // The same token is now refused at the door.
      assert.equal((await upgrade(d, '/ws', 'none', `apikey=${token}`)).status, 401);
    });

    test('flags are read data: a producer\'s hello has none and it is sent no flag change; a reader\'s has them', async () => {
      const put = (key) => api(d, 'PUT', `/api/v1/flags/${key}`, { json: { enabled: true, variant: 'x' },
                                                                     headers: { apikey: SERVICE } });
      // The live copy of the flags changes after the write is answered (on PostgreSQL when the
      // change feed tells every instance): wait for the push before reading a new hello.
      const reader = await WsClient.connect(`${d.wsUrl}?apikey=${SERVICE}`);
      let producer = null;
      try {
        const hello = async (c) => {
          await c.until('hello', (cl) => cl.messages.some((m) => m.type === 'hello'));
          return c.messages.find((m) => m.type === 'hello');
        };
        await hello(reader);
        assert.ok([200, 201].includes((await put('access.hello.a')).status));
        await reader.until('the flags push', (c) => c.messages.some((m) => m.type === 'flags' && m.flags['access.hello.a']));
        const second = await WsClient.connect(`${d.wsUrl}?apikey=${SERVICE}`);
        try {
          assert.ok((await hello(second)).flags['access.hello.a'], 'a reader\'s hello has the flag');
        } finally {
          second.ws.close();
        }
        producer = await WsClient.connect(`${d.wsUrl}?apikey=${INGEST}`);
        assert.deepEqual((await hello(producer)).flags, {}, 'the producer\'s hello has no flags');
        assert.ok([200, 201].includes((await put('access.hello.b')).status));
        await reader.until('the flags push', (c) => c.messages.some((m) => m.type === 'flags' && m.flags['access.hello.b']));
        producer.send({ type: 'ping' });
        await producer.until('the pong', (c) => c.messages.some((m) => m.type === 'pong'));
        assert.ok(!producer.messages.some((m) => m.type === 'flags'), JSON.stringify(producer.messages));
      } finally {
        reader.ws.close();
        producer?.ws.close();
      }
    });

    test('an ingest connection is not streamed events; a reader is', async () => {
      const reader = await WsClient.connect(`${d.wsUrl}?apikey=${SERVICE}`);
      const producer = await WsClient.connect(`${d.wsUrl}?apikey=${INGEST}`);
      try {
        await reader.until('hello', (c) => c.messages.some((m) => m.type === 'hello'));
        await producer.until('hello', (c) => c.messages.some((m) => m.type === 'hello'));
        const ev = event();
        producer.send({ type: 'ingest', ref: 1, events: [ev] });
        await producer.until('the ack', (c) => c.messages.some((m) => m.type === 'ack'));
        await reader.until('the event', (c) => c.messages.some((m) => m.type === 'event' && m.event.id === ev.id));
        // Committed rows reach the stream before the ack is sent (DESIGN §4.7): had the
        // producer been subscribed, its event would precede its ack.
        assert.ok(!producer.messages.some((m) => m.type === 'event' || m.type === 'events' ||
                                              m.type === 'stats'),
                  JSON.stringify(producer.messages));
      } finally {
        reader.ws.close();
        producer.ws.close();
      }
    });

    test('a refusal of a client\'s state says its real reason: the role, or a client id other than the JWT\'s sub (/ws and Realtime)', async () => {
      // [caller's token, client asked for, the reason]; anon only where it may connect at all
      const ROLE = /^role anon may not (send 'state_subscribe'|join topic state:u1): only service_role, or an authenticated JWT whose sub is the client id, reaches a client's state$/;
      const cases = [
        [jwt({ role: 'authenticated', sub: 'u1' }), 'u2', /^role authenticated may (send 'state_subscribe'|join topic state:u2) only for its own client: the client id must be the JWT's sub$/],
        [jwt({ role: 'authenticated' }), 'u1', /^role authenticated may (send 'state_subscribe'|join topic state:u1) only for its own client \(the JWT's sub\), and this JWT has no sub$/],
        ...(d.anonRead ? [[jwt({ role: 'anon', sub: 'u1' }), 'u1', ROLE]] : []),
      ];
      for (const [token, client, says] of cases) {
        const c = await WsClient.connect(`${d.wsUrl}?apikey=${encodeURIComponent(token)}`);
        try {
          await c.until('hello', (cl) => cl.messages.some((m) => m.type === 'hello'));
          c.send({ type: 'state_subscribe', client_id: client, ref: 's' });
          await c.until('the refusal', (cl) => cl.messages.some((m) => m.type === 'error'));
          const refused = c.messages.find((m) => m.type === 'error');
          assert.equal(refused.error.code, 'forbidden');
          assert.match(refused.error.message, says);
        } finally {
          c.ws.close();
        }
        const { ws, replies } = await openRealtime(d, token);
        try {
          ws.send(JSON.stringify({ topic: `realtime:state:${client}`, event: 'phx_join', ref: '1', join_ref: '1',
                                   payload: { config: {}, access_token: token } }));
          const refused = await waitFor('the join', () => replies.find((m) => m.ref === '1'));
          assert.equal(refused.payload.status, 'error', JSON.stringify(refused));
          assert.match(refused.payload.response.reason, says);
        } finally {
          ws.close();
        }
      }
    });

    test('Realtime state:C: its own client joins; a refreshed token of another client closes the channel', async () => {
      const own = jwt({ role: 'authenticated', sub: 'u1' });
      const { ws, replies } = await openRealtime(d, own);
      try {
        const join = (topic, ref, token) => ws.send(JSON.stringify({
          topic, event: 'phx_join', ref, join_ref: ref, payload: { config: {}, access_token: token } }));
        join('realtime:state:u2', '1', own);
        const refused = await waitFor('the join of another client', () => replies.find((m) => m.ref === '1'));
        assert.equal(refused.payload.status, 'error', JSON.stringify(refused));
        join('realtime:state:u1', '2', own);
        const joined = await waitFor('the join of its own', () => replies.find((m) => m.ref === '2'));
        assert.equal(joined.payload.status, 'ok', JSON.stringify(joined));
        ws.send(JSON.stringify({ topic: 'realtime:state:u1', event: 'access_token', ref: '3', join_ref: '2',
                                 payload: { access_token: jwt({ role: 'authenticated', sub: 'u2' }) } }));
        const closed = await waitFor('the channel closed', () => replies.find((m) =>
          m.topic === 'realtime:state:u1' && m.event === 'system' && m.payload?.status === 'error'));
        assert.match(closed.payload.message,
                     /^role authenticated may join topic state:u1 only for its own client: the client id must be the JWT's sub$/);
      } finally {
        ws.close();
      }
    });

    test('a WebSocket upgrade from a page of another origin is refused (403 origin_not_allowed)', async () => {
      for (const path of ['/ws', '/realtime/v1/websocket?vsn=1.0.0']) {
        const sep = path.includes('?') ? '&' : '?';
        const { status } = await tryUpgrade(`ws://${d.host}:${d.port}${path}${sep}apikey=${SERVICE}`,
                                            { origin: 'https://evil.example' });
        assert.equal(status, 403, path);
      }
      // the dashboard's own origin is welcome
      const { status } = await tryUpgrade(`${d.wsUrl}?apikey=${SERVICE}`, { origin: d.base });
      assert.equal(status, 101, 'the same-origin upgrade');
    });

    test('Realtime channels: readers join; ingest, and anon without TELLTALE_ANON_READ, do not', async () => {
      for (const who of ['anon', 'ingest', 'authenticated', 'service_role']) {
        const { ws, replies } = await openRealtime(d, CALLERS[who].key);
        ws.send(JSON.stringify({ topic: 'realtime:acc', event: 'phx_join', ref: '1', join_ref: '1',
                                 payload: { config: {} } }));
        const reply = await waitFor(`${who}: the join reply`,
                                    () => replies.find((m) => m.event === 'phx_reply' && m.ref === '1'));
        const may = admits('read', who, d);
        assert.equal(reply.payload.status, may ? 'ok' : 'error', `${who}: ${JSON.stringify(reply)}`);
        if (!may) {
          assert.match(reply.payload.response.reason, new RegExp(`role ${who} may not join channels`));
        }
        // A heartbeat needs only the connection.
        ws.send(JSON.stringify({ topic: 'phoenix', event: 'heartbeat', ref: '2', payload: {} }));
        const hb = await waitFor('heartbeat reply', () => replies.find((m) => m.ref === '2'));
        assert.equal(hb.payload.status, 'ok');
        ws.close();
      }
    });
  });
}

test('--trust-proxy without keys is refused: behind a proxy every caller would be service_role', () => {
  const r = spawnSync(BIN, ['serve', '--listen', '127.0.0.1:0', '--store', 'sqlite::memory:',
                            '--trust-proxy', '127.0.0.1'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--trust-proxy \/ TELLTALE_TRUST_PROXY needs keys/);
});
