/* http_internal.h -- what the files of src/http/ share: the server's state and the calls
 * between request handling (http.c), the listener (http_server.c), routing (router.c) and the
 * embedded files (assets.c). Not for the areas above. Loop thread only. */
#ifndef TT_HTTP_INTERNAL_H
#define TT_HTTP_INTERNAL_H

#include "core/forwarded.h"
#include "http/http_server.h"

#define HTTP_MAX_ROUTES 64      /* rows of every routing table together */
#define HTTP_MAX_ENDPOINTS 4    /* WebSocket endpoints */
#define GUARD_ADDR_BUCKETS 1024 /* the hash of open connections per client address */

#define ACCESS_LOG_LINES 10       /* access.c logs at most this many refusal lines ... */
#define ACCESS_LOG_WINDOW_MS 1000 /* ... in any window this long */
#define ACCESS_CHALLENGE_MAX 256  /* a WWW-Authenticate value with its NUL (http_header.value) */

/* The refusal lines access.c logged last, to hold it to ACCESS_LOG_LINES in any
 * ACCESS_LOG_WINDOW_MS: a sliding window, since a window per clock second lets twice as many
 * through across a second's boundary. Zero it to start. */
typedef struct access_log_window {
    uint64_t at_ms[ACCESS_LOG_LINES]; /* when each was logged (monotonic), a ring */
    unsigned oldest;                  /* the slot of the oldest, the next to be replaced */
    unsigned used;                    /* slots holding a time */
    uint64_t dropped;                 /* refusals not logged since the last line */
} access_log_window;

/* How many connections are open from one client address (conn_guard.c). */
typedef struct addr_count {
    struct addr_count *next; /* in its bucket */
    uint32_t n;
    char addr[FORWARDED_ADDR_MAX];
} addr_count;

#define H2O_USE_LIBUV 1
#include <h2o.h>

struct http_server {
    uv_loop_t *loop;
    const tt_config *cfg;
    /* libh2o 2.2.5 (the libuv flavour) on our loop: one global configuration with one host
     * whose path "/" is our handler, one context, and the listeners we accept on. */
    h2o_globalconf_t h2o_config;
    h2o_context_t h2o_ctx;
    h2o_accept_ctx_t accept_ctx;
    bool h2o_ready; /* h2o_ctx was initialised: dispose of it */
    uv_tcp_t listener, otlp_listener;
    bool listener_open, otlp_open;
    uv_async_t wake; /* http_server_wake() from any thread */
    bool wake_open;
    uv_mutex_t wake_lock; /* guards wake_open against a late http_server_wake() */
    int port;
    int otlp_port; /* the --otlp-listen listener's, 0 without one */
    uint32_t nconns;
    struct accepted *conns[2]; /* conn_guard.c: the lists of connections, CONN_ALL, ... */
    struct addr_count *by_addr[GUARD_ADDR_BUCKETS]; /* conn_guard.c: open ones per address */
    struct http_ws *wss;                            /* ws_h2o.c: WebSockets open */
    struct lingering *lingers; /* http_server.c: closed connections still draining */
    uv_prepare_t rehook;       /* conn_guard.c: read wrappers to put back, before the poll */
    bool rehook_open;
    struct accepted *rehooks;

