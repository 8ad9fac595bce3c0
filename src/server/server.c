/* server.c -- the front assembled: the listener with the routes of api and rest and the
 * endpoints of live, the ingest gateway they share, the change feed, and the once-a-second
 * tick. Each part owns its state; this file only wires them and passes commits along:
 *
 *   persister ──jobs──► gateway ──committed batch──► the rows in memory ──► /ws
 *                                                   │                  └──► Realtime (SQLite)
 *                                                   └─ highest seq ──► the rows read back ──►
 *   change feed ──another instance's seq──────────────────────────────┘     Realtime (PostgreSQL)
 *
 * On PostgreSQL /ws keeps to this instance's commits, from memory, while Realtime reads every
 * instance's rows back from the store; on SQLite one engine in memory mode serves both. */
#include "server/server.h"

#include "api/api.h"
#include "http/http_server.h"
#include "live/change_feed.h"
#include "live/realtime.h"
#include "live/stream.h"
#include "live/ws_live.h"
#include "os/clock.h"
#include "os/log.h"
#include "rest/rest.h"

#include <stdlib.h>
#include <string.h>

#define TICK_MS 1000

struct server {
    uv_loop_t *loop;
    const tt_config *cfg;
    job_queue *q;
    http_server *http;
    gateway *gw;
    stream *rows_here; /* this instance's commits, from memory (/ws; Realtime on SQLite) */
    stream *rows_read; /* every instance's, read back from the store (Realtime on PostgreSQL) */
    bool head_unknown; /* the store was down at start-up, and no commit was heard of since */
    ws_live *ws;
    realtime *rt;
    change_feed *feed;
    api_ctx api;
    rest_ctx rest;
    uint64_t started_mono_ms;
    uv_timer_t tick;
    bool tick_open;
    bool stopping;
};

/* The persister finished jobs (gateway_jobs_done, any thread): have the loop answer them. */
static void wake(void *arg)
{
    server *srv = arg;
    if (srv->http != NULL) {
        http_server_wake(srv->http);
    }
}

/* On the loop thread, after a wake (http_server_wake). */
static void on_wake(void *arg)
{
    server *srv = arg;
    if (srv->gw != NULL) {
        gateway_service(srv->gw);
    }
}

/* A batch committed with the store's seqs: the rows in memory take it; the rows read back
 * are read up to its highest seq. */
/* A store down at start-up: the first commit heard of says where history ends, for the
 * engines that could not read the highest seq (stream_learn_start). Once. */
static void learn_start(server *srv, int64_t seq)
{
    if (srv->head_unknown) {
        srv->head_unknown = false;
        stream_learn_start(srv->rows_here, seq);
        stream_learn_start(srv->rows_read, seq);
    }
}

static void committed(const event_batch *b, void *arg)
{
    server *srv = arg;
    int64_t lowest = INT64_MAX, highest = 0;
    for (size_t i = 0; i < b->count; i++) {
        int64_t seq = b->events[i]->seq;
        highest = seq > highest ? seq : highest;
        lowest = seq > 0 && seq < lowest ? seq : lowest;
    }
    if (highest > 0) {
        learn_start(srv, lowest - 1); /* what came before this batch is history */
    }
    stream_committed_batch(srv->rows_here, b);
    if (srv->rows_read == NULL) {
        return; /* SQLite: the rows in memory are every row */
    }
    stream_committed_seq(srv->rows_read, highest);
}

/* The change feed heard that another instance (or this one) committed up to 'seq'. */
static void heard_of_commit(int64_t seq, void *arg)
{
    server *srv = arg;
    learn_start(srv, seq); /* another instance committed first */
    stream_committed_seq(srv->rows_read, seq);
}

static void on_tick(uv_timer_t *t)
{
    server *srv = t->data;
    gateway_tick(srv->gw, TICK_MS);
    api_tick(&srv->api);
    ws_live_tick(srv->ws);
    realtime_tick(srv->rt);
    stream_tick(srv->rows_here);
    stream_tick(srv->rows_read);
    http_server_wake(srv->http); /* the loop sends what the writables just requested have */
}

/* The committed-rows engines: one in memory; and, when the store has a change feed, one
 * reading every instance's rows back for Realtime. */
static int start_rows(server *srv, store *st, int64_t last_seq)
{
    stream_opts so = {srv->loop,      srv->cfg,         st, STREAM_MEMORY, last_seq,
                      &srv->stopping, srv->head_unknown};
    int rc = stream_create(&so, &srv->rows_here);
    if (rc == 0 && store_has_feed(st)) {
        so.mode = STREAM_FEED;
        rc = stream_create(&so, &srv->rows_read);
    }
    return rc;
}

static int start_live(server *srv, store *st, int64_t last_seq, char *err)
{
    int rc = start_rows(srv, st, last_seq);
    /* Both paths carry every instance's commits: from the store's change feed when there is
     * one (PostgreSQL), else from memory (SQLite: one instance holds the file). */
    stream *rows = srv->rows_read ? srv->rows_read : srv->rows_here;
    ws_live_opts wo = {srv->loop, srv->cfg, st,        rows,
                       srv->gw,   srv->q,   srv->http, srv->started_mono_ms};
    realtime_opts ro = {srv->loop, srv->cfg, rows, srv->http};
    if (rc == 0) {
        rc = ws_live_create(&wo, &srv->ws);
    }
    if (rc == 0) {
        rc = realtime_create(&ro, &srv->rt);
    }
    if (rc == 0 && ((rc = http_server_add_ws(srv->http, ws_live_endpoint(srv->ws))) != 0 ||
                    (rc = http_server_add_ws(srv->http, realtime_endpoint(srv->rt))) != 0)) {
        rc = TT_ENOMEM;
    }
    if (rc != 0) {
        return tt_fail(err, rc, "cannot set up the live endpoints: %s", tt_strerror(rc));
    }
    if ((rc = change_feed_start(srv->loop, st, heard_of_commit, srv, &srv->feed)) != 0) {
        return tt_fail(err, rc, "cannot start the change feed: %s", tt_strerror(rc));
    }
    return 0;
}

