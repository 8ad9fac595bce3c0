// rest.test.mjs -- /rest/v1 (DESIGN §5, "REST") through the official @supabase/supabase-js
// client, against the real daemon on the store the suite runs against (SQLite by default,
// PostgreSQL with TELLTALE_TEST_STORE=postgres): reads with filters, order, limits and counts,
// single objects, inserts (events through the ingest path), the role policy of each table for
// anon, authenticated and service callers, every error a client can meet, CORS, and the
// limits that keep a client from hurting the daemon.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before } from 'node:test';
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { Daemon, STORE_KIND, api, settled, test, uid } from '../integration/lib/daemon.mjs';

const SECRET = 'rest-test-jwt-secret-0123456789abcdef';
const ANON_KEY = 'rest-test-anon-key-0123';
const SERVICE_KEY = 'rest-test-service-key-0123';
const PG_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?\+00:00$/;

// An HS256 JWT, as Supabase Auth would issue one.
function jwt(claims) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iat: now, exp: now + 3600, ...claims })}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}

let d; // with keys: roles apply
let open; // without keys: every caller is service_role
before(async () => {
  const env = {
    TELLTALE_JWT_SECRET: SECRET,
    TELLTALE_ANON_KEY: ANON_KEY,
    TELLTALE_ANON_READ: 'true', // anon reads events and flags, as these cases expect
    TELLTALE_SERVICE_KEY: SERVICE_KEY,
    TELLTALE_MAX_BODY: '256KiB',
  };
  d = await Daemon.start({ label: 'rest', env });
  open = await Daemon.start({ label: 'rest-open' });
});
after(async () => {
  await d?.stop();
  await open?.stop();
  await d?.cleanup();
  await open?.cleanup();
});

// Node 20 has no WebSocket of its own: realtime-js, which createClient() sets up (unused
// here), is given the ws package's.
const OPTIONS = {
  auth: { persistSession: false, autoRefreshToken: false },
  db: { schema: 'monitoring' },
  realtime: { transport: WebSocket },
};
const client = (key, { token, daemon = d, schema } = {}) =>
  createClient(daemon.base, key, {
    ...OPTIONS,
    ...(schema ? { db: { schema } } : {}),
    ...(token ? { accessToken: async () => token } : {}),
  });
const service = () => client(SERVICE_KEY);
const anon = () => client(ANON_KEY);
const user = (sub) => client(ANON_KEY, { token: jwt({ role: 'authenticated', sub }) });

// Plain HTTP with the service key, for what supabase-js would not send.
const raw = (method, route, { headers = {}, ...opts } = {}) =>
  api(d, method, route, { headers: { apikey: SERVICE_KEY, ...headers }, ...opts });

// Inserts events through /rest/v1 and waits until the store shows them (a remote store takes
// them from the spool a moment after the 201).
async function insertEvents(rows) {
  const { error, status } = await service().from('monitoring_events').insert(rows);
  assert.equal(error, null);
  assert.equal(status, 201);
  await settled(d);
}

test('select with eq, order, limit: the rows in PostgreSQL to_json form', async () => {
  const session = uid('s');
  await insertEvents([
    { type: 'request', session_id: session, duration_ms: 12.5, bytes: 10, attrs: { route: '/a', n: 1 } },
    { type: 'request', session_id: session, duration_ms: 3, status: 'ok' },
    { type: 'error', session_id: session, error: 'boom' },
    { type: 'request', session_id: uid('other') },
  ]);
  const { data, error, status } = await anon().from('monitoring_events')
    .select('seq, type, session_id, duration_ms, bytes, attrs, ts, received_at, status')
    .eq('session_id', session).eq('type', 'request').order('duration_ms', { ascending: false }).limit(5);
  assert.equal(error, null);
  assert.equal(status, 200);
  assert.equal(data.length, 2);
  assert.deepEqual(data.map((r) => r.duration_ms), [12.5, 3]);
  const [first, second] = data;
  assert.equal(typeof first.seq, 'number');
  assert.deepEqual(first.attrs, { route: '/a', n: 1 });
  assert.equal(first.bytes, 10);
  assert.equal(second.attrs, null);
  assert.equal(second.status, 'ok');
  assert.match(first.ts, PG_TIME);
  assert.match(first.received_at, PG_TIME);
  assert.deepEqual(Object.keys(first), ['seq', 'type', 'session_id', 'duration_ms', 'bytes', 'attrs', 'ts',
    'received_at', 'status']);
});

