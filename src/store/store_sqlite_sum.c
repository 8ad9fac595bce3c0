/* store_sqlite_sum.c -- the SQLite engine's summaries: rollup and session rows upserted by the
 * writer inside the events' transaction, adding into what is there (store.h). */
#include "store/sqlite_internal.h"

#include "core/json_print.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Two stored histograms' sum: counts of the same bucket added, by tt_loghist_add(), a
 * function of the writer connection (below). SQL's json_each and json_group_object did the
 * same at several times the cost of the whole insert: a day row's histogram has hundreds of
 * buckets, and it is merged on every batch. */
#define MERGE_LATENCY(table) "tt_loghist_add(" table ".latency, excluded.latency)"

/* The least (greatest) of two values either of which may be NULL. */
#define LEAST(col) "min(coalesce(" col ", excluded." col "), coalesce(excluded." col ", " col "))"
#define GREATEST(col)                                                                              \
    "max(coalesce(" col ", excluded." col "), coalesce(excluded." col ", " col "))"

#define ROLLUP_COLUMNS                                                                             \
    "INSERT INTO metrics_rollup (tier, bucket, type, source, name, count, errors, bytes, "         \
    "duration_count, duration_sum, duration_min, duration_max, latency) "

/* A row that is there already is added into. */
#define ROLLUP_ADD                                                                                 \
    " ON CONFLICT (tier, bucket, type, source, name) DO UPDATE SET "                               \
    "count = count + excluded.count, errors = errors + excluded.errors, "                          \
    "bytes = bytes + excluded.bytes, duration_count = duration_count + excluded.duration_count, "  \
    "duration_sum = duration_sum + excluded.duration_sum, "                                        \
    "duration_min = " LEAST("duration_min") ", duration_max = " GREATEST(                          \
        "duration_max") ", latency = " MERGE_LATENCY("metrics_rollup")

static const char ROLLUP_UPSERT[] =
    ROLLUP_COLUMNS "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" ROLLUP_ADD;

/* The minutes in [?1, ?2) added into their hour and day rows (migrations/sqlite/0008). */
static const char FOLD_SQL[] = ROLLUP_COLUMNS
    "SELECT t.tier, x.bucket - x.bucket % t.size, x.type, x.source, x.name, sum(x.count), "
    "sum(x.errors), sum(x.bytes), sum(x.duration_count), sum(x.duration_sum), "
    "min(x.duration_min), max(x.duration_max), tt_loghist_sum(x.latency) "
    "FROM metrics_rollup x CROSS JOIN (SELECT 'hour' AS tier, 3600000 AS size UNION ALL "
    "SELECT 'day', 86400000) t WHERE x.tier = 'minute' AND x.bucket >= ?1 AND x.bucket < ?2 "
    "GROUP BY 1, 2, 3, 4, 5" ROLLUP_ADD;

static const char SESSION_UPSERT[] =
    "INSERT INTO sessions (session_id, source, first_seen, last_seen, events, errors, tool_calls, "
    "duration_count, latency, started_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (session_id) DO UPDATE SET source = coalesce(source, excluded.source), "
    "first_seen = min(first_seen, excluded.first_seen), "
    "last_seen = max(last_seen, excluded.last_seen), events = events + excluded.events, "
    "errors = errors + excluded.errors, tool_calls = tool_calls + excluded.tool_calls, "
    "duration_count = duration_count + excluded.duration_count, "
    "latency = " MERGE_LATENCY("sessions") ", "
                                           "started_at = " GREATEST(
                                               "started_at") ", ended_at = " GREATEST("ended_at");

/* The sum of two stored forms by the cheap way (loghist.h): the shorter one parsed, the longer
 * copied around its buckets. False when either is not in telltale's own form. */
static bool merge_texts(const char *a, const char *b, json_buf *out)
{
    if (strlen(a) < strlen(b)) {
        const char *t = a;
        a = b;
        b = t;
    }
    loghist add = {0};
    bool ok = loghist_read(&add, b) && loghist_merge_text(a, &add, out);
    loghist_free(&add);
    return ok;
}

