/* ws_recent.h -- /ws's get_recent_events: a one-off query of the newest committed events,
 * run on libuv's thread pool, answered as one {"type":"recent_events","items":[...]} message
 * (oldest first). Loop thread only. */
#ifndef TT_WS_RECENT_H
#define TT_WS_RECENT_H

#include "live/ws_peer.h"
#include "store/store.h"

#include <uv.h>

/* The answer: 'reply' (borrowed for the call), or NULL and 'why' when the query failed. */
typedef void (*ws_recent_fn)(ws_msg *reply, const char *why, void *ctx);

/* Reads the 'limit' newest events of 'st' matching the strings of 'f' (each NULL = any;
 * copied), and calls 'done' on the loop with the answer. Returns 0, or TT_ENOMEM (and 'done'
 * is never called). */
int ws_recent_start(uv_loop_t *loop, store *st, const event_filter *f, ws_recent_fn done,
                    void *ctx);

#endif
