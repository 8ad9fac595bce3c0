/* http.c -- request parsing, body collection and response writing over libwebsockets.
 *
 * lws 4.1.6 quirks handled here (shared/NOTES-lws.md §3): per-session data is re-zeroed for
 * every keep-alive transaction, so the request lives in its own allocation keyed by id; a
 * request is never completed inside BODY_COMPLETION, and a second BODY_COMPLETION in one
 * transaction (a pipelining client) drops the connection, which avoids lws' busy loop;
 * chunked bodies are refused with 411 because lws cannot read them. */
#include "http/http.h"

#include "core/json_print.h"
#include "http/http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 16384           /* bytes per lws_write; protocols[].tx_packet_size matches */
#define RESPONSE_TIMEOUT_S 30 /* to deliver a response to a slow reader */
#define ARGS_TEXT_MAX 8192
#define DISCARD_MAX (64u << 20) /* a refused body larger than this is not read through */

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

void http_header_copy(struct lws *wsi, enum lws_token_indexes token, char *dst, size_t len)
{
    dst[0] = '\0';
    if (lws_hdr_total_length(wsi, token) > 0 && lws_hdr_copy(wsi, dst, (int)len, token) < 0) {
        dst[0] = '\0'; /* longer than we care for: treated as absent */
    }
}

/* Splits the query into name/value pairs (lws has already %-decoded them). Returns false if
 * there are too many or they are too long. */
static bool parse_args(struct lws *wsi, http_req *r)
{
    int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
    if (total <= 0) {
        return true;
    }
    if (total > ARGS_TEXT_MAX ||
        (r->args_text = malloc((size_t)total + HTTP_MAX_ARGS + 1)) == NULL) {
        return false;
    }
    char *cursor = r->args_text;
    size_t left = (size_t)total + HTTP_MAX_ARGS + 1;
    for (int i = 0;; i++) {
        int n = lws_hdr_copy_fragment(wsi, cursor, (int)left, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0) {
            break; /* no more fragments */
        }
        if (r->nargs == HTTP_MAX_ARGS) {
            return false;
        }
        char *eq = strchr(cursor, '=');
        if (eq != NULL) {
            *eq = '\0';
        }
        r->args[r->nargs++] = (http_arg){cursor, eq != NULL ? eq + 1 : ""};
        cursor += n + 1;
        left -= (size_t)n + 1;
    }
    return true;
}

const char *http_arg_value(const http_req *r, const char *name)
{
    for (int i = 0; i < r->nargs; i++) {
        if (strcmp(r->args[i].name, name) == 0) {
            return r->args[i].value;
        }
    }
    return NULL;
}

bool http_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!((s[0] >= '0' && s[0] <= '9') || (s[0] == '-' && s[1] >= '0' && s[1] <= '9'))) {
        return false; /* strtoll would skip spaces and take a '+' */
    }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

const char *http_unknown_arg(const http_req *r, const char *const *known)
{
    for (int i = 0; i < r->nargs; i++) {
        bool found = false;
        for (const char *const *k = known; *k != NULL && !found; k++) {
            found = strcmp(r->args[i].name, *k) == 0;
        }
        if (!found) {
            return r->args[i].name;
        }
    }
    return NULL;
}

static bool takes_body(http_method m)
{
    return m == HTTP_POST || m == HTTP_PUT || m == HTTP_PATCH;
}

/* Refuses a request before its body. The answer goes out at once. Closing with the body
 * unread would make the kernel reset the connection, and the client could lose the answer
 * with it: so the body is then read and thrown away, and the connection kept. Only when the
 * client waits for our word first (Expect: 100-continue) or the body is absurdly large is it
 * closed instead. */
static void refuse_body(struct lws *wsi, http_req *r, int status, const char *code,
                        const char *message)
{
    char expect[32];
    http_header_copy(wsi, WSI_TOKEN_HTTP_EXPECT, expect, sizeof expect);
    r->discard = strstr(expect, "100-continue") == NULL && r->content_length <= DISCARD_MAX;
    r->close_after = !r->discard;
    http_respond_error(r, status, code, message);
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
    char len[32];
    http_header_copy(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, len, sizeof len);
    if (len[0] != '\0') {
        char *end;
        unsigned long long v = strtoull(len, &end, 10);
        r->has_length = *end == '\0' && len[0] >= '0' && len[0] <= '9';
        r->content_length = (size_t)v;
    }
    if (r->method == 0) {
        snprintf(r->allow, sizeof r->allow, "GET, HEAD, POST, PUT, DELETE");
        http_respond_error(r, 405, "method_not_allowed", "this HTTP method is not supported");
        return false;
    }
    if (!parse_args(wsi, r)) {
        http_respond_error(r, 414, "query_too_long",
                           "the query string is too long or has too many parameters");
        return false;
    }
    char te[32];
    http_header_copy(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING, te, sizeof te);
    if (takes_body(r->method) && (te[0] != '\0' || !r->has_length)) {
        r->close_after = true; /* lws cannot find the end of such a body */
        http_respond_error(
            r, 411, "length_required",
            "send the body with a Content-Length header (chunked bodies are not supported)");
        return false;
    }
    if (r->has_length && r->content_length > r->hs->cfg->max_body) {
        char msg[128];
        snprintf(msg, sizeof msg, "the body is %zu bytes; the limit is %llu (TELLTALE_MAX_BODY)",
                 r->content_length, (unsigned long long)r->hs->cfg->max_body);
        refuse_body(wsi, r, 413, "body_too_large", msg);
        return false;
    }
    return true;
}

