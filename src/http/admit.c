/* admit.c -- what a request's headers must pass before its body is read (DESIGN §5, "The HTTP
 * edge"): the size of the header section, the framing of the body, the Origin of a request
 * that changes state, the media type and coding of its body, its size; and the interim
 * 100 Continue. A refusal is described in an http_error; answering is http.c's. Loop thread. */
#include "http/http_internal.h"

#include "core/media_type.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool http_takes_body(http_method m)
{
    return m == HTTP_POST || m == HTTP_PUT || m == HTTP_PATCH;
}

size_t admit_header_bytes(const h2o_req_t *q)
{
    size_t total = q->input.authority.len;
    for (size_t i = 0; i < q->headers.size; i++) {
        total += q->headers.entries[i].name->len + q->headers.entries[i].value.len;
    }
    return total;
}

bool admit_header_size(const h2o_req_t *q, http_error *e)
{
    if (admit_header_bytes(q) <= HEADER_BYTES_MAX) {
        return true;
    }
    *e = (http_error){.status = 431,
                      .code = "header_fields_too_large",
                      .message = "the request's header fields exceed 16384 bytes together (names "
                                 "and values, RFC 6585 §5): send fewer or shorter ones"};
    return false;
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

bool admit_origin(const h2o_req_t *q, const char *allow_origins)
{
    char origin[256], host[256];
    if (!headers_has(q, "origin") || strcmp(allow_origins, "*") == 0) {
        return true; /* not sent by a browser's cross-site request (or every origin allowed) */
    }
    headers_get(q, "origin", origin, sizeof origin);
    headers_get(q, "host", host, sizeof host);
    return origin[0] != '\0' && (is_own(origin, host) || listed(origin, allow_origins));
}

/* RFC 3986 §2.2-2.3: a character a reg-name may hold as it is (unreserved, sub-delims). */
static bool reg_name_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("-._~!$&'()*+,;=", c) != NULL);
}

/* IP-literal without its brackets (RFC 3986 §3.2.2): an IPv6 address, or IPvFuture,
 * "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ). */
