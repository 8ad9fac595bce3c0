/* store.c -- choosing the engine from the URL and dispatching to it. */
#include "store/store.h"

#include "store/store_impl.h"

#include <string.h>

static bool is_postgres(const char *url)
{
    return strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
}

/* The SQLite path of 'url' (after "sqlite:"), or NULL with 'err' set when it names none: empty,
 * or an in-memory database (":memory:", "file::memory:..."), which each of telltale's
 * connections would see as a different, empty database and which loses every event at exit. */
static const char *sqlite_path(const char *url, char *err)
{
    const char *path = url + 7;
    if (path[0] == '\0') {
        tt_fail(err, TT_EINVAL, "the store URL 'sqlite:' names no file: write sqlite:PATH");
        return NULL;
    }
    if (strcmp(path, ":memory:") == 0 || strncmp(path, "file::memory:", 13) == 0 ||
        strstr(path, "mode=memory") != NULL) {
        tt_fail(err, TT_EINVAL,
                "the store URL '%s' is an in-memory database: telltale keeps events durably, "
                "so give a file, e.g. sqlite:/tmp/telltale.db",
                url);
        return NULL;
    }
    return path;
}

static bool is_sqlite(const char *url)
{
    return strncmp(url, "sqlite:", 7) == 0;
}

int store_open(const char *url, store **out, char err[TT_ERRLEN])
{
    *out = NULL;
    if (is_sqlite(url)) {
        const char *path = sqlite_path(url, err);
        return path != NULL ? store_sqlite_open(path, out, err) : TT_EINVAL;
    }
    if (is_postgres(url)) {
        return store_pg_open(url, out, err);
    }
    return tt_fail(err, TT_EINVAL, "unknown store URL; expected sqlite:PATH or postgres://...");
}

int store_open_spool(const char *path, store **out, char err[TT_ERRLEN])
{
    int rc = store_sqlite_open(path, out, err);
    if (rc == 0 && (rc = (*out)->ops->drop_query_indexes(*out, err)) != 0) {
        store_close(*out);
        *out = NULL;
    }
    return rc;
}

int store_migrate_plan(const char *url, bool apply, store_migration_plan *plan, char err[TT_ERRLEN])
{
    memset(plan, 0, sizeof *plan);
    if (is_sqlite(url)) {
        const char *path = sqlite_path(url, err);
        return path != NULL ? store_sqlite_migrate(path, apply, plan, err) : TT_EINVAL;
    }
    if (is_postgres(url)) {
        return store_pg_migrate(url, apply, plan, err);
    }
    return tt_fail(err, TT_EINVAL, "unknown store URL; expected sqlite:PATH or postgres://...");
}

int store_migrate(const char *url, int *version, char err[TT_ERRLEN])
{
    store_migration_plan plan;
    int rc = store_migrate_plan(url, true, &plan, err);
    *version = plan.version;
    if (rc == TT_EREJECTED && plan.missing[0] != '\0') {
        tt_fail(err, rc, "privileges missing; run first: %s", plan.missing);
    }
    return rc;
}

void store_close(store *st)
{
    if (st != NULL) {
        rollup_batch sums = st->sums;
        st->ops->close(st);
        rollup_batch_free(&sums);
    }
}

void store_keep_summaries(store *st, bool on)
{
    st->keep_summaries = on;
}

int store_expire_summaries(store *st, const store_expiry *e, uint64_t *deleted, char err[TT_ERRLEN])
{
    *deleted = 0;
    /* An engine without summaries (a test double) has none to expire. */
    return st->ops->expire_summaries != NULL ? st->ops->expire_summaries(st, e, deleted, err) : 0;
}

int store_index_sessions(store *st, uint64_t now_ms, bool idle, bool *more, char err[TT_ERRLEN])
{
    *more = false;
    return st->ops->index_sessions != NULL ? st->ops->index_sessions(st, now_ms, idle, more, err)
                                           : 0;
}

int store_fold_summaries(store *st, int64_t now_ms, char err[TT_ERRLEN])
{
    return st->ops->fold_summaries != NULL && st->keep_summaries
               ? st->ops->fold_summaries(st, now_ms, err)
               : 0;
}

void store_set_timeout(store *st, uint32_t ms)
{
    if (st->ops->set_timeout != NULL) {
        st->ops->set_timeout(st, ms);
    }
}

uint64_t store_set_cache(store *st, uint64_t bytes)
{
    return st->ops->set_cache != NULL ? st->ops->set_cache(st, bytes) : 0;
}

bool store_reachable(const store *st)
{
    return st->ops->reachable == NULL || st->ops->reachable(st);
}

void store_interrupt(store *st)
{
    if (st->ops->interrupt != NULL) {
        st->ops->interrupt(st);
    }
}

const char *store_kind(const store *st)
{
    return st->ops->kind;
}

int store_schema_version(const store *st)
{
    return st->schema_version;
}

