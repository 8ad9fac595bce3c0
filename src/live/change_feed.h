/* change_feed.h -- the store's change feed watched on the loop: how this instance hears of
 * every instance's commits (PostgreSQL LISTEN/NOTIFY). Connecting and resynchronising run on
 * libuv's thread pool, so a store that is down never blocks the loop; a lost connection is
 * reopened with backoff. Loop thread only. */
#ifndef TT_CHANGE_FEED_H
#define TT_CHANGE_FEED_H

#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct change_feed change_feed;

typedef struct change_feed_stats {
    bool available; /* the store has a feed at all */
    bool connected;
    int64_t last_seq;       /* the highest committed seq heard of, from any instance */
    uint64_t notifications; /* commits heard of */
    uint64_t reconnects;
} change_feed_stats;

/* Hears that everything up to 'seq' is committed (by any instance), on the loop thread. Called
 * for notifications and after each (re)connection with the store's highest seq, since
 * notifications sent while disconnected are lost. */
typedef void (*change_feed_fn)(int64_t seq, void *ctx);

/* Starts watching the feed of 'st' (which must outlive it); 'on_seq' (may be NULL) hears each
 * new highest seq. For a store without a feed it succeeds and stays idle, reporting
 * available = false. */
int change_feed_start(uv_loop_t *loop, store *st, change_feed_fn on_seq, void *ctx,
                      change_feed **out);

/* Hands the feed's notices (store_notice_fn: "flags", "state:<client_id>") to 'fn' on the loop
 * thread; after each (re)connection 'fn' also gets "" -- notices sent while disconnected are
 * lost, so anything may have changed. */
void change_feed_on_notice(change_feed *cf, store_notice_fn fn, void *ctx);

/* Stops watching; the memory goes once libuv has closed its handles. NULL is a no-op. */
void change_feed_stop(change_feed *cf);

void change_feed_get_stats(const change_feed *cf, change_feed_stats *out);

#endif