static bool ip_literal(const char *s, size_t n)
{
    char buf[INET6_ADDRSTRLEN];
    unsigned char addr[16];
    if (n > 0 && (s[0] == 'v' || s[0] == 'V')) {
        size_t i = 1;
        while (i < n && isxdigit((unsigned char)s[i])) {
            i++;
        }
        if (i == 1 || i + 1 >= n || s[i] != '.') {
            return false;
        }
        for (i++; i < n; i++) {
            if (s[i] != ':' && !reg_name_char((unsigned char)s[i])) {
                return false;
            }
        }
        return true;
    }
    if (n == 0 || n >= sizeof buf) {
        return false;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    return inet_pton(AF_INET6, buf, addr) == 1;
}

/* uri-host [ ":" port ] (RFC 9112 §3.2, RFC 3986 §3.2.2-3.2.3): a reg-name (which an IPv4
 * address is, as written) or an IP-literal in brackets, then an optional port of at most
 * 65535 (the grammar's *DIGIT, within what TCP can name). 'host_required': the host may not be
 * empty (an http URI's, RFC 9110 §4.2.1); a Host field may be. */
static bool uri_host(const char *s, size_t n, bool host_required)
{
    const char *p = s, *end = s + n;
    if (p < end && *p == '[') {
        const char *close = memchr(p, ']', n);
        if (close == NULL || !ip_literal(p + 1, (size_t)(close - p - 1))) {
            return false;
        }
        p = close + 1;
    } else {
        for (; p < end && *p != ':'; p++) {
            if (*p == '%' && end - p > 2 && isxdigit((unsigned char)p[1]) &&
                isxdigit((unsigned char)p[2])) {
                p += 2;
            } else if (!reg_name_char((unsigned char)*p)) {
                return false;
            }
        }
        if (p == s && host_required) {
            return false;
        }
    }
    if (p == end) {
        return true;
    }
    unsigned long port = 0;
    size_t digits = 0;
    for (p += *p == ':'; p < end && digits < 6 && *p >= '0' && *p <= '9'; p++, digits++) {
        port = port * 10 + (unsigned long)(*p - '0');
    }
    return p == end && port <= 65535 && s[n - digits - 1] == ':';
}

bool admit_host(const h2o_req_t *q, http_error *e)
{
    h2o_iovec_t host, target;
    bool sent = headers_host_field(q, &host);
    if (!sent && q->version >= 0x101) {
        *e = (http_error){.status = 400,
                          .code = "missing_host",
                          .message = "an HTTP/1.1 request must carry Host (RFC 9112 §3.2): the "
                                     "host and port of the URL, or an empty value if it has none"};
        return false;
    }
    if ((sent && !uri_host(host.base, host.len, false)) ||
        (headers_target_authority(q, &target) && !uri_host(target.base, target.len, true))) {
        *e = (http_error){
            .status = 400,
            .code = "invalid_host",
            .message = "the Host (or the request target's authority) is not a host with an "
                       "optional port (RFC 9112 §3.2, RFC 3986 §3.2.2): a name, an IPv4 address "
                       "or an IPv6 address in brackets, then ':' and a port up to 65535 if any"};
        return false;
    }
    return true;
}

static bool changes_state(http_method m)
{
    return http_takes_body(m) || m == HTTP_DELETE;
}

/* The framing of the body (RFC 9112 §6). libh2o 2.2.5 has read the body whole before the
 * handler runs, through Content-Length or the chunked coding (decoded), and took both headers
 * out of the list: what is left to see is whether there was a body at all. A POST, PUT or
 * PATCH without either header is refused 411. False if refused, with 'e'. */
bool admit_framing(http_req *r, http_error *e)
{
    const h2o_req_t *q = r->h2o;
    if (q->entity.base != NULL) {
        r->has_length = true;
        r->content_length = q->entity.len;
    }
    if (http_takes_body(r->method) && !r->has_length) {
        *e = (http_error){.status = 411,
                          .code = "length_required",
                          .message =
                              "send the body with Content-Length or Transfer-Encoding: chunked"};
        return false;
    }
    return true;
}

bool admit_repeats(const h2o_req_t *q, http_error *e, char *msg, size_t len)
{
    const char *name = headers_repeated(q);
    if (name == NULL) {
        return true;
    }
    snprintf(msg, len,
             "the header '%s' was sent more than once: it is not a list, so send it once (RFC "
             "9110 §5.3)",
             name);
    *e = (http_error){.status = 400, .code = "repeated_header", .message = msg};
    return false;
}

bool admit_args(http_req *r, http_error *e)
{
    int args = headers_parse_args(r);
    if (args == -2) {
        *e = (http_error){.status = 400,
                          .code = "invalid_percent_encoding",
                          .message = "the query has a '%' not followed by two hex digits"};
    } else if (args != 0) {
        *e = (http_error){.status = 414,
                          .code = "query_too_long",
                          .message = "the query string is too long or has too many parameters"};
    }
    return args == 0;
}

/* libh2o 2.2.5 takes Transfer-Encoding over Content-Length when both are sent, and the first
 * of several Content-Lengths, and keeps neither header in the request it hands over. Either is
 * how a request is smuggled past a proxy that reads the other (RFC 9112 §6.3, §11.2). The
 * header section is still in h2o's input buffer while the request is handled (lib/http1.c
 * consumes it after the response), so it is read again here for these two fields.
 *
 * One rule for Content-Length: exactly one field line whose value is 1*DIGIT. RFC 9110 §8.6
 * lets a recipient take "12, 12" or two lines of 12 as 12, or refuse them; a proxy in front may
 * do either, or take only the first or the last line, so any second value, equal or not, is a
 * framing two parties can read differently. Refused (400, RFC 9112 §6.3 item 5), and the
 * connection closes: where this request's body ends, and so where the next request begins, is
 * not known. libh2o refuses a value that is not digits itself ("12, 12", "+12"): the filter of
 * http_server.c words that refusal with this one. */
bool admit_raw_framing(http_req *r, http_error *e)
{
    if (admit_raw_framing_of(r->h2o, e)) {
        return true;
    }
    r->close_after = true;
    return false;
}

static bool all_digits(const char *v, size_t n)
{
    size_t i = 0;
    while (i < n && v[i] >= '0' && v[i] <= '9') {
        i++;
    }
    return n > 0 && i == n;
}

bool admit_raw_framing_of(const h2o_req_t *q, http_error *e)
{
    h2o_socket_t *sock =
        q->conn->callbacks->get_socket != NULL ? q->conn->callbacks->get_socket(q->conn) : NULL;
    if (sock == NULL || sock->input == NULL) {
        return true;
    }
    const char *p = sock->input->bytes, *end = p + sock->input->size;
    int lengths = 0, codings = 0;
    bool digits = true; /* every Content-Length value is 1*DIGIT */
    const char *nl = memchr(p, '\n', (size_t)(end - p)); /* skip the request line */
    for (p = nl != NULL ? nl + 1 : end; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((eol != NULL ? eol : end) - p);
        if (len == 0 || (len == 1 && p[0] == '\r')) {
            break; /* the end of the header section */
        }
        const char *v;
        size_t n;
        if (headers_raw_field(p, len, "content-length", &v, &n)) {
            lengths++;
            digits = digits && all_digits(v, n);
        } else if (headers_raw_field(p, len, "transfer-encoding", &v, &n)) {
            codings++;
        }
        if (eol == NULL) {
            break;
        }
        p = eol + 1;
    }
    if (lengths > 0 && codings > 0) {
        *e = (http_error){.status = 400,
                          .code = "conflicting_framing",
                          .message =
                              "send Content-Length or Transfer-Encoding, not both (RFC 9112 §6.1)"};
        return false;
    }
    if (lengths > 1 || !digits) {
        *e = (http_error){.status = 400,
                          .code = "invalid_content_length",
                          .message = ADMIT_ONE_LENGTH};
        return false;
    }
    return true;
}

size_t admit_raw_announced(const char *p, size_t n, uint64_t max_body)
{
    const char *end = p + n;
    uint64_t announced = 0;
    const char *nl = memchr(p, '\n', n); /* skip the request line */
    for (p = nl != NULL ? nl + 1 : end; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((eol != NULL ? eol : end) - p);
        if (len == 0 || (len == 1 && p[0] == '\r')) {
            break;
        }
        const char *v;
        size_t vn;
        if (headers_raw_field(p, len, "transfer-encoding", &v, &vn)) {
            return (size_t)max_body; /* chunked: its size is unknown, so up to --max-body */
        }
        if (headers_raw_field(p, len, "content-length", &v, &vn) && announced == 0) {
            for (size_t i = 0; i < vn && v[i] >= '0' && v[i] <= '9' && announced <= max_body; i++) {
                announced = announced * 10 + (uint64_t)(v[i] - '0');
            }
        }
        if (eol == NULL) {
            break;
        }
        p = eol + 1;
    }
    return (size_t)(announced < max_body ? announced : max_body);
}

/* What the headers say about the body: who sends it, its type, its coding, its size. False
 * if refused, with 'e' (and maybe an Accept-Encoding header added). */
bool admit_body(http_req *r, http_error *e)
{
    const tt_config *cfg = r->hs->cfg;
    char coding[64];
    bool has_body = r->chunked || r->content_length > 0;
    if (has_body && !http_takes_body(r->method)) {
        /* The body is not framed as this method's requests are by everyone: the next
         * request's start is uncertain (RFC 9112 §6.3), so the connection ends. */
        r->close_after = true; /* DESIGN §5: a body where none belongs ends the connection */
        *e = (http_error){.status = 400,
                          .code = "unexpected_body",
                          .message = "this method takes no body (RFC 9110 §9.3)"};
        return false;
    }
    if (changes_state(r->method) && !admit_origin(r->h2o, cfg->allow_origins)) {
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
    headers_get(r->h2o, "content-encoding", coding, sizeof coding);
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
