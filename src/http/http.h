/* http.h -- one HTTP request's life: headers, body, a response written now or later, and the
 * limits that keep a client from hurting the daemon. Handlers see requests through this; the
 * connections and the routing table are http_server.h's. http knows no resource: routes, error
 * shapes and WebSocket endpoints are given to it by the areas above (api, rest, live).
 * Loop thread only, except where a function says otherwise. */
#ifndef TT_HTTP_H
#define TT_HTTP_H

#include "core/auth.h"
#include "core/chunked.h"
#include "core/content_coding.h"
#include "core/err.h"
#include "core/forwarded.h"
#include "core/json_print.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define HTTP_MAX_ARGS 32
#define HTTP_PATH_MAX 512
#define HTTP_PARAM_MAX 160   /* a segment: a session id or a dashboard client id (128 bytes) */
#define HTTP_EXTRA_HEADERS 8 /* response headers a handler may add */
#define HTTP_RATE_KEY_MAX_ (JWT_SUB_MAX + 8)

typedef enum http_method {
    HTTP_GET = 1 << 0,
    HTTP_HEAD = 1 << 1,
    HTTP_POST = 1 << 2,
    HTTP_PUT = 1 << 3,
    HTTP_DELETE = 1 << 4,
    HTTP_OPTIONS = 1 << 5,
    HTTP_PATCH = 1 << 6,
} http_method;

#define HTTP_ANY_METHOD 0x7fu /* a route that takes every method (and answers 405 itself) */

typedef struct http_req http_req;
struct st_h2o_req_t; /* libh2o's request (h2o.h): only src/http looks inside */
typedef struct http_server http_server;
typedef struct http_route http_route;

typedef struct http_header {
    char name[32]; /* with its ':' */
    char value[256];
} http_header;

typedef struct http_arg {
    const char *name;
    const char *value;
} http_arg;

struct http_req {
    http_req *prev, *next; /* private: in the server's list of live requests */
    uint64_t id;
    struct st_h2o_req_t *h2o; /* libh2o's; the request is freed when h2o disposes of it */
    http_server *hs;
    const http_route *route; /* matched when the request line arrived; NULL: none */
    auth_identity who;       /* the caller, as the route's access check found it (access.c) */
    http_method method;
    char path[HTTP_PATH_MAX];
    char param[HTTP_PARAM_MAX]; /* the {id} of a route pattern */
    http_arg args[HTTP_MAX_ARGS];
    int nargs;
    char *args_text; /* owns the strings of args[] */
    char content_type[128];
    char accept_encoding[128];
    char if_none_match[64]; /* "" when absent, empty, or too long to hold */
    char if_match[64];      /* the same */
    bool if_none_match_sent; /* so a precondition too long to hold is not taken for none */
    bool if_match_sent;
    bool has_length;
    size_t content_length;
    bool chunked; /* Transfer-Encoding: chunked: 'chunk' decodes it */
    chunked_decoder chunk;
    content_coding coding; /* Content-Encoding, decoded before the handler runs */
    bool head_only;        /* a HEAD served by a GET route: no body goes out */
    char *body;            /* decoded, NUL-terminated, at most cfg->max_body bytes */
    size_t body_len;
    size_t body_cap;
    bool body_done;   /* all of it read */
    bool run_pending; /* ... and its handler runs from the next WRITEABLE */
    int body_completions;
    size_t body_reserved; /* of the server's in-flight body bytes, given back with the request */
    char why[TT_ERRLEN];  /* the message of a refusal worded here */
    bool discard;         /* refused at once, then read to its end and dropped */
    bool discarded;       /* ... and now read: the connection closes */
    /* The response. */
    bool answered;
    bool headers_sent;
    bool completed; /* the answer was handed to h2o: the transaction is over */
    int status;
    const char *resp_type;
    char *resp_owned; /* freed with the request */
    const unsigned char *resp_body;
    size_t resp_len, resp_off;
    const char *etag, *cache_control, *content_encoding;
    char allow[64];  /* for 405: the methods the path takes */
    int retry_after; /* seconds; 0 = no header */
    bool close_after;
    bool raw_answer; /* private: the answer is kept for a raw write (early.c), not sent */
    http_header extra[HTTP_EXTRA_HEADERS]; /* see http_add_header() */
    int nextra;
    char rate_key[HTTP_RATE_KEY_MAX_]; /* http_req_rate_key()'s answer */
    struct accepted *edge_conn;        /* private: its connection (conn_guard.c) */
};

/* The key an ingest rate counts against (gateway_submit_from; DESIGN §5, "Limits"): "sub:SUB"
 * for a JWT with a sub, "role:ROLE" for a key when keys are configured, else "addr:ADDRESS",
 * the client's (X-Forwarded-For's from a --trust-proxy). 'wsi' is the request's or the
 * WebSocket's connection; 'who' the caller admitted. The string is the connection's, valid
 * until the next call for it. */
#define HTTP_RATE_KEY_MAX (JWT_SUB_MAX + 8)
const char *http_req_rate_key(http_req *r, const auth_identity *who);

/* The request header 'name' (lower case, no colon); "" when absent or longer than 'len' - 1.
 * Returns whether it was sent. */
