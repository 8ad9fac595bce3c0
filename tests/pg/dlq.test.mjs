// dlq.test.mjs -- the dead letter queue's functions and views (DESIGN §3, §4.5), one by one,
// against the real migrations. Each test starts from an empty queue and gives every item
// explicit times relative to now(); where a result depends on now(), the items are written and
// read in one transaction, so now() is the same instant for both and results are exact.

import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { migratedDatabase } from './lib/pg.mjs';

const { admin } = await migratedDatabase('dlq');
const q = async (sql, params) => (await admin.query(sql, params)).rows;

// Adds one item. Times are intervals before now() ('-1 hour' is in the future); null for NULL.
async function add({
  status = 'pending',
  retry = 0,
  max = 5,
  created = '0',
  next = '0',
  last = null,
  reason = 'rejected',
  payload = { id: 'ev-1', type: 'request' },
} = {}) {
  const [row] = await q(
    `INSERT INTO monitoring.dead_letter_queue
       (original_payload, failure_reason, retry_count, max_retries, status, created_at,
        next_retry_at, last_retry_at)
     VALUES ($1, $2, $3, $4, $5, now() - $6::interval, now() - $7::interval,
             now() - $8::interval)
     RETURNING *`,
    [payload, reason, retry, max, status, created, next, last],
  );
  return row;
}

const item = async (id) =>
  (await q('SELECT * FROM monitoring.dead_letter_queue WHERE id = $1', [id]))[0];
const claim = async (limit, lease) =>
  (lease === undefined
    ? await q('SELECT * FROM monitoring.dlq_claim_due($1)', [limit])
    : await q('SELECT * FROM monitoring.dlq_claim_due($1, $2::interval)', [limit, lease]))
    .map((r) => r.id)
    .sort((a, b) => a - b);
const ids = (...rows) => rows.map((r) => r.id).sort((a, b) => a - b);

async function inTransaction(fn) {
  await admin.query('BEGIN');
  try {
    return await fn();
  } finally {
    await admin.query('ROLLBACK');
  }
}

// A composite-returning function with nothing to return gives one row of NULLs.
const NOTHING = {
  id: null, original_payload: null, failure_reason: null, retry_count: null, max_retries: null,
  status: null, created_at: null, last_retry_at: null, next_retry_at: null, recovered_at: null,
};

beforeEach(() => admin.query('DELETE FROM monitoring.dead_letter_queue'));

describe('storing a failed operation', () => {
  test('an INSERT of payload and reason gets the defaults: pending, due now, 0 of 5', async () => {
    const payload = { id: 'ev-9', type: 'request', attrs: { n: 1.5, s: 'x' } };
    const [row] = await q(
      `INSERT INTO monitoring.dead_letter_queue (original_payload, failure_reason)
       VALUES ($1, '23514: check violation')
       RETURNING *, created_at = now() AS created_now, next_retry_at = now() AS due_now`,
      [payload],
    );
    assert.ok(Number.isInteger(row.id) && row.id > 0);
    assert.deepEqual(row.original_payload, payload);
    assert.equal(row.failure_reason, '23514: check violation');
    assert.equal(row.retry_count, 0);
    assert.equal(row.max_retries, 5);
    assert.equal(row.status, 'pending');
    assert.equal(row.created_now, true);
    assert.equal(row.due_now, true);
    assert.equal(row.last_retry_at, null);
    assert.equal(row.recovered_at, null);
    // And it is due at once.
    assert.deepEqual(await claim(10), [row.id]);
  });
});

