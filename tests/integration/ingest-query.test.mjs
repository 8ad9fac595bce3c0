// ingest-query.test.mjs -- POST /api/v1/events in its three body formats, and every filter of
// GET /api/v1/events (DESIGN §2, §5 HTTP), against the real daemon on a temporary SQLite file.

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, api, post, allEvents, test, uid } from './lib/daemon.mjs';

let d;

before(async () => {
  d = await Daemon.start({ label: 'ingest-query' });
});

after(async () => {
  await d?.cleanup();
});

const query = async (qs) => {
  const r = await api(d, 'GET', `/api/v1/events${qs}`);
  assert.equal(r.status, 200, `GET /api/v1/events${qs}: ${r.text}`);
  return r.json;
};

const seqsOf = (events) => events.map((e) => e.seq);
const idsOf = (events) => events.map((e) => e.id);

// Fixed event times far from now, so time filters select exactly the fixture.
const T0 = Date.UTC(2030, 0, 1, 0, 0, 0); // 2030-01-01T00:00:00.000Z

test('POST a JSON object: 202 {"accepted":1}, and every field reads back as sent', async () => {
  const ev = {
    id: uid('obj'), ts: '2030-01-01T00:00:00.123Z', type: 'tool_call', source: 'kimi',
    session_id: 'sess-obj', name: 'search', status: 'ok', duration_ms: 12.5, bytes: 2048,
    value: -3.25, error: 'none really', attrs: { model: 'k2', nested: { list: [1, 'two', null] } },
  };
  const r = await post(d, ev);
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.accepted, 1);
  assert.equal(r.json.duplicates, 0);
  const got = (await allEvents(d)).find((e) => e.id === ev.id);
  assert.ok(got, 'the event is stored');
  assert.ok(Number.isSafeInteger(got.seq) && got.seq > 0, `seq ${got.seq}`);
  assert.ok(!Number.isNaN(Date.parse(got.received_at)), `received_at ${got.received_at}`);
  for (const k of Object.keys(ev)) {
    assert.deepEqual(got[k], ev[k], `field ${k}`);
  }
});

test('POST a JSON array: 202 {"accepted":N}, stored in order with increasing seq', async () => {
  const evs = Array.from({ length: 25 }, (_, i) => ({ id: uid('arr'), type: 'request', name: `r${i}` }));
  const r = await post(d, evs);
  assert.equal(r.status, 202, r.text);
  assert.deepEqual(r.json, { accepted: 25, duplicates: 0 });
  const stored = (await allEvents(d)).filter((e) => e.id.startsWith('arr-'));
  assert.deepEqual(idsOf(stored), idsOf(evs));
  const seqs = seqsOf(stored);
  assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]), `seqs increase: ${seqs}`);
});

test('POST NDJSON (application/x-ndjson): 202 {"accepted":N}; blank lines are skipped', async () => {
  const evs = Array.from({ length: 7 }, (_, i) => ({ id: uid('nd'), type: 'metric', value: i }));
  const body = `${evs.slice(0, 3).map((e) => JSON.stringify(e)).join('\n')}\n\n  \n` +
               `${evs.slice(3).map((e) => JSON.stringify(e)).join('\r\n')}\n`;
  const r = await api(d, 'POST', '/api/v1/events',
                      { body, headers: { 'content-type': 'application/x-ndjson' } });
  assert.equal(r.status, 202, r.text);
  assert.deepEqual(r.json, { accepted: 7, duplicates: 0 });
  const stored = (await allEvents(d)).filter((e) => e.id.startsWith('nd-'));
  assert.deepEqual(idsOf(stored), idsOf(evs));
  assert.deepEqual(stored.map((e) => e.value), [0, 1, 2, 3, 4, 5, 6]);
});

