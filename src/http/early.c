/* early.c -- what is refused before libh2o parses a request: an HTTP version other than 1.x
 * (505, version_refusal below), and a body before it is sent, for a request that asks for
 * 100-continue (RFC 9110 §10.1.1); and the spaces after a field value, moved where libh2o's
 * parser skips them (move_trailing_ows).
 *
 * libh2o 2.2.5 writes "100 Continue" itself as soon as it has parsed a header section with
 * Expect: 100-continue, and hands the request to telltale only once the body is in
 * (lib/http1.c, handle_incoming_request). A request its headers already refuse (media type,
 * content coding, Origin, size) would then have its body uploaded for nothing, which is what
 * the client asked to avoid. So conn_guard.c shows this file each read of a plain-HTTP
 * connection waiting for a request, before h2o sees it: when the buffer holds one whole
 * header section asking for 100-continue and no body byte, the header checks run on it
 * (http_refuse_early), and a refusal is written straight to the socket, with
 * Connection: close. h2o never parses that request; it closes on the EOF that follows.
 *
 * The header section is read here only as far as these checks need, and anything unusual
 * (obs-fold, a field without a colon, several Content-Lengths, Transfer-Encoding, a request
 * line that is not METHOD SP TARGET SP HTTP/1.x) leaves the request to h2o, which refuses or
 * serves it as before. Loop thread only. */
#include "http/http_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define EARLY_SCAN_MAX (32 * 1024) /* bytes of a header section read here (16 KiB of fields) */

/* The CRLF that ends the line at 'p', or NULL if there is none before 'end'. */
static const char *line_end(const char *p, const char *end)
{
    const char *cr = memchr(p, '\r', (size_t)(end - p));
    return cr != NULL && cr + 1 < end && cr[1] == '\n' ? cr : NULL;
}

/* The request line's first byte: empty lines before it are skipped (RFC 9112 §2.2), as
 * libh2o's parser does. */
static const char *request_line_at(const char *p, const char *end)
{
    while (p < end && (*p == '\r' || *p == '\n')) {
        p++;
    }
    return p;
}

static h2o_iovec_t trimmed(const char *b, const char *e)
{
    while (b < e && (*b == ' ' || *b == '\t')) {
        b++;
    }
    while (e > b && (e[-1] == ' ' || e[-1] == '\t')) {
        e--;
    }
    return h2o_iovec_init(b, (size_t)(e - b));
}

/* RFC 9110 §10.1.1: "A server that receives a 100-continue expectation in an HTTP/1.0 request
 * MUST ignore that expectation." libh2o 2.2.5 answers it whatever the version (an HTTP/1.0
 * client may take the interim "HTTP/1.1 100 Continue" for the final answer), so before h2o
 * parses a whole header section of HTTP/1.0, each Expect field asking for 100-continue is
 * renamed in place to "Ignore", a field no code reads: the request is served as if it had
 * not asked. Over TLS h2o reads the decrypted bytes itself, and still answers 100 (OPERATIONS). */
static void forget_http10_expect(char *b, size_t n)
{
    const char *end = memmem(b, n < EARLY_SCAN_MAX ? n : EARLY_SCAN_MAX, "\r\n\r\n", 4);
    const char *line = end != NULL ? request_line_at(b, end) : NULL;
    const char *eol = line != NULL ? line_end(line, end + 2) : NULL;
    if (eol == NULL || eol - line < 9 || memcmp(eol - 9, " HTTP/1.0", 9) != 0) {
        return;
    }
    for (char *p = (char *)eol + 2; p < end + 2;) {
        const char *le = line_end(p, end + 2);
        const char *colon = le != NULL ? memchr(p, ':', (size_t)(le - p)) : NULL;
        if (colon == NULL) {
            return;
        }
        h2o_iovec_t v = trimmed(colon + 1, le);
        if (colon - p == 6 && strncasecmp(p, "expect", 6) == 0 &&
            h2o_lcstris(v.base, v.len, H2O_STRLIT("100-continue"))) {
            memcpy(p, "Ignore", 6);
        }
        p = (char *)le + 2;
    }
}

