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

/* What early_refusal needs of the field lines, gathered as they are read. */
typedef struct early_fields {
    h2o_mem_pool_t *pool;
    h2o_req_t *q; /* the request line's parts, Host, and the fields http_refuse_early reads */
    int lengths, expect; /* Content-Length fields; Expect: 1 per 100-continue, 2 per other */
    int other;           /* fields that leave the request to h2o (a second Host is one) */
    h2o_iovec_t length;  /* the last Content-Length's value */
    bool unusual;        /* obs-fold, a line that is not a field or not ended by one CRLF */
} early_fields;

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

/* RFC 9110 §2.5: a request line of HTTP major version 1 with a higher minor one (HTTP/1.2) is
 * served as HTTP/1.1 (libh2o's parser does so); one of any other major version (HTTP/2.0, the
 * HTTP/2 preface "PRI * HTTP/2.0", HTTP/0.9 as written, HTTP/3.0) is answered 505 (§15.6.6) in
 * telltale's JSON, with Connection: close, as soon as the request line is in. libh2o would
 * answer its plain-text 400 (its parser knows only HTTP/1.x). */
static bool version_refusal(const char *line, const char *e, char *out, size_t cap, size_t *len)
{
    if (e - line < 9 || memcmp(e - 9, " HTTP/", 6) != 0 || e[-3] < '0' || e[-3] > '9' ||
        e[-3] == '1' || e[-2] != '.' || e[-1] < '0' || e[-1] > '9') {
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

/* The request line 'line' (up to its CR at 'eol') as METHOD SP TARGET SP HTTP/1.x in 'q'; false
 * if it is not that, which leaves the request to h2o. */
static bool read_request_line(const char *line, const char *eol, h2o_req_t *q)
{
    const char *sp1 = memchr(line, ' ', (size_t)(eol - line));
    const char *sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (*eol != '\r' || sp1 == NULL || sp2 == NULL || sp1 == line || sp2 == sp1 + 1 ||
        eol - sp2 != 9 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        return false;
    }
    q->version = memcmp(sp2 + 1, "HTTP/1.0", 8) == 0 ? 0x100 : 0x101; /* admit_host reads it */
    q->method = h2o_iovec_init(line, (size_t)(sp1 - line));
    q->path = h2o_iovec_init(sp1 + 1, (size_t)(sp2 - sp1 - 1));
    const char *qm = memchr(q->path.base, '?', q->path.len);
    q->query_at = qm != NULL ? (size_t)(qm - q->path.base) : SIZE_MAX;
    return true;
}

/* RFC 9110 §5.5: the spaces and tabs around a field value are not part of it. libh2o 2.2.5's
 * parser (picohttpparser) drops those before a value, not those after it, and reads some
 * values itself before telltale sees them: "Content-Length: 12 " was its 400, and
 * "Transfer-Encoding: chunked\t" its 501. So the value's trailing SP and HTAB (before 'eol')
 * are moved in place to the front of it, where the parser skips them. */
static void move_trailing_ows(char *colon, char *eol)
{
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

/* RFC 9110 §10.1.1: "A server that receives a 100-continue expectation in an HTTP/1.0 request
 * MUST ignore that expectation." libh2o 2.2.5 answers it whatever the version (an HTTP/1.0
 * client may take the interim "HTTP/1.1 100 Continue" for the final answer), so in an HTTP/1.0
 * request the field at 'p' is renamed in place to "Ignore", a field no code reads, when it is
 * an Expect asking for 100-continue: the request is served as if it had not asked. Over TLS h2o
 * reads the decrypted bytes itself, and still answers 100 (OPERATIONS). */
static void forget_expect(char *p, const char *colon, const char *eol)
{
    h2o_iovec_t v = trimmed(colon + 1, eol);
    if (colon - p == 6 && strncasecmp(p, "expect", 6) == 0 &&
        h2o_lcstris(v.base, v.len, H2O_STRLIT("100-continue"))) {
        memcpy(p, "Ignore", 6);
    }
}

/* The field line at 'p' (name up to 'colon', value up to 'eol') into 'f'. */
static void collect_field(early_fields *f, const char *p, const char *colon, const char *eol)
{
    size_t nlen = (size_t)(colon - p);
    h2o_iovec_t v = trimmed(colon + 1, eol);
    char *name = h2o_mem_alloc_pool(f->pool, nlen);
    for (size_t i = 0; i < nlen; i++) {
        name[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
    }
    if (h2o_memis(name, nlen, H2O_STRLIT("content-length"))) {
        f->lengths++;
        f->length = v;
    } else if (h2o_memis(name, nlen, H2O_STRLIT("expect"))) {
        f->expect += h2o_lcstris(v.base, v.len, H2O_STRLIT("100-continue")) ? 1 : 2;
    } else if (h2o_memis(name, nlen, H2O_STRLIT("host"))) {
        f->other += f->q->input.authority.base != NULL;
        f->q->input.authority = f->q->authority = v; /* h2o moves Host out of the list too */
    } else if (h2o_memis(name, nlen, H2O_STRLIT("transfer-encoding")) ||
               h2o_memis(name, nlen, H2O_STRLIT("upgrade"))) {
        f->other++;
    } else {
        h2o_add_header_by_str(f->pool, &f->q->headers, name, nlen, 1, NULL, v.base, v.len);
    }
}

/* The field lines from 'p' to 'end', each whole one once: its trailing OWS moved, an Expect
 * forgotten when 'http10', and, when 'f' is not NULL, what early_refusal needs gathered in it.
 * No byte is added or removed, and no line end moves (h2o resumes parsing a partial section at
 * the length it saw last); lines not yet ended and obs-fold lines are left as they are. Returns
 * the byte after the empty line that ends the header section, or NULL if it is not in. */
static char *read_fields(char *p, char *end, bool http10, early_fields *f)
{
    for (char *lf; p < end && (lf = memchr(p, '\n', (size_t)(end - p))); p = lf + 1) {
        char *eol = lf > p && lf[-1] == '\r' ? lf - 1 : lf;
        if (eol == p) {
            return lf + 1;
        }
        char *colon = memchr(p, ':', (size_t)(eol - p));
        bool field = p[0] != ' ' && p[0] != '\t' && colon != NULL;
        if (field) {
            move_trailing_ows(colon, eol);
        }
        if (field && http10) {
            forget_expect(p, colon, eol);
        }
        if (f == NULL) {
            continue;
        }
        if (!field || colon == p || eol == lf || memchr(p, '\r', (size_t)(eol - p)) != NULL) {
            f->unusual = true; /* h2o's to judge */
        } else {
            collect_field(f, p, colon, eol);
        }
    }
    return NULL;
}

/* Whether 'f' is one body of a known, non-zero length awaiting 100 Continue that its headers
 * refuse: the refusal is then in 'out'. Anything else is h2o's. */
static bool refuse_fields(http_server *hs, early_fields *f, char *out, size_t cap, size_t *len)
{
    size_t cl = 0;
    for (size_t i = 0; i < f->length.len && cl <= SIZE_MAX / 10 - 10; i++) {
        if (f->length.base[i] < '0' || f->length.base[i] > '9') {
            return false;
        }
        cl = cl * 10 + (size_t)(f->length.base[i] - '0');
    }
    if (f->unusual || f->expect != 1 || f->lengths != 1 || f->length.len == 0 || f->other != 0 ||
        cl == 0) {
        return false;
    }
    f->q->entity = h2o_iovec_init(f->q->path.base, cl); /* admit_framing reads its length */
    return http_refuse_early(hs, f->q, out, cap, len);
}

bool early_refusal(http_server *hs, char *b, size_t n, char *out, size_t cap, size_t *len)
{
    char *end = b + (n < EARLY_SCAN_MAX ? n : EARLY_SCAN_MAX), *line = b;
    while (line < end && (*line == '\r' || *line == '\n')) {
        line++; /* empty lines before the request line (RFC 9112 §2.2), as h2o's parser skips */
    }
    char *lf = memchr(line, '\n', (size_t)(end - line));
    if (lf == NULL) {
        return false; /* the request line is not yet in */
    }
    char *eol = lf > line && lf[-1] == '\r' ? lf - 1 : lf;
    if (version_refusal(line, eol, out, cap, len)) {
        return true;
    }
    bool http10 = eol - line >= 9 && memcmp(eol - 9, " HTTP/1.0", 9) == 0;
    /* only a section that ends the buffer can be refused: the body (or another request) has
     * not followed at once */
    bool whole = n >= 4 && n <= EARLY_SCAN_MAX && memcmp(b + n - 4, "\r\n\r\n", 4) == 0;
    if (!whole) {
        read_fields(lf + 1, end, http10, NULL);
        return false;
    }
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    h2o_req_t q;
    memset(&q, 0, sizeof q);
    early_fields f = {.pool = &pool, .q = &q};
    f.unusual = !read_request_line(line, eol, &q);
    bool refused =
        read_fields(lf + 1, end, http10, &f) == b + n && refuse_fields(hs, &f, out, cap, len);
    h2o_mem_clear_pool(&pool);
    return refused;
}
