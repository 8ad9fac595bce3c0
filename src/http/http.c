/* http.c -- one request's life on libh2o 2.2.5: what its headers say, its body, the handler,
 * and the response, written now or later.
 *
 * h2o reads a request whole before it calls us: the header section, then the body through
 * Content-Length or the chunked coding (decoded, within --max-body: h2o_globalconf_t's
 * max_request_entity_size), having sent "100 Continue" itself when asked. So every refusal
 * here comes after the body, and the connection is kept (h2o parses what follows it,
 * pipelined or not). The http_req lives in its own allocation, tied to h2o's request by a
 * shared object in its pool: when h2o disposes of the request (answered, or the client gone),
 * the http_req goes too, and a deferred answer finds nothing (http_redeem). The edge's rules:
 * docs/DESIGN.md §5, "The HTTP edge"; what differs from the first edge (libwebsockets):
 * docs/h2o-spike.md. */
#include "http/http.h"

#include "core/json_print.h"
#include "http/http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void link_req(http_server *hs, http_req *r)
{
    r->next = hs->reqs;
    if (hs->reqs != NULL) {
        hs->reqs->prev = r;
    }
    hs->reqs = r;
}

static void unlink_req(http_req *r)
{
    if (r->prev != NULL) {
        r->prev->next = r->next;
    } else {
        r->hs->reqs = r->next;
    }
    if (r->next != NULL) {
        r->next->prev = r->prev;
    }
}

uint64_t http_server_bodies_too_large(const http_server *hs)
{
    return hs->bodies_too_large;
}

uint64_t http_server_bodies_invalid(const http_server *hs)
{
    return hs->bodies_invalid;
}

/* Answers a refusal of the request's body at the edge, counting one it cannot read (413s are
 * counted where they are found, body.c; a 403 or 503 is no fault of the body). */
static void respond_body_error(http_req *r, const http_error *e)
{
    if (e->status == 400 || e->status == 411 || e->status == 415) {
        r->hs->bodies_invalid++;
    }
    http_respond_error(r, e->status, e->code, e->message);
}

uint64_t http_server_next_id(http_server *hs)
{
    return ++hs->next_id;
}

http_ticket http_ticket_of(const http_req *r)
{
    return (http_ticket){r->hs, r->id};
}

http_req *http_redeem(http_ticket t)
{
    for (http_req *r = t.hs->reqs; r != NULL; r = r->next) {
        if (r->id == t.id) {
            return r;
        }
    }
    return NULL;
}

static void free_req(http_req *r)
{
    r->hs->body_bytes -= r->body_reserved;
    unlink_req(r);
    free(r->args_text);
    free(r->body);
    free(r->resp_owned);
    free(r);
}

/* h2o is done with the request (its pool is cleared): so are we. */
static void on_pool_dispose(void *p)
{
    http_req **slot = p;
    if (*slot != NULL) {
        guard_idle((*slot)->edge_conn); /* answered (or gone): the connection waits */
        free_req(*slot);
        *slot = NULL;
    }
}

static http_method method_of(h2o_iovec_t m)
{
    static const struct {
        const char *name;
        http_method m;
    } known[] = {{"GET", HTTP_GET},    {"HEAD", HTTP_HEAD},     {"POST", HTTP_POST},
                 {"PUT", HTTP_PUT},    {"DELETE", HTTP_DELETE}, {"OPTIONS", HTTP_OPTIONS},
                 {"PATCH", HTTP_PATCH}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (h2o_memis(m.base, m.len, known[i].name, strlen(known[i].name))) {
            return known[i].m;
        }
    }
    return 0;
}

/* Reads what the request line and headers say; false if the request cannot be served and
 * has been answered already. */
static bool read_headers(http_req *r)
{
    h2o_req_t *q = r->h2o;
    r->method = method_of(q->method);
    headers_get(q, "content-type", r->content_type, sizeof r->content_type);
    headers_get(q, "accept-encoding", r->accept_encoding, sizeof r->accept_encoding);
    r->if_none_match_sent =
        headers_get(q, "if-none-match", r->if_none_match, sizeof r->if_none_match);
    r->if_match_sent = headers_get(q, "if-match", r->if_match, sizeof r->if_match);
    http_error e;
    char msg[160];
    if (!admit_header_size(q, &e)) {
        r->close_after = true;
        http_respond_error(r, e.status, e.code, e.message);
        return false;
    }
    if (!admit_repeats(q, &e, msg, sizeof msg)) {
        http_respond_error(r, e.status, e.code, e.message);
        return false;
    }
    if (r->method == 0) {
        snprintf(r->allow, sizeof r->allow, "GET, HEAD, POST, PUT, DELETE");
        http_respond_error(r, 405, "method_not_allowed", "this HTTP method is not supported");
        return false;
    }
    if (!admit_args(r, &e)) {
        http_respond_error(r, e.status, e.code, e.message);
        return false;
    }
    if (!admit_raw_framing(r, &e) || !admit_framing(r, &e) || !admit_body(r, &e)) {
        respond_body_error(r, &e);
        return false;
    }
    return true;
}

