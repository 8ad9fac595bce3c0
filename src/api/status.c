/* status.c -- /health, /ready and /api/v1/status: what the daemon says about itself. */
#include "api/api.h"

#include "os/clock.h"

#include <string.h>

static const char HEALTHY[] = "{\"status\":\"ok\"}";

void api_health(http_req *r, void *ctx)
{
    (void)ctx;
    r->cache_control = "no-store";
    http_respond_static(r, 200, "application/json", (const unsigned char *)HEALTHY,
                        sizeof HEALTHY - 1);
}

bool api_ready_now(const api_ctx *ctx)
{
    return ctx->pipeline != NULL && !gateway_draining(ctx->gw);
}

void api_ready(http_req *r, void *arg)
{
    const api_ctx *ctx = arg;
    bool ready = api_ready_now(ctx);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddBoolToObject(body, "ready", ready);
    cJSON_AddStringToObject(body, "state", ctx->phase);
    r->cache_control = "no-store";
    http_respond_json(r, ready ? 200 : 503, body);
}

static void num(cJSON *obj, const char *name, double v)
{
    cJSON_AddNumberToObject(obj, name, v);
}

static void add_persister(cJSON *root, const persister_stats *st)
{
    cJSON *p = cJSON_AddObjectToObject(root, "persister");
    num(p, "batches", (double)st->batches);
    num(p, "events", (double)st->events);
    num(p, "duplicates", (double)st->duplicates);
    num(p, "failed_batches", (double)st->failed_batches);
    num(p, "failed_events", (double)st->failed_events);
    num(p, "commit_p50_ms", histogram_quantile(&st->commit_seconds, 0.5) * 1e3);
    num(p, "commit_p99_ms", histogram_quantile(&st->commit_seconds, 0.99) * 1e3);
}

static void add_breaker(cJSON *root, const writer_stats *w)
{
    cJSON *b = cJSON_AddObjectToObject(root, "breaker");
    cJSON_AddStringToObject(b, "state", breaker_state_name(w->breaker_state));
    num(b, "transitions", (double)w->breaker_transitions);
    num(b, "opened", (double)w->breaker.opened);
    num(b, "half_opened", (double)w->breaker.half_opened);
    num(b, "closed", (double)w->breaker.closed);
    num(b, "rejected_calls", (double)w->breaker.rejected);
    num(b, "probe_timeouts", (double)w->breaker.probe_timeouts);
    if (w->breaker_transitions > 0) {
        cJSON *t = cJSON_AddObjectToObject(b, "last_transition");
        cJSON_AddStringToObject(t, "from", breaker_state_name(w->last_transition.from));
        cJSON_AddStringToObject(t, "to", breaker_state_name(w->last_transition.to));
        cJSON_AddStringToObject(t, "reason", w->last_transition.reason);
    }
}

static void add_writer(cJSON *root, const writer_stats *w)
{
    cJSON *o = cJSON_AddObjectToObject(root, "writer");
    num(o, "events_stored", (double)w->events_stored);
    num(o, "duplicates", (double)w->duplicates);
    num(o, "transient_failures", (double)w->transient_failures);
    num(o, "retries", (double)w->retries);
    num(o, "rejected_calls", (double)w->rejected_calls);
    num(o, "dead_lettered", (double)w->dead_lettered);
    num(o, "dlq_recovered", (double)w->dlq_recovered);
    num(o, "retention_deleted", (double)w->retention_deleted);
}

static void add_spool(cJSON *root, const pipeline_stats *ps)
{
    cJSON *s = cJSON_AddObjectToObject(root, "spool");
    cJSON_AddBoolToObject(s, "enabled", ps->spooled);
    if (!ps->spooled) {
        return;
    }
    int64_t now = (int64_t)clock_now_ms(), oldest = ps->spool.oldest_received_ms;
    num(s, "events", (double)ps->spool.events);
    num(s, "bytes", (double)ps->spool.bytes);
    num(s, "max_bytes", (double)ps->spool.max_bytes);
    num(s, "oldest_age_s", oldest > 0 && now > oldest ? (double)(now - oldest) / 1000.0 : 0);
    num(s, "shipped_batches", (double)ps->shipper.batches);
    num(s, "shipped_events", (double)ps->shipper.events);
    cJSON_AddBoolToObject(s, "waiting_for_store", ps->shipper.waiting);
}

static void add_dlq(cJSON *root, const api_ctx *ctx)
{
    cJSON *d = cJSON_AddObjectToObject(root, "dlq");
    if (!ctx->dlq_known) {
        return; /* not read yet: the first reading comes with the first tick */
    }
    num(d, "total_pending", (double)ctx->dlq.pending);
    num(d, "total_recovered", (double)ctx->dlq.recovered);
    num(d, "total_failed", (double)ctx->dlq.failed);
    num(d, "avg_retry_count", ctx->dlq.avg_retry_count);
    num(d, "oldest_pending_age_hours", ctx->dlq.oldest_pending_age_hours);
}

/* Where this instance learns of commits: the store's feed (PostgreSQL: every instance's), or,
 * for SQLite, its own persister. */
