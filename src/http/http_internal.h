/* http_internal.h -- what the files of src/http/ share: the server's state and the calls
 * between request handling (http.c), the listener (http_server.c), routing (router.c) and the
 * embedded files (assets.c). Not for the areas above. Loop thread only. */
#ifndef TT_HTTP_INTERNAL_H
#define TT_HTTP_INTERNAL_H

#include "core/forwarded.h"
#include "http/http_server.h"

#define HTTP_MAX_ROUTES 64     /* rows of every routing table together */
#define HTTP_MAX_ENDPOINTS 4   /* WebSocket endpoints */
#define HTTP_CONN_BUCKETS 1024 /* conn_guard.c: buckets of connections by address (2^n) */

typedef struct http_conn http_conn; /* conn_guard.c: one accepted connection */

struct http_server {
    uv_loop_t *loop;
    const tt_config *cfg;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    int port;
    int otlp_port; /* the --otlp-listen vhost's, 0 without one */

    bool stopping;
    int in_service;    /* > 0 inside an lws callback: lws arms what an answer sets up itself */
    uint64_t next_id;  /* for requests and connections */
    http_req *reqs;    /* requests alive, so deferred answers can find theirs */
    size_t body_bytes; /* bodies being received, within cfg->inflight_body_bytes */
    const http_route *routes[HTTP_MAX_ROUTES]; /* every table's rows, in the order added */
    int nroutes;
    const http_ws_endpoint *endpoints[HTTP_MAX_ENDPOINTS];
    int nendpoints;
    http_wake_fn on_wake;
    void *wake_ctx;
    void (*fallback)(http_req *r); /* a GET or HEAD no route takes: assets_serve */
    uint64_t refusals_second;      /* access.c's log of refusals: the second it counts in, */
    unsigned refusals_logged;      /* the lines logged in it, */
    uint64_t refusals_dropped;     /* and those not */
    uint64_t bodies_too_large;     /* 413 body_too_large answered here (--max-body) */
    uint64_t bodies_invalid;       /* 400, 411, 415 for a body answered here (framing, type) */
    http_conn *conn_buckets[HTTP_CONN_BUCKETS]; /* open connections by client address */
    uint32_t nconns;
    uint64_t limit_counts[HTTP_LIMIT_N]; /* clients that broke each limit (DESIGN §5) */
};

/* The per-connection data lws keeps, one area for every protocol: an HTTP transaction's
 * request, or a WebSocket connection's endpoint and its state. lws re-zeroes it for every
 * keep-alive transaction (NOTES-lws §3), so the request lives in its own allocation. */
typedef struct http_pss {
    http_req *req;
    const http_ws_endpoint *ep;
    void *conn;
    uint64_t ws_frame_bytes, ws_message_bytes; /* received of the current frame, message */
} http_pss;

/* http.c: lws callbacks for HTTP reasons. */
int http_on_request(http_server *hs, struct lws *wsi, http_pss *pss, const char *path);
int http_on_body(struct lws *wsi, http_pss *pss, const void *in, size_t len);
int http_on_body_done(struct lws *wsi, http_pss *pss);
int http_on_writable(struct lws *wsi, http_pss *pss);
void http_on_drop(http_pss *pss);

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
/* Splits the query into r->args (lws has %-decoded it); false if there are too many
 * parameters or they are too long. */
bool headers_parse_args(struct lws *wsi, http_req *r);

/* admit.c: checks on a request's headers before its body. */
/* POST, PUT and PATCH carry a body. */
bool http_takes_body(http_method m);
/* Content-Length or Transfer-Encoding: chunked (RFC 9112 §6); false with 'e' (411, 400, 501)
 * otherwise. Sets r->has_length, r->content_length, r->chunked. */
bool admit_framing(struct lws *wsi, http_req *r, http_error *e);
/* Origin (403), media type (415 for the CORS-safelisted types or none), Content-Encoding
 * (415 with Accept-Encoding) and size (413); false with 'e'. Sets r->coding. */