test('filter values keep spaces, &, + and dots; eq on text is exact', async () => {
  const odd = `a b&c+d.e ${uid('x')}`;
  await insertEvents([{ type: 'odd', session_id: odd }, { type: 'odd', session_id: `${odd}!` }]);
  const { data, error } = await anon().from('monitoring_events').select('session_id').eq('session_id', odd);
  assert.equal(error, null);
  assert.deepEqual(data, [{ session_id: odd }]);
});

test('filters neq, gt, gte, lt, lte on numbers and times; offset; order with nulls first', async () => {
  const session = uid('f');
  await insertEvents([1, 2, 3, 4, 5].map((v) => ({
    type: 'metric', session_id: session, value: v, ts: `2026-01-0${v}T00:00:00.000Z`,
  })).concat([{ type: 'metric', session_id: session, ts: '2026-01-06T00:00:00Z' }]));
  const q = () => anon().from('monitoring_events').select('value, ts').eq('session_id', session);
  const values = async (builder) => {
    const { data, error } = await builder;
    assert.equal(error, null);
    return data.map((r) => r.value);
  };
  assert.deepEqual(await values(q().gt('value', 2).lte('value', 4).order('value')), [3, 4]);
  assert.deepEqual(await values(q().gte('value', 4).order('value', { ascending: false })), [5, 4]);
  assert.deepEqual(await values(q().lt('value', 2)), [1]);
  assert.deepEqual(await values(q().neq('value', 3).lt('value', 5).order('value')), [1, 2, 4]);
  assert.deepEqual(await values(q().gte('ts', '2026-01-04T00:00:00+00:00').lt('ts', '2026-01-06')
    .order('ts')), [4, 5]);
  assert.deepEqual(await values(q().order('value').range(1, 2)), [2, 3]);
  assert.deepEqual(await values(q().order('value', { nullsFirst: true }).limit(2)), [null, 1]);
  assert.deepEqual(await values(q().order('value', { ascending: false, nullsFirst: false }).limit(2)), [5, 4]);
  assert.deepEqual(await values(q().order('value', { ascending: false }).limit(1)), [null]); // PostgreSQL's default
  const { data } = await q().eq('ts', '2026-01-02T00:00:00Z');
  assert.deepEqual(data, [{ value: 2, ts: '2026-01-02T00:00:00+00:00' }]);
});

test('insert().select() returns the rows; the events went through the ingest path', async () => {
  const id = uid('ins');
  const { data, error, status } = await service().from('monitoring_events')
    .insert({ id, type: 'tool_call', name: 'search', attrs: { k: [1, 2] } }).select();
  assert.equal(error, null);
  assert.equal(status, 201);
  assert.equal(data.length, 1);
  const row = data[0];
  assert.equal(row.id, id);
  assert.equal(row.name, 'search');
  assert.deepEqual(row.attrs, { k: [1, 2] });
  assert.match(row.ts, PG_TIME);
  // seq is the store's, or null when the batch went to the spool of a remote store.
  if (STORE_KIND === 'postgres') {
    assert.ok(row.seq === null || typeof row.seq === 'number');
  } else {
    assert.equal(typeof row.seq, 'number');
  }
  await settled(d);
  const stored = await raw('GET', `/api/v1/events?limit=1`);
  assert.equal(stored.json.events[0].id, id); // the same store, the same path as POST /api/v1/events
  const again = await service().from('monitoring_events').select('id, seq').eq('id', id).single();
  assert.equal(again.error, null);
  assert.equal(typeof again.data.seq, 'number');
});