    bool stopping;
    uint64_t next_id;       /* for requests and connections */
    http_req *reqs;         /* requests alive, so deferred answers can find theirs */
    size_t body_bytes;      /* bodies being received, within cfg->inflight_body_bytes */
    size_t bodies_arriving; /* announced by header sections h2o holds, as last counted */
    const http_route *routes[HTTP_MAX_ROUTES]; /* every table's rows, in the order added */
    int nroutes;
    const http_ws_endpoint *endpoints[HTTP_MAX_ENDPOINTS];
    int nendpoints;
    http_wake_fn on_wake;
    void *wake_ctx;
    void (*fallback)(http_req *r);      /* a GET or HEAD no route takes: assets_serve */
    bool (*has_file)(const char *path); /* a file fallback serves there: assets_has */
    /* a request asking for 100-continue that its headers refuse: early_refusal */
    bool (*refuse_early)(http_server *hs, char *b, size_t n, char *out, size_t cap, size_t *len);
    /* access.c's log of refusals, and its timer that writes the count of those left out once
     * the window has room again (opened beside rehook, unreferenced: it never holds the loop;
     * closed at stop) */
    access_log_window refusal_log;
    uv_timer_t refusal_flush;
    bool forwarded_warned;     /* an unreadable X-Forwarded-For was logged: it is said once */
    uint64_t bodies_too_large; /* 413 body_too_large answered here (--max-body) */
    uint64_t bodies_invalid;   /* 400, 411, 415 for a body answered here (framing, type) */
    uint64_t limit_counts[HTTP_LIMIT_N]; /* clients that broke each limit (DESIGN §5) */
};

/* http_error.c: the reason phrase of a status code for the status line (RFC 9110 §15). */
const char *http_reason_phrase(int status);

/* http.c: a request h2o has read whole (headers and body): answered now or later. 'path' is
 * its path as headers_path decoded it, which returned 'path_rc'; NULL to decode it here. */
int http_on_h2o_request(http_server *hs, h2o_req_t *q, const char *path, int path_rc);

/* http.c: the refusal, if its headers already refuse it, of a request whose body has not
 * been read ('q' as early.c builds it from the raw header section): the checks admit.c makes
 * of framing, Origin, media type, coding and size, in the error shape of the route, written
 * into 'out' as a whole response that closes the connection ('*len' bytes). False if the
 * headers pass (or the answer does not fit). */
bool http_refuse_early(http_server *hs, h2o_req_t *q, char *out, size_t cap, size_t *len);

/* http.c: the error 'e' as the route of 'q' words it (its error shape: OTLP's
 * google.rpc.Status, PostgREST's), for h2o's own refusals (http_server.c's filter): its media
 * type and body in *type and *body, in q's pool. False if the path cannot be routed (the
 * caller words it as telltale's JSON error). */
bool http_error_in_shape(http_server *hs, h2o_req_t *q, const http_error *e, const char **type,
                         h2o_iovec_t *body);

/* http_error.c: the security headers every answer carries (Content-Security-Policy,
 * X-Content-Type-Options, Referrer-Policy), added to q's response where it has none of each:
 * http_server.c's filter gives them to every answer h2o sends. */
void http_security_headers(h2o_req_t *q);
/* http_error.c: an answer written without h2o, into 'out' ('cap' bytes) from out[*at]. */
/* The status line, Date, Server, Connection: close and the security headers; false if they do
 * not fit. *at is where the next header goes. */
bool http_raw_head(char *out, size_t cap, size_t *at, int status);
/* "name: value\r\n" ('name' may end with the colon http_add_header takes; a NULL value
 * writes nothing); false if it does not fit. */
bool http_raw_header(char *out, size_t cap, size_t *at, const char *name, const char *value);
/* The blank line and the body: the answer's whole length, or 0 if it does not fit. */
size_t http_raw_end(char *out, size_t cap, size_t at, const void *body, size_t len);
/* The error 'e' in telltale's JSON as a whole HTTP/1.1 answer that closes the connection, for
 * one written straight to a socket (conn_guard.c's 408 and 503, early.c's 505): its length,
 * or 0 if it does not fit in 'cap' (or memory ran out). */
size_t http_raw_error(const http_error *e, char *out, size_t cap);

/* early.c: a request seen before h2o parses it. */
/* When 'b' ('n' bytes, h2o's input buffer) starts with a request line of an HTTP major version
 * other than 1: 505 http_version_not_supported in 'out' ('*len' bytes, as http_raw_error).
 * When 'b' is one whole header section that asks for
 * 100-continue, with one Content-Length and no body byte yet, and its headers already refuse
 * the body: the refusal in 'out' ('*len' bytes, as http_refuse_early). False otherwise. On the
 * way, each whole field line of 'b' has its trailing spaces moved before its value, and in an
 * HTTP/1.0 request its Expect: 100-continue renamed, so that h2o does not answer 100 (RFC 9110
 * §10.1.1); no byte is added or removed. */