/* Takes the body h2o has read into memory of our own, within TELLTALE_MAX_INFLIGHT_BODIES
 * (503 when the bodies being handled already take it all), and decodes its content coding;
 * false once refused. */
static bool take_body(http_req *r)
{
    http_server *hs = r->hs;
    h2o_req_t *q = r->h2o;
    size_t want = q->entity.len;
    http_error e = {.status = 503, .code = "overloaded", .message = "out of memory"};
    hs->bodies_arriving = guard_bodies_arriving(hs); /* body_decode() counts them too */
    if (hs->body_bytes + hs->bodies_arriving + want > hs->cfg->inflight_body_bytes) {
        e.message = "too many request bodies are being received at once "
                    "(TELLTALE_MAX_INFLIGHT_BODIES); retry shortly";
    } else if ((r->body = malloc(want + 1)) != NULL) {
        r->body_cap = want + 1;
        hs->body_bytes += want;
        r->body_reserved = want;
        if (body_take(r, q->entity.base != NULL ? q->entity.base : "", want, &e) == 0 &&
            body_decode(r, &e) == 0) {
            r->body_done = true;
            return true;
        }
        respond_body_error(r, &e);
        return false;
    }
    r->retry_after = 1;
    http_respond_error(r, e.status, e.code, e.message);
    return false;
}

/* OPTIONS on a path whose routes do not take it: 200 with what they take and Content-Length: 0
 * (RFC 9110 §9.3.7). */
static void answer_options(http_req *r)
{
    http_respond_static(r, 200, NULL, (const unsigned char *)"", 0);
}

/* The route's access check (access.c); false once refused. */
static bool admit(http_server *hs, http_req *r)
{
    http_error e;
    char msg[TT_ERRLEN];
    if (access_check_request(hs, r, &e, msg, sizeof msg)) {
        return true;
    }
    http_respond_error(r, e.status, e.code, e.message);
    return false;
}

/* A path no route takes that still names something: a WebSocket endpoint (GET is its
 * upgrade, and a GET or HEAD that is none is 426 in http_server.c) or a dashboard file. Each
 * answers OPTIONS with 200 and any other method with 405, Allow: GET, HEAD, OPTIONS (RFC 9110
 * §9.3.7, §15.5.6). */
static bool is_resource(http_server *hs, const http_req *r)
{
    return ws_endpoint_path(hs, r->path) || (hs->has_file != NULL && hs->has_file(r->path));
}

/* Runs the handler for r->method and r->path, or answers 404/405 (an unknown path read with
 * GET or HEAD may be a dashboard file). HEAD is served by a GET route without the body. */
static void dispatch(http_server *hs, http_req *r)
{
    const http_route *rt = router_find(hs, r);
    if (rt == NULL && r->method == HTTP_HEAD) {
        r->method = HTTP_GET;
        r->head_only = (rt = router_find(hs, r)) != NULL;
        r->method = r->head_only ? HTTP_GET : HTTP_HEAD;
    }
    if (rt != NULL) {
        if (rt->query == HTTP_QUERY_OWN || http_args_ok(r, rt->query)) {
            rt->fn(r, rt->ctx);
        }
        return;
    }
    unsigned methods = router_methods(hs, r->path, r->allow, sizeof r->allow);
    if (methods == 0 && !(r->method & (HTTP_GET | HTTP_HEAD)) && is_resource(hs, r)) {
        methods = HTTP_GET | HTTP_HEAD | HTTP_OPTIONS;
        snprintf(r->allow, sizeof r->allow, "GET, HEAD, OPTIONS");
    }
    if (methods != 0 && !(methods & HTTP_OPTIONS)) { /* every path answers OPTIONS (below) */
        strncat(r->allow, ", OPTIONS", sizeof r->allow - strlen(r->allow) - 1);
    }
    if (methods == 0 && (r->method & (HTTP_GET | HTTP_HEAD))) {
        hs->fallback(r);
    } else if (methods == 0) {
        http_respond_error(r, 404, "not_found", "no such route");
    } else if (r->method == HTTP_OPTIONS) {
        answer_options(r);
    } else {
        http_respond_error(r, 405, "method_not_allowed", "this route does not take that method");
    }
}