static int start_routes(server *srv, store *st, char *err)
{
    srv->api = (api_ctx){.loop = srv->loop,
                         .cfg = srv->cfg,
                         .st = st,
                         .gw = srv->gw,
                         .q = srv->q,
                         .phase = "starting",
                         .started_mono_ms = srv->started_mono_ms,
                         .ws = srv->ws,
                         .rt = srv->rt,
                         .feed = srv->feed,
                         .stopping = &srv->stopping};
    /* On PostgreSQL the tables' triggers tell every instance of a change; on SQLite /rest/v1
     * tells the flags and state pushes itself. */
    srv->rest = (rest_ctx){.cfg = srv->cfg,
                           .st = st,
                           .gw = srv->gw,
                           .changed = store_has_feed(st) ? NULL : api_config_notice,
                           .changed_arg = &srv->api};
    int rc = api_add_routes(srv->http, &srv->api);
    if (rc == 0) {
        rc = rest_add_routes(srv->http, &srv->rest);
    }
    if (rc == 0) {
        /* Flag and dashboard-state changes of every instance (PostgreSQL), and the flags of
         * every /ws hello from the start. */
        change_feed_on_notice(srv->feed, api_config_notice, &srv->api);
        api_flags_refresh(&srv->api);
    }
    return rc == 0 ? 0 : tt_fail(err, rc, "cannot set up the routes: %s", tt_strerror(rc));
}

int server_start(uv_loop_t *loop, const tt_config *cfg, store *st, job_queue *q, server **out,
                 char err[TT_ERRLEN])
{
    server *srv = calloc(1, sizeof *srv);
    *out = srv; /* on failure too: the caller tears it down with server_stop(), server_free() */
    if (srv == NULL) {
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    srv->loop = loop;
    srv->cfg = cfg;
    srv->q = q;
    srv->started_mono_ms = clock_mono_ms();
    int64_t last_seq = 0;
    gateway_opts go = {.q = q,
                       .max_events = cfg->max_events,
                       .wake = wake,
                       .wake_ctx = srv,
                       .committed = committed,
                       .committed_ctx = srv,
                       .rate = cfg->ingest_rate,
                       .burst = cfg->ingest_burst};
    int rc = store_max_seq(st, &last_seq, err);
    if (rc == TT_EUNAVAILABLE) {
        /* A store down at start-up (PostgreSQL: ingest goes to the spool): the live streams
         * learn the highest seq from the first commit or notice (stream_learn_start), and
         * what came before it is not replayed to them. */
        log_warn("reading the highest committed seq: %s; live streams begin at the first "
                 "commit once the store answers",
                 err);
        srv->head_unknown = true;
        rc = 0;
    }
    if (rc == 0 && (rc = gateway_create(&go, &srv->gw)) != 0) {
        rc = tt_fail(err, rc, "out of memory");
    }
    if (rc == 0) {
        rc = http_server_start(loop, cfg, on_wake, srv, &srv->http, err);
    }
    if (rc == 0) {
        rc = start_live(srv, st, last_seq, err);
    }
    if (rc == 0) {
        rc = start_routes(srv, st, err);
    }
    if (rc != 0) {
        return rc;
    }
    uv_timer_init(loop, &srv->tick);
    srv->tick.data = srv;
    srv->tick_open = true;
    uv_timer_start(&srv->tick, on_tick, TICK_MS, TICK_MS);
    return 0;
}

gateway *server_gateway(server *srv)
{
    return srv->gw;
}

void server_set_pipeline(server *srv, pipeline *p)
{
    srv->api.pipeline = p;
    srv->api.phase = p != NULL ? "serving" : "starting";
}

void server_set_phase(server *srv, const char *phase)
{
    srv->api.phase = phase;
}

int server_port(const server *srv)
{
    return http_server_port(srv->http);
}

int server_reload_tls(server *srv, char err[TT_ERRLEN])
{
    return http_server_reload_tls(srv->http, err);
}

int server_otlp_port(const server *srv)
{
    return http_server_otlp_port(srv->http);
}

void server_drain(server *srv)
{
    gateway_drain(srv->gw);
    srv->api.phase = "draining";
}

bool server_idle(server *srv)
{
    return queue_inflight(srv->q) == 0;
}

void server_close_clients(server *srv)
{
    ws_live_close_all(srv->ws, 1001, "server shutdown");
    realtime_close_all(srv->rt, 1001, "server shutdown");
}

void server_stop(server *srv)
{
    srv->stopping = true;
    change_feed_stop(srv->feed);
    srv->feed = NULL;
    if (srv->tick_open) {
        uv_close((uv_handle_t *)&srv->tick, NULL);
        srv->tick_open = false;
    }
    http_server_stop(srv->http);
}

void server_free(server *srv)
{
    if (srv == NULL) {
        return;
    }
    if (srv->gw != NULL) {
        gateway_service(srv->gw); /* none should be left; answer them while all is there */
    }
    http_server_free(srv->http); /* phase 2, after uv_run() let the closes finish */
    api_state_pushes_free(&srv->api);
    realtime_free(srv->rt);
    ws_live_free(srv->ws);
    stream_free(srv->rows_read);
    stream_free(srv->rows_here);
    gateway_free(srv->gw);
    free(srv);
}
