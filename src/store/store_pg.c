/* store_pg.c -- the PostgreSQL store over libpq (self-hosted or Supabase).
 *
 * Writes. One connection, used only by the persister thread. A batch is one transaction, in
 * five round trips:
 *
 *   BEGIN; COPY rows -> temporary staging table   (one query string, then the data)
 *   pg_advisory_xact_lock(SEQ_LOCK);              (one query string; the lock is held until
 *   INSERT ... SELECT nextval(seq) ...             COMMIT, and the INSERT, a statement of its
 *     ON CONFLICT (id) DO NOTHING RETURNING        own, sees what committed before it)
 *   pg_notify('telltale_events', 'first-last')    (delivered at COMMIT, to every instance;
 *                                                  with the summaries' upserts, store.h)
 *   COMMIT
 *
 * Statements without parameters share a query string (PostgreSQL's simple query protocol
 * runs them one after the other, each with a fresh snapshot): two round trips fewer per
 * batch, which is what a store across a slow link is bound by. COPY cannot run in libpq's
 * pipeline mode, and what follows the INSERT depends on its answer (which events were new),
 * so the rest stays one statement per round trip.
 *
 * Why the lock: a sequence hands out numbers at INSERT time, but transactions commit in any
 * order, so without it a reader that has seen seq 10 (committed) could later miss seq 9
 * (committed after it). Taking one advisory lock before nextval and keeping it to COMMIT makes
 * seq order the commit order across every telltale instance on the database: "after seq N" is
 * a cursor that never skips. The cost is that instances' commits take turns; the COPY, the
 * expensive part, happens before the lock.
 *
 * Reads. A small pool of connections for queries from any thread. */
#include "store/pg_internal.h"

#include "core/timefmt.h"
#include "os/log.h"
#include "store/migrations.h"
#include "store/pg_copy.h"

#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define SEQ_LOCK "7460513316"    /* advisory lock key: seq assignment */
#define DEFAULT_TIMEOUT_MS 10000 /* until store_set_timeout() */

#define EVENT_COLUMNS                                                                              \
    "seq, id, (extract(epoch FROM ts) * 1000)::bigint, "                                           \
    "(extract(epoch FROM received_at) * 1000)::bigint, type, source, session_id, name, status, "   \
    "duration_ms, bytes, value, error, attrs::text"

/* Opens the batch's transaction and copies its rows into the staging table. */
static int copy_rows(const pg_store *s, PGconn *conn, tt_event *const *events, size_t n, char *err)
{
    pg_copy_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        pg_copy_event(&b, events[i], (long long)i);
    }
    if (b.oom) {
        free(b.buf);
        return tt_fail(err, TT_ENOMEM, "out of memory building the COPY data");
    }
    PGresult *res = pg_call(s, conn, "BEGIN; COPY telltale_staging FROM STDIN", 0, NULL);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        free(b.buf);
        return pg_fail(conn, res, "COPY", err);
    }
    PQclear(res);
    res = pg_copy_in(s, conn, b.buf, b.len);
    free(b.buf);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        return pg_fail(conn, res, "COPY", err);
    }
    PQclear(res);
    return 0;
}

/* The inserted rows' seqs, by their position in the batch; the lowest position wins when an
 * id appears twice in one batch (the first is stored, as with SQLite). And, in the same
 * statement -- after the seq lock, taken by the first statement of the string, so no fold can
 * move it before COMMIT -- where the rollups are folded to (store_pg_sum.c). */
static const char INSERT_SQL[] =
    "SELECT pg_advisory_xact_lock(" SEQ_LOCK "); WITH ins AS ("
    " INSERT INTO monitoring.monitoring_events (seq, id, ts, received_at, type, source,"
    "  session_id, name, status, duration_ms, bytes, value, error, attrs)"
    " SELECT nextval('monitoring.monitoring_events_seq'), s.id, s.ts, s.received_at, s.type,"
    "  s.source, s.session_id, s.name, s.status, s.duration_ms, s.bytes, s.value, s.error,"
    "  s.attrs"
    " FROM (SELECT * FROM telltale_staging ORDER BY ord) s"
    " ON CONFLICT (id) DO NOTHING RETURNING id, seq)"
    " SELECT min(st.ord), ins.seq,"
    "  (SELECT (extract(epoch FROM through) * 1000)::bigint FROM monitoring.rollup_folded)"
    " FROM ins JOIN telltale_staging st USING (id) GROUP BY ins.seq";

static int insert_staged(const pg_store *s, PGconn *conn, tt_event *const *events, size_t n,
                         int64_t range[2], int64_t *folded_ms, char *err)
{
    PGresult *res = pg_call(s, conn, INSERT_SQL, 0, NULL);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        return pg_fail(conn, res, "insert", err);
    }
    range[0] = range[1] = 0;
    for (int r = 0; r < PQntuples(res); r++) {
        long long ord = atoll(PQgetvalue(res, r, 0));
        long long seq = atoll(PQgetvalue(res, r, 1));
        *folded_ms = atoll(PQgetvalue(res, r, 2));
        if (ord >= 0 && (size_t)ord < n) {
            events[ord]->seq = seq;
        }
        range[0] = range[0] == 0 || seq < range[0] ? seq : range[0];
        range[1] = seq > range[1] ? seq : range[1];
    }
    PQclear(res);
    return 0;
}

/* Tells every instance of the batch's seqs and, when summaries are kept, writes them in the
 * same statement (store_pg_sum.c): one round trip either way. */
static int notify(pg_store *s, PGconn *conn, tt_event *const *events, size_t n,
                  const int64_t range[2], int64_t folded_ms, char *err)
{
    if (range[1] == 0) {
        return 0; /* every event was a duplicate: nothing new to tell, nothing to count */
    }
    char payload[48];
    snprintf(payload, sizeof payload, "%lld-%lld", (long long)range[0], (long long)range[1]);
    if (s->base.keep_summaries) {
        return pg_write_summaries(s, events, n, folded_ms, payload, err);
    }
    const char *params[] = {NOTIFY_CHANNEL, payload};
    PGresult *res = pg_call(s, conn, "SELECT pg_notify($1, $2)", 2, params);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        return pg_fail(conn, res, "notify", err);
    }
    PQclear(res);
    return 0;
}

static int pg_insert_events(store *base, tt_event *const *events, size_t n, char *err)
{
    pg_store *s = (pg_store *)base;
    int64_t range[2] = {0, 0}, folded_ms = 0;
    for (size_t i = 0; i < n; i++) {
        events[i]->seq = 0;
    }
    int rc = pg_writer_ready(s, err);
    if (rc != 0) {
        return rc;
    }
    if ((rc = copy_rows(s, s->writer, events, n, err)) == 0 &&
        (rc = insert_staged(s, s->writer, events, n, range, &folded_ms, err)) == 0 &&
        (rc = notify(s, s->writer, events, n, range, folded_ms, err)) == 0) {
        rc = pg_exec(s, s->writer, "COMMIT", err);
    }
    if (rc != 0) {
        char ignored[TT_ERRLEN];
        if (PQstatus(s->writer) != CONNECTION_OK ||
            pg_exec(s, s->writer, "ROLLBACK", ignored) != 0) {
            PQfinish(s->writer); /* the next batch reconnects */
            s->writer = NULL;
        }
        for (size_t i = 0; i < n; i++) {
            events[i]->seq = 0;
        }
    }
    return rc;
}

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