describe('dlq_claim_due', () => {
  test('claims only due items: pending and due, or retrying with the lease run out', async () => {
    const due = [
      await add({ next: '1 minute' }),
      await add({ next: '1 second' }),
      await add({ status: 'retrying', next: '20 minutes', last: '10 minutes' }),
    ];
    await add({ next: '-1 hour' }); // not yet
    await add({ status: 'retrying', next: '20 minutes', last: '1 minute' }); // leased
    await add({ status: 'recovered', next: '1 minute' });
    await add({ status: 'failed', next: '1 minute' });
    assert.deepEqual(await claim(100), ids(...due));
  });

  test('marks what it claims retrying, at now(), and returns it', async () => {
    const a = await add({ next: '1 minute' });
    await inTransaction(async () => {
      const rows = await q(`SELECT id, status, last_retry_at = now() AS now
                              FROM monitoring.dlq_claim_due(10)`);
      assert.deepEqual(rows, [{ id: a.id, status: 'retrying', now: true }]);
      const [stored] = await q(`SELECT status, last_retry_at = now() AS now
                                  FROM monitoring.dead_letter_queue WHERE id = $1`, [a.id]);
      assert.deepEqual(stored, { status: 'retrying', now: true });
    });
  });

  test('respects the limit, earliest due first', async () => {
    const items = [];
    for (const m of [1, 5, 3, 4, 2]) {
      items.push({ m, row: await add({ next: `${m} minutes` }) });
    }
    const byDue = items.sort((x, y) => y.m - x.m).map((x) => x.row.id);
    assert.deepEqual(await claim(0), []);
    assert.deepEqual(await claim(3), byDue.slice(0, 3).sort((a, b) => a - b));
    assert.deepEqual(await claim(3), byDue.slice(3).sort((a, b) => a - b));
    assert.deepEqual(await claim(3), []);
  });

  test('a claimed item is not claimed again within its lease', async () => {
    const a = await add({ next: '1 minute' });
    assert.deepEqual(await claim(10), [a.id]);
    assert.deepEqual(await claim(10), []);
    assert.equal((await item(a.id)).status, 'retrying');
  });

  test('a retrying item whose lease expired is claimable again; within it, not', async () => {
    const expired = await add({ status: 'retrying', next: '1 hour', last: '10 minutes' });
    const leased = await add({ status: 'retrying', next: '1 hour', last: '1 minute' });
    assert.deepEqual(await claim(10), [expired.id]); // default lease: 5 minutes
    assert.deepEqual(await claim(10), []); // the reclaimed one has a new lease
    // A shorter lease: the item claimed a minute ago is due; the one just reclaimed is not.
    assert.deepEqual(await claim(10, '30 seconds'), [leased.id]);
    // A longer one: the item claimed 10 minutes ago would not have been due.
    const other = await add({ status: 'retrying', next: '1 hour', last: '10 minutes' });
    assert.deepEqual(await claim(10, '15 minutes'), []);
    assert.deepEqual(await claim(10, '9 minutes'), [other.id]);
  });
});

describe('dlq_increment_retry', () => {
  // [from status, retry_count, max_retries] -> [retry_count, status, next_retry_at given?]
  const CASES = [
    [['pending', 0, 5], [1, 'pending', true]],
    [['retrying', 0, 5], [1, 'pending', true]],
    [['retrying', 3, 5], [4, 'pending', true]],
    [['retrying', 4, 5], [5, 'failed', false]],
    [['retrying', 0, 1], [1, 'failed', false]],
    [['retrying', 0, 0], [0, 'failed', false]],
    [['pending', 0, 0], [0, 'failed', false]],
  ];
  for (const [[status, retry, max], [wantRetry, wantStatus, scheduled]] of CASES) {
    test(`${status} ${retry}/${max} -> ${wantStatus} ${wantRetry}/${max}`, async () => {
      const a = await add({ status, retry, max, last: '10 minutes' });
      await inTransaction(async () => {
        const [r] = await q(
          `SELECT *, last_retry_at = now() AS tried_now,
                  next_retry_at = now() + interval '1 minute' AS scheduled
             FROM monitoring.dlq_increment_retry($1, 'again', now() + interval '1 minute')`,
          [a.id],
        );
        assert.equal(r.id, a.id);
        assert.equal(r.retry_count, wantRetry);
        assert.equal(r.status, wantStatus);
        assert.equal(r.failure_reason, 'again');
        assert.equal(r.tried_now, true);
        if (scheduled) {
          assert.equal(r.scheduled, true);
        } else {
          assert.equal(r.next_retry_at, null);
        }
        assert.deepEqual(await item(a.id), (({ tried_now, scheduled, ...rest }) => rest)(r));
      });
    });
  }

  test('counts every retry up to max_retries, then fails, never past the check', async () => {
    for (const max of [0, 1, 3, 5]) {
      const a = await add({ max });
      let calls = 0;
      for (;;) {
        calls += 1;
        assert.ok(calls <= max + 1, `still ${JSON.stringify(await item(a.id))} after ${calls}`);
        const [r] = await q(`SELECT * FROM monitoring.dlq_increment_retry($1, NULL,
                                                                         now() - interval '1s')`,
                             [a.id]);
        assert.ok(r.retry_count <= r.max_retries);
        if (r.status === 'failed') {
          break;
        }
        assert.equal(r.status, 'pending');
        assert.equal(r.retry_count, calls);
        assert.deepEqual(await claim(10), [a.id]); // rescheduled into the past: due again
      }
      assert.equal(calls, Math.max(max, 1), `max_retries ${max}`);
      const final = await item(a.id);
      assert.equal(final.retry_count, max);
      assert.equal(final.failure_reason, 'rejected'); // NULL reason keeps the old one
      assert.deepEqual(await claim(10), []);
    }
  });

  test('without a next time, the retry is due at once rather than never', async () => {
    const a = await add({ status: 'retrying', retry: 1, max: 5, last: '10 minutes' });
    const [r] = await q('SELECT * FROM monitoring.dlq_increment_retry($1, NULL, NULL)', [a.id]);
    assert.equal(r.status, 'pending');
    assert.notEqual(r.next_retry_at, null);
    assert.deepEqual(await claim(10), [a.id]);
  });

  test('changes nothing on a resolved or unknown item', async () => {
    const done = [
      await add({ status: 'recovered', next: null }),
      await add({ status: 'failed', retry: 2, next: null }),
    ];
    for (const a of done) {
      const [r] = await q(`SELECT * FROM monitoring.dlq_increment_retry($1, 'x', now())`,
                          [a.id]);
      assert.deepEqual(r, NOTHING);
      assert.deepEqual(await item(a.id), a);
    }
    const [r] = await q(`SELECT * FROM monitoring.dlq_increment_retry(-1, 'x', now())`);
    assert.deepEqual(r, NOTHING);
  });
});

