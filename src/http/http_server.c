/* http_server.c -- libh2o 2.2.5 (Debian's libh2o, the libuv flavour) on our libuv loop: the
 * listeners, the one h2o handler that hands every request to http.c, the filter that words
 * h2o's own refusals in telltale's JSON, the wake-up from other threads, and shutdown.
 * HTTP/1.1 only, plain or TLS (tls.c; no ALPN, an h2c upgrade ignored); WebSocket upgrades go
 * to ws_h2o.c. Why h2o and what differs from the first edge (libwebsockets 4.1.6):
 * docs/ARCHITECTURE.md "Decisions" and docs/h2o-spike.md. */
#include "http/http_server.h"

#include "core/json_print.h"
#include "http/http_internal.h"
#include "os/log.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LISTEN_BACKLOG 4096

typedef struct tt_handler {
    h2o_handler_t super;
    http_server *hs;
} tt_handler;

/* The edge's own checks of any request, which one bound for ws_upgrade.c must pass first. */
static bool passes_edge_checks(h2o_req_t *q)
{
    http_error e;
    return admit_host(q, &e) && admit_raw_framing_of(q, &e) && admit_header_size(q, &e) &&
           q->entity.len == 0;
}

/* An Upgrade whose list names websocket (RFC 9110 §7.8, compared without case) goes to
 * ws_upgrade.c once the edge's own checks of any request pass (Host, framing, the 16 KiB of
 * header fields, no body, a path that decodes); one that fails them is refused as any request is,
 * by http.c. Any other upgrade (h2c: curl --http2 asks for it) is ignored, as RFC 9110 §7.8 lets a
 * server do: the request is served over HTTP/1.1 as if no Upgrade had been sent, and the connection
 * kept. A request at a WebSocket endpoint that is no WebSocket upgrade gets 426 there, not the 404
 * of a path no route takes. libh2o sets q->upgrade only when Connection names "upgrade". */
static int on_req(h2o_handler_t *self, h2o_req_t *q)
{
    http_server *hs = ((tt_handler *)self)->hs;
    bool websocket = q->upgrade.base != NULL && h2o_contains_token(q->upgrade.base, q->upgrade.len,
                                                                   H2O_STRLIT("websocket"), ',');
    bool get = h2o_memis(q->method.base, q->method.len, H2O_STRLIT("GET")) ||
               h2o_memis(q->method.base, q->method.len, H2O_STRLIT("HEAD"));
    char path[HTTP_PATH_MAX];
    bool decoded = websocket || get; /* only these may go the WebSocket way */
    int path_rc = decoded ? headers_path(q, path, sizeof path) : 0;
    if (websocket && path_rc == 0 && passes_edge_checks(q)) {
        return ws_upgrade(hs, q, path);
    }
    if (!websocket && get && path_rc == 0 && ws_endpoint_path(hs, path) && passes_edge_checks(q)) {
        return ws_upgrade_required(q);
    }
    /* refused there as any request is, or served; the path is decoded once */
    return http_on_h2o_request(hs, q, decoded ? path : NULL, path_rc);
}

/* Every answer h2o sends for us (http.c's, ws_upgrade.c's refusals, h2o's own refusals as the
 * filter below words them) gets the security headers on its way out: a filter on both of the
 * host's paths, so that no way of answering can leave them out. */
static void on_setup_security_ostream(h2o_filter_t *self, h2o_req_t *q, h2o_ostream_t **slot)
{
    (void)self;
    http_security_headers(q);
    h2o_setup_next_ostream(q, slot);
}

static void add_security_filter(h2o_pathconf_t *path)
{
    h2o_filter_t *f = h2o_create_filter(path, sizeof *f);
    f->on_setup_ostream = on_setup_security_ostream;
}

/* h2o's own refusals (a body over max_request_entity_size, a malformed Content-Length or
 * chunked body, an unknown Transfer-Encoding or Expect) are text/plain and bound to the host's
 * fallback path. This filter, on that path only, words them as telltale's JSON error. */
typedef struct rewrite_ostream {
    h2o_ostream_t super;
    http_server *hs;
} rewrite_ostream;

