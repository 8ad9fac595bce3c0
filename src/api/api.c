/* api.c -- which handler serves which method and path of this area (DESIGN §5), and what it
 * does once a second. */
#include "api/api.h"

#include <stdlib.h>

#define DLQ_EVERY_TICKS 5 /* the DLQ's stats are read every 5 s */

/* The route table; each row gets the api_ctx when it is registered. */
static const http_route routes[API_ROUTES] = {
    {"/api/v1/events", HTTP_POST, api_events_post, NULL, NULL},
    {"/api/v1/events", HTTP_GET | HTTP_HEAD, api_events_get, NULL, NULL},
    {"/api/v1/status", HTTP_GET | HTTP_HEAD, api_status, NULL, NULL},
    {"/health", HTTP_GET | HTTP_HEAD, api_health, NULL, NULL},
    {"/ready", HTTP_GET | HTTP_HEAD, api_ready, NULL, NULL},
    {"/metrics", HTTP_GET | HTTP_HEAD, api_prometheus, NULL, NULL},
    {"/api/v1/dlq", HTTP_GET | HTTP_HEAD, api_dlq_list, NULL, NULL},
    {"/api/v1/dlq", HTTP_DELETE, api_dlq_purge, NULL, NULL},
    {"/api/v1/dlq/stats", HTTP_GET | HTTP_HEAD, api_dlq_stats, NULL, NULL},
    {"/api/v1/dlq/recover", HTTP_POST, api_dlq_recover, NULL, NULL},
    {"/api/v1/dlq/{id}/retry", HTTP_POST, api_dlq_retry, NULL, NULL},
    {"/api/v1/dlq/{id}/fail", HTTP_POST, api_dlq_fail, NULL, NULL},
    {"/api/v1/breaker", HTTP_PUT, api_breaker_put, NULL, NULL},
    {"/api/v1/metrics", HTTP_GET | HTTP_HEAD, api_metrics_get, NULL, NULL},
    {"/api/v1/sessions", HTTP_GET | HTTP_HEAD, api_sessions_list, NULL, NULL},
    {"/api/v1/sessions/{id}", HTTP_GET | HTTP_HEAD, api_session_get, NULL, NULL},
};

int api_add_routes(http_server *hs, api_ctx *ctx)
{
    for (size_t i = 0; i < API_ROUTES; i++) {
        ctx->routes[i] = routes[i];
        ctx->routes[i].ctx = ctx;
    }
    return http_server_add_routes(hs, ctx->routes, API_ROUTES);
}

typedef struct dlq_reading {
    uv_work_t work;
    api_ctx *ctx;
    dlq_stats stats;
    int rc;
} dlq_reading;

static void read_dlq(uv_work_t *w)
{
    dlq_reading *d = w->data;
    char err[TT_ERRLEN];
    d->rc = store_dlq_stats(d->ctx->st, &d->stats, err);
}

static void dlq_read(uv_work_t *w, int status)
{
    dlq_reading *d = w->data;
    d->ctx->dlq_reading = false;
    if (status == 0 && d->rc == 0) {
        d->ctx->dlq = d->stats;
        d->ctx->dlq_known = true;
    }
    free(d);
}

/* The DLQ's stats come from the store: read them off the loop, now and then. Not a request,
 * so not http_defer(): nobody waits for the answer. */
static void refresh_dlq_stats(api_ctx *ctx)
{
    dlq_reading *d = ctx->dlq_reading || *ctx->stopping ? NULL : calloc(1, sizeof *d);
    if (d == NULL) {
        return;
    }
    d->ctx = ctx;
    d->work.data = d;
    if (uv_queue_work(ctx->loop, &d->work, read_dlq, dlq_read) == 0) {
        ctx->dlq_reading = true;
    } else {
        free(d);
    }
}

void api_tick(api_ctx *ctx)
{
    if (++ctx->ticks % DLQ_EVERY_TICKS == 1) {
        refresh_dlq_stats(ctx);
    }
}
