// security.test.mjs -- row level security and grants that "mean what they say" (DESIGN §3):
//
//   service_role   full access
//   authenticated  reads events, rollups and flags, and reads and writes its own dashboard
//                  state (client_id = the JWT's sub); nothing of the dead letter queue or
//                  schema_migrations
//   anon           nothing, unless the owner runs monitoring.set_anon_read(true): then it
//                  reads events, rollups and flags (and still nothing else)
//
// Every case connects as the superuser and switches role the way PostgREST and Supabase do:
// inside a transaction, SET LOCAL ROLE and request.jwt.claims. Everything is rolled back, so
// each case sees the same seeded rows. A denial is asserted precisely: an error with SQLSTATE
// 42501 ("permission denied ..." from a missing grant, "new row violates row-level security
// policy" from a WITH CHECK), or, for rows a policy filters out, success with zero rows.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PERMISSION_DENIED, asRole, migratedDatabase, rejectsWith } from './lib/pg.mjs';

const { admin } = await migratedDatabase('security');

const CLAIMS = {
  anon: { role: 'anon' },
  authenticated: { sub: 'client-a', role: 'authenticated' },
  service_role: { role: 'service_role' },
};

// ---- the seeded rows (committed, as the owner) ----

await admin.query(`
  INSERT INTO monitoring.monitoring_events (id, ts, type, source) VALUES
    ('ev-1', now(), 'request', 'api'), ('ev-2', now(), 'error', 'api'),
    ('ev-3', now(), 'metric', 'worker');
  INSERT INTO monitoring.metrics_rollup (tier, bucket, type, latency) VALUES
    ('minute', date_trunc('minute', now()), 'request', '{"0":1}'),
    ('minute', date_trunc('minute', now()), 'error', '{"3":1}');
  INSERT INTO monitoring.sessions (session_id, first_seen, last_seen) VALUES
    ('s-1', now(), now()), ('s-2', now(), now());
  INSERT INTO monitoring.feature_flags (key, enabled) VALUES ('new-ui', true), ('beta', false);
  INSERT INTO monitoring.dead_letter_queue (original_payload, failure_reason, next_retry_at)
    VALUES ('{"id":"p-1"}', 'rejected', now() - interval '1 minute'),
           ('{"id":"p-2"}', 'rejected', now() - interval '1 minute');
  INSERT INTO monitoring.dashboard_state (client_id, key, value) VALUES
    ('client-a', 'layout', '{"cols":2}'), ('client-a', 'theme', '"dark"'),
    ('client-b', 'layout', '{"cols":3}');
`);
const TOTAL = {};
for (const t of ['monitoring_events', 'metrics_rollup', 'sessions', 'feature_flags',
  'dead_letter_queue', 'dashboard_state', 'schema_migrations']) {
  TOTAL[t] = (await admin.query(`SELECT count(*) AS n FROM monitoring.${t}`)).rows[0].n;
}
const OWN_STATE = 2; // client-a's rows
const DLQ_IDS = (await admin.query('SELECT id FROM monitoring.dead_letter_queue ORDER BY id'))
  .rows.map((r) => r.id);

// ---- the operations, per table ----

const OPS = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'];

const SQL = {
  monitoring_events: {
    INSERT: `INSERT INTO monitoring.monitoring_events (id, ts, type) VALUES ('new', now(), 'x')`,
    UPDATE: `UPDATE monitoring.monitoring_events SET status = 'changed'`,
  },
  metrics_rollup: {
    INSERT: `INSERT INTO monitoring.metrics_rollup (tier, bucket, type)
             VALUES ('minute', date_trunc('minute', now()), 'new')`,
    UPDATE: 'UPDATE monitoring.metrics_rollup SET count = count + 1',
  },
  sessions: {
    INSERT: `INSERT INTO monitoring.sessions (session_id, first_seen, last_seen)
             VALUES ('new', now(), now())`,
    UPDATE: 'UPDATE monitoring.sessions SET events = events + 1',
  },
  feature_flags: {
    INSERT: `INSERT INTO monitoring.feature_flags (key) VALUES ('new')`,
    UPDATE: 'UPDATE monitoring.feature_flags SET enabled = NOT enabled',
  },
  dead_letter_queue: {
    INSERT: `INSERT INTO monitoring.dead_letter_queue (original_payload, failure_reason)
             VALUES ('{}', 'new')`,
    UPDATE: `UPDATE monitoring.dead_letter_queue SET failure_reason = 'changed'`,
  },
  dashboard_state: {
    // The caller's own row: client-a is the sub of the authenticated claims.
    INSERT: `INSERT INTO monitoring.dashboard_state (client_id, key, value)
             VALUES ('client-a', 'new', '{}')`,
    UPDATE: 'UPDATE monitoring.dashboard_state SET version = version + 1',
  },
  schema_migrations: {
    INSERT: `INSERT INTO monitoring.schema_migrations (version, name) VALUES (9999, 'x')`,
    UPDATE: 'UPDATE monitoring.schema_migrations SET name = name',
  },
};
const sqlFor = (table, op) =>
  SQL[table][op] ??
  {
    SELECT: `SELECT * FROM monitoring.${table}`,
    DELETE: `DELETE FROM monitoring.${table}`,
    TRUNCATE: `TRUNCATE monitoring.${table}`,
  }[op];

