/* http_server.c -- the libwebsockets context on our libuv loop, the one lws callback
 * (on_lws_event), and the
 * dispatch of its reasons to HTTP transactions and WebSocket endpoints.
 *
 * Set-up follows shared/NOTES-lws.md §1-2: explicit vhost (so a failed bind is reported), one
 * WebSocket protocol made the default with a pvo so upgrades without a subprotocol land there,
 * dispatch by path in ESTABLISHED. Other threads wake the loop with lws_cancel_service();
 * EVENT_WAIT_CANCELLED, which lws delivers on the loop thread, runs the owner's on_wake. */
#include "http/http_server.h"

#include "core/json_print.h"
#include "http/http_internal.h"
#include "os/log.h"

#include <stdlib.h>
#include <string.h>

#define MAX_HEADER_BYTES 65535
#define WS_RX_BUFFER 65536
#define HTTP_TX_PACKET 16384
#define WS_PING_AFTER_S 30   /* an idle WebSocket is pinged ... */
#define WS_HANGUP_AFTER_S 75 /* ... and dropped if nothing valid came back by then */
#define LWS_BACKSTOP_S 2     /* lws' own timeouts end this much after ours (conn_guard.c) */

static int on_lws_event(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len);

static const struct lws_protocols protocols[] = {
    {"http", on_lws_event, sizeof(http_pss), 0, 0, NULL, HTTP_TX_PACKET},
    {"telltale-ws", on_lws_event, sizeof(http_pss), WS_RX_BUFFER, 0, NULL, WS_RX_BUFFER},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static const struct lws_protocol_vhost_options ws_default = {NULL, NULL, "default", "1"};
static const struct lws_protocol_vhost_options ws_pvo = {NULL, &ws_default, "telltale-ws", ""};

/* Added by lws to every response; the dashboard has no inline script or style. connect-src
 * allows https: so that the dashboard's Realtime path can be pointed at a real Supabase
 * project (its REST backfill is an https fetch; its socket is wss:). */
static const struct lws_protocol_vhost_options hdr_referrer = {NULL, NULL,
                                                               "referrer-policy:", "no-referrer"};
static const struct lws_protocol_vhost_options hdr_nosniff = {&hdr_referrer, NULL,
                                                              "x-content-type-options:", "nosniff"};
static const struct lws_protocol_vhost_options hdr_csp = {
    &hdr_nosniff, NULL, "content-security-policy:",
    "default-src 'self'; connect-src 'self' https: ws: wss:; img-src 'self' data:; style-src "
    "'self'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"};

static const lws_retry_bo_t ws_keepalive = {
    .secs_since_valid_ping = WS_PING_AFTER_S,
    .secs_since_valid_hangup = WS_HANGUP_AFTER_S,
};

static const http_ws_endpoint *endpoint_at(const http_server *hs, const char *path)
{
    for (int i = 0; i < hs->nendpoints; i++) {
        if (strcmp(hs->endpoints[i]->path, path) == 0) {
            return hs->endpoints[i];
        }
    }
    return NULL;
}

static const http_ws_endpoint *endpoint_of(const http_server *hs, struct lws *wsi)
{
    char path[256] = "";
    if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) < 0) {
        return NULL;
    }
    return endpoint_at(hs, path);
}

/* Refuses an upgrade with a small JSON error; lws then completes the transaction. */
static int refuse_upgrade(struct lws *wsi, unsigned status, const char *code, const char *why)
{
    json_writer w = {0};
    http_write_error(&w, &(http_error){.status = (int)status, .code = code, .message = why});
    char *body = w.out.oom ? NULL : w.out.buf;
    size_t n = w.out.len;
    unsigned char buf[LWS_PRE + 1024];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    int rc = -1;
    static const char bearer[] = "Bearer";
    if (body != NULL &&
        lws_add_http_common_headers(wsi, status, "application/json", n, &p, end) == 0 &&
        (status != 401 || lws_add_http_header_by_name(
                              wsi, (const unsigned char *)"www-authenticate:",
                              (const unsigned char *)bearer, sizeof bearer - 1, &p, end) == 0) &&
        lws_finalize_http_header(wsi, &p, end) == 0 && (size_t)(end - p) >= n) {
        memcpy(p, body, n);
        p += n;
        rc = lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) < 0 ? -1 : 1;
    }
    free(w.out.buf);
    return rc;
}