/* RFC 9112 §9.3: an HTTP/1.1 connection persists unless a Connection field says "close".
 * libh2o 2.2.5 keeps an HTTP/1.1 one alive only when no Connection field came or it says
 * "keep-alive" (lib/http1.c, fixup_request): "Connection: Upgrade, HTTP2-Settings", which curl
 * --http2 sends, or "Connection: TE" would close it after the answer. So it is set right here,
 * but not while the server shuts down (h2o's own rule). */
static void keep_alive_by_version(const http_server *hs, h2o_req_t *q)
{
    if (q->version >= 0x101 && !hs->h2o_ctx.shutdown_requested &&
        !headers_has_token(q, H2O_TOKEN_CONNECTION, "close")) {
        q->http1_is_persistent = 1;
    }
}

int http_on_h2o_request(http_server *hs, h2o_req_t *q, const char *path, int path_rc)
{
    http_req *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return -1; /* h2o answers 404 for a handler that declines; nothing better is at hand */
    }
    http_req **slot = h2o_mem_alloc_shared(&q->pool, sizeof *slot, on_pool_dispose);
    *slot = r;
    r->id = http_server_next_id(hs);
    r->h2o = q;
    r->hs = hs;
    link_req(hs, r);
    guard_handling(r->edge_conn = guard_of(hs, q), false);
    keep_alive_by_version(hs, q);
    if (path == NULL) {
        path_rc = headers_path(q, r->path, sizeof r->path);
    } else {
        snprintf(r->path, sizeof r->path, "%s", path); /* on_req's (a refused one's prefix) */
    }
    r->route = router_match(hs, r); /* its error shape holds from the first refusal on */
    http_error e;
    if (!conn_attribute(hs, q)) {
        r->close_after = true;
        http_respond_error(r, 503, "too_many_connections", GUARD_TOO_MANY_FROM_ADDRESS);
    } else if (!admit_host(q, &e)) {
        http_respond_error(r, e.status, e.code, e.message);
    } else if (path_rc == -2) {
        http_respond_error(r, 400, "invalid_percent_encoding",
                           "the path has a '%' not followed by two hex digits");
    } else if (path_rc != 0) {
        http_respond_error(r, 414, "uri_too_long", "the path is too long");
    } else if (read_headers(r) && admit(hs, r) && (!http_takes_body(r->method) || take_body(r))) {
        dispatch(hs, r);
    }
    return 0;
}

/* The answer kept in 'r' (r->raw_answer) as a whole HTTP/1.1 response that closes the
 * connection, with the headers h2o would add (Date, Server) and ours; its length, or 0 if it
 * does not fit in 'cap'. */
static size_t raw_answer(const http_req *r, char *out, size_t cap)
{
    char length[32], retry[16];
    snprintf(length, sizeof length, "%zu", r->resp_len);
    snprintf(retry, sizeof retry, "%d", r->retry_after);
    size_t at = 0;
    bool ok = http_raw_head(out, cap, &at, r->status) &&
              http_raw_header(out, cap, &at, "content-length", length) &&
              http_raw_header(out, cap, &at, "content-type", r->resp_type) &&
              http_raw_header(out, cap, &at, "allow", r->allow[0] ? r->allow : NULL) &&
              http_raw_header(out, cap, &at, "retry-after", r->retry_after > 0 ? retry : NULL);
    for (int i = 0; ok && i < r->nextra; i++) {
        ok = http_raw_header(out, cap, &at, r->extra[i].name, r->extra[i].value);
    }
    return ok ? http_raw_end(out, cap, at, r->resp_body, r->resp_len) : 0;
}

/* A request no handler sees, answered into its own buffers (r->raw_answer); NULL: no memory. */
static http_req *raw_req(http_server *hs, h2o_req_t *q)
{
    http_req *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return NULL;
    }
    r->h2o = q;
    r->hs = hs;
    r->raw_answer = true;
    r->method = method_of(q->method);
    if (q->path.base != NULL && headers_path(q, r->path, sizeof r->path) == 0) {
        r->route = router_match(hs, r); /* the route's error shape */
        headers_get(q, "content-type", r->content_type, sizeof r->content_type);
    } else {
        r->path[0] = '\0'; /* no route: the error in telltale's shape */
    }
    return r;
}

bool http_refuse_early(http_server *hs, h2o_req_t *q, char *out, size_t cap, size_t *len)
{
    http_req *r = raw_req(hs, q);
    if (r == NULL) {
        return false;
    }
    bool refused = false;
    http_error e;
    char msg[160];
    if (r->path[0] != '\0' && http_takes_body(r->method) &&
        (!admit_header_size(q, &e) || !admit_host(q, &e) ||
         !admit_repeats(q, &e, msg, sizeof msg) || !admit_framing(r, &e) || !admit_body(r, &e))) {
        respond_body_error(r, &e);
        refused = r->answered && (*len = raw_answer(r, out, cap)) > 0;
    }
    free(r->resp_owned);
    free(r);
    return refused;
}

