// realtime-errors.test.mjs -- every way a Realtime client can be refused, through supabase-js
// where the client can reach it and through a raw WebSocket for what the client never sends.
// The daemon has keys configured, as any deployment off loopback must.

import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';

import { Daemon, post, test, uid, waitFor } from '../integration/lib/daemon.mjs';
import { RawRealtime, VSNS, asMessage, client, collected, jwt, subscribe } from './lib.mjs';

const SECRET = 'telltale-test-jwt-secret-of-at-least-32-bytes';
const ANON = 'anon-key-for-the-realtime-tests';
const SERVICE = 'service-key-for-the-realtime-tests';
const EVENTS = { event: 'INSERT', schema: 'monitoring', table: 'monitoring_events' };

let d;
const clients = [];
before(async () => {
  d = await Daemon.start({
    label: 'telltale (keys)',
    env: { TELLTALE_JWT_SECRET: SECRET, TELLTALE_ANON_KEY: ANON, TELLTALE_SERVICE_KEY: SERVICE,
           TELLTALE_ANON_READ: "true" },
  });
});
after(async () => {
  await Promise.all(clients.map((c) => c.removeAllChannels()));
  await d?.stop();
  await d?.cleanup();
});

function open(opts) {
  const c = client(d, { key: ANON, ...opts });
  clients.push(c);
  return c;
}

// Joins topic over a raw connection and returns the reply's payload.
async function rawJoin(r, topic, payload, ref = '1') {
  r.send([ref, ref, topic, 'phx_join', payload]);
  const reply = await r.next(`the reply to join ${ref}`,
    (m) => Array.isArray(m) && m[1] === ref && m[3] === 'phx_reply');
  return reply[4];
}

describe('the upgrade', () => {
  test('without an apikey, or with a wrong one, is refused with 401 before the 101', async () => {
    for (const query of ['vsn=2.0.0', 'apikey=wrong-key&vsn=2.0.0', `apikey=${ANON}x&vsn=1.0.0`]) {
      const err = await RawRealtime.open(d, { query }).then(() => null, (e) => e);
      assert.equal(err?.status, 401, `${query}: ${err?.message}`);
      assert.equal(JSON.parse(err.body).error.code, 'unauthorized');
    }
  });

  test('an unknown protocol version is refused with 400', async () => {
    const err = await RawRealtime.open(d, { query: `apikey=${ANON}&vsn=3.0.0` }).then(() => null, (e) => e);
    assert.equal(err?.status, 400);
    assert.match(JSON.parse(err.body).error.message, /1\.0\.0 and 2\.0\.0/);
  });

  test('supabase-js with a wrong key gets CHANNEL_ERROR, not a subscription', async () => {
    const ch = open({ key: 'not-a-key' }).channel(uid('bad'));
    await assert.rejects(subscribe(ch));
    assert.equal(ch.statuses[0], 'CHANNEL_ERROR', 'refused, not timed out');
    assert.notEqual(ch.state, 'joined');
  });

  test('the anon key, the service key and a signed JWT each get in', async () => {
    const token = jwt(SECRET, { role: 'authenticated', sub: 'user-1', exp: Math.floor(Date.now() / 1000) + 600 });
    for (const key of [ANON, SERVICE, token]) {
      const ch = open({ key }).channel(uid('ok')).on('postgres_changes', EVENTS, () => {});
      await subscribe(ch);
    }
  });
});

