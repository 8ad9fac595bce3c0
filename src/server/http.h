/* http.h -- one HTTP request's life inside libwebsockets: headers, body, routing, a response
 * written now or later, and the limits that keep a client from hurting the daemon.
 * Loop thread only. */
#ifndef TT_HTTP_H
#define TT_HTTP_H

#include "server/server_impl.h"

#include <cjson/cJSON.h>

#define HTTP_MAX_ARGS 32
#define HTTP_PATH_MAX 512
#define HTTP_PARAM_MAX 72
#define HTTP_EXTRA_HEADERS 8 /* response headers a handler may add */

typedef enum http_method {
    HTTP_GET = 1 << 0,
    HTTP_HEAD = 1 << 1,
    HTTP_POST = 1 << 2,
    HTTP_PUT = 1 << 3,
    HTTP_DELETE = 1 << 4,
    HTTP_OPTIONS = 1 << 5,
    HTTP_PATCH = 1 << 6,
} http_method;

typedef struct http_header {
    char name[32]; /* with its ':' */
    char value[256];
} http_header;

typedef struct http_arg {
    const char *name;
    const char *value;
} http_arg;

struct http_req {
    http_req *prev, *next; /* in server.reqs */
    uint64_t id;
    struct lws *wsi; /* NULL once the client is gone */
    server *srv;
    http_method method;
    char path[HTTP_PATH_MAX];
    char param[HTTP_PARAM_MAX]; /* the {id} of a route pattern */
    http_arg args[HTTP_MAX_ARGS];
    int nargs;
    char *args_text; /* owns the strings of args[] */
    char content_type[128];
    char accept_encoding[128];
    char if_none_match[64];
    bool has_length;
    size_t content_length;
    char *body;
    size_t body_len;
    int body_completions;
    size_t body_reserved; /* of server.body_bytes, given back with the request */
    bool discard;         /* refused at once, then read to its end and dropped */
    bool discarded;       /* ... and now read */
    /* The response. */
    bool answered;
    bool headers_sent;
    int status;
    const char *resp_type;
    char *resp_owned; /* freed with the request */
    const unsigned char *resp_body;
    size_t resp_len, resp_off;
    const char *etag, *cache_control, *content_encoding;
    char allow[64];  /* for 405: the methods the path takes */
    int retry_after; /* seconds; 0 = no header */
    bool close_after;
    http_header extra[HTTP_EXTRA_HEADERS]; /* see http_add_header() */
    int nextra;
    bool postgrest; /* /rest/v1: errors in PostgREST's shape, CORS headers on every answer */
};

/* The per-connection data lws keeps for the HTTP protocol (and, in a union with ws_live's,
 * for every protocol: see server.c). It is zeroed for every keep-alive transaction. */
typedef struct http_pss {
    http_req *req;
} http_pss;

/* lws callbacks for HTTP reasons; server.c routes them here. */
int http_on_request(server *srv, struct lws *wsi, http_pss *pss, const char *path);
int http_on_body(struct lws *wsi, http_pss *pss, const void *in, size_t len);
int http_on_body_done(struct lws *wsi, http_pss *pss);
int http_on_writable(struct lws *wsi, http_pss *pss);
void http_on_drop(http_pss *pss);

/* A live request by id, or NULL if its client has gone. */
http_req *http_find(server *srv, uint64_t id);

/* Answer helpers. The responders take ownership of what they are given. */
/* A request header lws knows by 'token'; "" when absent or longer than 'len' - 1. */
void http_header_copy(struct lws *wsi, enum lws_token_indexes token, char *dst, size_t len);

/* The answer will come later, from work on the thread pool: lws is told to wait for it (its
 * own 5 s would cut the request off) up to the response timeout. */
void http_answer_later(http_req *r);

void http_respond(http_req *r, int status, const char *type, char *body, size_t len);
void http_respond_static(http_req *r, int status, const char *type, const unsigned char *body,
                         size_t len);
void http_respond_json(http_req *r, int status, cJSON *json);
/* {"error":{"code","message"[,"index"]}}; index < 0 is written as null when 'with_index'. */
void http_respond_error(http_req *r, int status, const char *code, const char *message);
void http_respond_error_at(http_req *r, int status, const char *code, const char *message,
                           int index);

/* Adds a response header ('name' with its colon, "content-range:"); false if there is no room
 * or either is too long. Call before answering. */
bool http_add_header(http_req *r, const char *name, const char *value);

/* The value of query parameter 'name', or NULL. */
const char *http_arg_value(const http_req *r, const char *name);
/* The first parameter not in the NULL-terminated list 'known', or NULL. */
const char *http_unknown_arg(const http_req *r, const char *const *known);

#endif
