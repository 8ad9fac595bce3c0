/* pg_migrate.c -- telltale migrate on PostgreSQL: what the database lacks before a migration can
 * run, and the migrations themselves, each in one transaction.
 *
 * The users' databases are rarely owned by a superuser: Supabase's `postgres` is not one, and a
 * self-hosted database is best migrated by its owner. So before the first statement, a preflight
 * asks the catalog whether this role can do what the pending migrations do -- create the schema
 * and the publication (CREATE on the database), create the roles anon, authenticated and
 * service_role where they are missing (CREATEROLE), change the schema (own it) -- and when it
 * cannot, nothing is changed and the caller gets the exact statements a privileged role must
 * run. Everything else the migrations do (tables, policies, grants on our own objects) needs
 * only ownership. */
#include "store/pg_internal.h"

#include "store/migrations.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIGRATE_LOCK "7460513317" /* advisory lock key: telltale migrate */
#define MIGRATE_TIMEOUT_MS 3600000

/* One row: what this role may do, and what the database has already. */
static const char PREFLIGHT[] =
    "SELECT r.rolsuper OR r.rolcreaterole, "
    "       has_database_privilege(current_database(), 'CREATE'), "
    "       EXISTS (SELECT FROM pg_namespace WHERE nspname = 'monitoring'), "
    "       coalesce((SELECT pg_has_role(nspowner, 'USAGE') FROM pg_namespace "
    "                  WHERE nspname = 'monitoring'), true), "
    "       coalesce((SELECT quote_ident(nspowner::regrole::text) FROM pg_namespace "
    "                  WHERE nspname = 'monitoring'), ''), "
    "       EXISTS (SELECT FROM pg_publication WHERE pubname = 'telltale_events'), "
    "       coalesce((SELECT string_agg(x, ' ' ORDER BY o) "
    "                   FROM unnest(ARRAY['anon', 'authenticated', 'service_role']) "
    "                        WITH ORDINALITY AS t(x, o) "
    "                  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = x)), ''), "
    "       quote_ident(current_user), quote_ident(current_database()), "
    "       coalesce((SELECT o.rolsuper FROM pg_namespace n JOIN pg_roles o ON o.oid = n.nspowner "
    "                  WHERE n.nspname = 'monitoring'), false) "
    "  FROM pg_roles r WHERE r.rolname = current_user";

enum {
    CAN_CREATE_ROLES,
    CAN_CREATE,
    HAS_SCHEMA,
    OWNS_SCHEMA,
    OWNER,
    HAS_PUB,
    ROLES,
    ME,
    DB,
    OWNER_IS_SUPER
};

static void add(store_migration_plan *plan, const char *fmt, const char *a, const char *b)
{
    size_t n = strlen(plan->missing);
    snprintf(plan->missing + n, sizeof plan->missing - n, fmt, a, b);
}

/* Fills plan->missing with what must be granted before the pending migrations can run. */
static int preflight(const pg_store *s, PGconn *conn, store_migration_plan *plan, char *err)
{
    PGresult *res = pg_call(s, conn, PREFLIGHT, 0, NULL);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        return pg_fail(conn, res, "checking privileges", err);
    }
#define YES(col) (PQgetvalue(res, 0, (col))[0] == 't')
    const char *me = PQgetvalue(res, 0, ME);
    if (!YES(CAN_CREATE_ROLES)) {
        char roles[64];
        snprintf(roles, sizeof roles, "%s", PQgetvalue(res, 0, ROLES));
        for (char *save = NULL, *r = strtok_r(roles, " ", &save); r != NULL;
             r = strtok_r(NULL, " ", &save)) {
            add(plan, "CREATE ROLE %s NOLOGIN NOINHERIT;%s\n", r, "");
        }
    }
    if (!YES(CAN_CREATE) && (!YES(HAS_SCHEMA) || !YES(HAS_PUB))) {
        add(plan, "GRANT CREATE ON DATABASE %s TO %s;\n", PQgetvalue(res, 0, DB), me);
    }
    if (!YES(OWNS_SCHEMA) && YES(OWNER_IS_SUPER)) {
        /* Membership in a superuser role is not something to hand out: migrate as it. */
        add(plan, "-- schema monitoring belongs to the superuser %s: run telltale migrate as %s\n",
            PQgetvalue(res, 0, OWNER), PQgetvalue(res, 0, OWNER));
    } else if (!YES(OWNS_SCHEMA)) {
        add(plan,
            "GRANT %s TO %s;  -- the owner of schema monitoring, whose objects migrations "
            "change\n",
            PQgetvalue(res, 0, OWNER), me);
    }
#undef YES
    PQclear(res);
    return 0;
}

