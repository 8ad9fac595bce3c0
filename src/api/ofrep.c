/* ofrep.c -- the OpenFeature Remote Evaluation Protocol (open-feature/protocol,
 * service/openapi.yaml): POST /ofrep/v1/evaluate/flags/{key} and POST /ofrep/v1/evaluate/flags
 * (bulk, with ETag and If-None-Match -> 304), so OpenFeature SDKs read telltale's flags.
 *
 * Request body: {"context": {...}} (the body and the context may be absent). Answers:
 *   200 {"key","reason","variant","value","metadata":{"version":N}}: value true (a boolean
 *       flag, variant "on") or the variant's string; without "value" and "variant" when the
 *       caller's default applies (DISABLED, DEFAULT, outside a SPLIT): the spec's
 *       codeDefaultFlag (ADR 0006).
 *   400 {"key","errorCode","errorDetails"}: PARSE_ERROR (a body that is not JSON, or stored
 *       rules telltale cannot read), INVALID_CONTEXT, TARGETING_KEY_MISSING.
 *   404 {"key","errorCode":"FLAG_NOT_FOUND","errorDetails"}.
 *   bulk: 200 {"flags":[...]} with each flag's success or failure as above; 400
 *       {"errorCode","errorDetails"} for the request as a whole; ETag a hash of the answer. */
#include "api/api_call.h"
#include "api/flags_db.h"

#include "core/json_scan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct ofrep_args {
    char key[FLAG_KEY_MAX + 1]; /* "" for bulk */
    cJSON *body;
    const cJSON *context; /* in body, or NULL */
    char if_none_match[64];
} ofrep_args;

static void write_failure(json_writer *w, const char *key, const char *code, const char *details)
{
    json_open_object(w);
    if (key != NULL) {
        json_member_string(w, "key", key);
    }
    json_member_string(w, "errorCode", code);
    json_member_string(w, "errorDetails", details);
    json_close_object(w);
}

/* One flag's evaluation into 'w'; returns the HTTP status a single evaluation answers. */
static int write_evaluation(json_writer *w, const flag_row *f, const cJSON *context)
{
    cJSON *rules = f->rules != NULL ? cJSON_Parse(f->rules) : NULL;
    char err[TT_ERRLEN];
    if ((f->rules != NULL && rules == NULL) || flag_rules_check(rules, err) != 0) {
        cJSON_Delete(rules);
        write_failure(w, f->key, "PARSE_ERROR", "the flag's stored rules cannot be read");
        return 400;
    }
    flag_def def = {.key = f->key,
                    .enabled = f->enabled,
                    .variant = f->variant,
                    .rollout_percent = f->rollout_percent,
                    .rules = rules};
    flag_result res;
    flag_evaluate(&def, context, &res);
    cJSON_Delete(rules);
    if (res.error != FLAG_OK) {
        write_failure(w, f->key, flag_error_name(res.error),
                      res.error == FLAG_TARGETING_KEY_MISSING
                          ? "a rollout below 100% needs a targetingKey in the context"
                          : "the context must be an object whose targetingKey is a string");
        return 400;
    }
    json_open_object(w);
    json_member_string(w, "key", f->key);
    json_member_string(w, "reason", flag_reason_name(res.reason));
    if (res.has_value) {
        json_member_string(w, "variant", f->variant != NULL ? f->variant : "on");
        json_key(w, "value");
        if (f->variant != NULL) {
            json_string(w, f->variant);
        } else {
            json_bool(w, true);
        }
    }
    json_key(w, "metadata");
    json_open_object(w);
    json_member_int64(w, "version", f->version);
    json_close_object(w);
    json_close_object(w);
    return 200;
}

static void evaluate_one(api_call *c)
{
    ofrep_args *a = c->args;
    flag_rows rows;
    int rc = flags_db_get(c->st, a->key, &rows, c->err);
    if (rc != 0) {
        api_call_store_failed(c, rc);
        return;
    }
    if (rows.n == 0) {
        char details[128];
        snprintf(details, sizeof details, "flag '%s' was not found", a->key);
        write_failure(&c->body, a->key, "FLAG_NOT_FOUND", details);
        c->status = 404;
    } else {
        c->status = write_evaluation(&c->body, &rows.rows[0], a->context);
    }
    flag_rows_free(&rows);
}

/* FNV-1a 64 of the answer: the same flags and context give the same bytes. */
static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)s[i]) * UINT64_C(1099511628211);
    }
    return h;
}

