// credentials.test.mjs -- how the header fields that decide access and meaning are read when
// they come on several lines (RFC 9110 §5.3), and what a refused credential is told (DESIGN §5
// "Access"): X-Forwarded-For's lines are one list, walked from the right; a field that is no
// list, sent twice, is refused 400 naming it; an unsecured JWT is refused as unsigned; beside a
// second credential, a refusal names the one refused, on HTTP and on WebSocket upgrades (one
// key sent both ways is one credential); a JWT with crit or a member given twice is refused.

import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { createHmac } from 'node:crypto';

import { Daemon, test, waitFor, withTimeout } from './lib/daemon.mjs';
import { httpRequest, rawRequest } from './lib/raw.mjs';
import { tryUpgrade } from './lib/wsclient.mjs';

const SECRET = 'credentials-test-jwt-secret-of-32-bytes-or-more';
const SERVICE = 'credentials-service-key-0123456789';
const ANON = 'credentials-anon-key-0123456789';

function jwt(claims, secret = SECRET) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims });
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

const repeated = (name) =>
  `the header '${name}' was sent more than once: it is not a list, so send it once (RFC 9110 §5.3)`;

// The status and error message of a WebSocket upgrade of 'url' with 'headers'.
async function upgrade(url, headers = {}) {
  const { status, message } = await tryUpgrade(url, headers);
  return status === 101 ? { status } : { status, message };
}

