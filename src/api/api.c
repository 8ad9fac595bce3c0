/* api.c -- which handler serves which method and path of this area (DESIGN §5), and what it
 * does once a second. */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#define DLQ_EVERY_TICKS 5      /* the DLQ's stats are read every 5 s */
#define FLAGS_EVERY_TICKS 30   /* the flags are read again every 30 s: a lost notice heals */
#define STATE_EXPIRY_TICKS 600 /* idle clients' state is deleted every 10 min */

/* The route table; each row gets the api_ctx when it is registered. The last column is who may
 * use the row (DESIGN §5, "Access"): producers post events, readers read, the operator
 * (service_role) acts on the DLQ and the breaker; /health and /ready are public. */
/* The query parameters of the routes that take some (DESIGN §5; the server refuses any other,
 * and a repeat of one that is not "any of"). Only /api/v1/events' text filters mean "any of";
 * /api/v1/metrics' take one value each, since a series is one group of values (a filter with
 * two would be a group_by). */
static const http_param EVENTS_QUERY[] = {
    {"after_seq", false}, {"since", false}, {"until", false}, {"type", true},   {"source", true},
    {"session_id", true}, {"status", true}, {"name", true},   {"limit", false}, {NULL, false}};
static const http_param METRICS_QUERY[] = {{"since", false},    {"until", false}, {"bucket", false},
                                           {"group_by", false}, {"type", false},  {"source", false},
                                           {"name", false},     {NULL, false}};
static const http_param SESSIONS_QUERY[] = {{"source", false}, {"state", false}, {"since", false},
                                            {"until", false},  {"limit", false}, {"cursor", false},
                                            {NULL, false}};
static const http_param TIMELINE_QUERY[] = {{"limit", false}, {NULL, false}};
static const http_param DLQ_LIST_QUERY[] = {
    {"status", false}, {"after_id", false}, {"limit", false}, {NULL, false}};
static const http_param DLQ_PURGE_QUERY[] = {{"older_than", false}, {NULL, false}};

