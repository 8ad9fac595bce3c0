// dlq.test.mjs -- the dead letter queue end to end, on the store the suite runs against:
// events the store refuses for themselves are isolated from their batch into the queue with
// the store's error while the rest is stored; the recovery worker retries them with backoff
// until they are recovered or failed; operators list, retry, recover, fail and purge them
// over HTTP and with `telltale dlq`.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before } from 'node:test';
import { BIN, Daemon, allEvents, api, post, settled, test, uid, waitFor } from './lib/daemon.mjs';
import { poisonOff, poisonOn } from './lib/poison.mjs';

let d;
before(async () => {
  d = await Daemon.start({
    label: 'dlq',
    // Quick retries, so a test sees an item go from pending to failed in seconds.
    args: ['--dlq-max-retries', '2', '--retry-base-ms', '50', '--retry-cap-ms', '200',
           '--dlq-retry-base', '200ms', '--dlq-retry-cap', '400ms'],
  });
});
after(async () => {
  await d?.cleanup();
});

const dlq = async (query = '') => (await api(d, 'GET', `/api/v1/dlq${query}`)).json;
const cli = (...args) => spawnSync(BIN, ['dlq', ...args, '--url', d.base], { encoding: 'utf8' });
const poisoned = (id) => ({ id, type: 'order', attrs: { poison: true } });

// next_after_id is an int64 written exactly (DESIGN §5), over HTTP and by `telltale dlq list`:
// the cursor sent back is accepted and marks the same page boundary. JSON.parse would round it,
// so the text is read.
test('after_id near 2^63: next_after_id comes back exactly, over HTTP and from dlq list', async () => {
  for (const id of ['9007199254740993', '9223372036854775807']) {
    const r = await api(d, 'GET', `/api/v1/dlq?after_id=${id}`);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, new RegExp(`"next_after_id":${id}[,}]`), r.text);
    const cursor = r.text.match(/"next_after_id":([^,}]*)/)[1];
    const again = await api(d, 'GET', `/api/v1/dlq?after_id=${cursor}`);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.text, r.text, 'the same page boundary');
    const out = cli('list', '--after-id', id);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, new RegExp(`"next_after_id":${id}[,}]`), out.stdout);
  }
});

test('a batch with events the store refuses: the rest is stored, the refused ones are dead letters', async () => {
  await poisonOn(d);
  const bad = [uid('bad'), uid('bad')];
  const batch = [
    { id: uid('ok'), type: 'order' }, poisoned(bad[0]), { id: uid('ok'), type: 'order' },
    { id: uid('ok'), type: 'order' }, poisoned(bad[1]), { id: uid('ok'), type: 'order' },
  ];
  const r = await post(d, batch);
  assert.equal(r.status, 202, r.text); // durable: stored or dead-lettered
  assert.equal(r.json.accepted, 6);
  await settled(d);
  const stored = new Set((await allEvents(d)).map((e) => e.id));
  for (const e of batch) {
    assert.equal(stored.has(e.id), !bad.includes(e.id), `${e.id} stored: ${stored.has(e.id)}`);
  }
  const items = await waitFor('two dead letters', async () => {
    const l = await dlq();
    return l.items.length === 2 ? l.items : null;
  });
  assert.deepEqual(items.map((i) => i.payload.id).sort(), [...bad].sort());
  for (const it of items) {
    assert.match(it.failure_reason, /poison event refused by a test trigger/);
    assert.equal(it.max_retries, 2);
    assert.equal(it.payload.attrs.poison, true, 'the payload is the event as sent');
  }
});

test('retries while the store still refuses: counted, then failed at max_retries', async () => {
  const failed = await waitFor('both items failed after their retries', async () => {
    const l = await dlq('?status=failed');
    return l.items.length === 2 ? l.items : null;
  }, { timeoutMs: 30_000 });
  for (const it of failed) {
    assert.equal(it.retry_count, 2);
    assert.equal(it.next_retry_at, null);
  }
  const stats = (await api(d, 'GET', '/api/v1/dlq/stats')).json;
  assert.equal(stats.total_failed, 2);
  assert.equal(stats.total_pending, 0);
});

test('once the store takes them, recover brings them back: stored once, marked recovered', async () => {
  await poisonOff(d);
  const out = cli('recover');
  assert.equal(out.status, 0, out.stderr);
  assert.deepEqual(JSON.parse(out.stdout), { scheduled: 2 });
  const recovered = await waitFor('both recovered', async () => {
    const l = await dlq('?status=recovered');
    return l.items.length === 2 ? l.items : null;
  }, { timeoutMs: 20_000 });
  const all = await allEvents(d);
  for (const it of recovered) {
    assert.notEqual(it.recovered_at, null);
    assert.equal(all.filter((e) => e.id === it.payload.id).length, 1, 'stored exactly once');
  }
  const stats = JSON.parse(cli('stats').stdout);
  assert.equal(stats.total_recovered, 2);
  assert.equal(stats.oldest_pending_age_hours, 0, 'nothing pending: no age');
});