bool early_refusal(http_server *hs, char *b, size_t n, char *out, size_t cap, size_t *len);

/* http.c: telltale's error document, {"error":{"code","message"[,"index"]}}. */
void http_write_error(json_writer *w, const http_error *e);

/* body.c: the body as the handler gets it (DESIGN §5, "The HTTP edge"). */
/* Takes 'len' bytes of the body as sent (chunk framing included when r->chunked) into
 * r->body, within cfg->max_body. Returns 0 (more to come), 1 (a chunked body ended), or -1
 * with 'e' describing the refusal (413 body_too_large, 400 invalid_chunked_body). */
int body_take(http_req *r, const void *in, size_t len, http_error *e);
/* Describes a body past --max-body (413 body_too_large, with r->why as the message) and counts
 * it (http_server_bodies_too_large). */
void body_refuse_too_large(http_req *r, http_error *e);
/* Decodes r->body from r->coding in place and NUL-terminates it. Returns 0, or -1 with 'e'
 * (413 body_too_large past cfg->max_body once decoded, 400 invalid_content_encoding, 503). */
int body_decode(http_req *r, http_error *e);

/* headers.c */
/* Splits the query into r->args, %-decoded: 0, -1 if there are too many parameters or they
 * are too long, -2 for a malformed %-escape. */
int headers_parse_args(http_req *r);
/* Whether r->args[i] is the first of its name: false, with 'msg' saying so, when a parameter of
 * that name came before it. */
bool headers_arg_once(const http_req *r, int i, char *msg, size_t len);
/* The header 'name' (lower case, no colon) of an h2o request, as http_req_header(): a list's
 * lines (RFC 9110 §5.3) joined with ", " in order, the one line of any other field. */
bool headers_get(const h2o_req_t *q, const char *name, char *dst, size_t len);
/* The first header field telltale reads that is no list yet was sent on more than one line
 * (Host counted in the raw header section), or NULL. */
const char *headers_repeated(const h2o_req_t *q);
/* The value of a raw header line "name: value" ('len' bytes, no LF) when its name is 'name'
 * (lower case), trimmed, in 'v' ('n' bytes); false otherwise. */
bool headers_raw_field(const char *line, size_t len, const char *name, const char **v, size_t *n);
/* The Host field as sent, trimmed, in *v; false if none was sent (h2o then names its own host
 * in q->input.authority: that is not taken for one). */
bool headers_host_field(const h2o_req_t *q, h2o_iovec_t *v);
/* The authority of a request target in absolute form ("http://host:port/p", RFC 9112 §3.2.2)
 * in *v; false for any other form. */
bool headers_target_authority(const h2o_req_t *q, h2o_iovec_t *v);
/* Whether the header 'name' was sent at all. */
bool headers_has(const h2o_req_t *q, const char *name);
/* Whether some line of the header 'token' has 'value' among its comma-separated tokens,
 * compared without case (RFC 9110 §5.6.1; a list sent on several lines is one, §5.3). */
bool headers_has_token(const h2o_req_t *q, const h2o_token_t *token, const char *value);
/* Adds the response header 'name' (lower case; a colon after it is left out) with 'value' to
 * q->res.headers; nothing when 'value' is NULL. */
void headers_add_response(h2o_req_t *q, const char *name, const char *value);
/* %-decodes and normalises the path of 'q' (no query) into 'out': 0, -1 if it does not fit,
 * -2 for a malformed %-escape; on an error 'out' holds the part decoded before it (a refusal's
 * route, and so its error shape, is chosen by that prefix: /rest/v1/... answers PostgREST's). */
int headers_path(const h2o_req_t *q, char *out, size_t len);

/* admit.c: checks on a request's headers before its body. */
/* POST, PUT and PATCH carry a body. */
bool http_takes_body(http_method m);
/* Content-Length or Transfer-Encoding: chunked (RFC 9112 §6); false with 'e' (411, 400, 501)
 * otherwise. Sets r->has_length, r->content_length, r->chunked. */
