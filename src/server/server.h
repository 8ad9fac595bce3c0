/* server.h -- telltale's HTTP and WebSocket front: libwebsockets on the caller's libuv loop.
 *
 * Every function here runs on the loop thread, except server_jobs_done(), which the persister
 * calls from its own thread. */
#ifndef TT_SERVER_H
#define TT_SERVER_H

#include "core/config.h"
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

/* Hands finished jobs back for answering and broadcast: a persister_done_fn. Any thread. */
void server_jobs_done(ingest_job *jobs, void *srv);

/* Hands back events the store committed on its own schedule (shipped from the spool,
 * recovered dead letters), for broadcast: a writer_committed_fn. Takes the batch. Any
 * thread. */
void server_events_committed(event_batch *b, void *srv);

/* Submits events made inside the daemon (the demo generator). Takes ownership of 'batch'
 * (emptied, even on error). Returns 0, TT_EFULL or TT_ECLOSED. */
int server_submit_internal(server *srv, event_batch *batch);

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
