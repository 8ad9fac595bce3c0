/* server_impl.h -- the server's insides, shared by the files of src/server/ only.
 * Loop thread only, except where a field says otherwise. */
#ifndef TT_SERVER_IMPL_H
#define TT_SERVER_IMPL_H

#include "server/server.h"

#include "core/uuid7.h"
#include "server/change_feed.h"

#include <pthread.h>
#include <uv.h> /* before libwebsockets.h, which declares its libuv glue only after it */
#include <libwebsockets.h>

typedef struct http_req http_req;
typedef struct ws_client ws_client;
typedef struct realtime realtime;

/* What the server counts itself; the rest comes from the queue and the persister. */
typedef struct server_counters {
    uint64_t events_accepted;     /* acknowledged as durable */
    uint64_t events_rejected;     /* refused: invalid, too large, overload, store failure */
    uint64_t requests_invalid;    /* 400 */
    uint64_t requests_too_large;  /* 413 */
    uint64_t requests_overloaded; /* 429 / 503 */
    uint64_t requests_failed;     /* store could not commit */
    uint64_t ws_slow_dropped;     /* clients closed with 1008 */
    uint64_t ws_messages_sent;
} server_counters;

struct server {
    uv_loop_t *loop;
    const tt_config *cfg;
    store *st;
    job_queue *q;
    pipeline *pipeline;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    int port;
    uint64_t started_mono_ms;
    bool draining;
    const char *phase; /* "starting", "serving", "draining", "shipping", "closing" */
    dlq_stats dlq;     /* read on the thread pool once per DLQ_EVERY_MS ticks */
    bool dlq_known;
    bool dlq_reading;
    uint64_t ticks;
    bool stopping;
    uint64_t next_id; /* for requests and clients */
    http_req *reqs;   /* requests alive, so deferred answers can find theirs */
    size_t body_bytes; /* bodies being received, within cfg->inflight_body_bytes */
    ws_client *clients;
    size_t nclients;
    int64_t last_seq; /* highest seq broadcast to /ws */
    realtime *realtime; /* /realtime/v1/websocket */
    uuid7_gen ids;
    server_counters counters;
    change_feed *feed; /* every instance's commits, where the store has a feed */
    uv_timer_t tick;   /* once a second: stats to clients, rates */
    bool tick_open;
    double events_per_s;
    uint64_t accepted_at_last_tick;
    /* Jobs the persister has finished, to be answered on the loop thread. */
    pthread_mutex_t done_lock; /* guards done_head/done_tail */
    ingest_job *done_head, *done_tail;
};

/* Gives every event of 'b' that has none a fresh UUIDv7. */
void server_assign_ids(server *srv, event_batch *b);

/* Queues a job made from 'batch' (emptied on success); 'user' goes into the job. Returns 0,
 * TT_EFULL, TT_ECLOSED or TT_ENOMEM; on failure the batch stays the caller's. */
int server_enqueue(server *srv, job_origin origin, uint64_t requester, void *user,
                   event_batch *batch);

/* Why a job that could not be made durable was refused: the error code for the producer,
 * with the HTTP status and the Retry-After seconds that go with it. Nothing is kept, so
 * every refusal invites a retry: a full spool (TT_EFULL) in a while, a store out of reach
 * shortly. */
const char *server_refusal(int result, int *status, int *retry_after_s);

/* Wakes the loop thread so it runs server_service(); any thread. */
void server_wake(server *srv);

#endif