static int confirm_upgrade(http_server *hs, struct lws *wsi, const char *kind)
{
    if (strcmp(kind, "websocket") != 0) {
        /* h2c would switch lws to HTTP/2 under our HTTP/1.1 responses (NOTES-lws §2). */
        return refuse_upgrade(wsi, 400, "upgrade_not_supported",
                              "only WebSocket upgrades are supported");
    }
    const http_ws_endpoint *ep = endpoint_of(hs, wsi);
    if (ep == NULL) {
        return refuse_upgrade(wsi, 404, "not_found", "no WebSocket endpoint at this path");
    }
    /* A page of another site must not open a WebSocket with the user's loopback trust or
     * cookies: a browser always sends Origin on an upgrade (RFC 6455 §10.2). */
    if (!admit_origin(wsi, hs->cfg->allow_origins)) {
        return refuse_upgrade(wsi, 403, "origin_not_allowed",
                              "this Origin may not open a WebSocket here (TELLTALE_ALLOW_ORIGINS)");
    }
    auth_identity who;
    http_error e;
    char msg[TT_ERRLEN];
    if (!access_check_upgrade(hs, wsi, ep, &who, &e, msg, sizeof msg)) {
        return refuse_upgrade(wsi, (unsigned)e.status, e.code, e.message);
    }
    const char *code = "invalid_parameter";
    char why[TT_ERRLEN] = "";
    int status = ep->check != NULL ? ep->check(ep->ctx, wsi, &code, why) : 0;
    if (status == 0 && !guard_upgrade(hs, wsi)) {
        return refuse_upgrade(wsi, 503, "too_many_connections", GUARD_TOO_MANY_FROM_ADDRESS);
    }
    return status == 0 ? 0 : refuse_upgrade(wsi, (unsigned)status, code, why);
}

/* The 101 is sent: the caller was admitted in confirm_upgrade; who it is is read again here,
 * the last moment its headers are readable (NOTES-lws §2). */
static int established(http_server *hs, struct lws *wsi, http_pss *pss)
{
    const http_ws_endpoint *ep = endpoint_of(hs, wsi);
    auth_identity who;
    http_error e;
    char msg[TT_ERRLEN];
    if (ep == NULL || hs->stopping ||
        !access_check_upgrade(hs, wsi, ep, &who, &e, msg, sizeof msg) ||
        ep->on_open(ep->ctx, wsi, &who, &pss->conn) != 0) {
        return -1;
    }
    access_expire_ws(wsi, &who);
    pss->ep = ep;
    return 0;
}

/* The peer sent a close frame: 0 to echo it, -1 to drop a connection whose close code
 * RFC 6455 §7.4 forbids (lws 4.1.6 would echo any code). */
static int peer_close(const void *payload, size_t len)
{
    if (len < 2) {
        return 0; /* no code at all is allowed; a 1-byte payload lws refuses itself */
    }
    const unsigned char *p = payload;
    unsigned code = (unsigned)p[0] << 8 | p[1];
    bool defined = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011);
    return defined || (code >= 3000 && code <= 4999) ? 0 : -1;
}

static bool is_http_protocol(struct lws *wsi)
{
    const struct lws_protocols *p = lws_get_protocol(wsi);
    return p != NULL && strcmp(p->name, protocols[0].name) == 0;
}

/* Whether lws will read a body after these headers, as lws_http_action decides: a
 * Content-Length above 0 on any method, or none on POST, PUT or PATCH (chunked, or refused 411). */
static bool takes_body(struct lws *wsi)
{
    char cl[32] = "", *uri;
    int len;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
        return lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 && atoll(cl) > 0;
    }
    int m = lws_http_get_uri_and_method(wsi, &uri, &len);
    return m == LWSHUMETH_POST || m == LWSHUMETH_PUT || m == LWSHUMETH_PATCH;
}

