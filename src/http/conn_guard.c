/* conn_guard.c -- the limits on connections (DESIGN §5, "Limits"): how many are open, in total
 * and per client address, and how long each phase of an HTTP request may take; the limits'
 * counts; the key an ingest rate counts against.
 *
 *   accept ─► HEADERS ─► (request) ─► HANDLING ─► (answered) ─► IDLE ─► HEADERS ...
 *               │ header timeout, then        (the body too)       │ idle timeout
 *               │ BODY: body deadline                              ▼
 *               ▼                                                 close
 *             408 + close (close alone if nothing was sent)
 *
 * libh2o reads a request whole before telltale sees it, so the phases are read off its input
 * buffer when the one timer per connection fires: nothing in it (quiet), a header section not
 * yet ended, or a body arriving (its deadline: --body-timeout plus a second per
 * --body-min-rate bytes received). A connection is ended by shutdown() of its socket: h2o
 * then reads EOF and closes it its own way. h2o's own request timer stays as a backstop.
 * Loop thread only. */
#include "http/http_internal.h"

#include "os/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static const char *const limit_names[HTTP_LIMIT_N] = {
    [HTTP_LIMIT_CONNECTIONS_TOTAL] = "connections_total",
    [HTTP_LIMIT_CONNECTIONS_PER_ADDRESS] = "connections_per_address",
    [HTTP_LIMIT_HEADER_TIMEOUT] = "header_timeout",
    [HTTP_LIMIT_BODY_PROGRESS] = "body_progress",
    [HTTP_LIMIT_IDLE] = "idle",
    [HTTP_LIMIT_WS_FRAME] = "ws_frame",
    [HTTP_LIMIT_WS_MESSAGE] = "ws_message",
    [HTTP_LIMIT_REALTIME_JOINS] = "realtime_joins",
};

const char *http_limit_name(http_limit k)
{
    return k < HTTP_LIMIT_N ? limit_names[k] : "";
}

void http_server_count_limit(http_server *hs, http_limit k)
{
    if (k < HTTP_LIMIT_N) {
        hs->limit_counts[k]++;
    }
}

uint64_t http_server_limit_count(const http_server *hs, http_limit k)
{
    return k < HTTP_LIMIT_N ? hs->limit_counts[k] : 0;
}

const char *http_req_rate_key(http_req *r, const auth_identity *who)
{
    if (who->sub[0] != '\0') {
        snprintf(r->rate_key, sizeof r->rate_key, "sub:%s", who->sub);
    } else if (auth_enabled(r->hs->cfg)) {
        snprintf(r->rate_key, sizeof r->rate_key, "role:%s", auth_role_name(who->role));
    } else {
        char addr[FORWARDED_ADDR_MAX];
        access_client(r->hs, r->h2o, addr);
        snprintf(r->rate_key, sizeof r->rate_key, "addr:%s", addr);
    }
    return r->rate_key;
}

/* ---- connection limits (DESIGN §5): counted at accept by peer, and again at each request by
 * the X-Forwarded-For client behind a --trust-proxy. The counts per address are a chained hash,
 * so an accept costs the same at ten connections as at TELLTALE_MAX_CONNECTIONS. ---- */

static size_t addr_bucket(const char *addr)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)addr; *p != '\0'; p++) {
        h = (h ^ *p) * 16777619u;
    }
    return h % GUARD_ADDR_BUCKETS;
}

static addr_count **addr_slot(http_server *hs, const char *addr)
{
    addr_count **p = &hs->by_addr[addr_bucket(addr)];
    while (*p != NULL && strcmp((*p)->addr, addr) != 0) {
        p = &(*p)->next;
    }
    return p;
}

static uint32_t count_at(http_server *hs, const char *addr)
{
    addr_count *c = *addr_slot(hs, addr);
    return c != NULL ? c->n : 0;
}

/* Counts 'a' under 'addr' (its address from now on); false when out of memory. */
static bool count_in(accepted *a, const char *addr)
{
    addr_count **p = addr_slot(a->hs, addr);
    if (*p == NULL && (*p = calloc(1, sizeof **p)) != NULL) {
        snprintf((*p)->addr, sizeof(*p)->addr, "%s", addr);
    }
    if (*p == NULL) {
        return false;
    }
    (*p)->n++;
    if (a->addr != addr) {
        snprintf(a->addr, sizeof a->addr, "%s", addr);
    }
    a->counted = true;
    return true;
}

