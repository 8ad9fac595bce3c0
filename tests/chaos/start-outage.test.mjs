// start-outage.test.mjs -- `telltale serve` started while PostgreSQL is down (issue 15): it starts,
// reads that need the store answer 503 store_unavailable with Retry-After, ingest is acknowledged
// into the spool, and once PostgreSQL is started the spool ships: every acknowledged event stored
// once (0 lost, 0 duplicated, nothing unsent). And the schema version is checked once the store
// answers: on a database not migrated, the events wait in the spool (none dead-lettered) until
// `telltale migrate` is run.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after } from 'node:test';
import { BIN, Ledger, api, test } from '../integration/lib/daemon.mjs';
import { connect, createDatabase, migrate } from '../pg/lib/pg.mjs';
import {
  Daemon, FAST_ARGS, compare, describe, drained, freshDatabase, pgServer, status, storedIds, waitFor,
} from './lib/harness.mjs';
import { Producers } from './lib/producer.mjs';

const CASE_TIMEOUT = 180_000;
const cleanups = [];
after(async () => {
  for (const fn of cleanups.reverse()) {
    await fn().catch(() => {});
  }
});

test('serve starts with PostgreSQL stopped, spools ingest, ships it once PostgreSQL starts', { timeout: CASE_TIMEOUT }, async () => {
  const srv = pgServer();
  const db = await freshDatabase('startdown');
  cleanups.push(() => db.drop());
  srv.down();
  let up = false;
  cleanups.push(async () => up || srv.up());
  const d = await Daemon.start({ store: db.url, args: FAST_ARGS, label: 'telltale (start down)' });
  cleanups.push(() => d.cleanup());
  assert.match(d.stderr, /PostgreSQL unreachable at start-up/);

  // Reads that need the store: refused, with when to retry.
  const read = await api(d, 'GET', '/api/v1/events');
  assert.equal(read.status, 503, JSON.stringify(read.json));
  assert.equal(read.json.error.code, 'store_unavailable');
  assert.ok(Number(read.headers.get('retry-after')) > 0);
  // Ready for ingest (it goes to the spool), and /ready says the store is not reachable.
  const ready = await api(d, 'GET', '/ready');
  assert.equal(ready.status, 200, JSON.stringify(ready.json));
  assert.equal(ready.json.store, 'unavailable');

  const ledger = new Ledger();
  const producers = new Producers({ daemon: d, ledger, tag: 'startdown', http: 2, ws: 1, batch: 20,
                                    rate: 1000 }).start();
  try {
    assert.ok(await producers.acked(1000) >= 1000, 'ingest acknowledged while PostgreSQL is down');
    const during = await status(d);
    assert.ok(during.spool.events > 0, `the spool holds the backlog: ${JSON.stringify(during.spool)}`);
    assert.equal(during.spool.waiting_for_store, true);
    srv.up();
    up = true;
    const want = producers.stats.acked + 1000;
    assert.ok(await producers.acked(want) >= want, 'ingest goes on once PostgreSQL is up');
  } finally {
    await producers.stop();
  }
  const st = await drained(d, 'start during an outage');
  assert.equal((await api(d, 'GET', '/ready')).json.store, 'available', 'once shipped');
  assert.equal(st.breaker.state, 'closed');
  assert.equal(st.store.schema_version > 0, true, 'the schema version was checked once reachable');
  const c = compare(ledger, await storedIds(db));
  assert.ok(c.lost.length === 0 && c.duplicated.length === 0 && c.unsent.length === 0, describe(c));
  assert.ok(c.acked >= 2000);
  const dlq = await db.query('SELECT count(*)::int AS n FROM monitoring.dead_letter_queue');
  assert.equal(dlq[0].n, 0, 'an outage never dead-letters an event');
  assert.deepEqual(producers.stats.unexpected, []);
  await d.stop();
});