static void evaluate_all(api_call *c)
{
    ofrep_args *a = c->args;
    flag_rows rows;
    int rc = flags_db_list(c->st, &rows, c->err);
    if (rc != 0) {
        api_call_store_failed(c, rc);
        return;
    }
    json_open_object(&c->body);
    json_key(&c->body, "flags");
    json_open_array(&c->body);
    for (size_t i = 0; i < rows.n; i++) {
        write_evaluation(&c->body, &rows.rows[i], a->context);
    }
    json_close_array(&c->body);
    json_close_object(&c->body);
    flag_rows_free(&rows);
    c->status = 200;
    if (c->body.out.buf != NULL && !c->body.out.oom) {
        snprintf(c->etag, sizeof c->etag, "\"%016llx\"",
                 (unsigned long long)fnv1a(c->body.out.buf, c->body.out.len));
        if (http_etag_matches(a->if_none_match, c->etag)) {
            c->status = 304;
        }
    }
}

static void free_body(api_call *c)
{
    cJSON_Delete(((ofrep_args *)c->args)->body);
}

/* The request's context, or an answer: PARSE_ERROR for a body that is not JSON,
 * INVALID_CONTEXT for a context that is not an object. */
static bool read_request(http_req *r, ofrep_args *a)
{
    const char *key = a->key[0] != '\0' ? a->key : NULL;
    json_writer w = {0};
    size_t where = 0;
    if (r->body != NULL && r->body_len > 0) {
        json_scan_result scan = json_scan(r->body, r->body_len, 64, &where);
        a->body = scan == JSON_SCAN_OK ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
        if (a->body == NULL) {
            char m[TT_ERRLEN], why[TT_ERRLEN - 48];
            snprintf(m, sizeof m, "the request body is not %sJSON%s%s",
                     scan == JSON_SCAN_BIG_INTEGER ? "I-" : "", scan != JSON_SCAN_OK ? ": " : "",
                     scan != JSON_SCAN_OK ? json_scan_explain(scan, where, why, sizeof why) : "");
            write_failure(&w, key, "PARSE_ERROR", m);
            http_respond_written(r, 400, &w);
            return false;
        }
        const char *dup = json_duplicate_member(a->body); /* as api_body_json refuses it */
        if (dup != NULL) {
            char m[TT_ERRLEN];
            snprintf(m, sizeof m, "member '%.64s' is given twice", dup);
            write_failure(&w, key, "INVALID_CONTEXT", m);
            http_respond_written(r, 400, &w);
            return false;
        }
        a->context = cJSON_GetObjectItemCaseSensitive(a->body, "context");
        if (!cJSON_IsObject(a->body) || (a->context != NULL && !cJSON_IsObject(a->context))) {
            write_failure(&w, key, "INVALID_CONTEXT",
                          "the body is {\"context\": {...}} with the context an object");
            http_respond_written(r, 400, &w);
            return false;
        }
    }
    return true;
}

/* Browsers call OFREP from the dashboard's origin, which need not be telltale's (Fetch
 * standard, CORS protocol): every answer allows any origin and shows its ETag. */
static void allow_cors(http_req *r)
{
    http_add_header(r, "access-control-allow-origin:", "*");
    http_add_header(r, "access-control-expose-headers:", "ETag");
}

void api_ofrep_preflight(http_req *r, void *ctx)
{
    (void)ctx;
    allow_cors(r);
    http_add_header(r, "access-control-allow-methods:", "POST, OPTIONS");
    http_add_header(r, "access-control-allow-headers:",
                    "content-type, authorization, apikey, x-api-key, if-none-match");
    http_add_header(r, "access-control-max-age:", "600");
    http_respond_static(r, 204, "text/plain", NULL, 0);
}

static void evaluate(http_req *r, api_ctx *ctx, const char *key)
{
    ofrep_args *a = calloc(1, sizeof *a);
    if (a == NULL) {
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return;
    }
    snprintf(a->key, sizeof a->key, "%.64s", key);
    snprintf(a->if_none_match, sizeof a->if_none_match, "%s", r->if_none_match);
    if (!read_request(r, a)) {
        cJSON_Delete(a->body);
        free(a);
        return;
    }
    api_call_run(ctx, r, key[0] != '\0' ? evaluate_one : evaluate_all, free_body, a);
}

void api_ofrep_one(http_req *r, void *ctx)
{
    allow_cors(r);
    if (!http_args_ok(r, NULL)) {
        return;
    }
    if (!flag_key_valid(r->param)) {
        json_writer w = {0};
        write_failure(&w, r->param, "FLAG_NOT_FOUND",
                      "no flag has this key: keys are 1 to 64 characters of a-z 0-9 _ . : -");
        http_respond_written(r, 404, &w);
        return;
    }
    evaluate(r, ctx, r->param);
}

void api_ofrep_bulk(http_req *r, void *ctx)
{
    allow_cors(r);
    if (http_args_ok(r, NULL)) {
        evaluate(r, ctx, "");
    }
}
