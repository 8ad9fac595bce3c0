// pg.mjs -- a real PostgreSQL for the schema suites: the server, one fresh database per test
// file migrated by the real `telltale migrate`, role switching as PostgREST/Supabase do it,
// and assertions on SQLSTATEs.
//
// The server is $TT_PG_URL (a superuser URL; the Makefile starts one with scripts/pg-server).
// Without it, each test file starts its own with `scripts/pg-server start --fast` and stops it
// when the file is done, so `node --test tests/pg/` works on its own. The binary is
// $TELLTALE_BIN, default <repo>/build/telltale.
//
// Nothing here sleeps for a fixed time as a condition: waits poll a condition with a deadline
// and fail naming what they waited for.

import assert from 'node:assert/strict';
import { after } from 'node:test';
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = process.env.TELLTALE_BIN || path.join(REPO, 'build', 'telltale');
const PG_SERVER = path.join(REPO, 'scripts', 'pg-server');

// int8 and numeric as numbers: every id, count and average in these tests is small.
pg.types.setTypeParser(20, Number);
pg.types.setTypeParser(1700, Number);

export { pg };

// The migrations telltale embeds, from the same directory it embeds them from.
export const MIGRATIONS = readdirSync(path.join(REPO, 'migrations', 'postgres'))
  .filter((f) => /^\d{4}_.*\.sql$/.test(f))
  .sort()
  .map((f) => ({ version: Number(f.slice(0, 4)), name: f.replace(/\.sql$/, '') }));
export const NEWEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls fn until it returns a truthy value, which it returns; throws after timeoutMs.
export async function waitFor(what, fn, { timeoutMs = 10_000, intervalMs = 20 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) {
        return last;
      }
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const seen = last instanceof Error ? last.message : JSON.stringify(last)?.slice(0, 500);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${seen})`);
    }
    await sleep(intervalMs);
  }
}

// ---- servers ----

const startedServers = new Set();

// Nothing this process started may outlive it, whatever failed.
process.on('exit', () => {
  for (const dir of startedServers) {
    try {
      execFileSync(PG_SERVER, ['stop', dir], { stdio: 'ignore' });
    } catch {
      /* best effort */
    }
  }
});

// Starts a throwaway PostgreSQL 15 (fsync off); returns {url, dir}.
export function startPgServer() {
  const out = execFileSync(PG_SERVER, ['start', '--fast'], { encoding: 'utf8', timeout: 90_000 });
  const vars = Object.fromEntries(
    out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  assert.ok(vars.TT_PG_DIR && vars.TT_PG_URL, `pg-server start printed: ${out}`);
  startedServers.add(vars.TT_PG_DIR);
  return { url: vars.TT_PG_URL, dir: vars.TT_PG_DIR };
}

export function stopPgServer(server) {
  if (server.dir && startedServers.has(server.dir)) {
    execFileSync(PG_SERVER, ['stop', server.dir], { stdio: 'ignore', timeout: 60_000 });
    startedServers.delete(server.dir);
  }
}

let sharedServer = null;

// The server for this test file: $TT_PG_URL, or one started for this file and stopped after it.
export function testServer() {
  if (sharedServer === null) {
    if (process.env.TT_PG_URL) {
      sharedServer = { url: process.env.TT_PG_URL, dir: null };
    } else {
      // Stopped when the process exits (see above), after every after() hook of the file has
      // dropped its databases; a signal exits through the same path.
      sharedServer = startPgServer();
      for (const sig of ['SIGINT', 'SIGTERM']) {
        process.once(sig, () => process.exit(128 + (sig === 'SIGINT' ? 2 : 15)));
      }
    }
  }
  return sharedServer;
}

// ---- databases ----

export function urlFor(serverUrl, dbname) {
  const u = new URL(serverUrl);
  u.pathname = `/${dbname}`;
  return u.toString();
}

export async function connect(url) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

let dbCount = 0;

// A new, empty database on server; returns {name, url, drop()}.
export async function createDatabase(server, label = 'db') {
  dbCount += 1; // taken before any await, so concurrent calls never share a name
  const tag = label.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 20);
  const name = `tt_pg_${tag}_${process.pid}_${Date.now().toString(36)}_${dbCount}`;
  const admin = await connect(server.url);
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: urlFor(server.url, name),
    async drop() {
      const a = await connect(server.url);
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}

// Runs the telltale binary; resolves {code, signal, stdout, stderr}. A process still running
// after timeoutMs is killed and reported as such (code null, signal SIGKILL).
export function runTelltale(args, { timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export const migrate = (url) => runTelltale(['migrate', '--store', url]);

// Until migrate tolerates it, two `telltale migrate` runs on two databases of one cluster can
// both try CREATE ROLE (roles are per cluster, telltale's advisory lock per database): see
// migrations.test.mjs. The test files take turns here, on a lock of their own in the
// maintenance database, so that defect shows up in its own test and nowhere else.
const HARNESS_LOCK = 7460519901;
export async function withClusterLock(server, fn) {
  const c = await connect(server.url);
  try {
    await c.query('SELECT pg_advisory_lock($1)', [HARNESS_LOCK]);
    return await fn();
  } finally {
    await c.end(); // ends the session, which releases the lock
  }
}

// The test file's database: fresh, migrated by the real binary, dropped after the file.
// Returns {server, name, url, admin, connect()}: admin is a superuser client on that database,
// connect() opens another; all of them are closed before the database is dropped.
export async function migratedDatabase(label) {
  const server = testServer();
  const db = await createDatabase(server, label);
  const r = await withClusterLock(server, () => migrate(db.url));
  assert.equal(r.code, 0, `telltale migrate failed:\n${r.stderr}`);
  const clients = [];
  const open = async () => {
    const c = await connect(db.url);
    clients.push(c);
    return c;
  };
  const admin = await open();
  after(async () => {
    for (const c of clients) {
      await c.end();
    }
    await db.drop();
  });
  return { server, ...db, admin, connect: open };
}

// ---- roles and errors ----

export const ROLES = ['anon', 'authenticated', 'service_role'];

// Runs fn inside a transaction as `role`, the way PostgREST does it (SET LOCAL ROLE, JWT claims
// in request.jwt.claims), and rolls everything back afterwards. claims: an object, or null
// for none. fn may RESET ROLE to look at the result as the superuser before the rollback.
export async function asRole(client, role, claims, fn) {
  assert.ok(ROLES.includes(role), `unknown role ${role}`);
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL ROLE ${role}`);
    if (claims !== null) {
      await client.query("SELECT set_config('request.jwt.claims', $1, true)", [
        JSON.stringify(claims),
      ]);
    }
    return await fn();
  } finally {
    await client.query('ROLLBACK');
  }
}

