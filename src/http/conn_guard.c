/* conn_guard.c -- the limits on connections (DESIGN §5, "Limits"): how many are open, in total
 * and per client address, and how long each phase of an HTTP request may take.
 *
 * Every accepted connection has a record, found from its wsi (lws' opaque user data), in a
 * hash table by client address, so the connections of one address are counted by walking one
 * bucket. A connection is in one phase at a time, and one lws timer per connection
 * (lws_set_timer_usecs) ends the phase that took too long:
 *
 *   accept ─► HEADERS ─► (request) ─► BODY ─► HANDLING ─► (answered) ─► IDLE ─► HEADERS ...
 *               │ header timeout        │ body deadline                  │ idle timeout
 *               ▼                       ▼                                 ▼
 *             408 + close             408 + close                       close
 *             (close alone if no request line came: nothing was asked)
 *
 * A body's deadline is --body-timeout after its headers plus one second per --body-min-rate
 * bytes received (Apache's mod_reqtimeout "body=T,MinRate=R"): a slow body must keep up an
 * average rate. An idle connection whose next request has begun when the idle timeout ends
 * gets the header timeout for it. lws' own timeouts (keep-alive, header, content) are set
 * longer (http_server.c), as a backstop that closes without an answer.
 *
 * Limits over connections refuse at accept: the socket is closed, after a 503 on plain HTTP
 * (lws gives no wsi yet; over TLS nothing can be said before the handshake). Behind a
 * --trust-proxy the address is only known from X-Forwarded-For: such a connection is counted
 * under the proxy's address at accept and moved to its client's with each request, refused
 * then with 503 + close. Loop thread only. */
#include "http/http_internal.h"

#include "os/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#define GUARD_BUCKETS HTTP_CONN_BUCKETS /* a power of two */

typedef enum guard_phase {
    PHASE_HEADERS,  /* waiting for a request's header section */
    PHASE_BODY,     /* receiving its body */
    PHASE_HANDLING, /* the request is ours: no limit of this module applies */
    PHASE_IDLE,     /* answered; waiting for the next request */
    PHASE_WS,       /* upgraded: the WebSocket's own limits apply (ws_guard.c) */
} guard_phase;

struct http_conn {
    http_conn *prev, *next; /* in its address's bucket */
    struct lws *wsi;
    char addr[FORWARDED_ADDR_MAX]; /* the client address it is counted under */
    guard_phase phase;
    uint64_t phase_ms;                /* monotonic: when the phase began */
    uint64_t body_bytes;              /* received in PHASE_BODY */
    char rate_key[HTTP_RATE_KEY_MAX]; /* http_rate_key()'s answer */
};

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

void http_count_limit(struct lws *wsi, http_limit k)
{
    http_server *hs = lws_context_user(lws_get_context(wsi));
    if (hs != NULL) {
        http_server_count_limit(hs, k);
    }
}

static size_t bucket_of(const char *addr)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)addr; *p != '\0'; p++) {
        h = (h ^ *p) * 16777619u;
    }
    return h & (GUARD_BUCKETS - 1);
}

static uint32_t count_at(const http_server *hs, const char *addr)
{
    uint32_t n = 0;
    for (const http_conn *c = hs->conn_buckets[bucket_of(addr)]; c != NULL; c = c->next) {
        n += strcmp(c->addr, addr) == 0;
    }
    return n;
}

static void link_conn(http_server *hs, http_conn *c)
{
    http_conn **head = &hs->conn_buckets[bucket_of(c->addr)];
    c->prev = NULL;
    c->next = *head;
    if (*head != NULL) {
        (*head)->prev = c;
    }
    *head = c;
}

static void unlink_conn(http_server *hs, http_conn *c)
{
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        hs->conn_buckets[bucket_of(c->addr)] = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
}

/* A whole answer with its JSON error (http_write_error), saying the connection closes, in
 * 'buf'; its length, or 0 if it does not fit. */
static size_t format_answer(char *buf, size_t cap, int status, const char *reason, const char *code,
                            const char *message)
{
    json_writer w = {0};
    http_write_error(&w, &(http_error){.status = status, .code = code, .message = message});
    int m = w.out.oom ? -1
                      : snprintf(buf, cap,
                                 "HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n"
                                 "content-length: %zu\r\nconnection: close\r\n\r\n%s",
                                 status, reason, w.out.len, w.out.buf);
    free(w.out.buf);
    return m > 0 && (size_t)m < cap ? (size_t)m : 0;
}

/* Writes that answer; the caller then closes the connection. Best effort: a client that is not
 * reading may never see it. */
