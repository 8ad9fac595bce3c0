/* server.c -- the libwebsockets context on our libuv loop, the one lws callback, and the hand-
 * back of finished jobs from the persister.
 *
 * Set-up follows shared/NOTES-lws.md §1-2: explicit vhost (so a failed bind is reported),
 * one WebSocket protocol made the default with a pvo so upgrades without a subprotocol land
 * there, dispatch by path in ESTABLISHED. Work finished on other threads is put on a locked
 * list and the loop is woken with lws_cancel_service(); EVENT_WAIT_CANCELLED, which lws
 * delivers on the loop thread, answers it. */
#include "server/server_impl.h"

#include "core/json_print.h"
#include "server/api.h"
#include "server/http.h"
#include "server/realtime.h"
#include "server/ws_live.h"
#include "os/clock.h"
#include "os/log.h"
#include "os/random.h"

#include <stdlib.h>
#include <string.h>

#define MAX_HEADER_BYTES 16384
#define WS_RX_BUFFER 65536
#define HTTP_TX_PACKET 16384
#define WS_PING_AFTER_S 30   /* an idle WebSocket is pinged ... */
#define WS_HANGUP_AFTER_S 75 /* ... and dropped if nothing valid came back by then */
#define TICK_MS 1000
#define DLQ_EVERY_TICKS 5 /* the DLQ's stats are read every 5 s */
#define KEEPALIVE_S 30    /* an idle keep-alive HTTP connection is closed after this */

/* lws gives every protocol's connections the same per-session area size; HTTP, /ws and
 * Realtime connections each use their part. A WebSocket is a Realtime one iff rt.conn is set. */
typedef struct conn_pss {
    http_pss http;
    ws_pss ws;
    rt_pss rt;
} conn_pss;

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);

static const struct lws_protocols protocols[] = {
    {"http", callback, sizeof(conn_pss), 0, 0, NULL, HTTP_TX_PACKET},
    {"telltale-ws", callback, sizeof(conn_pss), WS_RX_BUFFER, 0, NULL, WS_RX_BUFFER},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static const struct lws_protocol_vhost_options ws_default = {NULL, NULL, "default", "1"};
static const struct lws_protocol_vhost_options ws_pvo = {NULL, &ws_default, "telltale-ws", ""};

/* Added by lws to every response; the dashboard has no inline script or style. */
static const struct lws_protocol_vhost_options hdr_referrer = {NULL, NULL,
                                                               "referrer-policy:", "no-referrer"};
static const struct lws_protocol_vhost_options hdr_nosniff = {&hdr_referrer, NULL,
                                                              "x-content-type-options:", "nosniff"};
static const struct lws_protocol_vhost_options hdr_csp = {
    &hdr_nosniff, NULL, "content-security-policy:",
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"};

static const lws_retry_bo_t ws_keepalive = {
    .secs_since_valid_ping = WS_PING_AFTER_S,
    .secs_since_valid_hangup = WS_HANGUP_AFTER_S,
};

static bool is_ws_path(const char *path)
{
    return strcmp(path, "/ws") == 0 || strcmp(path, REALTIME_PATH) == 0;
}

/* Refuses an upgrade with a small JSON answer; lws then completes the transaction. */
static int refuse_upgrade(struct lws *wsi, unsigned status, const char *body)
{
    unsigned char buf[LWS_PRE + 512];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    size_t n = strlen(body);
    if (lws_add_http_common_headers(wsi, status, "application/json", n, &p, end) ||
        lws_finalize_http_header(wsi, &p, end) || (size_t)(end - p) < n) {
        return -1;
    }
    memcpy(p, body, n);
    p += n;
    return lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) < 0 ? -1 : 1;
}

/* A Realtime upgrade with a bad vsn or, when keys are configured, without a valid apikey is
 * refused before the 101. */
static int confirm_realtime(struct lws *wsi)
{
    server *srv = lws_context_user(lws_get_context(wsi));
    char why[TT_ERRLEN];
    int status = realtime_check_upgrade(srv, wsi, why);
    if (status == 0) {
        return 0;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(e, "code", status == 401 ? "unauthorized" : "invalid_parameter");
    cJSON_AddStringToObject(e, "message", why);
    char *body = json_print_delete(root, NULL);
    int rc = body != NULL ? refuse_upgrade(wsi, (unsigned)status, body) : -1;
    free(body);
    return rc;
}

static int confirm_upgrade(struct lws *wsi, const char *kind)
{
    char path[256] = "";
    if (strcmp(kind, "websocket") != 0) {
        /* h2c would switch lws to HTTP/2 under our HTTP/1.1 responses (NOTES-lws §2). */
        return refuse_upgrade(wsi, 400,
                              "{\"error\":{\"code\":\"upgrade_not_supported\","
                              "\"message\":\"only WebSocket upgrades are supported\"}}");
    }
    if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) < 0 || !is_ws_path(path)) {
        return refuse_upgrade(wsi, 404,
                              "{\"error\":{\"code\":\"not_found\","
                              "\"message\":\"no WebSocket endpoint at this path\"}}");
    }
    return strcmp(path, REALTIME_PATH) == 0 ? confirm_realtime(wsi) : 0;
}

