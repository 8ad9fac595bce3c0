// privileges.test.mjs -- `telltale migrate` on the databases users have (issue 15): a database
// shaped like Supabase's, migrated by a role that is neither SUPERUSER nor CREATEROLE nor
// BYPASSRLS; a self-hosted database migrated by its owner; `migrate --check`; and the daemon
// served by a least-privileged login, a member of service_role (docs/OPERATIONS.md).
//
// Roles belong to a cluster, so each case that needs the roles missing starts its own cluster.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  MIGRATIONS,
  NEWEST_VERSION,
  REPO,
  connect,
  createDatabase,
  migrate,
  runTelltale,
  startPgServer,
  stopPgServer,
  urlFor,
} from './lib/pg.mjs';
import { Daemon, api, waitFor } from '../integration/lib/daemon.mjs';

const VERSION_LINE = `postgres store at schema version ${NEWEST_VERSION}\n`;

function loginUrl(serverUrl, db, user, password) {
  const u = new URL(urlFor(serverUrl, db));
  u.username = user;
  u.password = password;
  return u.toString();
}

async function sql(url, text, params) {
  const c = await connect(url);
  try {
    return (await c.query(text, params)).rows;
  } finally {
    await c.end();
  }
}

async function hasSchema(url) {
  const rows = await sql(url, "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'monitoring'");
  return rows[0].n === 1;
}

// The statements telltale printed for a privileged role to run (lines ending in ';').
function printedStatements(stderr) {
  return stderr.split('\n').map((l) => l.replace(/\s*--.*$/, '').trim()).filter((l) => /;$/.test(l));
}

