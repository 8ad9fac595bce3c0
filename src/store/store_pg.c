/* store_pg.c -- the PostgreSQL store over libpq (self-hosted or Supabase).
 *
 * Writes: store_pg_write.c (one connection, the persister thread's).
 *
 * Reads. A small pool of connections for queries from any thread. */
#include "store/pg_internal.h"

#include "core/timefmt.h"
#include "os/log.h"
#include "store/migrations.h"

#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 10000 /* until store_set_timeout() */

#define EVENT_COLUMNS                                                                              \
    "seq, id, (extract(epoch FROM ts) * 1000)::bigint, "                                           \
    "(extract(epoch FROM received_at) * 1000)::bigint, type, source, session_id, name, status, "   \
    "duration_ms, bytes, value, error, attrs::text"

static int pg_delete_before(store *base, int64_t before_ms, uint32_t max_rows, uint64_t *deleted,
                            char *err)
{
    pg_store *s = (pg_store *)base;
    *deleted = 0;
    int rc = pg_writer_ready(s, err);
    if (rc != 0) {
        return rc;
    }
    char before[TIMEFMT_LEN], limit[16];
    timefmt_format(before_ms, before);
    snprintf(limit, sizeof limit, "%u", max_rows);
    const char *params[] = {before, limit};
    PGresult *res = pg_call(s, s->writer,
                            "DELETE FROM monitoring.monitoring_events WHERE seq IN (SELECT "
                            "seq FROM monitoring.monitoring_events WHERE ts < $1 LIMIT $2)",
                            2, params);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        return pg_fail(s->writer, res, "delete", err);
    }
    *deleted = strtoull(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return 0;
}

/* after, since, until, each text filter's values, limit */
#define QUERY_PARAMS_MAX (4 + EVENT_FILTER_COLUMNS * (EVENT_FILTER_ANY_MAX + 1))

typedef struct query_params {
    const char *values[QUERY_PARAMS_MAX];
    char bufs[QUERY_PARAMS_MAX][TIMEFMT_LEN + 8];
    int n;
} query_params;

/* Adds a parameter and returns its placeholder number. */
static int param_text(query_params *p, const char *v)
{
    p->values[p->n] = v;
    return ++p->n;
}

static int param_int(query_params *p, long long v)
{
    snprintf(p->bufs[p->n], sizeof p->bufs[p->n], "%lld", v);
    return param_text(p, p->bufs[p->n]);
}

static int param_time(query_params *p, int64_t ms)
{
    timefmt_format(ms, p->bufs[p->n]);
    return param_text(p, p->bufs[p->n]);
}

/* Builds the query for 'f' from fixed fragments; values travel as parameters, never as text
 * in the SQL. */
static void build_query(const event_filter *f, char *sql, size_t len, query_params *p)
{
    int w = snprintf(sql, len,
                     "SELECT " EVENT_COLUMNS " FROM monitoring.monitoring_events "
                     "WHERE true");
    if (f->has_after) {
        w += snprintf(sql + w, len - (size_t)w, " AND seq > $%d", param_int(p, f->after_seq));
    }
    if (f->has_since) {
        w += snprintf(sql + w, len - (size_t)w, " AND ts >= $%d", param_time(p, f->since_ms));
    }
    if (f->has_until) {
        w += snprintf(sql + w, len - (size_t)w, " AND ts < $%d", param_time(p, f->until_ms));
    }
    for (int c = 0; c < EVENT_FILTER_COLUMNS; c++) {
        const char *values[EVENT_FILTER_ANY_MAX + 1];
        int n = event_filter_values(f, (event_filter_column)c, values);
        for (int i = 0; i < n; i++) {
            int at = param_text(p, values[i]);
            w += i == 0 ? snprintf(sql + w, len - (size_t)w, " AND %s IN ($%d",
                                   event_filter_column_name((event_filter_column)c), at)
                        : snprintf(sql + w, len - (size_t)w, ", $%d", at);
        }
        if (n > 0) {
            w += snprintf(sql + w, len - (size_t)w, ")");
        }
    }
    snprintf(sql + w, len - (size_t)w, " ORDER BY seq %s LIMIT $%d", f->has_after ? "ASC" : "DESC",
             param_int(p, f->limit));
}

