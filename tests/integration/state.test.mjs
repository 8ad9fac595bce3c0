// state.test.mjs -- cross-session dashboard state on the store the suite runs against:
// per-key and whole-client routes, versions with If-Match and If-None-Match (412 with the
// current version and value, as flags answer), the limits per value, per client (keys and bytes), retention of idle clients, and a
// change pushed to the client's other open sessions over /ws and Realtime (topic state:C).

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { Daemon, api, test, uid, waitFor } from './lib/daemon.mjs';
import { REFUSED_IF_MATCH, assertIfMatchRefused, assertPreconditions } from './lib/if-match.mjs';
import { WsClient } from './lib/wsclient.mjs';
import { client, collected, jwt, subscribe } from '../supabase/lib.mjs';

let d;
const closers = [];
before(async () => {
  d = await Daemon.start({
    label: 'state',
    args: ['--state-max-value', '64', '--state-max-client', '140', '--state-max-keys', '3',
           '--state-retention', '4s'],
  });
});
after(async () => {
  for (const c of closers) {
    await c();
  }
  await d?.cleanup();
});

const put = (path, value, headers = {}) => api(d, 'PUT', `/api/v1/state/${path}`, { json: { value }, headers });

test('a key is created (201), replaced (200) with its version, read, and deleted', async () => {
  const c = uid('client');
  let r = await put(`${c}/theme`, { dark: true });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual([r.json.value, r.json.version], [{ dark: true }, 1]);
  assert.equal(r.headers.get('etag'), '"1"');
  r = await put(`${c}/theme`, { dark: false }, { 'if-match': '"1"' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.version, 2);
  r = await put(`${c}/theme`, 'stale', { 'if-match': '"1"' });
  assert.equal(r.status, 412, `a false If-Match is 412 (RFC 9110 §13.1.1), as on flags: ${r.text}`);
  assert.equal(r.json.error.code, 'precondition_failed');
  assert.match(r.json.error.message, /^key 'theme' of client '.*' is at version 2, not the If-Match version$/);
  assert.deepEqual([r.json.current.version, r.json.current.value], [2, { dark: false }]);
  assert.equal(r.headers.get('etag'), '"2"');
  r = await put(`${c}/never`, 1, { 'if-match': '"1"' });
  assert.equal(r.status, 412);
  assert.equal(r.json.current, null);
  assert.equal(r.headers.get('etag'), null, 'nothing exists: no ETag');
  r = await put(`${c}/n`, [1, 'two', null]);
  assert.equal(r.status, 201);
  r = await api(d, 'GET', `/api/v1/state/${c}`);
  assert.equal(r.status, 200);
  assert.equal(r.json.client_id, c);
  assert.deepEqual(Object.keys(r.json.state).sort(), ['n', 'theme']);
  assert.deepEqual(r.json.state.n.value, [1, 'two', null]);
  r = await api(d, 'GET', `/api/v1/state/${c}/theme`);
  assert.deepEqual(r.json.value, { dark: false });
  r = await api(d, 'DELETE', `/api/v1/state/${c}/theme`, { headers: { 'if-match': '"1"' } });
  assert.equal(r.status, 412);
  assert.equal(r.json.error.code, 'precondition_failed');
  r = await api(d, 'DELETE', `/api/v1/state/${c}/theme`);
  assert.equal(r.status, 204);
  assert.equal((await api(d, 'GET', `/api/v1/state/${c}/theme`)).status, 404);
  r = await api(d, 'PUT', `/api/v1/state/${c}`, { json: { value: { a: 1, b: 2 } } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.json.state).sort(), ['a', 'b', 'n']);
  assert.equal((await api(d, 'DELETE', `/api/v1/state/${c}`)).status, 204);
  assert.deepEqual((await api(d, 'GET', `/api/v1/state/${c}`)).json.state, {});
});

test('If-Match is * or one quoted version, as on /api/v1/flags; each refusal says what was wrong', async () => {
  const c = uid('client');
  assert.equal((await put(`${c}/theme`, 1)).status, 201);
  for (const [h, says] of REFUSED_IF_MATCH) {
    assertIfMatchRefused(await put(`${c}/theme`, 2, { 'if-match': h }), says, `If-Match: ${h}`);
  }
  let r = await put(`${c}/theme`, 2, { 'if-match': '*' });
  assert.equal(r.status, 200, `*: whatever version exists: ${r.text}`);
  assert.equal(r.json.version, 2);
  r = await put(`${c}/absent`, 2, { 'if-match': '*' });
  assert.equal(r.status, 412, `*: but one must: ${r.text}`);
  assert.match(r.json.error.message, /^If-Match: \* and key 'absent' of client '.*' does not exist$/);
  assert.equal(r.json.current, null);
  r = await api(d, 'DELETE', `/api/v1/state/${c}/theme`, { headers: { 'if-match': '1' } });
  assert.equal(r.status, 400, r.text);
  r = await api(d, 'DELETE', `/api/v1/state/${c}/theme`, { headers: { 'if-match': '*' } });
  assert.equal(r.status, 204, r.text);
});

// A create-only PUT (If-None-Match: *) used to overwrite, and a stale If-Match was 409.
test('If-None-Match: * creates only and a list of tags guards PUT, DELETE and GET; If-Match first (RFC 9110 §13)', async () => {
  const c = uid('client');
  await assertPreconditions((...a) => api(d, ...a), `/api/v1/state/${c}/k`, { value: { a: 1 } });
  let r = await put(`${c}/k`, 1, { 'if-none-match': '*' });
  assert.equal(r.status, 201, r.text);
  r = await put(`${c}/k`, 2, { 'if-none-match': '*' });
  assert.equal(r.status, 412);
  assert.deepEqual([r.json.current.version, r.json.current.value], [1, 1], 'what is there to write on top of');
  // A whole client has no version: a precondition on it is refused, not ignored.
  for (const [method, opts] of [['GET', {}], ['DELETE', {}], ['PUT', { json: { value: { k: 3 } } }]]) {
    for (const h of [{ 'if-match': '"1"' }, { 'if-none-match': '*' }]) {
      r = await api(d, method, `/api/v1/state/${c}`, { ...opts, headers: h });
      assert.equal(r.status, 400, `${method} ${JSON.stringify(h)} on a whole client: ${r.text}`);
      assert.equal(r.json.error.code, 'invalid_header');
      assert.match(r.json.error.message, /^If-Match and If-None-Match apply to one key/);
    }
  }
  assert.equal((await api(d, 'GET', `/api/v1/state/${c}/k`)).json.version, 1, 'nothing was written');
});

test('limits: a value over the per-value size, a fourth key, a client over its bytes', async () => {
  const c = uid('limits');
  let r = await put(`${c}/big`, 'x'.repeat(100));
  assert.equal(r.status, 413, r.text);
  assert.equal(r.json.error.code, 'state_limit');
  for (const k of ['a', 'b', 'c']) {
    assert.equal((await put(`${c}/${k}`, 'y'.repeat(40))).status, 201);
  }
  r = await put(`${c}/d`, 1);
  assert.equal(r.status, 413, 'a fourth key');
  r = await put(`${c}/a`, 'z'.repeat(60));
  assert.equal(r.status, 413, '2 x 42 bytes + 64 is over 140: ' + r.text);
  r = await put(`${c}/a`, 'z');
  assert.equal(r.status, 200, 'replacing within the limits');
  for (const [body, code, says] of [['{"val":1}', 'invalid_body', /^unknown member 'val': the body is \{"value": <any JSON>\}$/],
                                    ['{"value":1,"x":2}', 'invalid_body', /^unknown member 'x'/],
                                    ['{}', 'invalid_body', /^the body is \{"value": <any JSON>\}$/],
                                    ['{"value":1,"value":2}', 'invalid_body', /^member 'value' is given twice$/],
                                    ['{"value":{"a":1,"b":{"c":1,"c":2}}}', 'invalid_body', /^member 'c' is given twice$/],
                                    ['nope', 'invalid_json', /./]]) {
    r = await api(d, 'PUT', `/api/v1/state/${c}/a`, { body, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, code);
    assert.match(r.json.error.message, says, body);
  }
  r = await api(d, 'GET', `/api/v1/state/${c}/a/b`);
  assert.equal(r.status, 404, 'three segments: no route');
  r = await api(d, 'GET', `/api/v1/state/${'x'.repeat(129)}`);
  assert.equal(r.json.error.code, 'invalid_path');
  r = await put(`${'x'.repeat(128)}/${'k'.repeat(128)}`, true);
  assert.equal(r.status, 201, 'a client id and a key of 128 bytes: ' + r.text);
});

test('a whole-client PUT that cannot fit is refused 413 state_limit before any key is written', async () => {
  const c = uid('whole');
  // --state-max-keys 3: four keys can never fit, whatever the client keeps
  let r = await put(c, { a: 1, b: 2, c: 3, d: 4 });
  assert.equal(r.status, 413, r.text);
  assert.deepEqual(r.json.error, { code: 'state_limit',
                                   message: `the value names 4 keys: client '${c}' may keep at most 3 keys` });
  // --state-max-client 140: three values of 62 bytes are 186, over it (each alone is within 64)
  r = await put(c, { a: 'x'.repeat(60), b: 'y'.repeat(60), c: 'z'.repeat(60) });
  assert.equal(r.status, 413, r.text);
  assert.deepEqual(r.json.error, { code: 'state_limit',
                                   message: `the values are 186 bytes as JSON: client '${c}' may keep at most 140 bytes of values` });
  r = await api(d, 'GET', `/api/v1/state/${c}`);
  assert.deepEqual(r.json, { client_id: c, state: {} }, 'nothing was written');
  // no object of keys is still a body fault
  r = await put(c, [1, 2]);
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, 'invalid_body');
  // what fits is written, all of it
  r = await put(c, { a: 1, b: 2, c: 3 });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.json.state).sort(), ['a', 'b', 'c']);
});

