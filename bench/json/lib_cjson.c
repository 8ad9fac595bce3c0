/* lib_cjson.c -- cJSON adapter for the JSON benchmark and strictness probes. */
#include "bench.h"

#include <cJSON.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

const char *cjson_version(void)
{
    return cJSON_Version();
}

/* --- parse + walk ------------------------------------------------------------------------ */

/* cJSON keeps every number as a double; an integer field must hold an integral value, and
 * one at or above 2^53 may already have been rounded, so it cannot be trusted. */
static bool as_uint(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v)) {
        return false;
    }
    double d = v->valuedouble;
    if (!(d >= 0 && d < 9007199254740992.0) || (double)(int64_t)d != d) {
        return false;
    }
    *out = (int64_t)d;
    return true;
}

static int depth_of(const cJSON *v)
{
    int max = 0;
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v)) {
        return 0;
    }
    for (const cJSON *c = v->child; c != NULL; c = c->next) {
        int d = depth_of(c);
        if (d > max) {
            max = d;
        }
    }
    return max + 1;
}

static int walk_event(const cJSON *ev, walk_sum *sum, char err[256])
{
    const cJSON *f[F_COUNT];
    if (!cJSON_IsObject(ev)) {
        snprintf(err, 256, "event is not an object");
        return -1;
    }
    for (const cJSON *c = ev->child; c != NULL; c = c->next) {
        if (field_index(c->string) == F_UNKNOWN) {
            snprintf(err, 256, "unknown field '%s'", c->string);
            return -1;
        }
    }
    for (int i = 0; i < F_COUNT; i++) {
        f[i] = cJSON_GetObjectItemCaseSensitive(ev, field_names[i]);
    }
    if (f[F_TYPE] == NULL) {
        snprintf(err, 256, "missing type");
        return -1;
    }
    static const int str_fields[] = {F_ID,   F_TYPE,   F_SOURCE, F_SESSION_ID,
                                     F_NAME, F_STATUS, F_ERROR};
    for (size_t k = 0; k < sizeof str_fields / sizeof str_fields[0]; k++) {
        int i = str_fields[k];
        if (f[i] == NULL) {
            continue;
        }
        if (!cJSON_IsString(f[i])) {
            snprintf(err, 256, "%s is not a string", field_names[i]);
            return -1;
        }
        size_t len = strlen(f[i]->valuestring);
        if (len > field_max_len[i] || (i == F_TYPE && !type_ok(f[i]->valuestring, len))) {
            snprintf(err, 256, "bad %s", field_names[i]);
            return -1;
        }
        sum->str_bytes += len;
        sum->str_fields++;
    }
    if (f[F_TS] != NULL) {
        int64_t ms;
        if (cJSON_IsString(f[F_TS])) {
            size_t len = strlen(f[F_TS]->valuestring);
            if (len > field_max_len[F_TS]) {
                snprintf(err, 256, "bad ts");
                return -1;
            }
            sum->str_bytes += len;
            sum->str_fields++;
        } else if (as_uint(f[F_TS], &ms)) {
            sum->int_sum += ms;
        } else {
            snprintf(err, 256, "bad ts");
            return -1;
        }
    }
    if (f[F_DURATION_MS] != NULL) {
        if (!cJSON_IsNumber(f[F_DURATION_MS]) || f[F_DURATION_MS]->valuedouble < 0) {
            snprintf(err, 256, "bad duration_ms");
            return -1;
        }
        sum->dbl_sum += f[F_DURATION_MS]->valuedouble;
    }
    if (f[F_BYTES] != NULL) {
        int64_t b;
        if (!as_uint(f[F_BYTES], &b)) {
            snprintf(err, 256, "bad bytes");
            return -1;
        }
        sum->int_sum += b;
    }
    if (f[F_VALUE] != NULL) {
        if (!cJSON_IsNumber(f[F_VALUE])) {
            snprintf(err, 256, "bad value");
            return -1;
        }
        sum->dbl_sum += f[F_VALUE]->valuedouble;
    }
    if (f[F_ATTRS] != NULL) {
        if (!cJSON_IsObject(f[F_ATTRS]) || depth_of(f[F_ATTRS]) > ATTRS_MAX_DEPTH) {
            snprintf(err, 256, "bad attrs");
            return -1;
        }
        char *text = cJSON_PrintUnformatted(f[F_ATTRS]);
        if (text == NULL) {
            snprintf(err, 256, "out of memory");
            return -1;
        }
        size_t len = strlen(text);
        cJSON_free(text);
        if (len > ATTRS_MAX_BYTES) {
            snprintf(err, 256, "attrs too large");
            return -1;
        }
        sum->attrs++;
        sum->attrs_bytes += len;
    }
    sum->events++;
    return 0;
}

