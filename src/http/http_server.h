/* http_server.h -- telltale's listener: libh2o 2.2.5 on the caller's libuv loop, the routing
 * table, the embedded dashboard files, and WebSocket endpoints by path.
 *
 * It knows no resource. The areas above it register what it serves: route tables (api, rest),
 * WebSocket endpoints (live), and an error writer per route where a protocol has its own error
 * shape (PostgREST's). Every function runs on the loop thread, except http_server_wake(). */
#ifndef TT_HTTP_SERVER_H
#define TT_HTTP_SERVER_H

#include "core/config.h"
#include "http/http.h"

typedef void (*http_handler)(http_req *r, void *ctx);

/* Writes an error answer in the route's own shape (PostgREST's, for /rest/v1). */
typedef void (*http_error_writer)(http_req *r, const http_error *e);

/* One row of a routing table. A path segment "{name}" stands for any one non-empty segment,
 * which the handler finds in r->param. The first row whose path and method match serves the
 * request; a path that matches with another method gets 405 with Allow.
 *
 * 'roles' is who may use the row (AUTH_PUBLIC, AUTH_ROLES_READ, AUTH_ROLES_INGEST, ... of
 * core/auth.h; 0 = service_role only). The server checks it before the handler runs and
 * before a body is read: 401 for no or a bad credential, 403 for a role not in the set, each
 * with RFC 6750's WWW-Authenticate (access.c); the handler finds the caller in r->who. */
struct http_route {
    const char *path;
    unsigned methods; /* HTTP_GET | HTTP_HEAD ..., or HTTP_ANY_METHOD */
    http_handler fn;
    void *ctx;
    http_error_writer errors; /* NULL: telltale's shape */
    unsigned roles;           /* AUTH_ROLE bits; 0 = service_role only */
    /* The query parameters it takes, ended by {NULL}; NULL: none. The server holds the query
     * to them before the handler runs (http_args_check: 400 invalid_parameter); a route
     * whose handler reads its query by rules of its own (PostgREST's) says HTTP_QUERY_OWN. */
    const http_param *query;
};

/* One WebSocket connection, as http keeps it (ws_h2o.c, over libh2o's websocket.h and wslay).
 * Loop thread only. It stays valid until its endpoint's on_close has returned. */
typedef struct http_ws http_ws;

/* A WebSocket endpoint at one path. 'conn' is the endpoint's own per-connection state: set it
 * in on_open; every later callback gets it back. 'roles' is who may connect, checked before
 * the 101 as a route's are (the credential may also come as the URL's "apikey" parameter);
 * on_open gets the caller, whose role each message type then checks. */
typedef struct http_ws_endpoint {
    const char *path;
    void *ctx;
    unsigned roles; /* AUTH_ROLE bits; 0 = service_role only */
    /* Before the 101: 0 lets the upgrade through; an HTTP status refuses it, with 'code' and
     * 'why' (TT_ERRLEN) for the JSON error body. NULL: every upgrade is let through. The
     * URL's parameters are readable (http_ws_arg) here and later. */
    int (*check)(void *ctx, http_ws *ws, const char **code, char *why);
    /* With the 101, with the caller that was admitted: 0, or -1 to hang up. */
    int (*on_open)(void *ctx, http_ws *ws, const auth_identity *who, void **conn);
    /* A whole message (wslay reassembles fragments); http_ws_binary() tells its kind. 0, or
     * -1 to close (with the code given to http_ws_set_close, else 1011). */
    int (*on_receive)(void *conn, http_ws *ws, const void *in, size_t len);
    int (*on_writable)(void *conn);
    int (*on_timer)(void *conn);
    void (*on_close)(void *conn); /* the connection is gone: free 'conn' */
} http_ws_endpoint;

/* The limits against abuse the server keeps (DESIGN §5, "Limits"), each counted when a client
 * breaks it, for telltale_limit_rejections_total{limit}. The ingest rate is the gateway's. */
typedef enum http_limit {
    HTTP_LIMIT_CONNECTIONS_TOTAL,
    HTTP_LIMIT_CONNECTIONS_PER_ADDRESS,
    HTTP_LIMIT_HEADER_TIMEOUT,
    HTTP_LIMIT_BODY_PROGRESS,
    HTTP_LIMIT_IDLE,
    HTTP_LIMIT_WS_FRAME,
    HTTP_LIMIT_WS_MESSAGE,
    HTTP_LIMIT_REALTIME_JOINS,
    HTTP_LIMIT_N
} http_limit;

/* The metric label of 'k': "connections_total", "ws_frame", ... */
const char *http_limit_name(http_limit k);
void http_server_count_limit(http_server *hs, http_limit k);
/* The same, from a WebSocket connection of the server. */
void http_ws_count_limit(http_ws *ws, http_limit k);