static void answer_and_close(struct lws *wsi, int status, const char *reason, const char *code,
                             const char *message)
{
    unsigned char buf[LWS_PRE + 512];
    size_t n =
        format_answer((char *)buf + LWS_PRE, sizeof buf - LWS_PRE, status, reason, code, message);
    if (n > 0) {
        (void)lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_HTTP);
    }
}

static void enter(http_conn *c, guard_phase phase, uint64_t limit_ms)
{
    c->phase = phase;
    c->phase_ms = clock_mono_ms();
    c->body_bytes = 0;
    lws_set_timer_usecs(c->wsi,
                        limit_ms > 0 ? (lws_usec_t)limit_ms * 1000 : LWS_SET_TIMER_USEC_CANCEL);
}

bool guard_accept(http_server *hs, const struct lws_filter_network_conn_args *filt)
{
    const tt_config *cfg = hs->cfg;
    char addr[FORWARDED_ADDR_MAX] = "";
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&filt->cli_addr;
    if (sin->sin_family != AF_INET ||
        inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof addr) == NULL) {
        addr[0] = '\0';
    }
    http_limit broken = HTTP_LIMIT_N;
    if (hs->nconns >= cfg->max_connections) {
        broken = HTTP_LIMIT_CONNECTIONS_TOTAL;
    } else if (count_at(hs, addr) >= cfg->max_connections_per_address &&
               !config_proxy_trusted(cfg, ntohl(sin->sin_addr.s_addr))) {
        broken = HTTP_LIMIT_CONNECTIONS_PER_ADDRESS; /* a proxy's clients are told apart later */
    }
    if (broken == HTTP_LIMIT_N) {
        return true;
    }
    http_server_count_limit(hs, broken);
    if (cfg->tls_cert[0] == '\0') {
        /* lws has no wsi for it yet: the few bytes go straight to the new socket */
        char text[512];
        size_t n =
            format_answer(text, sizeof text, 503, "Service Unavailable", "too_many_connections",
                          broken == HTTP_LIMIT_CONNECTIONS_TOTAL
                              ? "too many open connections (TELLTALE_MAX_CONNECTIONS)"
                              : GUARD_TOO_MANY_FROM_ADDRESS);
        if (n > 0 && send(filt->accept_fd, text, n, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0) {
            shutdown(filt->accept_fd, SHUT_WR);
        }
    }
    return false;
}

void guard_open(http_server *hs, struct lws *wsi)
{
    http_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return; /* not counted, not timed: lws' own timeouts still hold */
    }
    /* The listener is IPv4 only (--listen): a dotted quad fits c->addr. */
    if (lws_get_peer_simple(wsi, c->addr, sizeof c->addr) == NULL) {
        c->addr[0] = '\0';
    }
    c->wsi = wsi;
    link_conn(hs, c);
    hs->nconns++;
    lws_set_opaque_user_data(wsi, c);
    enter(c, PHASE_HEADERS, hs->cfg->header_timeout_ms);
}

void guard_close(http_server *hs, struct lws *wsi)
{
    http_conn *c = lws_get_opaque_user_data(wsi);
    if (c == NULL || c->wsi != wsi) {
        return; /* the listener, lws' own pipes, or a connection we could not record */
    }
    lws_set_opaque_user_data(wsi, NULL);
    unlink_conn(hs, c);
    hs->nconns--;
    free(c);
}

static http_conn *conn_of(struct lws *wsi)
{
    http_conn *c = lws_get_opaque_user_data(wsi);
    return c != NULL && c->wsi == wsi ? c : NULL;
}

/* Moves a connection from a --trust-proxy to the client its X-Forwarded-For names; false if
 * that client is over its connection limit (counted). */
static bool attribute(http_server *hs, http_conn *c, struct lws *wsi)
{
    char addr[FORWARDED_ADDR_MAX];
    if (hs->cfg->trust_proxy_n == 0) {
        return true;
    }
    access_client(hs, wsi, addr);
    if (strcmp(addr, c->addr) == 0) {
        return true;
    }
    unlink_conn(hs, c);
    bool over = count_at(hs, addr) >= hs->cfg->max_connections_per_address;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    link_conn(hs, c);
    if (over) {
        http_server_count_limit(hs, HTTP_LIMIT_CONNECTIONS_PER_ADDRESS);
    }
    return !over;
}

