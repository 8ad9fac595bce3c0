/* status.c -- /health, /ready and /api/v1/status: what the daemon says about itself. */
#include "api/api.h"

#include "api/api_call.h"

#include "os/clock.h"

#include <stdio.h>
#include <string.h>

static const char HEALTHY[] = "{\"status\":\"ok\"}";

void api_ingest_stats(const api_ctx *ctx, gateway_stats *out)
{
    gateway_get_stats(ctx->gw, out);
    if (ctx->hs != NULL) {
        out->requests_too_large += http_server_bodies_too_large(ctx->hs);
        out->requests_invalid += http_server_bodies_invalid(ctx->hs);
    }
}

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

/* Whether the store takes writes now: its last connection attempt (any thread's) reached it,
 * its schema was checked (a PostgreSQL store down at start-up has none yet), the writer's
 * breaker lets calls through and no spooled backlog waits for it. Readiness does not depend on it
 * (ingest goes to the spool). */
static bool store_available(const api_ctx *ctx)
{
    if (ctx->pipeline == NULL || store_schema_version(ctx->st) <= 0 || !store_reachable(ctx->st)) {
        return false;
    }
    pipeline_stats ps;
    pipeline_get_stats(ctx->pipeline, &ps);
    bool breaker_open =
        ps.writer.breaker_state == BREAKER_OPEN || ps.writer.breaker_state == BREAKER_FORCED_OPEN;
    return !breaker_open && !(ps.spooled && ps.shipper.waiting);
}

void api_ready(http_req *r, void *arg)
{
    const api_ctx *ctx = arg;
    bool ready = api_ready_now(ctx);
    json_writer w = {0};
    json_open_object(&w);
    json_member_bool(&w, "ready", ready);
    json_member_string(&w, "state", ctx->phase);
    json_member_string(&w, "store", store_available(ctx) ? "available" : "unavailable");
    json_close_object(&w);
    r->cache_control = "no-store";
    http_respond_written(r, ready ? 200 : 503, &w);
}

/* Opens the member object 'name' of the object being written. */
static void section(json_writer *w, const char *name)
{
    json_key(w, name);
    json_open_object(w);
}

static void num(json_writer *w, const char *name, double v)
{
    json_member_number(w, name, v);
}

/* Counters and sequence numbers: written exactly, never through a double. */
static void count(json_writer *w, const char *name, int64_t v)
{
    json_member_int64(w, name, v);
}

static void write_persister(json_writer *w, const persister_stats *st)
{
    section(w, "persister");
    count(w, "batches", st->batches);
    count(w, "events", st->events);
    count(w, "duplicates", st->duplicates);
    count(w, "failed_batches", st->failed_batches);
    count(w, "failed_events", st->failed_events);
    num(w, "commit_p50_ms", histogram_quantile(&st->commit_seconds, 0.5) * 1e3);
    num(w, "commit_p99_ms", histogram_quantile(&st->commit_seconds, 0.99) * 1e3);
    json_close_object(w);
}

static void write_breaker(json_writer *w, const writer_stats *ws)
{
    section(w, "breaker");
    json_member_string(w, "state", breaker_state_name(ws->breaker_state));
    count(w, "transitions", ws->breaker_transitions);
    count(w, "opened", ws->breaker.opened);
    count(w, "half_opened", ws->breaker.half_opened);
    count(w, "closed", ws->breaker.closed);
    count(w, "rejected_calls", ws->breaker.rejected);
    count(w, "probe_timeouts", ws->breaker.probe_timeouts);
    if (ws->breaker_transitions > 0) {
        section(w, "last_transition");
        json_member_string(w, "from", breaker_state_name(ws->last_transition.from));
        json_member_string(w, "to", breaker_state_name(ws->last_transition.to));
        json_member_string(w, "reason", ws->last_transition.reason);
        json_close_object(w);
    }
    json_close_object(w);
}

static void write_writer(json_writer *w, const writer_stats *ws)
{
    section(w, "writer");
    count(w, "events_stored", ws->events_stored);
    count(w, "duplicates", ws->duplicates);
    count(w, "transient_failures", ws->transient_failures);
    count(w, "retries", ws->retries);
    count(w, "rejected_calls", ws->rejected_calls);
    count(w, "dead_lettered", ws->dead_lettered);
    count(w, "dlq_recovered", ws->dlq_recovered);
    count(w, "retention_deleted", ws->retention_deleted);
    json_close_object(w);
}

static void write_spool(json_writer *w, const pipeline_stats *ps)
{
    section(w, "spool");
    json_member_bool(w, "enabled", ps->spooled);
    if (ps->spooled) {
        int64_t now = (int64_t)clock_now_ms(), oldest = ps->spool.oldest_received_ms;
        count(w, "events", ps->spool.events);
        count(w, "bytes", ps->spool.bytes);
        count(w, "max_bytes", ps->spool.max_bytes);
        num(w, "oldest_age_s", oldest > 0 && now > oldest ? (double)(now - oldest) / 1000.0 : 0);
        count(w, "shipped_batches", ps->shipper.batches);
        count(w, "shipped_events", ps->shipper.events);
        json_member_bool(w, "waiting_for_store", ps->shipper.waiting);
    }
    json_close_object(w);
}