/* The reasons of a connection that has its per-session data. */
static int serve(http_server *hs, struct lws *wsi, enum lws_callback_reasons reason, http_pss *pss,
                 void *in, size_t len)
{
    const http_ws_endpoint *ep = pss->ep;
    int rc;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return guard_request(hs, wsi, takes_body(wsi)) ? http_on_request(hs, wsi, pss, in) : -1;
    case LWS_CALLBACK_HTTP_BODY:
        guard_body(wsi, len);
        rc = http_on_body(wsi, pss, in, len);
        if (pss->req != NULL && pss->req->body_done) {
            guard_handling(wsi, false); /* a chunked body ends inside itself */
        }
        return rc;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        guard_handling(wsi, false);
        return http_on_body_done(wsi, pss);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return http_on_writable(wsi, pss);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        http_on_drop(pss);
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        return established(hs, wsi, pss);
    case LWS_CALLBACK_RECEIVE:
        if (ws_guard_receive(hs, wsi, pss, len) != 0) {
            return -1;
        }
        return ep != NULL ? ep->on_receive(pss->conn, wsi, in, len) : 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ep != NULL ? ep->on_writable(pss->conn) : 0;
    case LWS_CALLBACK_TIMER:
        return ep != NULL ? ep->on_timer(pss->conn) : 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        return peer_close(in, len);
    case LWS_CALLBACK_CLOSED:
        if (ep != NULL) {
            pss->ep = NULL;
            ep->on_close(pss->conn);
        }
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, pss, in, len);
    }
}

