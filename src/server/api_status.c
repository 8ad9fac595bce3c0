/* api_status.c -- /health, /ready and /api/v1/status: what the daemon says about itself. */
#include "server/api.h"

#include "os/clock.h"

static const char HEALTHY[] = "{\"status\":\"ok\"}";

void api_health(server *srv, http_req *r)
{
    (void)srv;
    r->cache_control = "no-store";
    http_respond_static(r, 200, "application/json", (const unsigned char *)HEALTHY,
                        sizeof HEALTHY - 1);
}

/* Ready while the store is open, the persister runs and no shutdown has begun. */
static bool is_ready(const server *srv)
{
    return srv->persister != NULL && !srv->draining;
}

void api_ready(server *srv, http_req *r)
{
    bool ready = is_ready(srv);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddBoolToObject(body, "ready", ready);
    cJSON_AddStringToObject(body, "state",
                            srv->draining ? "draining"
                            : ready       ? "serving"
                                          : "starting");
    r->cache_control = "no-store";
    http_respond_json(r, ready ? 200 : 503, body);
}

static void add_persister(cJSON *root, server *srv)
{
    cJSON *p = cJSON_AddObjectToObject(root, "persister");
    if (srv->persister == NULL) {
        return;
    }
    persister_stats st;
    persister_get_stats(srv->persister, &st);
    cJSON_AddNumberToObject(p, "batches", (double)st.batches);
    cJSON_AddNumberToObject(p, "events_stored", (double)st.events_stored);
    cJSON_AddNumberToObject(p, "duplicates", (double)st.duplicates);
    cJSON_AddNumberToObject(p, "failed_batches", (double)st.failed_batches);
    cJSON_AddNumberToObject(p, "failed_events", (double)st.failed_events);
    cJSON_AddNumberToObject(p, "retention_deleted", (double)st.retention_deleted);
    cJSON_AddNumberToObject(p, "last_seq", (double)st.last_seq);
    cJSON_AddNumberToObject(p, "commit_p50_ms", histogram_quantile(&st.commit_seconds, 0.5) * 1e3);
    cJSON_AddNumberToObject(p, "commit_p99_ms", histogram_quantile(&st.commit_seconds, 0.99) * 1e3);
}

/* Where this instance learns of commits: the store's feed (PostgreSQL: every instance's), or,
 * for SQLite, its own persister. */
static void add_change_feed(cJSON *root, server *srv)
{
    cJSON *cf = cJSON_AddObjectToObject(root, "change_feed");
    change_feed_stats st = {0};
    if (srv->feed != NULL) {
        change_feed_get_stats(srv->feed, &st);
    }
    if (!st.available) {
        cJSON_AddStringToObject(cf, "kind", "in-process");
        cJSON_AddBoolToObject(cf, "connected", true);
        cJSON_AddNumberToObject(cf, "last_seq", (double)srv->last_seq);
        return;
    }
    cJSON_AddStringToObject(cf, "kind", "listen-notify");
    cJSON_AddBoolToObject(cf, "connected", st.connected);
    cJSON_AddNumberToObject(cf, "last_seq", (double)st.last_seq);
    cJSON_AddNumberToObject(cf, "notifications", (double)st.notifications);
    cJSON_AddNumberToObject(cf, "reconnects", (double)st.reconnects);
}

void api_status(server *srv, http_req *r)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", TT_VERSION);
    cJSON_AddNumberToObject(root, "uptime_s",
                            (double)(clock_mono_ms() - srv->started_mono_ms) / 1000.0);
    cJSON_AddBoolToObject(root, "ready", is_ready(srv));
    cJSON_AddBoolToObject(root, "draining", srv->draining);
    cJSON *st = cJSON_AddObjectToObject(root, "store");
    cJSON_AddStringToObject(st, "kind", store_kind(srv->st));
    cJSON_AddNumberToObject(st, "schema_version", store_schema_version(srv->st));
    cJSON *q = cJSON_AddObjectToObject(root, "queue");
    cJSON_AddNumberToObject(q, "waiting", (double)queue_waiting(srv->q));
    cJSON_AddNumberToObject(q, "inflight", (double)queue_inflight(srv->q));
    cJSON_AddNumberToObject(q, "capacity", queue_capacity(srv->q));
    add_persister(root, srv);
    const server_counters *c = &srv->counters;
    cJSON *in = cJSON_AddObjectToObject(root, "ingest");
    cJSON_AddNumberToObject(in, "events_accepted", (double)c->events_accepted);
    cJSON_AddNumberToObject(in, "events_rejected", (double)c->events_rejected);
    cJSON_AddNumberToObject(in, "events_per_s", srv->events_per_s);
    cJSON_AddNumberToObject(in, "requests_invalid", (double)c->requests_invalid);
    cJSON_AddNumberToObject(in, "requests_too_large", (double)c->requests_too_large);
    cJSON_AddNumberToObject(in, "requests_overloaded", (double)c->requests_overloaded);
    cJSON_AddNumberToObject(in, "requests_failed", (double)c->requests_failed);
    add_change_feed(root, srv);
    cJSON *ws = cJSON_AddObjectToObject(root, "websocket");
    cJSON_AddNumberToObject(ws, "clients", (double)srv->nclients);
    cJSON_AddNumberToObject(ws, "slow_dropped", (double)c->ws_slow_dropped);
    cJSON_AddNumberToObject(ws, "messages_sent", (double)c->ws_messages_sent);
    cJSON_AddNumberToObject(ws, "last_seq", (double)srv->last_seq);
    r->cache_control = "no-store";
    http_respond_json(r, 200, root);
}
