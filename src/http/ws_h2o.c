/* ws_h2o.c -- a WebSocket connection on libh2o 2.2.5 and wslay, once upgraded (ws_upgrade.c):
 * its life, and the calls the endpoints (live/) use to send, close, pause and read the URL's
 * parameters.
 *
 * h2o's own websocket.c is not used: it writes one frame per send(), has no hook for a
 * completed write, restarts reading by itself (no pause), and drops a connection on a
 * frame-level protocol error without the close frame. So h2o only does the upgrade
 * (h2o_http1_upgrade sends the 101 and hands over the socket) and wslay runs here with
 * callbacks of our own:
 *
 *   socket ──read──► sock->input ──recv_cb──► wslay ──on_msg──► endpoint.on_receive
 *   endpoint ──http_ws_send──► wslay queue ──send_cb──► gather ──one write──► socket
 *   endpoint ──http_ws_frame_room: frames of its own──────────┘  (at most WRITE_MAX)
 *
 * A write's completion runs wslay again and, if the endpoint asked, its on_writable: the same
 * "writable" lws gave. Loop thread only. */
#include "http/http_internal.h"

#include "os/clock.h"

#include <h2o/http1.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <h2o/websocket.h> /* h2o_is_websocket_handshake; wslay.h */

#define WRITE_MAX HTTP_WS_WRITE_MAX
#define CHOKED_BYTES 262144   /* queued in wslay beyond a write: more waits for on_writable */
#define PING_AFTER_MS 30000   /* an idle WebSocket is pinged ... */
#define HANGUP_AFTER_MS 75000 /* ... and dropped when nothing came back by then */

typedef struct pending_msg {
    struct pending_msg *next;
    bool binary;
    size_t len;
    unsigned char data[];
} pending_msg;

struct http_ws {
    http_ws *prev, *next; /* in hs->wss */
    http_server *hs;
    const http_ws_endpoint *ep;
    h2o_socket_t *sock; /* NULL until the 101 is sent */
    wslay_event_context_ptr ctx;
    void *user;   /* the endpoint's per-connection state */
    bool opened;  /* on_open returned 0: on_close is owed */
    bool closing; /* a close frame is queued */
    bool gone;    /* closed, or the upgrade failed */
    bool binary;  /* of the message being handed over */
    bool paused;
    bool want_writable;
    bool in_proceed;
    int close_code;
    char close_reason[64];
    char *query; /* the URL's query, raw, for http_ws_arg() */
    char addr[FORWARDED_ADDR_MAX];
    char rate_key[HTTP_RATE_KEY_MAX];
    unsigned char *out;    /* frames being written (one h2o_socket_write) */
    unsigned char *gather; /* frames wslay gave since, up to WRITE_MAX */
    size_t gather_len;
    bool writing;
    uint64_t last_rx_ms;
    ws_frame_guard fg; /* the frame limits, read off the bytes before wslay gets them */
    bool over_limit;
    pending_msg *held, **held_tail; /* received while paused */
    uv_timer_t expiry;              /* the JWT's */
    uv_timer_t idle;                /* ping and hang-up */
    uv_timer_t resume;              /* hands held messages over after a pause */
    int handles_open;
};