/* The sum of two stored forms by the general way: both parsed, the sum written; a malformed
 * one counts as empty. */
static void sum_texts(const char *a, const char *b, json_buf *out)
{
    loghist sum = {0};
    if (a != NULL) {
        loghist_read(&sum, a);
    }
    if (b != NULL) {
        loghist_read(&sum, b);
    }
    loghist_write(&sum, out);
    out->oom |= sum.oom;
    loghist_free(&sum);
}

/* tt_loghist_add(a, b): the stored form of the sum of two stored histograms; NULL and a
 * malformed argument count as empty (the column's CHECK keeps it JSON; only telltale writes
 * it). Registered with two arguments. */
static void loghist_add_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *a = (const char *)sqlite3_value_text(argv[0]);
    const char *b = (const char *)sqlite3_value_text(argv[1]);
    json_buf out = {0};
    if (a == NULL || b == NULL || !merge_texts(a, b, &out)) {
        out.len = 0;
        sum_texts(a, b, &out);
    }
    if (out.oom) {
        sqlite3_result_error_nomem(ctx);
    } else {
        sqlite3_result_text(ctx, out.buf, (int)out.len, free);
        out.buf = NULL;
    }
    free(out.buf);
}

/* tt_loghist_sum(latency): the aggregate of tt_loghist_add, for folding minutes into hours and
 * days. Its state is a loghist in SQLite's aggregate context (zeroed on the first row). */
static void loghist_sum_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    loghist *sum = sqlite3_aggregate_context(ctx, sizeof *sum);
    const char *text = (const char *)sqlite3_value_text(argv[0]);
    if (sum == NULL) {
        sqlite3_result_error_nomem(ctx);
    } else if (text != NULL) {
        loghist_read(sum, text);
    }
}

static void loghist_sum_final(sqlite3_context *ctx)
{
    loghist *sum = sqlite3_aggregate_context(ctx, 0);
    loghist empty = {0};
    json_buf out = {0};
    loghist_write(sum != NULL ? sum : &empty, &out);
    if (out.oom || (sum != NULL && sum->oom)) {
        sqlite3_result_error_nomem(ctx);
        free(out.buf);
    } else {
        sqlite3_result_text(ctx, out.buf, (int)out.len, free);
    }
    if (sum != NULL) {
        loghist_free(sum);
    }
}

int sqlite_register_summary_functions(sqlite3 *db, char *err)
{
    int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY;
    int rc = sqlite3_create_function_v2(db, "tt_loghist_add", 2, flags, NULL, loghist_add_fn, NULL,
                                        NULL, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_create_function_v2(db, "tt_loghist_sum", 1, flags, NULL, NULL,
                                        loghist_sum_step, loghist_sum_final, NULL);
    }
    return rc == SQLITE_OK ? 0 : sqlite_fail(db, rc, "register the histogram functions", err);
}

static int prepare(sqlite_store *s, const char *sql, sqlite3_stmt **st, char *err)
{
    if (*st != NULL) {
        sqlite3_reset(*st);
        return 0;
    }
    int rc = sqlite3_prepare_v3(s->writer, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    return rc == SQLITE_OK ? 0 : sqlite_fail(s->writer, rc, "prepare summaries", err);
}

static void bind_latency(sqlite3_stmt *st, int col, const loghist *h, json_buf *buf)
{
    buf->len = 0;
    loghist_write(h, buf);
    sqlite3_bind_text(st, col, buf->oom ? "{}" : buf->buf, -1, SQLITE_TRANSIENT);
}

static void bind_time_or_null(sqlite3_stmt *st, int col, int64_t ms)
{
    if (ms == SESSION_NO_TIME) {
        sqlite3_bind_null(st, col);
    } else {
        sqlite3_bind_int64(st, col, ms);
    }
}

static int step(sqlite_store *s, sqlite3_stmt *st, char *err)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sqlite_fail(s->writer, rc, "summaries", err);
}

