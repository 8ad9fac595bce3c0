/* headers.c -- header fields, path and query string of a request as libh2o parsed them, and the
 * extra header fields of a response. Look-ups only: no answer is written here. Loop thread. */
#include "http/http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ARGS_TEXT_MAX 8192

/* The header fields telltale reads, and whether each is a list (RFC 9110 §5.3: several field
 * lines of one name are one list, in order, joined by commas). A field that is not a list must
 * not be sent twice (RFC 9110 §5.3, RFC 9112 §3.2 for Host, RFC 6454 §7.3 for Origin, RFC 6455
 * §11.3.1 for Sec-WebSocket-Key): were the first line taken, a second that a proxy added, or
 * that one party reads and another does not, would be lost -- an apikey beside another apikey
 * is a question of which one counts, so neither does. A field read here must be in this table:
 * one not in it is read as one that must come once. */
static const struct field {
    const char *name;
    bool list;
} fields[] = {
    {"x-forwarded-for", true},
    {"accept", true},
    {"accept-encoding", true},
    {"content-encoding", true},
    {"if-match", true},
    {"if-none-match", true},
    {"prefer", true},
    {"apikey", false},
    {"authorization", false},
    {"content-type", false},
    {"origin", false},
    {"host", false},
    {"accept-profile", false},
    {"content-profile", false},
    {"sec-websocket-key", false},
    {"sec-websocket-version", false},
};

static bool is_list(const char *name)
{
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (strcmp(fields[i].name, name) == 0) {
            return fields[i].list;
        }
    }
    return false;
}

/* 'v' without the spaces and tabs around it: they are not part of a value (RFC 9110 §5.5);
 * picohttpparser drops them, h2o's authority and header lists are not promised to. */
static h2o_iovec_t trimmed(h2o_iovec_t v)
{
    while (v.len > 0 && (v.base[0] == ' ' || v.base[0] == '\t')) {
        v.base++;
        v.len--;
    }
    while (v.len > 0 && (v.base[v.len - 1] == ' ' || v.base[v.len - 1] == '\t')) {
        v.len--;
    }
    return v;
}

/* A request target in absolute form ("http://host:8080/p?q", RFC 9112 §3.2.2), which a server
 * must accept as well as the origin form ("/p?q"): its authority in *authority and where its
 * path begins (the end of the authority, before any query) in *path_at. False for any other
 * form. */
static bool absolute_form(const h2o_req_t *q, h2o_iovec_t *authority, size_t *path_at)
{
    static const char *const schemes[] = {"http://", "https://"};
    size_t n = q->query_at != SIZE_MAX ? q->query_at : q->path.len;
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t k = strlen(schemes[i]);
        if (n >= k && h2o_lcstris(q->path.base, k, schemes[i], k)) {
            const char *slash = memchr(q->path.base + k, '/', n - k);
            *path_at = slash != NULL ? (size_t)(slash - q->path.base) : n;
            *authority = h2o_iovec_init(q->path.base + k, *path_at - k);
            return true;
        }
    }
    return false;
}

bool headers_host_field(const h2o_req_t *q, h2o_iovec_t *v)
{
    /* h2o moves Host out of the header list into input.authority, where it puts its host's own
     * name ("default") when none was sent (lib/core/request.c, setup_before_processing) */
    if (q->input.authority.base == NULL ||
        (q->hostconf != NULL && q->input.authority.base == q->hostconf->authority.hostport.base)) {
        return false;
    }
    *v = trimmed(q->input.authority);
    return true;
}

bool headers_target_authority(const h2o_req_t *q, h2o_iovec_t *v)
{
    size_t path_at;
    return absolute_form(q, v, &path_at);
}