test('an event without id gets a server-generated UUIDv7, unique per event', async () => {
  const r = await post(d, [{ type: 'noid', source: 'gen' }, { type: 'noid', source: 'gen' }]);
  assert.equal(r.status, 202, r.text);
  const got = (await query('?type=noid')).events;
  assert.equal(got.length, 2);
  for (const e of got) {
    assert.match(e.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  }
  assert.notEqual(got[0].id, got[1].id);
});

// A fixture for the filters: ten events one second apart in 2030, with known fields.
const FIX = Array.from({ length: 10 }, (_, i) => ({
  id: `fix-${i}`,
  ts: T0 + i * 1000,
  type: i % 2 === 0 ? 'fx.even' : 'fx.odd',
  source: i < 5 ? 'fx-src-a' : 'fx-src-b',
  session_id: i % 3 === 0 ? 'fx-sess-3' : 'fx-sess-x',
  status: i === 4 || i === 7 ? 'error' : 'ok',
}));

test('GET ?after_seq=S: events after S, ascending, with next_after_seq', async () => {
  const r = await post(d, FIX);
  assert.equal(r.status, 202, r.text);
  const all = await allEvents(d);
  const fixSeqs = all.filter((e) => e.id.startsWith('fix-')).map((e) => e.seq);
  const S = fixSeqs[3];
  const page = await query(`?after_seq=${S}&limit=4`);
  assert.deepEqual(seqsOf(page.events), all.filter((e) => e.seq > S).slice(0, 4).map((e) => e.seq));
  assert.deepEqual(idsOf(page.events), ['fix-4', 'fix-5', 'fix-6', 'fix-7']);
  assert.equal(page.next_after_seq, page.events[3].seq);
  const rest = await query(`?after_seq=${page.next_after_seq}`);
  assert.deepEqual(idsOf(rest.events).slice(0, 2), ['fix-8', 'fix-9']);
  const beyond = await query(`?after_seq=${all[all.length - 1].seq}`);
  assert.deepEqual(beyond.events, []);
  assert.equal(beyond.next_after_seq, all[all.length - 1].seq, 'the cursor stays where it was');
});

test('GET without after_seq: newest first, limit default 100, no next_after_seq', async () => {
  const all = await allEvents(d);
  const newest = await query('?limit=3');
  assert.deepEqual(seqsOf(newest.events), seqsOf(all.slice(-3)).reverse());
  assert.equal(newest.next_after_seq, undefined);
  const dflt = await query('');
  assert.equal(dflt.events.length, Math.min(100, all.length));
  assert.deepEqual(seqsOf(dflt.events), seqsOf(all).reverse().slice(0, 100));
});

test('GET ?since= (inclusive) and ?until= (exclusive), RFC 3339 or epoch ms', async () => {
  const ids = (r) => idsOf(r.events).sort();
  assert.deepEqual(ids(await query(`?since=${T0 + 8000}`)), ['fix-8', 'fix-9']);
  assert.deepEqual(ids(await query('?since=2030-01-01T00:00:08Z')), ['fix-8', 'fix-9']);
  assert.deepEqual(ids(await query(`?type=fx.even&until=${T0 + 4000}`)), ['fix-0', 'fix-2']);
  assert.deepEqual(ids(await query(`?since=${T0 + 3000}&until=2030-01-01T00:00:07.000Z`)),
                   ['fix-3', 'fix-4', 'fix-5', 'fix-6']);
  assert.deepEqual((await query(`?since=${T0 + 5000}&until=${T0 + 5000}`)).events, []);
});

test('GET ?type= filters by type', async () => {
  const r = await query('?type=fx.odd');
  assert.deepEqual(idsOf(r.events), ['fix-9', 'fix-7', 'fix-5', 'fix-3', 'fix-1']);
  assert.deepEqual((await query('?type=fx.none')).events, []);
});

test('GET ?source= filters by source', async () => {
  const r = await query('?source=fx-src-b');
  assert.deepEqual(idsOf(r.events), ['fix-9', 'fix-8', 'fix-7', 'fix-6', 'fix-5']);
});

test('GET ?session_id= filters by session', async () => {
  const r = await query('?session_id=fx-sess-3');
  assert.deepEqual(idsOf(r.events), ['fix-9', 'fix-6', 'fix-3', 'fix-0']);
});

test('GET ?status= filters by status, and filters combine', async () => {
  assert.deepEqual(idsOf((await query('?status=error')).events), ['fix-7', 'fix-4']);
  const both = await query('?status=error&source=fx-src-a&type=fx.even&session_id=fx-sess-x');
  assert.deepEqual(idsOf(both.events), ['fix-4']);
  const asc = await query('?after_seq=0&status=ok&source=fx-src-b');
  assert.deepEqual(idsOf(asc.events), ['fix-5', 'fix-6', 'fix-8', 'fix-9']);
});

test('POST 10000 events in one request; GET ?limit=10000 returns 10000, ?limit=10001 is 400', async () => {
  const evs = Array.from({ length: 10_000 }, (_, i) => ({ id: `bulk-${i}`, type: 'bulk' }));
  const r = await post(d, evs);
  assert.equal(r.status, 202, r.text);
  assert.deepEqual(r.json, { accepted: 10_000, duplicates: 0 });
  assert.equal((await post(d, { id: 'bulk-last', type: 'bulk' })).status, 202);
  const all = await allEvents(d);
  assert.ok(all.length > 10_000, `${all.length} events stored`);
  const max = await query('?limit=10000');
  assert.equal(max.events.length, 10_000);
  assert.deepEqual(seqsOf(max.events), seqsOf(all).reverse().slice(0, 10_000));
  const asc = await query('?after_seq=0&limit=10000&type=bulk');
  assert.equal(asc.events.length, 10_000);
  assert.equal(asc.events[0].id, 'bulk-0');
  const over = await api(d, 'GET', '/api/v1/events?limit=10001');
  assert.equal(over.status, 400, over.text);
  assert.equal(over.json.error.code, 'invalid_parameter');
});

// A body of 32 KiB or more is parsed on a worker thread (API_PARSE_ON_WORKER_BYTES), a smaller
// one on the loop: both paths must answer alike, refusals and counters included.
const rejectedInvalid = async () => {
  const m = await api(d, 'GET', '/metrics');
  return Number(m.text.match(/^telltale_requests_rejected_total\{reason="invalid"\} (\d+)$/m)[1]);
};

for (const [size, n] of [['small (parsed on the loop)', 20], ['large (parsed on a worker)', 800]]) {
  test(`a ${size} body: NDJSON stored in order, a bad line refused with its index, a foreign type 415`, async () => {
    const tag = uid('w');
    const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ id: `${tag}-${i}`, type: 'worker', name: `n${i}`, attrs: { pad: 'x'.repeat(40) } }));
    const body = lines.join('\n') + '\n';
    assert.equal(body.length >= 32 * 1024, n === 800, `${body.length} bytes`);
    const ok = await api(d, 'POST', '/api/v1/events', { body, headers: { 'content-type': 'application/x-ndjson' } });
    assert.equal(ok.status, 202, ok.text);
    assert.deepEqual(ok.json, { accepted: n, duplicates: 0 });
    const stored = (await allEvents(d)).filter((e) => e.id.startsWith(`${tag}-`));
    assert.deepEqual(idsOf(stored), lines.map((l) => JSON.parse(l).id));

    const invalidBefore = await rejectedInvalid();
    const badAt = n - 7;
    const bad = lines.map((l, i) => (i === badAt ? '{"type":"worker","oops":1}' : l.replace(tag, `${tag}x`)));
    const refused = await api(d, 'POST', '/api/v1/events', { body: bad.join('\n'), headers: { 'content-type': 'application/x-ndjson' } });
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.json.error.index, badAt, refused.text);
    assert.match(refused.json.error.message, /unknown field 'oops'/);
    assert.equal(await rejectedInvalid(), invalidBefore + 1, 'counted as invalid');
    assert.equal((await allEvents(d)).filter((e) => e.id.startsWith(`${tag}x-`)).length, 0, 'nothing of it stored');

    const foreign = await api(d, 'POST', '/api/v1/events', { body, headers: { 'content-type': 'application/xml' } });
    assert.equal(foreign.status, 415, foreign.text);
    assert.equal(foreign.json.error.code, 'unsupported_media_type');
  });
}

