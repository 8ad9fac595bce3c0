// ijson.test.mjs -- integers beyond ±(2^53-1) in a JSON body are refused on every route that
// reads one (I-JSON, RFC 7493 §2.2; DESIGN §2 and §5), saying where and what to send instead,
// and nothing of the request is kept; 2^53-1 itself comes back exactly. cJSON reads numbers as
// doubles, so 9007199254740993 used to be accepted and read back as ...992.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { Daemon, allEvents, api, test, uid } from './lib/daemon.mjs';
import { WsClient } from './lib/wsclient.mjs';

let d;
before(async () => {
  d = await Daemon.start({ label: 'ijson' });
});
after(async () => {
  await d?.cleanup();
});

const JSON_TYPE = { 'content-type': 'application/json' };
const NDJSON_TYPE = { 'content-type': 'application/x-ndjson' };
const WHY = 'JSON numbers are read as doubles, exact only to 2^53-1; send such a value as a ' +
  'string (I-JSON, RFC 7493 §2.2)';
const refusal = (at) => `an integer beyond ±9007199254740991 at byte ${at}: ${WHY}`;

// The body with 'n' in it, and the byte the number starts at.
const withN = (text, n) => ({ body: text.replace('N', n), at: text.indexOf('N') });

test('POST /api/v1/events (JSON): 2^53 and beyond refused as invalid_json at its byte; nothing stored', async () => {
  for (const n of ['9007199254740992', '9007199254740993', '-9007199254740992', '18446744073709551616']) {
    const id = uid('big');
    const { body, at } = withN(`[{"id":"${id}-0","type":"a"},{"id":"${id}","type":"a","attrs":{"n":N}}]`, n);
    const r = await api(d, 'POST', '/api/v1/events', { body, headers: JSON_TYPE });
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(r.json.error, { code: 'invalid_json', message: refusal(at), index: null });
    const kept = (await allEvents(d)).filter((e) => e.id.startsWith(id));
    assert.deepEqual(kept, [], `${n}: nothing of the batch is stored`);
  }
});

test('POST /api/v1/events (NDJSON): the line is named, and no line of the body is stored', async () => {
  const id = uid('bignd');
  const line2 = withN(`{"id":"${id}-1","type":"a","bytes":N}`, '9007199254740993');
  const body = `{"id":"${id}-0","type":"a"}\n${line2.body}\n{"id":"${id}-2","type":"a"}\n`;
  const r = await api(d, 'POST', '/api/v1/events', { body, headers: NDJSON_TYPE });
  assert.equal(r.status, 400, r.text);
  assert.deepEqual(r.json.error, {
    code: 'invalid_json', message: `line 2: an integer beyond ±9007199254740991 at byte ${line2.at} of the line: ${WHY}`, index: 1,
  });
  assert.deepEqual((await allEvents(d)).filter((e) => e.id.startsWith(id)), []);
});

test('±(2^53-1) is accepted and reads back exactly; a fraction, an exponent or a string passes as sent', async () => {
  const id = uid('edge');
  const body = `{"id":"${id}","type":"a","bytes":9007199254740991,"attrs":{"max":9007199254740991,` +
    `"min":-9007199254740991,"s":"9007199254740993","d":1e300,"f":9007199254740993.0}}`;
  const r = await api(d, 'POST', '/api/v1/events', { body, headers: JSON_TYPE });
  assert.equal(r.status, 202, r.text);
  const got = await api(d, 'GET', `/api/v1/events?type=a&limit=1000`);
  const text = got.text.slice(got.text.indexOf(`"id":"${id}"`));
  assert.match(text, /"bytes":9007199254740991[,}]/, 'bytes exactly');
  assert.match(text, /"max":9007199254740991,"min":-9007199254740991,"s":"9007199254740993","d":1e\+300,"f":9007199254740992[,}]/,
    'attrs as sent; 9007199254740993.0 is a double by the sender\'s choice');
  const nd = await api(d, 'POST', '/api/v1/events', { body: `{"type":"a","attrs":{"n":-9007199254740991}}\n`, headers: NDJSON_TYPE });
  assert.equal(nd.status, 202, nd.text);
});

