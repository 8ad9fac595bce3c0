// migrations.test.mjs -- `telltale migrate` against a real PostgreSQL (DESIGN §3: "Migrations are
// plain numbered SQL files, applied by telltale migrate and recorded in a migrations table;
// re-running is a no-op"), and `telltale serve` refusing a database it was not run on.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import {
  BIN,
  MIGRATIONS,
  NEWEST_VERSION,
  connect,
  createDatabase,
  migrate,
  schemaSnapshot,
  startPgServer,
  stopPgServer,
  testServer,
  waitFor,
  withClusterLock,
} from './lib/pg.mjs';

const server = testServer();
const VERSION_LINE = `postgres store at schema version ${NEWEST_VERSION}\n`;
const databases = [];

async function freshDatabase(label) {
  const db = await createDatabase(server, label);
  databases.push(db);
  return db;
}

after(async () => {
  for (const db of databases) {
    await db.drop();
  }
});

async function migrationRows(url) {
  const c = await connect(url);
  try {
    const { rows } = await c.query(`SELECT version, name, applied_at::text AS applied_at
                                      FROM monitoring.schema_migrations ORDER BY version`);
    return rows;
  } finally {
    await c.end();
  }
}

async function snapshotOf(url, opts) {
  const c = await connect(url);
  try {
    return await schemaSnapshot(c, opts);
  } finally {
    await c.end();
  }
}

describe('telltale migrate on a fresh database', () => {
  let db;
  let first;

  before(async () => {
    db = await freshDatabase('first');
    first = await withClusterLock(server, () => migrate(db.url));
  });

  test('succeeds and reports the newest version', () => {
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, VERSION_LINE);
    assert.equal(first.stderr, '');
  });

  test('schema_migrations records every version, in order, with its file name', async () => {
    const rows = await migrationRows(db.url);
    assert.deepEqual(
      rows.map((r) => ({ version: r.version, name: r.name })),
      MIGRATIONS,
    );
    const c = await connect(db.url);
    try {
      // Applied one after the other: applied_at never goes backwards in version order.
      const { rows: order } = await c.query(`
        SELECT bool_and(applied_at >= prev) AS ordered FROM (
          SELECT applied_at, lag(applied_at) OVER (ORDER BY version) AS prev
            FROM monitoring.schema_migrations) s WHERE prev IS NOT NULL`);
      assert.equal(order[0].ordered, true);
    } finally {
      await c.end();
    }
  });

  test('re-running is a no-op: same output, no new rows, objects unchanged', async () => {
    const rowsBefore = await migrationRows(db.url);
    const snapBefore = await snapshotOf(db.url, { withOids: true });
    assert.ok(snapBefore.relations.length > 0 && snapBefore.functions.length > 0);
    for (let i = 0; i < 2; i++) {
      const again = await migrate(db.url);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stdout, first.stdout);
      assert.equal(again.stderr, first.stderr);
    }
    assert.deepEqual(await migrationRows(db.url), rowsBefore);
    // With oids: an object dropped and created again, identical or not, is a change.
    assert.deepEqual(await snapshotOf(db.url, { withOids: true }), snapBefore);
  });

  test('two migrate processes started at once both succeed and leave one schema', async () => {
    const reference = await snapshotOf(db.url);
    for (let round = 0; round < 3; round++) {
      const fresh = await freshDatabase(`twice_${round}`);
      const [a, b] = await withClusterLock(server, () =>
        Promise.all([migrate(fresh.url), migrate(fresh.url)]),
      );
      assert.equal(a.code, 0, `round ${round}, first process: ${a.stderr}`);
      assert.equal(b.code, 0, `round ${round}, second process: ${b.stderr}`);
      assert.equal(a.stdout, VERSION_LINE);
      assert.equal(b.stdout, VERSION_LINE);
      assert.deepEqual(
        (await migrationRows(fresh.url)).map((r) => ({ version: r.version, name: r.name })),
        MIGRATIONS,
      );
      assert.deepEqual(await snapshotOf(fresh.url), reference, `round ${round}`);
    }
  });
});

