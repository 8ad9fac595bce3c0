/* pg_conn.c -- the PostgreSQL store's connections: making one (timeouts, keepalives, quiet
 * notices), the persister's writer with its staging table, the pool of readers any thread may
 * take, and what a failure means (worth a retry, or the data's fault). Shared by the events,
 * DLQ and REST parts of the engine. */
#include "store/pg_internal.h"

#include "os/log.h"
#include "store/migrations.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SQLSTATEs a retry can outlive: connection trouble (08), resources (53), an operator or
 * crash shutting the server down (57P0x), serialization and deadlock (40001, 40P01), and our
 * own statement timeout (57014). Anything else is the data's or the schema's fault. */
static int classify(const char *sqlstate)
{
    if (sqlstate == NULL || strncmp(sqlstate, "08", 2) == 0 || strncmp(sqlstate, "53", 2) == 0 ||
        strncmp(sqlstate, "57P0", 4) == 0 || strcmp(sqlstate, "57014") == 0 ||
        strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0) {
        return TT_EUNAVAILABLE;
    }
    return TT_EREJECTED;
}

bool pg_login_refused(const char *err)
{
    const char *fatal = strstr(err, "FATAL:");
    if (fatal == NULL) {
        return false; /* no answer at all: refused, timed out, unknown host */
    }
    const char *p = fatal + strlen("FATAL:");
    p += strspn(p, " ");
    char state[6];
    size_t n = strspn(p, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    if (n != 5 || p[5] != ':') {
        return false;
    }
    memcpy(state, p, 5);
    state[5] = '\0';
    return classify(state) == TT_EREJECTED;
}

/* Fills 'err' from 'res' (or the connection) and returns the class of the failure. Clears
 * 'res'. */
int pg_fail(PGconn *conn, PGresult *res, const char *what, char *err)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res != NULL ? PQresultErrorMessage(res) : "";
    char cut[96];
    if (pg_take_cut_reason(cut, sizeof cut) != NULL) {
        msg = cut; /* truer than libpq's "server closed the connection" */
        state = NULL;
    } else if (msg == NULL || msg[0] == '\0') {
        msg = conn != NULL ? PQerrorMessage(conn) : "no connection";
    }
    int code = classify(state);
    tt_fail(err, code, "postgres %s: %s%s%.*s", what, state ? state : "", state ? " " : "",
            (int)strcspn(msg, "\n"), msg);
    PQclear(res);
    return code;
}

/* Runs 'sql' (no parameters, no rows wanted). */
int pg_exec(const pg_store *s, PGconn *conn, const char *sql, char *err)
{
    PGresult *res = pg_call(s, conn, sql, 0, NULL);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        return pg_fail(conn, res, "exec", err);
    }
    PQclear(res);
    return 0;
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* The connection's statement_timeout, from s->timeout_ms. */
int pg_apply_timeout(const pg_store *s, PGconn *conn, char *err)
{
    char set[64];
    snprintf(set, sizeof set, "SET statement_timeout = %u", s->timeout_ms);
    return pg_exec(s, conn, set, err);
}

int pg_open_conn(const pg_store *s, PGconn **out, char *err)
{
    /* Defaults first, so that the URL's own parameters win. TCP keepalives notice a server
     * that vanished without closing (in about 25 s). */
    const char *keys[] = {"application_name",
                          "connect_timeout",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "dbname",
                          NULL};
    const char *values[] = {"telltale", "10", "10", "5", "3", s->url, NULL};
    PGconn *conn;
    int rc = pg_connect(s, keys, values, &conn, err);
    if (rc != 0) {
        return rc;
    }
    PQsetErrorVerbosity(conn, PQERRORS_DEFAULT);
    PQsetNoticeProcessor(conn, ignore_notice, NULL); /* "already exists, skipping" and such */
    rc = pg_apply_timeout(s, conn, err);
    if (rc != 0) {
        PQfinish(conn);
        return rc;
    }
    *out = conn;
    return 0;
}

/* ---- the schema version ---- */

int pg_newest_migration(void)
{
    return postgres_migrations[postgres_migrations_count - 1].version;
}

