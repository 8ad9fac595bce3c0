/* prometheus.c -- GET /metrics: telltale's own health in the Prometheus text format. */
#include "api/api.h"

#include "os/clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct text {
    char *buf;
    size_t len, cap;
    bool oom;
} text;

static void put_line(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put_line(text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = t->oom ? 0 : vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (t->oom || (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        char *grown = realloc(t->buf, t->cap * 2 + (size_t)n);
        if (grown == NULL) {
            t->oom = true;
            return;
        }
        t->buf = grown;
        t->cap = t->cap * 2 + (size_t)n;
    }
}

static void metric(text *t, const char *name, const char *type, const char *help, double v)
{
    put_line(t, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

static void commit_histogram(text *t, const histogram *h)
{
    const char *name = "telltale_batch_commit_seconds";
    put_line(t, "# HELP %s Time to commit one batch to the store.\n# TYPE %s histogram\n", name,
             name);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h->nbounds; i++) {
        cumulative += h->counts[i];
        put_line(t, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i],
                 (unsigned long long)cumulative);
    }
    put_line(t, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
    put_line(t, "%s_sum %.17g\n%s_count %llu\n", name, h->sum, name, (unsigned long long)h->count);
}

static void breaker_metrics(text *t, const writer_stats *w)
{
    static const breaker_state states[] = {BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN,
                                           BREAKER_FORCED_OPEN, BREAKER_DISABLED};
    put_line(t,
             "# HELP telltale_breaker_state The circuit breaker's state (1 for the current one).\n"
             "# TYPE telltale_breaker_state gauge\n");
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        put_line(t, "telltale_breaker_state{state=\"%s\"} %d\n", breaker_state_name(states[i]),
                 w->breaker_state == states[i]);
    }
    put_line(t,
             "# HELP telltale_breaker_transitions_total Changes of breaker state, by new state.\n"
             "# TYPE telltale_breaker_transitions_total counter\n"
             "telltale_breaker_transitions_total{to=\"open\"} %llu\n"
             "telltale_breaker_transitions_total{to=\"half_open\"} %llu\n"
             "telltale_breaker_transitions_total{to=\"closed\"} %llu\n"
             "telltale_breaker_transitions_total{to=\"forced_open\"} %llu\n"
             "telltale_breaker_transitions_total{to=\"disabled\"} %llu\n",
             (unsigned long long)w->breaker.opened, (unsigned long long)w->breaker.half_opened,
             (unsigned long long)w->breaker.closed, (unsigned long long)w->breaker.forced,
             (unsigned long long)w->breaker.disabled);
}

static void pipeline_metrics(text *t, const pipeline_stats *ps)
{
    const writer_stats *w = &ps->writer;
    metric(t, "telltale_events_stored_total", "counter", "New rows committed to the store.",
           (double)w->events_stored);
    metric(t, "telltale_events_duplicate_total", "counter",
           "Events whose id was already stored (kept once).", (double)w->duplicates);
    metric(t, "telltale_batches_failed_total", "counter",
           "Batches that could not be made durable (their requests were refused).",
           (double)ps->persister.failed_batches);
    metric(t, "telltale_store_transient_failures_total", "counter",
           "Store calls that failed transiently.", (double)w->transient_failures);
    metric(t, "telltale_store_retries_total", "counter", "Store calls retried after a failure.",
           (double)w->retries);
    metric(t, "telltale_events_dead_lettered_total", "counter",
           "Events the store refused, put in the dead letter queue.", (double)w->dead_lettered);
    metric(t, "telltale_dlq_recovered_total", "counter", "Dead letters the store took on a retry.",
           (double)w->dlq_recovered);
    breaker_metrics(t, w);
    if (ps->spooled) {
        int64_t now = (int64_t)clock_now_ms(), oldest = ps->spool.oldest_received_ms;
        metric(t, "telltale_spool_events", "gauge", "Events waiting in the spool.",
               (double)ps->spool.events);
        metric(t, "telltale_spool_bytes", "gauge", "Approximate bytes waiting in the spool.",
               (double)ps->spool.bytes);
        metric(t, "telltale_spool_max_bytes", "gauge", "The spool's quota.",
               (double)ps->spool.max_bytes);
        metric(t, "telltale_spool_oldest_age_seconds", "gauge",
               "Age of the oldest event waiting in the spool.",
               oldest > 0 && now > oldest ? (double)(now - oldest) / 1000.0 : 0);
    }
    commit_histogram(t, &ps->persister.commit_seconds);
}

/* One family, every limit listed from the start (DESIGN §5, "Limits"). */
static void limit_metrics(text *t, const http_server *hs, const gateway_stats *g)
{
    const char *name = "telltale_limit_rejections_total";
    put_line(t,
             "# HELP %s Clients refused or closed for breaking a limit against abuse, by limit.\n"
             "# TYPE %s counter\n",
             name, name);
    for (int k = 0; k < HTTP_LIMIT_N; k++) {
        put_line(t, "%s{limit=\"%s\"} %llu\n", name, http_limit_name((http_limit)k),
                 (unsigned long long)http_server_limit_count(hs, (http_limit)k));
    }
    put_line(t, "%s{limit=\"ingest_rate\"} %llu\n", name,
             (unsigned long long)g->requests_rate_limited);
}

static void render(http_req *r, const api_ctx *ctx)
{
    text t = {.buf = malloc(4096), .cap = 4096};
    t.oom = t.buf == NULL;
    gateway_stats g;
    ws_live_stats ws;
    realtime_stats rs;
    api_ingest_stats(ctx, &g);
    ws_live_get_stats(ctx->ws, &ws);
    realtime_get_stats(ctx->rt, &rs);
    const gateway_stats *c = &g;
    bool draining = gateway_draining(ctx->gw);
    metric(&t, "telltale_events_accepted_total", "counter", "Events acknowledged as durable.",
           (double)c->events_accepted);
    put_line(&t, "# HELP telltale_requests_rejected_total Ingest requests refused, by reason.\n"
                 "# TYPE telltale_requests_rejected_total counter\n");
    put_line(&t, "telltale_requests_rejected_total{reason=\"invalid\"} %llu\n",
             (unsigned long long)c->requests_invalid);
    put_line(&t, "telltale_requests_rejected_total{reason=\"too_large\"} %llu\n",
             (unsigned long long)c->requests_too_large);
    put_line(&t, "telltale_requests_rejected_total{reason=\"overloaded\"} %llu\n",
             (unsigned long long)c->requests_overloaded);
    put_line(&t, "telltale_requests_rejected_total{reason=\"store_failed\"} %llu\n",
             (unsigned long long)c->requests_failed);
    metric(&t, "telltale_events_rejected_total", "counter",
           "Events in refused requests (overload, store failure or ingest rate; invalid bodies are "
           "not split).",
           (double)c->events_rejected);
    metric(&t, "telltale_queue_depth", "gauge", "Events accepted and not yet committed.",
           (double)queue_waiting(ctx->q));
    metric(&t, "telltale_queue_inflight", "gauge",
           "Events held in memory: queued, committing, or awaiting their answer.",
           (double)queue_inflight(ctx->q));
    metric(&t, "telltale_queue_capacity", "gauge", "Most events held in memory at once.",
           queue_capacity(ctx->q));
    metric(&t, "telltale_websocket_clients", "gauge", "Connected /ws clients.", (double)ws.clients);
    metric(&t, "telltale_websocket_slow_dropped_total", "counter",
           "WebSocket clients closed with 1008 for not keeping up.",
           (double)(ws.slow_dropped + rs.slow_dropped));
    limit_metrics(&t, r->hs, c);
    metric(&t, "telltale_ready", "gauge", "1 while serving, 0 while starting or draining.",
           api_ready_now(ctx));
    metric(&t, "telltale_shutting_down", "gauge", "1 once a shutdown has begun.", draining);
    if (ctx->pipeline != NULL) {
        pipeline_stats ps;
        pipeline_get_stats(ctx->pipeline, &ps);
        pipeline_metrics(&t, &ps);
        json_buf series = {0};
        pipeline_write_series(ctx->pipeline, &series);
        if (series.oom) {
            t.oom = true;
        } else if (series.len > 0) {
            put_line(&t, "%s", series.buf);
        }
        free(series.buf);
    }
    if (ctx->dlq_known) {
        put_line(&t,
                 "# HELP telltale_dlq_items Dead letter queue items, by status.\n"
                 "# TYPE telltale_dlq_items gauge\n"
                 "telltale_dlq_items{status=\"pending\"} %llu\n"
                 "telltale_dlq_items{status=\"recovered\"} %llu\n"
                 "telltale_dlq_items{status=\"failed\"} %llu\n",
                 (unsigned long long)ctx->dlq.pending, (unsigned long long)ctx->dlq.recovered,
                 (unsigned long long)ctx->dlq.failed);
        metric(&t, "telltale_dlq_oldest_pending_age_seconds", "gauge",
               "Age of the oldest unresolved dead letter.",
               ctx->dlq.oldest_pending_age_hours * 3600);
    }
    if (t.oom) {
        free(t.buf);
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return;
    }
    r->cache_control = "no-store";
    http_respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", t.buf, t.len);
}

/* A scrape reads the DLQ's counts itself, so its gauges are those of the moment it was
 * scraped, not of the last periodic reading. */
typedef struct scrape {
    api_ctx *ctx;
    dlq_stats dlq;
    int rc;
} scrape;

static void read_dlq_now(void *arg)
{
    scrape *s = arg;
    char err[TT_ERRLEN];
    s->rc = store_dlq_stats(s->ctx->st, &s->dlq, err);
}

static void scraped(http_req *r, void *arg)
{
    scrape *s = arg;
    if (s->rc == 0) {
        s->ctx->dlq = s->dlq;
        s->ctx->dlq_known = true;
    }
    if (r != NULL) {
        render(r, s->ctx);
    }
    free(s);
}

void api_prometheus(http_req *r, void *arg)
{
    api_ctx *ctx = arg;
    pipeline_stats ps;
    bool store_up = false;
    if (ctx->pipeline != NULL) {
        pipeline_get_stats(ctx->pipeline, &ps);
        store_up = ps.writer.breaker_state == BREAKER_CLOSED ||
                   ps.writer.breaker_state == BREAKER_DISABLED;
    }
    /* With the store down a fresh reading would only wait: the last one is shown. */
    scrape *s = store_up ? calloc(1, sizeof *s) : NULL;
    if (s == NULL) {
        render(r, ctx);
        return;
    }
    s->ctx = ctx;
    if (http_defer(r, read_dlq_now, scraped, s) != 0) {
        free(s);
    }
}
