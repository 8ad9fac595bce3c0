/* server.h -- telltale's front, assembled: the listener (http), the /api/v1 routes (api), the
 * PostgREST subset (rest), the live streams (live), and the ingest gateway they share, on the
 * caller's libuv loop. The one place that knows all of them (docs/ARCHITECTURE.md).
 *
 * Every function here runs on the loop thread. */
#ifndef TT_SERVER_H
#define TT_SERVER_H

#include "core/config.h"
#include "pipeline/gateway.h"
#include "pipeline/pipeline.h"
#include "pipeline/queue.h"
#include "store/store.h"

#include <uv.h>

typedef struct server server;

/* Binds the listening socket and starts serving on 'loop'. 'cfg', 'st' and 'q' must outlive
 * the server. On success *out owns it and server_port() is the port actually bound. */
int server_start(uv_loop_t *loop, const tt_config *cfg, store *st, job_queue *q, server **out,
                 char err[TT_ERRLEN]);

/* Lets /api/v1/status and /metrics read the pipeline's counters, and /ready say yes; NULL
 * detaches. */
void server_set_pipeline(server *srv, pipeline *p);

int server_port(const server *srv);
int server_otlp_port(const server *srv); /* the --otlp-listen port, 0 without one */

/* SIGHUP: rereads the TLS certificate and key (http_server_reload_tls). */
int server_reload_tls(server *srv, char err[TT_ERRLEN]);

/* The ingest gateway: where events made inside the daemon (the demo) are submitted, and what
 * the pipeline hands finished jobs back to (gateway_jobs_done, gateway_events_committed). */
gateway *server_gateway(server *srv);

/* Names the current phase for /ready, /api/v1/status and logs. 'phase' is static. */
void server_set_phase(server *srv, const char *phase);

/* Shutdown, in order (DESIGN §4.6): readiness false and new ingest refused with 503 ... */
void server_drain(server *srv);
/* ... true once every accepted request has been answered ... */
bool server_idle(server *srv);
/* ... WebSocket clients closed with 1001 "server shutdown" ... */
void server_close_clients(server *srv);
/* ... and the context torn down. Call, then let uv_run() return, then server_free(). */
void server_stop(server *srv);
void server_free(server *srv);

#endif