test('a change reaches the client\'s other sessions over /ws and Realtime, not other clients', async () => {
  const c = uid('sess');
  const other = uid('other');
  const [s1, s2, s3] = await Promise.all([1, 2, 3].map(() => WsClient.connect(d.wsUrl)));
  closers.push(() => s1.close(), () => s2.close(), () => s3.close());
  for (const [s, id] of [[s1, c], [s2, c], [s3, other]]) {
    s.send({ type: 'state_subscribe', client_id: id });
    await s.until('subscribed', (x) => x.messages.some((m) => m.type === 'state_subscribed'));
  }
  const sc = client(d);
  closers.push(() => sc.removeAllChannels());
  const heard = [];
  await subscribe(sc.channel(`state:${c}`).on('broadcast', { event: 'state' }, (m) => heard.push(m.payload)));
  assert.equal((await put(`${c}/layout`, { cols: 3 })).status, 201);
  const got = (x) => x.messages.some((m) => m.type === 'state' && m.client_id === c &&
                                       m.state.layout?.value?.cols === 3);
  await s1.until('state on session 1', got);
  await s2.until('state on session 2', got);
  await collected(heard, 1, 'the Realtime broadcast');
  assert.deepEqual(heard.at(-1).state.layout.value, { cols: 3 });
  assert.equal(heard.at(-1).state.layout.version, 1);
  // the other client's session saw nothing of it: a change of its own arrives, alone
  assert.equal((await put(`${other}/k`, 1)).status, 201);
  await s3.until('its own state', (x) => x.messages.some((m) => m.type === 'state'));
  assert.ok(s3.messages.filter((m) => m.type === 'state').every((m) => m.client_id === other));
  s1.send({ type: 'state_subscribe', client_id: '' });
  await s1.until('a refusal', (x) => x.messages.some((m) => m.type === 'error'));
});