test('insert without select answers 201 with no body; arrays insert every row', async () => {
  const ids = [uid('a'), uid('a'), uid('a')];
  const res = await service().from('monitoring_events').insert(ids.map((id) => ({ id, type: 'batch' })));
  assert.equal(res.error, null);
  assert.equal(res.status, 201);
  assert.equal(res.data, null);
  await settled(d);
  const { count, error, data } = await anon().from('monitoring_events')
    .select('*', { count: 'exact', head: true }).eq('type', 'batch');
  assert.equal(error, null);
  assert.equal(data, null); // HEAD: no body
  assert.equal(count, 3);
});

test('count exact: Content-Range n-m/total, and */0 when nothing matches', async () => {
  const session = uid('c');
  await insertEvents(Array.from({ length: 7 }, () => ({ type: 'count', session_id: session })));
  const { data, count, error } = await anon().from('monitoring_events')
    .select('seq', { count: 'exact' }).eq('session_id', session).limit(3);
  assert.equal(error, null);
  assert.equal(count, 7);
  assert.equal(data.length, 3);
  const r = await raw('GET', `/rest/v1/monitoring_events?select=seq&session_id=eq.${session}&offset=2&limit=3`,
    { headers: { prefer: 'count=exact' } });
  assert.equal(r.headers.get('content-range'), '2-4/7');
  const none = await raw('GET', '/rest/v1/monitoring_events?session_id=eq.nobody', { headers: { prefer: 'count=exact' } });
  assert.equal(none.headers.get('content-range'), '*/0');
  assert.deepEqual(none.json, []);
  const plain = await raw('GET', `/rest/v1/monitoring_events?select=seq&session_id=eq.${session}&limit=2`);
  assert.equal(plain.headers.get('content-range'), '0-1/*');
});

test('single(): one row as an object; none or several is 406 PGRST116; maybeSingle() of none is null', async () => {
  const id = uid('one');
  await insertEvents([{ id, type: 'single' }, { type: 'single' }]);
  const one = await anon().from('monitoring_events').select('id, type').eq('id', id).single();
  assert.equal(one.error, null);
  assert.deepEqual(one.data, { id, type: 'single' });
  const none = await anon().from('monitoring_events').select().eq('id', 'no-such-id').single();
  assert.equal(none.status, 406);
  assert.equal(none.error.code, 'PGRST116');
  assert.equal(none.data, null);
  const many = await anon().from('monitoring_events').select().eq('type', 'single').single();
  assert.equal(many.status, 406);
  assert.equal(many.error.code, 'PGRST116');
  const maybe = await anon().from('monitoring_events').select().eq('id', 'no-such-id').maybeSingle();
  assert.equal(maybe.error, null);
  assert.equal(maybe.data, null);
});

test('feature_flags: service inserts, anon and authenticated read, nobody else writes; a taken key is 409', async () => {
  const key = `flag.${Date.now().toString(36)}`;
  const ins = await service().from('feature_flags').insert({ key, enabled: true, rollout_percent: 25 }).select().single();
  assert.equal(ins.error, null);
  assert.equal(ins.status, 201);
  assert.equal(ins.data.key, key);
  assert.equal(ins.data.enabled, true);
  assert.equal(ins.data.rollout_percent, 25);
  assert.equal(ins.data.version, 1); // the column's default
  assert.equal(ins.data.variant, null);
  assert.match(ins.data.updated_at, PG_TIME);
  for (const who of [anon(), user('u-flags')]) {
    const { data, error } = await who.from('feature_flags').select('key, enabled').eq('key', key);
    assert.equal(error, null);
    assert.deepEqual(data, [{ key, enabled: true }]);
  }
  const byAnon = await anon().from('feature_flags').insert({ key: `${key}.x` });
  assert.equal(byAnon.status, 401);
  assert.equal(byAnon.error.code, '42501');
  const byUser = await user('u-flags').from('feature_flags').insert({ key: `${key}.x` });
  assert.equal(byUser.status, 403);
  assert.equal(byUser.error.code, '42501');
  const dup = await service().from('feature_flags').insert({ key });
  assert.equal(dup.status, 409);
  assert.equal(dup.error.code, '23505');
  const bad = await service().from('feature_flags').insert({ key: `${key}.y`, rollout_percent: 101 });
  assert.equal(bad.status, 400);
  assert.equal(bad.error.code, '23514');
  const nulls = await service().from('feature_flags').insert([{ key: `${key}.z`, enabled: true }, { key: `${key}.w` }]);
  assert.equal(nulls.status, 400); // missing keys in an array row are NULL, as PostgREST has it
  assert.equal(nulls.error.code, '23502');
  const { data: none } = await service().from('feature_flags').select('key').eq('key', `${key}.z`);
  assert.deepEqual(none, []); // all or nothing
});