int pg_schema_version(const pg_store *s, PGconn *conn, int *out, char *err)
{
    /* Two queries: PostgreSQL resolves every table a statement names before running it, so
     * one statement cannot ask "does the table exist, and if so what is in it". */
    PGresult *res =
        pg_call(s, conn, "SELECT to_regclass('monitoring.schema_migrations') IS NOT NULL", 0, NULL);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        return pg_fail(conn, res, "reading the schema version", err);
    }
    bool migrated = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    *out = 0;
    if (!migrated) {
        return 0;
    }
    res = pg_call(s, conn, "SELECT coalesce(max(version), 0) FROM monitoring.schema_migrations", 0,
                  NULL);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        return pg_fail(conn, res, "reading the schema version", err);
    }
    *out = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int pg_check_schema(pg_store *s, PGconn *conn, char *err)
{
    int v = 0, want = pg_newest_migration();
    int rc = pg_schema_version(s, conn, &v, err);
    if (rc != 0) {
        return rc;
    }
    s->base.schema_version = v;
    if (v < want) {
        return tt_fail(err, TT_ESCHEMA,
                       "the PostgreSQL schema is at version %d; this telltale needs %d: run "
                       "'telltale migrate' with the same --store first",
                       v, want);
    }
    if (v > want) {
        return tt_fail(err, TT_ESCHEMA,
                       "the PostgreSQL schema is at version %d, newer than this telltale "
                       "knows (%d): use a newer telltale",
                       v, want);
    }
    return 0;
}

/* A writer connection with its staging table, reconnecting if the last one broke. */
int pg_writer_ready(pg_store *s, char *err)
{
    if (s->writer != NULL && PQstatus(s->writer) == CONNECTION_OK) {
        return 0;
    }
    PQfinish(s->writer);
    s->writer = NULL;
    PGconn *conn = NULL; /* pg_open_conn() sets it only when it succeeds */
    int rc = pg_open_conn(s, &conn, err);
    if (rc == 0) {
        rc = pg_exec(s, conn,
                     "CREATE TEMPORARY TABLE telltale_staging (ord integer NOT NULL, id text, "
                     "ts timestamptz, received_at timestamptz, type text, source text, "
                     "session_id text, name text, status text, duration_ms double precision, "
                     "bytes bigint, value double precision, error text, attrs json) "
                     "ON COMMIT DELETE ROWS",
                     err);
    }
    if (rc == 0 && !s->schema_checked && (rc = pg_check_schema(s, conn, err)) == 0) {
        s->schema_checked = true;
    }
    if (rc != 0) {
        PQfinish(conn);
        /* After start-up a wrong schema holds the writes back (in the spool) until someone
         * runs telltale migrate, as an outage would: refusing them would dead-letter them. */
        if (rc == TT_ESCHEMA && s->opened) {
            if (!s->schema_logged) {
                log_error("%s; events wait in the spool until then", err);
                s->schema_logged = true;
            }
            return TT_EUNAVAILABLE;
        }
        return rc;
    }
    s->writer = conn;
    return 0;
}

/* ---- reads ---- */

PGconn *pg_reader_take(pg_store *s, char *err)
{
    PGconn *conn = NULL;
    pthread_mutex_lock(&s->readers_lock);
    if (s->nidle > 0) {
        conn = s->idle[--s->nidle];
    }
    pthread_mutex_unlock(&s->readers_lock);
    if (conn != NULL && PQstatus(conn) != CONNECTION_OK) {
        PQfinish(conn); /* broke while idle (a server restart): start afresh */
        conn = NULL;
    }
    if (conn == NULL && pg_open_conn(s, &conn, err) != 0) {
        return NULL;
    }
    return conn;
}

void pg_reader_give_back(pg_store *s, PGconn *conn)
{
    if (PQstatus(conn) == CONNECTION_OK) {
        pthread_mutex_lock(&s->readers_lock);
        if (s->nidle < READERS_MAX) {
            s->idle[s->nidle++] = conn;
            conn = NULL;
        }
        pthread_mutex_unlock(&s->readers_lock);
    }
    PQfinish(conn);
}

/* Whether 'res' says the connection itself is gone: libpq saw it close, or the server said so
 * first (SQLSTATE class 08, or 57P01-57P03: an administrator's or a crash's shutdown), which
 * libpq may report before it notices the end of the stream. */
static bool reader_lost(const PGresult *res, PGconn *conn)
{
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_FATAL_ERROR && st != PGRES_BAD_RESPONSE) {
        return false;
    }
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return PQstatus(conn) != CONNECTION_OK ||
           (state != NULL && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0));
}

/* Closes every idle reader: when one was found dead, the others died with it (a restart, an
 * administrator's pg_terminate_backend). */
static void readers_drop_idle(pg_store *s)
{
    pthread_mutex_lock(&s->readers_lock);
    while (s->nidle > 0) {
        PQfinish(s->idle[--s->nidle]);
    }
    pthread_mutex_unlock(&s->readers_lock);
}

PGresult *pg_reader_exec(pg_store *s, const char *sql, int nparams, const char *const *params,
                         PGconn **conn, char *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if ((*conn = pg_reader_take(s, err)) == NULL) {
            return NULL;
        }
        PGresult *res = pg_call(s, *conn, sql, nparams, params);
        if (!reader_lost(res, *conn) || pg_was_cut() || attempt == 1) {
            return res;
        }
        PQclear(res); /* it had died while idle: once more, on a fresh connection */
        PQfinish(*conn);
        readers_drop_idle(s);
    }
    return NULL;
}
