/* api_call.c -- store work for a request, off the loop, answered on it. */
#include "api/api_call.h"

#include "api/sql_text.h"

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

bool api_time_arg(const http_req *r, const char *name, int64_t *out_ms, char *msg, size_t len)
{
    const char *v = http_arg_value(r, name);
    if (v == NULL || api_parse_time(v, out_ms)) {
        return true;
    }
    snprintf(msg, len,
             "parameter '%s' must be an RFC 3339 time or epoch milliseconds (an integer from 0 "
             "to %lld)",
             name, (long long)INT64_MAX);
    return false;
}

bool api_list_check(const char *name, const char *v, char *msg, size_t len)
{
    for (const char *p = v;; p += strcspn(p, ",") + 1) {
        size_t n = strcspn(p, ",");
        if (n == 0) {
            snprintf(msg, len, "parameter '%.64s' has an empty entry: list them as a,b", name);
            return false;
        }
        /* Lists are short (a route's few names): comparing each with those before is enough. */
        for (const char *q = v; q < p; q += strcspn(q, ",") + 1) {
            if (strcspn(q, ",") == n && strncmp(q, p, n) == 0) {
                snprintf(msg, len, "parameter '%.64s' gives '%.*s' twice: give each once", name,
                         (int)(n > 64 ? 64 : n), p);
                return false;
            }
        }
        if (p[n] == '\0') {
            return true;
        }
    }
}

cJSON *api_body_json(http_req *r)
{
    size_t where = 0;
    json_scan_result scan =
        r->body != NULL ? json_scan(r->body, r->body_len, 64, &where) : JSON_SCAN_BAD_BYTE;
    cJSON *tree = scan == JSON_SCAN_OK ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    if (tree == NULL) {
        char m[TT_ERRLEN], why[TT_ERRLEN - 64];
        bool scanned = scan != JSON_SCAN_OK && r->body != NULL;
        snprintf(m, sizeof m, "the body must be one JSON value%s%s", scanned ? ": " : "",
                 scanned ? json_scan_explain(scan, where, why, sizeof why) : "");
        http_respond_error(r, 400, "invalid_json", m);
        return NULL;
    }
    const char *dup = json_duplicate_member(tree);
    if (dup != NULL) {
        char m[TT_ERRLEN];
        snprintf(m, sizeof m, "member '%.64s' is given twice", dup);
        http_respond_error(r, 400, "invalid_body", m);
        cJSON_Delete(tree);
        return NULL;
    }
    return tree;
}

const char *api_unknown_member(const cJSON *body, const char *const *known)
{
    for (const cJSON *m = cJSON_IsObject(body) ? body->child : NULL; m != NULL; m = m->next) {
        const char *const *k = known;
        while (*k != NULL && strcmp(*k, m->string) != 0) {
            k++;
        }
        if (*k == NULL) {
            return m->string;
        }
    }
    return NULL;
}

bool api_body_none(http_req *r)
{
    size_t n = r->body != NULL ? r->body_len : 0;
    while (n > 0 && (r->body[n - 1] == ' ' || r->body[n - 1] == '\t' || r->body[n - 1] == '\r' ||
                     r->body[n - 1] == '\n')) {
        n--;
    }
    if (n == 0) {
        return true;
    }
    cJSON *body = api_body_json(r);
    if (body == NULL) {
        return false;
    }
    const char *member = api_unknown_member(body, (const char *const[]){NULL});
    bool ok = cJSON_IsObject(body) && member == NULL;
    if (!ok) {
        char m[TT_ERRLEN];
        snprintf(m, sizeof m, "%s%.64s%sthis route takes no body (or {})",
                 member != NULL ? "unknown member '" : "", member != NULL ? member : "",
                 member != NULL ? "': " : "");
        http_respond_error(r, 400, "invalid_body", m);
    }
    cJSON_Delete(body);
    return ok;
}
