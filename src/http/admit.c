/* admit.c -- what a request's headers must pass before its body is read (DESIGN §5, "The HTTP
 * edge"): the size of the header section, the framing of the body, the Origin of a request
 * that changes state, the media type and coding of its body, its size; and the interim
 * 100 Continue. A refusal is described in an http_error; answering is http.c's. Loop thread. */
#include "http/http_internal.h"

#include "core/media_type.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool http_takes_body(http_method m)
{
    return m == HTTP_POST || m == HTTP_PUT || m == HTTP_PATCH;
}

size_t admit_header_bytes(struct lws *wsi)
{
    size_t total = 0;
    for (int t = 0; t < WSI_TOKEN_COUNT; t++) {
        int n = lws_hdr_total_length(wsi, (enum lws_token_indexes)t);
        total += n > 0 ? (size_t)n : 0;
    }
    return total;
}

/* True if 'origin' is http:// or https:// followed by exactly 'host'. */
static bool is_own(const char *origin, const char *host)
{
    const char *rest = strncasecmp(origin, "http://", 7) == 0    ? origin + 7
                       : strncasecmp(origin, "https://", 8) == 0 ? origin + 8
                                                                 : NULL;
    return rest != NULL && host[0] != '\0' && strcasecmp(rest, host) == 0;
}

/* True if 'origin' is one of the comma-separated 'list'. */
static bool listed(const char *origin, const char *list)
{
    size_t olen = strlen(origin);
    for (const char *p = list; *p != '\0';) {
        p += strspn(p, " ");
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m > 0 && p[m - 1] == ' ') {
            m--;
        }
        if (m == olen && strncasecmp(p, origin, m) == 0) {
            return true;
        }
        p += n + (p[n] == ',');
    }
    return false;
}

bool admit_origin(struct lws *wsi, const char *allow_origins)
{
    char origin[256], host[256];
    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0 || strcmp(allow_origins, "*") == 0) {
        return true; /* not sent by a browser's cross-site request (or every origin allowed) */
    }
    http_header_copy(wsi, WSI_TOKEN_ORIGIN, origin, sizeof origin);
    http_header_copy(wsi, WSI_TOKEN_HOST, host, sizeof host);
    return origin[0] != '\0' && (is_own(origin, host) || listed(origin, allow_origins));
}

static bool changes_state(http_method m)
{
    return http_takes_body(m) || m == HTTP_DELETE;
}

/* The framing of the body (RFC 9112 §6): Content-Length, or Transfer-Encoding: chunked (lws
 * reads such a body up to 100 MB and leaves its framing to us, so the connection closes after
 * the answer). False if refused, with 'e'. */
bool admit_framing(struct lws *wsi, http_req *r, http_error *e)
{
    char len[32], te[64];
    http_header_copy(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, len, sizeof len);
    http_header_copy(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING, te, sizeof te);
    if (len[0] != '\0') {
        char *end;
        unsigned long long v = strtoull(len, &end, 10);
        r->has_length = *end == '\0' && len[0] >= '0' && len[0] <= '9';
        r->content_length = (size_t)v;
    }
    if (!http_takes_body(r->method)) {
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
            r->close_after = true; /* a chunked body lws cannot delimit */
            *e = (http_error){.status = 400,
                              .code = "unexpected_body",
                              .message = "this method takes no body (RFC 9110 §9.3)"};
            return false;
        }
        return true; /* a Content-Length body: admit_body() refuses it, reading it through */
    }
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
        r->close_after = true;
        if (strcasecmp(te, "chunked") != 0) {
            *e = (http_error){.status = 501,
                              .code = "transfer_coding_not_implemented",
                              .message =
                                  "the only Transfer-Encoding taken is chunked (RFC 9112 §6.1)"};
            return false;
        }
        if (len[0] != '\0') {
            *e = (http_error){
                .status = 400,
                .code = "conflicting_framing",
                .message = "send Content-Length or Transfer-Encoding, not both (RFC 9112 §6.1)"};
            return false;
        }
        r->chunked = true;
        chunked_init(&r->chunk);
        return true;
    }
    if (!r->has_length) {
        r->close_after = true; /* lws would wait for a body it cannot delimit */
        *e = (http_error){.status = 411,
                          .code = "length_required",
                          .message =
                              "send the body with Content-Length or Transfer-Encoding: chunked"};
        return false;
    }
    return true;
}

/* What the headers say about the body: who sends it, its type, its coding, its size. False
 * if refused, with 'e' (and maybe an Accept-Encoding header added). */
bool admit_body(struct lws *wsi, http_req *r, http_error *e)
{
    const tt_config *cfg = r->hs->cfg;
    char coding[64];
    bool has_body = r->chunked || r->content_length > 0;
    if (has_body && !http_takes_body(r->method)) {
        /* Answering before the body would complete the transaction before it, which lws
         * 4.1.6 cannot do behind a pipelined request (docs/ARCHITECTURE.md, "Decisions"). */
        *e = (http_error){.status = 400,
                          .code = "unexpected_body",
                          .message = "this method takes no body (RFC 9110 §9.3)"};
        return false;
    }
    if (changes_state(r->method) && !admit_origin(wsi, cfg->allow_origins)) {
        *e = (http_error){.status = 403,
                          .code = "origin_not_allowed",
                          .message =
                              "a web page of another origin may not change state here; allow it "
                              "with --allow-origins (TELLTALE_ALLOW_ORIGINS)"};
        return false;
    }
    if (has_body && media_type_cors_safelisted(r->content_type)) {
        *e = (http_error){
            .status = 415,
            .code = "unsupported_media_type",
            .message = "the body has no Content-Type, or one any web page may send to any site "
                       "(a form, multipart or text/plain): send it with the media type this "
                       "route reads, e.g. application/json"};
        return false;
    }
    http_header_copy(wsi, WSI_TOKEN_HTTP_CONTENT_ENCODING, coding, sizeof coding);
    if (!content_coding_parse(coding, &r->coding)) {
        http_add_header(r, "accept-encoding:", CONTENT_CODINGS_ACCEPTED);
        *e = (http_error){.status = 415,
                          .code = "unsupported_content_encoding",
                          .message =
                              "the only Content-Encoding taken is gzip or deflate, one at most "
                              "(RFC 9110 §8.4)"};
        return false;
    }
    if (r->has_length && r->content_length > cfg->max_body) {
        snprintf(r->why, sizeof r->why,
                 "the body is %zu bytes; the limit is %llu (TELLTALE_MAX_BODY)", r->content_length,
                 (unsigned long long)cfg->max_body);
        body_refuse_too_large(r, e);
        return false;
    }
    return true;
}

/* Tells a client that waits with Expect: 100-continue to send its body (RFC 9110 §10.1.1);
 * an HTTP/1.0 client gets no interim answer (RFC 9110 §15.2). */
void admit_send_continue(struct lws *wsi)
{
    char expect[32], version[16];
    http_header_copy(wsi, WSI_TOKEN_HTTP_EXPECT, expect, sizeof expect);
    http_header_copy(wsi, WSI_TOKEN_HTTP, version, sizeof version);
    if (strcasecmp(expect, "100-continue") == 0 && strcmp(version, "HTTP/1.1") == 0) {
        static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
        unsigned char buf[LWS_PRE + sizeof line];
        memcpy(buf + LWS_PRE, line, sizeof line - 1);
        lws_write(wsi, buf + LWS_PRE, sizeof line - 1, LWS_WRITE_HTTP);
    }
}