test('dashboard_state: an authenticated caller reads and inserts its own rows only; anon nothing', async () => {
  const me = uid('me');
  const other = uid('other');
  const seed = await service().from('dashboard_state').insert([
    { client_id: other, key: 'layout', value: { cols: 3 } },
  ]);
  assert.equal(seed.error, null);
  const mine = await user(me).from('dashboard_state').insert({ client_id: me, key: 'layout', value: { cols: [1, 2], dark: true } }).select();
  assert.equal(mine.error, null);
  assert.deepEqual(mine.data.map((r) => [r.client_id, r.key, r.value, r.version]), [[me, 'layout', { cols: [1, 2], dark: true }, 1]]);
  const seen = await user(me).from('dashboard_state').select('client_id, value');
  assert.equal(seen.error, null);
  assert.deepEqual(seen.data, [{ client_id: me, value: { cols: [1, 2], dark: true } }]);
  const peek = await user(me).from('dashboard_state').select().eq('client_id', other);
  assert.deepEqual(peek.data, []);
  const forged = await user(me).from('dashboard_state').insert({ client_id: other, key: 'x', value: 1 });
  assert.equal(forged.status, 403);
  assert.equal(forged.error.code, '42501');
  const byAnon = await anon().from('dashboard_state').select();
  assert.equal(byAnon.status, 401);
  assert.equal(byAnon.error.code, '42501');
  const all = await service().from('dashboard_state').select('client_id').order('client_id');
  assert.ok(all.data.some((r) => r.client_id === other) && all.data.some((r) => r.client_id === me));
});

test('dead_letter_queue: service reads; anon 401, authenticated 403; nobody writes (405)', async () => {
  const s = await service().from('dead_letter_queue').select('id, status, original_payload, created_at');
  assert.equal(s.error, null);
  assert.ok(Array.isArray(s.data));
  const a = await anon().from('dead_letter_queue').select();
  assert.equal(a.status, 401);
  assert.equal(a.error.code, '42501');
  const u = await user('u-dlq').from('dead_letter_queue').select();
  assert.equal(u.status, 403);
  assert.equal(u.error.code, '42501');
  const w = await service().from('dead_letter_queue').insert({ failure_reason: 'x' });
  assert.equal(w.status, 405);
  assert.equal(w.error.code, '25006');
  const wu = await user('u-dlq').from('dead_letter_queue').insert({ failure_reason: 'x' });
  assert.equal(wu.status, 403);
});

test('monitoring_events: anon and authenticated read but may not insert; bad credentials are 401', async () => {
  assert.equal((await anon().from('monitoring_events').select('seq').limit(1)).error, null);
  assert.equal((await user('u-ev').from('monitoring_events').select('seq').limit(1)).error, null);
  const a = await anon().from('monitoring_events').insert({ type: 'x' });
  assert.equal(a.status, 401);
  assert.equal(a.error.code, '42501');
  const u = await user('u-ev').from('monitoring_events').insert({ type: 'x' });
  assert.equal(u.status, 403);
  const wrong = await client('not-a-key-of-ours').from('monitoring_events').select();
  assert.equal(wrong.status, 401);
  assert.equal(wrong.error.code, 'PGRST301');
  const forged = await client(ANON_KEY, { token: jwt({ role: 'service_role' }).replace(/.$/, 'x') })
    .from('monitoring_events').select();
  assert.equal(forged.status, 401);
  const none = await api(d, 'GET', '/rest/v1/monitoring_events');
  assert.equal(none.status, 401);
});