static void count_out(accepted *a)
{
    addr_count **p = addr_slot(a->hs, a->addr);
    if (!a->counted || *p == NULL) {
        return;
    }
    a->counted = false;
    if (--(*p)->n == 0) {
        addr_count *gone = *p;
        *p = gone->next;
        free(gone);
    }
}

/* The server's lists of connections (hs->conns[k]): every open one (CONN_ALL), and those a
 * request may be arriving on, neither handling one nor a WebSocket (CONN_RECEIVING: the ones
 * guard_bodies_arriving looks into). */
static void list_remove(accepted *a, int k)
{
    conn_link *l = &a->links[k];
    if (!l->in) {
        return;
    }
    if (l->prev != NULL) {
        l->prev->links[k].next = l->next;
    } else {
        a->hs->conns[k] = l->next;
    }
    if (l->next != NULL) {
        l->next->links[k].prev = l->prev;
    }
    *l = (conn_link){0};
}

static void list_add(accepted *a, int k)
{
    conn_link *l = &a->links[k];
    if (l->in) {
        return;
    }
    *l = (conn_link){.next = a->hs->conns[k], .in = true};
    if (l->next != NULL) {
        l->next->links[k].prev = a;
    }
    a->hs->conns[k] = a;
}

accepted *guard_of(http_server *hs, h2o_req_t *q);

bool conn_attribute(http_server *hs, h2o_req_t *q)
{
    if (hs->cfg->trust_proxy_n == 0 || q->conn->callbacks->get_socket == NULL) {
        return true;
    }
    accepted *a = guard_of(hs, q);
    char addr[FORWARDED_ADDR_MAX];
    access_client(hs, q, addr);
    if (a == NULL || strcmp(addr, a->addr) == 0) {
        return true;
    }
    bool over = count_at(hs, addr) >= hs->cfg->max_connections_per_address;
    count_out(a);
    over = !count_in(a, addr) || over;
    if (over) {
        http_server_count_limit(hs, HTTP_LIMIT_CONNECTIONS_PER_ADDRESS);
    }
    return !over;
}

/* A whole JSON error answer, with Connection: close and the headers every answer carries,
 * written straight to a socket h2o is not writing to (never accepted by it, or ended by us);
 * best effort, plain HTTP only. */
static void write_error_raw(uv_tcp_t *t, const http_error *e)
{
    char buf[2048];
    size_t n = http_raw_error(e, buf, sizeof buf);
    if (n > 0) {
        uv_buf_t b = uv_buf_init(buf, (unsigned)n);
        (void)uv_try_write((uv_stream_t *)t, &b, 1);
    }
}

enum { PHASE_HEADERS, PHASE_BODY, PHASE_HANDLING, PHASE_IDLE, PHASE_WS };

/* How often a connection waiting for its header section looks whether it has ended (and its
 * body begun): the body's deadline counts from then, to this precision. */
#define HEADERS_POLL_MS 1000

static void enter(accepted *a, int phase, uint64_t limit_ms)
{
    if (phase == PHASE_HANDLING || phase == PHASE_WS) {
        list_remove(a, CONN_RECEIVING);
    } else {
        list_add(a, CONN_RECEIVING);
    }
    a->phase = phase;
    a->phase_ms = clock_mono_ms();
    uv_timer_stop(&a->timer);
    if (limit_ms > 0) {
        uint64_t first =
            phase == PHASE_HEADERS && limit_ms > HEADERS_POLL_MS ? HEADERS_POLL_MS : limit_ms;
        uv_timer_start(&a->timer, a->timer_cb, first, 0);
    }
}

/* Ends the connection: a 408 first when asked (plain HTTP only: TLS bytes are h2o's), then
 * shutdown(), which h2o reads as the client's EOF. */
static void end_conn(accepted *a, const char *why)
{
    if (why != NULL && a->hs->cfg->tls_cert[0] == '\0') {
        write_error_raw(&a->tcp,
                        &(http_error){.status = 408, .code = "request_timeout", .message = why});
    }
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&a->tcp, &fd) == 0) {
        shutdown(fd, SHUT_RDWR);
    }
}

static size_t input_size(const accepted *a)
{
    return a->sock != NULL && a->sock->input != NULL ? a->sock->input->size : 0;
}