test('down at start on a database never migrated: the events wait in the spool until migrate', { timeout: CASE_TIMEOUT }, async () => {
  const srv = pgServer();
  const db = await createDatabase(srv, 'startdown_nomig');
  cleanups.push(() => db.drop());
  db.query = async (sql) => {
    const c = await connect(db.url);
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  };
  srv.down();
  let up = false;
  cleanups.push(async () => up || srv.up());
  const d = await Daemon.start({ store: db.url, args: FAST_ARGS, label: 'telltale (not migrated)' });
  cleanups.push(() => d.cleanup());
  const ids = Array.from({ length: 50 }, (_, i) => `nomig-${i}`);
  const r = await api(d, 'POST', '/api/v1/events', { json: ids.map((id) => ({ id, type: 'x' })) });
  assert.equal(r.status, 202, JSON.stringify(r.json));
  srv.up();
  up = true;
  // Reachable now, but the wrong schema: the writer says what to run and keeps the events.
  await waitFor('the schema mismatch in the log', async () => /telltale migrate/.test(d.stderr) && /schema is at version 0/.test(d.stderr));
  const held = await status(d);
  assert.equal(held.spool.events, 50, `held in the spool: ${JSON.stringify(held.spool)}`);
  assert.equal((await api(d, 'GET', '/ready')).json.store, 'unavailable', 'a schema not migrated');
  const m = await migrate(db.url);
  assert.equal(m.code, 0, m.stderr);
  await drained(d, 'after migrate');
  assert.equal((await api(d, 'GET', '/ready')).json.store, 'available', 'migrated and shipped');
  const c = await db.query('SELECT count(*)::int AS n FROM monitoring.monitoring_events');
  assert.equal(c[0].n, 50);
  const dlq = await db.query('SELECT count(*)::int AS n FROM monitoring.dead_letter_queue');
  assert.equal(dlq[0].n, 0);
  await d.stop();
});

// A server that answers and refuses is not an outage: a typo in the store URL stops the start
// (exit 1) with the server's reason, instead of a daemon that spools for ever.
test('a store URL the server refuses (no such database, no such role) stops the start', async () => {
  const base = new URL(process.env.TT_PG_URL);
  const cases = [
    [Object.assign(new URL(base), { pathname: '/telltale_no_such_db' }), /3D000: database "telltale_no_such_db" does not exist; check the user, password and database of the store URL/],
    [Object.assign(new URL(base), { username: 'telltale_no_such_role' }), /28000: role "telltale_no_such_role" does not exist/],
  ];
  for (const [url, says] of cases) {
    const r = spawnSync(BIN, ['serve', '--store', url.href, '--listen', '127.0.0.1:0'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1, `${url.href}: ${r.stderr}`);
    assert.match(r.stderr, says);
    assert.doesNotMatch(r.stderr, /starting anyway/);
  }
});

// An outage with no ingest at all still shows: /ready says the store is unavailable (the change
// feed's and housekeeping's connection attempts fail), and available again once it is back;
// the housekeeping failures are warned once, not twice a second.
test('an idle outage: /ready store unavailable within seconds, available after; warned once', { timeout: CASE_TIMEOUT }, async () => {
  const srv = pgServer();
  const db = await freshDatabase('idleout');
  cleanups.push(() => db.drop());
  const d = await Daemon.start({ store: db.url, args: FAST_ARGS, label: 'telltale (idle outage)' });
  cleanups.push(() => d.cleanup());
  const store = async () => (await api(d, 'GET', '/ready')).json.store;
  assert.equal(await store(), 'available');
  srv.down();
  let up = false;
  cleanups.push(async () => up || srv.up());
  await waitFor('/ready to say the store is unavailable', async () => await store() === 'unavailable');
  await new Promise((r) => setTimeout(r, 3000)); // several housekeeping rounds
  const warned = d.stderr.match(/dead letter recovery: /g) ?? [];
  assert.ok(warned.length <= 1, `dead letter recovery warned ${warned.length} times`);
  srv.up();
  up = true;
  await waitFor('/ready to say the store is available again', async () => await store() === 'available');
  await d.stop();
});
