/* api.h -- the route table and the handlers behind it, one api_<resource>.c each.
 * A handler answers with http_respond*() now, or later through http_find(). Loop thread. */
#ifndef TT_API_H
#define TT_API_H

#include "server/http.h"

typedef void (*route_fn)(server *srv, http_req *r);

/* Finds the handler for r->method and r->path and runs it, or answers 404/405 itself. */
void api_dispatch(server *srv, http_req *r);

void api_events_post(server *srv, http_req *r);
void api_events_get(server *srv, http_req *r);
void api_status(server *srv, http_req *r);
void api_health(server *srv, http_req *r);
void api_ready(server *srv, http_req *r);
void api_prometheus(server *srv, http_req *r);
/* Serves an embedded dashboard file; 404 when there is none at r->path. */
void api_dashboard(server *srv, http_req *r);

/* The request's events answered: 202, or the store's failure. Used by server.c when the
 * persister hands a job back. */
void api_events_answer(server *srv, ingest_job *job);

void api_dlq_list(server *srv, http_req *r);
void api_dlq_stats(server *srv, http_req *r);
void api_dlq_retry(server *srv, http_req *r);
void api_dlq_recover(server *srv, http_req *r);
void api_dlq_fail(server *srv, http_req *r);
void api_dlq_purge(server *srv, http_req *r);
void api_breaker_put(server *srv, http_req *r);

/* /rest/v1/{table}: the PostgREST subset of supabase-js (rest_compat.c). */
void api_rest(server *srv, http_req *r);
/* A /rest/v1 insert of events answered, once durable (rest_events.c): a JOB_HTTP job whose
 * 'user' is set came from there, and api_events_answer() hands it over. Frees job->user. */
void rest_events_answer(server *srv, ingest_job *job);

/* Work a handler runs on libuv's thread pool (the store blocks): it fills *status and *body
 * (a JSON value, or NULL for an error it wrote into 'err' with *status set) from the store.
 * 'arg' is the handler's, freed with free() afterwards. */
typedef void (*api_work_fn)(store *st, void *arg, int *status, cJSON **body,
                            char err[TT_ERRLEN]);

/* Runs 'work' off the loop and answers 'r' with its result, if 'r' is still there. Takes
 * 'arg'. A failing store answers 503 store_unavailable with Retry-After. */
void api_defer(server *srv, http_req *r, api_work_fn work, void *arg);

#endif
