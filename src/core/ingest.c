/* ingest.c -- splitting a body into events and validating each, all or nothing. */
#include "core/ingest.h"

#include "core/event_json.h"
#include "core/json_scan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int body_error(ingest_error *err, const char *code, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int body_error(ingest_error *err, const char *code, int status, const char *fmt, ...)
{
    err->code = code;
    err->index = -1;
    err->http_status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return status == 413 ? TT_ETOOBIG : TT_EINVAL;
}

/* Puts 'prefix' before the message ("event 3: ..."), cutting the end if it must. */
static void prefix_message(ingest_error *err, const char *prefix)
{
    size_t p = strlen(prefix), m = strlen(err->message);
    if (p + m >= sizeof err->message) {
        m = sizeof err->message - 1 - p;
    }
    memmove(err->message + p, err->message, m);
    memcpy(err->message, prefix, p);
    err->message[p + m] = '\0';
}

static bool only_space(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
            return false;
        }
    }
    return true;
}

int event_batch_push(event_batch *b, size_t *cap, tt_event *ev)
{
    if (b->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        tt_event **n = realloc(b->events, ncap * sizeof *n);
        if (n == NULL) {
            return TT_ENOMEM;
        }
        b->events = n;
        *cap = ncap;
    }
    b->events[b->count++] = ev;
    b->bytes += ev->size;
    return 0;
}

static int add_event(const cJSON *obj, int index, int64_t now_ms, event_batch *b, size_t *cap,
                     ingest_error *err)
{
    tt_event *ev = NULL;
    int rc = event_from_json(obj, now_ms, &ev, err);
    if (rc == TT_EINVAL) {
        err->index = index;
        err->http_status = 400;
        char prefix[32];
        snprintf(prefix, sizeof prefix, "event %d: ", index);
        prefix_message(err, prefix);
    }
    if (rc == 0 && (rc = event_batch_push(b, cap, ev)) != 0) {
        event_free(ev);
    }
    return rc;
}

static int add_array(const cJSON *array, int64_t now_ms, size_t max_events, event_batch *b,
                     size_t *cap, ingest_error *err)
{
    size_t n = (size_t)cJSON_GetArraySize(array);
    if (n == 0) {
        return body_error(err, "empty_batch", 400, "the array holds no events");
    }
    if (n > max_events) {
        return body_error(err, "too_many_events", 413,
                          "the body holds %zu events; the limit is %zu per request", n, max_events);
    }
    int index = 0, rc = 0;
    for (const cJSON *e = array->child; e != NULL && rc == 0; e = e->next) {
        rc = add_event(e, index++, now_ms, b, cap, err);
    }
    return rc;
}

/* Parses exactly one JSON value from s[0..len); trailing non-space is an error. Its message
 * counts bytes from s[0], "of" what: "" for a body, " of the line" for an NDJSON line (the
 * line's number is the caller's prefix), so a client can find the byte in what it sent. A body
 * whose value is followed by another object or array is NDJSON sent as JSON: the message says
 * which type to send. */
static int parse_value(const char *s, size_t len, const char *of, cJSON **out, ingest_error *err)
{
    const char *end = NULL;
    *out = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    size_t pos = end != NULL && end >= s ? (size_t)(end - s) : 0;
    if (*out == NULL) {
        return body_error(err, "invalid_json", 400, "malformed JSON near byte %zu%s", pos, of);
    }
    if (!only_space(end, len - pos)) {
        while (pos < len && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\r' || s[pos] == '\n')) {
            pos++;
        }
        cJSON_Delete(*out);
        *out = NULL;
        bool ndjson = of[0] == '\0' && (s[pos] == '{' || s[pos] == '[');
        return body_error(err, "invalid_json", 400,
                          "unexpected data after the JSON value at byte %zu%s%s", pos, of,
                          ndjson ? "; one JSON value per line is NDJSON: send it with "
                                   "Content-Type: application/x-ndjson"
                                 : "");
    }
    return 0;
}

static int parse_json_body(const char *body, size_t len, int64_t now_ms, size_t max_events,
                           event_batch *b, size_t *cap, ingest_error *err)
{
    cJSON *root = NULL;
    int rc = parse_value(body, len, "", &root, err);
    if (rc != 0) {
        return rc;
    }
    if (cJSON_IsObject(root)) {
        rc = add_event(root, 0, now_ms, b, cap, err);
    } else if (!cJSON_IsArray(root)) {
        rc = body_error(err, "not_an_object", 400,
                        "the body must be a JSON object or an array of objects");
    } else {
        rc = add_array(root, now_ms, max_events, b, cap, err);
    }
    cJSON_Delete(root);
    return rc;
}

