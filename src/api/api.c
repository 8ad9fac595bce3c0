/* api.c -- which handler serves which method and path of this area (DESIGN §5), and what it
 * does once a second. */
#include "api/api.h"

#include "os/log.h"

#include <stdlib.h>

#define DLQ_EVERY_TICKS 5 /* the DLQ's stats are read every 5 s */

int api_add_routes(http_server *hs, api_ctx *ctx)
{
    const http_route routes[API_ROUTES] = {
        {"/api/v1/events", HTTP_POST, api_events_post, ctx, NULL},
        {"/api/v1/events", HTTP_GET | HTTP_HEAD, api_events_get, ctx, NULL},
        {"/api/v1/status", HTTP_GET | HTTP_HEAD, api_status, ctx, NULL},
        {"/health", HTTP_GET | HTTP_HEAD, api_health, ctx, NULL},
        {"/ready", HTTP_GET | HTTP_HEAD, api_ready, ctx, NULL},
        {"/metrics", HTTP_GET | HTTP_HEAD, api_prometheus, ctx, NULL},
        {"/api/v1/dlq", HTTP_GET | HTTP_HEAD, api_dlq_list, ctx, NULL},
        {"/api/v1/dlq", HTTP_DELETE, api_dlq_purge, ctx, NULL},
        {"/api/v1/dlq/stats", HTTP_GET | HTTP_HEAD, api_dlq_stats, ctx, NULL},
        {"/api/v1/dlq/recover", HTTP_POST, api_dlq_recover, ctx, NULL},
        {"/api/v1/dlq/{id}/retry", HTTP_POST, api_dlq_retry, ctx, NULL},
        {"/api/v1/dlq/{id}/fail", HTTP_POST, api_dlq_fail, ctx, NULL},
        {"/api/v1/breaker", HTTP_PUT, api_breaker_put, ctx, NULL},
    };
    size_t n = 0;
    while (n < API_ROUTES && routes[n].path != NULL) {
        ctx->routes[n] = routes[n];
        n++;
    }
    return http_server_add_routes(hs, ctx->routes, n);
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
    dlq_reading *d = ctx->dlq_reading || ctx->stopping ? NULL : calloc(1, sizeof *d);
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

void api_stop(api_ctx *ctx)
{
    ctx->stopping = true;
}