int store_insert_events(store *st, tt_event *const *events, size_t n, char err[TT_ERRLEN])
{
    return st->ops->insert_events(st, events, n, err);
}

int store_delete_before(store *st, int64_t before_ms, uint32_t max_rows, uint64_t *deleted,
                        char err[TT_ERRLEN])
{
    return st->ops->delete_before(st, before_ms, max_rows, deleted, err);
}

int store_query_events(store *st, const event_filter *f, store_row_fn fn, void *ctx,
                       char err[TT_ERRLEN])
{
    return st->ops->query_events(st, f, fn, ctx, err);
}

int store_delete_through(store *st, int64_t through, uint64_t *deleted, char err[TT_ERRLEN])
{
    return st->ops->delete_through(st, through, deleted, err);
}

int store_count(store *st, store_backlog *out, char err[TT_ERRLEN])
{
    return st->ops->count(st, out, err);
}

static size_t text_len(const char *s)
{
    return s != NULL ? strlen(s) : 0;
}

uint64_t store_event_bytes(const tt_event *ev)
{
    return strlen(ev->id) + text_len(ev->type) + text_len(ev->source) + text_len(ev->session_id) +
           text_len(ev->name) + text_len(ev->status) + text_len(ev->error) + text_len(ev->attrs) +
           STORE_ROW_OVERHEAD;
}

int store_max_seq(store *st, int64_t *out, char err[TT_ERRLEN])
{
    return st->ops->max_seq(st, out, err);
}

bool store_has_feed(const store *st)
{
    return st->ops->feed_open != NULL;
}

int store_feed_open(store *st, store_feed **out, char err[TT_ERRLEN])
{
    *out = NULL;
    if (st->ops->feed_open == NULL) {
        return tt_fail(err, TT_ENOTFOUND, "the %s store has no change feed", st->ops->kind);
    }
    return st->ops->feed_open(st, out, err);
}

/* Only PostgreSQL has feeds today; the day another engine does, these dispatch on it. */
void store_feed_close(store_feed *f)
{
    store_pg_feed_close(f);
}

int store_feed_fd(const store_feed *f)
{
    return store_pg_feed_fd(f);
}

int store_feed_read(store_feed *f, store_feed_fn fn, void *ctx, char err[TT_ERRLEN])
{
    return store_pg_feed_read(f, fn, ctx, err);
}

void store_feed_on_notice(store_feed *f, store_notice_fn fn, void *ctx)
{
    store_pg_feed_on_notice(f, fn, ctx);
}

int store_dlq_add(store *st, const char *payload, const char *reason, uint32_t max_retries,
                  char err[TT_ERRLEN])
{
    return st->ops->dlq_add(st, payload, reason, max_retries, err);
}

int store_dlq_claim(store *st, uint32_t limit, uint32_t lease_ms, dlq_item_fn fn, void *ctx,
                    char err[TT_ERRLEN])
{
    return st->ops->dlq_claim(st, limit, lease_ms, fn, ctx, err);
}

int store_dlq_settle(store *st, int64_t id, bool recovered, const char *reason,
                     int64_t next_retry_ms, char err[TT_ERRLEN])
{
    return st->ops->dlq_settle(st, id, recovered, reason, next_retry_ms, err);
}

int store_dlq_list(store *st, int status, int64_t after_id, uint32_t limit, dlq_item_fn fn,
                   void *ctx, char err[TT_ERRLEN])
{
    return st->ops->dlq_list(st, status, after_id, limit, fn, ctx, err);
}

int store_dlq_stats(store *st, dlq_stats *out, char err[TT_ERRLEN])
{
    return st->ops->dlq_stats(st, out, err);
}

int store_dlq_retry_now(store *st, int64_t id, uint64_t *changed, char err[TT_ERRLEN])
{
    return st->ops->dlq_retry_now(st, id, changed, err);
}

int store_dlq_mark_failed(store *st, int64_t id, const char *reason, uint64_t *changed,
                          char err[TT_ERRLEN])
{
    return st->ops->dlq_mark_failed(st, id, reason, changed, err);
}

int store_dlq_purge(store *st, int64_t older_than_ms, uint64_t *deleted, char err[TT_ERRLEN])
{
    return st->ops->dlq_purge(st, older_than_ms, deleted, err);
}

int store_select(store *st, const store_stmt *select, const store_type *types, int ncols,
                 const store_stmt *count, int64_t *total, store_cells_fn fn, void *ctx,
                 char err[TT_ERRLEN])
{
    *total = -1;
    return st->ops->select(st, select, types, ncols, count, total, fn, ctx, err);
}

int store_change(store *st, const store_stmt *stmt, const store_type *types, int ncols,
                 store_cells_fn fn, void *ctx, char err[TT_ERRLEN])
{
    return st->ops->change(st, stmt, types, ncols, fn, ctx, err);
}