static int write_row(sqlite_store *s, const rollup_row *r, json_buf *buf, char *err)
{
    sqlite3_stmt *st = s->rollup_upsert;
    sqlite3_bind_text(st, 1, rollup_tier_names[r->tier], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->bucket_ms);
    sqlite3_bind_text(st, 3, r->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (int64_t)r->count);
    sqlite3_bind_int64(st, 7, (int64_t)r->errors);
    sqlite3_bind_int64(st, 8, (int64_t)r->bytes);
    sqlite3_bind_int64(st, 9, (int64_t)r->duration_count);
    sqlite3_bind_double(st, 10, r->duration_sum);
    if (r->duration_count > 0) {
        sqlite3_bind_double(st, 11, r->duration_min);
        sqlite3_bind_double(st, 12, r->duration_max);
    } else {
        sqlite3_bind_null(st, 11);
        sqlite3_bind_null(st, 12);
    }
    bind_latency(st, 13, &r->latency, buf);
    return step(s, st, err);
}

static int write_session(sqlite_store *s, const session_delta *d, json_buf *buf, char *err)
{
    sqlite3_stmt *st = s->session_upsert;
    sqlite3_bind_text(st, 1, d->session_id, -1, SQLITE_STATIC);
    if (d->source != NULL) {
        sqlite3_bind_text(st, 2, d->source, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_null(st, 2);
    }
    sqlite3_bind_int64(st, 3, d->first_ms);
    sqlite3_bind_int64(st, 4, d->last_ms);
    sqlite3_bind_int64(st, 5, (int64_t)d->events);
    sqlite3_bind_int64(st, 6, (int64_t)d->errors);
    sqlite3_bind_int64(st, 7, (int64_t)d->tool_calls);
    sqlite3_bind_int64(st, 8, (int64_t)d->duration_count);
    bind_latency(st, 9, &d->latency, buf);
    bind_time_or_null(st, 10, d->started_ms);
    bind_time_or_null(st, 11, d->ended_ms);
    return step(s, st, err);
}

int sqlite_write_summaries(sqlite_store *s, tt_event *const *events, size_t n, char *err)
{
    rollup_batch *b = &s->base.sums;
    rollup_batch_reset(b);
    b->folds = true; /* the minute rows of every event, hour and day rows of the late ones */
    b->folded_ms = s->folded_ms;
    rollup_batch_add_stored(b, events, n);
    if (b->oom) {
        return tt_fail(err, TT_EUNAVAILABLE, "out of memory summarising a batch");
    }
    int rc = 0;
    if ((b->nrows > 0 && (rc = prepare(s, ROLLUP_UPSERT, &s->rollup_upsert, err)) != 0) ||
        (b->nsessions > 0 && (rc = prepare(s, SESSION_UPSERT, &s->session_upsert, err)) != 0)) {
        return rc;
    }
    json_buf buf = {0};
    for (size_t i = 0; i < b->nrows && rc == 0; i++) {
        rc = write_row(s, &b->rows[i], &buf, err);
    }
    for (size_t i = 0; i < b->nsessions && rc == 0; i++) {
        rc = write_session(s, &b->sessions[i], &buf, err);
    }
    free(buf.buf);
    return rc;
}

static int delete_some(sqlite_store *s, const char *sql, const char *tier, int64_t before,
                       uint32_t max_rows, uint64_t *deleted, char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->writer, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        int col = 1;
        if (tier != NULL) {
            sqlite3_bind_text(st, col++, tier, -1, SQLITE_STATIC);
        }
        sqlite3_bind_int64(st, col++, before);
        sqlite3_bind_int64(st, col, max_rows);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->writer);
    }
    *deleted += rc == SQLITE_OK ? (uint64_t)sqlite3_changes(s->writer) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : sqlite_fail(s->writer, rc, "expire summaries", err);
}

