// breaker.test.mjs -- the operator's hand on the circuit breaker (PUT /api/v1/breaker):
// forced open, no store call goes out (an embedded store refuses ingest with 503; a remote one
// keeps it in the spool); closed again, everything flows; disabled, nothing is judged.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { Daemon, STORE_KIND, allEvents, api, post, settled, test, uid, waitFor } from './lib/daemon.mjs';

let d;
before(async () => {
  d = await Daemon.start({ label: 'breaker-control' });
});
after(async () => {
  await d?.cleanup();
});

const breaker = async () => (await api(d, 'GET', '/api/v1/status')).json.breaker;
const put = (state) => api(d, 'PUT', '/api/v1/breaker', { json: { state } });

test('forced open: nothing reaches the store until the operator closes it again', async () => {
  const r = await put('forced_open');
  assert.equal(r.status, 202);
  assert.deepEqual(r.json, { requested: 'forced_open' });
  const id = uid('held');
  const answer = await post(d, { id, type: 'x' });
  await waitFor('the breaker forced open', async () => (await breaker()).state === 'forced_open');
  if (STORE_KIND === 'sqlite') {
    assert.equal(answer.status, 503, 'an embedded store cannot take it: refused, not lost');
    assert.equal(answer.json.error.code, 'store_unavailable');
  } else {
    assert.equal(answer.status, 202, 'a remote store: acknowledged from the spool');
    const st = (await api(d, 'GET', '/api/v1/status')).json;
    assert.equal(st.spool.events, 1, 'held in the spool');
  }
  assert.equal((await put('closed')).status, 202);
  await waitFor('closed', async () => (await breaker()).state === 'closed');
  if (STORE_KIND !== 'sqlite') {
    await settled(d);
    assert.ok((await allEvents(d)).some((e) => e.id === id), 'shipped once closed');
  }
  assert.equal((await post(d, { id: uid('after'), type: 'x' })).status, 202);
  assert.equal((await breaker()).last_transition.reason, 'operator');
});

test('disabled: calls go through and nothing is judged', async () => {
  assert.equal((await put('disabled')).status, 202);
  assert.equal((await post(d, { id: uid('dis'), type: 'x' })).status, 202);
  await waitFor('disabled', async () => (await breaker()).state === 'disabled');
  assert.equal((await put('closed')).status, 202);
  assert.equal((await post(d, { id: uid('back'), type: 'x' })).status, 202);
  await waitFor('closed', async () => (await breaker()).state === 'closed');
});

test('anything else is a 400 that says what is accepted', async () => {
  for (const body of [{ state: 'open' }, { state: 1 }, {}, []]) {
    const r = await api(d, 'PUT', '/api/v1/breaker', { json: body });
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match(r.json.error.message, /forced_open/);
  }
  // A member the route does not know is refused, naming it, as flags and state refuse theirs:
  // {"state":"forced_open","x":1} must not force anything open.
  for (const body of [{ state: 'forced_open', x: 1 }, { x: 1, state: 'closed' }]) {
    const r = await api(d, 'PUT', '/api/v1/breaker', { json: body });
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error.code, 'invalid_body');
    assert.match(r.json.error.message, /^unknown member 'x': send \{"state": "forced_open"\}/);
  }
  // A member given twice is refused, whichever value would have won (DESIGN §5): the first
  // forced the breaker open before.
  for (const body of ['{"state":"forced_open","state":"closed"}', '{"state":"closed","state":"forced_open"}']) {
    const r = await api(d, 'PUT', '/api/v1/breaker', { body, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, body + ': ' + r.text);
    assert.equal(r.json.error.code, 'invalid_body');
    assert.equal(r.json.error.message, "member 'state' is given twice");
  }
  assert.equal((await breaker()).state, 'closed', 'the refused body changed nothing');
  const bad = await api(d, 'PUT', '/api/v1/breaker', { body: '{"state":"closed"', headers: { 'content-type': 'application/json' } });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.json.error.code, 'invalid_json');
  assert.equal((await api(d, 'GET', '/api/v1/breaker')).status, 405);
  await d.stop();
});