test('a byte-order mark anywhere but the start of the body is invalid JSON, said where; inside a string it is a character', async () => {
  const BOM = '\uFEFF';
  const cases = [
    ['application/x-ndjson', `{"type":"a"}\n${BOM}{"type":"b"}\n`, 'line 2: a byte-order mark (U+FEFF) at byte 0 of the line: only allowed at the start of the body', 1],
    ['application/json', `[${BOM}{"type":"a"}]`, 'a byte-order mark (U+FEFF) at byte 1: only allowed at the start of the body', null],
    ['application/json', `${BOM}${BOM}{"type":"a"}`, 'a byte-order mark (U+FEFF) at byte 3: only allowed at the start of the body', null],
  ];
  for (const [type, body, message, index] of cases) {
    const r = await api(d, 'POST', '/api/v1/events', { body, headers: { 'content-type': type } });
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(r.json.error, { code: 'invalid_json', message, index });
  }
  const ev = { id: uid('bom'), type: 'bom', name: `${BOM}x`, attrs: { [BOM]: BOM } };
  const ok = await api(d, 'POST', '/api/v1/events', { body: `${BOM}${JSON.stringify(ev)}`, headers: { 'content-type': 'application/json' } });
  assert.equal(ok.status, 202, ok.text);
  const got = (await allEvents(d)).find((e) => e.id === ev.id);
  assert.deepEqual([got.name, got.attrs], [ev.name, ev.attrs], 'the marks inside strings kept as sent');
});

