/* store.c -- choosing the engine from the URL and dispatching to it. */
#include "store/store.h"

#include "store/store_impl.h"

#include <string.h>

static bool is_postgres(const char *url)
{
    return strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
}

int store_open(const char *url, store **out, char err[TT_ERRLEN])
{
    *out = NULL;
    if (strncmp(url, "sqlite:", 7) == 0 && url[7] != '\0') {
        return store_sqlite_open(url + 7, out, err);
    }
    if (is_postgres(url)) {
        return store_pg_open(url, out, err);
    }
    return tt_fail(err, TT_EINVAL, "unknown store URL; expected sqlite:PATH or postgres://...");
}

int store_migrate(const char *url, int *version, char err[TT_ERRLEN])
{
    if (strncmp(url, "sqlite:", 7) == 0 && url[7] != '\0') {
        return store_sqlite_migrate(url + 7, version, err);
    }
    if (is_postgres(url)) {
        return store_pg_migrate(url, version, err);
    }
    return tt_fail(err, TT_EINVAL, "unknown store URL; expected sqlite:PATH or postgres://...");
}

void store_close(store *st)
{
    if (st != NULL) {
        st->ops->close(st);
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