bool guard_request(http_server *hs, struct lws *wsi, bool takes_body)
{
    http_conn *c = conn_of(wsi);
    if (c == NULL) {
        return true;
    }
    if (!attribute(hs, c, wsi)) {
        answer_and_close(wsi, 503, "Service Unavailable", "too_many_connections",
                         GUARD_TOO_MANY_FROM_ADDRESS);
        return false;
    }
    enter(c, takes_body ? PHASE_BODY : PHASE_HANDLING, takes_body ? hs->cfg->body_timeout_ms : 0);
    return true;
}

bool guard_upgrade(http_server *hs, struct lws *wsi)
{
    http_conn *c = conn_of(wsi);
    return c == NULL || attribute(hs, c, wsi);
}

const char *http_rate_key(struct lws *wsi, const auth_identity *who)
{
    http_server *hs = lws_context_user(lws_get_context(wsi));
    http_conn *c = conn_of(wsi);
    if (c == NULL) {
        return "addr:"; /* a connection we could not record: one bucket for all of them */
    }
    if (who->sub[0] != '\0') {
        snprintf(c->rate_key, sizeof c->rate_key, "sub:%s", who->sub);
    } else if (hs != NULL && auth_enabled(hs->cfg)) {
        snprintf(c->rate_key, sizeof c->rate_key, "role:%s", auth_role_name(who->role));
    } else {
        snprintf(c->rate_key, sizeof c->rate_key, "addr:%s", c->addr);
    }
    return c->rate_key;
}

void guard_body(struct lws *wsi, size_t len)
{
    http_conn *c = conn_of(wsi);
    if (c != NULL && c->phase == PHASE_BODY) {
        c->body_bytes += len;
    }
}

void guard_handling(struct lws *wsi, bool websocket)
{
    http_conn *c = conn_of(wsi);
    if (c != NULL && c->phase != PHASE_HANDLING && c->phase != PHASE_WS) {
        enter(c, websocket ? PHASE_WS : PHASE_HANDLING, 0);
    } else if (c != NULL && websocket) {
        c->phase = PHASE_WS;
    }
}

void guard_idle(http_server *hs, struct lws *wsi)
{
    http_conn *c = conn_of(wsi);
    if (c != NULL) {
        enter(c, PHASE_IDLE, hs->cfg->idle_timeout_ms);
    }
}

/* Whether the next request's first line has arrived: lws keeps no header table for an idle
 * connection (it detaches it at the end of a transaction) and fills the method's URI token as
 * soon as the request line is read. */
static bool request_begun(struct lws *wsi)
{
    char *uri;
    int len;
    return lws_http_get_uri_and_method(wsi, &uri, &len) >= 0 && len > 0;
}

/* The body's deadline: body_timeout, plus a second for every body_min_rate bytes received. */
static uint64_t body_deadline(const http_server *hs, const http_conn *c)
{
    return c->phase_ms + hs->cfg->body_timeout_ms + c->body_bytes * 1000 / hs->cfg->body_min_rate;
}

int guard_timer(http_server *hs, struct lws *wsi, bool *handled)
{
    http_conn *c = conn_of(wsi);
    *handled = c != NULL && c->phase != PHASE_HANDLING && c->phase != PHASE_WS;
    if (!*handled) {
        return 0; /* a WebSocket endpoint's timer */
    }
    uint64_t now = clock_mono_ms();
    switch (c->phase) {
    case PHASE_IDLE:
        if (request_begun(wsi)) {
            enter(c, PHASE_HEADERS, hs->cfg->header_timeout_ms);
            return 0;
        }
        http_server_count_limit(hs, HTTP_LIMIT_IDLE);
        return -1; /* nothing was asked: nothing to answer */
    case PHASE_BODY:
        if (body_deadline(hs, c) > now) {
            lws_set_timer_usecs(wsi, (lws_usec_t)(body_deadline(hs, c) - now) * 1000);
            return 0; /* the body kept up: its deadline moved */
        }
        http_server_count_limit(hs, HTTP_LIMIT_BODY_PROGRESS);
        answer_and_close(wsi, 408, "Request Timeout", "request_timeout",
                         "the request body arrived too slowly (TELLTALE_BODY_TIMEOUT, "
                         "TELLTALE_BODY_MIN_RATE)");
        return -1;
    default:
        http_server_count_limit(hs, HTTP_LIMIT_HEADER_TIMEOUT);
        if (request_begun(wsi)) { /* a connection that asked nothing is closed unanswered */
            answer_and_close(
                wsi, 408, "Request Timeout", "request_timeout",
                "the request headers did not arrive in time (TELLTALE_HEADER_TIMEOUT)");
        }
        return -1;
    }
}