static int on_lws_event(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    http_server *hs = lws_context_user(lws_get_context(wsi));
    int rc;
    bool mine;
    switch (reason) {                            /* the reasons that need no per-session data */
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION: /* 'wsi' is the listener's */
        return hs != NULL && !hs->stopping && guard_accept(hs, user) ? 0 : -1;
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        guard_open(hs, wsi);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (hs != NULL) {
            guard_close(hs, wsi);
        }
        return 0;
    case LWS_CALLBACK_TIMER:
        rc = guard_timer(hs, wsi, &mine);
        if (mine) {
            return rc;
        }
        break;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        rc = confirm_upgrade(hs, wsi, in);
        if (rc == 0) {
            guard_handling(wsi, true);
        } else {
            guard_idle(hs, wsi); /* refused with an answer: the connection is kept */
        }
        return rc;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        /* Delivered once per protocol: serve it in one, and return 0 (lws closes its cancel
         * pipe on anything else). lws keeps its own copy of the protocol table, so the
         * protocol is recognised by name. */
        if (hs != NULL && hs->on_wake != NULL && is_http_protocol(wsi)) {
            hs->in_service++;
            hs->on_wake(hs->wake_ctx);
            hs->in_service--;
        }
        return 0;
    default:
        break;
    }
    if (user == NULL) {
        /* No protocol was ever bound (a connection closed before a request, or one lws
         * refused on its own): there is no per-session data, and nothing of ours to free. */
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
    hs->in_service++;
    rc = serve(hs, wsi, reason, user, in, len);
    hs->in_service--;
    return rc;
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

/* 'ms' in whole seconds, rounded up, plus LWS_BACKSTOP_S; at least lws' default of 10. */
static int secs_after(uint64_t ms)
{
    uint64_t s = (ms + 999) / 1000 + LWS_BACKSTOP_S;
    return s < 10 ? 10 : s > 86400 ? 86400 : (int)s;
}

static int create_context(http_server *hs, char *err)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {hs->loop};
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   LWS_SERVER_OPTION_DISABLE_IPV6 | LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.foreign_loops = loops;
    info.user = hs;
    info.pcontext = &hs->ctx;
    info.max_http_header_data = MAX_HEADER_BYTES; /* lws's most; http.c answers 431 past 16 KiB */
    /* lws' own timeouts, in whole seconds, are a backstop that ends after conn_guard.c's */
    info.timeout_secs = (unsigned)secs_after(hs->cfg->body_timeout_ms);
    if (hs->cfg->tls_cert[0] != '\0') {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT; /* OpenSSL, once per process */
    }
    info.retry_and_idle_policy = &ws_keepalive;
    hs->ctx = lws_create_context(&info);
    if (hs->ctx == NULL) {
        return tt_fail(err, TT_EIO,
                       "cannot create the libwebsockets context (is the package "
                       "libwebsockets-evlib-uv installed?)");
    }
    memset(&info, 0, sizeof info);
    info.port = (int)hs->cfg->listen_port;
    info.iface = hs->cfg->listen_host;
    info.protocols = protocols;
    info.pvo = &ws_pvo;
    info.headers = &hdr_csp;
    info.vhost_name = "telltale";
    /* vhost settings (the context's are not inherited); an idle connection may start a request
     * just before its idle timeout and then take the header timeout for it */
    info.keepalive_timeout = secs_after(hs->cfg->idle_timeout_ms + hs->cfg->header_timeout_ms);
    info.timeout_secs_ah_idle = (unsigned)info.keepalive_timeout;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6 | LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (hs->cfg->tls_cert[0] != '\0') {
        /* https and wss on the one port. HTTP/1.1 only: telltale's answers and WebSocket
         * upgrades are HTTP/1.1 (NOTES-lws §2, §4), so ALPN never offers h2. */
        info.ssl_cert_filepath = hs->cfg->tls_cert;
        info.ssl_private_key_filepath = hs->cfg->tls_key;
        info.alpn = "http/1.1";
        /* lws enables TLS on a vhost only when its own options carry this too */
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    }
    hs->vh = lws_create_vhost(hs->ctx, &info);
    if (hs->vh == NULL && hs->cfg->tls_cert[0] != '\0') {
        return tt_fail(err, TT_EIO,
                       "cannot listen on %s:%u with TLS: check TELLTALE_TLS_CERT (--tls-cert) "
                       "'%s' and TELLTALE_TLS_KEY (--tls-key) '%s' (readable PEM files, the key "
                       "matching the certificate), and that the address is free",
                       hs->cfg->listen_host, hs->cfg->listen_port, hs->cfg->tls_cert,
                       hs->cfg->tls_key);
    }
    if (hs->vh == NULL) {
        return tt_fail(err, TT_EIO,
                       "cannot listen on %s:%u (address in use or not local?): choose another "
                       "with --listen / TELLTALE_LISTEN (make run: TELLTALE_LISTEN=127.0.0.1:8081 "
                       "make run)",
                       hs->cfg->listen_host, hs->cfg->listen_port);
    }
    hs->port = lws_get_vhost_listen_port(hs->vh);
    if (!hs->cfg->otlp_listen) {
        return 0;
    }
    /* The second address (--otlp-listen): another vhost with the same protocols, so it serves
     * the same routes (OTLP exporters default to port 4318). */
    info.port = (int)hs->cfg->otlp_port;
    info.iface = hs->cfg->otlp_host;
    info.vhost_name = "telltale-otlp";
    struct lws_vhost *otlp = lws_create_vhost(hs->ctx, &info);
    if (otlp == NULL) {
        return tt_fail(err, TT_EIO, "cannot listen on %s:%u (--otlp-listen: address in use?)",
                       hs->cfg->otlp_host, hs->cfg->otlp_port);
    }
    hs->otlp_port = lws_get_vhost_listen_port(otlp);
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
    lws_set_log_level(LLL_ERR | LLL_WARN | (log_enabled(LOG_DEBUG) ? LLL_NOTICE : 0), emit_lws_log);
    return create_context(hs, err);
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
    if (hs->ctx != NULL) {
        lws_cancel_service(hs->ctx);
    }
}

void http_server_stop(http_server *hs)
{
    if (hs == NULL) {
        return;
    }
    hs->stopping = true;
    if (hs->ctx != NULL) {
        lws_context_destroy(hs->ctx); /* phase 1: closes connections; uv closes are async */
    }
}

void http_server_free(http_server *hs)
{
    if (hs == NULL) {
        return;
    }
    if (hs->ctx != NULL) {
        lws_context_destroy(hs->ctx); /* phase 2, after uv_run() let the closes finish */
    }
    free(hs);
}