// Outcomes:
//   all   succeeds on every seeded row (SELECT returns them, UPDATE/DELETE affect them)
//   own   succeeds on client-a's dashboard rows only; client-b's row is untouched
//   ok    INSERT adds the row / TRUNCATE empties the table
//   no    error 42501, permission denied for the table
const ALL = 'all';
const OWN = 'own';
const OK = 'ok';
const NO = 'no';

//                          SELECT INSERT UPDATE DELETE TRUNCATE
const SERVICE_ROLE = {
  monitoring_events: /*  */ [ALL, OK, ALL, ALL, OK],
  metrics_rollup: /*     */ [ALL, OK, ALL, ALL, OK],
  sessions: /*           */ [ALL, OK, ALL, ALL, OK],
  feature_flags: /*      */ [ALL, OK, ALL, ALL, OK],
  dashboard_state: /*    */ [ALL, OK, ALL, ALL, OK],
  dead_letter_queue: /*  */ [ALL, OK, ALL, ALL, OK],
  schema_migrations: /*  */ [ALL, OK, ALL, ALL, OK],
};
const AUTHENTICATED = {
  monitoring_events: /*  */ [ALL, NO, NO, NO, NO],
  metrics_rollup: /*     */ [ALL, NO, NO, NO, NO],
  sessions: /*           */ [ALL, NO, NO, NO, NO],
  feature_flags: /*      */ [ALL, NO, NO, NO, NO],
  dashboard_state: /*    */ [OWN, OK, OWN, OWN, NO],
  dead_letter_queue: /*  */ [NO, NO, NO, NO, NO],
  schema_migrations: /*  */ [NO, NO, NO, NO, NO],
};
const ANON = {
  monitoring_events: /*  */ [NO, NO, NO, NO, NO],
  metrics_rollup: /*     */ [NO, NO, NO, NO, NO],
  sessions: /*           */ [NO, NO, NO, NO, NO],
  feature_flags: /*      */ [NO, NO, NO, NO, NO],
  dashboard_state: /*    */ [NO, NO, NO, NO, NO],
  dead_letter_queue: /*  */ [NO, NO, NO, NO, NO],
  schema_migrations: /*  */ [NO, NO, NO, NO, NO],
};
const ANON_READ = {
  monitoring_events: /*  */ [ALL, NO, NO, NO, NO],
  metrics_rollup: /*     */ [ALL, NO, NO, NO, NO],
  sessions: /*           */ [NO, NO, NO, NO, NO], // sessions are not in set_anon_read
  feature_flags: /*      */ [ALL, NO, NO, NO, NO],
  dashboard_state: /*    */ [NO, NO, NO, NO, NO],
  dead_letter_queue: /*  */ [NO, NO, NO, NO, NO],
  schema_migrations: /*  */ [NO, NO, NO, NO, NO],
};

const count = async (table, where = 'true') =>
  (await admin.query(`SELECT count(*) AS n FROM monitoring.${table} WHERE ${where}`)).rows[0].n;