static void on_handle_closed(uv_handle_t *h)
{
    http_ws *ws = h->data;
    if (--ws->handles_open == 0) {
        if (ws->ctx != NULL) {
            wslay_event_context_free(ws->ctx);
        }
        free(ws->out);
        free(ws->gather);
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
    if (ws->prev != NULL) {
        ws->prev->next = ws->next;
    } else {
        ws->hs->wss = ws->next;
    }
    if (ws->next != NULL) {
        ws->next->prev = ws->prev;
    }
    if (ws->opened) {
        ws->opened = false;
        ws->ep->on_close(ws->user);
    }
    if (ws->sock != NULL) {
        h2o_socket_close(ws->sock);
        ws->sock = NULL;
    }
    for (pending_msg *p = ws->held, *n; p != NULL; p = n) {
        n = p->next;
        free(p);
    }
    ws->held = NULL;
    uv_close((uv_handle_t *)&ws->expiry, on_handle_closed);
    uv_close((uv_handle_t *)&ws->idle, on_handle_closed);
    uv_close((uv_handle_t *)&ws->resume, on_handle_closed);
}

/* The frame limits (ws_guard.c) on bytes about to go to wslay: false once one is broken (it
 * is counted, and the close 1009 set). */
static bool guard(http_ws *ws, const unsigned char *b, size_t n)
{
    const tt_config *cfg = ws->hs->cfg;
    int k = ws_guard_feed(&ws->fg, b, n, cfg->ws_max_frame, cfg->ws_max_message);
    if (k >= 0) {
        http_server_count_limit(ws->hs, (http_limit)k);
        http_ws_set_close(ws, 1009,
                          k == HTTP_LIMIT_WS_FRAME ? "frame too big (TELLTALE_WS_MAX_FRAME)"
                                                   : "message too big (TELLTALE_WS_MAX_MESSAGE)");
        ws->over_limit = true;
    }
    return !ws->over_limit;
}

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *p)
{
    http_ws *ws = p;
    (void)flags;
    if (ws->paused || ws->over_limit || ws->sock->input->size == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    len = len < ws->sock->input->size ? len : ws->sock->input->size;
    if (!guard(ws, (const unsigned char *)ws->sock->input->bytes, len)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    memcpy(buf, ws->sock->input->bytes, len);
    h2o_buffer_consume(&ws->sock->input, len);
    return (ssize_t)len;
}

/* wslay hands over frame bytes; they are gathered for one write, not written one by one. */
static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *p)
{
    http_ws *ws = p;
    (void)flags;
    if (ws->gather == NULL && (ws->gather = malloc(WRITE_MAX)) == NULL) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    size_t room = WRITE_MAX - ws->gather_len;
    if (room == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    len = len < room ? len : room;
    memcpy(ws->gather + ws->gather_len, data, len);
    ws->gather_len += len;
    return (ssize_t)len;
}

static void on_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                      void *p);

static const struct wslay_event_callbacks callbacks = {
    .recv_callback = recv_cb, .send_callback = send_cb, .on_msg_recv_callback = on_msg_cb};

static void proceed(http_ws *ws);

static void on_write_done(h2o_socket_t *sock, const char *err)
{
    http_ws *ws = sock->data;
    ws->writing = false;
    if (err != NULL) {
        finish(ws);
        return;
    }
    proceed(ws);
}

/* A protocol error wslay found in a frame (it would close without a word): the close frame
 * 1002 goes out raw, then the connection ends (RFC 6455 §7.1.7). */
static void fail_protocol(http_ws *ws)
{
    static const unsigned char frame[] = {0x88, 0x02, 0x03, 0xea}; /* close, 1002 */
    if (ws->writing || ws->sock == NULL) {
        finish(ws);
        return;
    }
    if (ws->gather == NULL && (ws->gather = malloc(WRITE_MAX)) == NULL) {
        finish(ws);
        return;
    }
    memcpy(ws->gather, frame, sizeof frame);
    ws->gather_len = sizeof frame;
    wslay_event_shutdown_read(ws->ctx);
    wslay_event_shutdown_write(ws->ctx);
}

/* Runs wslay until it can do no more: received frames in; the endpoint's on_writable, if it
 * asked, while frames can still be gathered; queued frames out in one write. Ends the
 * connection when both directions are done. */
static void proceed(http_ws *ws)
{
    if (ws->gone || ws->sock == NULL || ws->in_proceed) {
        return;
    }
    ws->in_proceed = true;
    if (!ws->paused && ws->sock->input->size > 0 && wslay_event_want_read(ws->ctx) &&
        wslay_event_recv(ws->ctx) != 0) {
        fail_protocol(ws);
    }
    if (ws->over_limit && !ws->closing && !ws->gone) {
        ws->closing = true;
        h2o_socket_read_stop(ws->sock);
        wslay_event_queue_close(ws->ctx, 1009, (const uint8_t *)ws->close_reason,
                                strlen(ws->close_reason));
    }
    if (!ws->gone && ws->want_writable && !http_ws_choked(ws)) {
        ws->want_writable = false;
        if (ws->opened && ws->ep->on_writable(ws->user) != 0) {
            http_ws_close(ws, ws->close_code, ws->close_reason);
        }
    }
    if (!ws->gone && !ws->writing && wslay_event_want_write(ws->ctx) &&
        wslay_event_send(ws->ctx) != 0) {
        ws->gather_len = 0;
        ws->in_proceed = false;
        finish(ws);
        return;
    }
    if (!ws->gone && !ws->writing && ws->gather_len > 0) {
        unsigned char *t = ws->out;
        ws->out = ws->gather;
        ws->gather = t;
        h2o_iovec_t buf = h2o_iovec_init(ws->out, ws->gather_len);
        ws->gather_len = 0;
        ws->writing = true;
        h2o_socket_write(ws->sock, &buf, 1, on_write_done);
    }
    ws->in_proceed = false;
    if (!ws->gone && !ws->writing && !wslay_event_want_write(ws->ctx) &&
        (ws->over_limit || !wslay_event_want_read(ws->ctx))) {
        finish(ws); /* closed both ways, or our 1009 is out and nothing more is read */
    }
}

static void on_read(h2o_socket_t *sock, const char *err)
{
    http_ws *ws = sock->data;
    if (err != NULL) {
        finish(ws);
        return;
    }
    ws->last_rx_ms = clock_mono_ms();
    proceed(ws);
}

void http_ws_close(http_ws *ws, int code, const char *reason)
{
    if (ws->closing || ws->gone) {
        return;
    }
    http_ws_set_close(ws, code, reason);
    ws->closing = true;
    wslay_event_queue_close(ws->ctx, (uint16_t)ws->close_code, (const uint8_t *)ws->close_reason,
                            strlen(ws->close_reason));
    proceed(ws);
}

void http_ws_set_close(http_ws *ws, int code, const char *reason)
{
    ws->close_code = code;
    if (reason != ws->close_reason) { /* proceed() and deliver() close with the reason set */
        snprintf(ws->close_reason, sizeof ws->close_reason, "%s", reason != NULL ? reason : "");
    }
}

int http_ws_send(http_ws *ws, const void *data, size_t len, bool binary)
{
    if (ws->closing || ws->gone) {
        return -1;
    }
    struct wslay_event_msg m = {binary ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME, data, len};
    if (wslay_event_queue_msg(ws->ctx, &m) != 0) {
        return -1;
    }
    if (!ws->writing && !ws->in_proceed) {
        proceed(ws);
    }
    return 0;
}

bool http_ws_choked(const http_ws *ws)
{
    return ws->sock == NULL || ws->gone ||
           (ws->writing && (wslay_event_get_queued_msg_length(ws->ctx) > CHOKED_BYTES ||
                            ws->gather_len == WRITE_MAX));
}

unsigned char *http_ws_frame_room(http_ws *ws, size_t *room)
{
    *room = 0;
    if (ws->closing || ws->gone || ws->sock == NULL || wslay_event_want_write(ws->ctx) ||
        (ws->gather == NULL && (ws->gather = malloc(WRITE_MAX)) == NULL)) {
        return NULL; /* wslay may be part-way through a frame: its bytes come first */
    }
    *room = WRITE_MAX - ws->gather_len;
    return *room > 0 ? ws->gather + ws->gather_len : NULL;
}

void http_ws_frames_added(http_ws *ws, size_t n)
{
    ws->gather_len += n;
    if (!ws->writing && !ws->in_proceed) {
        proceed(ws);
    }
}

void http_ws_want_writable(http_ws *ws)
{
    if (ws->gone) {
        return;
    }
    ws->want_writable = true;
    if (!ws->in_proceed) {
        proceed(ws); /* at once if it can take more; else when the write in flight is done */
    }
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
    if (!ws->paused && ws->sock != NULL) {
        h2o_socket_read_start(ws->sock, on_read);
        proceed(ws); /* what came meanwhile */
    }
}

/* Pausing stops reading the socket (the client's TCP window fills: real back-pressure);
 * messages wslay had already taken are held. Resuming hands them over from the loop, not from
 * inside the caller, as lws' rx flow control did. */
void http_ws_pause(http_ws *ws, bool paused)
{
    ws->paused = paused;
    if (ws->sock == NULL || ws->gone) {
        return;
    }
    if (paused) {
        h2o_socket_read_stop(ws->sock);
    } else {
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

static void on_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                      void *p)
{
    http_ws *ws = p;
    (void)ctx;
    if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
        if (!close_code_ok(arg)) {
            fail_protocol(ws);
        }
        return; /* wslay answers the close itself */
    }
    if (arg->opcode != WSLAY_TEXT_FRAME && arg->opcode != WSLAY_BINARY_FRAME) {
        return; /* ping and pong: wslay answers pings itself */
    }
    bool binary = arg->opcode == WSLAY_BINARY_FRAME;
    if (ws->paused || ws->held != NULL) { /* behind what is held, in order */
        pending_msg *m = malloc(sizeof *m + arg->msg_length);
        if (m == NULL) {
            http_ws_close(ws, 1011, "out of memory");
            return;
        }
        *m = (pending_msg){.next = NULL, .binary = binary, .len = arg->msg_length};
        memcpy(m->data, arg->msg, arg->msg_length);
        *ws->held_tail = m;
        ws->held_tail = &m->next;
        return;
    }
    deliver(ws, arg->msg, arg->msg_length, binary);
}

void ws_stop_all(http_server *hs)
{
    while (hs->wss != NULL) {
        finish(hs->wss);
    }
}

/* Pings a connection quiet for PING_AFTER_MS; drops one quiet for HANGUP_AFTER_MS. */
static void on_idle(uv_timer_t *t)
{
    http_ws *ws = t->data;
    uint64_t quiet = clock_mono_ms() - ws->last_rx_ms;
    if (quiet >= HANGUP_AFTER_MS) {
        finish(ws);
        return;
    }
    if (quiet >= PING_AFTER_MS && ws->sock != NULL) {
        struct wslay_event_msg ping = {WSLAY_PING, NULL, 0};
        wslay_event_queue_msg(ws->ctx, &ping);
        proceed(ws);
    }
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

http_ws *ws_conn_new(http_server *hs, const http_ws_endpoint *ep, const h2o_req_t *q)
{
    http_ws *ws = calloc(1, sizeof *ws);
    if (ws == NULL || wslay_event_context_server_init(&ws->ctx, &callbacks, ws) != 0) {
        free(ws);
        return NULL;
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
    access_client(hs, (h2o_req_t *)q, ws->addr);
    wslay_event_config_set_max_recv_msg_length(ws->ctx, hs->cfg->ws_max_message + 1);
    uv_timer_init(hs->loop, &ws->expiry);
    uv_timer_init(hs->loop, &ws->idle);
    uv_timer_init(hs->loop, &ws->resume);
    ws->expiry.data = ws->idle.data = ws->resume.data = ws;
    ws->handles_open = 3;
    ws->last_rx_ms = clock_mono_ms();
    ws->next = hs->wss;
    if (hs->wss != NULL) {
        hs->wss->prev = ws;
    }
    hs->wss = ws;
    uv_timer_start(&ws->idle, on_idle, PING_AFTER_MS / 2, PING_AFTER_MS / 2);
    return ws;
}

int ws_conn_open(http_ws *ws, const auth_identity *who)
{
    if (ws->ep->on_open(ws->ep->ctx, ws, who, &ws->user) != 0) {
        http_ws_close(ws, 1011, "");
        return -1;
    }
    ws->opened = true;
    expire_at(ws, who);
    return 0;
}

void ws_conn_start(http_ws *ws, h2o_socket_t *sock, size_t reqsize)
{
    if (sock == NULL) {
        finish(ws); /* the client left before the 101 was written */
        return;
    }
    ws->sock = sock;
    sock->data = ws;
    h2o_buffer_consume(&sock->input, reqsize);
    if (!ws->paused) {
        h2o_socket_read_start(sock, on_read);
    }
    proceed(ws); /* what on_open queued, and frames that came with the upgrade */
}

void ws_conn_drop(http_ws *ws)
{
    finish(ws);
}