/* Reserves memory for the body within TELLTALE_MAX_INFLIGHT_BODIES; false (refused with 503)
 * when the bodies being received already take it all. */
static bool reserve_body(struct lws *wsi, http_req *r)
{
    http_server *hs = r->hs;
    if (hs->body_bytes + r->content_length > hs->cfg->inflight_body_bytes) {
        r->retry_after = 1;
        refuse_body(wsi, r, 503, "overloaded",
                    "too many request bodies are being received at once; retry shortly");
        return false;
    }
    if ((r->body = malloc(r->content_length + 1)) == NULL) {
        r->retry_after = 1;
        refuse_body(wsi, r, 503, "overloaded", "out of memory");
        return false;
    }
    hs->body_bytes += r->content_length;
    r->body_reserved = r->content_length;
    return true;
}

/* lws reports a body's completion for POST even when empty, but not for an empty PUT or
 * PATCH: those go straight to their handler. */
static bool expects_body(const http_req *r)
{
    return takes_body(r->method) && (r->content_length > 0 || r->method == HTTP_POST);
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
        refuse_body(wsi, r, e.status, e.code, e.message);
    } else {
        http_respond_error(r, e.status, e.code, e.message);
    }
    return false;
}

/* Runs the handler for r->method and r->path, or answers 404/405 (an unknown path read with
 * GET or HEAD may be a dashboard file). */
static void dispatch(http_server *hs, http_req *r)
{
    const http_route *rt = router_find(hs, r);
    if (rt != NULL) {
        rt->fn(r, rt->ctx);
        return;
    }
    unsigned methods = router_methods(hs, r->path, r->allow, sizeof r->allow);
    if (methods == 0 && (r->method & (HTTP_GET | HTTP_HEAD))) {
        hs->fallback(r);
    } else if (methods == 0) {
        http_respond_error(r, 404, "not_found", "no such route");
    } else {
        http_respond_error(r, 405, "method_not_allowed", "this route does not take that method");
    }
}

int http_on_request(http_server *hs, struct lws *wsi, http_pss *pss, const char *path)
{
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
        if (r->content_length > 0) {
            reserve_body(wsi, r);
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

int http_on_body(struct lws *wsi, http_pss *pss, const void *in, size_t len)
{
    (void)wsi;
    http_req *r = pss->req;
    if (r == NULL || (r->answered && !r->discard)) {
        return 0; /* already refused: let lws discard the rest */
    }
    if (r->body_len + len > r->content_length) {
        return -1; /* more than Content-Length said: a confused or hostile client */
    }
    if (len == 0 || r->discard) {
        r->body_len += len; /* an empty body has no buffer; a refused one is not kept */
        return 0;
    }
    memcpy(r->body + r->body_len, in, len);
    r->body_len += len;
    return 0;
}

int http_on_body_done(struct lws *wsi, http_pss *pss)
{
    (void)wsi;
    http_req *r = pss->req;
    if (r == NULL) {
        return -1;
    }
    if (++r->body_completions > 1) {
        return -1; /* pipelined requests would make lws 4.1.6 spin: hang up instead */
    }
    if (r->discard) {
        r->discarded = true; /* the body is read: the transaction can end, keeping the connection */
        lws_callback_on_writable(wsi);
    } else if (!r->answered) {
        if (r->body != NULL) {
            r->body[r->body_len] = '\0';
        }
        dispatch(r->hs, r);
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

bool http_add_header(http_req *r, const char *name, const char *value)
{
    if (r->nextra == HTTP_EXTRA_HEADERS || strlen(name) >= sizeof r->extra[0].name ||
        strlen(value) >= sizeof r->extra[0].value) {
        return false;
    }
    http_header *h = &r->extra[r->nextra++];
    memcpy(h->name, name, strlen(name) + 1);
    memcpy(h->value, value, strlen(value) + 1);
    return true;
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
    if (r == NULL || !r->answered) {
        return 0; /* a spurious writable: nothing to send yet */
    }
    if (!r->headers_sent && write_headers(wsi, r) != 0) {
        return -1;
    }
    size_t len = r->method == HTTP_HEAD ? 0 : r->resp_len;
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
    if (r->close_after) {
        return -1;
    }
    if (r->discard && !r->discarded) {
        return 0; /* the refused body is still arriving */
    }
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

void http_write_error(json_writer *w, const http_error *e)
{
    json_open_object(w);
    json_key(w, "error");
    json_open_object(w);
    json_member_string(w, "code", e->code);
    json_member_string(w, "message", e->message);
    if (e->with_index && e->index >= 0) {
        json_member_number(w, "index", e->index);
    } else if (e->with_index) {
        json_key(w, "index");
        json_null(w);
    }
    json_close_object(w);
    json_close_object(w);
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
