/* ws_h2o.c -- WebSocket connections over libh2o 2.2.5's websocket.h (wslay underneath): the
 * upgrade with its checks (endpoint by path, Origin, roles, the endpoint's own, the limit on
 * message size), and the calls the endpoints (live/) use to send, close, pause and read the
 * URL's parameters.
 *
 * SPIKE (branch h2o-edge, docs/h2o-spike.md). What h2o 2.2.5 gives: h2o_upgrade_to_websocket()
 * sends the 101 and runs wslay on the socket; every received message comes whole to one
 * callback, which gets NULL once the connection is gone. It writes one frame per socket write
 * and says nothing when a write completes, so "writable" is polled here with a short timer
 * while the endpoint has more to send (the remaining work: own wslay callbacks, see the doc).
 * Loop thread only. */
#include "http/http_internal.h"

#include "os/clock.h"

#include <h2o/websocket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHOKED_BYTES 262144 /* queued in wslay: more waits for on_writable */
#define WRITABLE_POLL_MS 1

typedef struct pending_msg {
    struct pending_msg *next;
    bool binary;
    size_t len;
    unsigned char data[];
} pending_msg;

struct http_ws {
    http_server *hs;
    const http_ws_endpoint *ep;
    h2o_websocket_conn_t *conn;
    void *user;   /* the endpoint's per-connection state */
    bool opened;  /* on_open returned 0: on_close is owed */
    bool closing; /* a close frame is queued */
    bool gone;    /* h2o reported the connection closed */
    bool binary;  /* of the message being handed over */
    bool paused;
    bool want_writable;
    int close_code;
    char close_reason[64];
    char *query; /* the URL's query, raw, for http_ws_arg() */
    char addr[FORWARDED_ADDR_MAX];
    char rate_key[HTTP_RATE_KEY_MAX];
    pending_msg *held, **held_tail; /* received while paused */
    uv_timer_t poll;                /* writable polling, and the JWT's expiry */
    uv_timer_t expiry;
    uv_timer_t resume; /* hands held messages over after a pause, from the loop */
    int handles_open;
};

static void on_handle_closed(uv_handle_t *h)
{
    http_ws *ws = h->data;
    if (--ws->handles_open == 0) {
        free(ws->query);
        free(ws);
    }
}

/* The connection is gone: the endpoint hears of it once, then everything is freed. */
static void finish(http_ws *ws)
{
    if (ws->gone) {
        return;
    }
    ws->gone = true;
    if (ws->opened) {
        ws->opened = false;
        ws->ep->on_close(ws->user);
    }
    if (ws->conn != NULL) {
        h2o_websocket_close(ws->conn);
        ws->conn = NULL;
    }
    for (pending_msg *p = ws->held, *n; p != NULL; p = n) {
        n = p->next;
        free(p);
    }
    ws->held = NULL;
    uv_close((uv_handle_t *)&ws->poll, on_handle_closed);
    uv_close((uv_handle_t *)&ws->expiry, on_handle_closed);
    uv_close((uv_handle_t *)&ws->resume, on_handle_closed);
}

static bool ready(const http_ws *ws)
{
    return ws->conn != NULL && ws->conn->sock != NULL && !ws->gone;
}

/* Runs wslay: writes what is queued, reads what came. May report the connection gone. */
static void proceed(http_ws *ws)
{
    if (ready(ws)) {
        h2o_websocket_proceed(ws->conn);
    }
}

void http_ws_close(http_ws *ws, int code, const char *reason)
{
    if (ws->closing || ws->gone) {
        return;
    }
    http_ws_set_close(ws, code, reason);
    ws->closing = true;
    if (ws->conn != NULL) {
        wslay_event_queue_close(ws->conn->ws_ctx, (uint16_t)ws->close_code,
                                (const uint8_t *)ws->close_reason, strlen(ws->close_reason));
    }
    proceed(ws);
}

void http_ws_set_close(http_ws *ws, int code, const char *reason)
{
    ws->close_code = code;
    snprintf(ws->close_reason, sizeof ws->close_reason, "%s", reason != NULL ? reason : "");
}

int http_ws_send(http_ws *ws, const void *data, size_t len, bool binary)
{
    if (ws->closing || ws->gone || ws->conn == NULL) {
        return -1;
    }
    struct wslay_event_msg m = {binary ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME, data, len};
    if (wslay_event_queue_msg(ws->conn->ws_ctx, &m) != 0) {
        return -1;
    }
    proceed(ws);
    return 0;
}

bool http_ws_choked(const http_ws *ws)
{
    return !ready(ws) || h2o_socket_is_writing(ws->conn->sock) ||
           wslay_event_get_queued_msg_length(ws->conn->ws_ctx) > CHOKED_BYTES;
}

static void on_poll(uv_timer_t *t)
{
    http_ws *ws = t->data;
    if (ws->gone || !ws->want_writable) {
        return;
    }
    if (http_ws_choked(ws)) {
        uv_timer_start(&ws->poll, on_poll, WRITABLE_POLL_MS, 0);
        return;
    }
    ws->want_writable = false;
    if (ws->opened && ws->ep->on_writable(ws->user) != 0) {
        http_ws_close(ws, ws->close_code, ws->close_reason);
    }
}