static bool only_ws_after(const char *end, const char *limit);

static int parse_walk(const char *body, size_t len, walk_sum *sum, char err[256])
{
    int rc = -1;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (root == NULL) {
        snprintf(err, 256, "parse error near byte %td", cJSON_GetErrorPtr() - body);
        goto Exit;
    }
    /* cJSON stops after the value; trailing bytes are the caller's to reject. */
    if (!only_ws_after(end, body + len) || !cJSON_IsArray(root)) {
        snprintf(err, 256, "not a single array");
        goto Exit;
    }
    for (const cJSON *ev = root->child; ev != NULL; ev = ev->next) {
        if (walk_event(ev, sum, err) != 0) {
            goto Exit;
        }
    }
    rc = 0;
Exit:
    cJSON_Delete(root);
    return rc;
}

static bool only_ws_after(const char *end, const char *limit)
{
    while (end < limit && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t')) {
        end++;
    }
    return end == limit;
}

static int parse_walk_one(const char *json, size_t len, walk_sum *sum, char err[256])
{
    const char *end = NULL;
    cJSON *ev = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (ev == NULL || !only_ws_after(end, json + len)) {
        snprintf(err, 256, "parse error");
        cJSON_Delete(ev);
        return -1;
    }
    int rc = walk_event(ev, sum, err);
    cJSON_Delete(ev);
    return rc;
}

static size_t tree_bytes(const char *body, size_t len)
{
    size_t before = mallinfo2().uordblks;
    cJSON *root = cJSON_ParseWithLength(body, len);
    size_t after = mallinfo2().uordblks;
    cJSON_Delete(root);
    return after - before;
}

/* Parse and free only: how much of parse_walk is the parser itself. */
static int parse_only(const char *body, size_t len, walk_sum *sum, char err[256])
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (root == NULL) {
        snprintf(err, 256, "parse error");
        return -1;
    }
    sum->str_fields += (uint64_t)cJSON_GetArraySize(root);
    cJSON_Delete(root);
    return 0;
}

/* What cJSON's parser lets through and json_prescan cannot see: duplicate keys (cJSON keeps
 * both and prints both) and numbers that overflowed to infinity (printed as null).
 * Quadratic in the keys of one object; production code would hash large objects. */
static bool tree_ok(const cJSON *v)
{
    if (cJSON_IsNumber(v)) {
        return isfinite(v->valuedouble);
    }
    for (const cJSON *c = v->child; c != NULL; c = c->next) {
        if (cJSON_IsObject(v)) {
            for (const cJSON *d = c->next; d != NULL; d = d->next) {
                if (strcmp(c->string, d->string) == 0) {
                    return false;
                }
            }
        }
        if (!tree_ok(c)) {
            return false;
        }
    }
    return true;
}

static int parse_walk_checked(const char *body, size_t len, walk_sum *sum, char err[256])
{
    size_t off = 0;
    if (!json_prescan(body, len, BODY_MAX_DEPTH, &off)) {
        snprintf(err, 256, "invalid JSON at byte %zu", off);
        return -1;
    }
    int rc = -1;
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (root == NULL || !cJSON_IsArray(root)) {
        snprintf(err, 256, "not an array");
        goto Exit;
    }
    for (const cJSON *ev = root->child; ev != NULL; ev = ev->next) {
        if (!tree_ok(ev)) {
            snprintf(err, 256, "duplicate key or number out of range");
            goto Exit;
        }
        if (walk_event(ev, sum, err) != 0) {
            goto Exit;
        }
    }
    rc = 0;
Exit:
    cJSON_Delete(root);
    return rc;
}