bool admit_framing(http_req *r, http_error *e);
/* A header field that is no list sent on more than one line (headers_repeated): false with
 * 'e' (400 repeated_header naming it, its message in 'msg'). */
bool admit_repeats(const h2o_req_t *q, http_error *e, char *msg, size_t len);
/* The query split into r->args (headers_parse_args); false with 'e' (400
 * invalid_percent_encoding, 414 query_too_long). */
bool admit_args(http_req *r, http_error *e);
/* Content-Length and Transfer-Encoding together (400 conflicting_framing), or a Content-Length
 * that is not one field line of 1*DIGIT (400 invalid_content_length: "+12", "12, 12", two lines
 * even if equal), read from the raw header section (h2o hides both fields): false with 'e',
 * and the connection closes. */
bool admit_raw_framing(http_req *r, http_error *e);
/* admit_raw_framing's checks on h2o's request alone (no connection state changed): for h2o's
 * own refusals of a body, which a conflicting framing explains better. */
bool admit_raw_framing_of(const h2o_req_t *q, http_error *e);
/* The body a raw header section ('n' bytes, its end included) announces: its Content-Length,
 * or --max-body for a chunked one (what it may grow to), at most 'max_body'. */
size_t admit_raw_announced(const char *p, size_t n, uint64_t max_body);
/* RFC 9112 §3.2: an HTTP/1.1 request without Host (400 missing_host), or any with a Host, or
 * an absolute-form target's authority, that is not uri-host [":" port] (RFC 3986 §3.2.2; an
 * empty Host is valid): false with 'e' (400 invalid_host). HTTP/1.0 may leave Host out. */
bool admit_host(const h2o_req_t *q, http_error *e);
#define ADMIT_ONE_LENGTH                                                                           \
    "send one Content-Length field line of digits only (RFC 9112 §6.3): a sign, a list such as "  \
    "'12, 12' or a second Content-Length line, equal or not, is refused"
/* Origin (403), media type (415 for the CORS-safelisted types or none), Content-Encoding
 * (415 with Accept-Encoding) and size (413); false with 'e'. Sets r->coding. */
bool admit_body(http_req *r, http_error *e);
/* Bytes of the header fields, names and values, together. */
size_t admit_header_bytes(const h2o_req_t *q);
#define HEADER_BYTES_MAX 16384 /* admit_header_bytes' limit; beyond, 431 (RFC 6585 §5) */
/* The header section within HEADER_BYTES_MAX; false with 'e' (431 header_fields_too_large).
 * Every request, WebSocket upgrades and requests under Expect: 100-continue included. */
bool admit_header_size(const h2o_req_t *q, http_error *e);
/* True unless the request carries a browser Origin that is neither this server's own (the
 * Host it was sent to, over http or https) nor in 'allow_origins' (cfg->allow_origins). */
bool admit_origin(const h2o_req_t *q, const char *allow_origins);

/* router.c */
/* The first route whose path fits r->path (its {param} goes to r->param); else one with its own
 * error shape whose fixed prefix begins r->path; else NULL. What shapes the request's errors. */
const http_route *router_match(http_server *hs, http_req *r);
/* The first route whose path fits and that takes r->method, or NULL. */
const http_route *router_find(http_server *hs, http_req *r);
/* The methods the routes at 'path' take (0: no route there), named in 'allow'. */
unsigned router_methods(http_server *hs, const char *path, char *allow, size_t len);

/* access.c: the route's or endpoint's roles against the caller's credential. True if
 * admitted (r->who / *who is the caller); false with 'e' (its message in 'msg') to answer,
 * and the WWW-Authenticate that goes with it (access_challenge): access_check_request adds
 * it to 'r' itself, access_check_upgrade writes it into 'challenge'. */
/* The client's address (dotted IPv4): the peer, or, from a --trust-proxy peer, the one its
 * X-Forwarded-For names (core/forwarded.h). */