/* RFC 9110 §5.5: the spaces and tabs around a field value are not part of it. libh2o 2.2.5's
 * parser (picohttpparser) drops those before a value, not those after it, and reads some
 * values itself before telltale sees them: "Content-Length: 12 " was its 400, and
 * "Transfer-Encoding: chunked\t" its 501. So before h2o parses the header section, each whole
 * field line's trailing SP and HTAB are moved in place to the front of its value, where the
 * parser skips them: no byte is added or removed, and no line end moves (h2o resumes parsing
 * a partial section at the length it saw last). Lines not yet ended, obs-fold lines and the
 * request line are left as they are. */
static void move_trailing_ows(char *b, size_t n)
{
    char *end = b + (n < EARLY_SCAN_MAX ? n : EARLY_SCAN_MAX);
    char *p = b;
    while (p < end && (*p == '\r' || *p == '\n')) {
        p++; /* empty lines before the request line (RFC 9112 §2.2) */
    }
    char *lf = memchr(p, '\n', (size_t)(end - p)); /* the request line */
    for (p = lf != NULL ? lf + 1 : end; p < end && (lf = memchr(p, '\n', (size_t)(end - p)));
         p = lf + 1) {
        char *eol = lf > p && lf[-1] == '\r' ? lf - 1 : lf;
        if (eol == p) {
            return; /* the end of the header section */
        }
        char *colon = memchr(p, ':', (size_t)(eol - p));
        if (p[0] == ' ' || p[0] == '\t' || colon == NULL) {
            continue;
        }
        char *v = colon + 1, *e = eol;
        while (e > v && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }
        size_t ows = (size_t)(eol - e);
        if (ows > 0 && e > v) {
            memmove(v + ows, v, (size_t)(e - v));
            memset(v, ' ', ows);
        }
    }
}

/* RFC 9110 §2.5: a request line of HTTP major version 1 with a higher minor one (HTTP/1.2) is
 * served as HTTP/1.1 (libh2o's parser does so); one of any other major version (HTTP/2.0, the
 * HTTP/2 preface "PRI * HTTP/2.0", HTTP/0.9 as written, HTTP/3.0) is answered 505 (§15.6.6) in
 * telltale's JSON, with Connection: close, as soon as the request line is in. libh2o would
 * answer its plain-text 400 (its parser knows only HTTP/1.x). Empty lines before a request
 * line are skipped, as RFC 9112 §2.2 and the parser do. */
static bool version_refusal(const char *b, size_t n, char *out, size_t cap, size_t *len)
{
    const char *p = b, *end = b + (n < EARLY_SCAN_MAX ? n : EARLY_SCAN_MAX);
    while (p < end && (*p == '\r' || *p == '\n')) {
        p++;
    }
    const char *lf = memchr(p, '\n', (size_t)(end - p));
    const char *e = lf != NULL && lf > p && lf[-1] == '\r' ? lf - 1 : lf;
    if (e == NULL || e - p < 9 || memcmp(e - 9, " HTTP/", 6) != 0 || e[-3] < '0' ||
        e[-3] > '9' || e[-3] == '1' || e[-2] != '.' || e[-1] < '0' || e[-1] > '9') {
        return false;
    }
    char msg[192];
    snprintf(msg, sizeof msg,
             "the request line asks for HTTP/%c.%c: this server speaks HTTP/1.1 (and HTTP/1.0) "
             "only (RFC 9110 §15.6.6)",
             e[-3], e[-1]);
    *len = http_raw_error(
        &(http_error){.status = 505, .code = "http_version_not_supported", .message = msg}, out,
        cap);
    return *len > 0;
}