static int parse_walk_one_checked(const char *json, size_t len, walk_sum *sum, char err[256])
{
    size_t off = 0;
    if (!json_prescan(json, len, BODY_MAX_DEPTH - 1, &off)) {
        snprintf(err, 256, "invalid JSON at byte %zu", off);
        return -1;
    }
    cJSON *ev = cJSON_ParseWithLength(json, len);
    if (ev == NULL || !tree_ok(ev)) {
        snprintf(err, 256, "parse error, duplicate key or number out of range");
        cJSON_Delete(ev);
        return -1;
    }
    int rc = walk_event(ev, sum, err);
    cJSON_Delete(ev);
    return rc;
}

const bench_lib lib_cjson = {"cJSON", parse_walk, tree_bytes, true, parse_walk_one};
const bench_lib lib_cjson_checked = {"cJSON + pre-scan + tree checks", parse_walk_checked,
                                     tree_bytes, true, parse_walk_one_checked};
const bench_lib lib_cjson_parse = {"cJSON, parse only", parse_only, tree_bytes, false, NULL};

/* --- serialize ----------------------------------------------------------------------------- */

static int serialize_common(const row *rows, size_t n, ser_sum *sum, emit_fn emit, void *ctx,
                            bool raw_attrs)
{
    for (size_t i = 0; i < n; i++) {
        const row *r = &rows[i];
        cJSON *o = cJSON_CreateObject();
        if (o == NULL) {
            return -1;
        }
        cJSON_AddNumberToObject(o, "seq", (double)r->seq);
        cJSON_AddStringToObject(o, "id", r->id);
        if (r->ts_str != NULL) {
            cJSON_AddStringToObject(o, "ts", r->ts_str);
        } else {
            cJSON_AddNumberToObject(o, "ts", (double)r->ts_ms);
        }
        cJSON_AddStringToObject(o, "received_at", r->received_at);
        cJSON_AddStringToObject(o, "type", r->type);
        if (r->source != NULL) {
            cJSON_AddStringToObject(o, "source", r->source);
        }
        if (r->session_id != NULL) {
            cJSON_AddStringToObject(o, "session_id", r->session_id);
        }
        if (r->name != NULL) {
            cJSON_AddStringToObject(o, "name", r->name);
        }
        if (r->status != NULL) {
            cJSON_AddStringToObject(o, "status", r->status);
        }
        if (r->has_duration) {
            cJSON_AddNumberToObject(o, "duration_ms", r->duration_ms);
        }
        if (r->has_bytes) {
            cJSON_AddNumberToObject(o, "bytes", (double)r->bytes);
        }
        if (r->has_value) {
            cJSON_AddNumberToObject(o, "value", r->value);
        }
        if (r->error != NULL) {
            cJSON_AddStringToObject(o, "error", r->error);
        }
        if (r->attrs_json != NULL) {
            if (raw_attrs) {
                cJSON_AddRawToObject(o, "attrs", r->attrs_json);
            } else {
                cJSON *a = cJSON_Parse(r->attrs_json);
                if (a == NULL) {
                    cJSON_Delete(o);
                    return -1;
                }
                cJSON_AddItemToObject(o, "attrs", a);
            }
        }
        char *s = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (s == NULL) {
            return -1;
        }
        size_t len = strlen(s);
        if (emit != NULL) {
            emit(ctx, i, s, len);
        }
        sum->bytes += len;
        sum->events++;
        cJSON_free(s);
    }
    return 0;
}

static int serialize(const row *rows, size_t n, ser_sum *sum, emit_fn emit, void *ctx)
{
    return serialize_common(rows, n, sum, emit, ctx, false);
}

static int serialize_raw(const row *rows, size_t n, ser_sum *sum, emit_fn emit, void *ctx)
{
    return serialize_common(rows, n, sum, emit, ctx, true);
}

const bench_printer print_cjson = {"cJSON", serialize};
const bench_printer print_cjson_raw = {"cJSON raw attrs", serialize_raw};

/* --- strictness probes --------------------------------------------------------------------- */