void http_ws_want_writable(http_ws *ws)
{
    if (ws->gone || ws->want_writable) {
        return;
    }
    ws->want_writable = true;
    uv_timer_start(&ws->poll, on_poll, 0, 0);
}

bool http_ws_binary(const http_ws *ws)
{
    return ws->binary;
}

static void deliver(http_ws *ws, const void *msg, size_t len, bool binary)
{
    ws->binary = binary;
    if (ws->opened && !ws->closing && ws->ep->on_receive(ws->user, ws, msg, len) != 0) {
        http_ws_close(ws, ws->close_code, ws->close_reason);
    }
}

static void on_resume(uv_timer_t *t)
{
    http_ws *ws = t->data;
    while (!ws->paused && ws->held != NULL && !ws->gone) {
        pending_msg *p = ws->held;
        ws->held = p->next;
        if (ws->held == NULL) {
            ws->held_tail = &ws->held;
        }
        deliver(ws, p->data, p->len, p->binary);
        free(p);
    }
}

/* Resuming hands the held messages over from the loop, not from inside the caller: the caller
 * (a message read on the pool) finishes with its own message first, as lws' rx flow control
 * did. */
void http_ws_pause(http_ws *ws, bool paused)
{
    ws->paused = paused;
    if (!paused && ws->held != NULL && !ws->gone) {
        uv_timer_start(&ws->resume, on_resume, 0, 0);
    }
}

/* Valid close codes a peer may send (RFC 6455 §7.4): others end the connection at once. */
static bool close_code_ok(const struct wslay_event_on_msg_recv_arg *arg)
{
    unsigned code = arg->status_code;
    if (arg->msg_length == 0 || code == 0) {
        return true;
    }
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
           (code >= 3000 && code <= 4999);
}

static void on_ws_msg(h2o_websocket_conn_t *conn, const struct wslay_event_on_msg_recv_arg *arg)
{
    http_ws *ws = conn->data;
    if (arg == NULL) {
        finish(ws);
        return;
    }
    if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
        if (!close_code_ok(arg)) {
            finish(ws);
        }
        return; /* wslay answers the close itself */
    }
    if (arg->opcode != WSLAY_TEXT_FRAME && arg->opcode != WSLAY_BINARY_FRAME) {
        return; /* ping and pong: wslay answers pings itself */
    }
    bool binary = arg->opcode == WSLAY_BINARY_FRAME;
    if (ws->paused || ws->held != NULL) { /* behind what is held, in order */
        pending_msg *p = malloc(sizeof *p + arg->msg_length);
        if (p == NULL) {
            http_ws_close(ws, 1011, "out of memory");
            return;
        }
        *p = (pending_msg){.next = NULL, .binary = binary, .len = arg->msg_length};
        memcpy(p->data, arg->msg, arg->msg_length);
        *ws->held_tail = p;
        ws->held_tail = &p->next;
        return;
    }
    deliver(ws, arg->msg, arg->msg_length, binary);
}

bool http_ws_arg(const http_ws *ws, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    out[0] = '\0';
    for (const char *p = ws->query; p != NULL && *p != '\0';) {
        size_t seg = strcspn(p, "&");
        if (seg > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            size_t o = 0;
            for (size_t i = n + 1; i < seg; i++) {
                int c = (unsigned char)p[i];
                if (c == '%' && i + 2 < seg) {
                    char hex[3] = {p[i + 1], p[i + 2], '\0'};
                    c = (int)strtol(hex, NULL, 16);
                    i += 2;
                } else if (c == '+') {
                    c = ' ';
                }
                if (o + 1 >= cap) {
                    out[0] = '\0';
                    return false;
                }
                out[o++] = (char)c;
            }
            out[o] = '\0';
            return true;
        }
        p += seg + (p[seg] == '&');
    }
    return false;
}

void http_ws_count_limit(http_ws *ws, http_limit k)
{
    http_server_count_limit(ws->hs, k);
}

const char *http_ws_rate_key(http_ws *ws, const auth_identity *who)
{
    if (who->sub[0] != '\0') {
        snprintf(ws->rate_key, sizeof ws->rate_key, "sub:%s", who->sub);
    } else if (auth_enabled(ws->hs->cfg)) {
        snprintf(ws->rate_key, sizeof ws->rate_key, "role:%s", auth_role_name(who->role));
    } else {
        snprintf(ws->rate_key, sizeof ws->rate_key, "addr:%s", ws->addr);
    }
    return ws->rate_key;
}

/* The connection is dropped, without a close frame, as the lws edge did (lws_set_timeout):
 * the client reconnects and is asked for a fresh token (access.test.mjs expects 1006). */
static void on_expiry(uv_timer_t *t)
{
    finish(t->data);
}