static int established(server *srv, struct lws *wsi, conn_pss *pss)
{
    char path[256] = "";
    if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) < 0 || !is_ws_path(path)) {
        return -1;
    }
    if (srv->stopping) {
        return -1;
    }
    if (strcmp(path, REALTIME_PATH) == 0) {
        return realtime_on_established(srv, wsi, &pss->rt);
    }
    return ws_on_established(srv, wsi, &pss->ws);
}

static void finish_job(server *srv, ingest_job *job)
{
    size_t n = job->batch.count;
    if (job->store_seqs) {
        ws_broadcast_job(srv, job); /* raises srv->last_seq to the job's highest */
        realtime_committed(srv->realtime, srv->last_seq);
    }
    if (job->origin == JOB_COMMITTED) {
        ingest_job_free(job); /* not a request: it took no room in the queue */
        return;
    }
    if (job->result == 0) {
        srv->counters.events_accepted += n;
    } else {
        srv->counters.events_rejected += n;
        srv->counters.requests_failed += job->origin != JOB_DEMO;
    }
    if (job->origin == JOB_HTTP) {
        api_events_answer(srv, job);
    } else if (job->origin == JOB_WS) {
        ws_answer_job(srv, job);
    }
    queue_release(srv->q, job->batch.count, job->batch.bytes);
    ingest_job_free(job);
}

/* Answers and broadcasts what the persister has finished. Loop thread. */
static void service_done_jobs(server *srv)
{
    pthread_mutex_lock(&srv->done_lock);
    ingest_job *jobs = srv->done_head;
    srv->done_head = srv->done_tail = NULL;
    pthread_mutex_unlock(&srv->done_lock);
    while (jobs != NULL) {
        ingest_job *next = jobs->next;
        finish_job(srv, jobs);
        jobs = next;
    }
}

