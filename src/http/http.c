/* http.c -- request parsing, body collection and response writing over libwebsockets.
 *
 * lws 4.1.6 quirks handled here (shared/NOTES-lws.md §3): per-session data is re-zeroed for
 * every keep-alive transaction, so the request lives in its own allocation keyed by id; a
 * request is never completed inside BODY_COMPLETION, and a second BODY_COMPLETION in one
 * transaction (a pipelining client) drops the connection, which avoids lws' busy loop -- and
 * since a body's handler runs only from the next WRITEABLE, that happens before anything is
 * done for it; lws passes a chunked body's framing through as body bytes (body.c decodes it)
 * and never sees its end, so such a connection closes after its answer; a refused body is
 * left to lws' own discarding, then the connection closes (refuse_body). The edge's rules:
 * docs/DESIGN.md §5, "The HTTP edge". */
#include "http/http.h"

#include "core/json_print.h"
#include "http/http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHUNK 16384             /* bytes per lws_write; protocols[].tx_packet_size matches */
#define RESPONSE_TIMEOUT_S 30   /* to deliver a response to a slow reader */
#define DISCARD_MAX (64u << 20) /* a refused body larger than this is not read through */
#define HEADER_BYTES_MAX 16384  /* header fields together; beyond, 431 (RFC 6585 §5) */

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

void http_on_drop(http_pss *pss)
{
    if (pss->req != NULL) {
        free_req(pss->req);
        pss->req = NULL;
    }
}

static http_method method_of(int lws_method)
{
    switch (lws_method) {
    case LWSHUMETH_GET:
        return HTTP_GET;
    case LWSHUMETH_HEAD:
        return HTTP_HEAD;
    case LWSHUMETH_POST:
        return HTTP_POST;
    case LWSHUMETH_PUT:
        return HTTP_PUT;
    case LWSHUMETH_DELETE:
        return HTTP_DELETE;
    case LWSHUMETH_OPTIONS:
        return HTTP_OPTIONS;
    case LWSHUMETH_PATCH:
        return HTTP_PATCH;
    default:
        return 0;
    }
}

/* Refuses a request before its body. The answer goes out at once, with Connection: close
 * (RFC 9112 §9.6). Closing with the body unread would make the kernel reset the connection,
 * and the client could lose the answer with it: so the body is read to its end and dropped,
 * then the connection closes. Keeping it open instead is not safe on lws 4.1.6: a request the
 * client sends right after the refused body reaches lws in the same read, and lws then takes
 * that request's own header bytes for its body; and completing the transaction before the
 * body (lws' own LRS_DISCARD_BODY) makes lws spin when the body came behind a pipelined
 * request (found by fuzz_http_request; docs/ARCHITECTURE.md, "Decisions"). When the client
 * waits for our word first (Expect: 100-continue), the body is absurdly large or its end
 * cannot be found (chunked), it closes at once. */
static void refuse_body(struct lws *wsi, http_req *r, const http_error *e)
{
    char expect[32];
    http_header_copy(wsi, WSI_TOKEN_HTTP_EXPECT, expect, sizeof expect);
    r->discard = strcasestr(expect, "100-continue") == NULL && !r->chunked &&
                 r->content_length > 0 && r->content_length <= DISCARD_MAX;
    r->close_after = true;
    respond_body_error(r, e);
}

/* Reads what the request line and headers say; false if the request cannot be served and
 * has been answered already. */
static bool read_headers(struct lws *wsi, http_req *r, int lws_method)
{
    r->method = method_of(lws_method);
    http_header_copy(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, r->content_type, sizeof r->content_type);
    http_header_copy(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING, r->accept_encoding,
                     sizeof r->accept_encoding);
    http_header_copy(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH, r->if_none_match, sizeof r->if_none_match);
    http_header_copy(wsi, WSI_TOKEN_HTTP_IF_MATCH, r->if_match, sizeof r->if_match);
    http_error e;
    char conn[64];
    http_header_copy(wsi, WSI_TOKEN_CONNECTION, conn, sizeof conn);
    r->close_after =
        strcasestr(conn, "close") != NULL; /* lws closes then: say so (RFC 9112 §9.6) */
    if (admit_header_bytes(wsi) > HEADER_BYTES_MAX) {
        r->close_after = true;
        http_respond_error(r, 431, "header_fields_too_large",
                           "the request's header fields exceed 16384 bytes together");
        return false;
    }
    if (r->method == 0) {
        snprintf(r->allow, sizeof r->allow, "GET, HEAD, POST, PUT, DELETE");
        http_respond_error(r, 405, "method_not_allowed", "this HTTP method is not supported");
        return false;
    }
    if (!headers_parse_args(wsi, r)) {
        http_respond_error(r, 414, "query_too_long",
                           "the query string is too long or has too many parameters");
        return false;
    }
    if (!admit_framing(wsi, r, &e)) {
        respond_body_error(r, &e);
        return false;
    }
    if (!admit_body(wsi, r, &e)) {
        refuse_body(wsi, r, &e);
        return false;
    }
    return true;
}

