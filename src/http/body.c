/* body.c -- a request body as the handler gets it: read to its end whatever its framing
 * (Content-Length, or the chunked transfer coding), then decoded from its content coding,
 * within --max-body both as sent and as decoded (DESIGN §5, "The HTTP edge"). It writes no
 * answer: a refusal is described in an http_error for http.c to send. Loop thread. */
#include "http/http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void body_refuse_too_large(http_req *r, http_error *e)
{
    r->hs->bodies_too_large++;
    *e = (http_error){.status = 413, .code = "body_too_large", .message = r->why};
}

static void too_large(http_req *r, http_error *e, const char *how)
{
    snprintf(r->why, sizeof r->why, "the body %s more than %llu bytes (TELLTALE_MAX_BODY)", how,
             (unsigned long long)r->hs->cfg->max_body);
    body_refuse_too_large(r, e);
}

/* Appends to the body buffer, growing it up to max_body. */
static int append(void *ctx, const char *data, size_t len)
{
    http_req *r = ctx;
    size_t max = r->hs->cfg->max_body;
    if (len > max - r->body_len) {
        return 1;
    }
    if (r->body_len + len + 1 > r->body_cap) {
        size_t cap = r->body_cap < 4096 ? 4096 : r->body_cap * 2;
        while (cap < r->body_len + len + 1) {
            cap *= 2;
        }
        cap = cap > max + 1 ? max + 1 : cap;
        char *b = realloc(r->body, cap);
        if (b == NULL) {
            return 1;
        }
        r->body = b;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    return 0;
}

int body_take(http_req *r, const void *in, size_t len, http_error *e)
{
    if (!r->chunked) {
        return append(r, in, len) == 0 ? 0 : (too_large(r, e, "holds"), -1);
    }
    size_t used;
    chunked_result res = chunked_feed(&r->chunk, in, len, &used, append, r);
    switch (res) {
    case CHUNKED_DONE:
        return 1;
    case CHUNKED_MORE:
        return 0;
    case CHUNKED_STOPPED:
        too_large(r, e, "holds");
        return -1;
    default:
        snprintf(r->why, sizeof r->why, "the chunked body is malformed: %s (RFC 9112 §7.1)",
                 r->chunk.why);
        *e = (http_error){.status = 400, .code = "invalid_chunked_body", .message = r->why};
        return -1;
    }
}

int body_decode(http_req *r, http_error *e)
{
    if (r->coding == CODING_IDENTITY) {
        if (r->body != NULL) {
            r->body[r->body_len] = '\0';
        }
        return 0;
    }
    char *out;
    size_t out_len;
    const char *name = content_coding_name(r->coding);
    /* The decoded body is memory of TELLTALE_MAX_INFLIGHT_BODIES too: decoding stops where it
     * would take more than is left (503, retry) or than --max-body (413). Decoding runs at once
     * on this thread, so no other body is reserved meanwhile. */
    http_server *hs = r->hs;
    size_t held = hs->body_bytes + hs->bodies_arriving; /* counted by take_body, http.c */
    size_t left = held < hs->cfg->inflight_body_bytes ? hs->cfg->inflight_body_bytes - held : 0;
    size_t limit = left < hs->cfg->max_body ? left : hs->cfg->max_body;
    switch (content_decode(r->coding, r->body != NULL ? r->body : "", r->body_len, limit, &out,
                           &out_len)) {
    case DECODE_OK:
        free(r->body);
        r->body = out;
        r->body_len = out_len;
        r->body_cap = out_len + 1;
        /* The body as sent is freed: its reservation becomes the decoded body's. */
        hs->body_bytes = hs->body_bytes - r->body_reserved + out_len;
        r->body_reserved = out_len;
        return 0;
    case DECODE_TOO_LARGE:
        if (limit < hs->cfg->max_body) {
            r->retry_after = 1;
            *e = (http_error){.status = 503,
                              .code = "overloaded",
                              .message = "too many request bodies are being received or decoded "
                                         "at once (TELLTALE_MAX_INFLIGHT_BODIES); retry shortly"};
            return -1;
        }
        too_large(r, e, name[0] == 'g' ? "decodes (gzip) to" : "decodes (deflate) to");
        return -1;
    case DECODE_INVALID:
        snprintf(r->why, sizeof r->why,
                 "the body is not valid %s data, as its Content-Encoding says it is", name);
        *e = (http_error){.status = 400, .code = "invalid_content_encoding", .message = r->why};
        return -1;
    default:
        *e = (http_error){.status = 503, .code = "overloaded", .message = "out of memory"};
        return -1;
    }
}