/* The schema and the migrations table, created inside the first migration's transaction. */
static const char bootstrap_sql[] =
    "CREATE SCHEMA IF NOT EXISTS monitoring; "
    "CREATE TABLE IF NOT EXISTS monitoring.schema_migrations (version integer PRIMARY KEY, name "
    "text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())";

/* Applies 'm' in one transaction with its record in schema_migrations ('bootstrap': creating
 * the schema and that table first, in the same transaction). */
static int apply_migration(const pg_store *s, PGconn *conn, const migration *m, bool bootstrap,
                           char *err)
{
    char version[16];
    snprintf(version, sizeof version, "%d", m->version);
    const char *params[] = {version, m->name};
    int rc = pg_exec(s, conn, "BEGIN", err);
    if (rc == 0 && bootstrap) {
        rc = pg_exec(s, conn, bootstrap_sql, err);
    }
    if (rc == 0 && (rc = pg_exec(s, conn, m->sql, err)) == 0) {
        PGresult *res = pg_call(s, conn,
                                "INSERT INTO monitoring.schema_migrations (version, name) "
                                "VALUES ($1, $2)",
                                2, params);
        rc = PQresultStatus(res) == PGRES_COMMAND_OK ? (PQclear(res), 0)
                                                     : pg_fail(conn, res, "recording", err);
    }
    if (rc == 0) {
        rc = pg_exec(s, conn, "COMMIT", err);
    }
    if (rc != 0) {
        char ignored[TT_ERRLEN];
        pg_exec(s, conn, "ROLLBACK", ignored);
        char detail[TT_ERRLEN];
        snprintf(detail, sizeof detail, "%s", err);
        tt_fail(err, rc, "migration %s failed: %s", m->name, detail);
    }
    return rc;
}

/* The migrations table and the schema come with the first migration's transaction: a migration
 * that cannot run leaves no trace, not even an empty schema. */
static int apply_pending(const pg_store *s, PGconn *conn, store_migration_plan *plan, char *err)
{
    int rc = 0;
    for (size_t i = 0; i < postgres_migrations_count && rc == 0; i++) {
        const migration *m = &postgres_migrations[i];
        if (m->version <= plan->version) {
            continue;
        }
        if ((rc = apply_migration(s, conn, m, plan->version == 0, err)) == 0) {
            plan->version = m->version;
        }
    }
    plan->pending[0] = '\0';
    if (rc != 0) { /* what is still pending; the version was known good before */
        char ignored[TT_ERRLEN];
        (void)store_plan_pending(plan, postgres_migrations, postgres_migrations_count, ignored);
    }
    return rc;
}

static int migrate_locked(const pg_store *s, PGconn *conn, bool apply, store_migration_plan *plan,
                          char *err)
{
    int rc = pg_schema_version(s, conn, &plan->version, err);
    if (rc != 0) {
        /* Often because the schema is another role's: say so, as for any missing privilege. */
        char ignored[TT_ERRLEN];
        if (preflight(s, conn, plan, ignored) != 0 || plan->missing[0] == '\0') {
            return rc;
        }
        plan->newest = pg_newest_migration();
        plan->version = -1;
        snprintf(plan->pending, sizeof plan->pending, "unknown: this role cannot read the version");
        return apply ? tt_fail(err, TT_EREJECTED, "privileges missing: nothing was changed") : 0;
    }
    if ((rc = store_plan_pending(plan, postgres_migrations, postgres_migrations_count, err)) != 0) {
        return rc;
    }
    if (plan->pending[0] == '\0') {
        return 0;
    }
    if ((rc = preflight(s, conn, plan, err)) != 0) {
        return rc;
    }
    if (plan->missing[0] != '\0') {
        return apply ? tt_fail(err, TT_EREJECTED, "privileges missing: nothing was changed") : 0;
    }
    return apply ? apply_pending(s, conn, plan, err) : 0;
}

int store_pg_migrate(const char *url, bool apply, store_migration_plan *plan, char *err)
{
    /* A migration may build indexes over big tables: it gets longer than a statement of the
     * daemon, and nothing interrupts it. */
    pg_store m = {.url = (char *)url, .timeout_ms = MIGRATE_TIMEOUT_MS, .interrupt_fd = -1};
    PGconn *conn;
    int rc = pg_open_conn(&m, &conn, err);
    if (rc != 0) {
        return rc;
    }
    if (!apply) {
        rc = migrate_locked(&m, conn, false, plan, err);
    } else if ((rc = pg_exec(&m, conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK ")", err)) == 0) {
        /* Two instances migrating at once take turns: the second finds nothing left to do. */
        rc = migrate_locked(&m, conn, true, plan, err);
        char ignored[TT_ERRLEN];
        pg_exec(&m, conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")", ignored);
    }
    PQfinish(conn);
    return rc;
}
