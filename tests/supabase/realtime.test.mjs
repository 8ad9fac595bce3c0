// realtime.test.mjs -- telltale's /realtime/v1/websocket driven by the official supabase-js
// client, with both serializers it speaks: vsn 2.0.0 (its default) and 1.0.0. Runs against
// SQLite by default and PostgreSQL with TELLTALE_TEST_STORE=postgres (see the Makefile).

import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';

import { Daemon, api, post, settled, sleep, test, uid, waitFor } from '../integration/lib/daemon.mjs';
import { RawRealtime, VSNS, client, collected, freePort, subscribe } from './lib.mjs';

const EVENTS = { event: 'INSERT', schema: 'monitoring', table: 'monitoring_events' };

// Events of one test: unique types keep tests apart on a shared daemon.
function batch(type, n, extra = {}) {
  return Array.from({ length: n }, (_, i) => ({ id: uid(type), type, value: i, ...extra }));
}

async function accepted(d, events) {
  const r = await post(d, events);
  assert.equal(r.status, 202, r.text);
}

for (const vsn of VSNS) {
  describe(`postgres_changes with vsn ${vsn}`, () => {
    let d;
    const clients = [];
    before(async () => {
      d = await Daemon.start({ label: `telltale (vsn ${vsn})` });
    });
    after(async () => {
      await Promise.all(clients.map((c) => c.removeAllChannels()));
      await d?.stop();
      await d?.cleanup();
    });
    const open = (opts) => {
      const c = client(d, { vsn, ...opts });
      clients.push(c);
      return c;
    };

    test('a subscriber receives exactly the committed events, in order, as rows', async () => {
      const got = [];
      const ch = open().channel(uid('all')).on('postgres_changes', EVENTS, (p) => got.push(p));
      await subscribe(ch);
      const type = `t${vsn[0]}.all`;
      const sent = batch(type, 25, { source: 'svc', attrs: { k: 'v', n: 1 } });
      await accepted(d, sent.slice(0, 10));
      await accepted(d, sent.slice(10));
      await collected(got, 25, 'changes');
      await sleep(200); // anything extra would have come by now, with the last of them
      assert.equal(got.length, 25, 'no more than what was sent');
      assert.deepEqual(got.map((p) => p.new.id), sent.map((e) => e.id));
      const seqs = got.map((p) => p.new.seq);
      assert.ok(seqs.every((s, i) => Number.isInteger(s) && (i === 0 || s > seqs[i - 1])),
                `seqs ascend: ${seqs}`);
      const p = got[3];
      assert.equal(p.schema, 'monitoring');
      assert.equal(p.table, 'monitoring_events');
      assert.equal(p.eventType, 'INSERT');
      assert.equal(p.errors, null);
      assert.match(p.commit_timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.deepEqual(p.old, {});
      assert.equal(p.new.type, type);
      assert.equal(p.new.source, 'svc');
      assert.equal(p.new.value, 3);
      assert.equal(p.new.session_id, null);
      assert.deepEqual(p.new.attrs, { k: 'v', n: 1 });
      assert.match(p.new.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$/);
      // The same rows as the HTTP API has them.
      const stored = await api(d, 'GET', `/api/v1/events?type=${type}&limit=100`);
      assert.deepEqual(stored.json.events.map((e) => e.seq).reverse(), seqs);
    });

    test('a filter passes only matching rows; bindings get their own ids', async () => {
      const type = `t${vsn[0]}.filter`;
      const byType = [];
      const byValue = [];
      const inList = [];
      const ch = open().channel(uid('filter'))
        .on('postgres_changes', { ...EVENTS, filter: `source=eq.${type}-a` }, (p) => byType.push(p.new))
        .on('postgres_changes', { ...EVENTS, event: '*', filter: 'value=gte.1000' }, (p) => byValue.push(p.new))
        .on('postgres_changes', { ...EVENTS, filter: `source=in.(${type}-b,${type}-c)` }, (p) => inList.push(p.new));
      await subscribe(ch);
      await accepted(d, [
        { id: uid(), type, source: `${type}-a`, value: 1 },
        { id: uid(), type, source: `${type}-b`, value: 1000 },
        { id: uid(), type, source: `${type}-c`, value: 2 },
        { id: uid(), type, source: `${type}-d`, value: 999.5 },
        { id: uid(), type, source: `${type}-a`, value: 5000 },
      ]);
      await collected(byType, 2, 'source=eq rows');
      await collected(byValue, 2, 'value=gte rows');
      await collected(inList, 2, 'source=in rows');
      await sleep(200);
      assert.deepEqual(byType.map((r) => r.value), [1, 5000]);
      assert.deepEqual(byValue.map((r) => r.source), [`${type}-b`, `${type}-a`]);
      assert.deepEqual(inList.map((r) => r.source), [`${type}-b`, `${type}-c`]);
    });

    test('a join may start after a seq: the missed rows first, then the live tail', async () => {
      const type = `t${vsn[0]}.resume`;
      const early = batch(type, 30);
      await accepted(d, early);
      const stored = await api(d, 'GET', `/api/v1/events?type=${type}&limit=100`);
      const seqs = stored.json.events.map((e) => e.seq).reverse();
      const from = seqs[9]; // the client saw the first ten
      const got = [];
      const binding = { ...EVENTS, filter: `type=eq.${type}`, after_seq: from };
      const ch = open().channel(uid('resume')).on('postgres_changes', binding, (p) => got.push(p.new));
      await subscribe(ch);
      const late = batch(type, 10);
      await accepted(d, late);
      await collected(got, 30, 'missed and live rows');
      await sleep(200);
      assert.deepEqual(got.map((r) => r.id), [...early.slice(10), ...late].map((e) => e.id));
    });

    test('broadcast reaches the other clients on the topic; self and ack as configured', async () => {
      const topic = uid('room');
      const heardA = [];
      const heardB = [];
      const a = open().channel(topic, { config: { broadcast: { self: false, ack: true } } })
        .on('broadcast', { event: 'note' }, (p) => heardA.push(p));
      const b = open().channel(topic, { config: { broadcast: { self: true } } })
        .on('broadcast', { event: 'note' }, (p) => heardB.push(p));
      await Promise.all([subscribe(a), subscribe(b)]);
      assert.equal(await a.send({ type: 'broadcast', event: 'note', payload: { from: 'a' } }), 'ok');
      assert.equal(await b.send({ type: 'broadcast', event: 'note', payload: { from: 'b', n: [1, 2] } }), 'ok');
      await collected(heardB, 2, 'broadcasts at b');
      await collected(heardA, 1, 'broadcasts at a');
      await sleep(200);
      assert.deepEqual(heardA.map((p) => p.payload), [{ from: 'b', n: [1, 2] }], 'a does not hear itself');
      assert.deepEqual(heardB.map((p) => p.payload).sort((x, y) => x.from.localeCompare(y.from)),
                       [{ from: 'a' }, { from: 'b', n: [1, 2] }], 'b hears both (self: true)');
      assert.equal(heardA[0].event, 'note');
      assert.equal(heardA[0].type, 'broadcast');
    });

    test('presence: track, the state a joiner sees, untrack, and leaving', async () => {
      const topic = uid('lobby');
      const a = open().channel(topic, { config: { presence: { key: 'alice' } } });
      const b = open().channel(topic, { config: { presence: { key: 'bob' } } });
      const leftAtB = [];
      a.on('presence', { event: 'sync' }, () => {});
      b.on('presence', { event: 'sync' }, () => {}).on('presence', { event: 'leave' }, (p) => leftAtB.push(p.key));
      await subscribe(a);
      assert.equal(await a.track({ page: 'dashboard' }), 'ok');
      await subscribe(b);
      await waitFor('bob to see alice', () => b.presenceState().alice?.[0]?.page === 'dashboard');
      assert.equal(await b.track({ page: 'events' }), 'ok');
      await waitFor('alice to see bob', () => a.presenceState().bob?.[0]?.page === 'events');
      assert.equal(await a.track({ page: 'flags' }), 'ok'); // a new track replaces the old
      await waitFor('bob to see alice move', () =>
        b.presenceState().alice?.length === 1 && b.presenceState().alice[0].page === 'flags');
      assert.equal(await a.untrack(), 'ok');
      await waitFor('alice gone at bob', () => b.presenceState().alice === undefined);
      assert.equal(await a.track({ page: 'back' }), 'ok');
      await waitFor('alice back at bob', () => b.presenceState().alice?.[0]?.page === 'back');
      await a.unsubscribe(); // leaving the channel takes its presence with it
      await waitFor('alice gone after leaving', () => b.presenceState().alice === undefined);
      assert.ok(leftAtB.includes('alice'));
      assert.deepEqual(Object.keys(b.presenceState()), ['bob']);
    });

    test('unsubscribe leaves the channel: no more rows for it', async () => {
      const type = `t${vsn[0]}.leave`;
      const got = [];
      const c = open();
      const ch = c.channel(uid('leave')).on('postgres_changes', { ...EVENTS, filter: `type=eq.${type}` },
                                            (p) => got.push(p.new));
      await subscribe(ch);
      await accepted(d, batch(type, 2));
      await collected(got, 2, 'rows before leaving');
      assert.equal(await ch.unsubscribe(), 'ok');
      await accepted(d, batch(type, 3));
      await settled(d); // stored, not only spooled: their seqs are known
      const last = (await api(d, 'GET', `/api/v1/events?type=${type}&limit=1`)).json.events[0].seq;
      await waitFor('the rows to be streamed past the left channel', async () =>
        (await api(d, 'GET', '/api/v1/status')).json.realtime.delivered_seq >= last);
      assert.equal(got.length, 2);
    });
  });
}

describe('a daemon restart', () => {
  for (const vsn of VSNS) {
    test(`the client reconnects and, with after_seq, gets what it missed (vsn ${vsn})`, { timeout: 90_000 }, async () => {
      const port = await freePort();
      const d = await Daemon.start({ label: `telltale (restart, vsn ${vsn})`, args: ['--listen', `127.0.0.1:${port}`] });
      const c = client(d, { vsn });
      try {
        const got = [];
        // The app keeps after_seq in its binding up to date; realtime-js sends the binding
        // objects again when it rejoins, so the rejoin asks for what came after.
        const binding = { ...EVENTS, after_seq: 0 };
        const ch = c.channel('restart').on('postgres_changes', binding, (p) => {
          got.push(p.new);
          binding.after_seq = p.new.seq;
        });
        await subscribe(ch);
        const before = batch('restart', 10);
        await accepted(d, before);
        await collected(got, 10, 'rows before the restart');
        await d.stop();
        await d.restart();
        const during = batch('restart', 15); // most likely before the client is back
        await accepted(d, during);
        await waitFor('the channel to rejoin', () => ch.statuses.filter((s) => s === 'SUBSCRIBED').length >= 2,
                      { timeoutMs: 30_000 });
        const afterwards = batch('restart', 5);
        await accepted(d, afterwards);
        await collected(got, 30, 'every row, missed ones included', 30_000);
        await sleep(300);
        assert.deepEqual(got.map((r) => r.id), [...before, ...during, ...afterwards].map((e) => e.id),
                         'no gap, no duplicate');
      } finally {
        await c.removeAllChannels();
        await d.stop();
        await d.cleanup();
      }
    });
  }
});

describe('binary broadcasts', () => {
  test('a binary payload reaches 2.0.0 clients as bytes; 1.0.0 clients cannot receive it', async () => {
    const d = await Daemon.start({ label: 'telltale (binary)' });
    const [sender, v2, v1] = ['2.0.0', '2.0.0', '1.0.0'].map((vsn) => client(d, { vsn }));
    try {
      const topic = uid('bytes');
      const heard2 = [];
      const heard1 = [];
      const s = sender.channel(topic, { config: { broadcast: { ack: true } } });
      const r2 = v2.channel(topic).on('broadcast', { event: '*' }, (p) => heard2.push(p));
      const r1 = v1.channel(topic).on('broadcast', { event: '*' }, (p) => heard1.push(p));
      await Promise.all([subscribe(s), subscribe(r2), subscribe(r1)]);
      const bytes = new Uint8Array([0, 1, 2, 250, 255]);
      assert.equal(await s.send({ type: 'broadcast', event: 'blob', payload: bytes.buffer }), 'ok');
      assert.equal(await s.send({ type: 'broadcast', event: 'json', payload: { after: 'blob' } }), 'ok');
      await collected(heard2, 2, 'broadcasts at the 2.0.0 client');
      await collected(heard1, 1, 'broadcasts at the 1.0.0 client');
      assert.equal(heard2[0].event, 'blob');
      assert.deepEqual([...new Uint8Array(heard2[0].payload)], [...bytes]);
      assert.deepEqual(heard2[1].payload, { after: 'blob' });
      assert.deepEqual(heard1.map((p) => p.event), ['json'], 'only the JSON one at 1.0.0');
    } finally {
      await Promise.all([sender, v2, v1].map((c) => c.removeAllChannels()));
      await d.stop();
      await d.cleanup();
    }
  });
});

describe('a queue of 64 KiB per client', () => {
  let d;
  before(async () => {
    d = await Daemon.start({ label: 'telltale (small queue)', env: { TELLTALE_WS_MAX_BUFFER: '64KiB' } });
  });
  after(async () => {
    await d?.stop();
    await d?.cleanup();
  });

  test('a catch-up larger than the queue is paced by the client, not dropped', { timeout: 90_000 }, async () => {
    const type = 'big.history';
    const padding = 'x'.repeat(1000);
    const history = batch(type, 1500, { attrs: { padding } }); // ~3.5 MB as Realtime rows
    for (let i = 0; i < history.length; i += 500) {
      await accepted(d, history.slice(i, i + 500));
    }
    const c = client(d);
    try {
      const got = [];
      const ch = c.channel('history').on('postgres_changes',
        { ...EVENTS, filter: `type=eq.${type}`, after_seq: 0 }, (p) => got.push(p.new.id));
      await subscribe(ch);
      await collected(got, 1500, 'the whole history', 60_000);
      assert.deepEqual(got, history.map((e) => e.id));
      assert.deepEqual(ch.statuses, ['SUBSCRIBED'], 'never dropped');
    } finally {
      await c.removeAllChannels();
    }
  });

  test('a client that stops reading is closed with 1008; the daemon goes on', { timeout: 60_000 }, async () => {
    const r = await RawRealtime.open(d);
    r.send(['1', '1', 'realtime:slow', 'phx_join', { config: { postgres_changes: [{ ...EVENTS, filter: 'type=eq.slow' }] } }]);
    await r.next('the join reply', (m) => m[1] === '1');
    r.ws._socket.pause(); // reads nothing from now on
    const before = (await api(d, 'GET', '/api/v1/status')).json.websocket.slow_dropped;
    const padding = 'y'.repeat(2000);
    await waitFor('the slow client to be dropped', async () => {
      await accepted(d, batch('slow', 200, { attrs: { padding } }));
      return (await api(d, 'GET', '/api/v1/status')).json.websocket.slow_dropped > before;
    }, { timeoutMs: 30_000, intervalMs: 50 });
    r.ws._socket.resume();
    await waitFor('the close frame', () => r.closed, { timeoutMs: 15_000 });
    assert.equal(r.closed.code, 1008);
    assert.equal(r.closed.reason, 'slow consumer');
    assert.equal((await api(d, 'GET', '/health')).status, 200);
  });
});