// Runs one cell of a matrix and asserts its outcome.
async function checkCell(role, table, op, want) {
  const sql = sqlFor(table, op);
  await asRole(admin, role, CLAIMS[role], async () => {
    if (want === NO) {
      await rejectsWith(admin.query(sql), PERMISSION_DENIED,
        new RegExp(`^permission denied for table ${table}$`));
      return;
    }
    const r = await admin.query(sql);
    if (op === 'SELECT') {
      if (want === ALL) {
        assert.equal(r.rowCount, TOTAL[table]);
      } else {
        assert.equal(r.rowCount, OWN_STATE);
        assert.deepEqual([...new Set(r.rows.map((x) => x.client_id))], ['client-a']);
      }
      return;
    }
    if (op === 'INSERT' || op === 'TRUNCATE') {
      assert.equal(want, OK);
      await admin.query('RESET ROLE');
      assert.equal(await count(table), op === 'INSERT' ? TOTAL[table] + 1 : 0);
      return;
    }
    // UPDATE, DELETE
    assert.equal(r.rowCount, want === ALL ? TOTAL[table] : OWN_STATE);
    await admin.query('RESET ROLE');
    if (op === 'DELETE') {
      assert.equal(await count(table), want === ALL ? 0 : TOTAL[table] - OWN_STATE);
    }
    if (want === OWN) {
      const b = await admin.query(`SELECT version FROM monitoring.dashboard_state
                                    WHERE client_id = 'client-b'`);
      assert.deepEqual(b.rows, [{ version: 1 }], "client-b's row was touched");
    }
  });
}

function matrix(role, cells) {
  for (const [table, outcomes] of Object.entries(cells)) {
    OPS.forEach((op, i) => {
      test(`${role} ${op.padEnd(8)} ${table.padEnd(18)} -> ${outcomes[i]}`, () =>
        checkCell(role, table, op, outcomes[i]));
    });
  }
}

// ---- functions, views and sequences ----

// [name, SQL, check of the service_role result]. The others get 42501.
const CALLS = [
  ['dlq_claim_due', 'SELECT * FROM monitoring.dlq_claim_due(10)',
    (r) => assert.deepEqual(r.rows.map((x) => x.id).sort(), DLQ_IDS)],
  ['dlq_increment_retry',
    `SELECT * FROM monitoring.dlq_increment_retry(${DLQ_IDS[0]}, 'x', now())`,
    (r) => assert.equal(r.rows[0].retry_count, 1)],
  ['dlq_mark_recovered', `SELECT * FROM monitoring.dlq_mark_recovered(${DLQ_IDS[0]})`,
    (r) => assert.equal(r.rows[0].status, 'recovered')],
  ['dlq_mark_failed', `SELECT * FROM monitoring.dlq_mark_failed(${DLQ_IDS[0]}, 'x')`,
    (r) => assert.equal(r.rows[0].status, 'failed')],
  ['dlq_cleanup', `SELECT monitoring.dlq_cleanup('0 seconds') AS n`,
    (r) => assert.equal(r.rows[0].n, 0)],
  ['dlq_stats', 'SELECT * FROM monitoring.dlq_stats()',
    (r) => assert.equal(r.rows[0].total_pending, TOTAL.dead_letter_queue)],
  ['view dlq_pending_retry', 'SELECT * FROM monitoring.dlq_pending_retry',
    (r) => assert.equal(r.rowCount, TOTAL.dead_letter_queue)],
  ['view dlq_summary', 'SELECT * FROM monitoring.dlq_summary',
    (r) => assert.deepEqual(r.rows.map((x) => [x.status, x.items]),
      [['pending', TOTAL.dead_letter_queue]])],
  ['sequence monitoring_events_seq', "SELECT nextval('monitoring.monitoring_events_seq')",
    (r) => assert.equal(r.rowCount, 1)],
  ['sequence dead_letter_queue_id_seq',
    "SELECT nextval('monitoring.dead_letter_queue_id_seq')", (r) => assert.equal(r.rowCount, 1)],
  // The operator's switch is the owner's alone.
  ['set_anon_read', 'SELECT monitoring.set_anon_read(true)', null],
];

function calls(role) {
  for (const [name, sql, check] of CALLS) {
    const allowed = role === 'service_role' && check !== null;
    test(`${role} ${name} -> ${allowed ? 'ok' : 'no'}`, () =>
      asRole(admin, role, CLAIMS[role], async () => {
        if (allowed) {
          check(await admin.query(sql));
        } else {
          await rejectsWith(admin.query(sql), PERMISSION_DENIED,
            /^permission denied for (function|view|sequence) /);
        }
      }));
  }
}

// ---- the matrices ----

describe('service_role: everything', () => {
  matrix('service_role', SERVICE_ROLE);
  calls('service_role');
});

describe('authenticated: reads events, rollups, flags; its own dashboard state', () => {
  matrix('authenticated', AUTHENTICATED);
  calls('authenticated');
});