describe('joins', () => {
  for (const vsn of VSNS) {
    test(`refused joins come back as CHANNEL_ERROR with the reason (vsn ${vsn})`, async () => {
      const c = open({ vsn });
      const cases = [
        [{ event: 'INSERT', schema: 'public', table: 'todos' }, /only monitoring\.monitoring_events/],
        [{ event: 'TRUNCATE', schema: 'monitoring' }, /INSERT, UPDATE, DELETE or \*/],
        [{ ...EVENTS, filter: 'attrs=eq.1' }, /filter/],
        [{ ...EVENTS, filter: 'type=like.x' }, /filter/],
        [{ ...EVENTS, after_seq: -1 }, /after_seq/],
      ];
      for (const [binding, reason] of cases) {
        const ch = c.channel(uid('refused')).on('postgres_changes', binding, () => {});
        await assert.rejects(subscribe(ch), reason, JSON.stringify(binding));
        await c.removeChannel(ch);
      }
      const priv = c.channel(uid('private'), { config: { private: true } });
      await assert.rejects(subscribe(priv), /private channels are not supported/);
      await c.removeChannel(priv);
    });
  }

  test('an expired or wrongly signed access_token is refused; a fresh one is accepted', async () => {
    const r = await RawRealtime.open(d, { apikey: ANON });
    // past the 30 s leeway on exp
    const expired = jwt(SECRET, { role: 'authenticated', exp: Math.floor(Date.now() / 1000) - 60 });
    const forged = jwt('another-secret-another-secret-another', { role: 'service_role' });
    let p = await rawJoin(r, 'realtime:a', { config: {}, access_token: expired }, '1');
    assert.equal(p.status, 'error');
    assert.match(p.response.reason, /expired/);
    p = await rawJoin(r, 'realtime:a', { config: {}, access_token: forged }, '2');
    assert.equal(p.status, 'error');
    assert.match(p.response.reason, /invalid token/);
    const fresh = jwt(SECRET, { role: 'authenticated', exp: Math.floor(Date.now() / 1000) + 60 });
    p = await rawJoin(r, 'realtime:a', { config: {}, access_token: fresh }, '3');
    assert.equal(p.status, 'ok');
    r.close();
  });

  test('an access_token event: a valid token is taken, an invalid one closes the channel', async () => {
    const r = await RawRealtime.open(d, { apikey: ANON });
    assert.equal((await rawJoin(r, 'realtime:t', { config: {} }, '1')).status, 'ok');
    const good = jwt(SECRET, { role: 'authenticated', exp: Math.floor(Date.now() / 1000) + 60 });
    r.send(['1', '2', 'realtime:t', 'access_token', { access_token: good }]);
    const ok = await r.next('the token reply', (m) => m[1] === '2');
    assert.equal(ok[4].status, 'ok');
    r.send(['1', '3', 'realtime:t', 'access_token', { access_token: 'garbage' }]);
    const sys = await r.next('a system error', (m) => m[3] === 'system' && m[4].status === 'error');
    assert.match(sys[4].message, /unknown key/);
    await r.next('phx_close', (m) => m[3] === 'phx_close' && m[2] === 'realtime:t');
    r.send(['1', '4', 'realtime:t', 'broadcast', { type: 'broadcast', event: 'x', payload: {} }]);
    const after = await r.next('the reply after the close', (m) => m[1] === '4');
    assert.equal(after[4].response.reason, 'unmatched topic');
    r.close();
  });

  test('a channel is closed when its token expires; a fresh access_token keeps another open', async () => {
    const r = await RawRealtime.open(d, { apikey: ANON });
    const soon = () => jwt(SECRET, { role: 'authenticated', exp: Math.floor(Date.now() / 1000) + 2 });
    assert.equal((await rawJoin(r, 'realtime:short', { config: {}, access_token: soon() }, '1')).status, 'ok');
    assert.equal((await rawJoin(r, 'realtime:renewed', { config: {}, access_token: soon() }, '2')).status, 'ok');
    const later = jwt(SECRET, { role: 'authenticated', exp: Math.floor(Date.now() / 1000) + 600 });
    r.send(['2', '3', 'realtime:renewed', 'access_token', { access_token: later }]);
    assert.equal((await r.next('the renewal reply', (m) => m[1] === '3'))[4].status, 'ok');
    const sys = await r.next('the expiry', (m) => m[3] === 'system' && m[2] === 'realtime:short', 10_000);
    assert.match(sys[4].message, /^Token has expired \d+ seconds ago$/);
    assert.equal(sys[4].status, 'error');
    await r.next('phx_close', (m) => m[3] === 'phx_close' && m[2] === 'realtime:short');
    // Both tokens expired in the same second: had the renewal not been taken, the renewed
    // channel would have been closed by the same sweep, before the short one's close.
    assert.ok(!r.messages.some((m) => m[2] === 'realtime:renewed' && m[3] !== 'phx_reply'),
              'the renewed channel stays');
    r.send(['2', '4', 'realtime:renewed', 'access_token', { access_token: later }]);
    assert.equal((await r.next('a reply on the renewed one', (m) => m[1] === '4'))[4].status, 'ok');
    r.send(['1', '5', 'realtime:short', 'broadcast', { type: 'broadcast', event: 'x', payload: {} }]);
    assert.equal((await r.next('reply on the closed one', (m) => m[1] === '5'))[4].response.reason, 'unmatched topic');
    r.close();
  });

  test('a rejoin on the same topic replaces the old join; phx_leave is answered, then closed', async () => {
    const r = await RawRealtime.open(d, { apikey: ANON });
    assert.equal((await rawJoin(r, 'realtime:re', { config: {} }, '1')).status, 'ok');
    assert.equal((await rawJoin(r, 'realtime:re', { config: {} }, '5')).status, 'ok');
    await r.next('the old join closed', (m) => m[3] === 'phx_close' && m[0] === '1');
    r.send(['5', '6', 'realtime:re', 'phx_leave', {}]);
    const reply = await r.next('the leave reply', (m) => m[1] === '6');
    assert.equal(reply[4].status, 'ok');
    await r.next('the new join closed', (m) => m[3] === 'phx_close' && m[0] === '5');
    r.close();
  });
});

