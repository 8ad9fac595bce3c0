/* realtime.h -- /realtime/v1/websocket, the Supabase-compatible Realtime endpoint (DESIGN §5):
 * the Phoenix channel protocol as @supabase/realtime-js speaks it (vsn 1.0.0 and 2.0.0),
 * heartbeats, joins with postgres_changes bindings, broadcast, presence and access tokens.
 * Rows reach subscribers only once committed, read back from the store in seq order, so every
 * instance on one PostgreSQL delivers every instance's events and a join may resume after a
 * seq without gap or duplicate. Loop thread only. */
#ifndef TT_REALTIME_H
#define TT_REALTIME_H

#include "server/server_impl.h"

#define REALTIME_PATH "/realtime/v1/websocket"

typedef struct realtime realtime;
typedef struct rt_conn rt_conn;

/* The per-connection data of a Realtime WebSocket. */
typedef struct rt_pss {
    rt_conn *conn;
} rt_pss;

/* Sets up the endpoint for 'srv'; rows are streamed from after 'start_seq'. */
int realtime_create(server *srv, int64_t start_seq, realtime **out);
void realtime_free(realtime *rt); /* NULL is a no-op; after every connection closed */

/* Checks the upgrade request, before the 101: an unknown vsn (400) or, with keys configured, a
 * missing or invalid apikey (401) is refused: the HTTP status is returned and 'why' filled.
 * 0 lets it through. */
int realtime_check_upgrade(server *srv, struct lws *wsi, char why[TT_ERRLEN]);

/* lws callbacks for a Realtime WebSocket; server.c routes them here. */
int realtime_on_established(server *srv, struct lws *wsi, rt_pss *pss);
int realtime_on_receive(struct lws *wsi, rt_pss *pss, const void *in, size_t len);
int realtime_on_writable(rt_pss *pss);
int realtime_on_timer(rt_pss *pss);
void realtime_on_closed(rt_pss *pss);

/* Everything up to 'seq' is committed (this instance's commit, or another's heard through
 * the change feed): subscribers get the new rows. */
void realtime_committed(realtime *rt, int64_t seq);

/* Once a second: channels whose token has expired are closed; a safety read for a feed that
 * may have missed a notification. */
void realtime_tick(realtime *rt);

/* Closes every connection with 'code' and 'reason' (1001 at shutdown). */
void realtime_close_all(realtime *rt, int code, const char *reason);

typedef struct realtime_stats {
    size_t connections, channels;
    int64_t delivered_seq; /* the highest seq streamed to subscribers */
    uint64_t messages;     /* postgres_changes messages queued */
} realtime_stats;

void realtime_get_stats(const realtime *rt, realtime_stats *out);

#endif
