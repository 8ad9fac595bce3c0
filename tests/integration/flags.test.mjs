// flags.test.mjs -- feature flags end to end on the store the suite runs against: the
// /api/v1/flags routes (shapes, ETag, If-Match and If-None-Match, 412 and 304, errors), `telltale flags` (merge,
// exit codes), and a change pushed live to open /ws clients (hello, {"type":"flags"}) and to
// supabase-js clients on the Realtime topic "flags" without reconnecting.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import { BIN, Daemon, REPO, api, test, uid } from './lib/daemon.mjs';
import { REFUSED_IF_MATCH, assertIfMatchRefused, assertPreconditions } from './lib/if-match.mjs';
import { WsClient } from './lib/wsclient.mjs';
import { client, collected, subscribe } from '../supabase/lib.mjs';

let d;
const closers = [];
before(async () => {
  d = await Daemon.start({ label: 'flags' });
});
after(async () => {
  for (const c of closers) {
    await c();
  }
  await d?.cleanup();
});

const cli = (...args) => spawnSync(BIN, ['flags', ...args, '--url', d.base], { encoding: 'utf8' });
const key = (p = 'f') => uid(p).toLowerCase().replace(/[^a-z0-9_.:-]/g, '-').slice(0, 60);

test('PUT creates (201) and replaces (200) a flag; GET shows it with an ETag; If-Match guards', async () => {
  const k = key();
  let r = await api(d, 'PUT', `/api/v1/flags/${k}`, { json: { enabled: true, variant: 'dual', rollout_percent: 100 } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.headers.get('etag'), '"1"');
  assert.deepEqual({ ...r.json, updated_at: undefined }, {
    key: k, enabled: true, variant: 'dual', rollout_percent: 100, description: null, rules: null,
    version: 1, updated_at: undefined,
  });
  assert.match(r.json.updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  r = await api(d, 'GET', `/api/v1/flags/${k}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('etag'), '"1"');
  r = await api(d, 'GET', `/api/v1/flags/${k}`, { headers: { 'if-none-match': '"1"' } });
  assert.equal(r.status, 304);
  const rules = [{ attribute: 'plan', in: ['pro', 'team'] }, { attribute: 'beta', equals: true }];
  r = await api(d, 'PUT', `/api/v1/flags/${k}`, {
    json: { enabled: true, variant: 'realtime', rollout_percent: 40, description: 'move', rules },
    headers: { 'if-match': '"1"' },
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.version, 2);
  assert.deepEqual(r.json.rules, rules);
  r = await api(d, 'PUT', `/api/v1/flags/${k}`, { json: { enabled: false }, headers: { 'if-match': '"1"' } });
  assert.equal(r.status, 412, r.text);
  assert.equal(r.json.error.code, 'precondition_failed');
  assert.equal(r.headers.get('etag'), '"2"', 'the current version');
  r = await api(d, 'PUT', `/api/v1/flags/${key('absent')}`, { json: {}, headers: { 'if-match': '"1"' } });
  assert.equal(r.status, 412, 'If-Match on a flag that does not exist');
  r = await api(d, 'GET', '/api/v1/flags');
  assert.equal(r.status, 200);
  assert.ok(r.json.flags.some((f) => f.key === k && f.version === 2));
  r = await api(d, 'DELETE', `/api/v1/flags/${k}`, { headers: { 'if-match': '"1"' } });
  assert.equal(r.status, 412);
  r = await api(d, 'DELETE', `/api/v1/flags/${k}`, { headers: { 'if-match': '"2"' } });
  assert.equal(r.status, 204);
  r = await api(d, 'GET', `/api/v1/flags/${k}`);
  assert.equal(r.status, 404);
  assert.equal(r.json.error.code, 'not_found');
  // "*" is false when there is no current representation (RFC 9110 §13.1.1): 412, as on
  // /api/v1/state; without If-Match a missing flag is 404.
  for (const [method, opts] of [['DELETE', {}], ['PUT', { json: { enabled: true } }]]) {
    r = await api(d, method, `/api/v1/flags/${k}`, { ...opts, headers: { 'if-match': '*' } });
    assert.equal(r.status, 412, `${method} If-Match: * on a missing flag: ${r.text}`);
    assert.match(r.json.error.message, /^If-Match: \* and flag '.*' does not exist$/);
  }
  r = await api(d, 'DELETE', `/api/v1/flags/${k}`);
  assert.equal(r.status, 404);
});

// A create-only PUT (If-None-Match: *) used to overwrite: the second answered 200, version 2.
test('If-None-Match: * creates only and a list of tags guards PUT, DELETE and GET; If-Match first (RFC 9110 §13)', async () => {
  await assertPreconditions((...a) => api(d, ...a), `/api/v1/flags/${key('inm')}`, { enabled: true });
});

// A member given twice is refused at every depth the route reads, on PUT /api/v1/flags, the
// DLQ POSTs and OFREP's evaluate bodies alike (DESIGN §5): the last one used to win on flags.
test('a JSON body with a member given twice is 400, naming it, on every JSON body route', async () => {
  const k = key('dup');
  for (const body of ['{"enabled":true,"enabled":false}',
                      '{"enabled":true,"rules":[{"variant":"a","when":{"attr":"x","attr":"y"}}]}']) {
    const r = await api(d, 'PUT', `/api/v1/flags/${k}`, { body, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, body + ': ' + r.text);
    assert.equal(r.json.error.code, 'invalid_body');
    assert.match(r.json.error.message, /^member '(enabled|attr)' is given twice$/);
  }
  assert.equal((await api(d, 'GET', `/api/v1/flags/${k}`)).status, 404, 'nothing was stored');
  for (const route of ['/api/v1/dlq/recover', '/api/v1/dlq/1/retry', '/api/v1/dlq/1/fail']) {
    const r = await api(d, 'POST', route, { body: '{"a":1,"a":2}', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, route + ': ' + r.text);
    assert.equal(r.json.error.code, 'invalid_body');
    assert.equal(r.json.error.message, "member 'a' is given twice");
  }
  for (const body of ['{"context":{"targetingKey":"u1","targetingKey":"u2"}}', '{"context":{},"context":{}}']) {
    const r = await api(d, 'POST', `/ofrep/v1/evaluate/flags/${k}`, { body, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, body + ': ' + r.text);
    assert.match(r.json.errorDetails, /^member '(targetingKey|context)' is given twice$/, r.text);
  }
});

test('a description is at most 1024 bytes (DESIGN "Feature flags")', async () => {
  const k = key('desc');
  let r = await api(d, 'PUT', `/api/v1/flags/${k}`, { json: { description: 'd'.repeat(1024) } });
  assert.equal(r.status, 201, r.text);
  r = await api(d, 'PUT', `/api/v1/flags/${k}`, { json: { description: 'd'.repeat(1025) } });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.error.code, 'invalid_flag');
  assert.match(r.json.error.message, /description/);
  const design = readFileSync(path.join(REPO, 'docs', 'DESIGN.md'), 'utf8');
  assert.match(design, /`description` null or at most 1024 bytes/);
});

test('If-Match is * or one quoted version, as on /api/v1/state; each refusal says what was wrong', async () => {
  const k = key('ifm');
  assert.equal((await api(d, 'PUT', `/api/v1/flags/${k}`, { json: { enabled: true } })).status, 201);
  for (const [h, says] of REFUSED_IF_MATCH) {
    for (const method of ['PUT', 'DELETE']) {
      const r = await api(d, method, `/api/v1/flags/${k}`, { json: method === 'PUT' ? {} : undefined, headers: { 'if-match': h } });
      assertIfMatchRefused(r, says, `${method} If-Match: ${h}`);
    }
  }
  const r = await api(d, 'GET', `/api/v1/flags/${k}`);
  assert.deepEqual([r.json.version, r.json.enabled], [1, true], 'nothing was written');
});

test('telltale flags set --if-match N quotes the version itself and changes only the fields given', async () => {
  const k = key('cliifm');
  assert.equal(cli('set', k, '--enable', '--variant', 'dual').status, 0);
  let p = cli('set', k, '--rollout', '30', '--if-match', '1');
  assert.equal(p.status, 0, p.stderr);
  const f = JSON.parse(p.stdout);
  assert.deepEqual([f.variant, f.enabled, f.rollout_percent, f.version], ['dual', true, 30, 2],
                   'the other fields kept');
  p = cli('set', k, '--rollout', '40', '--if-match', '1');
  assert.equal(p.status, 1, 'stale');
  assert.match(p.stderr, /^telltale flags set: HTTP 412/);
  p = cli('set', k, '--rollout', '50', '--if-match', '*');
  assert.equal(p.status, 0, p.stderr);
  p = cli('delete', k, '--if-match', '3');
  assert.equal(p.status, 0, p.stderr);
});

test('bad flags are refused with a specific error, and the daemon keeps serving', async () => {
  const cases = [
    ['/api/v1/flags/UPPER', { enabled: true }, 'invalid_key'],
    ['/api/v1/flags/ok', { enabled: 'yes' }, 'invalid_flag'],
    ['/api/v1/flags/ok', { rollout_percent: 101 }, 'invalid_flag'],
    ['/api/v1/flags/ok', { colour: 'red' }, 'invalid_flag'],
    ['/api/v1/flags/ok', { rules: [{ attribute: 'a', op: 'gt' }] }, 'invalid_flag'],
    ['/api/v1/flags/ok', { rules: { attribute: 'a' } }, 'invalid_flag'],
    ['/api/v1/flags/ok', [1], 'invalid_flag'],
  ];
  for (const [route, json, code] of cases) {
    const r = await api(d, 'PUT', route, { json });
    assert.equal(r.status, 400, `${JSON.stringify(json)}: ${r.text}`);
    assert.equal(r.json.error.code, code, r.text);
    assert.ok(r.json.error.message.length > 10);
  }
  let r = await api(d, 'PUT', '/api/v1/flags/UPPER', { json: { enabled: true } });
  assert.match(r.json.error.message, /^invalid flag key 'UPPER': expected 1 to 64 characters/, 'the key is named');
  r = await api(d, 'PUT', '/api/v1/flags/ok', { body: '{"enabled":', headers: { 'content-type': 'application/json' } });
  assert.equal(r.json.error.code, 'invalid_json');
  r = await api(d, 'PUT', '/api/v1/flags/ok', { json: {}, headers: { 'if-match': 'W/"x"' } });
  assert.equal(r.json.error.code, 'invalid_header');
  r = await api(d, 'GET', '/api/v1/flags');
  assert.equal(r.status, 200);
  assert.ok(!r.json.flags.some((f) => f.key === 'ok'), 'nothing was written');
});

test('telltale flags: set merges into the flag it read, get/list/delete, exit codes', async () => {
  const k = key('cli');
  let p = cli('set', k, '--enable', '--variant', 'dual');
  assert.equal(p.status, 0, p.stderr);
  assert.equal(JSON.parse(p.stdout).variant, 'dual');
  p = cli('set', k, '--rollout', '25', '--rules', '[{"attribute":"plan","equals":"pro"}]');
  assert.equal(p.status, 0, p.stderr);
  const f = JSON.parse(p.stdout);
  assert.deepEqual([f.enabled, f.variant, f.rollout_percent, f.version], [true, 'dual', 25, 2],
                   'only the fields given changed');
  p = cli('set', k, '--boolean', '--if-match', '1');
  assert.equal(p.status, 1, 'stale version');
  assert.match(p.stderr, /412/);
  p = cli('get', k);
  assert.equal(p.status, 0);
  assert.equal(JSON.parse(p.stdout).version, 2);
  p = cli('list');
  assert.equal(p.status, 0);
  assert.ok(JSON.parse(p.stdout).flags.some((x) => x.key === k));
  assert.equal(cli('delete', k).status, 0);
  assert.equal(cli('delete', k).status, 1, 'already gone: 404');
  assert.equal(cli('set', k).status, 2, 'no field');
  assert.equal(cli('set', 'Bad Key', '--enable').status, 2);
  assert.equal(cli('set', k, '--rollout', '101').status, 2);
  assert.equal(cli('frobnicate').status, 2);
  const help = spawnSync(BIN, ['flags', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  for (const opt of ['--enable', '--variant', '--rollout', '--rules', '--if-match', '--url']) {
    assert.ok(help.stdout.includes(opt), `--help names ${opt}`);
  }
});

test('a flag set with telltale flags reaches two open /ws clients and two Realtime clients', async () => {
  const k = key('live');
  const a = await WsClient.connect(d.wsUrl);
  const b = await WsClient.connect(d.wsUrl);
  closers.push(() => a.close?.(), () => b.close?.());
  await a.until('hello', (c) => c.messages.some((m) => m.type === 'hello'));
  const hello = a.messages.find((m) => m.type === 'hello');
  assert.equal(typeof hello.flags, 'object');
  const rt = [client(d), client(d)];
  const heard = [[], []];
  for (const [i, sc] of rt.entries()) {
    closers.push(() => sc.removeAllChannels());
    await subscribe(sc.channel('flags').on('broadcast', { event: 'flags' }, (m) => heard[i].push(m.payload)));
  }
  assert.equal(cli('set', k, '--enable', '--variant', 'realtime').status, 0);
  const pushed = (c) => c.messages.some((m) => m.type === 'flags' && m.flags[k]?.variant === 'realtime');
  await a.until('the flag pushed to client a', pushed);
  await b.until('the flag pushed to client b', pushed);
  for (const list of heard) {
    await collected(list, 1, 'a flags broadcast');
    assert.equal(list.at(-1).flags[k].variant, 'realtime');
    assert.equal(list.at(-1).flags[k].enabled, true);
  }
  // a client connecting now has it in its hello
  const c = await WsClient.connect(d.wsUrl);
  closers.push(() => c.close?.());
  await c.until('hello with the flag', (x) => x.messages.some((m) => m.type === 'hello' && m.flags[k]?.variant === 'realtime'));
  // a deletion is a change too
  assert.equal(cli('delete', k).status, 0);
  await a.until('the deletion pushed', (x) => x.messages.some((m) => m.type === 'flags' && !(k in m.flags)));
});

test('a flag inserted through /rest/v1 (supabase-js) is pushed too, and dashboard state likewise', async () => {
  const k = key('rest');
  const w = await WsClient.connect(d.wsUrl);
  closers.push(() => w.close());
  const id = uid('rest-client');
  w.send({ type: 'state_subscribe', client_id: id });
  await w.until('subscribed', (c) => c.messages.some((m) => m.type === 'state_subscribed'));
  const sc = client(d);
  closers.push(() => sc.removeAllChannels());
  const { error } = await sc.from('feature_flags').insert({ key: k, enabled: true, variant: 'viarest' });
  assert.equal(error, null, JSON.stringify(error));
  await w.until('the inserted flag pushed', (c) => c.messages.some((m) => m.type === 'flags' && m.flags[k]?.variant === 'viarest'));
  const res = await sc.from('dashboard_state').insert([{ client_id: id, key: 'k', value: { n: 1 } }]);
  assert.equal(res.error, null, JSON.stringify(res.error));
  await w.until('the inserted state pushed', (c) => c.messages.some((m) => m.type === 'state' && m.state.k?.value?.n === 1));
});
