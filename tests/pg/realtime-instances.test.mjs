// realtime-instances.test.mjs -- several telltale instances on one PostgreSQL, watched through
// the official supabase-js Realtime client: a subscriber on one instance receives what is
// ingested at the others, every row once, in seq order (DESIGN §5, Realtime). The rows reach
// it through the LISTEN/NOTIFY change feed and are read back from the database.
//
// The server is $TT_PG_URL (scripts/with-pg), or one started for this file (lib/pg.mjs).

import assert from 'node:assert/strict';
import { after } from 'node:test';
import { testServer } from './lib/pg.mjs';

process.env.TT_PG_URL ??= testServer().url; // before the daemon helpers read it
process.env.TELLTALE_TEST_STORE = 'postgres';
const { Daemon, api, createPgDatabase, settled, sleep, test, uid } =
  await import('../integration/lib/daemon.mjs');
const { VSNS, client, collected, subscribe } = await import('../supabase/lib.mjs');

const EVENTS = { event: 'INSERT', schema: 'monitoring', table: 'monitoring_events' };
const daemons = [];
const clients = [];
after(async () => {
  await Promise.all(clients.map((c) => c.removeAllChannels()));
  for (const d of daemons) {
    await d.cleanup();
  }
});

test('a subscriber on one instance receives every event ingested at the other two', { timeout: 120_000 }, async () => {
  const store = await createPgDatabase();
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) =>
    Daemon.start({ store, label: `instance-${n}` })));
  daemons.push(a, b, c);
  const got = VSNS.map(() => []);
  for (const [i, vsn] of VSNS.entries()) {
    const sc = client(a, { vsn });
    clients.push(sc);
    await subscribe(sc.channel(`all-${vsn}`).on('postgres_changes', EVENTS, (p) => got[i].push(p.new)));
  }
  const acked = [];
  await Promise.all([b, c].map(async (d) => {
    for (let round = 0; round < 20; round++) {
      const events = Array.from({ length: 1 + (round % 7) }, () => ({ id: uid(d.label), type: 'multi', source: d.label }));
      const r = await api(d, 'POST', '/api/v1/events', { json: events });
      assert.equal(r.status, 202, r.text);
      acked.push(...events.map((e) => e.id));
    }
  }));
  await Promise.all([b, c].map((d) => settled(d)));
  for (const list of got) {
    await collected(list, acked.length, 'rows from the other instances', 20_000);
  }
  await sleep(300);
  for (const list of got) {
    assert.equal(list.length, acked.length, 'each row once');
    assert.deepEqual(new Set(list.map((r) => r.id)), new Set(acked));
    assert.ok(list.every((r, i) => i === 0 || r.seq > list[i - 1].seq), 'in seq order');
    assert.deepEqual(new Set(list.map((r) => r.source)), new Set(['instance-b', 'instance-c']));
  }
  const status = await api(a, 'GET', '/api/v1/status');
  assert.equal(status.json.change_feed.kind, 'listen-notify');
  assert.ok(status.json.realtime.messages >= 2 * acked.length, JSON.stringify(status.json.realtime));
});

test('broadcast and presence stay on the instance the client is connected to', async () => {
  const store = await createPgDatabase();
  const [a, b] = await Promise.all(['a', 'b'].map((n) => Daemon.start({ store, label: `peer-${n}` })));
  daemons.push(a, b);
  const [ca, cb, ca2, cb2] = [a, b, a, b].map((d) => client(d));
  clients.push(ca, cb, ca2, cb2);
  const topic = uid('room');
  const atB = [];
  const atA2 = [];
  const sender = ca.channel(topic);
  await subscribe(sender);
  await subscribe(cb.channel(topic).on('broadcast', { event: '*' }, (p) => atB.push(p.event)));
  await subscribe(ca2.channel(topic).on('broadcast', { event: 'hi' }, (p) => atA2.push(p)));
  const senderOnB = cb2.channel(topic);
  await subscribe(senderOnB);
  assert.equal(await sender.send({ type: 'broadcast', event: 'hi', payload: { n: 1 } }), 'ok');
  await collected(atA2, 1, 'the broadcast on the same instance');
  // A later broadcast on B is the barrier: once it is heard there, so would A's have been.
  assert.equal(await senderOnB.send({ type: 'broadcast', event: 'barrier', payload: {} }), 'ok');
  await collected(atB, 1, 'the barrier at B');
  assert.deepEqual(atB, ['barrier'], 'documented: broadcasts do not cross instances');
});