describe('anon by default: nothing', () => {
  matrix('anon', ANON);
  calls('anon');
});

describe('anon after set_anon_read(true): reads events, rollups, flags, nothing else', () => {
  before(() => admin.query('SELECT monitoring.set_anon_read(true)'));
  after(() => admin.query('SELECT monitoring.set_anon_read(false)'));
  matrix('anon', ANON_READ);
  calls('anon');
  // The switch is for anon only.
  matrix('authenticated', AUTHENTICATED);
});

describe('anon after set_anon_read(false): nothing again', () => {
  before(async () => {
    await admin.query('SELECT monitoring.set_anon_read(true)');
    await admin.query('SELECT monitoring.set_anon_read(false)');
  });
  matrix('anon', ANON);
  calls('anon');
});

// ---- dashboard_state: one client cannot reach another's rows ----

// [what, claims, SQL, outcome]: {rows: n} for a SELECT's row count, {affected: n} for a write's,
// 'rls' for the WITH CHECK error. After every write, client-b's row is checked unchanged.
const B_ROW = { client_id: 'client-b', key: 'layout', value: { cols: 3 }, version: 1 };
const A = CLAIMS.authenticated;
const ISOLATION = [
  ['sees only its own rows', A, 'SELECT * FROM monitoring.dashboard_state',
    { rows: OWN_STATE }],
  ["cannot see client-b's row", A,
    "SELECT * FROM monitoring.dashboard_state WHERE client_id = 'client-b'", { rows: 0 }],
  ["cannot update client-b's row (0 rows)", A,
    `UPDATE monitoring.dashboard_state SET value = '{"cols":9}' WHERE client_id = 'client-b'`,
    { affected: 0 }],
  ["cannot delete client-b's row (0 rows)", A,
    "DELETE FROM monitoring.dashboard_state WHERE client_id = 'client-b'", { affected: 0 }],
  ['cannot insert a row for client-b (WITH CHECK)', A,
    `INSERT INTO monitoring.dashboard_state (client_id, key, value)
     VALUES ('client-b', 'new', '{}')`, 'rls'],
  ["cannot overwrite client-b's row by upsert (WITH CHECK)", A,
    `INSERT INTO monitoring.dashboard_state (client_id, key, value)
     VALUES ('client-b', 'layout', '{"cols":9}')
     ON CONFLICT (client_id, key) DO UPDATE SET value = excluded.value`, 'rls'],
  ['cannot move its own row to client-b (WITH CHECK)', A,
    "UPDATE monitoring.dashboard_state SET client_id = 'client-b' WHERE key = 'theme'", 'rls'],
  ['can update its own row', A,
    `UPDATE monitoring.dashboard_state SET value = '{"cols":4}', version = version + 1
      WHERE client_id = 'client-a' AND key = 'layout'`, { affected: 1 }],
  ['can upsert its own row', A,
    `INSERT INTO monitoring.dashboard_state (client_id, key, value)
     VALUES ('client-a', 'layout', '{"cols":5}')
     ON CONFLICT (client_id, key) DO UPDATE SET value = excluded.value`, { affected: 1 }],
  ['client-b (another sub) sees only its own row', { sub: 'client-b', role: 'authenticated' },
    'SELECT * FROM monitoring.dashboard_state', { rows: 1 }],
  ['without claims: sees nothing', null, 'SELECT * FROM monitoring.dashboard_state',
    { rows: 0 }],
  ['without claims: cannot insert', null,
    `INSERT INTO monitoring.dashboard_state (client_id, key, value)
     VALUES ('client-a', 'new', '{}')`, 'rls'],
  ['a sub of another client cannot reach client-a', { sub: 'client-c', role: 'authenticated' },
    "UPDATE monitoring.dashboard_state SET version = 7 WHERE client_id = 'client-a'",
    { affected: 0 }],
];