describe('dlq_mark_recovered and dlq_mark_failed', () => {
  for (const from of ['pending', 'retrying']) {
    test(`recovered from ${from}: recovered_at now, no next retry`, async () => {
      const a = await add({ status: from, retry: 2, last: '1 minute' });
      await inTransaction(async () => {
        const [r] = await q(`SELECT *, recovered_at = now() AS now
                               FROM monitoring.dlq_mark_recovered($1)`, [a.id]);
        assert.equal(r.status, 'recovered');
        assert.equal(r.now, true);
        assert.equal(r.next_retry_at, null);
        assert.equal(r.retry_count, 2);
        assert.equal(r.failure_reason, a.failure_reason);
      });
    });

    test(`failed from ${from}: no next retry, with or without a reason`, async () => {
      const a = await add({ status: from });
      const [r] = await q('SELECT * FROM monitoring.dlq_mark_failed($1)', [a.id]);
      assert.equal(r.status, 'failed');
      assert.equal(r.next_retry_at, null);
      assert.equal(r.failure_reason, 'rejected');
      assert.equal(r.recovered_at, null);
      const b = await add({ status: from });
      const [s] = await q(`SELECT * FROM monitoring.dlq_mark_failed($1, 'poison')`, [b.id]);
      assert.equal(s.failure_reason, 'poison');
      assert.deepEqual(await item(b.id), s);
    });
  }

  // A resolved item stays as it was resolved.
  for (const [fn, status] of [
    ['dlq_mark_recovered', 'recovered'], ['dlq_mark_recovered', 'failed'],
    ['dlq_mark_failed', 'recovered'], ['dlq_mark_failed', 'failed'],
  ]) {
    test(`${fn} leaves a ${status} item alone`, async () => {
      const a = await add({ status, next: null, last: '1 day', created: '2 days' });
      const [r] = await q(`SELECT * FROM monitoring.${fn}($1)`, [a.id]);
      assert.deepEqual(r, NOTHING);
      assert.deepEqual(await item(a.id), a);
    });
  }
});

describe('dlq_cleanup', () => {
  test('deletes only resolved items older than the interval and says how many', async () => {
    const old = { created: '10 days', next: null };
    const gone = [
      await add({ status: 'recovered', ...old }),
      await add({ status: 'failed', ...old }),
    ];
    const kept = [
      await add({ status: 'recovered', created: '1 day', next: null }),
      await add({ status: 'failed', created: '1 day', next: null }),
      await add({ status: 'pending', created: '10 days', next: '10 days' }),
      await add({ status: 'retrying', created: '10 days', next: '10 days', last: '10 days' }),
      await add({ status: 'pending', created: '30 days', next: '-1 day' }),
    ];
    assert.deepEqual(await q(`SELECT monitoring.dlq_cleanup('7 days') AS n`), [{ n: gone.length }]);
    const left = await q('SELECT id FROM monitoring.dead_letter_queue');
    assert.deepEqual(ids(...left), ids(...kept));
    assert.deepEqual(await q(`SELECT monitoring.dlq_cleanup('7 days') AS n`), [{ n: 0 }]);
    // With no age limit, every resolved item goes, and still no unresolved one.
    assert.deepEqual(await q(`SELECT monitoring.dlq_cleanup('0 seconds') AS n`), [{ n: 2 }]);
    const unresolved = await q('SELECT id FROM monitoring.dead_letter_queue');
    assert.deepEqual(ids(...unresolved), ids(...kept.slice(2)));
  });
});