static const http_route routes[API_ROUTES] = {
    {"/api/v1/events", HTTP_POST, api_events_post, NULL, NULL, AUTH_ROLES_INGEST, NULL},
    {"/api/v1/events", HTTP_GET | HTTP_HEAD, api_events_get, NULL, NULL, AUTH_ROLES_READ,
     EVENTS_QUERY},
    {"/api/v1/status", HTTP_GET | HTTP_HEAD, api_status, NULL, NULL, AUTH_ROLES_READ, NULL},
    {"/health", HTTP_GET | HTTP_HEAD, api_health, NULL, NULL, AUTH_PUBLIC, NULL},
    {"/ready", HTTP_GET | HTTP_HEAD, api_ready, NULL, NULL, AUTH_PUBLIC, NULL},
    /* public with TELLTALE_METRICS_PUBLIC (api_add_routes) */
    {"/metrics", HTTP_GET | HTTP_HEAD, api_prometheus, NULL, NULL, AUTH_ROLES_READ, NULL},
    {"/api/v1/dlq", HTTP_GET | HTTP_HEAD, api_dlq_list, NULL, NULL, AUTH_ROLES_SERVICE,
     DLQ_LIST_QUERY},
    {"/api/v1/dlq", HTTP_DELETE, api_dlq_purge, NULL, NULL, AUTH_ROLES_SERVICE, DLQ_PURGE_QUERY},
    {"/api/v1/dlq/stats", HTTP_GET | HTTP_HEAD, api_dlq_stats, NULL, NULL, AUTH_ROLES_READ, NULL},
    {"/api/v1/dlq/recover", HTTP_POST, api_dlq_recover, NULL, NULL, AUTH_ROLES_SERVICE, NULL},
    {"/api/v1/dlq/{id}/retry", HTTP_POST, api_dlq_retry, NULL, NULL, AUTH_ROLES_SERVICE, NULL},
    {"/api/v1/dlq/{id}/fail", HTTP_POST, api_dlq_fail, NULL, NULL, AUTH_ROLES_SERVICE, NULL},
    {"/api/v1/breaker", HTTP_PUT, api_breaker_put, NULL, NULL, AUTH_ROLES_SERVICE, NULL},
    {"/api/v1/flags", HTTP_GET | HTTP_HEAD, api_flags_list, NULL, NULL, AUTH_ROLES_READ, NULL},
    {"/api/v1/flags/{key}", HTTP_GET | HTTP_HEAD, api_flag_get, NULL, NULL, AUTH_ROLES_READ, NULL},
    {"/api/v1/flags/{key}", HTTP_PUT, api_flag_put, NULL, NULL, AUTH_ROLES_SERVICE, NULL},
    {"/api/v1/flags/{key}", HTTP_DELETE, api_flag_delete, NULL, NULL, AUTH_ROLES_SERVICE, NULL},
    /* OpenFeature clients carry a project's public key: any valid credential evaluates flags;
     * a browser's CORS preflight carries none. The handlers check the query (none) themselves,
     * after the CORS headers, so that a browser can read the refusal. */
    {"/ofrep/v1/evaluate/flags", HTTP_POST, api_ofrep_bulk, NULL, NULL, AUTH_ANY_KEY,
     HTTP_QUERY_OWN},
    {"/ofrep/v1/evaluate/flags/{key}", HTTP_POST, api_ofrep_one, NULL, NULL, AUTH_ANY_KEY,
     HTTP_QUERY_OWN},
    {"/ofrep/v1/evaluate/flags", HTTP_OPTIONS, api_ofrep_preflight, NULL, NULL, AUTH_PUBLIC,
     HTTP_QUERY_OWN},
    {"/ofrep/v1/evaluate/flags/{key}", HTTP_OPTIONS, api_ofrep_preflight, NULL, NULL, AUTH_PUBLIC,
     HTTP_QUERY_OWN},
    /* readers reach only their own client's state (api_state checks the JWT's sub) */
    {"/api/v1/state/{client_id}", HTTP_GET | HTTP_HEAD | HTTP_PUT | HTTP_DELETE, api_state, NULL,
     NULL, AUTH_ROLES_READ, NULL},
    {"/api/v1/state/{client_id}/{key}", HTTP_GET | HTTP_HEAD | HTTP_PUT | HTTP_DELETE, api_state,
     NULL, NULL, AUTH_ROLES_READ, NULL},
    /* OTLP/HTTP (otlp.c): errors as google.rpc.Status, in the request's encoding */
    {"/v1/traces", HTTP_POST, api_otlp_post, NULL, api_otlp_error, AUTH_ROLES_INGEST, NULL},
    {"/v1/logs", HTTP_POST, api_otlp_post, NULL, api_otlp_error, AUTH_ROLES_INGEST, NULL},
    {"/v1/metrics", HTTP_POST, api_otlp_post, NULL, api_otlp_error, AUTH_ROLES_INGEST, NULL},
    /* rollups and sessions, for readers */
    {"/api/v1/metrics", HTTP_GET | HTTP_HEAD, api_metrics_get, NULL, NULL, AUTH_ROLES_READ,
     METRICS_QUERY},
    {"/api/v1/sessions", HTTP_GET | HTTP_HEAD, api_sessions_list, NULL, NULL, AUTH_ROLES_READ,
     SESSIONS_QUERY},
    {"/api/v1/sessions/{id}", HTTP_GET | HTTP_HEAD, api_session_get, NULL, NULL, AUTH_ROLES_READ,
     TIMELINE_QUERY},
};

int api_add_routes(http_server *hs, api_ctx *ctx)
{
    ctx->hs = hs;
    for (size_t i = 0; i < API_ROUTES; i++) {
        ctx->routes[i] = routes[i];
        ctx->routes[i].ctx = ctx;
        if (routes[i].fn == api_prometheus && ctx->cfg->metrics_public) {
            ctx->routes[i].roles = AUTH_PUBLIC;
        }
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
    if (ctx->ticks % FLAGS_EVERY_TICKS == 1) {
        api_flags_refresh(ctx);
    }
    /* Every 10 minutes, or every half retention when that is shorter (tests use seconds). */
    uint64_t every = ctx->cfg->state_retention_ms / 2000;
    every = every < 1 ? 1 : every > STATE_EXPIRY_TICKS ? STATE_EXPIRY_TICKS : every;
    if (ctx->ticks % every == 0) {
        api_state_expire(ctx);
    }
}

void api_config_notice(const char *notice, void *arg)
{
    api_ctx *ctx = arg;
    if (strncmp(notice, "state:", 6) == 0) {
        api_state_refresh(ctx, notice + 6);
    } else {
        api_flags_refresh(ctx);
    }
}