describe('frames telltale cannot take', () => {
  test('heartbeats are answered; garbage, unknown events and unmatched topics get error replies', async () => {
    const r = await RawRealtime.open(d, { apikey: ANON });
    r.send(['null', 'h1', 'phoenix', 'heartbeat', {}]);
    assert.equal((await r.next('heartbeat reply', (m) => m[1] === 'h1'))[4].status, 'ok');
    r.ws.send('{not json');
    let m = await r.next('a parse error', (x) => x[2] === 'phoenix' && x[4].status === 'error');
    assert.match(m[4].response.reason, /invalid JSON/);
    r.send({ topic: 'realtime:x', event: 'phx_join', payload: {}, ref: '1' }); // a 1.0.0 shape on 2.0.0
    await r.next('a shape error', (x) => x !== m && x[2] === 'phoenix' && x[4].status === 'error');
    r.send(['1', 'u1', 'realtime:nowhere', 'broadcast', { type: 'broadcast', event: 'x' }]);
    m = await r.next('unmatched topic', (x) => x[1] === 'u1');
    assert.deepEqual(m[4], { status: 'error', response: { reason: 'unmatched topic' } });
    assert.equal((await rawJoin(r, 'realtime:e', { config: {} }, 'j')).status, 'ok');
    r.send(['j', 'u2', 'realtime:e', 'phx_explode', {}]);
    m = await r.next('unknown event', (x) => x[1] === 'u2');
    assert.match(m[4].response.reason, /unknown event/);
    r.send(['j', 'u3', 'realtime:e', 'broadcast', { type: 'broadcast' }]);
    m = await r.next('broadcast without event', (x) => x[1] === 'u3');
    assert.match(m[4].response.reason, /broadcast payload/);
    r.send(['j', 'u4', 'realtime:e', 'presence', { type: 'presence', event: 'track', payload: 'me' }]);
    m = await r.next('presence with a non-object', (x) => x[1] === 'u4');
    assert.match(m[4].response.reason, /must be an object/);
    r.send(['j', 'u5', 'other', 'phx_join', {}]);
    m = await r.next('a topic without realtime:', (x) => x[1] === 'u5');
    assert.match(m[4].response.reason, /realtime:NAME/);
    assert.equal(r.closed, null, 'the connection stays');
    r.close();
  });

  test('a binary frame on vsn 1.0.0 is an error; on 2.0.0 a malformed one is too', async () => {
    const v1 = await RawRealtime.open(d, { apikey: ANON, vsn: '1.0.0' });
    v1.send(Buffer.from([3, 0, 0, 1, 1, 0, 1, 0x78, 0x79]));
    const e1 = await v1.next('an error', (m) => m.topic === 'phoenix' && m.payload.status === 'error');
    assert.match(e1.payload.response.reason, /binary frames need vsn 2\.0\.0/);
    v1.close();
    const v2 = await RawRealtime.open(d, { apikey: ANON });
    v2.send(Buffer.from([3, 0, 0, 200, 1, 0, 1]));
    const e2 = await v2.next('an error', (m) => m[2] === 'phoenix' && m[4].status === 'error');
    assert.match(e2[4].response.reason, /shorter than its header/);
    v2.close();
  });

  test('at most 100 channels on a connection', async () => {
    const r = await RawRealtime.open(d, { apikey: ANON });
    for (let i = 0; i < 100; i++) {
      r.send([`${i}`, `${i}`, `realtime:c${i}`, 'phx_join', { config: {} }]);
    }
    await r.next('100 joins', (m) => m[1] === '99');
    const replies = r.messages.filter((m) => m[3] === 'phx_reply');
    assert.equal(replies.length, 100);
    assert.ok(replies.every((m) => m[4].status === 'ok'));
    assert.equal((await rawJoin(r, 'realtime:c100', { config: {} }, 'x')).response.reason,
                 'too many channels on this connection: at most 100 (TELLTALE_REALTIME_MAX_JOINS)');
    r.close();
  });

  test('past 100 messages a second (200 at once) a connection\'s messages are refused, not acted on', async () => {
    const r = await RawRealtime.open(d, { apikey: ANON });
    const listener = await RawRealtime.open(d, { apikey: ANON });
    assert.equal((await rawJoin(listener, 'realtime:flood', { config: {} }, 'l')).status, 'ok');
    assert.equal((await rawJoin(r, 'realtime:flood', { config: { broadcast: { ack: true } } }, 'j')).status, 'ok');
    for (let i = 0; i < 400; i++) {
      r.send(['j', `b${i}`, 'realtime:flood', 'broadcast', { type: 'broadcast', event: 'e', payload: { i } }]);
    }
    await r.next('all 400 answered', (m) => m[1] === 'b399', 10_000);
    const replies = r.messages.filter((m) => typeof m[1] === 'string' && m[1].startsWith('b'));
    const ok = replies.filter((m) => m[4].status === 'ok').length;
    const refused = replies.filter((m) => m[4].response?.reason === 'too many messages: at most 100 a second per connection');
    assert.equal(ok + refused.length, 400);
    assert.ok(ok >= 199 && ok < 400, `ok ${ok}`);
    let probe = 0; // the bucket refills: a later broadcast is taken again
    await waitFor('a broadcast accepted again', async () => {
      const ref = `late${probe++}`;
      r.send(['j', ref, 'realtime:flood', 'broadcast', { type: 'broadcast', event: 'e', payload: {} }]);
      return (await r.next('the late reply', (m) => m[1] === ref))[4].status === 'ok';
    }, { timeoutMs: 5_000, intervalMs: 200 });
    // The late one reached the listener after every broadcast accepted before it.
    await listener.next('the late broadcast', (m) => m[3] === 'broadcast' && m[4].payload.i === undefined);
    const heard = listener.messages.filter((m) => m[3] === 'broadcast' && m[4].payload.i !== undefined).length;
    assert.equal(heard, ok, 'only the accepted broadcasts went on');
    r.close();
    listener.close();
  });

  test('more than 16 bindings, a presence state over 16 KiB, and a 1 MiB frame are refused', async () => {
    const r = await RawRealtime.open(d, { apikey: ANON });
    const many = Array.from({ length: 17 }, () => ({ ...EVENTS }));
    assert.match((await rawJoin(r, 'realtime:m', { config: { postgres_changes: many } }, '1')).response.reason,
                 /at most 16 bindings/);
    assert.equal((await rawJoin(r, 'realtime:p', { config: { presence: { key: 'k' } } }, '2')).status, 'ok');
    r.send(['2', '3', 'realtime:p', 'presence', { type: 'presence', event: 'track', payload: { blob: 'x'.repeat(17000) } }]);
    assert.match((await r.next('track reply', (m) => m[1] === '3'))[4].response.reason, /at most 16384 bytes/);
    r.ws.send('x'.repeat(1024 * 1024 + 1));
    const closed = await r.next('the close', () => r.closed && [r.closed]).then(() => r.closed);
    assert.equal(closed.code, 1009);
  });
});

describe('roles on postgres_changes', () => {
  test('anon and authenticated callers both receive inserts', async () => {
    const token = jwt(SECRET, { role: 'authenticated', sub: 'u', exp: Math.floor(Date.now() / 1000) + 600 });
    const got = [[], []];
    const type = 'roles.rt';
    const chans = [open({ key: ANON }), open({ key: token })].map((c, i) =>
      c.channel(uid('roles')).on('postgres_changes', { ...EVENTS, filter: `type=eq.${type}` }, (p) => got[i].push(p.new)));
    await Promise.all(chans.map((ch) => subscribe(ch)));
    const r = await post(d, [{ type }, { type }], { headers: { apikey: SERVICE } });
    assert.equal(r.status, 202, r.text);
    await collected(got[0], 2, 'rows for anon');
    await collected(got[1], 2, 'rows for authenticated');
  });
});