static const char *value_or_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static void row_to_event(const PGresult *res, int r, tt_event *ev)
{
    *ev = (tt_event){0};
    ev->seq = atoll(PQgetvalue(res, r, 0));
    snprintf(ev->id, sizeof ev->id, "%s", PQgetvalue(res, r, 1));
    ev->ts_ms = atoll(PQgetvalue(res, r, 2));
    ev->received_ms = atoll(PQgetvalue(res, r, 3));
    ev->type = value_or_null(res, r, 4);
    ev->source = value_or_null(res, r, 5);
    ev->session_id = value_or_null(res, r, 6);
    ev->name = value_or_null(res, r, 7);
    ev->status = value_or_null(res, r, 8);
    if (!PQgetisnull(res, r, 9)) {
        ev->duration_ms = strtod(PQgetvalue(res, r, 9), NULL);
        ev->has |= EVENT_HAS_DURATION;
    }
    if (!PQgetisnull(res, r, 10)) {
        ev->bytes = atoll(PQgetvalue(res, r, 10));
        ev->has |= EVENT_HAS_BYTES;
    }
    if (!PQgetisnull(res, r, 11)) {
        ev->value = strtod(PQgetvalue(res, r, 11), NULL);
        ev->has |= EVENT_HAS_VALUE;
    }
    ev->error = value_or_null(res, r, 12);
    ev->attrs = value_or_null(res, r, 13);
}

static int pg_query_events(store *base, const event_filter *f, store_row_fn fn, void *ctx,
                           char *err)
{
    pg_store *s = (pg_store *)base;
    char sql[2048];
    query_params p = {.n = 0};
    build_query(f, sql, sizeof sql, &p);
    PGconn *conn;
    PGresult *res = pg_reader_exec(s, sql, p.n, p.values, &conn, err);
    if (res == NULL) {
        return TT_EUNAVAILABLE;
    }
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg_fail(conn, res, "query", err);
        res = NULL;
    }
    tt_event ev;
    for (int r = 0; res != NULL && r < PQntuples(res); r++) {
        row_to_event(res, r, &ev);
        if (fn(&ev, ctx) != 0) {
            break;
        }
    }
    PQclear(res);
    pg_reader_give_back(s, conn);
    return rc;
}

/* Runs a one-value query on a reader and returns it as an integer. */
static int query_int(pg_store *s, const char *sql, int64_t *out, char *err)
{
    PGconn *conn;
    PGresult *res = pg_reader_exec(s, sql, 0, NULL, &conn, err);
    if (res == NULL) {
        return TT_EUNAVAILABLE;
    }
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        rc = pg_fail(conn, res, "query", err);
    } else {
        *out = atoll(PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    pg_reader_give_back(s, conn);
    return rc;
}

static int pg_max_seq(store *base, int64_t *out, char *err)
{
    return query_int((pg_store *)base,
                     "SELECT coalesce(max(seq), 0) FROM monitoring.monitoring_events", out, err);
}

static void pg_close(store *base)
{
    pg_store *s = (pg_store *)base;
    PQfinish(s->writer);
    for (int i = 0; i < s->nidle; i++) {
        PQfinish(s->idle[i]);
    }
    pthread_mutex_destroy(&s->readers_lock);
    if (s->interrupt_fd >= 0) {
        close(s->interrupt_fd);
    }
    free(s->url);
    free(s);
}

/* Called right after opening, before any other thread uses the store: the writer made by the
 * open keeps its connection and gets the new statement_timeout (reconnecting would repeat the
 * whole start-up); idle readers are dropped and come back with it. */
static void pg_set_timeout(store *base, uint32_t ms)
{
    pg_store *s = (pg_store *)base;
    char err[TT_ERRLEN];
    s->timeout_ms = ms;
    if (s->writer != NULL && pg_apply_timeout(s, s->writer, err) != 0) {
        PQfinish(s->writer); /* made again, with the timeout, when next needed */
        s->writer = NULL;
    }
    pthread_mutex_lock(&s->readers_lock);
    while (s->nidle > 0) {
        PQfinish(s->idle[--s->nidle]);
    }
    pthread_mutex_unlock(&s->readers_lock);
}

static void pg_interrupt(store *base)
{
    pg_store *s = (pg_store *)base;
    atomic_store(&s->interrupted, true);
    uint64_t one = 1;
    ssize_t ignored = write(s->interrupt_fd, &one, sizeof one);
    (void)ignored; /* a full counter still wakes every poll */
}

static int pg_delete_through(store *base, int64_t through, uint64_t *deleted, char *err)
{
    pg_store *s = (pg_store *)base;
    *deleted = 0;
    int rc = pg_writer_ready(s, err);
    if (rc != 0) {
        return rc;
    }
    char through_text[24];
    snprintf(through_text, sizeof through_text, "%lld", (long long)through);
    const char *params[] = {through_text};
    PGresult *res = pg_call(s, s->writer,
                            "DELETE FROM monitoring.monitoring_events WHERE seq <= $1", 1, params);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        return pg_fail(s->writer, res, "delete", err);
    }
    *deleted = strtoull(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return 0;
}

static int pg_count(store *base, store_backlog *out, char *err)
{
    pg_store *s = (pg_store *)base;
    char overhead[16];
    snprintf(overhead, sizeof overhead, "%d", STORE_ROW_OVERHEAD);
    const char *params[] = {overhead};
    PGconn *conn;
    PGresult *res = pg_reader_exec(
        s,
        "SELECT count(*), coalesce(sum(octet_length(id) + octet_length(type) + "
        "coalesce(octet_length(source), 0) + coalesce(octet_length(session_id), 0) + "
        "coalesce(octet_length(name), 0) + coalesce(octet_length(status), 0) + "
        "coalesce(octet_length(error), 0) + coalesce(octet_length(attrs::text), 0) + "
        "$1::integer), 0), coalesce((extract(epoch FROM min(received_at)) * 1000)::bigint, 0) "
        "FROM monitoring.monitoring_events",
        1, params, &conn, err);
    if (res == NULL) {
        return TT_EUNAVAILABLE;
    }
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        rc = pg_fail(conn, res, "count", err);
    } else {
        out->events = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        out->bytes = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
        out->oldest_received_ms = atoll(PQgetvalue(res, 0, 2));
        PQclear(res);
    }
    pg_reader_give_back(s, conn);
    return rc;
}