static void describe(const cJSON *v, probe_result *r)
{
    char *s = cJSON_PrintUnformatted(v);
    char esc[96];
    cell_escape(esc, sizeof esc, s != NULL ? s : "(print failed)", s != NULL ? strlen(s) : 14);
    cJSON_free(s);
    size_t o = (size_t)snprintf(r->text, sizeof r->text, "%s", esc);
    const cJSON *first = cJSON_IsArray(v) ? v->child : NULL;
    if (cJSON_IsString(first) && o < sizeof r->text) {
        snprintf(r->text + o, sizeof r->text - o, " len=%zu", strlen(first->valuestring));
    } else if (cJSON_IsNumber(first) && o < sizeof r->text) {
        snprintf(r->text + o, sizeof r->text - o, " double=%.17g", first->valuedouble);
    }
    const cJSON *a = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "a") : NULL;
    if (a != NULL && o < sizeof r->text) {
        snprintf(r->text + o, sizeof r->text - o, " get(a)=%g", a->valuedouble);
    }
}

static void probe_parse(const char *in, size_t len, probe_result *r)
{
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(in, len, &end, 0);
    if (v == NULL) {
        const char *at = cJSON_GetErrorPtr();
        r->accepted = false;
        snprintf(r->text, sizeof r->text, "error at byte %td", at != NULL ? at - in : -1);
        return;
    }
    r->accepted = true;
    describe(v, r);
    cJSON_Delete(v);
    size_t used = (size_t)(end - in);
    size_t o = strlen(r->text);
    if (used < len && o < sizeof r->text) {
        snprintf(r->text + o, sizeof r->text - o, " (stopped at byte %zu of %zu)", used, len);
    }
}

static int accepts(const char *in, size_t len)
{
    cJSON *v = cJSON_ParseWithLength(in, len);
    int ok = v != NULL;
    cJSON_Delete(v);
    return ok;
}

static void print_item(cJSON *v, probe_result *r)
{
    if (v == NULL) {
        r->accepted = false;
        snprintf(r->text, sizeof r->text, "refused (constructor returned NULL)");
        return;
    }
    char *s = cJSON_PrintUnformatted(v);
    r->accepted = s != NULL;
    cell_escape(r->text, sizeof r->text, s != NULL ? s : "(print failed)",
                s != NULL ? strlen(s) : 14);
    cJSON_free(s);
    cJSON_Delete(v);
}

static void print_string(const char *s, size_t len, probe_result *r)
{
    (void)len; /* cJSON strings are NUL-terminated: it cannot be told the length */
    print_item(cJSON_CreateString(s), r);
}

static void print_double(double d, probe_result *r)
{
    print_item(cJSON_CreateNumber(d), r);
}

static void print_int(int64_t v, probe_result *r)
{
    print_item(cJSON_CreateNumber((double)v), r);
}

void cjson_note_require_null_terminated(void)
{
    static const struct {
        const char *in;
        size_t len;
        const char *label;
    } cases[] = {
        {"[1]", 3, "`[1]`, length 3 (without the NUL)"},
        {"[1]", 4, "`[1]`, length 4 (with the NUL)"},
        {"[1] x", 6, "`[1] x`, length 6 (with the NUL)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *v = cJSON_ParseWithLengthOpts(cases[i].in, cases[i].len, NULL, 1);
        printf("| %s | %s |\n", cases[i].label, v != NULL ? "accept" : "reject");
        cJSON_Delete(v);
    }
}

static void probe_parse_checked(const char *in, size_t len, probe_result *r)
{
    size_t off = 0;
    if (!json_prescan(in, len, BODY_MAX_DEPTH, &off)) {
        r->accepted = false;
        snprintf(r->text, sizeof r->text, "pre-scan error at byte %zu", off);
        return;
    }
    cJSON *v = cJSON_ParseWithLength(in, len);
    if (v == NULL || !tree_ok(v)) {
        r->accepted = false;
        snprintf(r->text, sizeof r->text, "%s", v == NULL ? "cJSON error" : "tree check error");
        cJSON_Delete(v);
        return;
    }
    cJSON_Delete(v);
    probe_parse(in, len, r);
}

static int accepts_checked(const char *in, size_t len)
{
    probe_result r;
    probe_parse_checked(in, len, &r);
    return r.accepted;
}

const probe_lib probe_cjson_checked = {"cJSON + pre-scan + tree checks",
                                       probe_parse_checked,
                                       accepts_checked,
                                       print_string,
                                       print_double,
                                       print_int};

const probe_lib probe_cjson = {"cJSON",      probe_parse,  accepts,
                               print_string, print_double, print_int};
