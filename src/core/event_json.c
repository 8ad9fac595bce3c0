/* event_json.c -- validating an event object field by field, and writing one out. */
#include "core/event_json.h"

#include "core/json_print.h"
#include "core/timefmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum field_id {
    F_ID,
    F_TS,
    F_TYPE,
    F_SOURCE,
    F_SESSION_ID,
    F_NAME,
    F_STATUS,
    F_DURATION_MS,
    F_BYTES,
    F_VALUE,
    F_ERROR,
    F_ATTRS,
    F_COUNT
} field_id;

static const char *const field_names[F_COUNT] = {
    "id",     "ts",          "type",  "source", "session_id", "name",
    "status", "duration_ms", "bytes", "value",  "error",      "attrs",
};

#define ALLOWED_FIELDS                                                                             \
    "id, ts, type, source, session_id, name, status, duration_ms, bytes, value, error, attrs"

/* 2^53-1, the bound json_scan holds integers to (I-JSON): every integer to it is a double, so
 * a 'bytes' within it is exactly what was sent, and one spelt as a double beyond it
 * (9007199254740993.0 reads as 2^53) is refused rather than rounded. */
#define MAX_EXACT_INT ((double)EVENT_BYTES_MAX)

static int fail(ingest_error *err, const char *code, const char *fmt, const char *field)
{
    err->code = code;
    snprintf(err->message, sizeof err->message, fmt, field);
    return TT_EINVAL;
}

static int field_lookup(const char *name)
{
    for (int f = 0; f < F_COUNT; f++) {
        if (strcmp(name, field_names[f]) == 0) {
            return f;
        }
    }
    return -1;
}

static size_t field_max_len(field_id f)
{
    switch (f) {
    case F_ID:
        return EVENT_ID_MAX;
    case F_TYPE:
        return EVENT_TYPE_MAX;
    case F_SOURCE:
        return EVENT_SOURCE_MAX;
    case F_SESSION_ID:
        return EVENT_SESSION_MAX;
    case F_NAME:
        return EVENT_NAME_MAX;
    case F_STATUS:
        return EVENT_STATUS_MAX;
    case F_ERROR:
        return EVENT_ERROR_MAX;
    default:
        return 0;
    }
}

static int take_string(const cJSON *item, field_id f, const char **dst, ingest_error *err)
{
    const char *name = field_names[f];
    if (!cJSON_IsString(item)) {
        return fail(err, "invalid_field", "field '%s' must be a string", name);
    }
    size_t len = strlen(item->valuestring);
    if (len > field_max_len(f)) {
        err->code = "field_too_long";
        snprintf(err->message, sizeof err->message, "field '%s' is %zu bytes; the limit is %zu",
                 name, len, field_max_len(f));
        return TT_EINVAL;
    }
    if (f == F_ID && len == 0) {
        return fail(err, "invalid_field", "field '%s' must not be empty", name);
    }
    if (f == F_TYPE && !event_type_valid(item->valuestring, len)) {
        return fail(err, "invalid_field", "field '%s' must match [a-z0-9_.:-]{1,64}", name);
    }
    *dst = item->valuestring;
    return 0;
}

static int take_ts(const cJSON *item, tt_event *ev, ingest_error *err)
{
    if (cJSON_IsString(item)) {
        const char *s = item->valuestring;
        if (!timefmt_parse(s, strlen(s), &ev->ts_ms)) {
            return fail(err, "invalid_field",
                        "field '%s' must be an RFC 3339 date-time from 1970 to 9999 "
                        "(e.g. 2026-11-28T14:31:43.123Z) or epoch milliseconds",
                        "ts");
        }
        return 0;
    }
    double v = item->valuedouble;
    if (!cJSON_IsNumber(item) || !isfinite(v) || v < 0 || v > (double)EVENT_TS_MAX_MS) {
        return fail(err, "invalid_field",
                    "field '%s' must be an RFC 3339 string or epoch milliseconds "
                    "from 0 to 253402300799999",
                    "ts");
    }
    ev->ts_ms = (int64_t)v; /* fractions of a millisecond are dropped */
    return 0;
}