/* Writes the answer through h2o, which copies the body into the request's pool. */
static void send_answer(http_req *r)
{
    h2o_req_t *q = r->h2o;
    char retry[16];
    snprintf(retry, sizeof retry, "%d", r->retry_after);
    q->res.status = r->status;
    q->res.reason = http_reason_phrase(r->status);
    bool bodyless = r->status == 304 || r->status == 204 || r->status < 200;
    q->res.content_length = bodyless ? SIZE_MAX : r->resp_len;
    headers_add_response(q, "content-type", bodyless && r->resp_len == 0 ? NULL : r->resp_type);
    headers_add_response(q, "etag", r->etag);
    headers_add_response(q, "cache-control", r->cache_control);
    headers_add_response(q, "content-encoding", r->content_encoding);
    headers_add_response(q, "vary", r->content_encoding ? "accept-encoding" : NULL);
    headers_add_response(q, "allow", r->allow[0] ? r->allow : NULL);
    headers_add_response(q, "retry-after", r->retry_after > 0 ? retry : NULL);
    for (int i = 0; i < r->nextra; i++) {
        headers_add_response(q, r->extra[i].name, r->extra[i].value);
    }
    /* the security headers: http_server.c's filter */
    if (r->close_after) {
        q->http1_is_persistent = 0; /* h2o then says Connection: close itself */
    }
    size_t len = r->head_only || bodyless ? 0 : r->resp_len;
    h2o_send_inline(q, len > 0 ? (const char *)r->resp_body : "", len);
}

static void set_answer(http_req *r, int status, const char *type, const unsigned char *body,
                       size_t len)
{
    if (r->answered) {
        return;
    }
    r->answered = true;
    r->status = status;
    r->resp_type = type;
    r->resp_body = body;
    r->resp_len = len;
    if (r->h2o != NULL && !r->raw_answer) {
        send_answer(r);
    }
}

void http_respond(http_req *r, int status, const char *type, char *body, size_t len)
{
    if (r->answered) {
        free(body);
        return;
    }
    r->resp_owned = body;
    set_answer(r, status, type, (const unsigned char *)body, len);
}

void http_respond_static(http_req *r, int status, const char *type, const unsigned char *body,
                         size_t len)
{
    set_answer(r, status, type, body, len);
}

void http_respond_written(http_req *r, int status, json_writer *w)
{
    if (w->out.oom || w->out.buf == NULL) {
        static const char oom[] =
            "{\"error\":{\"code\":\"overloaded\",\"message\":\"out of memory\"}}";
        free(w->out.buf);
        *w = (json_writer){0};
        r->retry_after = 1;
        http_respond_static(r, 503, "application/json", (const unsigned char *)oom, sizeof oom - 1);
        return;
    }
    http_respond(r, status, "application/json", w->out.buf, w->out.len);
    *w = (json_writer){0};
}

static void respond_default(http_req *r, const http_error *e)
{
    json_writer w = {0};
    http_write_error(&w, e);
    http_respond_written(r, e->status, &w);
}

static void respond_error(http_req *r, const http_error *e)
{
    if (r->route != NULL && r->route->errors != NULL) {
        r->route->errors(r, e);
    } else {
        respond_default(r, e);
    }
}

bool http_error_in_shape(http_server *hs, h2o_req_t *q, const http_error *e, const char **type,
                         h2o_iovec_t *body)
{
    http_req *r = raw_req(hs, q);
    if (r == NULL) {
        return false;
    }
    bool shaped = false;
    if (r->path[0] != '\0') {
        respond_error(r, e);
        if (r->answered && r->resp_type != NULL) {
            *type = h2o_strdup(&q->pool, r->resp_type, SIZE_MAX).base;
            *body = h2o_strdup(&q->pool, (const char *)r->resp_body, r->resp_len);
            shaped = true;
        }
    }
    free(r->resp_owned);
    free(r);
    return shaped;
}

void http_respond_error(http_req *r, int status, const char *code, const char *message)
{
    respond_error(r, &(http_error){status, code, message, false, -1});
}

void http_respond_error_at(http_req *r, int status, const char *code, const char *message,
                           int index)
{
    respond_error(r, &(http_error){status, code, message, true, index});
}

bool http_args_ok(http_req *r, const http_param *params)
{
    char msg[400];
    if (http_args_check(r, params, msg, sizeof msg)) {
        return true;
    }
    http_respond_error(r, 400, "invalid_parameter", msg);
    return false;
}