/* ---- a WebSocket connection, for the endpoints (ws_h2o.c) ---- */
/* Queues one whole message (copied). Returns 0, or -1 when the connection is closing. */
int http_ws_send(http_ws *ws, const void *data, size_t len, bool binary);
/* True while enough is queued to the client that more should wait for on_writable. */
bool http_ws_choked(const http_ws *ws);
/* Where whole frames of the caller's own (RFC 6455 §5.2: FIN set, unmasked, as a server sends)
 * may be written to go out with the next write, and *room bytes of space there; NULL (room 0)
 * when none can be now: closing, a write's worth already gathered, or frames wslay has still to
 * give (http_ws_send's, pongs), which go first. A message longer than any room goes through
 * http_ws_send. Saves wslay's copy and per-message allocation on the fan-out path. */
unsigned char *http_ws_frame_room(http_ws *ws, size_t *room);
#define HTTP_WS_WRITE_MAX 65536 /* bytes of frames one write gathers: the largest room */
/* The caller wrote 'n' bytes of whole frames at http_ws_frame_room()'s pointer. */
void http_ws_frames_added(http_ws *ws, size_t n);
/* Has on_writable called once the client can take more (soon if it can now). */
void http_ws_want_writable(http_ws *ws);
/* The close code and reason the next close sends (-1 from on_receive, http_ws_close). */
void http_ws_set_close(http_ws *ws, int code, const char *reason);
/* Sends a close frame (RFC 6455 §5.5.1) after what is queued, and closes. */
void http_ws_close(http_ws *ws, int code, const char *reason);
/* Stops (paused) or resumes handing received messages to on_receive; messages that arrive
 * meanwhile are kept, in order. */
void http_ws_pause(http_ws *ws, bool paused);
/* Whether the message being handed to on_receive came as binary. */
bool http_ws_binary(const http_ws *ws);
/* The URL parameter 'name' (no '='), %-decoded; false when absent or longer than cap - 1. */
bool http_ws_arg(const http_ws *ws, const char *name, char *out, size_t cap);
/* http_req_rate_key() for a WebSocket's caller; the string is the connection's. */
const char *http_ws_rate_key(http_ws *ws, const auth_identity *who);
uint64_t http_server_limit_count(const http_server *hs, http_limit k);

/* Called on the loop thread after http_server_wake() (from a uv_async), where every call on
 * the server and its connections is safe. */
typedef void (*http_wake_fn)(void *ctx);

/* Binds cfg's listen address and starts serving on 'loop'; 'cfg' must outlive the server. On
 * success *out owns it; on failure too, when it is not NULL (tear it down with
 * http_server_stop() and http_server_free()). */
int http_server_start(uv_loop_t *loop, const tt_config *cfg, http_wake_fn on_wake, void *ctx,
                      http_server **out, char err[TT_ERRLEN]);

/* Adds a routing table ('n' rows), searched after the tables added before it. The rows must
 * outlive the server. Returns 0 or TT_ENOMEM. */
int http_server_add_routes(http_server *hs, const http_route *routes, size_t n);

/* Rereads the TLS certificate and key files (cfg's tls_cert and tls_key, e.g. renewed by an
 * ACME client) and serves new connections with them; connections already open keep theirs.
 * Returns 0; TT_EINVAL when TLS is off, a file is not PEM or the key does not match the
 * certificate, TT_EIO when a file cannot be read: then the certificate in use is kept, and
 * 'err' names the setting, says why, and ends ": kept the certificate in use". */
int http_server_reload_tls(http_server *hs, char err[TT_ERRLEN]);

/* Adds a WebSocket endpoint; it must outlive the server. Returns 0 or TT_ENOMEM. */
int http_server_add_ws(http_server *hs, const http_ws_endpoint *ep);

/* The port actually bound (cfg's may be 0). */
int http_server_port(const http_server *hs);
/* The port of the second address (cfg->otlp_listen), or 0 when there is none. */
int http_server_otlp_port(const http_server *hs);

/* A fresh id for a connection or request, unique for the server's life. */
uint64_t http_server_next_id(http_server *hs);

/* Requests refused 413 body_too_large at the edge, before any handler: the body past --max-body
 * as sent or once decoded. Loop thread. */
uint64_t http_server_bodies_too_large(const http_server *hs);

/* Requests refused at the edge, before any handler, for a body it cannot read: its framing
 * (400, 411), its media type or content coding (415), a body where the method takes none, a
 * coding that does not decode (400). Loop thread. */
uint64_t http_server_bodies_invalid(const http_server *hs);

/* Has on_wake run soon on the loop thread. Any thread, until http_server_free(): once the
 * server has begun to stop it does nothing (its uv_async is being closed), so the threads that call
 * it (the persister, the shipper) must be joined before the server is freed -- serve.c stops the
 * pipeline first. */
void http_server_wake(http_server *hs);

/* Shutdown: stop accepting WebSocket connections and destroy the context (phase 1: closes
 * connections; libuv closes are asynchronous). Then let uv_run() return, then
 * http_server_free() (phase 2). NULL is a no-op for both. */
void http_server_stop(http_server *hs);
void http_server_free(http_server *hs);

#endif
