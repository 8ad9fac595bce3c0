/* api.h -- the /api/v1 routes and telltale's own health routes (/health, /ready, /metrics),
 * one file per resource: events.c, otlp.c (OTLP/HTTP), status.c (and /health, /ready, the breaker),
 * prometheus.c, dlq.c, flags.c, ofrep.c, state.c, metrics.c (rollups), sessions.c and
 * session_timeline.c. A handler answers with http_respond*() now, or later through
 * http_defer(). Loop thread. */
#ifndef TT_API_H
#define TT_API_H

#include "core/config.h"
#include "http/http_server.h"
#include "live/change_feed.h"
#include "live/realtime.h"
#include "live/ws_live.h"
#include "pipeline/gateway.h"
#include "pipeline/pipeline.h"
#include "store/store.h"

typedef struct state_push state_push;

#define API_ROUTES 29 /* the rows of api.c's table */

/* What the routes work with and report on; it must outlive the server. The composition
 * (server.c) fills the public part. */
typedef struct api_ctx {
    /* public */
    uv_loop_t *loop;
    const tt_config *cfg;
    store *st;
    gateway *gw;
    job_queue *q;
    pipeline *pipeline; /* NULL until the pipeline runs: not ready */
    const char *phase;  /* static: "starting", "serving", "draining", "shipping", "closing" */
    uint64_t started_mono_ms;
    ws_live *ws;          /* for status: /ws clients */
    realtime *rt;         /* Realtime connections */
    change_feed *feed;    /* every instance's commits, or NULL */
    const bool *stopping; /* no new work once *stopping (the loop is ending) */
    /* private */
    const http_server *hs; /* set by api_add_routes */
    dlq_stats dlq;         /* read on the thread pool now and then (api_tick) */
    bool dlq_known, dlq_reading;
    uint64_t ticks;
    http_route routes[API_ROUTES];
    bool flags_refreshing, flags_stale; /* a read in flight; another wanted after it */
    bool state_expiring;
    state_push *state_waiting; /* clients whose state is to be read and pushed */
    size_t state_nwaiting;
    bool state_reading;
} api_ctx;

/* The gateway's counters, with the bodies the HTTP edge refused as too large counted in
 * requests_too_large: what /metrics and /api/v1/status show. Loop thread. */
void api_ingest_stats(const api_ctx *ctx, gateway_stats *out);

/* Adds the routes of this area. */
int api_add_routes(http_server *hs, api_ctx *ctx);

/* Once a second: the DLQ's stats are refreshed every few ticks (they come from the store). */
void api_tick(api_ctx *ctx);

/* The handlers, for the route table (api.c). 'ctx' is the api_ctx. */
void api_events_post(http_req *r, void *ctx);
void api_events_get(http_req *r, void *ctx);
void api_status(http_req *r, void *ctx);
void api_health(http_req *r, void *ctx);
void api_ready(http_req *r, void *ctx);
void api_prometheus(http_req *r, void *ctx);
void api_breaker_put(http_req *r, void *ctx);
void api_dlq_list(http_req *r, void *ctx);
void api_dlq_stats(http_req *r, void *ctx);
void api_dlq_retry(http_req *r, void *ctx);
void api_dlq_recover(http_req *r, void *ctx);
void api_dlq_fail(http_req *r, void *ctx);
void api_dlq_purge(http_req *r, void *ctx);
void api_otlp_post(http_req *r, void *ctx);
/* The OTLP routes' error writer: google.rpc.Status, protobuf or JSON as the request was. */
void api_otlp_error(http_req *r, const http_error *e);

void api_flags_list(http_req *r, void *ctx);
void api_flag_get(http_req *r, void *ctx);
void api_flag_put(http_req *r, void *ctx);
void api_flag_delete(http_req *r, void *ctx);
void api_ofrep_one(http_req *r, void *ctx);
void api_ofrep_bulk(http_req *r, void *ctx);
void api_ofrep_preflight(http_req *r, void *ctx);
void api_state(http_req *r, void *ctx);

/* Reads the flags off the loop and, if they changed, pushes them to every /ws client and
 * every Realtime channel on topic "flags" (flags.c). Loop thread. */
void api_flags_refresh(api_ctx *ctx);
/* Reads client_id's dashboard state off the loop and pushes it to its sessions (state.c). */
void api_state_refresh(api_ctx *ctx, const char *client_id);
/* Drops the state pushes not yet started (at shutdown, once the loop has ended). */
void api_state_pushes_free(api_ctx *ctx);
/* Deletes the state of clients idle longer than TELLTALE_STATE_RETENTION, off the loop. */
void api_state_expire(api_ctx *ctx);
/* A notice of the change feed (store_notice_fn): "flags", "state:<client_id>", or "" (after
 * a reconnection: anything may have changed). 'ctx' is the api_ctx. */
void api_config_notice(const char *notice, void *ctx);

void api_metrics_get(http_req *r, void *ctx);
void api_sessions_list(http_req *r, void *ctx);
void api_session_get(http_req *r, void *ctx);

/* Ready while the pipeline runs and no shutdown has begun. */
bool api_ready_now(const api_ctx *ctx);

#endif