bool early_refusal(http_server *hs, char *b, size_t n, char *out, size_t cap, size_t *len)
{
    if (version_refusal(b, n, out, cap, len)) {
        return true;
    }
    move_trailing_ows(b, n);
    forget_http10_expect(b, n);
    const char *end = memmem(b, n < EARLY_SCAN_MAX ? n : EARLY_SCAN_MAX, "\r\n\r\n", 4);
    if (end == NULL || (size_t)(end + 4 - b) != n) {
        return false; /* not yet whole, or the body (or another request) follows at once */
    }
    end += 2; /* the last field line's CRLF is the header section's */
    const char *line = request_line_at(b, end);
    const char *eol = line_end(line, end);
    if (eol == NULL) {
        return false;
    }
    const char *sp1 = memchr(line, ' ', (size_t)(eol - line));
    const char *sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (sp1 == NULL || sp2 == NULL || sp1 == line || sp2 == sp1 + 1 || eol - sp2 != 9 ||
        strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        return false;
    }
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    h2o_req_t q;
    memset(&q, 0, sizeof q);
    q.version = memcmp(sp2 + 1, "HTTP/1.0", 8) == 0 ? 0x100 : 0x101; /* admit_host reads it */
    q.method = h2o_iovec_init(line, (size_t)(sp1 - line));
    q.path = h2o_iovec_init(sp1 + 1, (size_t)(sp2 - sp1 - 1));
    const char *qm = memchr(q.path.base, '?', q.path.len);
    q.query_at = qm != NULL ? (size_t)(qm - q.path.base) : SIZE_MAX;
    int lengths = 0, expect = 0, other = 0; /* a second Host is "other": h2o's to judge */
    h2o_iovec_t length = {NULL, 0};
    bool refused = false;
    for (const char *p = eol + 2; p < end;) {
        const char *le = line_end(p, end);
        const char *colon = le != NULL ? memchr(p, ':', (size_t)(le - p)) : NULL;
        if (p[0] == ' ' || p[0] == '\t' || colon == NULL || colon == p) {
            goto Exit; /* obs-fold or not a field line: h2o's to judge */
        }
        size_t nlen = (size_t)(colon - p);
        h2o_iovec_t v = trimmed(colon + 1, le);
        char *name = h2o_mem_alloc_pool(&pool, nlen);
        for (size_t i = 0; i < nlen; i++) {
            name[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
        }
        if (h2o_memis(name, nlen, H2O_STRLIT("content-length"))) {
            lengths++;
            length = v;
        } else if (h2o_memis(name, nlen, H2O_STRLIT("expect"))) {
            expect += h2o_lcstris(v.base, v.len, H2O_STRLIT("100-continue")) ? 1 : 2;
        } else if (h2o_memis(name, nlen, H2O_STRLIT("host"))) {
            other += q.input.authority.base != NULL;
            q.input.authority = q.authority = v; /* h2o moves Host out of the list too */
        } else if (h2o_memis(name, nlen, H2O_STRLIT("transfer-encoding")) ||
                   h2o_memis(name, nlen, H2O_STRLIT("upgrade"))) {
            other++;
        } else {
            h2o_add_header_by_str(&pool, &q.headers, name, nlen, 1, NULL, v.base, v.len);
        }
        p = le + 2;
    }
    size_t cl = 0;
    for (size_t i = 0; i < length.len && cl <= SIZE_MAX / 10 - 10; i++) {
        if (length.base[i] < '0' || length.base[i] > '9') {
            goto Exit;
        }
        cl = cl * 10 + (size_t)(length.base[i] - '0');
    }
    if (expect != 1 || lengths != 1 || length.len == 0 || other != 0 || cl == 0) {
        goto Exit; /* not one body of a known length awaiting 100 Continue: h2o's */
    }
    q.entity = h2o_iovec_init(b, cl); /* a body is announced: admit_framing reads its length */
    refused = http_refuse_early(hs, &q, out, cap, len);
Exit:
    h2o_mem_clear_pool(&pool);
    return refused;
}