static void add_change_feed(cJSON *root, const api_ctx *ctx, const ws_live_stats *ws)
{
    cJSON *cf = cJSON_AddObjectToObject(root, "change_feed");
    change_feed_stats st = {0};
    if (ctx->feed != NULL) {
        change_feed_get_stats(ctx->feed, &st);
    }
    if (!st.available) {
        cJSON_AddStringToObject(cf, "kind", "in-process");
        cJSON_AddBoolToObject(cf, "connected", true);
        num(cf, "last_seq", (double)ws->last_seq);
        return;
    }
    cJSON_AddStringToObject(cf, "kind", "listen-notify");
    cJSON_AddBoolToObject(cf, "connected", st.connected);
    num(cf, "last_seq", (double)st.last_seq);
    num(cf, "notifications", (double)st.notifications);
    num(cf, "reconnects", (double)st.reconnects);
}

static void add_ingest(cJSON *root, const api_ctx *ctx, const ws_live_stats *ws)
{
    gateway_stats g;
    gateway_get_stats(ctx->gw, &g);
    const gateway_stats *c = &g;
    realtime_stats rs;
    realtime_get_stats(ctx->rt, &rs);
    cJSON *in = cJSON_AddObjectToObject(root, "ingest");
    num(in, "events_accepted", (double)c->events_accepted);
    num(in, "events_rejected", (double)c->events_rejected);
    num(in, "events_per_s", c->events_per_s);
    num(in, "requests_invalid", (double)c->requests_invalid);
    num(in, "requests_too_large", (double)c->requests_too_large);
    num(in, "requests_overloaded", (double)c->requests_overloaded);
    num(in, "requests_failed", (double)c->requests_failed);
    /* Both WebSocket endpoints' queues: /ws and Realtime. */
    cJSON *wso = cJSON_AddObjectToObject(root, "websocket");
    num(wso, "clients", (double)ws->clients);
    num(wso, "slow_dropped", (double)(ws->slow_dropped + rs.slow_dropped));
    num(wso, "messages_sent", (double)(ws->messages_sent + rs.messages_sent));
    num(wso, "last_seq", (double)ws->last_seq);
    cJSON *rt = cJSON_AddObjectToObject(root, "realtime");
    num(rt, "connections", (double)rs.connections);
    num(rt, "channels", (double)rs.channels);
    num(rt, "delivered_seq", (double)rs.delivered_seq);
    num(rt, "messages", (double)rs.messages);
}

void api_status(http_req *r, void *arg)
{
    const api_ctx *ctx = arg;
    ws_live_stats ws;
    ws_live_get_stats(ctx->ws, &ws);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", TT_VERSION);
    num(root, "uptime_s", (double)(clock_mono_ms() - ctx->started_mono_ms) / 1000.0);
    cJSON_AddBoolToObject(root, "ready", api_ready_now(ctx));
    cJSON_AddBoolToObject(root, "draining", gateway_draining(ctx->gw));
    cJSON_AddStringToObject(root, "phase", ctx->phase);
    cJSON *st = cJSON_AddObjectToObject(root, "store");
    cJSON_AddStringToObject(st, "kind", store_kind(ctx->st));
    num(st, "schema_version", store_schema_version(ctx->st));
    cJSON *q = cJSON_AddObjectToObject(root, "queue");
    num(q, "waiting", (double)queue_waiting(ctx->q));
    num(q, "inflight", (double)queue_inflight(ctx->q));
    num(q, "capacity", queue_capacity(ctx->q));
    if (ctx->pipeline != NULL) {
        pipeline_stats ps;
        pipeline_get_stats(ctx->pipeline, &ps);
        add_persister(root, &ps.persister);
        add_breaker(root, &ps.writer);
        add_writer(root, &ps.writer);
        add_spool(root, &ps);
    }
    add_dlq(root, ctx);
    add_change_feed(root, ctx, &ws);
    add_ingest(root, ctx, &ws);
    r->cache_control = "no-store";
    http_respond_json(r, 200, root);
}

/* PUT /api/v1/breaker {"state": "forced_open" | "disabled" | "closed"}: the operator's hand on
 * the circuit breaker. forced_open stops every store call (maintenance: events wait in the
 * spool, or ingest gets 503 on an embedded store); disabled lets every call through without
 * judging; closed resets it. Answers 202: the writer applies it at its next look. */
void api_breaker_put(http_req *r, void *arg)
{
    api_ctx *ctx = arg;
    static const struct {
        const char *name;
        writer_control control;
    } states[] = {{"forced_open", WRITER_FORCE_OPEN},
                  {"disabled", WRITER_DISABLE_BREAKER},
                  {"closed", WRITER_RESET_BREAKER}};
    cJSON *body = r->body != NULL ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(body, "state");
    for (size_t i = 0; cJSON_IsString(state) && i < sizeof states / sizeof states[0]; i++) {
        if (strcmp(state->valuestring, states[i].name) == 0 && ctx->pipeline != NULL) {
            pipeline_control_breaker(ctx->pipeline, states[i].control);
            cJSON *answer = cJSON_CreateObject();
            cJSON_AddStringToObject(answer, "requested", states[i].name);
            cJSON_Delete(body);
            http_respond_json(r, 202, answer);
            return;
        }
    }
    cJSON_Delete(body);
    http_respond_error(r, 400, "invalid_body",
                       "send {\"state\": \"forced_open\"}, {\"state\": \"disabled\"} or "
                       "{\"state\": \"closed\"}");
}