/* The end of the header section in h2o's buffer, or 0. */
static size_t headers_end(const accepted *a)
{
    size_t n = input_size(a);
    const char *b = n > 0 ? a->sock->input->bytes : NULL;
    for (size_t i = 0; i + 3 < n; i++) {
        if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n') {
            return i + 4;
        }
    }
    return 0;
}

static void on_phase_timer(uv_timer_t *t);

/* A body's deadline: --body-timeout after its headers, plus a second per --body-min-rate
 * bytes received; re-armed while it keeps up. */
static void body_check(accepted *a, uint64_t now)
{
    const tt_config *cfg = a->hs->cfg;
    size_t got = input_size(a) > a->hdr_len ? input_size(a) - a->hdr_len : 0;
    uint64_t rate = cfg->body_min_rate > 0 ? got * 1000 / cfg->body_min_rate : 0;
    uint64_t deadline = a->phase_ms + cfg->body_timeout_ms + rate;
    if (deadline > now) {
        uv_timer_start(&a->timer, on_phase_timer, deadline - now, 0);
        return;
    }
    http_server_count_limit(a->hs, HTTP_LIMIT_BODY_PROGRESS);
    end_conn(a, "the request body arrived too slowly (TELLTALE_BODY_TIMEOUT, "
                "TELLTALE_BODY_MIN_RATE)");
}

/* Whether the kernel holds bytes of the connection that h2o has not read yet. The timers run
 * before the loop polls: after a stall of the loop (a busy or starved machine), a request that
 * arrived in time may still sit unread when its phase's timer fires, and would be cut off for
 * the loop's lateness, not the client's (a PostgreSQL pass lost a fresh daemon's first POST so,
 * with a 2 s header limit). */
static bool unread(const accepted *a)
{
    uv_os_fd_t fd;
    int n = 0;
    return uv_fileno((const uv_handle_t *)&a->tcp, &fd) == 0 && ioctl(fd, FIONREAD, &n) == 0 &&
           n > 0;
}

/* libh2o 2.2.5 closes a TLS socket by writing its close_notify first (shutdown_ssl), and
 * ignores what uv_write returns. After a read error (a client that reset the connection)
 * libuv has made the stream unwritable, so that write fails at once and its callback never
 * comes: the socket would never be disposed of, holding its file and its place under the
 * connection limits until the process ends ("event loop closed with handles still open"). Such
 * a close is finished here, when the connection's phase timer fires (the idle timeout after
 * its answer) and at stop: a second h2o_socket_close finds the write "pending" and disposes of
 * the socket, h2o's own way out of a close whose write is abandoned. True if it did. */
static bool finish_tls_close(accepted *a)
{
    h2o_socket_t *sock = a->sock;
    if (sock != NULL && sock->ssl != NULL && sock->_cb.write != NULL &&
        !uv_is_writable((uv_stream_t *)&a->tcp) && !uv_is_closing((uv_handle_t *)&a->tcp)) {
        h2o_socket_close(sock);
        return true;
    }
    return false;
}

static void on_phase_timer(uv_timer_t *t)
{
    accepted *a = t->data;
    http_server *hs = a->hs;
    const tt_config *cfg = hs->cfg;
    uint64_t now = clock_mono_ms();
    if (finish_tls_close(a)) {
        return;
    }
    if ((a->phase == PHASE_HEADERS || a->phase == PHASE_BODY || a->phase == PHASE_IDLE) &&
        unread(a)) {
        /* judged again once the poll has handed them to h2o (1 ms: a 0 ms timer started from
         * a timer callback runs again in the same pass of libuv 1.44's timers) */
        uv_timer_start(&a->timer, on_phase_timer, 1, 0);
        return;
    }
    switch (a->phase) {
    case PHASE_IDLE:
        if (input_size(a) > 0) { /* the next request has begun: it gets the header timeout */
            enter(a, PHASE_HEADERS, cfg->header_timeout_ms);
            return;
        }
        http_server_count_limit(hs, HTTP_LIMIT_IDLE);
        end_conn(a, NULL);
        return;
    case PHASE_HEADERS:
        if ((a->hdr_len = headers_end(a)) == 0 && now < a->phase_ms + cfg->header_timeout_ms) {
            uint64_t left = a->phase_ms + cfg->header_timeout_ms - now;
            uv_timer_start(&a->timer, on_phase_timer,
                           left < HEADERS_POLL_MS ? left : HEADERS_POLL_MS, 0);
            return;
        }
        if (a->hdr_len == 0) {
            http_server_count_limit(hs, HTTP_LIMIT_HEADER_TIMEOUT);
            end_conn(a, input_size(a) == 0 ? NULL
                                           : "the request headers did not arrive in time "
                                             "(TELLTALE_HEADER_TIMEOUT)");
            return;
        }
        enter(a, PHASE_BODY, 0); /* the headers are in: the body's deadline from now */
        body_check(a, now);
        return;
    case PHASE_BODY:
        body_check(a, now);
        return;
    default:
        return; /* handling, or a WebSocket: no timer of ours */
    }
}