/* Reserves memory for the body within TELLTALE_MAX_INFLIGHT_BODIES (a chunked body may take
 * up to --max-body); false (refused with 503) when the bodies being received already take it
 * all. */
static bool reserve_body(struct lws *wsi, http_req *r)
{
    http_server *hs = r->hs;
    size_t want = r->chunked ? hs->cfg->max_body : r->content_length;
    http_error e = {.status = 503, .code = "overloaded", .message = "out of memory"};
    if (hs->body_bytes + want > hs->cfg->inflight_body_bytes) {
        e.message = "too many request bodies are being received at once; retry shortly";
    } else if (r->chunked || (r->body = malloc(want + 1)) != NULL) {
        r->body_cap = r->chunked ? 0 : want + 1;
        hs->body_bytes += want;
        r->body_reserved = want;
        return true;
    }
    r->retry_after = 1;
    refuse_body(wsi, r, &e);
    return false;
}

/* OPTIONS on a path whose routes do not take it: 200 with what they take and Content-Length: 0
 * (RFC 9110 §9.3.7; a 204 would carry a Content-Length lws adds, which §8.6 forbids there). */
static void answer_options(http_req *r)
{
    strncat(r->allow, ", OPTIONS", sizeof r->allow - strlen(r->allow) - 1);
    http_respond_static(r, 200, NULL, (const unsigned char *)"", 0);
}

/* lws reports a body's completion for POST even when empty, but not for an empty PUT or
 * PATCH: those go straight to their handler. */
static bool expects_body(const http_req *r)
{
    return http_takes_body(r->method) &&
           (r->content_length > 0 || r->chunked || r->method == HTTP_POST);
}

/* The route's access check (access.c), before the body is read; false once refused (a body
 * then is read and dropped, as refuse_body says). */
static bool admit(http_server *hs, struct lws *wsi, http_req *r)
{
    http_error e;
    char msg[TT_ERRLEN];
    if (access_check_request(hs, r, &e, msg, sizeof msg)) {
        return true;
    }
    if (e.status == 401) {
        http_add_header(r, "www-authenticate:", "Bearer"); /* RFC 6750 §3 */
    }
    if (expects_body(r)) {
        refuse_body(wsi, r, &e);
    } else {
        http_respond_error(r, e.status, e.code, e.message);
    }
    return false;
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

int http_on_request(http_server *hs, struct lws *wsi, http_pss *pss, const char *path)
{
    if (pss->req != NULL && !pss->req->answered) {
        return -1; /* lws read a pipelined request before the last was answered: hang up */
    }
    http_on_drop(pss); /* a leftover from an aborted transaction, if any */
    http_req *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return -1;
    }
    r->id = http_server_next_id(hs);
    r->wsi = wsi;
    r->hs = hs;
    link_req(hs, r);
    pss->req = r;
    char *uri;
    int uri_len;
    int m = lws_http_get_uri_and_method(wsi, &uri, &uri_len);
    snprintf(r->path, sizeof r->path, "%s", path);
    r->route = router_match(hs, r); /* its error shape holds from the first refusal on */
    if (strlen(path) >= sizeof r->path) {
        http_respond_error(r, 414, "uri_too_long", "the path is too long");
    } else if (read_headers(wsi, r, m) && admit(hs, wsi, r) && expects_body(r)) {
        if ((r->content_length > 0 || r->chunked) && reserve_body(wsi, r)) {
            admit_send_continue(wsi);
        }
        if (!r->answered) {
            return 0; /* the handler runs once the body is complete */
        }
    } else if (!r->answered) {
        dispatch(hs, r);
    }
    /* Answered already (an early refusal, or a handler that had its answer at hand): write it
     * now, which is both faster and, for a refused body, lets lws discard what follows. A
     * deferred answer is written from WRITEABLE instead. */
    return r->answered ? http_on_writable(wsi, pss) : 0;
}

/* The body is all here. Its handler runs from the next WRITEABLE, not now: if the client
 * pipelined another request behind it, lws 4.1.6 reports that first (a second completion,
 * NOTES-lws §3), the connection is dropped, and nothing the client will not hear of is done. */
static void body_complete(struct lws *wsi, http_req *r)
{
    r->body_done = true;
    r->run_pending = true;
    lws_callback_on_writable(wsi);
}

/* Decodes the body and runs the handler, or refuses it. */
static void run_handler(http_req *r)
{
    http_error e;
    r->run_pending = false;
    if (body_decode(r, &e) != 0) {
        respond_body_error(r, &e);
    } else {
        dispatch(r->hs, r);
    }
}