static bool pg_reachable(const store *st)
{
    return !__atomic_load_n(&((const pg_store *)st)->unreachable, __ATOMIC_RELAXED);
}

static const store_ops pg_ops = {
    .reachable = pg_reachable,
    .kind = "postgres",
    .close = pg_close,
    .set_timeout = pg_set_timeout,
    .interrupt = pg_interrupt,
    .insert_events = pg_insert_events,
    .delete_before = pg_delete_before,
    .query_events = pg_query_events,
    .max_seq = pg_max_seq,
    .delete_through = pg_delete_through,
    .count = pg_count,
    .feed_open = pg_feed_open,
    .dlq_add = pg_dlq_add,
    .dlq_claim = pg_dlq_claim,
    .dlq_settle = pg_dlq_settle,
    .dlq_list = pg_dlq_list,
    .dlq_stats = pg_dlq_stats,
    .dlq_retry_now = pg_dlq_retry_now,
    .dlq_mark_failed = pg_dlq_mark_failed,
    .dlq_purge = pg_dlq_purge,
    .select = pg_select,
    .change = pg_change,
    .expire_summaries = pg_expire_summaries,
    .fold_summaries = pg_fold_summaries,
};

/* Adds what the user can do about it to a start-up error. */
static void append_hint(char *err, const char *hint)
{
    size_t n = strlen(err);
    snprintf(err + n, TT_ERRLEN - n, "%s", hint);
}

int store_pg_open(const char *url, store **out, char *err)
{
    pg_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->url = strdup(url)) == NULL) {
        free(s);
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    s->base.ops = &pg_ops;
    pthread_mutex_init(&s->readers_lock, NULL);
    s->timeout_ms = DEFAULT_TIMEOUT_MS;
    s->interrupt_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int rc = s->interrupt_fd >= 0 ? pg_writer_ready(s, err)
                                  : tt_fail(err, TT_EIO, "eventfd: %s", strerror(errno));
    if (rc == TT_EUNAVAILABLE && pg_login_refused(err)) {
        append_hint(err, "; check the user, password and database of the store URL");
        rc = TT_EREJECTED;
    } else if (rc != 0 && strstr(err, ": 42501 ") != NULL) { /* pg_fail's insufficient_privilege */
        append_hint(err, "; the daemon's login needs GRANT service_role TO it "
                         "(docs/OPERATIONS.md, \"PostgreSQL: roles and privileges\")");
    } else if (rc == TT_EUNAVAILABLE) {
        /* Down at start-up is an outage like any other: the daemon starts, ingest goes to the
         * spool, and the writer checks the schema when the server first answers. A server
         * that answers and refuses (a password, a database that does not exist, the schema)
         * still stops the start. */
        log_warn("PostgreSQL unreachable at start-up (%s): starting anyway; events wait in the "
                 "spool and the schema is checked once it answers",
                 err);
        rc = 0;
    }
    if (rc != 0) {
        pg_close(&s->base);
        return rc;
    }
    s->opened = true;
    *out = &s->base;
    return 0;
}