describe('credentials and repeated header fields', () => {
  let d;
  before(async () => {
    d = await Daemon.start({
      label: 'credentials',
      env: { TELLTALE_JWT_SECRET: SECRET, TELLTALE_SERVICE_KEY: SERVICE, TELLTALE_ANON_KEY: ANON,
             TELLTALE_TRUST_PROXY: '127.0.0.1' },
    });
  });
  after(async () => {
    await d?.stop();
  });

  // HAProxy's "option forwardfor" adds its own line; the client's line comes first.
  test('X-Forwarded-For on several lines is one list: the address a trusted proxy appended counts', async () => {
    const req = (xff) => httpRequest({
      path: '/api/v1/status',
      headers: [['apikey', 'wrongwrongwrongwrong'], ...xff.map((v) => ['X-Forwarded-For', v])],
    });
    await waitFor('the refusal in the log', async () => {
      const r = await rawRequest(d.port, req(['203.0.113.50', '198.51.100.60']));
      assert.equal(r.status, 401);
      return d.stderr.includes('access: 401 /api/v1/status from 198.51.100.60: unknown key');
    }, { intervalMs: 200 });
    // A trusted proxy's own address on the last line is walked past, to the line before.
    await waitFor('the refusal in the log', async () => {
      const r = await rawRequest(d.port, req(['203.0.113.51', '198.51.100.61', '127.0.0.1']));
      assert.equal(r.status, 401);
      return d.stderr.includes('access: 401 /api/v1/status from 198.51.100.61: unknown key');
    }, { intervalMs: 200 });
    assert.ok(!/from 203\.0\.113\.5[01]/.test(d.stderr), 'what the client wrote itself is not believed');
  });

  test('a header field that is no list, sent twice, is refused 400 naming it -- even two good keys', async () => {
    const token = jwt({ role: 'service_role' });
    const cases = [
      ['apikey', 'GET', '/api/v1/status', [['apikey', 'wrongwrongwrongwrong'], ['apikey', SERVICE]]],
      ['apikey', 'GET', '/api/v1/status', [['apikey', SERVICE], ['apikey', SERVICE]]],
      ['authorization', 'GET', '/api/v1/status',
        [['Authorization', `Bearer ${token}`], ['Authorization', `Bearer ${SERVICE}`]]],
      ['content-type', 'POST', '/api/v1/events',
        [['apikey', SERVICE], ['Content-Type', 'application/json'], ['Content-Type', 'text/plain']]],
      ['origin', 'POST', '/api/v1/events',
        [['apikey', SERVICE], ['Content-Type', 'application/json'], ['Origin', 'https://a.example'],
         ['Origin', 'https://b.example']]],
      ['host', 'GET', '/api/v1/status', [['Host', 'a.example'], ['Host', 'b.example'], ['apikey', SERVICE]]],
      ['accept-profile', 'GET', '/rest/v1/feature_flags',
        [['apikey', SERVICE], ['Accept-Profile', 'public'], ['Accept-Profile', 'other']]],
    ];
    for (const [name, method, path, headers] of cases) {
      const body = method === 'POST' ? JSON.stringify({ id: 'r1', type: 'x' }) : undefined;
      const r = await rawRequest(d.port, httpRequest({ method, path, headers, body }));
      const what = `${name} twice on ${method} ${path}`;
      assert.equal(r?.status, 400, `${what}: ${r?.status} ${r?.text}`);
      assert.equal(r.json.error?.message ?? r.json.message, repeated(name), what);
    }
    // The WebSocket upgrade too.
    const ws = await rawRequest(d.port, httpRequest({
      path: '/ws',
      headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Version', '13'],
                ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['apikey', SERVICE], ['apikey', ANON]],
    }));
    assert.equal(ws?.status, 400, ws?.text);
    assert.equal(ws.json.error.message, repeated('apikey'));
  });

  test('list fields on several lines are joined: If-None-Match\'s second line matches', async () => {
    const first = await fetch(`${d.base}/`);
    const etag = first.headers.get('etag');
    assert.ok(etag, 'the dashboard has an ETag');
    const r = await rawRequest(d.port, httpRequest({
      path: '/', headers: [['If-None-Match', '"not-this-one"'], ['If-None-Match', etag]],
    }));
    assert.equal(r.status, 304);
    // If-Match is one tag here: two lines are a list, refused as one, not read as the first.
    const put = await rawRequest(d.port, httpRequest({
      method: 'PUT', path: '/api/v1/flags/credentials.ifmatch',
      headers: [['apikey', SERVICE], ['Content-Type', 'application/json'], ['If-Match', '"1"'],
                ['If-Match', '"2"']],
      body: JSON.stringify({ enabled: true }),
    }));
    assert.equal(put.status, 400, put.text);
    assert.match(put.json.error.message, /^If-Match takes one entity-tag here, or \*, not a list$/);
    // Lines that join past what is held are still a precondition, never read as none.
    const long = await rawRequest(d.port, httpRequest({
      method: 'PUT', path: '/api/v1/flags/credentials.ifmatch',
      headers: [['apikey', SERVICE], ['Content-Type', 'application/json'],
                ['If-Match', `"${'1'.repeat(40)}"`], ['If-Match', `"${'2'.repeat(40)}"`]],
      body: JSON.stringify({ enabled: true }),
    }));
    assert.equal(long.status, 400, long.text);
    assert.equal(long.json.error.message, 'If-Match is empty or longer than 63 bytes: send one entity-tag, or *');
    // The same for If-None-Match: a list too long to hold is refused, never read as none (a
    // PUT would then overwrite the flag it meant to create only if absent).
    const longNone = await rawRequest(d.port, httpRequest({
      method: 'PUT', path: '/api/v1/flags/credentials.ifmatch',
      headers: [['apikey', SERVICE], ['Content-Type', 'application/json'],
                ['If-None-Match', Array.from({ length: 20 }, (_, i) => `"${i + 1}"`).join(', ')]],
      body: JSON.stringify({ enabled: true }),
    }));
    assert.equal(longNone.status, 400, longNone.text);
    assert.equal(longNone.json.error.message,
                 'If-None-Match is empty or longer than 63 bytes: send *, or up to 63 bytes of version tags');
  });

  test('an unsecured JWT (alg none, empty signature) is refused as unsigned, not as an unknown key', async () => {
    const unsigned = 'eyJhbGciOiJub25lIn0.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.';
    const r = await fetch(`${d.base}/api/v1/status`, { headers: { authorization: `Bearer ${unsigned}` } });
    assert.equal(r.status, 401);
    assert.equal((await r.json()).error.message,
                 'invalid token: the token is not signed with HS256: its alg is "none", it is unsigned (RFC 7519 6)');
    const [head, body] = jwt({ role: 'service_role' }).split('.');
    const r2 = await fetch(`${d.base}/api/v1/status`, { headers: { apikey: `${head}.${body}.` } });
    assert.equal(r2.status, 401);
    assert.match((await r2.json()).error.message, /^invalid token: the token is unsigned: its signature is empty/);
  });

  // A token signed correctly from header and payload JSON given as text, so the JSON can say
  // what JSON.stringify cannot (a member twice) or what a library leaves out (crit).
  function signedText(header, payload) {
    const head = Buffer.from(header).toString('base64url');
    const body = Buffer.from(payload).toString('base64url');
    const sig = createHmac('sha256', SECRET).update(`${head}.${body}`).digest('base64url');
    return `${head}.${body}.${sig}`;
  }

  test('a JWT with crit, or with a member given twice, is refused 401 invalid_token naming why', async () => {
    const service = '{"role":"service_role"}';
    const cases = [
      // RFC 7515 §4.1.11: crit lists extensions the reader must understand; telltale knows none
      [signedText('{"alg":"HS256","crit":["foo"],"foo":1}', service),
       "invalid token: its header's crit names the extension 'foo', which is not understood (no extension is; RFC 7515 4.1.11)"],
      [signedText('{"alg":"HS256","crit":"foo"}', service),
       "invalid token: its header's crit is not a non-empty array of names (RFC 7515 4.1.11)"],
      // RFC 7519 §4: never settled by the first (anon) nor by the last (service_role)
      [signedText('{"alg":"HS256"}', '{"role":"anon","role":"service_role"}'),
       "invalid token: the member 'role' is given twice in its claims: member names are unique (RFC 7519 4)"],
      [signedText('{"alg":"HS256","alg":"HS256"}', service),
       "invalid token: the member 'alg' is given twice in its header: member names are unique (RFC 7519 4)"],
    ];
    for (const [token, says] of cases) {
      for (const headers of [{ authorization: `Bearer ${token}` }, { apikey: token }]) {
        const r = await fetch(`${d.base}/api/v1/status`, { headers });
        assert.equal(r.status, 401, says);
        assert.equal(r.headers.get('www-authenticate'),
                     `Bearer error="invalid_token", error_description="${says.replace(/"/g, '')}"`);
        assert.deepEqual(await r.json(), { error: { code: 'unauthorized', message: says } });
      }
    }
    // the same token without the fault is admitted: only the fault refused it
    const r = await fetch(`${d.base}/api/v1/status`,
                          { headers: { authorization: `Bearer ${signedText('{"alg":"HS256"}', service)}` } });
    assert.equal(r.status, 200);
  });

  test('one key sent both as apikey and as bearer is one credential: its refusal is the reason alone', async () => {
    const expired = jwt({ role: 'service_role', exp: Math.floor(Date.now() / 1000) - 3600 });
    for (const [key, says] of [['wrongwrongwrongwrong', 'unknown key'],
                               [expired, 'invalid token: the token has expired']]) {
      const r = await fetch(`${d.base}/api/v1/status`, { headers: { apikey: key, authorization: `Bearer ${key}` } });
      assert.equal(r.status, 401);
      assert.equal((await r.json()).error.message, says);
    }
  });

  test('beside a second credential, a refusal names the one refused (HTTP)', async () => {
    const good = jwt({ role: 'service_role' });
    const expired = jwt({ role: 'service_role', exp: Math.floor(Date.now() / 1000) - 3600 });
    const cases = [
      [{ apikey: 'wrongwrongwrongwrong', authorization: `Bearer ${good}` },
       'the apikey header is refused: unknown key'],
      [{ apikey: ANON, authorization: `Bearer ${expired}` },
       'the Authorization bearer token is refused: invalid token: the token has expired'],
      [{ apikey: ANON, authorization: 'Bearer wrongwrongwrongwrong' },
       'the Authorization bearer token is refused: unknown key'],
      [{ apikey: 'wrongwrongwrongwrong' }, 'unknown key'], // alone, the reason alone
      // a scheme telltale does not take is no token refused: the bare challenge (RFC 6750 §3)
      [{ authorization: 'Basic dXNlcjpwYXNz' }, "the Authorization header must be 'Bearer TOKEN'", 'Bearer'],
    ];
    for (const [headers, says, challenge] of cases) {
      const r = await fetch(`${d.base}/api/v1/status`, { headers });
      assert.equal(r.status, 401, says);
      // RFC 6750 §3.1: the token refused is invalid_token, its reason the description
      assert.equal(r.headers.get('www-authenticate'),
                   challenge ?? `Bearer error="invalid_token", error_description="${says}"`);
      assert.equal((await r.json()).error.message, says);
    }
  });

  test('beside a second credential, a refusal names the one refused (/ws and Realtime upgrades)', async () => {
    const good = jwt({ role: 'service_role' });
    for (const path of ['/ws', '/realtime/v1/websocket']) {
      const vsn = path === '/ws' ? '' : 'vsn=1.0.0&';
      const url = (key) => `ws://${d.host}:${d.port}${path}?${vsn}apikey=${encodeURIComponent(key)}`;
      // The URL's apikey stands where the header would: beside a bearer it must be valid too.
      let r = await upgrade(url('wrongwrongwrongwrong'), { authorization: `Bearer ${good}` });
      assert.deepEqual(r, { status: 401, message: 'the apikey parameter is refused: unknown key' }, path);
      r = await upgrade(url(ANON), { authorization: 'Bearer wrongwrongwrongwrong' });
      assert.deepEqual(r, { status: 401, message: 'the Authorization bearer token is refused: unknown key' },
                       path);
      r = await upgrade(`ws://${d.host}:${d.port}${path}${vsn ? '?vsn=1.0.0' : ''}`,
                        { apikey: 'wrongwrongwrongwrong', authorization: `Bearer ${good}` });
      assert.deepEqual(r, { status: 401, message: 'the apikey header is refused: unknown key' }, path);
      // Good credentials in both places open it; the URL's key alone still does.
      assert.equal((await upgrade(url(ANON), { authorization: `Bearer ${good}` })).status, 101, path);
      assert.equal((await upgrade(url(SERVICE))).status, 101, path);
    }
  });
});