int http_on_body(struct lws *wsi, http_pss *pss, const void *in, size_t len)
{
    http_req *r = pss->req;
    if (r != NULL && r->discard) {
        r->body_len += len; /* a refused body is read to its end, not kept */
        return r->body_len > r->content_length ? -1 : 0;
    }
    if (r == NULL || r->answered || len == 0 || r->body_done) {
        return 0;
    }
    /* A body behind a pipelined request comes from the start of lws' buffer again, its own
     * header bytes first (NOTES-lws §3); hanging up here makes lws 4.1.6 spin (found by
     * fuzz_http_request). It is taken as the body: its handler would run only from WRITEABLE,
     * and lws' second completion, which always follows, drops the connection first. */
    if (!r->chunked && r->body_len + len > r->content_length) {
        return -1; /* more than Content-Length said: a confused or hostile client */
    }
    http_error e;
    int rc = body_take(r, in, len, &e);
    if (rc < 0) {
        r->close_after = true;
        respond_body_error(r, &e);
    } else if (rc == 1) {
        body_complete(wsi, r); /* the end of a chunked body: lws never says so itself */
    }
    return 0;
}

int http_on_body_done(struct lws *wsi, http_pss *pss)
{
    http_req *r = pss->req;
    if (r == NULL) {
        return -1;
    }
    if (++r->body_completions > 1) {
        /* Bytes after a body: lws 4.1.6 reports the completion again for each pass over them
         * and would spin (NOTES-lws §3). Holding them with rx flow control stops the spin
         * but also the connection's WRITEABLE (tried): hang up. The handler has not run yet
         * (body_complete), so nothing was done that the client does not hear of. */
        return -1;
    }
    if (r->discard) {
        r->discarded = true; /* the refused body is read: now the connection can close */
        lws_callback_on_writable(wsi);
    } else if (!r->answered) {
        body_complete(wsi, r);
    }
    return 0;
}

static bool add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                       unsigned char *end)
{
    return value == NULL || lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                                        (const unsigned char *)value,
                                                        (int)strlen(value), p, end) == 0;
}

static bool add_extra_headers(struct lws *wsi, const http_req *r, unsigned char **p,
                              unsigned char *end)
{
    bool ok = true;
    for (int i = 0; i < r->nextra && ok; i++) {
        ok = add_header(wsi, r->extra[i].name, r->extra[i].value, p, end);
    }
    return ok;
}

static int write_headers(struct lws *wsi, http_req *r)
{
    unsigned char buf[LWS_PRE + 4096];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    char retry[16];
    snprintf(retry, sizeof retry, "%d", r->retry_after);
    bool ok = lws_add_http_common_headers(wsi, (unsigned)r->status, r->resp_type, r->resp_len, &p,
                                          end) == 0 &&
              add_header(wsi, "etag:", r->etag, &p, end) &&
              add_header(wsi, "cache-control:", r->cache_control, &p, end) &&
              add_header(wsi, "content-encoding:", r->content_encoding, &p, end) &&
              add_header(wsi, "vary:", r->content_encoding ? "accept-encoding" : NULL, &p, end) &&
              add_header(wsi, "allow:", r->allow[0] ? r->allow : NULL, &p, end) &&
              add_header(wsi, "retry-after:", r->retry_after > 0 ? retry : NULL, &p, end) &&
              add_header(wsi, "connection:", r->close_after ? "close" : NULL, &p, end) &&
              add_extra_headers(wsi, r, &p, end) && lws_finalize_http_header(wsi, &p, end) == 0;
    if (!ok || lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) < 0) {
        return -1;
    }
    r->headers_sent = true;
    return 0;
}

int http_on_writable(struct lws *wsi, http_pss *pss)
{
    http_req *r = pss->req;
    if (r != NULL && r->run_pending) {
        run_handler(r);
    }
    if (r == NULL || !r->answered) {
        return 0; /* a spurious writable, or an answer still to come: nothing to send yet */
    }
    if (!r->headers_sent && write_headers(wsi, r) != 0) {
        return -1;
    }
    size_t len = r->method == HTTP_HEAD || r->head_only ? 0 : r->resp_len;
    unsigned char buf[LWS_PRE + CHUNK];
    while (r->resp_off < len) {
        size_t n = len - r->resp_off < CHUNK ? len - r->resp_off : CHUNK;
        bool final = r->resp_off + n == len;
        memcpy(buf + LWS_PRE, r->resp_body + r->resp_off, n);
        if (lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0) {
            return -1;
        }
        r->resp_off += n;
        if (!final && lws_send_pipe_choked(wsi)) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    if (r->discard && !r->discarded) {
        return 0; /* the refused body is still arriving */
    }
    if (r->close_after) {
        return -1;
    }
    if (r->completed) {
        return 0;
    }
    r->completed = true;
    guard_idle(r->hs, wsi);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
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
    if (r->wsi != NULL) {
        lws_set_timeout(r->wsi, PENDING_TIMEOUT_USER_REASON_BASE, RESPONSE_TIMEOUT_S);
        lws_callback_on_writable(r->wsi);
        if (r->hs->in_service == 0) {
            /* Answered from outside lws (work from the pool): lws arms what was just set up
             * only once it services something (NOTES-lws §3). */
            lws_cancel_service(r->hs->ctx);
        }
    }
}

void http_answer_later(http_req *r)
{
    lws_set_timeout(r->wsi, PENDING_TIMEOUT_USER_REASON_BASE, RESPONSE_TIMEOUT_S);
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