// ---- telltale serve and the schema version ----

// Starts `telltale serve` and resolves how it ended: {code, signal, stderr, listened}. If it
// starts listening, it is stopped with SIGTERM (listened = true); how it then exits is not
// this file's business.
function serveOnce(url, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--store', url], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let listened = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stderr.on('data', (b) => {
      stderr += b;
      if (!listened && /listening on http:\/\/\S+:\d+/.test(stderr)) {
        listened = true;
        child.kill('SIGTERM');
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, listened });
    });
  });
}

describe('telltale serve checks the schema version', () => {
  test('a migrated database: it starts (the control for the refusals below)', async () => {
    const db = await freshDatabase('serve_ok');
    const m = await withClusterLock(server, () => migrate(db.url));
    assert.equal(m.code, 0, m.stderr);
    const r = await serveOnce(db.url);
    assert.equal(r.listened, true, r.stderr);
    assert.doesNotMatch(r.stderr, /cannot start|telltale migrate/);
  });

  // Each setup leaves a database telltale must not serve from; serve must exit non-zero, on
  // its own, and tell the operator to run `telltale migrate`.
  const UNMIGRATED = [
    { what: 'an empty database', setup: async () => {} },
    {
      what: 'schema monitoring exists, schema_migrations does not',
      setup: (c) => c.query('CREATE SCHEMA monitoring'),
    },
    {
      what: 'a database behind the binary (schema_migrations at version 2)',
      setup: async (c, db) => {
        const m = await withClusterLock(server, () => migrate(db.url));
        assert.equal(m.code, 0, m.stderr);
        await c.query('DELETE FROM monitoring.schema_migrations WHERE version > 2');
      },
    },
  ];
  for (const { what, setup } of UNMIGRATED) {
    test(`${what}: serve refuses to start and names telltale migrate`, async () => {
      const db = await freshDatabase('serve_no');
      const c = await connect(db.url);
      try {
        await setup(c, db);
      } finally {
        await c.end();
      }
      const r = await serveOnce(db.url);
      assert.equal(r.listened, false, `serve started on ${what}:\n${r.stderr}`);
      assert.equal(r.signal, null, `serve did not exit by itself:\n${r.stderr}`);
      assert.notEqual(r.code, 0, r.stderr);
      assert.match(r.stderr, /telltale migrate/, `stderr does not name telltale migrate`);
    });
  }
});

// ---- roles are per cluster ----

// anon, authenticated and service_role belong to the cluster, not to the database, while
// telltale's migrate lock is per database. So the roles must be created in a way that survives
// another transaction creating them at the same moment: another `telltale migrate` on another
// database of the same cluster, or an operator. This needs a cluster where the roles do not
// exist yet, so it starts its own.
test('migrate succeeds while another transaction in the cluster creates the roles', async () => {
  const own = startPgServer();
  try {
    const holder = await connect(own.url);
    const watcher = await connect(own.url); // pg_stat_activity is frozen inside a transaction
    try {
      const db = await createDatabase(own, 'roles');
      // The other transaction, e.g. another database's migrate, halfway through 0004.
      await holder.query('BEGIN');
      await holder.query('CREATE ROLE anon NOLOGIN NOINHERIT');
      const running = migrate(db.url);
      // Bounded wait until migrate is blocked behind it (on the uncommitted role's name).
      await waitFor('telltale migrate to wait on the uncommitted CREATE ROLE', async () => {
        const { rows } = await watcher.query(
          `SELECT count(*) AS n FROM pg_stat_activity
            WHERE datname = $1 AND wait_event_type = 'Lock'`,
          [db.name],
        );
        return rows[0].n > 0;
      });
      await holder.query('COMMIT');
      const r = await running;
      assert.equal(r.code, 0, `telltale migrate failed:\n${r.stderr}`);
      assert.equal(r.stdout, VERSION_LINE);
    } finally {
      await holder.end();
      await watcher.end();
    }
  } finally {
    stopPgServer(own);
  }
});