/* h2o's text for each refusal (lib/http1.c, lib/core/request.c of 2.2.5), as telltale words it. */
static const struct {
    const char *text;
    int status;
    const char *code, *message;
} h2o_refusals[] = {
    {"request entity is too large", 413, "body_too_large",
     "the body is larger than TELLTALE_MAX_BODY allows"},
    {"broken content-length header", 400, "invalid_content_length", ADMIT_ONE_LENGTH},
    {"unknown transfer-encoding", 501, "transfer_coding_not_implemented",
     "the only Transfer-Encoding taken is chunked (RFC 9112 §6.1)"},
    {"broken chunked-encoding", 400, "invalid_chunked_body",
     "the chunked body is malformed (RFC 9112 §7.1)"},
    {"unknown expectation", 417, "expectation_failed", "the only Expect taken is 100-continue"},
};

static void rewrite_send(h2o_ostream_t *self, h2o_req_t *q, h2o_iovec_t *bufs, size_t n,
                         h2o_send_state_t state)
{
    rewrite_ostream *o = (rewrite_ostream *)self;
    http_error e = {.status = q->res.status, .code = "bad_request", .message = "bad request"};
    for (size_t i = 0; i < sizeof h2o_refusals / sizeof h2o_refusals[0]; i++) {
        const char *t = h2o_refusals[i].text;
        if (n > 0 && h2o_memis(bufs[0].base, bufs[0].len, t, strlen(t))) {
            e = (http_error){.status = h2o_refusals[i].status,
                             .code = h2o_refusals[i].code,
                             .message = h2o_refusals[i].message};
        }
    }
    http_error framing; /* a Content-Length and Transfer-Encoding too: that is the fault */
    if ((e.status == 400 || e.status == 411 || e.status == 501) &&
        !admit_raw_framing_of(q, &framing)) {
        e = framing;
    }
    char why[128];
    if (e.status == 413) { /* in body.c's words, with the limit */
        snprintf(why, sizeof why, "the body is more than %llu bytes (TELLTALE_MAX_BODY)",
                 (unsigned long long)o->hs->cfg->max_body);
        e.message = why;
        o->hs->bodies_too_large++;
    } else if (e.status == 400 || e.status == 411) {
        o->hs->bodies_invalid++; /* as http.c's respond_body_error counts its own */
    }
    const char *type = "application/json";
    h2o_iovec_t body;
    if (!http_error_in_shape(o->hs, q, &e, &type, &body)) { /* the route's shape, or ours: */
        json_writer w = {0};
        http_write_error(&w, &e);
        body = h2o_strdup(&q->pool, w.out.oom ? "" : w.out.buf, w.out.oom ? 0 : w.out.len);
        free(w.out.buf);
    }
    q->res.status = e.status;
    q->res.reason = http_reason_phrase(e.status); /* h2o wrote "Invalid Request" */
    q->res.content_length = body.len;
    h2o_set_header(&q->pool, &q->res.headers, H2O_TOKEN_CONTENT_TYPE, type, strlen(type), 1);
    h2o_ostream_send_next(&o->super, q, &body, 1, state);
}

static void on_setup_error_ostream(h2o_filter_t *self, h2o_req_t *q, h2o_ostream_t **slot)
{
    rewrite_ostream *o = (rewrite_ostream *)h2o_add_ostream(q, sizeof *o, slot);
    o->super.do_send = rewrite_send;
    o->hs = *(http_server **)(self + 1);
    h2o_setup_next_ostream(q, &o->super.next);
}

/* Lingering close (what nginx calls it): h2o 2.2.5 refuses a body over its limit before the
 * body (413) and then closes the socket with the body still arriving; the kernel then answers
 * with a reset, and a client still sending loses the 413 it was sent (Python's http.client
 * did). So each accepted socket is dup()ed: when h2o closes its handle the connection stays
 * open on the duplicate, which says FIN (shutdown) after what h2o wrote and reads and drops
 * what still comes, until the client closes or LINGER_MS pass. */
#define LINGER_MS 2000

typedef struct lingering {
    uv_tcp_t tcp;
    struct lingering *prev, *next; /* in hs->lingers, so that shutdown can end them */
    http_server *hs;
    uv_timer_t timer;
    uv_shutdown_t shut;
    int open; /* handles not yet closed */
    char buf[16384];
} lingering;

static void linger_closed(uv_handle_t *h)
{
    lingering *l = h->data;
    if (--l->open == 0) {
        free(l);
    }
}

static void linger_end(lingering *l)
{
    if (!uv_is_closing((uv_handle_t *)&l->tcp)) {
        if (l->prev != NULL) {
            l->prev->next = l->next;
        } else {
            l->hs->lingers = l->next;
        }
        if (l->next != NULL) {
            l->next->prev = l->prev;
        }
        uv_close((uv_handle_t *)&l->tcp, linger_closed);
        uv_close((uv_handle_t *)&l->timer, linger_closed);
    }
}