// What Supabase has before a user's first migration: the three API roles (service_role with
// BYPASSRLS), an authenticator login, an `auth` schema owned by another role with the helper
// functions Supabase's policies call, the supabase_realtime publication owned by `postgres`,
// and `postgres` itself: the database's owner, but no superuser, no CREATEROLE, no BYPASSRLS.
async function supabaseShaped(server) {
  const db = await createDatabase(server, 'supabase');
  const admin = await connect(server.url);
  try {
    await admin.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'anon') THEN
          CREATE ROLE anon NOLOGIN NOINHERIT; END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticated') THEN
          CREATE ROLE authenticated NOLOGIN NOINHERIT; END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'service_role') THEN
          CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS; END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sb_authenticator') THEN
          CREATE ROLE sb_authenticator LOGIN NOINHERIT; END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sb_auth_admin') THEN
          CREATE ROLE sb_auth_admin NOLOGIN; END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sb_postgres') THEN
          CREATE ROLE sb_postgres LOGIN PASSWORD 'sb' NOSUPERUSER NOCREATEROLE NOBYPASSRLS;
        END IF;
      END $$`);
    await admin.query('GRANT anon, authenticated, service_role TO sb_authenticator');
    await admin.query(`ALTER DATABASE ${db.name} OWNER TO sb_postgres`);
  } finally {
    await admin.end();
  }
  const su = await connect(db.url);
  try {
    await su.query(`
      CREATE SCHEMA auth AUTHORIZATION sb_auth_admin;
      CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
        SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid $$;
      CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
        SELECT coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'))::text $$;
      CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
        SELECT coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                        nullif(current_setting('request.jwt.claims', true), ''))::jsonb $$;
      ALTER FUNCTION auth.uid() OWNER TO sb_auth_admin;
      ALTER FUNCTION auth.role() OWNER TO sb_auth_admin;
      ALTER FUNCTION auth.jwt() OWNER TO sb_auth_admin;
      GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role, sb_postgres;
      GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA auth TO anon, authenticated, service_role;`);
    await su.query('SET ROLE sb_postgres');
    await su.query('CREATE PUBLICATION supabase_realtime');
  } finally {
    await su.end();
  }
  return { ...db, owner: loginUrl(server.url, db.name, 'sb_postgres', 'sb') };
}

describe('a database shaped like Supabase, migrated by its non-superuser owner', () => {
  const server = startPgServer();
  after(() => stopPgServer(server));

  test('migrates cleanly, twice, and serves as a least-privileged member of service_role', { timeout: 120_000 }, async () => {
    const db = await supabaseShaped(server);
    const check = await runTelltale(['migrate', '--check', '--store', db.owner]);
    assert.equal(check.code, 1, `--check with migrations pending exits 1:\n${check.stdout}${check.stderr}`);
    assert.match(check.stdout, /^schema version 0;/m);
    assert.match(check.stdout, /^missing privileges: none$/m);
    assert.equal(await hasSchema(db.url), false, 'migrate --check changed the database');

    const first = await migrate(db.owner);
    assert.equal(first.code, 0, `first migrate failed:\n${first.stderr}`);
    assert.equal(first.stdout, VERSION_LINE);
    const again = await migrate(db.owner);
    assert.equal(again.code, 0, `second migrate failed:\n${again.stderr}`);
    assert.equal(again.stdout, VERSION_LINE);
    const current = await runTelltale(['migrate', '--check', '--store', db.owner]);
    assert.equal(current.code, 0, current.stdout + current.stderr);
    assert.match(current.stdout, /^pending: none$/m);

    // A login that is no member of service_role: --check says it cannot read the version (not
    // "version 0"), and serve names the GRANT it needs.
    await sql(server.url, `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tt_stranger')
                           THEN CREATE ROLE tt_stranger LOGIN PASSWORD 'st'; END IF; END $$`);
    const stranger = loginUrl(server.url, db.name, 'tt_stranger', 'st');
    const blind = await runTelltale(['migrate', '--check', '--store', stranger]);
    assert.equal(blind.code, 1, blind.stdout + blind.stderr);
    assert.match(blind.stdout, /^schema version unknown \(this role cannot read it\)/m);
    assert.doesNotMatch(blind.stdout, /schema version 0/);
    const refused = await runTelltale(['serve', '--store', stranger, '--listen', '127.0.0.1:0']);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /42501.*permission denied for schema monitoring; the daemon's login needs GRANT service_role TO it/);

    // Supabase Realtime streams the events table; the auth helpers are untouched.
    const pub = await sql(db.url, `SELECT count(*)::int AS n FROM pg_publication_tables
                                    WHERE pubname = 'supabase_realtime' AND tablename = 'monitoring_events'`);
    assert.equal(pub[0].n, 1, 'monitoring_events is not in supabase_realtime');
    const owner = await sql(db.url, "SELECT nspowner::regrole::text AS o FROM pg_namespace WHERE nspname = 'monitoring'");
    assert.equal(owner[0].o, 'sb_postgres');
    const fns = await sql(db.url, `SELECT p.proname, p.proowner::regrole::text AS owner FROM pg_proc p
                                    JOIN pg_namespace n ON n.oid = p.pronamespace
                                   WHERE n.nspname = 'auth' ORDER BY 1`);
    assert.deepEqual(fns, ['jwt', 'role', 'uid'].map((proname) => ({ proname, owner: 'sb_auth_admin' })));

    // The daemon as the documented least-privileged login: a member of service_role only.
    await sql(server.url, `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tt_app')
                           THEN CREATE ROLE tt_app LOGIN PASSWORD 'app'; END IF; END $$`);
    await sql(server.url, 'GRANT service_role TO tt_app');
    const d = await Daemon.start({ store: loginUrl(server.url, db.name, 'tt_app', 'app'), label: 'tt_app' });
    try {
      const r = await api(d, 'POST', '/api/v1/events', { json: [{ type: 'a', id: 'sb-1' }, { type: 'b', id: 'sb-2' }] });
      assert.equal(r.status, 202, JSON.stringify(r.json));
      const rows = await waitFor('both events in PostgreSQL', async () => {
        const got = await sql(db.url, 'SELECT id FROM monitoring.monitoring_events ORDER BY id');
        return got.length === 2 && got;
      });
      assert.deepEqual(rows.map((x) => x.id), ['sb-1', 'sb-2']);
      const q = await api(d, 'GET', '/api/v1/events?limit=10');
      assert.equal(q.status, 200, JSON.stringify(q.json));
      assert.equal(q.json.events.length, 2);
      const dlq = await api(d, 'GET', '/api/v1/dlq/stats');
      assert.equal(dlq.status, 200, JSON.stringify(dlq.json));
      await d.stop();
    } finally {
      await d.cleanup();
    }
  });
});

describe('a self-hosted database migrated by its owner, not a superuser', () => {
  const server = startPgServer(); // a cluster without anon, authenticated, service_role
  after(() => stopPgServer(server));

  test('without CREATEROLE: stops before changing anything, with the statements to run', { timeout: 60_000 }, async () => {
    const db = await createDatabase(server, 'owner');
    await sql(server.url, "CREATE ROLE plain_owner LOGIN PASSWORD 'po' NOCREATEROLE");
    await sql(server.url, `ALTER DATABASE ${db.name} OWNER TO plain_owner`);
    const url = loginUrl(server.url, db.name, 'plain_owner', 'po');

    const check = await runTelltale(['migrate', '--check', '--store', url]);
    assert.equal(check.code, 1, check.stdout + check.stderr);
    assert.deepEqual(printedStatements(check.stdout), [
      'CREATE ROLE anon NOLOGIN NOINHERIT;',
      'CREATE ROLE authenticated NOLOGIN NOINHERIT;',
      'CREATE ROLE service_role NOLOGIN NOINHERIT;',
    ]);

    const r = await migrate(url);
    assert.equal(r.code, 1, `migrate should refuse:\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /nothing was changed/);
    const statements = printedStatements(r.stderr);
    assert.deepEqual(statements, printedStatements(check.stdout));
    assert.equal(await hasSchema(db.url), false, 'a refused migrate left a schema behind');

    // The statements as printed, run by a superuser, are exactly what was missing.
    for (const s of statements) {
      await sql(server.url, s);
    }
    const ok = await migrate(url);
    assert.equal(ok.code, 0, `migrate after the printed statements failed:\n${ok.stderr}`);
    assert.equal(ok.stdout, VERSION_LINE);
  });

  test('with CREATEROLE but not superuser: creates the missing roles (no BYPASSRLS needed)', { timeout: 60_000 }, async () => {
    const own = startPgServer(); // roles are per cluster: a fresh one has none of them
    try {
      const db = await createDatabase(own, 'creator');
      await sql(own.url, "CREATE ROLE role_maker LOGIN PASSWORD 'rm' CREATEROLE");
      await sql(own.url, `ALTER DATABASE ${db.name} OWNER TO role_maker`);
      const r = await migrate(loginUrl(own.url, db.name, 'role_maker', 'rm'));
      assert.equal(r.code, 0, `migrate failed:\n${r.stderr}`);
      const roles = await sql(own.url, `SELECT rolname FROM pg_roles
                                         WHERE rolname IN ('anon', 'authenticated', 'service_role') ORDER BY 1`);
      assert.deepEqual(roles.map((x) => x.rolname), ['anon', 'authenticated', 'service_role']);
    } finally {
      stopPgServer(own);
    }
  });

  test('a schema a superuser migrated: its owner is told to migrate as that superuser', { timeout: 60_000 }, async () => {
    const db = await createDatabase(server, 'supermig');
    await sql(server.url, "CREATE ROLE late_owner LOGIN PASSWORD 'lo' CREATEROLE");
    await sql(server.url, `ALTER DATABASE ${db.name} OWNER TO late_owner`);
    const first = await migrate(db.url); // as the superuser
    assert.equal(first.code, 0, first.stderr);
    // A newer telltale's migration pending: the newest one, taken back.
    await sql(db.url, 'DELETE FROM monitoring.schema_migrations WHERE version = $1', [NEWEST_VERSION]);
    const r = await migrate(loginUrl(server.url, db.name, 'late_owner', 'lo'));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /schema monitoring belongs to the superuser postgres: run telltale migrate as postgres/);
    assert.doesNotMatch(r.stderr, /GRANT postgres/, 'never advise membership in a superuser role');
    const rows = await sql(db.url, 'SELECT max(version)::int AS v FROM monitoring.schema_migrations');
    assert.equal(rows[0].v, NEWEST_VERSION - 1, 'nothing was changed');
  });

  test('each migration is all or nothing: one that fails half-way leaves no trace', { timeout: 60_000 }, async () => {
    const db = await createDatabase(server, 'atomic');
    // An object in the way of a migration's last table: it fails after creating the others.
    await sql(db.url, 'CREATE SCHEMA monitoring; CREATE TABLE monitoring.metrics_rollup (x int)');
    // The migration that creates it, found by its text (numbers change when branches merge).
    const m = MIGRATIONS.find((x) => readFileSync(path.join(REPO, 'migrations', 'postgres', `${x.name}.sql`), 'utf8')
      .includes('CREATE TABLE monitoring.metrics_rollup'));
    const r = await migrate(db.url);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`migration ${m.name} failed: .*metrics_rollup.* already exists`));
    const v = await sql(db.url, 'SELECT max(version)::int AS v FROM monitoring.schema_migrations');
    assert.equal(v[0].v, m.version - 1, 'the versions before it are kept');
    const t = await sql(db.url, `SELECT to_regclass('monitoring.feature_flags') IS NULL AS gone,
                                        to_regclass('monitoring.dashboard_state') IS NULL AS gone2`);
    assert.deepEqual(t, [{ gone: true, gone2: true }], 'nothing of 0003 is left');
    await sql(db.url, 'DROP TABLE monitoring.metrics_rollup');
    const ok = await migrate(db.url);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, VERSION_LINE);
  });

  test('the first migration is all or nothing too: a fresh database keeps no migrations table', { timeout: 60_000 }, async () => {
    const db = await createDatabase(server, 'atomicfirst');
    // In the way of 0001's events table: 0001 fails on a database with no migrations table.
    await sql(db.url, 'CREATE SCHEMA monitoring; CREATE TABLE monitoring.monitoring_events (x int)');
    const r = await migrate(db.url);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /migration 0001_events failed/);
    const t = await sql(db.url, "SELECT to_regclass('monitoring.schema_migrations') IS NULL AS gone");
    assert.deepEqual(t, [{ gone: true }], 'the migrations table came and went with 0001');
    await sql(db.url, 'DROP TABLE monitoring.monitoring_events');
    const ok = await migrate(db.url);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, VERSION_LINE);
  });

  test('without CREATE on the database: the GRANT to run, nothing changed', { timeout: 60_000 }, async () => {
    const db = await createDatabase(server, 'nocreate');
    await sql(server.url, "CREATE ROLE guest_user LOGIN PASSWORD 'gu'");
    await sql(db.url, 'REVOKE CREATE ON DATABASE ' + db.name + ' FROM PUBLIC');
    const url = loginUrl(server.url, db.name, 'guest_user', 'gu');
    const r = await migrate(url);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.deepEqual(printedStatements(r.stderr), [`GRANT CREATE ON DATABASE ${db.name} TO guest_user;`]);
    assert.equal(await hasSchema(db.url), false);
    await sql(db.url, `GRANT CREATE ON DATABASE ${db.name} TO guest_user`);
    const ok = await migrate(url);
    assert.equal(ok.code, 0, ok.stderr);
  });
});
