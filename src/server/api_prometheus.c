/* api_prometheus.c -- GET /metrics: telltale's own health in the Prometheus text format. */
#include "server/api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct text {
    char *buf;
    size_t len, cap;
    bool oom;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(text *t, const char *fmt, ...)
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
    put(t, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

static void commit_histogram(text *t, const histogram *h)
{
    const char *name = "telltale_batch_commit_seconds";
    put(t, "# HELP %s Time to commit one batch to the store.\n# TYPE %s histogram\n", name, name);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h->nbounds; i++) {
        cumulative += h->counts[i];
        put(t, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i], (unsigned long long)cumulative);
    }
    put(t, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
    put(t, "%s_sum %.17g\n%s_count %llu\n", name, h->sum, name, (unsigned long long)h->count);
}

void api_prometheus(server *srv, http_req *r)
{
    text t = {.buf = malloc(4096), .cap = 4096};
    t.oom = t.buf == NULL;
    const server_counters *c = &srv->counters;
    metric(&t, "telltale_events_accepted_total", "counter", "Events acknowledged as durable.",
           (double)c->events_accepted);
    put(&t, "# HELP telltale_requests_rejected_total Ingest requests refused, by reason.\n"
            "# TYPE telltale_requests_rejected_total counter\n");
    put(&t, "telltale_requests_rejected_total{reason=\"invalid\"} %llu\n",
        (unsigned long long)c->requests_invalid);
    put(&t, "telltale_requests_rejected_total{reason=\"too_large\"} %llu\n",
        (unsigned long long)c->requests_too_large);
    put(&t, "telltale_requests_rejected_total{reason=\"overloaded\"} %llu\n",
        (unsigned long long)c->requests_overloaded);
    put(&t, "telltale_requests_rejected_total{reason=\"store_failed\"} %llu\n",
        (unsigned long long)c->requests_failed);
    metric(&t, "telltale_events_rejected_total", "counter",
           "Events in refused requests (overload or store failure; invalid bodies are not split).",
           (double)c->events_rejected);
    metric(&t, "telltale_queue_depth", "gauge", "Events accepted and not yet committed.",
           (double)queue_waiting(srv->q));
    metric(&t, "telltale_queue_inflight", "gauge",
           "Events held in memory: queued, committing, or awaiting their answer.",
           (double)queue_inflight(srv->q));
    metric(&t, "telltale_queue_capacity", "gauge", "Most events held in memory at once.",
           queue_capacity(srv->q));
    metric(&t, "telltale_websocket_clients", "gauge", "Connected /ws clients.",
           (double)srv->nclients);
    metric(&t, "telltale_websocket_slow_dropped_total", "counter",
           "WebSocket clients closed with 1008 for not keeping up.", (double)c->ws_slow_dropped);
    metric(&t, "telltale_ready", "gauge", "1 while serving, 0 while starting or draining.",
           srv->persister != NULL && !srv->draining);
    if (srv->persister != NULL) {
        persister_stats st;
        persister_get_stats(srv->persister, &st);
        metric(&t, "telltale_events_stored_total", "counter", "New rows committed to the store.",
               (double)st.events_stored);
        metric(&t, "telltale_events_duplicate_total", "counter",
               "Events whose id was already stored (kept once).", (double)st.duplicates);
        metric(&t, "telltale_batches_failed_total", "counter", "Batches the store did not commit.",
               (double)st.failed_batches);
        commit_histogram(&t, &st.commit_seconds);
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