static int take_number(const cJSON *item, field_id f, tt_event *ev, ingest_error *err)
{
    const char *name = field_names[f];
    double v = item->valuedouble;
    if (!cJSON_IsNumber(item) || !isfinite(v)) {
        return fail(err, "invalid_field", "field '%s' must be a finite number", name);
    }
    switch (f) {
    case F_DURATION_MS:
        if (v < 0) {
            return fail(err, "invalid_field", "field '%s' must be >= 0", name);
        }
        ev->duration_ms = v;
        ev->has |= EVENT_HAS_DURATION;
        break;
    case F_BYTES:
        if (v < 0 || v != floor(v) || v > MAX_EXACT_INT) {
            return fail(err, "invalid_field",
                        "field '%s' must be an integer from 0 to 9007199254740991 (2^53-1)", name);
        }
        ev->bytes = (int64_t)v;
        ev->has |= EVENT_HAS_BYTES;
        break;
    default:
        ev->value = v;
        ev->has |= EVENT_HAS_VALUE;
        break;
    }
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Checks one attrs object or array and everything under it: depth, finite numbers, and no
 * duplicate keys (which would be stored and then read back ambiguously). */
static int check_attrs_tree(const cJSON *node, int depth, ingest_error *err)
{
    if (depth > EVENT_ATTRS_MAX_DEPTH) {
        err->code = "attrs_too_deep";
        snprintf(err->message, sizeof err->message, "field 'attrs' nests deeper than %d levels",
                 EVENT_ATTRS_MAX_DEPTH);
        return TT_EINVAL;
    }
    size_t n = 0;
    for (const cJSON *c = node->child; c != NULL; c = c->next) {
        n++;
        if (cJSON_IsNumber(c) && !isfinite(c->valuedouble)) {
            return fail(err, "invalid_field", "field '%s' holds a number too large to store",
                        "attrs");
        }
        if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && check_attrs_tree(c, depth + 1, err) != 0) {
            return TT_EINVAL;
        }
    }
    if (!cJSON_IsObject(node) || n < 2) {
        return 0;
    }
    /* Sorting the keys finds duplicates in n log n: an object of thousands of keys stays cheap. */
    const char **keys = malloc(n * sizeof *keys);
    if (keys == NULL) {
        return TT_ENOMEM;
    }
    size_t k = 0;
    for (const cJSON *c = node->child; c != NULL; c = c->next) {
        keys[k++] = c->string;
    }
    qsort(keys, n, sizeof *keys, compare_names);
    int rc = 0;
    for (size_t i = 1; i < n && rc == 0; i++) {
        if (strcmp(keys[i - 1], keys[i]) == 0) {
            err->code = "duplicate_field";
            snprintf(err->message, sizeof err->message,
                     "field 'attrs' has the key '%.64s' more than once", keys[i]);
            rc = TT_EINVAL;
        }
    }
    free(keys);
    return rc;
}

/* Validates 'attrs' and returns its compact JSON in *text (the caller frees it). */
static int take_attrs(const cJSON *item, char **text, ingest_error *err)
{
    if (!cJSON_IsObject(item)) {
        return fail(err, "invalid_field", "field '%s' must be an object", "attrs");
    }
    int rc = check_attrs_tree(item, 1, err);
    if (rc != 0) {
        return rc;
    }
    size_t len;
    if ((*text = json_print(item, &len)) == NULL) {
        return TT_ENOMEM;
    }
    if (len > EVENT_ATTRS_MAX_BYTES) {
        err->code = "attrs_too_large";
        snprintf(err->message, sizeof err->message,
                 "field 'attrs' encodes to %zu bytes; the limit is %d", len, EVENT_ATTRS_MAX_BYTES);
        return TT_EINVAL;
    }
    return 0;
}

/* Takes one field into 'ev'; the text of 'attrs' goes to *attrs (the caller frees it). */
static int take_field(const cJSON *item, field_id f, tt_event *ev, char **attrs, ingest_error *err)
{
    switch (f) {
    case F_ID: {
        const char *id;
        int rc = take_string(item, f, &id, err);
        if (rc == 0) {
            memcpy(ev->id, id, strlen(id) + 1);
        }
        return rc;
    }
    case F_TS:
        return take_ts(item, ev, err);
    case F_TYPE:
        return take_string(item, f, &ev->type, err);
    case F_SOURCE:
        return take_string(item, f, &ev->source, err);
    case F_SESSION_ID:
        return take_string(item, f, &ev->session_id, err);
    case F_NAME:
        return take_string(item, f, &ev->name, err);
    case F_STATUS:
        return take_string(item, f, &ev->status, err);
    case F_ERROR:
        return take_string(item, f, &ev->error, err);
    case F_DURATION_MS:
    case F_BYTES:
    case F_VALUE:
        return take_number(item, f, ev, err);
    case F_ATTRS: {
        int rc = take_attrs(item, attrs, err);
        ev->attrs = *attrs;
        return rc;
    }
    case F_COUNT:
        break;
    }
    return TT_EINVAL;
}

