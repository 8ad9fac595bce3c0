/* api_call.c -- store work for a request, off the loop, answered on it. */
#include "api/api_call.h"

#include "core/json_scan.h"
#include "os/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void run(void *arg)
{
    api_call *c = arg;
    c->status = 500;
    c->work(c);
}

static void answer(http_req *r, api_call *c)
{
    if (c->etag[0] != '\0') {
        http_add_header(r, "etag:", c->etag);
    }
    if (c->store_failed) {
        log_warn("%s: %s", r->path, c->err);
        r->retry_after = 1;
        http_respond_error(r, 503, "store_unavailable",
                           "the store could not be reached; retry shortly");
    } else if (c->status == 304 || c->status == 204) {
        http_respond_static(r, c->status, "application/json", NULL, 0);
    } else if (c->body.out.buf != NULL || c->body.out.oom) {
        http_respond_written(r, c->status, &c->body);
    } else {
        http_respond_error(r, c->status, c->code != NULL ? c->code : "internal", c->err);
    }
}

static void done(http_req *r, void *arg)
{
    api_call *c = arg;
    if (r != NULL) {
        answer(r, c);
    }
    if (c->after != NULL) {
        c->after(c);
    }
    free(c->body.out.buf);
    free(c->args);
    free(c);
}

void api_call_run(api_ctx *ctx, http_req *r, api_work_fn work, api_after_fn after, void *args)
{
    api_call *c = calloc(1, sizeof *c);
    if (c == NULL) {
        free(args);
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return;
    }
    *c = (api_call){.ctx = ctx, .st = ctx->st, .work = work, .after = after, .args = args};
    if (http_defer(r, run, done, c) != 0) {
        free(args);
        free(c);
    }
}

void api_call_store_failed(api_call *c, int rc)
{
    (void)rc;
    c->store_failed = true;
    free(c->body.out.buf);
    c->body = (json_writer){0};
}

void api_call_error(api_call *c, int status, const char *code, const char *fmt, ...)
{
    c->status = status;
    c->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
}

/* Why 'tag' (the If-Match value, neither empty nor "*") names no version; false if it does,
 * with *version set. */
static bool if_match_wrong(const char *tag, int64_t *version, char why[API_WHY_LEN])
{
    size_t n = strlen(tag);
    bool quoted = n >= 2 && tag[0] == '"' && tag[n - 1] == '"';
    char inner[24] = "";
    if (quoted && n - 2 < sizeof inner) {
        memcpy(inner, tag + 1, n - 2);
        inner[n - 2] = '\0';
    }
    if (strncmp(tag, "W/", 2) == 0) {
        snprintf(why, API_WHY_LEN,
                 "If-Match compares entity-tags strongly (RFC 9110 13.1.1): the weak %.32s never "
                 "matches; send %.32s",
                 tag, tag + 2);
    } else if (strchr(tag, ',') != NULL) {
        snprintf(why, API_WHY_LEN, "If-Match takes one entity-tag here, or *, not a list");
    } else if (!quoted) {
        snprintf(why, API_WHY_LEN, "an entity-tag is quoted: write If-Match: \"%.40s\"", tag);
    } else if (strspn(inner, "0") == strlen(inner) && inner[0] != '\0') {
        snprintf(why, API_WHY_LEN, "If-Match names no version 0: versions start at 1");
    } else if (inner[0] == '0') {
        snprintf(why, API_WHY_LEN,
                 "If-Match %.40s is no tag the server issued: a version is written without "
                 "leading zeros, e.g. \"%.20s\"",
                 tag, inner + strspn(inner, "0"));
    } else if (!http_parse_int(inner, 1, INT64_MAX, version)) {
        snprintf(why, API_WHY_LEN,
                 "If-Match %.40s names no version: a version is a whole number from 1, in "
                 "quotes, e.g. \"3\"",
                 tag);
    } else {
        return false;
    }
    return true;
}

int64_t api_if_match(const http_req *r, char why[API_WHY_LEN])
{
    const char *s = r->if_match;
    int64_t v;
    if (s[0] == '\0') {
        return 0;
    }
    if (strcmp(s, "*") == 0) {
        return -2;
    }
    return if_match_wrong(s, &v, why) ? -1 : v;
}

cJSON *api_body_json(http_req *r)
{
    size_t where = 0;
    json_scan_result scan =
        r->body != NULL ? json_scan(r->body, r->body_len, 64, &where) : JSON_SCAN_BAD_BYTE;
    cJSON *tree = scan == JSON_SCAN_OK ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    if (tree == NULL) {
        char m[160];
        snprintf(m, sizeof m, "the body must be one JSON value%s%s",
                 scan != JSON_SCAN_OK && r->body != NULL ? ": " : "",
                 scan != JSON_SCAN_OK && r->body != NULL ? json_scan_describe(scan) : "");
        http_respond_error(r, 400, "invalid_json", m);
    }
    return tree;
}

bool api_etag_matches(const char *if_none_match, const char *etag)
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
