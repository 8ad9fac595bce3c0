// dlq-concurrency.test.mjs -- dlq_claim_due from two sessions at once (DESIGN §3: "FOR UPDATE
// SKIP LOCKED, so two instances never replay the same item"). Two pg clients are two backends,
// as two telltale instances would be.
//
// The races are run many times, but the proof does not rest on luck: in the second part one
// session holds its claim's transaction open while the other claims, so a claim that waited
// for the locks (FOR UPDATE without SKIP LOCKED) or ignored them (no FOR UPDATE) is caught
// every time. lock_timeout bounds any wait; it is a deadline, not an assertion about speed.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { migratedDatabase } from './lib/pg.mjs';

const db = await migratedDatabase('dlq_concurrency');
const { admin } = db;
const ITEMS = 200;

// Sessions A and B.
const a = await db.connect();
const b = await db.connect();
for (const c of [a, b]) {
  // Waiting for the other session's row locks is the failure being looked for: fail fast.
  await c.query("SET lock_timeout = '5s'");
}

// Empties the queue and adds n items, all due (next_retry_at in the past, all different).
async function seed(n) {
  await admin.query('DELETE FROM monitoring.dead_letter_queue');
  const { rows } = await admin.query(
    `INSERT INTO monitoring.dead_letter_queue (original_payload, failure_reason, next_retry_at)
     SELECT jsonb_build_object('n', i), 'rejected', now() - i * interval '1 second'
       FROM generate_series(1, $1) i
     RETURNING id`,
    [n],
  );
  return rows.map((r) => r.id).sort((x, y) => x - y);
}

const claim = async (c, limit) =>
  (await c.query('SELECT id FROM monitoring.dlq_claim_due($1)', [limit])).rows.map((r) => r.id);
const sorted = (xs) => [...xs].sort((x, y) => x - y);

function assertDisjoint(x, y, what) {
  const ys = new Set(y);
  const both = x.filter((id) => ys.has(id));
  assert.deepEqual(both, [], `${what}: claimed by both sessions`);
}

describe('two sessions claiming at the same time', () => {
  // A worker: claim a batch, replay it (here: mark each recovered), repeat until nothing is
  // due. With txn, claim and replay are one transaction, as a worker holding its batch would
  // do; without, each call commits on its own.
  async function worker(c, limit, txn) {
    const mine = [];
    for (;;) {
      if (txn) {
        await c.query('BEGIN');
      }
      const got = await claim(c, limit);
      for (const id of got) {
        await c.query('SELECT monitoring.dlq_mark_recovered($1)', [id]);
      }
      if (txn) {
        await c.query('COMMIT');
      }
      mine.push(...got);
      if (got.length === 0) {
        return mine;
      }
    }
  }

  const RUNS = [
    { limit: 1, txn: true },
    { limit: 7, txn: true },
    { limit: 7, txn: false },
    { limit: 50, txn: true },
  ];
  for (const { limit, txn } of RUNS) {
    test(`${ITEMS} due items, limit ${limit}, ${txn ? 'in' : 'without'} transactions: ` +
         'no item twice, every item once', async () => {
      const all = await seed(ITEMS);
      const [x, y] = await Promise.all([worker(a, limit, txn), worker(b, limit, txn)]);
      assert.equal(new Set(x).size, x.length, 'session A claimed an item twice');
      assert.equal(new Set(y).size, y.length, 'session B claimed an item twice');
      assertDisjoint(x, y, `limit ${limit}`);
      assert.deepEqual(sorted([...x, ...y]), all);
      const { rows } = await admin.query(`SELECT status, count(*) AS n
                                            FROM monitoring.dead_letter_queue GROUP BY status`);
      assert.deepEqual(rows, [{ status: 'recovered', n: ITEMS }]);
    });
  }

  test('a hundred rounds of both claiming one batch at the same instant', async () => {
    const all = await seed(ITEMS);
    const x = [];
    const y = [];
    for (let round = 0; round < 100; round++) {
      const [gx, gy] = await Promise.all([claim(a, 1), claim(b, 1)]);
      x.push(...gx);
      y.push(...gy);
    }
    assertDisjoint(x, y, '100 rounds');
    assert.deepEqual(sorted([...x, ...y]), all);
  });
});

describe('one session holds its claim open while the other claims (SKIP LOCKED)', () => {
  test('the other skips the locked items, without waiting, and takes all the rest', async () => {
    const all = await seed(ITEMS);
    await a.query('BEGIN');
    try {
      const held = await claim(a, 10);
      assert.equal(held.length, 10);
      // Not yet committed: the items still read as pending to everyone else.
      const { rows } = await admin.query(`SELECT count(*) AS n FROM monitoring.dead_letter_queue
                                           WHERE status = 'pending'`);
      assert.equal(rows[0].n, ITEMS);
      const rest = await claim(b, 1000);
      assert.equal(rest.length, ITEMS - 10);
      assertDisjoint(held, rest, 'held open');
      assert.deepEqual(sorted([...held, ...rest]), all);
      assert.deepEqual(await claim(b, 1000), []);
      await a.query('COMMIT');
    } catch (err) {
      await a.query('ROLLBACK');
      throw err;
    }
    // Committed: A's items are leased to A.
    assert.deepEqual(await claim(b, 1000), []);
  });

  test('a claim rolled back releases its items to the other session', async () => {
    await seed(20);
    await a.query('BEGIN');
    let held;
    try {
      held = await claim(a, 5);
      assert.equal(held.length, 5);
      const rest = await claim(b, 1000);
      assert.equal(rest.length, 15);
      assertDisjoint(held, rest, 'before rollback');
    } finally {
      await a.query('ROLLBACK');
    }
    assert.deepEqual(sorted(await claim(b, 1000)), sorted(held));
  });

  test('both hold their transactions open, claiming in turns: never the same item',
    async () => {
      const all = await seed(ITEMS);
      await a.query('BEGIN');
      await b.query('BEGIN');
      const x = [];
      const y = [];
      try {
        for (let i = 0; i < 5; i++) {
          x.push(...(await claim(a, 10)));
          y.push(...(await claim(b, 10)));
          // And both at once, still inside the same two transactions.
          const [gx, gy] = await Promise.all([claim(a, 10), claim(b, 10)]);
          x.push(...gx);
          y.push(...gy);
        }
        assert.equal(x.length + y.length, 200);
        assertDisjoint(x, y, 'both open');
        await a.query('COMMIT');
        await b.query('COMMIT');
      } catch (err) {
        await a.query('ROLLBACK');
        await b.query('ROLLBACK');
        throw err;
      }
      assert.deepEqual(sorted([...x, ...y]), all);
      assert.deepEqual(await claim(a, 1000), []);
    });
});