int ingest_from_array(const cJSON *array, int64_t now_ms, size_t max_events, event_batch *out,
                      ingest_error *err)
{
    *out = (event_batch){0};
    size_t cap = 0;
    int rc = cJSON_IsArray(array)
                 ? add_array(array, now_ms, max_events, out, &cap, err)
                 : body_error(err, "invalid_message", 400, "'events' must be an array of objects");
    if (rc != 0) {
        event_batch_free(out);
    }
    return rc;
}

/* Refuses a body (or an NDJSON line) the lexical scan refused at s[where], 'skipped' bytes (a
 * byte-order mark) after the start of what was sent: the byte is named where the sender can
 * find it, "of" what: "" for a body, " of the line" for a line (its number is the caller's
 * prefix). */
static int scan_refused(size_t where, size_t skipped, const char *of, json_scan_result scan,
                        ingest_error *err)
{
    const char *code = scan == JSON_SCAN_TOO_DEEP   ? "nesting_too_deep"
                       : scan == JSON_SCAN_BAD_UTF8 ? "invalid_utf8"
                                                    : "invalid_json";
    char what[160];
    if (scan == JSON_SCAN_TOO_DEEP) {
        snprintf(what, sizeof what, "JSON nests deeper than %d levels", INGEST_MAX_DEPTH);
    } else {
        snprintf(what, sizeof what, "%s", json_scan_describe(scan));
    }
    /* A mark is allowed at the start of the body only (RFC 8259 §8.1): an NDJSON line's start
     * is not the body's. */
    const char *advice =
        scan == JSON_SCAN_BOM ? "only allowed at the start of the body" : json_scan_advice(scan);
    return body_error(err, code, 400, "%s at byte %zu%s%s%s", what, where + skipped, of,
                      advice != NULL ? ": " : "", advice != NULL ? advice : "");
}

/* Scans, then parses, one line: its faults are found in line order, each with its event's
 * index, so an earlier line's bad event is what a client hears of first. */
static int parse_line(const char *line, size_t line_len, size_t skipped, cJSON **out,
                      ingest_error *err)
{
    size_t where = 0;
    json_scan_result scan = json_scan(line, line_len, INGEST_MAX_DEPTH, &where);
    if (scan != JSON_SCAN_OK) {
        return scan_refused(where, skipped, " of the line", scan, err);
    }
    return parse_value(line, line_len, " of the line", out, err);
}

/* NDJSON (one event per line; blank lines skipped), 'skipped': the byte-order mark's bytes
 * removed before line 1. */
static int parse_ndjson_body(const char *body, size_t len, size_t skipped, int64_t now_ms,
                             size_t max_events, event_batch *b, size_t *cap, ingest_error *err)
{
    size_t line_no = 0;
    for (size_t start = 0; start < len; line_no++) {
        const char *nl = memchr(body + start, '\n', len - start);
        size_t end = nl != NULL ? (size_t)(nl - body) : len;
        const char *line = body + start;
        size_t line_len = end - start;
        start = end + 1;
        if (only_space(line, line_len)) {
            continue;
        }
        if (b->count == max_events) {
            return body_error(err, "too_many_events", 413,
                              "the body holds more than %zu events; the limit is %zu per request",
                              max_events, max_events);
        }
        cJSON *obj = NULL;
        int rc = parse_line(line, line_len, line_no == 0 ? skipped : 0, &obj, err);
        if (rc == 0) {
            rc = add_event(obj, (int)b->count, now_ms, b, cap, err);
            cJSON_Delete(obj);
        } else {
            err->index = (int)b->count; /* the line's event, though it did not parse */
        }
        if (rc == TT_EINVAL) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "line %zu: ", line_no + 1);
            prefix_message(err, prefix);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return b->count > 0 ? 0 : body_error(err, "empty_batch", 400, "the body holds no events");
}

int ingest_parse(const char *body, size_t len, ingest_format fmt, int64_t now_ms, size_t max_events,
                 event_batch *out, ingest_error *err)
{
    *out = (event_batch){0};
    size_t skipped = 0;
    if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0) {
        body += 3; /* a UTF-8 byte-order mark: RFC 8259 §8.1 lets a parser ignore it */
        len -= 3;
        skipped = 3;
    }
    if (only_space(body, len)) {
        return body_error(err, "empty_batch", 400, "the body is empty");
    }
    size_t cap = 0, where = 0;
    int rc;
    if (fmt == INGEST_NDJSON) {
        rc = parse_ndjson_body(body, len, skipped, now_ms, max_events, out, &cap, err);
    } else {
        json_scan_result scan = json_scan(body, len, INGEST_MAX_DEPTH, &where);
        rc = scan != JSON_SCAN_OK ? scan_refused(where, skipped, "", scan, err)
                                  : parse_json_body(body, len, now_ms, max_events, out, &cap, err);
    }
    if (rc != 0) {
        event_batch_free(out);
    }
    return rc;
}

void event_batch_free(event_batch *b)
{
    for (size_t i = 0; i < b->count; i++) {
        event_free(b->events[i]);
    }
    free(b->events);
    *b = (event_batch){0};
}
