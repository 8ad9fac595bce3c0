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

#endif
