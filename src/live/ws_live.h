/* ws_live.h -- WebSocket /ws, the legacy live path (DESIGN §5): committed events pushed from
 * memory with their seq (a protocol adapter over the committed-rows engine, stream.h), resume after
 * a seq with no gap and no duplicate, server-side filters, ingest with acks, stats each second, and
 * slow consumers dropped with 1008. Loop thread only. */
#ifndef TT_WS_LIVE_H
#define TT_WS_LIVE_H

#include "core/config.h"
#include "http/http_server.h"
#include "live/stream.h"
#include "pipeline/gateway.h"
#include "store/store.h"

typedef struct ws_live ws_live;

typedef struct ws_live_opts {
    uv_loop_t *loop;
    const tt_config *cfg;
    store *st;                /* get_recent_events reads */
    stream *rows;             /* the committed rows, in memory mode: this instance's commits */
    gateway *gw;              /* ingest over the WebSocket */
    job_queue *q;             /* its depth, for stats */
    http_server *hs;          /* connection ids */
    uint64_t started_mono_ms; /* the daemon's start, for uptime in stats */
} ws_live_opts;

typedef struct ws_live_stats {
    size_t clients;
    int64_t last_seq;      /* the highest seq broadcast */
    uint64_t slow_dropped; /* clients closed with 1008 */
    uint64_t messages_sent;
} ws_live_stats;

/* Sets up the endpoint (registering its encoding with 'rows'); the options' pointers must
 * outlive it. */
int ws_live_create(const ws_live_opts *opts, ws_live **out);
void ws_live_free(ws_live *ws); /* NULL is a no-op; after every connection closed */

#define STATE_CLIENT_MAX 128 /* bytes of a dashboard state client id */

/* Makes 'flags' (a JSON object's text) the flags of every hello, and, when it differs from the
 * last, sends {"type":"flags","flags":...} to every client. Returns whether it differed. */
bool ws_live_set_flags(ws_live *ws, const char *flags);

/* Sends 'msg' (JSON text) to every client following client_id's dashboard state
 * ({"type":"state_subscribe","client_id":...}). */
void ws_live_push_state(ws_live *ws, const char *client_id, const char *msg, size_t len);

/* The endpoint at "/ws", for http_server_add_ws(); valid while 'ws' lives. */
const http_ws_endpoint *ws_live_endpoint(ws_live *ws);

/* Once a second: a stats message to every client. */
void ws_live_tick(ws_live *ws);
/* Closes every client with 'code' and 'reason' (1001 at shutdown). */
void ws_live_close_all(ws_live *ws, int code, const char *reason);

void ws_live_get_stats(const ws_live *ws, ws_live_stats *out);

#endif