test('PUT /api/v1/state: refused as invalid_json at its byte, nothing stored; 2^53-1 round-trips exactly', async () => {
  const c = uid('client');
  const { body, at } = withN('{"value":{"counter":N}}', '9007199254740993');
  const r = await api(d, 'PUT', `/api/v1/state/${c}/k`, { body, headers: JSON_TYPE });
  assert.equal(r.status, 400, r.text);
  assert.deepEqual(r.json.error, { code: 'invalid_json', message: `the body must be one JSON value: ${refusal(at)}` });
  assert.equal((await api(d, 'GET', `/api/v1/state/${c}/k`)).status, 404, 'nothing stored');
  const whole = await api(d, 'PUT', `/api/v1/state/${c}`, { body: '{"k":-9007199254740992}', headers: JSON_TYPE });
  assert.equal(whole.status, 400, whole.text);
  assert.equal(whole.json.error.message, `the body must be one JSON value: ${refusal(5)}`);
  assert.equal((await api(d, 'GET', `/api/v1/state/${c}`)).json?.state?.k, undefined);

  const ok = await api(d, 'PUT', `/api/v1/state/${c}/k`, { body: '{"value":[9007199254740991,-9007199254740991]}', headers: JSON_TYPE });
  assert.equal(ok.status, 201, ok.text);
  const back = await api(d, 'GET', `/api/v1/state/${c}/k`);
  assert.match(back.text, /"value":\[9007199254740991,-9007199254740991\]/, back.text);
});

test('PUT /api/v1/flags: a big integer in the rules is refused as invalid_json, and no flag is made', async () => {
  const k = `ijson.${uid('f').toLowerCase().replace(/[^a-z0-9_.:-]/g, '')}`.slice(0, 64);
  const { body, at } = withN('{"enabled":true,"rules":[{"attribute":"org","in":[N]}]}', '9007199254740993');
  const r = await api(d, 'PUT', `/api/v1/flags/${k}`, { body, headers: JSON_TYPE });
  assert.equal(r.status, 400, r.text);
  assert.deepEqual(r.json.error, { code: 'invalid_json', message: `the body must be one JSON value: ${refusal(at)}` });
  assert.equal((await api(d, 'GET', `/api/v1/flags/${k}`)).status, 404, 'no flag');
  const ok = await api(d, 'PUT', `/api/v1/flags/${k}`,
    { body: '{"enabled":true,"rules":[{"attribute":"org","in":[9007199254740991]}]}', headers: JSON_TYPE });
  assert.equal(ok.status, 201, ok.text);
  assert.match((await api(d, 'GET', `/api/v1/flags/${k}`)).text, /"in":\[9007199254740991\]/);
});

test('OFREP and /rest/v1 refuse it in their own shapes, naming the byte', async () => {
  const context = withN('{"context":{"targetingKey":"u","n":N}}', '9007199254740992');
  const ofrep = await api(d, 'POST', '/ofrep/v1/evaluate/flags', { body: context.body, headers: JSON_TYPE });
  assert.equal(ofrep.status, 400, ofrep.text);
  assert.equal(ofrep.json.errorCode, 'PARSE_ERROR');
  assert.equal(ofrep.json.errorDetails, `the request body is not I-JSON: ${refusal(context.at)}`);
  const id = uid('rest');
  const row = withN(`{"id":"${id}","type":"a","bytes":N}`, '9007199254740993');
  const rest = await api(d, 'POST', '/rest/v1/monitoring_events', { body: row.body, headers: JSON_TYPE });
  assert.equal(rest.status, 400, rest.text);
  assert.deepEqual([rest.json.code, rest.json.message], ['PGRST102', 'Empty or invalid json']);
  assert.equal(rest.json.details, refusal(row.at));
  assert.deepEqual((await allEvents(d)).filter((e) => e.id === id), []);
});

test('/ws ingest: an error invalid_json naming the byte, no ack, nothing stored; the connection stays', async () => {
  const c = await WsClient.connect(d.wsUrl);
  try {
    const id = uid('wsbig');
    const { body, at } = withN(`{"type":"ingest","ref":"r1","events":[{"id":"${id}","type":"a","attrs":{"n":N}}]}`, '9007199254740993');
    c.send(body);
    const err = await c.next('error', (m) => m.type === 'error');
    assert.equal(err.error.code, 'invalid_json');
    assert.equal(err.error.message, `a message must be a JSON object with a string 'type': ${refusal(at)}`);
    await c.sync();
    c.send(`{"type":"ingest","ref":"r2","events":[{"id":"${id}-ok","type":"a","attrs":{"n":9007199254740991}}]}`);
    const ack = await c.next('ack r2', (m) => m.type === 'ack' && m.ref === 'r2');
    assert.equal(ack.accepted, 1);
    assert.equal(c.messages.filter((m) => m.type === 'ack' && m.ref === 'r1').length, 0);
    assert.deepEqual((await allEvents(d)).filter((e) => e.id.startsWith(id)).map((e) => e.id), [`${id}-ok`]);
  } finally {
    await c.close();
  }
});