bool headers_get(const h2o_req_t *q, const char *name, char *dst, size_t len)
{
    size_t n = strlen(name), used = 0;
    bool found = false, fits = true;
    dst[0] = '\0';
    if (n == 4 && memcmp(name, "host", 4) == 0) {
        /* an absolute-form target's authority replaces Host (RFC 9112 §3.2.2) */
        h2o_iovec_t v;
        if (!headers_target_authority(q, &v) && !headers_host_field(q, &v)) {
            return false;
        }
        v = trimmed(v);
        if (v.len < len) {
            memcpy(dst, v.base, v.len);
            dst[v.len] = '\0';
        }
        return true;
    }
    /* every line of a list, in order, as one value; the first of any other (admit_repeats
     * has refused a request that sends one twice) */
    bool list = is_list(name);
    for (ssize_t i = -1; (i = h2o_find_header_by_str(&q->headers, name, n, i)) != -1;) {
        h2o_iovec_t v = trimmed(q->headers.entries[i].value);
        if (found && !list) {
            break;
        }
        found = true;
        if (v.len == 0) {
            continue; /* an empty line adds no element to a list (RFC 9110 §5.6.1) */
        }
        size_t sep = used > 0 ? 2 : 0;
        if (!fits || used + sep + v.len >= len) {
            fits = false;
            continue;
        }
        memcpy(dst + used, ", ", sep);
        memcpy(dst + used + sep, v.base, v.len);
        used += sep + v.len;
        dst[used] = '\0';
    }
    if (!fits) {
        dst[0] = '\0'; /* too long is no value of ours: as if absent, but sent */
    }
    return found;
}

bool headers_has(const h2o_req_t *q, const char *name)
{
    return h2o_find_header_by_str(&q->headers, name, strlen(name), -1) != -1;
}

bool headers_has_token(const h2o_req_t *q, const h2o_token_t *token, const char *value)
{
    for (ssize_t i = -1; (i = h2o_find_header(&q->headers, token, i)) != -1;) {
        const h2o_iovec_t *v = &q->headers.entries[i].value;
        if (h2o_contains_token(v->base, v->len, value, strlen(value), ',')) {
            return true;
        }
    }
    return false;
}

void headers_add_response(h2o_req_t *q, const char *name, const char *value)
{
    if (value == NULL) {
        return;
    }
    size_t n = strlen(name);
    n -= n > 0 && name[n - 1] == ':'; /* a name given with its colon */
    h2o_add_header_by_str(&q->pool, &q->res.headers, name, n, 1, NULL, value, strlen(value));
}

bool headers_raw_field(const char *line, size_t len, const char *name, const char **v, size_t *n)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':') {
        return false;
    }
    const char *b = line + nl + 1, *e = line + len;
    while (b < e && (*b == ' ' || *b == '\t')) {
        b++;
    }
    while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) {
        e--;
    }
    *v = b;
    *n = (size_t)(e - b);
    return true;
}

/* How many Host lines the raw header section of 'q' holds: h2o keeps the last as the
 * authority and no line in its list. The section is still in h2o's input buffer while the
 * request is handled (admit_raw_framing). */
static int raw_host_lines(const h2o_req_t *q)
{
    h2o_socket_t *sock = q->conn != NULL && q->conn->callbacks->get_socket != NULL
                             ? q->conn->callbacks->get_socket(q->conn)
                             : NULL; /* early.c's request has no connection: it counts its own */
    if (sock == NULL || sock->input == NULL) {
        return 0;
    }
    const char *p = sock->input->bytes, *end = p + sock->input->size;
    int hosts = 0;
    const char *nl = memchr(p, '\n', (size_t)(end - p)); /* skip the request line */
    for (p = nl != NULL ? nl + 1 : end; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((eol != NULL ? eol : end) - p), n;
        const char *v;
        if (len == 0 || (len == 1 && p[0] == '\r') || eol == NULL) {
            break; /* the end of the header section */
        }
        hosts += headers_raw_field(p, len, "host", &v, &n);
        p = eol + 1;
    }
    return hosts;
}

