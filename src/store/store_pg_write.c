/* store_pg_write.c -- the PostgreSQL store's writes: a batch of events in one transaction.
 *
 * Writes. One connection, used only by the persister thread. A batch is one transaction. When
 * its ids are distinct, it is first tried in four round trips, COPY straight into the table:
 *
 *   BEGIN; pg_advisory_xact_lock(SEQ_LOCK);       (one query string: the seqs first..last are
 *     setval(seq, nextval(seq) + n - 1)            taken under the lock, in one call)
 *   COPY rows, seqs included -> the events table
 *   the summaries and pg_notify, COMMIT            (as below)
 *
 * An id already stored makes that COPY fail (unique_violation, 23505): the transaction is rolled
 * back and the batch takes the general path, which skips the ids the table has (a producer's
 * retry, a spool shipped again after a restart). A role that row-level security applies to
 * (not the table's owner, no BYPASSRLS: the least-privileged role of OPERATIONS) may not COPY
 * into the table at all (0A000); it is told once and takes the general path from then on. The
 * general path, in five round trips:
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
 * a cursor that never skips. The cost is that instances' commits take turns, the direct COPY
 * included (the general path copies to its staging table before the lock). The direct path
 * exists because the INSERT ... SELECT from staging cost the server as much again as the COPY
 * itself (BENCHMARKS.md, issue 13 item 3); a seq burnt by a rolled-back try is a gap, as an
 * ON CONFLICT row's nextval already was: seqs increase, they are not dense.
 */
#include "store/pg_internal.h"

#include "os/log.h"
#include "store/pg_copy.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEQ_LOCK "7460513316" /* advisory lock key: seq assignment (migration 0008 uses it too) */

/* Runs 'sql', which ends in a COPY ... FROM STDIN, and sends the batch's rows, each led by
 * first + its position (the staging table's ord, or the events' seq). Returns the COPY's
 * result (PGRES_COMMAND_OK once stored), or NULL with *oom set when the rows did not fit in
 * memory (nothing sent). */
static PGresult *copy_batch(const pg_store *s, PGconn *conn, const char *sql,
                            tt_event *const *events, size_t n, long long first, bool *oom)
{
    pg_copy_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        pg_copy_event(&b, events[i], first + (long long)i);
    }
    *oom = b.oom;
    if (b.oom) {
        free(b.buf);
        return NULL;
    }
    PGresult *res = pg_call(s, conn, sql, 0, NULL);
    if (PQresultStatus(res) == PGRES_COPY_IN) {
        PQclear(res);
        res = pg_copy_in(s, conn, b.buf, b.len);
    }
    free(b.buf);
    return res;
}

/* Opens the batch's transaction and copies its rows into the staging table. */
static int copy_rows(const pg_store *s, PGconn *conn, tt_event *const *events, size_t n, char *err)
{
    bool oom;
    PGresult *res =
        copy_batch(s, conn, "BEGIN; COPY telltale_staging FROM STDIN", events, n, 0, &oom);
    if (oom) {
        return tt_fail(err, TT_ENOMEM, "out of memory building the COPY data");
    }
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

/* Takes the seq lock and the seqs first..last (returned in range) for n events, and reads
 * where the rollups are folded to, under the lock, as INSERT_SQL does. */
static int take_seqs(const pg_store *s, PGconn *conn, size_t n, int64_t range[2],
                     int64_t *folded_ms, char *err)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "BEGIN; SELECT pg_advisory_xact_lock(" SEQ_LOCK "); SELECT setval("
             "'monitoring.monitoring_events_seq', nextval('monitoring.monitoring_events_seq') + "
             "%zu - 1), (SELECT (extract(epoch FROM through) * 1000)::bigint FROM "
             "monitoring.rollup_folded)",
             n);
    PGresult *res = pg_call(s, conn, sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        return pg_fail(conn, res, "seq", err);
    }
    range[1] = atoll(PQgetvalue(res, 0, 0));
    range[0] = range[1] - (int64_t)n + 1;
    *folded_ms = atoll(PQgetvalue(res, 0, 1));
    PQclear(res);
    return 0;
}

/* Whether a failed direct COPY leaves the batch to the general path: an id already stored, or
 * a role that may not COPY into the table (then never tried again). */
static bool falls_back(pg_store *s, const PGresult *res)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state != NULL && strcmp(state, "0A000") == 0) {
        s->copy_refused = true;
        log_info("store: this role may not COPY into monitoring.monitoring_events (row-level "
                 "security applies to it): batches are staged and inserted instead");
        return true;
    }
    return state != NULL && strcmp(state, "23505") == 0;
}

/* The direct path: the batch's rows, seqs included, copied into the events table. Sets
 * *conflict when it falls back (nothing written; roll back and take the general path). */
static int copy_direct(pg_store *s, PGconn *conn, tt_event *const *events, size_t n,
                       int64_t range[2], int64_t *folded_ms, bool *conflict, char *err)
{
    *conflict = false;
    int rc = take_seqs(s, conn, n, range, folded_ms, err);
    if (rc != 0) {
        return rc;
    }
    bool oom;
    PGresult *res = copy_batch(s, conn,
                               "COPY monitoring.monitoring_events (seq, " PG_COPY_COLUMNS
                               ") FROM STDIN",
                               events, n, (long long)range[0], &oom);
    if (oom) {
        return tt_fail(err, TT_ENOMEM, "out of memory building the COPY data");
    }
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        *conflict = falls_back(s, res);
        return pg_fail(conn, res, "COPY", err);
    }
    PQclear(res);
    for (size_t i = 0; i < n; i++) {
        events[i]->seq = range[0] + (int64_t)i;
    }
    return 0;
}

/* The general path: staged, then inserted but for the ids the table has. */
static int insert_general(pg_store *s, PGconn *conn, tt_event *const *events, size_t n,
                          int64_t range[2], int64_t *folded_ms, char *err)
{
    int rc = copy_rows(s, conn, events, n, err);
    return rc != 0 ? rc : insert_staged(s, conn, events, n, range, folded_ms, err);
}

int pg_insert_events(store *base, tt_event *const *events, size_t n, char *err)
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
    bool conflict = true;
    if (!s->copy_refused) { /* an id stored before, or twice in the batch: 23505, general path */
        rc = copy_direct(s, s->writer, events, n, range, &folded_ms, &conflict, err);
        if (conflict) {
            rc = pg_exec(s, s->writer, "ROLLBACK", err);
        }
    }
    if (rc == 0 && conflict) {
        rc = insert_general(s, s->writer, events, n, range, &folded_ms, err);
    }
    if (rc == 0 && (rc = notify(s, s->writer, events, n, range, folded_ms, err)) == 0) {
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