// The cursor is an int64 (DESIGN §5): it comes back exactly as an integer, never through a
// double (which rounds 9007199254740993 down to ...992 -- resuming there replays an event -- and
// writes 9223372036854775807 as 9.223372036854776e+18, which the route then refuses). JSON.parse
// would round it here too, so the text is read.
for (const S of ['9007199254740993', '123456789012345678', '9223372036854775807']) {
  test(`GET ?after_seq=${S}: next_after_seq is ${S} exactly, and sending it back is accepted`, async () => {
    const r = await api(d, 'GET', `/api/v1/events?after_seq=${S}`);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, new RegExp(`"next_after_seq":${S}[,}]`), r.text);
    const again = await api(d, 'GET', `/api/v1/events?after_seq=${r.text.match(/"next_after_seq":([^,}]*)/)[1]}`);
    assert.equal(again.status, 200, again.text);
    assert.match(again.text, new RegExp(`"next_after_seq":${S}[,}]`), again.text);
  });
}

for (const [qs, why] of [
  ['?after_seq=-1', 'negative after_seq'],
  ['?after_seq=abc', 'non-numeric after_seq'],
  ['?after_seq=1.5', 'fractional after_seq'],
  ['?after_seq=99999999999999999999', 'after_seq beyond 64 bits'],
  ['?limit=0', 'limit 0'],
  ['?limit=-5', 'negative limit'],
  ['?limit=ten', 'non-numeric limit'],
  ['?since=yesterday', 'unparseable since'],
  ['?until=2030-13-45T99:00:00Z', 'impossible until date'],
  ['?type=', 'empty type'],
  [`?source=${'s'.repeat(65)}`, 'source longer than 64'],
  [`?session_id=${'s'.repeat(129)}`, 'session_id longer than 128'],
  ['?colour=red', 'unknown parameter'],
]) {
  test(`GET /api/v1/events${qs.length > 40 ? qs.slice(0, 40) + '…' : qs} (${why}) → 400 invalid_parameter`, async () => {
    const r = await api(d, 'GET', `/api/v1/events${qs}`);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json?.error?.code, 'invalid_parameter', r.text);
    assert.equal(typeof r.json.error.message, 'string');
  });
}

test('the daemon exits with code 0 on SIGTERM', async () => {
  await d.stop();
});