accepted *guard_new(http_server *hs)
{
    accepted *a = calloc(1, sizeof *a);
    if (a != NULL) {
        a->hs = hs;
        a->dupfd = -1;
        a->timer_cb = on_phase_timer;
        uv_timer_init(hs->loop, &a->timer);
        a->timer.data = a;
    }
    return a;
}

static void free_after_timer(uv_handle_t *h)
{
    free(h->data);
}

void guard_free(accepted *a)
{
    uv_close((uv_handle_t *)&a->timer, free_after_timer);
}

bool guard_accept(http_server *hs, accepted *a)
{
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    if (uv_tcp_getpeername(&a->tcp, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family == AF_INET) {
        uv_ip4_name((struct sockaddr_in *)&ss, a->addr, sizeof a->addr);
    }
    const char *over = NULL;
    if (hs->nconns >= hs->cfg->max_connections) {
        http_server_count_limit(hs, HTTP_LIMIT_CONNECTIONS_TOTAL);
        over = "too many open connections (TELLTALE_MAX_CONNECTIONS)";
    } else if (count_at(hs, a->addr) >= hs->cfg->max_connections_per_address) {
        http_server_count_limit(hs, HTTP_LIMIT_CONNECTIONS_PER_ADDRESS);
        over = GUARD_TOO_MANY_FROM_ADDRESS;
    }
    if (over == NULL && !count_in(a, a->addr)) {
        over = "out of memory";
    }
    if (over != NULL) {
        if (hs->cfg->tls_cert[0] == '\0') {
            write_error_raw(
                &a->tcp,
                &(http_error){.status = 503, .code = "too_many_connections", .message = over});
        }
        uv_close((uv_handle_t *)&a->timer, NULL); /* the caller frees 'a' with the socket */
        return false;
    }
    hs->nconns++;
    list_add(a, CONN_ALL);
    enter(a, PHASE_HEADERS, hs->cfg->header_timeout_ms);
    return true;
}

void guard_close(accepted *a)
{
    uv_timer_stop(&a->timer);
    if (a->hs == NULL) {
        return; /* the server is gone (guard_server_gone) */
    }
    a->hs->nconns -= a->links[CONN_ALL].in;
    list_remove(a, CONN_ALL);
    list_remove(a, CONN_RECEIVING);
    count_out(a);
    for (accepted **p = &a->hs->rehooks; a->rehook_queued && *p != NULL; p = &(*p)->rehook_next) {
        if (*p == a) {
            *p = a->rehook_next;
            a->rehook_queued = false;
            break;
        }
    }
}

/* ---- a refusal before the body of a request asking for 100-continue (early.c) ---- */

static void guard_on_read(h2o_socket_t *sock, const char *err);

static void hook(accepted *a)
{
    if (a->h2o_read != NULL && a->sock->_cb.read == a->h2o_read) {
        a->sock->_cb.read = guard_on_read;
    }
}

static void guard_on_read(h2o_socket_t *sock, const char *err)
{
    accepted *a = sock->on_close.data;
    char out[4096];
    size_t len = 0;
    if (a->refused_early) {
        if (err != NULL) {
            a->h2o_read(sock, err); /* the EOF after the refusal: h2o closes */
        }
        return; /* what a refused client still sent is dropped */
    }
    if (err == NULL && a->hs != NULL && (a->phase == PHASE_HEADERS || a->phase == PHASE_IDLE) &&
        a->hs->refuse_early(a->hs, sock->input->bytes, sock->input->size, out, sizeof out, &len)) {
        a->refused_early = true;
        uv_timer_stop(&a->timer);
        uv_buf_t b = uv_buf_init(out, (unsigned)len);
        (void)uv_try_write((uv_stream_t *)&a->tcp, &b, 1);
        uv_os_fd_t fd;
        if (uv_fileno((uv_handle_t *)&a->tcp, &fd) == 0) {
            shutdown(fd, SHUT_RDWR); /* h2o reads EOF next, and closes */
        }
        return;
    }
    a->h2o_read(sock, err);
    hook(a);
}

void guard_watch_reads(accepted *a)
{
    h2o_socket_t *sock = a->sock;
    if (sock->on_close.cb == NULL && sock->on_close.data == NULL) {
        sock->on_close.data = a; /* no callback: only a way back from the socket to 'a' */
    }
    if (sock->ssl != NULL || sock->_cb.read == NULL || sock->on_close.data != a) {
        return; /* TLS (h2o's bytes on the wire), or a socket laid out otherwise: as h2o does */
    }
    a->h2o_read = sock->_cb.read;
    hook(a);
}

void guard_rehook_run(uv_prepare_t *p)
{
    http_server *hs = p->data;
    while (hs->rehooks != NULL) {
        accepted *a = hs->rehooks;
        hs->rehooks = a->rehook_next;
        a->rehook_queued = false;
        hook(a);
    }
    uv_prepare_stop(p);
}

static void rehook_later(accepted *a)
{
    http_server *hs = a->hs;
    if (a->h2o_read == NULL || a->rehook_queued || !hs->rehook_open) {
        return;
    }
    a->rehook_queued = true;
    a->rehook_next = hs->rehooks;
    hs->rehooks = a;
    uv_prepare_start(&hs->rehook, guard_rehook_run);
}

accepted *guard_of(http_server *hs, h2o_req_t *q)
{
    h2o_socket_t *sock =
        q->conn->callbacks->get_socket != NULL ? q->conn->callbacks->get_socket(q->conn) : NULL;
    accepted *a = sock != NULL ? sock->on_close.data : NULL; /* guard_watch_reads set it */
    return a != NULL && a->hs == hs && a->sock == sock ? a : NULL;
}

void guard_handling(accepted *a, bool websocket)
{
    if (a != NULL) {
        enter(a, websocket ? PHASE_WS : PHASE_HANDLING, 0);
    }
}

void guard_idle(accepted *a)
{
    if (a != NULL && a->phase == PHASE_HANDLING) {
        enter(a, PHASE_IDLE, a->hs->cfg->idle_timeout_ms);
        rehook_later(a); /* h2o resumes reading with its own callback once the answer is out */
    }
}

/* How far into h2o's buffer a header section's end is looked for: past telltale's own 16 KiB of
 * fields (431) plus a long request line, the request is refused before its body is taken. */
#define ARRIVING_SCAN_MAX (32 * 1024)

size_t guard_bodies_arriving(http_server *hs)
{
    size_t total = 0;
    for (const accepted *a = hs->conns[CONN_RECEIVING]; a != NULL;
         a = a->links[CONN_RECEIVING].next) {
        size_t n = input_size(a);
        if (n == 0 ||
            (a->phase != PHASE_HEADERS && a->phase != PHASE_BODY && a->phase != PHASE_IDLE)) {
            continue; /* nothing buffered, or its request is being handled (counted there) */
        }
        const char *b = a->sock->input->bytes;
        size_t scan = n < ARRIVING_SCAN_MAX ? n : ARRIVING_SCAN_MAX;
        const char *end = memmem(b, scan, "\r\n\r\n", 4);
        if (end != NULL) {
            total += admit_raw_announced(b, (size_t)(end - b) + 4, hs->cfg->max_body);
        }
    }
    return total;
}

void guard_finish_tls_closes(http_server *hs)
{
    for (accepted *a = hs->conns[CONN_ALL], *next; a != NULL; a = next) {
        next = a->links[CONN_ALL].next;
        finish_tls_close(a);
    }
}

void guard_server_gone(http_server *hs)
{
    for (accepted *a = hs->conns[CONN_ALL], *next; a != NULL; a = next) {
        next = a->links[CONN_ALL].next;
        uv_timer_stop(&a->timer); /* its phase timer would read the server */
        a->hs = NULL;
    }
    for (size_t i = 0; i < GUARD_ADDR_BUCKETS; i++) {
        for (addr_count *c = hs->by_addr[i], *next; c != NULL; c = next) {
            next = c->next;
            free(c);
        }
    }
}