describe('dlq_stats', () => {
  const stats = async () => (await q('SELECT * FROM monitoring.dlq_stats()'));

  test('an empty queue: one row of zeros', async () => {
    assert.deepEqual(await stats(), [{
      total_pending: 0, total_recovered: 0, total_failed: 0, avg_retry_count: 0,
      oldest_pending_age_hours: 0,
    }]);
  });

  test('totals, and the age of the oldest pending item, not of resolved ones', async () => {
    await inTransaction(async () => {
      await add({ status: 'pending', created: '2 hours', retry: 1 });
      await add({ status: 'pending', created: '30 minutes', retry: 3 });
      await add({ status: 'recovered', created: '100 hours', retry: 0 });
      await add({ status: 'failed', created: '200 hours', retry: 5, max: 5 });
      assert.deepEqual(await stats(), [{
        total_pending: 2, total_recovered: 1, total_failed: 1, avg_retry_count: 9 / 4,
        oldest_pending_age_hours: 2,
      }]);
    });
  });

  test('retrying items are pending (unresolved) for the count and the age', async () => {
    await inTransaction(async () => {
      await add({ status: 'pending', created: '2 hours' });
      await add({ status: 'retrying', created: '3 hours', last: '1 minute' });
      await add({ status: 'recovered', created: '50 hours' });
      const [s] = await stats();
      assert.equal(s.total_pending, 2);
      assert.equal(s.oldest_pending_age_hours, 3);
    });
  });

  test('nothing pending: the age is 0, however old the resolved items', async () => {
    await inTransaction(async () => {
      await add({ status: 'recovered', created: '100 hours' });
      await add({ status: 'failed', created: '300 hours' });
      const [s] = await stats();
      assert.equal(s.total_pending, 0);
      assert.equal(s.oldest_pending_age_hours, 0);
    });
  });
});

describe('views', () => {
  test('dlq_pending_retry: pending items due now, earliest first, and nothing else', async () => {
    const due = [await add({ next: '1 minute' }), await add({ next: '1 hour' }),
      await add({ next: '1 second' })];
    await add({ next: '-1 minute' });
    await add({ status: 'retrying', next: '1 hour', last: '1 minute' });
    await add({ status: 'recovered', next: '1 hour' });
    await add({ status: 'failed', next: '1 hour' });
    const rows = await q('SELECT * FROM monitoring.dlq_pending_retry');
    assert.deepEqual(rows.map((r) => r.id), [due[1].id, due[0].id, due[2].id]);
    assert.deepEqual(rows[0], await item(due[1].id)); // every column of the table
  });

  test('dlq_summary: one row per status with count, average retries, oldest, newest',
    async () => {
      await inTransaction(async () => {
        await add({ status: 'pending', retry: 1, created: '5 hours' });
        await add({ status: 'pending', retry: 2, created: '1 hour' });
        await add({ status: 'pending', retry: 4, created: '3 hours' });
        await add({ status: 'retrying', retry: 1, created: '2 hours', last: '1 minute' });
        await add({ status: 'failed', retry: 5, created: '9 hours' });
        const rows = await q(`
          SELECT status, items, avg_retry_count,
                 extract(epoch FROM now() - oldest_created_at) / 3600 AS oldest_h,
                 extract(epoch FROM now() - newest_created_at) / 3600 AS newest_h
            FROM monitoring.dlq_summary ORDER BY status`);
        assert.deepEqual(rows, [
          { status: 'failed', items: 1, avg_retry_count: 5, oldest_h: 9, newest_h: 9 },
          { status: 'pending', items: 3, avg_retry_count: 7 / 3, oldest_h: 5, newest_h: 1 },
          { status: 'retrying', items: 1, avg_retry_count: 1, oldest_h: 2, newest_h: 2 },
        ]);
      });
    });
});