test('errors a client can meet, in PostgREST words', async () => {
  const badColumn = await anon().from('monitoring_events').select('seq, nope');
  assert.equal(badColumn.status, 400);
  assert.equal(badColumn.error.code, '42703');
  assert.match(badColumn.error.message, /nope/);
  const badFilterColumn = await anon().from('monitoring_events').select().eq('nope', 1);
  assert.equal(badFilterColumn.error.code, '42703');
  const badOrder = await anon().from('monitoring_events').select().order('nope');
  assert.equal(badOrder.error.code, '42703');
  const badOp = await anon().from('monitoring_events').select().like('type', 'req%');
  assert.equal(badOp.status, 400);
  assert.equal(badOp.error.code, 'PGRST100');
  const badValue = await anon().from('monitoring_events').select().eq('seq', 'abc');
  assert.equal(badValue.status, 400);
  assert.equal(badValue.error.code, '22P02');
  const badTime = await anon().from('monitoring_events').select().gt('ts', 'yesterday');
  assert.equal(badTime.error.code, '22007');
  const embed = await anon().from('monitoring_events').select('seq, other(*)');
  assert.equal(embed.error.code, 'PGRST100');
  const profile = await client(ANON_KEY, { schema: 'public' }).from('monitoring_events').select();
  assert.equal(profile.status, 406);
  assert.equal(profile.error.code, 'PGRST106');
  const postProfile = await client(SERVICE_KEY, { schema: 'public' }).from('feature_flags').insert({ key: 'p' });
  assert.equal(postProfile.status, 406);
  const table = await anon().from('no_such_table').select();
  assert.equal(table.status, 404);
  assert.equal(table.error.code, 'PGRST205');
  const unknownField = await service().from('monitoring_events').insert({ type: 'x', nope: 1 });
  assert.equal(unknownField.status, 400);
  assert.equal(unknownField.error.code, 'PGRST204');
  const invalid = await service().from('monitoring_events').insert({ type: 'Not Valid!' });
  assert.equal(invalid.status, 400);
  assert.equal(invalid.error.code, '23514');
  const flagColumn = await service().from('feature_flags').insert({ key: 'k', colour: 'red' });
  assert.equal(flagColumn.error.code, 'PGRST204');
  const wrongType = await service().from('feature_flags').insert({ key: 'k2', rollout_percent: 'lots' });
  assert.equal(wrongType.error.code, '22P02');
  for (const [table2, body] of [['monitoring_events', '{"type":'], ['feature_flags', 'nope'], ['feature_flags', '3']]) {
    const r = await raw('POST', `/rest/v1/${table2}`, { body, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, `${table2} ${body}`);
    assert.equal(r.json.code, 'PGRST102');
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
  }
  const patch = await service().from('feature_flags').update({ enabled: false }).eq('key', 'k');
  assert.equal(patch.status, 405);
  assert.equal(patch.error.code, 'PGRST117');
});

test('CORS: preflight names the methods and the headers supabase-js sends; answers expose Content-Range', async () => {
  const res = await fetch(`${d.base}/rest/v1/monitoring_events`, {
    method: 'OPTIONS',
    headers: {
      origin: 'http://dashboard.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'apikey, authorization, content-type, prefer, content-profile, x-client-info',
    },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.match(res.headers.get('access-control-allow-methods'), /\bPOST\b/);
  assert.match(res.headers.get('access-control-allow-methods'), /\bGET\b/);
  const allowed = res.headers.get('access-control-allow-headers').split(/,\s*/);
  for (const h of ['apikey', 'authorization', 'content-type', 'prefer', 'accept-profile', 'content-profile', 'x-client-info']) {
    assert.ok(allowed.includes(h), `${h} is allowed`);
  }
  const get = await raw('GET', '/rest/v1/feature_flags?limit=1', { headers: { origin: 'http://dashboard.example' } });
  assert.equal(get.headers.get('access-control-allow-origin'), '*');
  assert.match(get.headers.get('access-control-expose-headers'), /Content-Range/);
  const denied = await api(d, 'GET', '/rest/v1/dead_letter_queue', { headers: { apikey: ANON_KEY } });
  assert.equal(denied.headers.get('access-control-allow-origin'), '*');
});

test('limits: rows capped, too many filters, columns, long values, big bodies; the daemon keeps serving', async () => {
  const filters = Array.from({ length: 33 }, (_, i) => `type=neq.t${i}`).join('&');
  const many = await raw('GET', `/rest/v1/monitoring_events?${filters}`);
  assert.equal(many.status, 414);
  assert.ok(many.json.code && many.json.message);
  const long = await raw('GET', `/rest/v1/monitoring_events?type=eq.${'x'.repeat(9000)}`);
  assert.equal(long.status, 414);
  const value = await raw('GET', `/rest/v1/monitoring_events?type=eq.${'x'.repeat(5000)}`);
  assert.equal(value.status, 400);
  assert.equal(value.json.code, 'PGRST100');
  const cols = await raw('GET', `/rest/v1/monitoring_events?select=${Array(17).fill('seq').join(',')}`);
  assert.equal(cols.status, 400);
  assert.equal(cols.json.code, 'PGRST100');
  const negative = await raw('GET', '/rest/v1/monitoring_events?limit=-1');
  assert.equal(negative.status, 400);
  const big = await raw('POST', '/rest/v1/feature_flags', {
    body: JSON.stringify({ key: 'big', description: 'x'.repeat(300 * 1024) }),
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(big.status, 413);
  assert.ok(big.json.code && big.json.message);
  const rows = await raw('POST', '/rest/v1/feature_flags', {
    json: Array.from({ length: 1001 }, (_, i) => ({ key: `k${i}` })),
  });
  assert.equal(rows.status, 413);
  const desc = await service().from('feature_flags').insert({ key: 'desc.long', description: 'x'.repeat(1025) });
  assert.equal(desc.error.code, '23514');
  assert.equal((await api(d, 'GET', '/health')).status, 200);
});

test('limit above 10000 is cut to 10000 rows, as PostgREST max-rows does', async () => {
  const session = uid('cap');
  for (let i = 0; i < 6; i++) { // 2000 at a time: within the 256 KiB body limit
    const batch = Array.from({ length: i < 5 ? 2000 : 1 }, () => ({ type: 'cap', session_id: session }));
    const r = await api(d, 'POST', '/api/v1/events', { json: batch, headers: { apikey: SERVICE_KEY } });
    assert.equal(r.status, 202, r.text);
  }
  await settled(d);
  const r = await raw('GET', `/rest/v1/monitoring_events?select=seq&session_id=eq.${session}&limit=20000`,
    { headers: { prefer: 'count=exact' } });
  assert.equal(r.status, 200);
  assert.equal(r.json.length, 10000);
  assert.equal(r.headers.get('content-range'), '0-9999/10001');
});

test('without keys every caller is service_role', async () => {
  const c = client('whatever-key', { daemon: open });
  const dlq = await c.from('dead_letter_queue').select();
  assert.equal(dlq.error, null);
  const key = `open.${Date.now().toString(36)}`;
  const ins = await c.from('feature_flags').insert({ key }).select('key, enabled, rollout_percent');
  assert.equal(ins.error, null);
  assert.deepEqual(ins.data, [{ key, enabled: false, rollout_percent: 100 }]);
});