/* A WebSocket admitted with a JWT is dropped when the token expires (exp + JWT_LEEWAY_S). */
static void expire_at(http_ws *ws, const auth_identity *who)
{
    if (who->expires_s == 0) {
        return;
    }
    int64_t left = who->expires_s + JWT_LEEWAY_S - (int64_t)(clock_now_ms() / 1000);
    uv_timer_start(&ws->expiry, on_expiry, left > 0 ? (uint64_t)left * 1000 : 1, 0);
}

static void refuse(h2o_req_t *q, int status, const char *code, const char *why)
{
    json_writer w = {0};
    http_write_error(&w, &(http_error){.status = status, .code = code, .message = why});
    q->res.status = status;
    q->res.reason = status == 401   ? "Unauthorized"
                    : status == 403 ? "Forbidden"
                    : status == 404 ? "Not Found"
                    : status == 503 ? "Service Unavailable"
                                    : "Bad Request";
    q->res.content_length = w.out.oom ? 0 : w.out.len;
    h2o_add_header(&q->pool, &q->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    if (status == 401) {
        h2o_add_header_by_str(&q->pool, &q->res.headers, H2O_STRLIT("www-authenticate"), 0, NULL,
                              H2O_STRLIT("Bearer"));
    }
    h2o_send_inline(q, w.out.oom ? "" : w.out.buf, w.out.oom ? 0 : w.out.len);
    free(w.out.buf);
}

static const http_ws_endpoint *endpoint_at(const http_server *hs, const char *path)
{
    for (int i = 0; i < hs->nendpoints; i++) {
        if (strcmp(hs->endpoints[i]->path, path) == 0) {
            return hs->endpoints[i];
        }
    }
    return NULL;
}

int ws_upgrade(http_server *hs, h2o_req_t *q)
{
    char path[HTTP_PATH_MAX];
    const char *key = NULL;
    if (!h2o_lcstris(q->upgrade.base, q->upgrade.len, H2O_STRLIT("websocket"))) {
        /* h2c would take the connection to HTTP/2 under our HTTP/1.1 answers */
        refuse(q, 400, "upgrade_not_supported", "only WebSocket upgrades are supported");
        return 0;
    }
    const http_ws_endpoint *ep =
        headers_path(q, path, sizeof path) == 0 ? endpoint_at(hs, path) : NULL;
    if (ep == NULL) {
        refuse(q, 404, "not_found", "no WebSocket endpoint at this path");
        return 0;
    }
    if (hs->stopping) {
        refuse(q, 503, "shutting_down", "the server is shutting down");
        return 0;
    }
    /* A page of another site must not open a WebSocket with the user's loopback trust or
     * cookies: a browser always sends Origin on an upgrade (RFC 6455 §10.2). */
    if (!admit_origin(q, hs->cfg->allow_origins)) {
        refuse(q, 403, "origin_not_allowed",
               "this Origin may not open a WebSocket here (TELLTALE_ALLOW_ORIGINS)");
        return 0;
    }
    if (h2o_is_websocket_handshake(q, &key) != 0 || key == NULL) {
        refuse(q, 400, "invalid_websocket_handshake",
               "a WebSocket upgrade needs GET, Sec-WebSocket-Key and Sec-WebSocket-Version 13");
        return 0;
    }
    auth_identity who;
    http_error e;
    char msg[TT_ERRLEN];
    if (!access_check_upgrade(hs, q, ep, &who, &e, msg, sizeof msg)) {
        refuse(q, e.status, e.code, e.message);
        return 0;
    }
    http_ws *ws = calloc(1, sizeof *ws);
    if (ws == NULL) {
        refuse(q, 503, "overloaded", "out of memory");
        return 0;
    }
    ws->hs = hs;
    ws->ep = ep;
    ws->held_tail = &ws->held;
    ws->close_code = 1011;
    if (q->query_at != SIZE_MAX) {
        size_t n = q->path.len - q->query_at - 1;
        if ((ws->query = malloc(n + 1)) != NULL) {
            memcpy(ws->query, q->path.base + q->query_at + 1, n);
            ws->query[n] = '\0';
        }
    }
    access_client(hs, q, ws->addr);
    const char *code = "invalid_parameter";
    char why[TT_ERRLEN] = "";
    int status = ep->check != NULL ? ep->check(ep->ctx, ws, &code, why) : 0;
    if (status != 0) {
        refuse(q, status, code, why);
        free(ws->query);
        free(ws);
        return 0;
    }
    uv_timer_init(hs->loop, &ws->poll);
    uv_timer_init(hs->loop, &ws->expiry);
    uv_timer_init(hs->loop, &ws->resume);
    ws->poll.data = ws->expiry.data = ws->resume.data = ws;
    ws->handles_open = 3;
    ws->conn = h2o_upgrade_to_websocket(q, key, ws, on_ws_msg);
    wslay_event_config_set_max_recv_msg_length(ws->conn->ws_ctx, hs->cfg->ws_max_message);
    if (ep->on_open(ep->ctx, ws, &who, &ws->user) != 0) {
        http_ws_close(ws, 1011, "");
        return 0;
    }
    ws->opened = true;
    expire_at(ws, &who);
    return 0;
}