describe('authenticated: dashboard_state belongs to the JWT sub', () => {
  for (const [what, claims, sql, want] of ISOLATION) {
    test(what, () =>
      asRole(admin, 'authenticated', claims, async () => {
        if (want === 'rls') {
          await rejectsWith(admin.query(sql), PERMISSION_DENIED,
            /^new row violates row-level security policy for table "dashboard_state"$/);
          return;
        }
        const r = await admin.query(sql);
        if ('rows' in want) {
          assert.equal(r.rowCount, want.rows);
          const sub = claims?.sub;
          assert.ok(r.rows.every((x) => x.client_id === sub), JSON.stringify(r.rows));
          return;
        }
        assert.equal(r.rowCount, want.affected);
        await admin.query('RESET ROLE');
        const b = await admin.query(`SELECT client_id, key, value, version
                                       FROM monitoring.dashboard_state
                                      WHERE client_id = 'client-b'`);
        assert.deepEqual(b.rows, [B_ROW]);
      }));
  }

  test('the legacy request.jwt.claim.sub setting names the client too', async () => {
    await asRole(admin, 'authenticated', null, async () => {
      await admin.query("SELECT set_config('request.jwt.claim.sub', 'client-b', true)");
      const r = await admin.query('SELECT client_id FROM monitoring.dashboard_state');
      assert.deepEqual(r.rows, [{ client_id: 'client-b' }]);
    });
  });
});

// ---- the policies themselves ----

test('the policies are exactly these', async () => {
  const { rows } = await admin.query(`
    SELECT tablename, policyname, permissive, roles::text AS roles, cmd, qual, with_check
      FROM pg_policies WHERE schemaname = 'monitoring' ORDER BY tablename, policyname`);
  const own = '(client_id = monitoring.current_client_id())';
  const P = (t, name, role, cmd, qual, check) =>
    ({ tablename: t, policyname: name, permissive: 'PERMISSIVE', roles: `{${role}}`, cmd, qual,
      with_check: check });
  const expected = [];
  for (const t of ['dashboard_state', 'dead_letter_queue', 'feature_flags', 'metrics_rollup',
    'monitoring_events', 'rollup_folded', 'schema_migrations', 'sessions']) {
    if (['feature_flags', 'metrics_rollup', 'monitoring_events'].includes(t)) {
      expected.push(P(t, 'anon_read', 'anon', 'SELECT', 'true', null));
    }
    if (['feature_flags', 'metrics_rollup', 'monitoring_events', 'rollup_folded', 'sessions']
      .includes(t)) {
      expected.push(P(t, 'authenticated_read', 'authenticated', 'SELECT', 'true', null));
    }
    if (t === 'dashboard_state') {
      expected.push(P(t, 'authenticated_own_state', 'authenticated', 'ALL', own, own));
    }
    expected.push(P(t, 'service_role_all', 'service_role', 'ALL', 'true', 'true'));
  }
  assert.deepEqual(rows, expected);
});

// ---- no function here is executable by PUBLIC ----

// PostgreSQL grants EXECUTE to PUBLIC on every new function, and no per-schema default can
// take it back; so each migration revokes it itself (0004 says so). This catches the one that
// forgets: every function in monitoring must carry an ACL without PUBLIC's EXECUTE.
test('no function in schema monitoring is executable by PUBLIC', async () => {
  const { rows } = await admin.query(`
    SELECT p.proname, p.proacl::text AS acl,
           has_function_privilege('anon', p.oid, 'EXECUTE') AS anon_can
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'monitoring' ORDER BY p.proname`);
  assert.ok(rows.length >= 8, `the functions are there (${rows.length})`);
  const open = rows.filter((r) => r.acl === null || /(^|[{,])=X/.test(r.acl));
  assert.deepEqual(open.map((r) => r.proname), [], 'functions PUBLIC may execute');
  const anonCan = rows.filter((r) => r.anon_can).map((r) => r.proname);
  assert.deepEqual(anonCan, ['current_client_id'], 'anon may execute only current_client_id');
});

// And the check would see a function that a later migration forgot to lock down.
test('a function created without a REVOKE is caught by that check', async () => {
  await admin.query('BEGIN');
  try {
    await admin.query("CREATE FUNCTION monitoring.tt_added_later() RETURNS int LANGUAGE sql AS 'SELECT 1'");
    const { rows } = await admin.query(`
      SELECT p.proacl::text AS acl, has_function_privilege('anon', p.oid, 'EXECUTE') AS anon_can
        FROM pg_proc p WHERE p.proname = 'tt_added_later'`);
    // The ACL is the default (NULL), or -- with 0005's default privileges for service_role --
    // an explicit one that still holds PUBLIC's EXECUTE: the check above catches both.
    assert.equal(rows.length, 1);
    assert.ok(rows[0].acl === null || /(^|[{,])=X/.test(rows[0].acl), `acl ${rows[0].acl}`);
    assert.equal(rows[0].anon_can, true);
  } finally {
    await admin.query('ROLLBACK');
  }
});
