/* store_impl.h -- what an engine provides to store.c (not for callers of store.h). */
#ifndef TT_STORE_IMPL_H
#define TT_STORE_IMPL_H

#include "store/store.h"

typedef struct store_ops {
    const char *kind;
    void (*close)(store *st);
    int (*insert_events)(store *st, tt_event *const *events, size_t n, char *err);
    int (*delete_before)(store *st, int64_t before_ms, uint32_t max_rows, uint64_t *deleted,
                         char *err);
    int (*query_events)(store *st, const event_filter *f, store_row_fn fn, void *ctx, char *err);
    int (*max_seq)(store *st, int64_t *out, char *err);
    int (*feed_open)(store *st, store_feed **out, char *err); /* NULL: no feed */
} store_ops;

/* Every engine's struct starts with this, so store.c can dispatch. */
struct store {
    const store_ops *ops;
    int schema_version;
};

int store_sqlite_open(const char *path, store **out, char *err);
int store_sqlite_migrate(const char *path, int *version, char *err);
int store_pg_open(const char *url, store **out, char *err);
int store_pg_migrate(const char *url, int *version, char *err);
void store_pg_feed_close(store_feed *f);
int store_pg_feed_fd(const store_feed *f);
int store_pg_feed_read(store_feed *f, store_feed_fn fn, void *ctx, char *err);

#endif