bool admit_body(struct lws *wsi, http_req *r, http_error *e);
/* Writes "100 Continue" if the client asked for it (RFC 9110 §10.1.1) over HTTP/1.1. */
void admit_send_continue(struct lws *wsi);
/* Bytes of the header fields lws knows by name, together. */
size_t admit_header_bytes(struct lws *wsi);
/* True unless the request carries a browser Origin that is neither this server's own (the
 * Host it was sent to, over http or https) nor in 'allow_origins' (cfg->allow_origins). */
bool admit_origin(struct lws *wsi, const char *allow_origins);

/* router.c */
/* The first route whose path fits r->path (its {param} goes to r->param); else one with its own
 * error shape whose fixed prefix begins r->path; else NULL. What shapes the request's errors. */
const http_route *router_match(http_server *hs, http_req *r);
/* The first route whose path fits and that takes r->method, or NULL. */
const http_route *router_find(http_server *hs, http_req *r);
/* The methods the routes at 'path' take (0: no route there), named in 'allow'. */
unsigned router_methods(http_server *hs, const char *path, char *allow, size_t len);

/* access.c: the route's or endpoint's roles against the caller's credential. True if
 * admitted (r->who / *who is the caller); false with 'e' (its message in 'msg') to answer, to
 * which the caller adds WWW-Authenticate on a 401. */
/* The client's address (dotted IPv4): the peer, or, from a --trust-proxy peer, the one its
 * X-Forwarded-For names (core/forwarded.h). */
void access_client(const http_server *hs, struct lws *wsi, char out[FORWARDED_ADDR_MAX]);
bool access_check_request(http_server *hs, http_req *r, http_error *e, char *msg, size_t len);
/* A WebSocket admitted with a JWT is dropped when the token expires (exp + JWT_LEEWAY_S, as it
 * was accepted): the client reconnects and is asked for a fresh one. */
void access_expire_ws(struct lws *wsi, const auth_identity *who);
bool access_check_upgrade(http_server *hs, struct lws *wsi, const http_ws_endpoint *ep,
                          auth_identity *who, http_error *e, char *msg, size_t len);

/* conn_guard.c: connections counted and each request's phases timed (DESIGN §5, "Limits"). */
/* The refusal of a client over its connections, at accept, request or upgrade. */
#define GUARD_TOO_MANY_FROM_ADDRESS                                                                \
    "too many open connections from this address (TELLTALE_MAX_CONNECTIONS_PER_ADDRESS)"
/* LWS_CALLBACK_FILTER_NETWORK_CONNECTION: false to refuse the connection (then a 503 was sent
 * on plain HTTP, and the breach counted). */
bool guard_accept(http_server *hs, const struct lws_filter_network_conn_args *filt);
/* A connection accepted (LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED) and gone
 * (LWS_CALLBACK_WSI_DESTROY; any other wsi is ignored). */
void guard_open(http_server *hs, struct lws *wsi);
void guard_close(http_server *hs, struct lws *wsi);
/* A request's headers are in: false when its client (from X-Forwarded-For) is over its
 * connection limit, a 503 written: close. Else its body, if 'takes_body', is timed. */
bool guard_request(http_server *hs, struct lws *wsi, bool takes_body);
/* The same for a WebSocket upgrade about to be accepted: false to refuse it with 503. */
bool guard_upgrade(http_server *hs, struct lws *wsi);
void guard_body(struct lws *wsi, size_t len); /* body bytes received */
/* The request is whole (or upgraded, 'websocket'): no timer runs while it is handled. */
void guard_handling(struct lws *wsi, bool websocket);
/* The answer is written: the connection waits for its next request (the idle timeout). */
void guard_idle(http_server *hs, struct lws *wsi);
/* LWS_CALLBACK_TIMER: *handled when the timer was ours; then -1 closes the connection. */
int guard_timer(http_server *hs, struct lws *wsi, bool *handled);

/* ws_guard.c: LWS_CALLBACK_RECEIVE of 'len' bytes, before the endpoint: 0, or -1 with close
 * 1009 set when a frame or message is over its limit. */
int ws_guard_receive(http_server *hs, struct lws *wsi, http_pss *pss, size_t len);

/* assets.c: serves an embedded dashboard file, or 404: the server's 'fallback' for a GET or
 * HEAD of a path no route takes. */
void assets_serve(http_req *r);

#endif
