/* store_sqlite_dlq.c -- the dead letter queue in the SQLite file: each atomic operation of the
 * PostgreSQL functions (migrations/postgres/0002) as one statement here, since SQLite runs
 * one writer at a time. The operator's commands come from other threads on their own
 * connections and wait their turn (busy timeout). */
#include "store/sqlite_internal.h"

#include "os/clock.h"

#include <stdlib.h>
#include <string.h>

#define DLQ_COLUMNS                                                                                \
    "id, original_payload, failure_reason, retry_count, max_retries, status, created_at, "         \
    "coalesce(last_retry_at, 0), coalesce(next_retry_at, 0), coalesce(recovered_at, 0)"

static void row_to_item(sqlite3_stmt *st, dlq_item *it)
{
    it->id = sqlite3_column_int64(st, 0);
    it->payload = (const char *)sqlite3_column_text(st, 1);
    it->reason = (const char *)sqlite3_column_text(st, 2);
    it->retry_count = (uint32_t)sqlite3_column_int(st, 3);
    it->max_retries = (uint32_t)sqlite3_column_int(st, 4);
    dlq_status status = DLQ_PENDING;
    dlq_status_parse((const char *)sqlite3_column_text(st, 5), &status);
    it->status = status;
    it->created_ms = sqlite3_column_int64(st, 6);
    it->last_retry_ms = sqlite3_column_int64(st, 7);
    it->next_retry_ms = sqlite3_column_int64(st, 8);
    it->recovered_ms = sqlite3_column_int64(st, 9);
}

/* Binds 'args' (a printf-like list: 'i' int64, 't' text or NULL) to 'sql', steps it to the end
 * calling 'fn' per row (if any), and reports the rows changed. */
static int run_statement(sqlite3 *db, const char *sql, const char *types, const void *const *args,
               dlq_item_fn fn, void *ctx, uint64_t *changed, char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    for (int i = 0; rc == SQLITE_OK && types[i] != '\0'; i++) {
        if (types[i] == 'i') {
            sqlite3_bind_int64(st, i + 1, *(const int64_t *)args[i]);
        } else if (args[i] != NULL) {
            sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_null(st, i + 1);
        }
    }
    dlq_item it;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (fn != NULL) {
            row_to_item(st, &it);
            if (fn(&it, ctx) != 0) {
                rc = SQLITE_DONE;
                break;
            }
        }
        rc = SQLITE_OK;
    }
    int result = rc == SQLITE_DONE ? 0 : sqlite_fail(db, rc, "dead letter queue", err);
    if (changed != NULL) {
        *changed = result == 0 ? (uint64_t)sqlite3_changes(db) : 0;
    }
    sqlite3_finalize(st);
    return result;
}

/* The same on a reader connection (any thread). */
static int run_any(store *base, const char *sql, const char *types, const void *const *args,
                   dlq_item_fn fn, void *ctx, uint64_t *changed, char *err)
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite3 *db = sqlite_reader_take(s, err);
    if (db == NULL) {
        return TT_EUNAVAILABLE;
    }
    int rc = run_statement(db, sql, types, args, fn, ctx, changed, err);
    sqlite_reader_give_back(s, db);
    return rc;
}

int sqlite_dlq_add(store *base, const char *payload, const char *reason, uint32_t max_retries,
                   char *err)
{
    sqlite_store *s = (sqlite_store *)base;
    int64_t now = (int64_t)clock_now_ms(), max = max_retries;
    const void *args[] = {payload, reason, &max, &now};
    return run_statement(s->writer,
               "INSERT INTO dead_letter_queue (original_payload, failure_reason, max_retries, "
               "created_at, next_retry_at) VALUES (?1, ?2, ?3, ?4, ?4)",
               "ttii", args, NULL, NULL, NULL, err);
}

/* Claimed items, copied out: the caller will write (retry the events) on this same
 * connection, which SQLite allows only once the claiming statement is finished. */
typedef struct claimed {
    dlq_item *items;
    size_t count, cap;
    bool oom;
} claimed;

static int keep_item(const dlq_item *it, void *ctx)
{
    claimed *c = ctx;
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        dlq_item *grown = realloc(c->items, cap * sizeof *grown);
        if (grown == NULL) {
            c->oom = true;
            return 1;
        }
        c->items = grown;
        c->cap = cap;
    }
    dlq_item copy = *it;
    copy.payload = strdup(it->payload);
    copy.reason = strdup(it->reason);
    c->items[c->count++] = copy;
    c->oom |= copy.payload == NULL || copy.reason == NULL;
    return c->oom;
}

int sqlite_dlq_claim(store *base, uint32_t limit, uint32_t lease_ms, dlq_item_fn fn, void *ctx,
                     char *err)
{
    sqlite_store *s = (sqlite_store *)base;
    int64_t now = (int64_t)clock_now_ms(), lim = limit, lease_end = now - (int64_t)lease_ms;
    const void *args[] = {&now, &lease_end, &lim};
    claimed c = {0};
    int rc = run_statement(s->writer,
                 "UPDATE dead_letter_queue SET status = 'retrying', last_retry_at = ?1 "
                 "WHERE id IN (SELECT id FROM dead_letter_queue "
                 "WHERE (status = 'pending' AND next_retry_at <= ?1) "
                 "OR (status = 'retrying' AND last_retry_at <= ?2) "
                 "ORDER BY next_retry_at LIMIT ?3) RETURNING " DLQ_COLUMNS,
                 "iii", args, keep_item, &c, NULL, err);
    if (rc == 0 && c.oom) {
        rc = tt_fail(err, TT_ENOMEM, "out of memory"); /* the lease returns the items */
    }
    bool go_on = rc == 0;
    for (size_t i = 0; i < c.count; i++) {
        go_on = go_on && fn(&c.items[i], ctx) == 0; /* the rest wait for their lease */
        free((char *)c.items[i].payload);
        free((char *)c.items[i].reason);
    }
    free(c.items);
    return rc;
}