static int check_field_name(const cJSON *item, unsigned seen, int *f, ingest_error *err)
{
    *f = field_lookup(item->string);
    if (*f < 0 && (strcmp(item->string, "seq") == 0 || strcmp(item->string, "received_at") == 0)) {
        /* What telltale writes out but never takes in: said plainly, since a producer
         * replaying events read back from telltale meets exactly this. */
        return fail(err, "server_field",
                    "field '%s' is assigned by telltale; remove it before sending", item->string);
    }
    if (*f < 0) {
        err->code = "unknown_field";
        snprintf(err->message, sizeof err->message, "unknown field '%.64s' (allowed: %s)",
                 item->string, ALLOWED_FIELDS);
        return TT_EINVAL;
    }
    if (seen & (1u << *f)) {
        return fail(err, "duplicate_field", "field '%s' appears more than once", item->string);
    }
    return 0;
}

int event_from_json(const cJSON *obj, int64_t now_ms, tt_event **out, ingest_error *err)
{
    if (!cJSON_IsObject(obj)) {
        err->code = "not_an_object";
        snprintf(err->message, sizeof err->message, "an event must be a JSON object");
        return TT_EINVAL;
    }
    tt_event ev = {.ts_ms = now_ms, .received_ms = now_ms};
    char *attrs = NULL;
    unsigned seen = 0;
    int rc = 0;
    for (const cJSON *item = obj->child; item != NULL && rc == 0; item = item->next) {
        int f;
        if ((rc = check_field_name(item, seen, &f, err)) != 0) {
            break;
        }
        seen |= 1u << f;
        if (!cJSON_IsNull(item)) { /* null means absent: producers often serialise so */
            rc = take_field(item, (field_id)f, &ev, &attrs, err);
        }
    }
    if (rc == 0 && ev.type == NULL) {
        rc = fail(err, "missing_field", "field '%s' is required", "type");
    }
    if (rc == 0 && (*out = event_clone(&ev)) == NULL) {
        rc = TT_ENOMEM;
    }
    free(attrs);
    return rc;
}

static void write_time(json_writer *w, const char *name, int64_t ms)
{
    char buf[TIMEFMT_LEN];
    timefmt_format(ms, buf);
    json_member_string(w, name, buf);
}

static void write_text(json_writer *w, const char *name, const char *value)
{
    if (value != NULL) {
        json_member_string(w, name, value);
    }
}

static void write_number(json_writer *w, bool present, const char *name, double v)
{
    if (present) {
        json_member_number(w, name, v);
    }
}

void event_write_json(json_writer *w, const tt_event *ev, event_json_form form)
{
    bool stored = form == EVENT_JSON_STORED;
    json_open_object(w);
    if (stored && ev->seq > 0) {
        json_member_int64(w, "seq", ev->seq); /* exactly: a cursor */
    }
    write_text(w, "id", ev->id[0] != '\0' ? ev->id : NULL);
    write_time(w, "ts", ev->ts_ms);
    if (stored) {
        write_time(w, "received_at", ev->received_ms);
    }
    write_text(w, "type", ev->type);
    write_text(w, "source", ev->source);
    write_text(w, "session_id", ev->session_id);
    write_text(w, "name", ev->name);
    write_text(w, "status", ev->status);
    write_number(w, ev->has & EVENT_HAS_DURATION, "duration_ms", ev->duration_ms);
    write_number(w, ev->has & EVENT_HAS_BYTES, "bytes", (double)ev->bytes);
    write_number(w, ev->has & EVENT_HAS_VALUE, "value", ev->value);
    write_text(w, "error", ev->error);
    if (ev->attrs != NULL) {
        json_key(w, "attrs");
        json_raw_value(w, ev->attrs, strlen(ev->attrs));
    }
    json_close_object(w);
}

cJSON *event_to_json(const tt_event *ev)
{
    json_writer w = {0};
    event_write_json(&w, ev, EVENT_JSON_STORED);
    cJSON *obj = w.out.oom ? NULL : cJSON_ParseWithLength(w.out.buf, w.out.len);
    free(w.out.buf);
    return obj;
}