const char *headers_repeated(const h2o_req_t *q)
{
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
        const char *name = fields[k].name;
        size_t n = strlen(name);
        ssize_t i;
        if (fields[k].list) {
            continue;
        }
        if (strcmp(name, "host") == 0
                ? raw_host_lines(q) > 1
                : (i = h2o_find_header_by_str(&q->headers, name, n, -1)) != -1 &&
                      h2o_find_header_by_str(&q->headers, name, n, i) != -1) {
            return name;
        }
    }
    return NULL;
}

bool http_req_header(const http_req *r, const char *name, char *dst, size_t len)
{
    return headers_get(r->h2o, name, dst, len);
}

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* %-decodes 'n' bytes of 'in' into 'out' (NUL-terminated, at most 'cap' - 1 bytes); '+' is a
 * space when 'plus'. Returns the length, -1 if it does not fit, -2 for a '%' not followed by
 * two hex digits (RFC 3986 §2.1); on either error 'out' holds the part decoded before it. */
static ssize_t pct_decode(const char *in, size_t n, char *out, size_t cap, bool plus)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)in[i];
        if (c == '%') {
            if (!(i + 2 < n && hexval(in[i + 1]) >= 0 && hexval(in[i + 2]) >= 0)) {
                out[o] = '\0';
                return -2;
            }
            c = hexval(in[i + 1]) << 4 | hexval(in[i + 2]);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (o + 1 >= cap) {
            out[o] = '\0';
            return -1;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (ssize_t)o;
}

/* Collapses "//", "/./" and "/../" in place (RFC 3986 §5.2.4's dot segments, and empty ones),
 * so that a route matches one spelling of its path. */
static void normalise(char *p)
{
    char *out = p, *in = p;
    while (*in != '\0') {
        if (in[0] == '/' && in[1] == '/') {
            in++;
        } else if (in[0] == '/' && in[1] == '.' && (in[2] == '/' || in[2] == '\0')) {
            in += 2;
            if (*in == '\0') {
                *out++ = '/';
            }
        } else if (in[0] == '/' && in[1] == '.' && in[2] == '.' &&
                   (in[3] == '/' || in[3] == '\0')) {
            in += 3;
            while (out > p && *--out != '/') {
            }
            if (*in == '\0') {
                *out++ = '/';
            }
        } else {
            *out++ = *in++;
        }
    }
    if (out == p) {
        *out++ = '/';
    }
    *out = '\0';
}

int headers_path(const h2o_req_t *q, char *out, size_t len)
{
    size_t n = q->query_at != SIZE_MAX ? q->query_at : q->path.len, at = 0;
    h2o_iovec_t authority;
    if (!absolute_form(q, &authority, &at)) {
        at = 0;
    }
    ssize_t rc = pct_decode(q->path.base + at, n - at, out, len, false);
    if (rc < 0) {
        return (int)rc;
    }
    normalise(out);
    return 0;
}

/* Splits the query into name/value pairs, %-decoded. Returns 0, -1 if there are too many or
 * they are too long, -2 for a malformed %-escape. */
int headers_parse_args(http_req *r)
{
    const h2o_req_t *q = r->h2o;
    if (q->query_at == SIZE_MAX || q->query_at + 1 >= q->path.len) {
        return 0;
    }
    const char *qs = q->path.base + q->query_at + 1;
    size_t total = q->path.len - q->query_at - 1;
    if (total > ARGS_TEXT_MAX || (r->args_text = malloc(total + 2 * HTTP_MAX_ARGS + 2)) == NULL) {
        return -1;
    }
    char *cursor = r->args_text;
    size_t left = total + 2 * HTTP_MAX_ARGS + 2;
    for (size_t i = 0; i < total;) {
        const char *amp = memchr(qs + i, '&', total - i); /* h2o's path is not NUL-ended */
        size_t n = amp != NULL ? (size_t)(amp - (qs + i)) : total - i;
        if (n > 0) {
            if (r->nargs == HTTP_MAX_ARGS) {
                return -1;
            }
            const char *eq = memchr(qs + i, '=', n);
            size_t nlen = eq != NULL ? (size_t)(eq - (qs + i)) : n;
            ssize_t a = pct_decode(qs + i, nlen, cursor, left, true);
            if (a < 0) {
                return (int)a;
            }
            const char *name = cursor;
            cursor += a + 1;
            left -= (size_t)a + 1;
            const char *value = "";
            if (eq != NULL) {
                ssize_t b = pct_decode(eq + 1, n - nlen - 1, cursor, left, true);
                if (b < 0) {
                    return (int)b;
                }
                value = cursor;
                cursor += b + 1;
                left -= (size_t)b + 1;
            }
            r->args[r->nargs++] = (http_arg){name, value};
        }
        i += n + 1;
    }
    return 0;
}

bool headers_arg_once(const http_req *r, int i, char *msg, size_t len)
{
    for (int k = 0; k < i; k++) {
        if (strcmp(r->args[k].name, r->args[i].name) == 0) {
            snprintf(msg, len, "parameter '%.64s' given more than once: give it once",
                     r->args[i].name);
            return false;
        }
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

bool http_etag_matches(const char *if_none_match, const char *etag)
{
    const char *h = if_none_match;
    size_t n = strlen(etag);
    while (*h != '\0') {
        h += strspn(h, " \t,");
        if (*h == '*') {
            return true;
        }
        if (strncmp(h, "W/", 2) == 0) {
            h += 2;
        }
        if (strncmp(h, etag, n) == 0 && (h[n] == '\0' || strchr(" \t,", h[n]) != NULL)) {
            return true;
        }
        h += strcspn(h, ",");
    }
    return false;
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

const http_param http_query_own[] = {{NULL, false}};

static const http_param *param_of(const http_param *params, const char *name)
{
    for (const http_param *p = params; p != NULL && p->name != NULL; p++) {
        if (strcmp(p->name, name) == 0) {
            return p;
        }
    }
    return NULL;
}

/* "(allowed: a, b, c)", or "(this route takes none)". */
static void list_params(const http_param *params, char *out, size_t len)
{
    size_t used = (size_t)snprintf(out, len, "(%s",
                                   params == NULL || params->name == NULL ? "this route takes none"
                                                                          : "allowed: ");
    for (const http_param *p = params; p != NULL && p->name != NULL && used < len; p++) {
        used += (size_t)snprintf(out + used, len - used, "%s%s", p == params ? "" : ", ", p->name);
    }
    if (used < len) {
        snprintf(out + used, len - used, ")");
    }
}

bool http_args_check(const http_req *r, const http_param *params, char *msg, size_t len)
{
    for (int i = 0; i < r->nargs; i++) {
        const char *name = r->args[i].name;
        const http_param *p = param_of(params, name);
        if (p == NULL) {
            char allowed[256];
            list_params(params, allowed, sizeof allowed);
            snprintf(msg, len, "unknown parameter '%.64s' %s", name, allowed);
            return false;
        }
        if (!p->any_of && !headers_arg_once(r, i, msg, len)) {
            return false;
        }
    }
    for (int i = 0; i < r->nargs; i++) {
        if (r->args[i].value == NULL || r->args[i].value[0] == '\0') {
            snprintf(msg, len, "parameter '%.64s' is empty: give it a value, or leave it out",
                     r->args[i].name);
            return false;
        }
    }
    return true;
}

bool http_int_arg(const http_req *r, const char *name, int64_t min, int64_t max, int64_t *out,
                  char *msg, size_t len)
{
    const char *v = http_arg_value(r, name);
    if (v == NULL || http_parse_int(v, min, max, out)) {
        return true;
    }
    snprintf(msg, len, "parameter '%s' must be an integer from %lld to %lld", name, (long long)min,
             (long long)max);
    return false;
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