int sqlite_dlq_settle(store *base, int64_t id, bool recovered, const char *reason,
                      int64_t next_retry_ms, char *err)
{
    sqlite_store *s = (sqlite_store *)base;
    int64_t now = (int64_t)clock_now_ms();
    if (recovered) {
        const void *args[] = {&id, &now};
        return run_statement(s->writer,
                   "UPDATE dead_letter_queue SET status = 'recovered', recovered_at = ?2, "
                   "next_retry_at = NULL WHERE id = ?1 AND status IN ('pending', 'retrying')",
                   "ii", args, NULL, NULL, NULL, err);
    }
    int64_t next = next_retry_ms > 0 ? next_retry_ms : now;
    const void *args[] = {&id, &now, reason, &next};
    return run_statement(s->writer,
               "UPDATE dead_letter_queue SET retry_count = min(retry_count + 1, max_retries), "
               "failure_reason = coalesce(?3, failure_reason), last_retry_at = ?2, "
               "status = CASE WHEN retry_count + 1 >= max_retries THEN 'failed' ELSE 'pending' "
               "END, next_retry_at = CASE WHEN retry_count + 1 >= max_retries THEN NULL ELSE ?4 "
               "END WHERE id = ?1 AND status IN ('pending', 'retrying')",
               "iiti", args, NULL, NULL, NULL, err);
}

int sqlite_dlq_list(store *base, int status, int64_t after_id, uint32_t limit, dlq_item_fn fn,
                    void *ctx, char *err)
{
    int64_t lim = limit;
    const char *name = status >= 0 ? dlq_status_name((dlq_status)status) : NULL;
    const void *args[] = {&after_id, name, &lim};
    return run_any(base,
                   "SELECT " DLQ_COLUMNS " FROM dead_letter_queue WHERE id > ?1 "
                   "AND (?2 IS NULL OR status = ?2) ORDER BY id LIMIT ?3",
                   "iti", args, fn, ctx, NULL, err);
}

static void read_stats(sqlite3_stmt *st, void *ctx)
{
    dlq_stats *out = ctx;
    int64_t oldest = sqlite3_column_int64(st, 4);
    out->pending = (uint64_t)sqlite3_column_int64(st, 0);
    out->recovered = (uint64_t)sqlite3_column_int64(st, 1);
    out->failed = (uint64_t)sqlite3_column_int64(st, 2);
    out->avg_retry_count = sqlite3_column_double(st, 3);
    out->oldest_pending_age_hours =
        oldest > 0 ? (double)((int64_t)clock_now_ms() - oldest) / 3600000.0 : 0;
}

int sqlite_dlq_stats(store *base, dlq_stats *out, char *err)
{
    return sqlite_read_row((sqlite_store *)base,
                           "SELECT count(*) FILTER (WHERE status IN ('pending', 'retrying')), "
                           "count(*) FILTER (WHERE status = 'recovered'), "
                           "count(*) FILTER (WHERE status = 'failed'), "
                           "coalesce(avg(retry_count), 0), "
                           "coalesce(min(created_at) FILTER (WHERE status IN ('pending', "
                           "'retrying')), 0) FROM dead_letter_queue",
                           0, read_stats, out, "dead letter queue stats", err);
}

int sqlite_dlq_retry_now(store *base, int64_t id, uint64_t *changed, char *err)
{
    int64_t now = (int64_t)clock_now_ms();
    const void *args[] = {&id, &now};
    return run_any(base,
                   "UPDATE dead_letter_queue SET status = 'pending', next_retry_at = ?2 "
                   "WHERE (?1 = 0 OR id = ?1) AND status IN ('pending', 'failed')",
                   "ii", args, NULL, NULL, changed, err);
}

int sqlite_dlq_mark_failed(store *base, int64_t id, const char *reason, uint64_t *changed,
                           char *err)
{
    const void *args[] = {&id, reason};
    return run_any(base,
                   "UPDATE dead_letter_queue SET status = 'failed', next_retry_at = NULL, "
                   "failure_reason = coalesce(?2, failure_reason) "
                   "WHERE id = ?1 AND status IN ('pending', 'retrying')",
                   "it", args, NULL, NULL, changed, err);
}

int sqlite_dlq_purge(store *base, int64_t older_than_ms, uint64_t *deleted, char *err)
{
    int64_t before = (int64_t)clock_now_ms() - older_than_ms;
    const void *args[] = {&before};
    return run_any(base,
                   "DELETE FROM dead_letter_queue WHERE status IN ('recovered', 'failed') "
                   "AND created_at < ?1",
                   "i", args, NULL, NULL, deleted, err);
}