test('an idle client\'s state is deleted after the retention', async () => {
  const c = uid('idle');
  assert.equal((await put(`${c}/k`, 1)).status, 201);
  await waitFor('the idle client expired', async () => {
    const r = await api(d, 'GET', `/api/v1/state/${c}`);
    return Object.keys(r.json.state).length === 0;
  }, { timeoutMs: 20_000, intervalMs: 250 });
});

test('with keys, Realtime topic state:C is for client C (its JWT sub) and the service role', async () => {
  const SECRET = 'state-test-jwt-secret-0123456789abcdef';
  const ANON = 'anon-key-for-the-state-tests';
  const SERVICE = 'service-key-for-the-state-tests';
  const k = await Daemon.start({
    label: 'state (keys)',
    // anon reads (so it may join channels at all): state:C still refuses it
    env: { TELLTALE_JWT_SECRET: SECRET, TELLTALE_ANON_KEY: ANON, TELLTALE_SERVICE_KEY: SERVICE,
           TELLTALE_ANON_READ: 'true' },
  });
  closers.push(() => k.cleanup());
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const as = (key) => {
    const sc = client(k, { key });
    closers.push(() => sc.removeAllChannels());
    return sc;
  };
  const alice = jwt(SECRET, { role: 'authenticated', sub: 'alice', exp });
  const bob = jwt(SECRET, { role: 'authenticated', sub: 'bob', exp });
  await subscribe(as(alice).channel('state:alice'));
  await subscribe(as(SERVICE).channel('state:alice'));
  // each refusal says its real reason: another client's id, or a role that reaches none
  for (const [key, says] of [[bob, /may join topic state:alice only for its own client: the client id must be the JWT's sub/],
                             [ANON, /role anon may not join topic state:alice: only service_role, or an authenticated JWT/]]) {
    const err = await subscribe(as(key).channel('state:alice')).then(() => null, (e) => e);
    assert.match(String(err?.message), says, 'refused');
  }
  await subscribe(as(ANON).channel('flags')); // flags are for every reader
});