// Awaits promise and asserts it failed with SQLSTATE code (and a message matching re).
export async function rejectsWith(promise, code, re) {
  let err = null;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err !== null, `expected SQLSTATE ${code}${re ? ` (${re})` : ''}, but it succeeded`);
  assert.equal(err.code, code, `expected SQLSTATE ${code}, got ${err.code}: ${err.message}`);
  if (re) {
    assert.match(err.message, re);
  }
  return err;
}

export const PERMISSION_DENIED = '42501';
export const CHECK_VIOLATION = '23514';

// ---- catalog ----

// Everything migrate creates or changes in schema monitoring, as one comparable object. With
// withOids the objects' identities are included too, so a drop-and-recreate shows up.
export async function schemaSnapshot(client, { withOids = false } = {}) {
  const q = async (sql) => (await client.query(sql)).rows;
  const oid = (col) => (withOids ? `, ${col}::bigint AS oid` : '');
  return {
    relations: await q(`
      SELECT c.relname, c.relkind, c.relacl::text AS acl, c.relrowsecurity,
             c.relforcerowsecurity, pg_get_userbyid(c.relowner) AS owner ${oid('c.oid')}
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'monitoring' ORDER BY c.relname`),
    columns: await q(`
      SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type,
             a.attnotnull, a.attidentity, pg_get_expr(d.adbin, d.adrelid) AS def
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE n.nspname = 'monitoring' AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY c.relname, a.attnum`),
    constraints: await q(`
      SELECT conrelid::regclass::text AS rel, conname,
             pg_get_constraintdef(oid) AS def ${oid('oid')}
        FROM pg_constraint WHERE connamespace = 'monitoring'::regnamespace
       ORDER BY 1, 2`),
    indexes: await q(`SELECT indexname, indexdef FROM pg_indexes
                       WHERE schemaname = 'monitoring' ORDER BY indexname`),
    policies: await q(`
      SELECT tablename, policyname, permissive, roles::text, cmd, qual, with_check
        FROM pg_policies WHERE schemaname = 'monitoring' ORDER BY tablename, policyname`),
    functions: await q(`
      SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args,
             pg_get_function_result(p.oid) AS result, p.proacl::text AS acl,
             p.prosecdef, p.provolatile, md5(p.prosrc) AS src ${oid('p.oid')}
        FROM pg_proc p WHERE p.pronamespace = 'monitoring'::regnamespace
       ORDER BY 1, 2`),
    views: await q(`SELECT viewname, definition FROM pg_views
                     WHERE schemaname = 'monitoring' ORDER BY viewname`),
    schema: await q(`SELECT nspacl::text AS acl, pg_get_userbyid(nspowner) AS owner
                       FROM pg_namespace WHERE nspname = 'monitoring'`),
    defaultAcl: await q(`SELECT defaclobjtype, defaclacl::text AS acl FROM pg_default_acl
                          WHERE defaclnamespace = 'monitoring'::regnamespace ORDER BY 1`),
    publications: await q(`
      SELECT p.pubname, p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate,
             (SELECT array_agg(schemaname || '.' || tablename ORDER BY 1)::text
                FROM pg_publication_tables t WHERE t.pubname = p.pubname) AS tables
        FROM pg_publication p ORDER BY p.pubname`),
    roles: await q(`SELECT rolname, rolsuper, rolinherit, rolcanlogin, rolbypassrls
                      FROM pg_roles WHERE rolname IN ('anon', 'authenticated', 'service_role')
                     ORDER BY rolname`),
  };
}
