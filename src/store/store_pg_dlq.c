/* store_pg_dlq.c -- the dead letter queue over the functions of migrations/postgres/0002,
 * which keep each operation atomic and let several instances share the queue (claims use
 * FOR UPDATE SKIP LOCKED, so two instances never retry the same item). */
#include "store/pg_internal.h"

#include "core/timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS(col) "coalesce((extract(epoch FROM " col ") * 1000)::bigint, 0)"
#define DLQ_COLUMNS                                                                                \
    "id, original_payload::text, failure_reason, retry_count, max_retries, status, " MS(           \
        "created_at") ", " MS("last_retry_at") ", " MS("next_retry_at") ", " MS("recovered_at")

static void row_to_item(const PGresult *res, int r, dlq_item *it)
{
    it->id = atoll(PQgetvalue(res, r, 0));
    it->payload = PQgetvalue(res, r, 1);
    it->reason = PQgetvalue(res, r, 2);
    it->retry_count = (uint32_t)atoi(PQgetvalue(res, r, 3));
    it->max_retries = (uint32_t)atoi(PQgetvalue(res, r, 4));
    dlq_status status = DLQ_PENDING;
    dlq_status_parse(PQgetvalue(res, r, 5), &status);
    it->status = status;
    it->created_ms = atoll(PQgetvalue(res, r, 6));
    it->last_retry_ms = atoll(PQgetvalue(res, r, 7));
    it->next_retry_ms = atoll(PQgetvalue(res, r, 8));
    it->recovered_ms = atoll(PQgetvalue(res, r, 9));
}

/* Runs 'sql' with text parameters on 'conn'; calls 'fn' per row if given; the first column of
 * the first row, read as an integer, goes to *first when asked (counts, flags). */
static int take_result(PGconn *conn, PGresult *res, dlq_item_fn fn, void *ctx, uint64_t *first,
                       char *err)
{
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        return pg_fail(conn, res, "dead letter queue", err);
    }
    if (first != NULL) {
        *first = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)
                     ? strtoull(PQgetvalue(res, 0, 0), NULL, 10)
                     : 0;
    }
    dlq_item it;
    for (int r = 0; fn != NULL && r < PQntuples(res); r++) {
        row_to_item(res, r, &it);
        if (fn(&it, ctx) != 0) {
            break;
        }
    }
    PQclear(res);
    return 0;
}

static int run_writer(store *base, const char *sql, int nparams, const char *const *params,
                      dlq_item_fn fn, void *ctx, uint64_t *first, char *err)
{
    pg_store *s = (pg_store *)base;
    int rc = pg_writer_ready(s, err);
    if (rc != 0) {
        return rc;
    }
    PGresult *res = pg_call(s, s->writer, sql, nparams, params);
    return take_result(s->writer, res, fn, ctx, first, err);
}

static int run_any(store *base, const char *sql, int nparams, const char *const *params,
                   dlq_item_fn fn, void *ctx, uint64_t *first, char *err)
{
    pg_store *s = (pg_store *)base;
    PGconn *conn;
    PGresult *res = pg_reader_exec(s, sql, nparams, params, &conn, err);
    if (res == NULL) {
        return TT_EUNAVAILABLE;
    }
    int rc = take_result(conn, res, fn, ctx, first, err);
    pg_reader_give_back(s, conn);
    return rc;
}

int pg_dlq_add(store *base, const char *payload, const char *reason, uint32_t max_retries,
               char *err)
{
    char max[16];
    snprintf(max, sizeof max, "%u", max_retries);
    const char *params[] = {payload, reason, max};
    return run_writer(base,
                      "INSERT INTO monitoring.dead_letter_queue (original_payload, "
                      "failure_reason, max_retries) VALUES ($1::jsonb, $2, $3::integer)",
                      3, params, NULL, NULL, NULL, err);
}

