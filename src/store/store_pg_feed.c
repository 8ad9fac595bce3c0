/* store_pg_feed.c -- the change feed of the PostgreSQL store: a connection of its own that
 * LISTENs on the channel every instance's commits NOTIFY ("first-last" seq ranges, delivered
 * at COMMIT) and on the one where flag and dashboard-state changes are told, polled by the caller's
 * event loop. */
#include "store/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store_feed {
    PGconn *conn;
    store_notice_fn on_notice;
    void *notice_ctx;
};

int pg_feed_open(store *base, store_feed **out, char *err)
{
    pg_store *s = (pg_store *)base;
    store_feed *f = calloc(1, sizeof *f);
    if (f == NULL) {
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    int rc = pg_open_conn(s, &f->conn, err);
    if (rc == 0) {
        rc = pg_exec(s, f->conn, "LISTEN " NOTIFY_CHANNEL, err);
    }
    if (rc == 0) {
        rc = pg_exec(s, f->conn, "LISTEN " CONFIG_CHANNEL, err);
    }
    if (rc != 0) {
        store_pg_feed_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

void store_pg_feed_close(store_feed *f)
{
    if (f != NULL) {
        PQfinish(f->conn);
        free(f);
    }
}

int store_pg_feed_fd(const store_feed *f)
{
    return PQsocket(f->conn);
}

int store_pg_feed_read(store_feed *f, store_feed_fn fn, void *ctx, char *err)
{
    if (PQconsumeInput(f->conn) == 0 || PQstatus(f->conn) != CONNECTION_OK) {
        return pg_fail(f->conn, NULL, "change feed", err);
    }
    PGnotify *n;
    while ((n = PQnotifies(f->conn)) != NULL) {
        long long first = 0, last = 0;
        if (strcmp(n->relname, CONFIG_CHANNEL) == 0) {
            if (f->on_notice != NULL) {
                f->on_notice(n->extra, f->notice_ctx);
            }
        } else if (sscanf(n->extra, "%lld-%lld", &first, &last) == 2 && first > 0 &&
                   last >= first) {
            fn(first, last, ctx);
        }
        PQfreemem(n);
    }
    return 0;
}

void store_pg_feed_on_notice(store_feed *f, store_notice_fn fn, void *ctx)
{
    f->on_notice = fn;
    f->notice_ctx = ctx;
}