static void linger_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    lingering *l = h->data;
    (void)size;
    *buf = uv_buf_init(l->buf, sizeof l->buf);
}

static void linger_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    if (n < 0) {
        linger_end(s->data); /* EOF or an error: the client is done */
    }
}

static void linger_timeout(uv_timer_t *t)
{
    linger_end(t->data);
}

static void linger_shut(uv_shutdown_t *req, int status)
{
    (void)req;
    (void)status;
}

static void on_h2o_closed(uv_handle_t *h)
{
    accepted *a = (accepted *)h;
    http_server *hs = a->hs;
    uv_loop_t *loop = h->loop;
    int fd = a->dupfd;
    guard_close(a);
    guard_free(a);
    lingering *l = NULL;
    if (fd < 0) {
        return;
    }
    if (hs == NULL || hs->stopping || (l = calloc(1, sizeof *l)) == NULL) {
        close(fd); /* no lingering once the daemon stops */
        return;
    }
    l->hs = hs;
    l->open = 2;
    uv_tcp_init(loop, &l->tcp);
    uv_timer_init(loop, &l->timer);
    l->tcp.data = l->timer.data = l;
    l->next = hs->lingers;
    if (hs->lingers != NULL) {
        hs->lingers->prev = l;
    }
    hs->lingers = l;
    if (uv_tcp_open(&l->tcp, fd) != 0) {
        close(fd);
        linger_end(l);
        return;
    }
    uv_timer_start(&l->timer, linger_timeout, LINGER_MS, 0);
    uv_unref((uv_handle_t *)&l->timer); /* a shutdown of the daemon does not wait for it */
    uv_unref((uv_handle_t *)&l->tcp);
    if (uv_shutdown(&l->shut, (uv_stream_t *)&l->tcp, linger_shut) != 0 ||
        uv_read_start((uv_stream_t *)&l->tcp, linger_alloc, linger_read) != 0) {
        linger_end(l);
    }
}

static void on_accept(uv_stream_t *listener, int status)
{
    http_server *hs = listener->data;
    if (status != 0 || hs->stopping) {
        return;
    }
    accepted *a = guard_new(hs);
    if (a == NULL) {
        return;
    }
    a->hs = hs;
    a->dupfd = -1;
    uv_tcp_init(listener->loop, &a->tcp);
    if (uv_accept(listener, (uv_stream_t *)&a->tcp) != 0) {
        uv_close((uv_handle_t *)&a->tcp, (uv_close_cb)free);
        return;
    }
    if (!guard_accept(hs, a)) {
        uv_close((uv_handle_t *)&a->tcp, (uv_close_cb)free);
        return;
    }
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&a->tcp, &fd) == 0) {
        a->dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    }
    uv_tcp_nodelay(&a->tcp, 1);
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)&a->tcp, on_h2o_closed);
    a->sock = sock;
    h2o_accept(&hs->accept_ctx, sock);
    guard_watch_reads(a);
}

static void on_wake_async(uv_async_t *a)
{
    http_server *hs = a->data;
    if (hs->on_wake != NULL) {
        hs->on_wake(hs->wake_ctx);
    }
}

/* Binds and listens on host:port (IPv4); the port bound in *bound. */
static int listen_on(http_server *hs, uv_tcp_t *t, const char *host, unsigned port, int *bound)
{
    struct sockaddr_in addr;
    struct sockaddr_storage got;
    int len = sizeof got;
    const char *ip = strcmp(host, "localhost") == 0 || host[0] == '\0' ? "127.0.0.1" : host;
    uv_tcp_init(hs->loop, t);
    t->data = hs;
    if (uv_ip4_addr(ip, (int)port, &addr) != 0 ||
        uv_tcp_bind(t, (const struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)t, LISTEN_BACKLOG, on_accept) != 0 ||
        uv_tcp_getsockname(t, (struct sockaddr *)&got, &len) != 0) {
        return -1;
    }
    *bound = ntohs(((struct sockaddr_in *)&got)->sin_port);
    return 0;
}