int pg_dlq_claim(store *base, uint32_t limit, uint32_t lease_ms, dlq_item_fn fn, void *ctx,
                 char *err)
{
    char lim[16], lease[16];
    snprintf(lim, sizeof lim, "%u", limit);
    snprintf(lease, sizeof lease, "%u", lease_ms);
    const char *params[] = {lim, lease};
    return run_writer(base,
                      "SELECT " DLQ_COLUMNS " FROM monitoring.dlq_claim_due($1::integer, "
                      "$2::bigint * interval '1 millisecond')",
                      2, params, fn, ctx, NULL, err);
}

int pg_dlq_settle(store *base, int64_t id, bool recovered, const char *reason,
                  int64_t next_retry_ms, char *err)
{
    char id_text[24], next[TIMEFMT_LEN];
    snprintf(id_text, sizeof id_text, "%lld", (long long)id);
    if (recovered) {
        const char *params[] = {id_text};
        return run_writer(base, "SELECT monitoring.dlq_mark_recovered($1::bigint)", 1, params, NULL,
                          NULL, NULL, err);
    }
    timefmt_format(next_retry_ms, next);
    const char *params[] = {id_text, reason, next_retry_ms > 0 ? next : NULL};
    return run_writer(base,
                      "SELECT monitoring.dlq_increment_retry($1::bigint, $2, $3::timestamptz)", 3,
                      params, NULL, NULL, NULL, err);
}

int pg_dlq_list(store *base, int status, int64_t after_id, uint32_t limit, dlq_item_fn fn,
                void *ctx, char *err)
{
    char after[24], lim[16];
    snprintf(after, sizeof after, "%lld", (long long)after_id);
    snprintf(lim, sizeof lim, "%u", limit);
    const char *params[] = {after, status >= 0 ? dlq_status_name((dlq_status)status) : NULL, lim};
    return run_any(base,
                   "SELECT " DLQ_COLUMNS " FROM monitoring.dead_letter_queue WHERE id > "
                   "$1::bigint AND ($2::text IS NULL OR status = $2) ORDER BY id LIMIT "
                   "$3::integer",
                   3, params, fn, ctx, NULL, err);
}

int pg_dlq_stats(store *base, dlq_stats *out, char *err)
{
    pg_store *s = (pg_store *)base;
    PGconn *conn;
    PGresult *res = pg_reader_exec(s, "SELECT * FROM monitoring.dlq_stats()", 0, NULL, &conn, err);
    if (res == NULL) {
        return TT_EUNAVAILABLE;
    }
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        rc = pg_fail(conn, res, "dead letter queue stats", err);
    } else {
        out->pending = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        out->recovered = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
        out->failed = strtoull(PQgetvalue(res, 0, 2), NULL, 10);
        out->avg_retry_count = strtod(PQgetvalue(res, 0, 3), NULL);
        out->oldest_pending_age_hours = strtod(PQgetvalue(res, 0, 4), NULL);
        PQclear(res);
    }
    pg_reader_give_back(s, conn);
    return rc;
}

int pg_dlq_retry_now(store *base, int64_t id, uint64_t *changed, char *err)
{
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%lld", (long long)id);
    const char *params[] = {id_text};
    return run_any(base,
                   "WITH due AS (UPDATE monitoring.dead_letter_queue SET status = 'pending', "
                   "next_retry_at = now() WHERE ($1::bigint = 0 OR id = $1::bigint) "
                   "AND status IN ('pending', 'failed') RETURNING 1) SELECT count(*) FROM due",
                   1, params, NULL, NULL, changed, err);
}

int pg_dlq_mark_failed(store *base, int64_t id, const char *reason, uint64_t *changed, char *err)
{
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%lld", (long long)id);
    const char *params[] = {id_text, reason};
    return run_any(base,
                   "SELECT count(*) FROM monitoring.dlq_mark_failed($1::bigint, $2) m "
                   "WHERE m.id IS NOT NULL",
                   2, params, NULL, NULL, changed, err);
}

int pg_dlq_purge(store *base, int64_t older_than_ms, uint64_t *deleted, char *err)
{
    char older[24];
    snprintf(older, sizeof older, "%lld", (long long)older_than_ms);
    const char *params[] = {older};
    return run_any(base, "SELECT monitoring.dlq_cleanup($1::bigint * interval '1 millisecond')", 1,
                   params, NULL, NULL, deleted, err);
}
