/* realtime.h -- /realtime/v1/websocket, the Supabase-compatible Realtime endpoint (DESIGN §5):
 * the Phoenix channel protocol as @supabase/realtime-js speaks it (vsn 1.0.0 and 2.0.0),
 * heartbeats, joins with postgres_changes bindings, broadcast, presence and access tokens.
 * Rows reach subscribers only once committed, in seq order, through the committed-rows engine
 * (stream.h) the composition gives it: read back from the store on PostgreSQL, so every
 * instance on one PostgreSQL delivers every instance's events; a join may resume after a seq
 * without gap or duplicate. Loop thread only. */
#ifndef TT_REALTIME_H
#define TT_REALTIME_H

#include "core/config.h"
#include "http/http_server.h"
#include "live/stream.h"

#define REALTIME_PATH "/realtime/v1/websocket"

typedef struct realtime realtime;
typedef struct rt_conn rt_conn;

typedef struct realtime_opts {
    uv_loop_t *loop;
    const tt_config *cfg; /* keys, limits */
    stream *rows;         /* the committed rows: feed mode on PostgreSQL, else memory */
    http_server *hs;      /* connection ids */
} realtime_opts;

/* Sets up the endpoint (registering its encoding with 'rows'); the options' pointers must
 * outlive it. */
int realtime_create(const realtime_opts *opts, realtime **out);
void realtime_free(realtime *rt); /* NULL is a no-op; after every connection closed */

/* The endpoint at REALTIME_PATH, for http_server_add_ws(): it refuses, before the 101, an
 * unknown vsn (400) or, with keys configured, a missing or invalid apikey (401). Valid while
 * 'rt' lives. */
const http_ws_endpoint *realtime_endpoint(realtime *rt);

/* Once a second: channels whose token has expired are closed. */
void realtime_tick(realtime *rt);

/* A server's broadcast: {"type":"broadcast","event":E,"payload":P} (P JSON text) to every
 * channel joined to 'topic' ("realtime:flags") on this instance, as a client's broadcast
 * reaches them. Every instance sends its own: each hears the change through the change feed. */
void realtime_broadcast(realtime *rt, const char *topic, const char *event, const char *payload);

/* Closes every connection with 'code' and 'reason' (1001 at shutdown). */
void realtime_close_all(realtime *rt, int code, const char *reason);

typedef struct realtime_stats {
    size_t connections, channels;
    int64_t delivered_seq; /* the highest seq streamed to subscribers */
    uint64_t messages;     /* postgres_changes messages queued */
    uint64_t slow_dropped; /* connections closed with 1008 */
    uint64_t messages_sent;
} realtime_stats;

void realtime_get_stats(const realtime *rt, realtime_stats *out);

#endif