describe('the refusal log after a burst', () => {
  let d;
  before(async () => {
    d = await Daemon.start({ label: 'refusal-burst', env: { TELLTALE_SERVICE_KEY: SERVICE } });
  });
  after(async () => {
    await d?.stop();
  });

  // DESIGN "Access": at most 10 lines in any second, then "N more refusals not logged" when
  // there is room again -- written by then, not only before a next refusal that may never come.
  test('the count of refusals not logged is written once the window has room, with no refusal after the burst', async () => {
    const burst = 30;
    // from here on: what the tests before left in the log is not this test's
    const seen = d.stderr.length;
    const counted = () => [...d.stderr.slice(seen).matchAll(/access: (\d+) more refusals not logged/g)]
      .reduce((sum, m) => sum + Number(m[1]), 0);
    const logged = () => (d.stderr.slice(seen).match(/access: 401 \/api\/v1\/status from /g) ?? []).length;
    // A burst fills the window unless a slow machine spreads it over more than a second; then
    // every refusal is logged, nothing is counted, and another burst is sent (at most 5).
    let sent = 0;
    for (let round = 0; round < 5 && counted() === 0; round++) {
      const answers = await Promise.all(Array.from({ length: burst }, () =>
        fetch(`${d.base}/api/v1/status`, { headers: { apikey: 'wrongwrongwrongwrong' } })
          .then(async (r) => { await r.arrayBuffer(); return r.status; })));
      assert.deepEqual(new Set(answers), new Set([401]));
      sent += burst;
      await waitFor('every refusal of the burst logged or counted', () => logged() + counted() === sent);
    }
    assert.ok(counted() > 0, `a burst of ${burst} went over the window: ${d.stderr}`);
    assert.equal(logged() + counted(), sent, 'every refusal is logged or counted, once');
  });
});