static bool is_http_protocol(struct lws *wsi)
{
    const struct lws_protocols *p = lws_get_protocol(wsi);
    return p != NULL && strcmp(p->name, protocols[0].name) == 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    server *srv = lws_context_user(lws_get_context(wsi));
    conn_pss *pss = user;
    switch (reason) { /* the reasons that need no per-session data */
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return confirm_upgrade(wsi, in);
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        /* Delivered once per protocol: serve it in one, and return 0 (lws closes its cancel
         * pipe on anything else). lws keeps its own copy of the protocol table, so the
         * protocol is recognised by name. */
        if (srv != NULL && is_http_protocol(wsi)) {
            service_done_jobs(srv);
        }
        return 0;
    default:
        break;
    }
    if (pss == NULL) {
        /* No protocol was ever bound (a connection closed before a request, or one lws
         * refused on its own): there is no per-session data, and nothing of ours to free. */
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return http_on_request(srv, wsi, &pss->http, in);
    case LWS_CALLBACK_HTTP_BODY:
        return http_on_body(wsi, &pss->http, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return http_on_body_done(wsi, &pss->http);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return http_on_writable(wsi, &pss->http);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        http_on_drop(&pss->http);
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        return established(srv, wsi, pss);
    case LWS_CALLBACK_RECEIVE:
        return pss->rt.conn != NULL ? realtime_on_receive(wsi, &pss->rt, in, len)
                                    : ws_on_receive(wsi, &pss->ws, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return pss->rt.conn != NULL ? realtime_on_writable(&pss->rt) : ws_on_writable(&pss->ws);
    case LWS_CALLBACK_TIMER:
        return pss->rt.conn != NULL ? realtime_on_timer(&pss->rt) : ws_on_timer(&pss->ws);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        return ws_on_peer_close(in, len);
    case LWS_CALLBACK_CLOSED:
        realtime_on_closed(&pss->rt);
        ws_on_closed(&pss->ws);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

const char *server_refusal(int result, int *status, int *retry_after_s)
{
    *status = 503;
    *retry_after_s = 1;
    switch (result) {
    case TT_EFULL:
        *retry_after_s = 10; /* the spool drains as fast as the store takes it: not at once */
        return "spool_full";
    case TT_ENOMEM:
        return "overloaded";
    case TT_EUNAVAILABLE:
        return "store_unavailable";
    default:
        *status = 500;
        return "store_failed";
    }
}

void server_wake(server *srv)
{
    lws_cancel_service(srv->ctx);
}

void server_jobs_done(ingest_job *jobs, void *arg)
{
    server *srv = arg;
    ingest_job *tail = jobs;
    while (tail->next != NULL) {
        tail = tail->next;
    }
    pthread_mutex_lock(&srv->done_lock);
    if (srv->done_tail != NULL) {
        srv->done_tail->next = jobs;
    } else {
        srv->done_head = jobs;
    }
    srv->done_tail = tail;
    pthread_mutex_unlock(&srv->done_lock);
    server_wake(srv);
}

void server_events_committed(event_batch *b, void *arg)
{
    ingest_job *job = calloc(1, sizeof *job);
    if (job == NULL) {
        event_batch_free(b); /* live clients miss them; they are stored, and resume finds them */
        return;
    }
    job->origin = JOB_COMMITTED;
    job->store_seqs = true;
    job->batch = *b;
    *b = (event_batch){0};
    server_jobs_done(job, arg);
}

void server_assign_ids(server *srv, event_batch *b)
{
    uint64_t now = clock_now_ms();
    for (size_t i = 0; i < b->count; i++) {
        if (b->events[i]->id[0] == '\0') {
            uuid7_next(&srv->ids, now, random_u64(), b->events[i]->id);
        }
    }
}

int server_enqueue(server *srv, job_origin origin, uint64_t requester, void *user,
                   event_batch *batch)
{
    ingest_job *job = calloc(1, sizeof *job);
    if (job == NULL) {
        return TT_ENOMEM;
    }
    job->origin = origin;
    job->requester = requester;
    job->user = user;
    job->batch = *batch;
    int rc = queue_push(srv->q, job);
    if (rc != 0) {
        free(job); /* the batch stays the caller's */
        return rc;
    }
    *batch = (event_batch){0};
    return 0;
}

int server_submit_internal(server *srv, event_batch *batch)
{
    if (srv->draining) {
        event_batch_free(batch);
        return TT_ECLOSED;
    }
    server_assign_ids(srv, batch);
    int rc = server_enqueue(srv, JOB_DEMO, 0, NULL, batch);
    if (rc != 0) {
        event_batch_free(batch);
    }
    return rc;
}

typedef struct dlq_reading {
    uv_work_t work;
    server *srv;
    dlq_stats stats;
    int rc;
} dlq_reading;

static void read_dlq(uv_work_t *w)
{
    dlq_reading *d = w->data;
    char err[TT_ERRLEN];
    d->rc = store_dlq_stats(d->srv->st, &d->stats, err);
}

static void dlq_read(uv_work_t *w, int status)
{
    dlq_reading *d = w->data;
    d->srv->dlq_reading = false;
    if (status == 0 && d->rc == 0) {
        d->srv->dlq = d->stats;
        d->srv->dlq_known = true;
    }
    free(d);
}

/* The DLQ's stats come from the store: read them off the loop, now and then. */
static void refresh_dlq_stats(server *srv)
{
    dlq_reading *d = srv->dlq_reading || srv->stopping ? NULL : calloc(1, sizeof *d);
    if (d == NULL) {
        return;
    }
    d->srv = srv;
    d->work.data = d;
    if (uv_queue_work(srv->loop, &d->work, read_dlq, dlq_read) == 0) {
        srv->dlq_reading = true;
    } else {
        free(d);
    }
}

static void on_tick(uv_timer_t *t)
{
    server *srv = t->data;
    if (++srv->ticks % DLQ_EVERY_TICKS == 1) {
        refresh_dlq_stats(srv);
    }
    uint64_t accepted = srv->counters.events_accepted;
    srv->events_per_s = (double)(accepted - srv->accepted_at_last_tick) * 1000.0 / TICK_MS;
    srv->accepted_at_last_tick = accepted;
    ws_send_stats(srv);
    realtime_tick(srv->realtime);
    lws_cancel_service(srv->ctx); /* have lws notice the writables just requested */
}

static void emit_lws_log(int level, const char *line)
{
    (void)level;
    size_t n = strlen(line);
    while (n > 0 && line[n - 1] == '\n') {
        n--;
    }
    log_debug("lws: %.*s", (int)n, line);
}

static int create_context(server *srv, char *err)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {srv->loop};
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   LWS_SERVER_OPTION_DISABLE_IPV6 | LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.foreign_loops = loops;
    info.user = srv;
    info.pcontext = &srv->ctx;
    info.max_http_header_data = MAX_HEADER_BYTES;
    info.timeout_secs = 10;
    info.retry_and_idle_policy = &ws_keepalive;
    srv->ctx = lws_create_context(&info);
    if (srv->ctx == NULL) {
        return tt_fail(err, TT_EIO,
                       "cannot create the libwebsockets context (is the package "
                       "libwebsockets-evlib-uv installed?)");
    }
    memset(&info, 0, sizeof info);
    info.port = (int)srv->cfg->listen_port;
    info.iface = srv->cfg->listen_host;
    info.protocols = protocols;
    info.pvo = &ws_pvo;
    info.headers = &hdr_csp;
    info.vhost_name = "telltale";
    info.keepalive_timeout = KEEPALIVE_S; /* a vhost setting: the context's is not inherited */
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6 | LWS_SERVER_OPTION_VALIDATE_UTF8;
    srv->vh = lws_create_vhost(srv->ctx, &info);
    if (srv->vh == NULL) {
        return tt_fail(err, TT_EIO, "cannot listen on %s:%u (address in use or not local?)",
                       srv->cfg->listen_host, srv->cfg->listen_port);
    }
    srv->port = lws_get_vhost_listen_port(srv->vh);
    return 0;
}

/* The change feed heard that another instance (or this one) committed up to 'seq'. */
static void heard_of_commit(int64_t seq, void *ctx)
{
    server *srv = ctx;
    realtime_committed(srv->realtime, seq);
}

int server_start(uv_loop_t *loop, const tt_config *cfg, store *st, job_queue *q, server **out,
                 char err[TT_ERRLEN])
{
    server *srv = calloc(1, sizeof *srv);
    if (srv == NULL) {
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    srv->loop = loop;
    srv->cfg = cfg;
    srv->st = st;
    srv->q = q;
    srv->started_mono_ms = clock_mono_ms();
    srv->phase = "starting";
    pthread_mutex_init(&srv->done_lock, NULL);
    int rc = store_max_seq(st, &srv->last_seq, err);
    if (rc == 0) {
        lws_set_log_level(LLL_ERR | LLL_WARN | (log_enabled(LOG_DEBUG) ? LLL_NOTICE : 0),
                          emit_lws_log);
        rc = create_context(srv, err);
    }
    if (rc != 0) {
        *out = srv; /* the caller tears it down with server_stop() and server_free() */
        return rc;
    }
    if ((rc = realtime_create(srv, srv->last_seq, &srv->realtime)) != 0) {
        *out = srv;
        return tt_fail(err, rc, "cannot set up the Realtime endpoint: %s", tt_strerror(rc));
    }
    if ((rc = change_feed_start(loop, st, heard_of_commit, srv, &srv->feed)) != 0) {
        *out = srv;
        return tt_fail(err, rc, "cannot start the change feed: %s", tt_strerror(rc));
    }
    uv_timer_init(loop, &srv->tick);
    srv->tick.data = srv;
    srv->tick_open = true;
    uv_timer_start(&srv->tick, on_tick, TICK_MS, TICK_MS);
    *out = srv;
    return 0;
}

void server_set_pipeline(server *srv, pipeline *p)
{
    srv->pipeline = p;
    srv->phase = p != NULL ? "serving" : "starting";
}

void server_set_phase(server *srv, const char *phase)
{
    srv->phase = phase;
}

int server_port(const server *srv)
{
    return srv->port;
}

void server_drain(server *srv)
{
    srv->draining = true;
    srv->phase = "draining";
}

bool server_idle(server *srv)
{
    return queue_inflight(srv->q) == 0;
}

void server_close_clients(server *srv)
{
    ws_close_all(srv, LWS_CLOSE_STATUS_GOINGAWAY, "server shutdown");
    realtime_close_all(srv->realtime, LWS_CLOSE_STATUS_GOINGAWAY, "server shutdown");
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
    if (srv->ctx != NULL) {
        lws_context_destroy(srv->ctx); /* phase 1: closes connections; uv closes are async */
    }
}

void server_free(server *srv)
{
    if (srv == NULL) {
        return;
    }
    if (srv->ctx != NULL) {
        lws_context_destroy(srv->ctx); /* phase 2, after uv_run() let the closes finish */
    }
    service_done_jobs(srv); /* none should be left; free them if so */
    realtime_free(srv->realtime);
    pthread_mutex_destroy(&srv->done_lock);
    free(srv);
}