int http_server_start(uv_loop_t *loop, const tt_config *cfg, http_wake_fn on_wake, void *ctx,
                      http_server **out, char err[TT_ERRLEN])
{
    http_server *hs = calloc(1, sizeof *hs);
    *out = hs;
    if (hs == NULL) {
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    hs->loop = loop;
    hs->cfg = cfg;
    hs->on_wake = on_wake;
    hs->wake_ctx = ctx;
    hs->fallback = assets_serve;
    hs->has_file = assets_has;
    hs->refuse_early = early_refusal;
    SSL_CTX *ssl_ctx = NULL;
    if (cfg->tls_cert[0] != '\0') {
        /* https and wss on the one port; h2o does the handshake for each accepted socket */
        char why[TT_ERRLEN];
        int rc = tls_load(cfg, &ssl_ctx, why); /* says which file, and what is wrong with it */
        if (rc != 0) {
            return tt_fail(err, rc, "cannot listen on %s:%u with TLS: %s", cfg->listen_host,
                           cfg->listen_port, why);
        }
    }
    h2o_config_init(&hs->h2o_config);
    hs->h2o_config.server_name = h2o_iovec_init(H2O_STRLIT("telltale"));
    hs->h2o_config.max_request_entity_size = cfg->max_body;
    /* h2o 2.2.5 keeps ONE timer per connection (http1.req_timeout), from waiting for a request
     * to the end of its body. The phases are timed by conn_guard.c; h2o's is a backstop. */
    hs->h2o_config.http1.req_timeout = 3600 * 1000;
    hs->h2o_config.http1.upgrade_to_http2 = 0; /* h2c: ignored (on_req) */
    h2o_hostconf_t *host =
        h2o_config_register_host(&hs->h2o_config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    tt_handler *h = (tt_handler *)h2o_create_handler(path, sizeof *h);
    h->super.on_req = on_req;
    h->hs = hs;
    h2o_filter_t *f = h2o_create_filter(&host->fallback_path, sizeof *f + sizeof(http_server *));
    f->on_setup_ostream = on_setup_error_ostream;
    *(http_server **)(f + 1) = hs;
    add_security_filter(path);
    add_security_filter(&host->fallback_path);

    h2o_context_init(&hs->h2o_ctx, loop, &hs->h2o_config);
    hs->h2o_ready = true;
    hs->accept_ctx.ctx = &hs->h2o_ctx;
    hs->accept_ctx.hosts = hs->h2o_config.hosts;
    hs->accept_ctx.ssl_ctx = ssl_ctx;

    uv_prepare_init(loop, &hs->rehook);
    hs->rehook.data = hs;
    hs->rehook_open = true;
    uv_timer_init(loop, &hs->refusal_flush); /* access.c's; opened and closed with rehook */
    hs->refusal_flush.data = hs;
    uv_unref((uv_handle_t *)&hs->refusal_flush);

    uv_mutex_init(&hs->wake_lock);
    uv_async_init(loop, &hs->wake, on_wake_async);
    hs->wake.data = hs;
    hs->wake_open = true;

    hs->listener_open = true;
    if (listen_on(hs, &hs->listener, cfg->listen_host, cfg->listen_port, &hs->port) != 0) {
        return tt_fail(err, TT_EIO,
                       "cannot listen on %s:%u (address in use or not local?): choose another "
                       "with --listen / TELLTALE_LISTEN (make run: TELLTALE_LISTEN=127.0.0.1:8081 "
                       "make run)",
                       cfg->listen_host, cfg->listen_port);
    }
    if (cfg->otlp_listen) {
        hs->otlp_open = true;
        if (listen_on(hs, &hs->otlp_listener, cfg->otlp_host, cfg->otlp_port, &hs->otlp_port) !=
            0) {
            return tt_fail(err, TT_EIO, "cannot listen on %s:%u (--otlp-listen: address in use?)",
                           cfg->otlp_host, cfg->otlp_port);
        }
    }
    return 0;
}

int http_server_add_ws(http_server *hs, const http_ws_endpoint *ep)
{
    if (hs->nendpoints == HTTP_MAX_ENDPOINTS) {
        return TT_ENOMEM;
    }
    hs->endpoints[hs->nendpoints++] = ep;
    return 0;
}

int http_server_port(const http_server *hs)
{
    return hs->port;
}

int http_server_otlp_port(const http_server *hs)
{
    return hs->otlp_port;
}

void http_server_wake(http_server *hs)
{
    uv_mutex_lock(&hs->wake_lock);
    if (hs->wake_open) {
        uv_async_send(&hs->wake);
    }
    uv_mutex_unlock(&hs->wake_lock);
}

/* Shutdown, phase 1: no new connections; connections waiting for a request are closed now
 * (their request timer is made to expire), and so are those still in their TLS handshake
 * (theirs too: nothing was asked on them yet); those with a request in hand once it is
 * answered (keep-alive off). h2o's cross-thread queue is unreferenced so that uv_run() can
 * return; it is closed in http_server_free(). */
void http_server_stop(http_server *hs)
{
    if (hs == NULL || hs->stopping) {
        return;
    }
    hs->stopping = true;
    access_log_stop(hs);
    ws_stop_all(hs);
    while (hs->lingers != NULL) {
        linger_end(hs->lingers);
    }
    if (hs->listener_open) {
        uv_close((uv_handle_t *)&hs->listener, NULL);
    }
    if (hs->rehook_open) {
        hs->rehook_open = false;
        uv_close((uv_handle_t *)&hs->rehook, NULL);
        uv_close((uv_handle_t *)&hs->refusal_flush, NULL);
    }
    if (hs->otlp_open) {
        uv_close((uv_handle_t *)&hs->otlp_listener, NULL);
    }
    uv_mutex_lock(&hs->wake_lock);
    if (hs->wake_open) {
        hs->wake_open = false;
        uv_close((uv_handle_t *)&hs->wake, NULL);
    }
    uv_mutex_unlock(&hs->wake_lock);
    if (hs->h2o_ready) {
        /* what h2o_context_request_shutdown() does for HTTP/1 (keep-alive off); the call itself
         * would also arm HTTP/2's graceful-shutdown timer, which h2o_context_dispose() then
         * finds linked and asserts on */
        hs->h2o_ctx.shutdown_requested = 1;
        /* the queue's uv_async_t is its first member (lib/common/multithread.c, 2.2.5; held
         * by tests/unit/http/test_http_server.c): a libh2o laid out otherwise is said, not
         * written into */
        uv_handle_t *queue = (uv_handle_t *)hs->h2o_ctx.queue;
        if (uv_handle_get_type(queue) == UV_ASYNC && uv_handle_get_loop(queue) == hs->loop) {
            uv_unref(queue);
        } else {
            log_error("http: libh2o's context is not laid out as 2.2.5's: its queue holds the "
                      "loop, and shutdown will wait for the deadline");
        }
        hs->h2o_ctx.http1.req_timeout.timeout = 0;
        h2o_timeout_run(hs->loop, &hs->h2o_ctx.http1.req_timeout, h2o_now(hs->loop));
        /* A TLS connection is h2o's accept context's, not HTTP/1's, until its handshake ends:
         * one connected and silent, or half-way through its ClientHello, would otherwise hold
         * the loop until h2o's handshake timer (H2O_DEFAULT_HANDSHAKE_TIMEOUT, 10 s from its
         * accept) closed it -- a TLS daemon stopped that much later than a plain one. */
        hs->h2o_ctx.handshake_timeout.timeout = 0;
        h2o_timeout_run(hs->loop, &hs->h2o_ctx.handshake_timeout, h2o_now(hs->loop));
        guard_finish_tls_closes(hs); /* and those of reset clients libh2o left half-closed */
        /* h2o's libuv timers stay armed after their last entry goes: they must not hold the
         * loop open either; connections still serving hold it, and their timers still fire */
        h2o_timeout_t *timeouts[] = {&hs->h2o_ctx.zero_timeout,
                                     &hs->h2o_ctx.one_sec_timeout,
                                     &hs->h2o_ctx.hundred_ms_timeout,
                                     &hs->h2o_ctx.handshake_timeout,
                                     &hs->h2o_ctx.http1.req_timeout,
                                     &hs->h2o_ctx.http2.idle_timeout,
                                     &hs->h2o_ctx.http2.graceful_shutdown_timeout,
                                     &hs->h2o_ctx.proxy.io_timeout};
        for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
            uv_unref((uv_handle_t *)&timeouts[i]->_backend.timer);
        }
    }
}

void http_server_free(http_server *hs)
{
    if (hs == NULL) {
        return;
    }
    if (hs->h2o_ready) {
        h2o_context_dispose(&hs->h2o_ctx); /* closes its timers and queue: uv_run() follows */
        h2o_config_dispose(&hs->h2o_config);
        SSL_CTX_free(hs->accept_ctx.ssl_ctx);
    }
    if (hs->wake_open || hs->stopping) {
        uv_mutex_destroy(&hs->wake_lock);
    }
    guard_server_gone(hs);
    free(hs);
}