int sqlite_expire_summaries(store *base, const store_expiry *e, uint64_t *deleted, char *err)
{
    sqlite_store *s = (sqlite_store *)base;
    int rc = 0;
    *deleted = 0;
    for (int t = 0; t < ROLLUP_TIERS && rc == 0; t++) {
        if (e->tier_before_ms[t] > 0) {
            /* A minute not folded yet is kept whatever its age: its hour and day need it. */
            rc = delete_some(s,
                             "DELETE FROM metrics_rollup WHERE rowid IN (SELECT rowid FROM "
                             "metrics_rollup WHERE tier = ? AND bucket < ? AND (tier <> 'minute' "
                             "OR bucket < (SELECT through FROM rollup_folded)) LIMIT ?)",
                             rollup_tier_names[t], e->tier_before_ms[t], e->max_rows, deleted, err);
        }
    }
    if (rc == 0 && e->sessions_before_ms > 0) {
        rc = delete_some(s,
                         "DELETE FROM sessions WHERE session_id IN (SELECT session_id FROM "
                         "sessions WHERE last_seen < ? LIMIT ?)",
                         NULL, e->sessions_before_ms, e->max_rows, deleted, err);
    }
    return rc;
}

/* Reads where folding stands (migrations/sqlite/0008); after the migrations, before any commit. */
int sqlite_summaries_open(sqlite_store *s, char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->writer, "SELECT through FROM rollup_folded", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        s->folded_ms = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_CORRUPT; /* the migration writes its one row */
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : sqlite_fail(s->writer, rc, "read rollup_folded", err);
}

#define MINUTE_MS 60000
/* At most an hour of minutes per transaction and a day of them per call, so that folding after a
 * long outage is a series of short transactions between commits; housekeeping comes back for
 * the rest. */
#define FOLD_STEP_MS (60 * MINUTE_MS)
#define FOLD_STEPS_PER_CALL 24

/* The first minute row at or after 'from' that is not folded, or 'until' if there is none
 * before it: a stretch without events is passed over in one step. */
static int64_t next_minute(sqlite_store *s, int64_t from, int64_t until)
{
    sqlite3_stmt *st = NULL;
    int64_t next = until;
    if (sqlite3_prepare_v2(s->writer,
                           "SELECT min(bucket) FROM metrics_rollup WHERE tier = 'minute' AND "
                           "bucket >= ?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, from);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
            int64_t b = sqlite3_column_int64(st, 0);
            next = b < until ? b - b % MINUTE_MS : until;
        }
    } else {
        next = from; /* fold from 'from' as if there were rows */
    }
    sqlite3_finalize(st);
    return next > from ? next : from;
}

/* Folds the minutes in [from, to) and moves 'through' to 'to', in one transaction. */
static int fold_range(sqlite_store *s, int64_t from, int64_t to, char *err)
{
    sqlite3_stmt *fold = NULL, *move = NULL;
    int rc = sqlite3_exec(s->writer, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(s->writer, FOLD_SQL, -1, &fold, NULL);
    }
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(fold, 1, from);
        sqlite3_bind_int64(fold, 2, to);
        rc = sqlite3_step(fold) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->writer);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(s->writer, "UPDATE rollup_folded SET through = ?", -1, &move, NULL);
    }
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(move, 1, to);
        rc = sqlite3_step(move) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->writer);
    }
    sqlite3_finalize(fold);
    sqlite3_finalize(move);
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(s->writer, "COMMIT", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        int failed = sqlite_fail(s->writer, rc, "fold rollups", err);
        sqlite3_exec(s->writer, "ROLLBACK", NULL, NULL, NULL);
        return failed;
    }
    return 0;
}

/* Minutes that closed a minute ago or earlier are folded: a minute still being written would
 * send its late events down the slower path (every tier at once). */
int sqlite_fold_summaries(store *base, int64_t now_ms, char *err)
{
    sqlite_store *s = (sqlite_store *)base;
    int64_t until = now_ms - now_ms % MINUTE_MS - MINUTE_MS;
    int rc = 0;
    for (int step = 0; rc == 0 && step < FOLD_STEPS_PER_CALL && s->folded_ms < until; step++) {
        int64_t from = next_minute(s, s->folded_ms, until);
        int64_t to = from + FOLD_STEP_MS < until ? from + FOLD_STEP_MS : until;
        if ((rc = fold_range(s, s->folded_ms, to, err)) == 0) {
            s->folded_ms = to;
        }
    }
    return rc;
}