test('retry one, and fail one, by id; unknown ids are 404', async () => {
  await poisonOn(d);
  const id = uid('one');
  assert.equal((await post(d, [poisoned(id)])).status, 202);
  await settled(d);
  const item = await waitFor('the dead letter', async () => (await dlq('?status=pending')).items[0]);
  const retry = await api(d, 'POST', `/api/v1/dlq/${item.id}/retry`);
  assert.equal(retry.status, 202);
  assert.deepEqual(retry.json, { scheduled: 1 });
  const fail = cli('fail', String(item.id));
  assert.equal(fail.status, 0, fail.stderr);
  assert.deepEqual(JSON.parse(fail.stdout), { failed: 1 });
  assert.equal((await dlq(`?status=failed&after_id=${item.id - 1}&limit=1`)).items[0].id, item.id);
  assert.equal((await api(d, 'POST', '/api/v1/dlq/999999/retry')).status, 404);
  assert.equal((await api(d, 'POST', '/api/v1/dlq/999999/fail')).status, 404);
  assert.equal((await api(d, 'POST', '/api/v1/dlq/abc/retry')).status, 400);
  // These POSTs take no body: none, or {}, is fine; a member is refused naming it, as on every
  // JSON body route, and nothing is scheduled.
  for (const p of ['/api/v1/dlq/999999/retry', '/api/v1/dlq/999999/fail', '/api/v1/dlq/recover']) {
    const json = { 'content-type': 'application/json' };
    if (!p.endsWith('recover')) { // a recover that ran would retry the next test's items
      assert.equal((await api(d, 'POST', p, { body: '{}', headers: json })).status, 404, p);
    }
    const r = await api(d, 'POST', p, { body: '{"id":1}', headers: json });
    assert.equal(r.status, 400, `${p}: ${r.text}`);
    assert.equal(r.json.error.code, 'invalid_body');
    assert.match(r.json.error.message, /^unknown member 'id': this route takes no body/);
    const notJson = await api(d, 'POST', p, { body: 'retry', headers: json });
    assert.equal(notJson.json.error.code, 'invalid_json', notJson.text);
  }
  const gone = cli('retry', '999999');
  assert.equal(gone.status, 1);
  assert.match(gone.stderr, /HTTP 404/);
  await poisonOff(d);
});

test('purge deletes resolved items by age and never unresolved ones', async () => {
  await poisonOn(d);
  assert.equal((await post(d, [poisoned(uid('keep'))])).status, 202);
  await settled(d);
  await waitFor('a pending item', async () => (await dlq('?status=pending')).items.length === 1);
  const purge = await api(d, 'DELETE', '/api/v1/dlq?older_than=0');
  assert.equal(purge.status, 200);
  assert.equal(purge.json.deleted, 3, 'the two recovered and the one failed');
  const left = (await dlq()).items;
  assert.equal(left.length, 1);
  assert.ok(['pending', 'retrying', 'failed'].includes(left[0].status));
  assert.equal((await api(d, 'DELETE', '/api/v1/dlq')).status, 400, 'older_than is required');
  assert.equal(cli('purge', '--older-than', '30d').status, 0);
  await poisonOff(d);
});

test('bad parameters are refused with 400 and a message', async () => {
  for (const q of ['?status=bogus', '?limit=0', '?limit=1001', '?after_id=-1', '?what=1']) {
    const r = await api(d, 'GET', `/api/v1/dlq${q}`);
    assert.equal(r.status, 400, q);
    assert.equal(r.json.error.code, 'invalid_parameter');
  }
  assert.equal(cli('list', '--status').status, 2);
  assert.equal(cli('frobnicate').status, 2);
});

test('/api/v1/status and /metrics show the dead letter queue', async () => {
  const st = await waitFor('dlq stats in the status', async () => {
    const s = (await api(d, 'GET', '/api/v1/status')).json;
    return s.dlq.total_pending !== undefined ? s : null;
  });
  assert.ok(st.writer.dead_lettered >= 4);
  const m = (await api(d, 'GET', '/metrics')).text;
  assert.match(m, /telltale_events_dead_lettered_total [1-9]/);
  assert.match(m, /telltale_dlq_items\{status="pending"\}/);
  await d.stop();
});