void access_client(http_server *hs, h2o_req_t *q, char out[FORWARDED_ADDR_MAX]);
bool access_check_request(http_server *hs, http_req *r, http_error *e, char *msg, size_t len);
/* A WebSocket admitted with a JWT is dropped when the token expires (exp + JWT_LEEWAY_S, as it
 * was accepted): the client reconnects and is asked for a fresh one. */
bool access_check_upgrade(http_server *hs, h2o_req_t *q, const http_ws_endpoint *ep,
                          auth_identity *who, http_error *e, char *msg, size_t len,
                          char challenge[ACCESS_CHALLENGE_MAX]);
/* The WWW-Authenticate value of a refusal (RFC 6750 §3): "Bearer" alone when 'error' is NULL,
 * else Bearer error="ERROR", error_description="WHY", with what a quoted description may not
 * hold (RFC 6750 §3: '"', '\', bytes outside printable ASCII) left out of 'why' and the
 * value cut to fit. */
void access_challenge(const char *error, const char *why, char out[ACCESS_CHALLENGE_MAX]);
/* Whether a refusal line may be logged at 'now_ms' (monotonic): true, and counted, while
 * fewer than ACCESS_LOG_LINES were in the ACCESS_LOG_WINDOW_MS before it. Pure. */
bool access_log_take(access_log_window *w, uint64_t now_ms);

/* At http_server_stop: writes the count of refusals left out, if any (the timer that would
 * have is closed there). Loop thread only. */
void access_log_stop(http_server *hs);

/* conn_guard.c: the connection limits, the phase timers, the limits' names and counts. */
#define GUARD_TOO_MANY_FROM_ADDRESS                                                                \
    "too many open connections from this address (TELLTALE_MAX_CONNECTIONS_PER_ADDRESS)"

enum { CONN_ALL, CONN_RECEIVING };
typedef struct conn_link {
    struct accepted *prev, *next;
    bool in;
} conn_link;

/* An accepted connection (http_server.c accepts, conn_guard.c counts and times it). 'hs' is
 * NULL once the server is freed before the connection's close has run (guard_server_gone). */
typedef struct accepted {
    uv_tcp_t tcp; /* h2o's */
    http_server *hs;
    int dupfd;
    conn_link links[2]; /* in hs->conns[CONN_ALL] and [CONN_RECEIVING] */
    bool counted;       /* counted under 'addr' in hs->by_addr */
    h2o_socket_t *sock;
    char addr[FORWARDED_ADDR_MAX]; /* the client address it is counted under */
    uv_timer_t timer;              /* the phase's limit (conn_guard.c) */
    void (*timer_cb)(uv_timer_t *);
    int phase;
    uint64_t phase_ms;
    size_t hdr_len;               /* of the request whose body is arriving */
    h2o_socket_cb h2o_read;       /* h2o's read callback, which guard_on_read wraps */
    bool refused_early;           /* answered before its body (early.c): only EOF is read */
    struct accepted *rehook_next; /* in hs->rehooks */
    bool rehook_queued;
} accepted;
/* conn_guard.c */
accepted *guard_new(http_server *hs);            /* NULL when out of memory */
void guard_free(accepted *a);                    /* after its socket is closed */
bool guard_accept(http_server *hs, accepted *a); /* false: refused (503 said), close it */
void guard_close(accepted *a);                   /* its socket is closed */
/* Shutdown: disposes of the TLS sockets whose close libh2o left waiting on a write that
 * will never complete (a reset client's). */
void guard_finish_tls_closes(http_server *hs);
void guard_server_gone(http_server *hs);           /* http_server_free: connections outlive it */
accepted *guard_of(http_server *hs, h2o_req_t *q); /* the request's connection, or NULL */
void guard_handling(accepted *a, bool websocket);  /* a request whole: no timer while handled */
void guard_idle(accepted *a);                      /* answered: the idle timeout */
/* Shows each read of a plain-HTTP connection waiting for a request to early.c before h2o
 * parses it (a refusal before the body of a request asking for 100-continue). h2o sets its
 * read callback again whenever it resumes reading, so the wrapper is put back after each
 * read and, once a request is answered, before the loop polls again (hs->rehook). */