bool http_req_header(const http_req *r, const char *name, char *dst, size_t len);

/* A request referred to across threads and time: its client may leave before the answer is
 * ready. */
typedef struct http_ticket {
    http_server *hs;
    uint64_t id;
} http_ticket;

http_ticket http_ticket_of(const http_req *r);
/* The request, or NULL if its client has gone. */
http_req *http_redeem(http_ticket t);

/* Work for a request that runs on libuv's thread pool (the store blocks, a large body is
 * parsed), then is answered on the loop thread. 'work' runs on a pool thread with 'arg'; then
 * 'done' runs on the loop thread with the request, or NULL if its client has gone (the work is
 * not undone: a stored event stays stored), and must free 'arg'. 'work' may read the request's
 * body (r->body, r->body_len, as they were when deferred) even if the client leaves meanwhile:
 * it is held for the work and handed back before 'done'. Returns 0, or TT_ENOMEM when the work
 * could not be scheduled: then the request has been answered 503 and 'arg' is still the
 * caller's. */
typedef void (*http_work_fn)(void *arg);
typedef void (*http_done_fn)(http_req *r, void *arg);
int http_defer(http_req *r, http_work_fn work, http_done_fn done, void *arg);

/* Answer helpers. The responders take ownership of what they are given. */
void http_respond(http_req *r, int status, const char *type, char *body, size_t len);
void http_respond_static(http_req *r, int status, const char *type, const unsigned char *body,
                         size_t len);
/* Answers with the JSON document 'w' holds (taken: 'w' is left empty), or 503 overloaded when
 * writing it ran out of memory. */
void http_respond_written(http_req *r, int status, json_writer *w);

/* An error answer: telltale's {"error":{"code","message"[,"index"]}} (with_index: index < 0 is
 * written as null), or the shape of the request's route when it has its own (http_route). */
typedef struct http_error {
    int status;
    const char *code; /* snake_case, static */
    const char *message;
    bool with_index;
    int index;
} http_error;

void http_respond_error(http_req *r, int status, const char *code, const char *message);
void http_respond_error_at(http_req *r, int status, const char *code, const char *message,
                           int index);

/* Adds a response header ('name' with its colon, "content-range:"); false if there is no room
 * or either is too long. Call before answering. */
bool http_add_header(http_req *r, const char *name, const char *value);

/* Adds WWW-Authenticate: Bearer error="insufficient_scope", error_description="WHY" (RFC 6750
 * §3.1) to a refusal a handler makes because of the caller's role or of whose data it asks
 * for ('why' is the refusal's message; it never holds a credential). Call before answering.
 * The route's own access check adds its challenges itself (DESIGN §5, "Access"): when 'r'
 * already carries one, nothing is added, so that the answer has one challenge. */
void http_challenge_scope(http_req *r, const char *why);

/* The client's address (dotted IPv4): the peer's, or, when the peer is a --trust-proxy proxy,
 * the one its X-Forwarded-For names (core/forwarded.h). For logs and per-client limits. */
void http_client_addr(const http_req *r, char out[FORWARDED_ADDR_MAX]);

/* The value of query parameter 'name' (its first, which is its only one once
 * http_args_check() passed it), or NULL. */
const char *http_arg_value(const http_req *r, const char *name);

/* A query parameter a route takes. 'any_of': a text filter whose repeats mean "any of"
 * (?type=a&type=b); any other parameter is given at most once (DESIGN §5, "HTTP"). */
typedef struct http_param {
    const char *name;
    bool any_of;
} http_param;

/* The query of a route whose handler reads it by rules of its own (http_route.query). */
extern const http_param http_query_own[];
#define HTTP_QUERY_OWN http_query_own

/* The one rule for every route's query (the server applies it to each route's 'query' before
 * the handler runs): a parameter the route does not take ('params', ended by {NULL}; NULL for
 * a route that takes none), or one that is not any_of given twice, is refused, since guessing
 * which value counts would answer a question nobody asked; so is one given empty ("?type=",
 * "?group_by"), which is never read as "no filter". False with 'msg' naming the parameter (and
 * what the route takes); the caller answers 400 invalid_parameter. */
bool http_args_check(const http_req *r, const http_param *params, char *msg, size_t len);
/* http_args_check(), answering 400 invalid_parameter itself: false when it did. */
bool http_args_ok(http_req *r, const http_param *params);

/* True if 'if_none_match' (a request's If-None-Match, its lines joined) names 'etag' (with its
 * quotes) or is "*": a list of entity tags, compared weakly (a W/ prefix is ignored), RFC 9110
 * §13.1.2. Any thread. */
bool http_etag_matches(const char *if_none_match, const char *etag);

/* Reads a decimal integer in [min, max] with nothing around it; false otherwise. */
bool http_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
/* Integer query parameter 'name' into *out when given (*out unchanged when not); false, with
 * 'msg' giving the bounds ("parameter 'limit' must be an integer from 1 to 1000"), when it is
 * not an integer in [min, max]. */
bool http_int_arg(const http_req *r, const char *name, int64_t min, int64_t max, int64_t *out,
                  char *msg, size_t len);

#endif
