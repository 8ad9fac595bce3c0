/* store_impl.h -- what an engine provides to store.c (not for callers of store.h). */
#ifndef TT_STORE_IMPL_H
#define TT_STORE_IMPL_H

#include "core/rollup.h"
#include "store/store.h"

typedef struct store_ops {
    const char *kind;
    void (*close)(store *st);
    void (*set_timeout)(store *st, uint32_t ms); /* NULL: the engine does not wait on a network */
    uint64_t (*set_cache)(store *st, uint64_t bytes); /* NULL: the engine keeps no cache */
    void (*interrupt)(store *st);                     /* NULL: likewise */
    bool (*reachable)(const store *st);               /* NULL: likewise (always reachable) */
    int (*insert_events)(store *st, tt_event *const *events, size_t n, char *err);
    int (*delete_before)(store *st, int64_t before_ms, uint32_t max_rows, uint64_t *deleted,
                         char *err);
    int (*query_events)(store *st, const event_filter *f, store_row_fn fn, void *ctx, char *err);
    int (*max_seq)(store *st, int64_t *out, char *err);
    int (*delete_through)(store *st, int64_t through, uint64_t *deleted, char *err);
    int (*count)(store *st, store_backlog *out, char *err);
    int (*feed_open)(store *st, store_feed **out, char *err); /* NULL: no feed */
    int (*dlq_add)(store *st, const char *payload, const char *reason, uint32_t max_retries,
                   char *err);
    int (*dlq_claim)(store *st, uint32_t limit, uint32_t lease_ms, dlq_item_fn fn, void *ctx,
                     char *err);
    int (*dlq_settle)(store *st, int64_t id, bool recovered, const char *reason,
                      int64_t next_retry_ms, char *err);
    int (*dlq_list)(store *st, int status, int64_t after_id, uint32_t limit, dlq_item_fn fn,
                    void *ctx, char *err);
    int (*dlq_stats)(store *st, dlq_stats *out, char *err);
    int (*dlq_retry_now)(store *st, int64_t id, uint64_t *changed, char *err);
    int (*dlq_mark_failed)(store *st, int64_t id, const char *reason, uint64_t *changed, char *err);
    int (*dlq_purge)(store *st, int64_t older_than_ms, uint64_t *deleted, char *err);
    int (*select)(store *st, const store_stmt *select, const store_type *types, int ncols,
                  const store_stmt *count, int64_t *total, store_cells_fn fn, void *ctx, char *err);
    int (*change)(store *st, const store_stmt *stmt, const store_type *types, int ncols,
                  store_cells_fn fn, void *ctx, char *err);
    /* NULL: the engine keeps no summaries */
    int (*expire_summaries)(store *st, const store_expiry *e, uint64_t *deleted, char *err);
    /* NULL: every index is written with the events */
    int (*index_sessions)(store *st, uint64_t now_ms, bool idle, bool *more, char *err);
    /* NULL: every tier is written with the events */
    int (*fold_summaries)(store *st, int64_t now_ms, char *err);
    /* SQLite only: the spool's profile (store_open_spool) */
    int (*drop_query_indexes)(store *st, char *err);
} store_ops;

/* The per-row overhead in store_event_bytes(). Each engine computes the same figure in SQL for
 * store_count() (length() counts characters in SQLite, octet_length() bytes in PostgreSQL:
 * close enough for a quota that is an approximation by design). */
#define STORE_ROW_OVERHEAD 64

/* Every engine's struct starts with this, so store.c can dispatch. */
struct store {
    const store_ops *ops;
    int schema_version;
    bool keep_summaries; /* store_keep_summaries() */
    rollup_batch sums;   /* the batch being inserted: scratch of the writer thread */
};

struct migration;
/* Sets plan->newest and plan->pending from 'ms' (in version order) and plan->version. Returns
 * 0, or TT_ESCHEMA with 'err' when the store is at a version newer than the newest of 'ms'
 * (a newer telltale migrated it): with --check as without, nothing this binary may do. */
int store_plan_pending(store_migration_plan *plan, const struct migration *ms, size_t n,
                       char err[TT_ERRLEN]);

int store_sqlite_open(const char *path, store **out, char *err);
int store_sqlite_migrate(const char *path, bool apply, store_migration_plan *plan, char *err);
int store_pg_open(const char *url, store **out, char *err);
int store_pg_migrate(const char *url, bool apply, store_migration_plan *plan, char *err);
void store_pg_feed_close(store_feed *f);
int store_pg_feed_fd(const store_feed *f);
int store_pg_feed_read(store_feed *f, store_feed_fn fn, void *ctx, char *err);
void store_pg_feed_on_notice(store_feed *f, store_notice_fn fn, void *ctx);

#endif