static void write_dlq(json_writer *w, const api_ctx *ctx)
{
    section(w, "dlq");
    if (ctx->dlq_known) { /* else not read yet: the first reading comes with the first tick */
        count(w, "total_pending", ctx->dlq.pending);
        count(w, "total_recovered", ctx->dlq.recovered);
        count(w, "total_failed", ctx->dlq.failed);
        num(w, "avg_retry_count", ctx->dlq.avg_retry_count);
        num(w, "oldest_pending_age_hours", ctx->dlq.oldest_pending_age_hours);
    }
    json_close_object(w);
}

/* Where this instance learns of commits: the store's feed (PostgreSQL: every instance's), or,
 * for SQLite, its own persister. */
static void write_change_feed(json_writer *w, const api_ctx *ctx, const ws_live_stats *ws)
{
    change_feed_stats st = {0};
    if (ctx->feed != NULL) {
        change_feed_get_stats(ctx->feed, &st);
    }
    section(w, "change_feed");
    json_member_string(w, "kind", st.available ? "listen-notify" : "in-process");
    json_member_bool(w, "connected", st.available ? st.connected : true);
    count(w, "last_seq", st.available ? st.last_seq : ws->last_seq);
    if (st.available) {
        count(w, "notifications", st.notifications);
        count(w, "reconnects", st.reconnects);
    }
    json_close_object(w);
}

static void write_ingest(json_writer *w, const api_ctx *ctx, const ws_live_stats *ws)
{
    gateway_stats c;
    realtime_stats rs;
    api_ingest_stats(ctx, &c);
    realtime_get_stats(ctx->rt, &rs);
    section(w, "ingest");
    count(w, "events_accepted", c.events_accepted);
    count(w, "events_rejected", c.events_rejected);
    num(w, "events_per_s", c.events_per_s);
    count(w, "requests_invalid", c.requests_invalid);
    count(w, "requests_too_large", c.requests_too_large);
    count(w, "requests_overloaded", c.requests_overloaded);
    count(w, "requests_failed", c.requests_failed);
    json_close_object(w);
    section(w, "websocket"); /* both WebSocket endpoints' queues: /ws and Realtime */
    count(w, "clients", ws->clients);
    count(w, "slow_dropped", ws->slow_dropped + rs.slow_dropped);
    count(w, "messages_sent", ws->messages_sent + rs.messages_sent);
    count(w, "last_seq", ws->last_seq);
    json_close_object(w);
    section(w, "realtime");
    count(w, "connections", rs.connections);
    count(w, "channels", rs.channels);
    count(w, "delivered_seq", rs.delivered_seq);
    count(w, "messages", rs.messages);
    json_close_object(w);
}

static void write_pipeline(json_writer *w, const api_ctx *ctx)
{
    if (ctx->pipeline == NULL) {
        return;
    }
    pipeline_stats ps;
    pipeline_get_stats(ctx->pipeline, &ps);
    write_persister(w, &ps.persister);
    write_breaker(w, &ps.writer);
    write_writer(w, &ps.writer);
    write_spool(w, &ps);
}

void api_status(http_req *r, void *arg)
{
    const api_ctx *ctx = arg;
    ws_live_stats ws;
    ws_live_get_stats(ctx->ws, &ws);
    json_writer w = {0};
    json_open_object(&w);
    json_member_string(&w, "version", TT_VERSION);
    num(&w, "uptime_s", (double)(clock_mono_ms() - ctx->started_mono_ms) / 1000.0);
    json_member_bool(&w, "ready", api_ready_now(ctx));
    json_member_bool(&w, "draining", gateway_draining(ctx->gw));
    json_member_string(&w, "phase", ctx->phase);
    section(&w, "store");
    json_member_string(&w, "kind", store_kind(ctx->st));
    num(&w, "schema_version", store_schema_version(ctx->st));
    json_close_object(&w);
    section(&w, "queue");
    num(&w, "waiting", (double)queue_waiting(ctx->q));
    num(&w, "inflight", (double)queue_inflight(ctx->q));
    num(&w, "capacity", queue_capacity(ctx->q));
    json_close_object(&w);
    write_pipeline(&w, ctx);
    write_dlq(&w, ctx);
    write_change_feed(&w, ctx, &ws);
    write_ingest(&w, ctx, &ws);
    json_close_object(&w);
    r->cache_control = "no-store";
    http_respond_written(r, 200, &w);
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
    static const char *const members[] = {"state", NULL};
    static const char usage[] =
        "send {\"state\": \"forced_open\"}, {\"state\": \"disabled\"} or {\"state\": \"closed\"}";
    cJSON *body = api_body_json(r);
    if (body == NULL) {
        return;
    }
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(body, "state");
    const char *unknown = api_unknown_member(body, members);
    if (unknown != NULL) {
        char m[TT_ERRLEN];
        snprintf(m, sizeof m, "unknown member '%.64s': %s", unknown, usage);
        http_respond_error(r, 400, "invalid_body", m);
        cJSON_Delete(body);
        return;
    }
    for (size_t i = 0; cJSON_IsString(state) && i < sizeof states / sizeof states[0]; i++) {
        if (strcmp(state->valuestring, states[i].name) == 0 && ctx->pipeline != NULL) {
            pipeline_control_breaker(ctx->pipeline, states[i].control);
            json_writer w = {0};
            json_open_object(&w);
            json_member_string(&w, "requested", states[i].name);
            json_close_object(&w);
            cJSON_Delete(body);
            http_respond_written(r, 202, &w);
            return;
        }
    }
    cJSON_Delete(body);
    http_respond_error(r, 400, "invalid_body", usage);
}