void guard_watch_reads(accepted *a);
void guard_rehook_run(uv_prepare_t *p); /* hs->rehook's callback */
/* The bodies being uploaded that no handler has yet: h2o reads a body whole into its socket
 * buffer before the request reaches http.c, so each connection not being handled whose buffer
 * holds a whole header section counts the body it announces (admit_raw_announced). Part of
 * TELLTALE_MAX_INFLIGHT_BODIES from the moment its headers are in. */
size_t guard_bodies_arriving(http_server *hs);

/* conn_guard.c: a request's connection moved to the client its X-Forwarded-For names (behind
 * a --trust-proxy); false when that client is over TELLTALE_MAX_CONNECTIONS_PER_ADDRESS
 * (counted): answer 503 too_many_connections and close. */
bool conn_attribute(http_server *hs, h2o_req_t *q);

/* ws_guard.c: the WebSocket size limits, followed over the bytes a client sends. */
typedef struct ws_frame_guard {
    unsigned char hdr[14]; /* a frame header being read */
    size_t hdr_have;
    uint64_t frame_left; /* payload bytes of the current frame still to come */
    uint64_t msg_bytes;  /* of the current message so far */
} ws_frame_guard;
/* Feeds 'n' bytes; returns -1, or the limit broken (HTTP_LIMIT_WS_FRAME, _MESSAGE). */
int ws_guard_feed(ws_frame_guard *g, const unsigned char *b, size_t n, uint64_t max_frame,
                  uint64_t max_message);

/* ws_upgrade.c: an Upgrade request: refused with a JSON error, or upgraded to a WebSocket of
 * the endpoint at its path. Returns 0 (h2o's handler result). */
int ws_upgrade(http_server *hs, h2o_req_t *q, const char *path);
/* Whether 'path' (decoded, as headers_path gives it) is a WebSocket endpoint's. */
bool ws_endpoint_path(const http_server *hs, const char *path);
/* The answer at a WebSocket endpoint to a request that is no upgrade (a plain GET, or an
 * Upgrade whose Connection does not name "upgrade", which libh2o does not take for one): 426
 * upgrade_required with "Upgrade: websocket" (RFC 9110 §15.5.22, RFC 6455 §4.1). */
int ws_upgrade_required(h2o_req_t *q);

/* ws_h2o.c: a WebSocket connection. */
/* A new one for endpoint 'ep' (its URL parameters and client address read from 'q'), not yet
 * upgraded; NULL when out of memory. End it with ws_conn_drop() if the upgrade is refused. */
http_ws *ws_conn_new(http_server *hs, const http_ws_endpoint *ep, const h2o_req_t *q);
/* The endpoint's on_open with the caller admitted; -1 (and a close) if it refused. */
int ws_conn_open(http_ws *ws, const auth_identity *who);
/* The 101 is written: the socket is the connection's ('sock' NULL: the client left). */
void ws_conn_start(http_ws *ws, h2o_socket_t *sock, size_t reqsize);
void ws_conn_drop(http_ws *ws);
/* Shutdown: ends every WebSocket still open (the owners said 1001 first; a client that does
 * not answer its close is not waited for). */
void ws_stop_all(http_server *hs);

/* tls.c: a server SSL_CTX for cfg's certificate and key files (HTTP/1.1 only); 0, or TT_EIO
 * (a file cannot be read) / TT_EINVAL (not PEM, or the key does not match the certificate)
 * with 'err' naming the setting and its file and saying which. */
int tls_load(const tt_config *cfg, SSL_CTX **out, char err[TT_ERRLEN]);

/* assets.c: serves an embedded dashboard file, or 404: the server's 'fallback' for a GET or
 * HEAD of a path no route takes. */
void assets_serve(http_req *r);
/* assets.c: true if a dashboard file is served at the URL path 'path' ("/app.js"): it takes
 * GET, HEAD and OPTIONS, and any other method is 405 there. */
bool assets_has(const char *path);

#endif
