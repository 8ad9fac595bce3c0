/* headers.c -- header fields and the query string of a request as lws parsed them, and the
 * extra header fields of a response. Look-ups only: no answer is written here. Loop thread. */
#include "http/http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGS_TEXT_MAX 8192

/* 's' without the spaces and tabs around it, in place: they are not part of a field value
 * (RFC 9110 §5.5). */
static void trim_ows(char *s)
{
    size_t start = strspn(s, " \t"), n = strlen(s);
    while (n > start && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        n--;
    }
    memmove(s, s + start, n - start);
    s[n - start] = '\0';
}

void http_header_copy(struct lws *wsi, enum lws_token_indexes token, char *dst, size_t len)
{
    dst[0] = '\0';
    if (lws_hdr_total_length(wsi, token) > 0 && lws_hdr_copy(wsi, dst, (int)len, token) < 0) {
        dst[0] = '\0'; /* longer than we care for: treated as absent */
    }
    trim_ows(dst);
}

void http_header_custom_copy(struct lws *wsi, const char *name, char *dst, size_t len)
{
    int n = (int)strlen(name);
    dst[0] = '\0';
    if (lws_hdr_custom_length(wsi, name, n) > 0 &&
        lws_hdr_custom_copy(wsi, dst, (int)len, name, n) < 0) {
        dst[0] = '\0';
    }
    trim_ows(dst);
}

/* Whether a query component is empty ("/health?", "?a=1&", "?&"): nothing, as a form
 * encoding reads it (WHATWG URL, application/x-www-form-urlencoded parsing, step 3.1), not a
 * parameter named "". lws hands an empty last component over as "/" (its path clean-up run on
 * the query): taken as empty too. */
static bool empty_component(const char *name, bool has_value)
{
    return !has_value && (name[0] == '\0' || strcmp(name, "/") == 0);
}

/* Splits the query into name/value pairs (lws has already %-decoded them). Returns false if
 * there are too many or they are too long. */
bool headers_parse_args(struct lws *wsi, http_req *r)
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
        if (!empty_component(cursor, eq != NULL)) {
            r->args[r->nargs++] = (http_arg){cursor, eq != NULL ? eq + 1 : ""};
        }
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
        for (int k = 0; k < i && !p->any_of; k++) {
            if (strcmp(r->args[k].name, name) == 0) {
                snprintf(msg, len, "parameter '%s' given more than once: give it once", name);
                return false;
            }
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
