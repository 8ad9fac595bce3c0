/* test_ingest.c -- ingest bodies (JSON object, JSON array, NDJSON) to validated batches: every
 * rule of DESIGN §2 reported with its code and the index of the first bad event, all or
 * nothing, and the lexical checks of json_scan as seen through ingest_parse(). */
#include "core/ingest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW INT64_C(1764340303123) /* 2025-11-28T14:31:43.123Z */
#define MAX_EVENTS 100

/* ---- helpers ---------------------------------------------------------------------------- */

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    int n = vasprintf(&s, f, ap);
    va_end(ap);
    assert_true(n >= 0);
    return s;
}

static char *repeat(const char *unit, size_t n)
{
    size_t u = strlen(unit);
    char *s = malloc(u * n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        memcpy(s + i * u, unit, u);
    }
    s[u * n] = '\0';
    return s;
}

typedef struct result {
    int rc;
    event_batch batch;
    ingest_error err;
} result;

static result parse_n(const char *body, size_t len, ingest_format f, size_t max_events)
{
    result r;
    memset(&r, 0, sizeof r);
    r.batch.count = 99; /* must be emptied whatever happens */
    r.rc = ingest_parse(body, len, f, NOW, max_events, &r.batch, &r.err);
    return r;
}

static result parse(const char *body, ingest_format f)
{
    return parse_n(body, strlen(body), f, MAX_EVENTS);
}

static const char *fmt_name(ingest_format f)
{
    return f == INGEST_NDJSON ? "ndjson" : "json";
}

/* Asserts that 'body' yields 'count' events and frees them. */
static void expect_events(const char *body, size_t len, ingest_format f, size_t count)
{
    result r = parse_n(body, len, f, MAX_EVENTS);
    if (r.rc != 0) {
        fail_msg("%s body refused (%s, index %d: %s): %.200s", fmt_name(f), r.err.code, r.err.index,
                 r.err.message, body);
    }
    assert_int_equal(r.batch.count, count);
    event_batch_free(&r.batch);
}

/* Asserts that 'body' is refused as a whole or at 'index' with 'code', and that no event
 * survives. Returns the error for further checks. */
static ingest_error expect_refusal(const char *body, size_t len, ingest_format f, const char *code,
                                   int index)
{
    result r = parse_n(body, len, f, MAX_EVENTS);
    if (r.rc == 0) {
        size_t n = r.batch.count;
        event_batch_free(&r.batch);
        fail_msg("%s body accepted (%zu events), expected %s: %.200s", fmt_name(f), n, code, body);
    }
    assert_int_equal(r.rc, TT_EINVAL);
    if (strcmp(r.err.code, code) != 0 || r.err.index != index) {
        fail_msg("%s body: got %s at %d (%s), expected %s at %d: %.200s", fmt_name(f), r.err.code,
                 r.err.index, r.err.message, code, index, body);
    }
    assert_int_equal(r.err.http_status, 400);
    assert_int_equal(r.batch.count, 0);
    assert_null(r.batch.events);
    assert_int_equal(r.batch.bytes, 0);
    return r.err;
}

static void accept_body(const char *body, ingest_format f, size_t count)
{
    expect_events(body, strlen(body), f, count);
}

static ingest_error refuse(const char *body, ingest_format f, const char *code, int index)
{
    return expect_refusal(body, strlen(body), f, code, index);
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL) {
        fail_msg("'%s' lacks '%s'", haystack, needle);
    }
}

/* An event built from a prefix, 'fill' copies of 'x', and a suffix: room for long values
 * without string literals beyond the C standard's minimum length. */
typedef struct sample {
    const char *prefix;
    size_t fill;
    const char *suffix;
    const char *code; /* for refused samples */
} sample;

static char *sample_text(const sample *s)
{
    char *filler = repeat("x", s->fill);
    char *text = fmt("%s%s%s", s->prefix, filler, s->suffix);
    free(filler);
    return text;
}

#define DEEP9 "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{}}}}}}}}}"
#define DEEP8 "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{}}}}}}}}"

/* One or more violations of every rule of DESIGN §2, each with the code it must get. */
static const sample bad_events[] = {
    {"1", 0, "", "not_an_object"},
    {"\"e\"", 0, "", "not_an_object"},
    {"[{\"type\":\"a\"}]", 0, "", "not_an_object"},
    {"null", 0, "", "not_an_object"},
    {"{}", 0, "", "missing_field"},
    {"{\"type\":null}", 0, "", "missing_field"},
    {"{\"source\":\"s\"}", 0, "", "missing_field"},
    {"{\"type\":\"a\",\"colour\":1}", 0, "", "unknown_field"},
    {"{\"type\":\"a\",\"seq\":1}", 0, "", "server_field"},
    {"{\"type\":\"a\",\"type\":\"a\"}", 0, "", "duplicate_field"},
    {"{\"type\":\"a\",\"ts\":0,\"ts\":0}", 0, "", "duplicate_field"},
    /* id */
    {"{\"type\":\"a\",\"id\":7}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"id\":\"\"}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"id\":\"", 65, "\"}", "field_too_long"},
    /* ts */
    {"{\"type\":\"a\",\"ts\":\"2026-02-30T00:00:00Z\"}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"ts\":\"1969-12-31T23:59:59Z\"}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"ts\":\"2026-01-01T00:00:00\"}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"ts\":-1}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"ts\":253402300800000}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"ts\":1e999}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"ts\":true}", 0, "", "invalid_field"},
    /* type */
    {"{\"type\":\"Request\"}", 0, "", "invalid_field"},
    {"{\"type\":\"a b\"}", 0, "", "invalid_field"},
    {"{\"type\":\"\"}", 0, "", "invalid_field"},
    {"{\"type\":1}", 0, "", "invalid_field"},
    {"{\"type\":\"", 65, "\"}", "field_too_long"},
    /* the other strings */
    {"{\"type\":\"a\",\"source\":\"", 65, "\"}", "field_too_long"},
    {"{\"type\":\"a\",\"session_id\":\"", 129, "\"}", "field_too_long"},
    {"{\"type\":\"a\",\"name\":\"", 129, "\"}", "field_too_long"},
    {"{\"type\":\"a\",\"status\":\"", 33, "\"}", "field_too_long"},
    {"{\"type\":\"a\",\"error\":\"", 4097, "\"}", "field_too_long"},
    {"{\"type\":\"a\",\"source\":1}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"session_id\":{}}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"name\":[]}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"status\":true}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"error\":0}", 0, "", "invalid_field"},
    /* numbers */
    {"{\"type\":\"a\",\"duration_ms\":-1}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"duration_ms\":\"1\"}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"duration_ms\":1e999}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"bytes\":1.5}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"bytes\":-1}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"bytes\":9007199254740992.0}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"value\":1e999}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"value\":\"1\"}", 0, "", "invalid_field"},
    /* attrs */
    {"{\"type\":\"a\",\"attrs\":[]}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"attrs\":\"x\"}", 0, "", "invalid_field"},
    {"{\"type\":\"a\",\"attrs\":" DEEP9 "}", 0, "", "attrs_too_deep"},
    {"{\"type\":\"a\",\"attrs\":{\"k\":\"", 16377, "\"}}", "attrs_too_large"},
    {"{\"type\":\"a\",\"attrs\":{\"k\":1,\"k\":1}}", 0, "", "duplicate_field"},
    {"{\"type\":\"a\",\"attrs\":{\"k\":1e999}}", 0, "", "invalid_field"}};

/* Every rule at its accepting edge. */
static const sample good_events[] = {
    {"{\"type\":\"", 64, "\"}", NULL},
    {"{\"type\":\"a\",\"id\":\"", 64, "\"}", NULL},
    {"{\"type\":\"a\",\"source\":\"", 64, "\"}", NULL},
    {"{\"type\":\"a\",\"session_id\":\"", 128, "\"}", NULL},
    {"{\"type\":\"a\",\"name\":\"", 128, "\"}", NULL},
    {"{\"type\":\"a\",\"status\":\"", 32, "\"}", NULL},
    {"{\"type\":\"a\",\"error\":\"", 4096, "\"}", NULL},
    {"{\"type\":\"a.b:c-d_0\"}", 0, "", NULL},
    {"{\"type\":\"a\",\"ts\":\"2024-02-29T23:59:59.999+14:00\"}", 0, "", NULL},
    {"{\"type\":\"a\",\"ts\":\"1970-01-01t00:00:00z\"}", 0, "", NULL},
    {"{\"type\":\"a\",\"ts\":0}", 0, "", NULL},
    {"{\"type\":\"a\",\"ts\":253402300799999}", 0, "", NULL},
    {"{\"type\":\"a\",\"duration_ms\":0}", 0, "", NULL},
    {"{\"type\":\"a\",\"bytes\":9007199254740991}", 0, "", NULL},
    {"{\"type\":\"a\",\"value\":-1e300}", 0, "", NULL},
    {"{\"type\":\"a\",\"attrs\":" DEEP8 "}", 0, "", NULL},
    {"{\"type\":\"a\",\"attrs\":{\"k\":\"", 16376, "\"}}", NULL},
    {"{\"type\":\"a\",\"id\":null,\"ts\":null,\"source\":null,\"attrs\":null,\"bytes\":null}", 0,
     "", NULL}};

#define NBAD (sizeof bad_events / sizeof bad_events[0])
#define NGOOD (sizeof good_events / sizeof good_events[0])

/* ---- body forms ------------------------------------------------------------------------- */

static void single_object_body_is_one_event(void **state)
{
    (void)state;
    result r = parse("{\"type\":\"request\",\"name\":\"GET /\"}", INGEST_JSON);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.batch.count, 1);
    assert_string_equal(r.batch.events[0]->type, "request");
    assert_string_equal(r.batch.events[0]->name, "GET /");
    assert_int_equal(r.batch.bytes, r.batch.events[0]->size);
    event_batch_free(&r.batch);
}

static void array_body_keeps_order(void **state)
{
    (void)state;
    result r = parse(" [ {\"type\":\"a\"} , {\"type\":\"b\"},{\"type\":\"c\"} ] ", INGEST_JSON);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.batch.count, 3);
    assert_string_equal(r.batch.events[0]->type, "a");
    assert_string_equal(r.batch.events[1]->type, "b");
    assert_string_equal(r.batch.events[2]->type, "c");
    assert_int_equal(r.batch.bytes,
                     r.batch.events[0]->size + r.batch.events[1]->size + r.batch.events[2]->size);
    event_batch_free(&r.batch);
    assert_int_equal(r.batch.count, 0);
    assert_null(r.batch.events);
}

static void ndjson_body_skips_blank_lines(void **state)
{
    (void)state;
    result r = parse("\n{\"type\":\"a\"}\n\n   \t\n{\"type\":\"b\"}\r\n\r\n{\"type\":\"c\"}",
                     INGEST_NDJSON);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.batch.count, 3);
    assert_string_equal(r.batch.events[0]->type, "a");
    assert_string_equal(r.batch.events[1]->type, "b");
    assert_string_equal(r.batch.events[2]->type, "c");
    event_batch_free(&r.batch);
}

static void ndjson_accepts_a_final_newline_and_crlf(void **state)
{
    (void)state;
    accept_body("{\"type\":\"a\"}\r\n{\"type\":\"b\"}\r\n", INGEST_NDJSON, 2);
    accept_body("{\"type\":\"a\"}\n", INGEST_NDJSON, 1);
}

static void events_get_now_as_received_and_default_ts(void **state)
{
    (void)state;
    result r = parse("[{\"type\":\"a\"},{\"type\":\"b\",\"ts\":5}]", INGEST_JSON);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.batch.events[0]->ts_ms, NOW);
    assert_int_equal(r.batch.events[0]->received_ms, NOW);
    assert_int_equal(r.batch.events[1]->ts_ms, 5);
    assert_int_equal(r.batch.events[1]->received_ms, NOW);
    /* Ids are the server's to assign, after validation (uuid7.h). */
    assert_string_equal(r.batch.events[0]->id, "");
    event_batch_free(&r.batch);
}

/* ---- every rule, with its code and index, all or nothing ------------------------------- */

static void every_rule_violation_is_reported_at_its_index_in_an_array(void **state)
{
    (void)state;
    for (size_t i = 0; i < NBAD; i++) {
        char *bad = sample_text(&bad_events[i]);
        char *body =
            fmt("[{\"type\":\"ok\"},{\"type\":\"ok\"},%s,{\"type\":\"ok\"},{\"bad\":1}]", bad);
        ingest_error err = refuse(body, INGEST_JSON, bad_events[i].code, 2);
        assert_true(strncmp(err.message, "event 2: ", 9) == 0);
        free(body);
        free(bad);
    }
}

static void every_rule_violation_is_reported_at_its_index_in_ndjson(void **state)
{
    (void)state;
    for (size_t i = 0; i < NBAD; i++) {
        char *bad = sample_text(&bad_events[i]);
        /* Blank lines make the bad event the 5th line but the 3rd event: index 2. */
        char *body = fmt("{\"type\":\"ok\"}\n\n{\"type\":\"ok\"}\n\n%s\n{\"type\":\"ok\"}\n", bad);
        refuse(body, INGEST_NDJSON, bad_events[i].code, 2);
        free(body);
        free(bad);
    }
}

static void every_rule_violation_is_reported_at_index_0_alone(void **state)
{
    (void)state;
    for (size_t i = 0; i < NBAD; i++) {
        char *bad = sample_text(&bad_events[i]);
        if (bad[0] == '{') { /* a non-object alone is a body error, tested below */
            refuse(bad, INGEST_JSON, bad_events[i].code, 0);
        }
        char *in_array = fmt("[%s]", bad);
        refuse(in_array, INGEST_JSON, bad_events[i].code, 0);
        free(in_array);
        free(bad);
    }
}

static void every_rule_at_its_edge_is_accepted(void **state)
{
    (void)state;
    char *body = strdup("[");
    for (size_t i = 0; i < NGOOD; i++) {
        char *ev = sample_text(&good_events[i]);
        expect_events(ev, strlen(ev), INGEST_JSON, 1);
        char *longer = fmt("%s%s%s", body, i > 0 ? "," : "", ev);
        free(body);
        body = longer;
        free(ev);
    }
    char *closed = fmt("%s]", body);
    expect_events(closed, strlen(closed), INGEST_JSON, NGOOD);
    free(closed);
    free(body);
}

static void only_the_first_bad_event_is_reported(void **state)
{
    (void)state;
    ingest_error err = refuse("[{\"type\":\"ok\"},{\"type\":\"ok\",\"bytes\":-1},{\"colour\":1}]",
                              INGEST_JSON, "invalid_field", 1);
    assert_string_equal(err.message, "event 1: field 'bytes' must be an integer from 0 to "
                                     "9007199254740991 (2^53-1)");
}

static void a_bad_last_event_discards_the_good_ones(void **state)
{
    (void)state;
    char *body = repeat("{\"type\":\"ok\"},", 50);
    char *all = fmt("[%s{\"type\":\"BAD\"}]", body);
    refuse(all, INGEST_JSON, "invalid_field", 50);
    free(all);
    free(body);
}

static void message_names_the_event_and_the_field(void **state)
{
    (void)state;
    ingest_error err =
        refuse("[{\"type\":\"a\"},{\"type\":\"a\",\"wat\":1}]", INGEST_JSON, "unknown_field", 1);
    assert_contains(err.message, "event 1: ");
    assert_contains(err.message, "'wat'");
}

/* ---- body-level errors -------------------------------------------------------------------- */

static void empty_bodies_are_empty_batches(void **state)
{
    (void)state;
    refuse("", INGEST_JSON, "empty_batch", -1);
    refuse(" \r\n\t ", INGEST_JSON, "empty_batch", -1);
    refuse("[]", INGEST_JSON, "empty_batch", -1);
    refuse(" [ \n ] ", INGEST_JSON, "empty_batch", -1);
    refuse("", INGEST_NDJSON, "empty_batch", -1);
    refuse("\n\n  \r\n\n", INGEST_NDJSON, "empty_batch", -1);
}

static void too_many_events_in_an_array(void **state)
{
    (void)state;
    const char *three = "[{\"type\":\"a\"},{\"type\":\"b\"},{\"type\":\"c\"}]";
    result r = parse_n(three, strlen(three), INGEST_JSON, 2);
    assert_int_equal(r.rc, TT_ETOOBIG);
    assert_string_equal(r.err.code, "too_many_events");
    assert_int_equal(r.err.index, -1);
    assert_int_equal(r.err.http_status, 413);
    assert_int_equal(r.batch.count, 0);
    assert_null(r.batch.events);
    r = parse_n(three, strlen(three), INGEST_JSON, 3);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.batch.count, 3);
    event_batch_free(&r.batch);
}

static void too_many_events_in_ndjson(void **state)
{
    (void)state;
    const char *three = "{\"type\":\"a\"}\n\n\n{\"type\":\"b\"}\n{\"type\":\"c\"}\n\n";
    result r = parse_n(three, strlen(three), INGEST_NDJSON, 2);
    assert_int_equal(r.rc, TT_ETOOBIG);
    assert_string_equal(r.err.code, "too_many_events");
    assert_int_equal(r.err.index, -1);
    assert_int_equal(r.err.http_status, 413);
    assert_int_equal(r.batch.count, 0);
    assert_null(r.batch.events);
    /* Blank lines are not events: three events fit a limit of three. */
    r = parse_n(three, strlen(three), INGEST_NDJSON, 3);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.batch.count, 3);
    event_batch_free(&r.batch);
}

static void body_that_is_not_an_object_or_array(void **state)
{
    (void)state;
    refuse("42", INGEST_JSON, "not_an_object", -1);
    refuse("\"event\"", INGEST_JSON, "not_an_object", -1);
    refuse("null", INGEST_JSON, "not_an_object", -1);
    refuse("true", INGEST_JSON, "not_an_object", -1);
    /* ...but a non-object inside the array is that event's fault. */
    refuse("[{\"type\":\"a\"},[]]", INGEST_JSON, "not_an_object", 1);
    refuse("{\"type\":\"a\"}\n[{\"type\":\"b\"}]\n", INGEST_NDJSON, "not_an_object", 1);
    refuse("{\"type\":\"a\"}\n7\n", INGEST_NDJSON, "not_an_object", 1);
}

static void truncated_json_is_invalid(void **state)
{
    (void)state;
    static const char *const bodies[] = {"{",
                                         "[",
                                         "{\"type\":\"a\"",
                                         "{\"type\":\"a\",",
                                         "{\"type\":",
                                         "[{\"type\":\"a\"},",
                                         "[{\"type\":\"a\"}",
                                         "{\"type\":\"a", /* unterminated string: json_scan's */
                                         "{\"type\":\"a\\",
                                         "{\"type\":tru"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        refuse(bodies[i], INGEST_JSON, "invalid_json", -1);
    }
}

static void malformed_json_is_invalid(void **state)
{
    (void)state;
    static const char *const bodies[] = {"{type:\"a\"}",
                                         "{'type':'a'}",
                                         "{\"type\" \"a\"}",
                                         "{\"type\":\"a\",}",
                                         "[{\"type\":\"a\"},]",
                                         "[{\"type\":\"a\"} {\"type\":\"b\"}]",
                                         "{\"type\":\"a\"/* c */}",
                                         "{\"type\":\"a\",\"value\":NaN}",
                                         "{\"type\":\"a\",\"value\":Infinity}",
                                         "{\"type\":\"a\",\"value\":undefined}",
                                         "}"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        refuse(bodies[i], INGEST_JSON, "invalid_json", -1);
    }
}

static void trailing_garbage_is_invalid(void **state)
{
    (void)state;
    ingest_error err = refuse("{\"type\":\"a\"}x", INGEST_JSON, "invalid_json", -1);
    assert_contains(err.message, "byte 12");
    refuse("{\"type\":\"a\"} x", INGEST_JSON, "invalid_json", -1);
    refuse("{\"type\":\"a\"}{\"type\":\"b\"}", INGEST_JSON, "invalid_json", -1);
    refuse("{\"type\":\"a\"}\n{\"type\":\"b\"}\n", INGEST_JSON, "invalid_json", -1);
    refuse("[{\"type\":\"a\"}]]", INGEST_JSON, "invalid_json", -1);
    refuse("[{\"type\":\"a\"}],", INGEST_JSON, "invalid_json", -1);
    /* Whitespace after the value is fine. */
    accept_body("{\"type\":\"a\"} \r\n\t ", INGEST_JSON, 1);
}

static void ndjson_bad_line_reports_its_event_index_and_line(void **state)
{
    (void)state;
    /* The 3rd event, on the 5th line. */
    const char *body = "{\"type\":\"a\"}\n\n{\"type\":\"b\"}\n\n{\"type\":\n{\"type\":\"c\"}\n";
    ingest_error err = refuse(body, INGEST_NDJSON, "invalid_json", 2);
    assert_contains(err.message, "line 5");
    /* The byte (from 0) is counted in the line, where the sender can find it. */
    assert_contains(err.message, "near byte 7 of the line");
    err = refuse("{\"type\":\"a\"}\n{\"type\":\"b\"} junk\n", INGEST_NDJSON, "invalid_json", 1);
    assert_contains(err.message, "line 2");
    assert_contains(err.message, "at byte 13 of the line");
    /* One object over two lines is not NDJSON. */
    refuse("{\"type\":\n\"a\"}\n", INGEST_NDJSON, "invalid_json", 0);
}

static void ndjson_line_with_two_objects_is_invalid(void **state)
{
    (void)state;
    refuse("{\"type\":\"a\"}{\"type\":\"b\"}\n", INGEST_NDJSON, "invalid_json", 0);
}

/* ---- the lexical checks ------------------------------------------------------------------- */

/* 'bytes' (with embedded NULs allowed) placed inside the 'name' string of one event. */
static void expect_name_bytes(const char *bytes, size_t n, const char *code)
{
    const char *pre = "{\"type\":\"a\",\"name\":\"";
    const char *post = "\"}";
    size_t len = strlen(pre) + n + strlen(post);
    char *body = malloc(len);
    assert_non_null(body);
    memcpy(body, pre, strlen(pre));
    memcpy(body + strlen(pre), bytes, n);
    memcpy(body + strlen(pre) + n, post, strlen(post));
    if (code == NULL) {
        expect_events(body, len, INGEST_JSON, 1);
    } else {
        expect_refusal(body, len, INGEST_JSON, code, -1);
    }
    free(body);
}

#define NAME_BYTES(lit, code) expect_name_bytes(lit, sizeof(lit) - 1, code)

static void valid_utf8_is_accepted(void **state)
{
    (void)state;
    NAME_BYTES("\xc2\x80", NULL);         /* U+0080, the first 2-byte character */
    NAME_BYTES("\xdf\xbf", NULL);         /* U+07FF */
    NAME_BYTES("\xe0\xa0\x80", NULL);     /* U+0800 */
    NAME_BYTES("\xed\x9f\xbf", NULL);     /* U+D7FF, just below the surrogates */
    NAME_BYTES("\xee\x80\x80", NULL);     /* U+E000, just above them */
    NAME_BYTES("\xef\xbf\xbf", NULL);     /* U+FFFF */
    NAME_BYTES("\xf0\x90\x80\x80", NULL); /* U+10000 */
    NAME_BYTES("\xf4\x8f\xbf\xbf", NULL); /* U+10FFFF, the last code point */
    NAME_BYTES("\x7f", NULL);             /* DEL is not a control character to JSON */
}

static void invalid_utf8_is_refused(void **state)
{
    (void)state;
    NAME_BYTES("\xc0\xaf", "invalid_utf8");         /* overlong '/' */
    NAME_BYTES("\xc1\xbf", "invalid_utf8");         /* overlong */
    NAME_BYTES("\xe0\x80\xaf", "invalid_utf8");     /* overlong, 3 bytes */
    NAME_BYTES("\xe0\x9f\xbf", "invalid_utf8");     /* overlong U+07FF */
    NAME_BYTES("\xf0\x80\x80\xaf", "invalid_utf8"); /* overlong, 4 bytes */
    NAME_BYTES("\xf0\x8f\xbf\xbf", "invalid_utf8"); /* overlong U+FFFF */
    NAME_BYTES("\xed\xa0\x80", "invalid_utf8");     /* U+D800, a surrogate */
    NAME_BYTES("\xed\xbf\xbf", "invalid_utf8");     /* U+DFFF */
    NAME_BYTES("\xf4\x90\x80\x80", "invalid_utf8"); /* U+110000 */
    NAME_BYTES("\xf5\x80\x80\x80", "invalid_utf8");
    NAME_BYTES("\xff", "invalid_utf8");
    NAME_BYTES("\xfe", "invalid_utf8");
    NAME_BYTES("\x80", "invalid_utf8"); /* a lone continuation byte */
    NAME_BYTES("\xbf\xbf", "invalid_utf8");
    NAME_BYTES("\xe2\x82", "invalid_utf8"); /* truncated: the quote follows */
    NAME_BYTES("\xf0\x9f\x98", "invalid_utf8");
    NAME_BYTES("\xc3", "invalid_utf8");
    NAME_BYTES("a\xc3(b", "invalid_utf8"); /* a non-continuation after a lead byte */
}

/* RFC 8259 §8.1: a parser may ignore a byte-order mark at the start; telltale does. */
static void a_leading_bom_is_skipped(void **state)
{
    (void)state;
    accept_body("\xef\xbb\xbf{\"type\":\"a\"}", INGEST_JSON, 1);
    accept_body("\xef\xbb\xbf[{\"type\":\"a\"},{\"type\":\"b\"}]", INGEST_JSON, 2);
    accept_body("\xef\xbb\xbf{\"type\":\"a\"}\n{\"type\":\"b\"}\n", INGEST_NDJSON, 2);
    refuse("\xef\xbb\xbf", INGEST_JSON, "empty_batch", -1);
}

/* Anywhere else a byte-order mark is valid UTF-8 but invalid JSON (RFC 8259 §8.1), said so
 * with where it is; an NDJSON line's start is not the body's. Inside a string it is just a
 * character. */
static void a_bom_elsewhere_is_invalid_json(void **state)
{
    (void)state;
    ingest_error err =
        refuse("\xef\xbb\xbf\xef\xbb\xbf{\"type\":\"a\"}", INGEST_JSON, "invalid_json", -1);
    assert_string_equal(err.message, "a byte-order mark (U+FEFF) at byte 3: only allowed at the "
                                     "start of the body");
    err = refuse("[\xef\xbb\xbf{\"type\":\"a\"}]", INGEST_JSON, "invalid_json", -1);
    assert_string_equal(err.message, "a byte-order mark (U+FEFF) at byte 1: only allowed at the "
                                     "start of the body");
    err = refuse(" \xef\xbb\xbf{\"type\":\"a\"}", INGEST_JSON, "invalid_json", -1);
    assert_string_equal(err.message, "a byte-order mark (U+FEFF) at byte 1: only allowed at the "
                                     "start of the body");
    err =
        refuse("{\"type\":\"a\"}\n\xef\xbb\xbf{\"type\":\"b\"}", INGEST_NDJSON, "invalid_json", 1);
    assert_string_equal(err.message, "line 2: a byte-order mark (U+FEFF) at byte 0 of the line: "
                                     "only allowed at the start of the body");
    err = refuse("\xef\xbb\xbf\xef\xbb\xbf{\"type\":\"a\"}\n", INGEST_NDJSON, "invalid_json", 0);
    assert_string_equal(err.message, "line 1: a byte-order mark (U+FEFF) at byte 3 of the line: "
                                     "only allowed at the start of the body");
    accept_body("{\"type\":\"a\",\"name\":\"\xef\xbb\xbfx\"}", INGEST_JSON, 1);
    accept_body("{\"type\":\"a\"}\n{\"type\":\"b\",\"attrs\":{\"\xef\xbb\xbf\":1}}\n",
                INGEST_NDJSON, 2);
}

static void invalid_utf8_anywhere_is_refused(void **state)
{
    (void)state;
    /* Cut off at the very end of the body. */
    expect_refusal("{\"type\":\"a\",\"name\":\"\xe2\x82", 22, INGEST_JSON, "invalid_utf8", -1);
    /* In a key, in attrs, in NDJSON, and (even valid UTF-8) outside any string. */
    refuse("{\"type\":\"a\",\"attrs\":{\"\xc0\xaf\":1}}", INGEST_JSON, "invalid_utf8", -1);
    refuse("{\"type\":\"a\",\"attrs\":{\"k\":[\"\xed\xa0\x80\"]}}", INGEST_JSON, "invalid_utf8",
           -1);
    refuse("{\"type\":\"a\"}\n{\"type\":\"b\",\"name\":\"\xff\"}\n", INGEST_NDJSON, "invalid_utf8",
           1);
    refuse("{\"type\":\"a\"}\xc3\xa9", INGEST_JSON, "invalid_utf8", -1);
}

static void invalid_utf8_message_gives_the_offset(void **state)
{
    (void)state;
    ingest_error err = refuse("{\"type\":\"a\xff\"}", INGEST_JSON, "invalid_utf8", -1);
    assert_string_equal(err.message, "invalid UTF-8 at byte 10");
    /* Counted in the body as sent, a byte-order mark included. */
    err = refuse("\xef\xbb\xbf{\"type\":\"a\xff\"}", INGEST_JSON, "invalid_utf8", -1);
    assert_string_equal(err.message, "invalid UTF-8 at byte 13");
    /* NDJSON: in its line, where a sender of many lines can find it. */
    err = refuse("{\"type\":\"a\"}\n\n{\"type\":\"a\xff\"}\n", INGEST_NDJSON, "invalid_utf8", 1);
    assert_string_equal(err.message, "line 3: invalid UTF-8 at byte 10 of the line");
    err = refuse("\xef\xbb\xbf{\"type\":\"a\xff\"}\n", INGEST_NDJSON, "invalid_utf8", 0);
    assert_string_equal(err.message, "line 1: invalid UTF-8 at byte 13 of the line");
    /* NDJSON sent as JSON: the message names the type to send; other trailing data does not. */
    err = refuse("{\"type\":\"a\"}\n{\"type\":\"b\"}\n", INGEST_JSON, "invalid_json", -1);
    assert_string_equal(err.message, "unexpected data after the JSON value at byte 13; one JSON "
                                     "value per line is NDJSON: send it with Content-Type: "
                                     "application/x-ndjson");
    err = refuse("{\"type\":\"a\"} x", INGEST_JSON, "invalid_json", -1);
    assert_string_equal(err.message, "unexpected data after the JSON value at byte 13");
    /* Lines are read in order: an earlier line's bad event is heard of before a later line's
     * bad bytes (the whole body used to be scanned first, index -1). */
    err = refuse("{\"type\":\"a\"}\n{\"type\":\"a\",\"oops\":1}\n{\"type\":\"a\xff\"}\n",
                 INGEST_NDJSON, "unknown_field", 1);
    assert_contains(err.message, "line 2: ");
}

/* I-JSON (RFC 7493 §2.2): an integer beyond 2^53-1 would be stored rounded, so the body is
 * refused where it starts, saying what to send instead; in NDJSON, in its line. */
static void big_integer_is_refused_saying_where_and_why(void **state)
{
    (void)state;
    static const char *const why = ": JSON numbers are read as doubles, exact only to 2^53-1; "
                                   "send such a value as a string (I-JSON, RFC 7493 §2.2)";
    char want[TT_ERRLEN];
    ingest_error err = refuse("{\"type\":\"a\",\"attrs\":{\"n\":9007199254740993}}", INGEST_JSON,
                              "invalid_json", -1);
    snprintf(want, sizeof want, "an integer beyond ±9007199254740991 at byte 25%s", why);
    assert_string_equal(err.message, want);
    err = refuse("{\"type\":\"a\"}\n{\"type\":\"a\",\"attrs\":{\"n\":-9007199254740992}}\n",
                 INGEST_NDJSON, "invalid_json", 1);
    snprintf(want, sizeof want,
             "line 2: an integer beyond ±9007199254740991 at byte 25 of the line%s", why);
    assert_string_equal(err.message, want);
    event_batch b;
    ingest_error ok;
    const char *edge = "{\"type\":\"a\",\"attrs\":{\"n\":9007199254740991,\"m\":-9007199254740991,"
                       "\"s\":\"9007199254740993\",\"d\":9007199254740993.0}}";
    assert_int_equal(ingest_parse(edge, strlen(edge), INGEST_JSON, NOW, 100, &b, &ok), 0);
    assert_string_equal(b.events[0]->attrs, "{\"n\":9007199254740991,\"m\":-9007199254740991,"
                                            "\"s\":\"9007199254740993\",\"d\":9007199254740992}");
    event_batch_free(&b);
}

static void escaped_nul_is_refused(void **state)
{
    (void)state;
    /* cJSON would silently cut the string at U+0000. */
    refuse("{\"type\":\"a\",\"name\":\"ab\\u0000cd\"}", INGEST_JSON, "invalid_json", -1);
    refuse("{\"type\":\"a\\u0000\"}", INGEST_JSON, "invalid_json", -1);
    refuse("{\"type\":\"a\",\"attrs\":{\"k\\u0000\":1}}", INGEST_JSON, "invalid_json", -1);
    refuse("{\"type\":\"a\"}\n{\"type\":\"a\",\"id\":\"\\u0000\"}", INGEST_NDJSON, "invalid_json",
           1);
    /* Other escapes of control characters are fine. */
    accept_body("{\"type\":\"a\",\"name\":\"\\u0001\\u001F\"}", INGEST_JSON, 1);
}

static void raw_control_characters_are_refused(void **state)
{
    (void)state;
    NAME_BYTES("a\x01", "invalid_json");
    NAME_BYTES("a\tb", "invalid_json");
    NAME_BYTES("a\nb", "invalid_json");
    NAME_BYTES("a\rb", "invalid_json");
    NAME_BYTES("\x1f", "invalid_json");
    NAME_BYTES("a\0b", "invalid_json");
    /* Outside strings: NUL and control bytes other than whitespace. */
    expect_refusal("{\"type\":\"a\"}\0", 13, INGEST_JSON, "invalid_json", -1);
    expect_refusal("{\"type\":\0\"a\"}", 13, INGEST_JSON, "invalid_json", -1);
    refuse("{\"type\":\"a\"}\x0b", INGEST_JSON, "invalid_json", -1);
    refuse("{\"type\":\x1b\"a\"}", INGEST_JSON, "invalid_json", -1);
}

static void bad_escapes_are_refused(void **state)
{
    (void)state;
    NAME_BYTES("\\x41", "invalid_json");
    NAME_BYTES("\\U0041", "invalid_json");
    NAME_BYTES("\\u12", "invalid_json");
    NAME_BYTES("\\u12g4", "invalid_json");
    NAME_BYTES("\\a", "invalid_json");
    NAME_BYTES("\\'", "invalid_json");
    NAME_BYTES("\\ud800", "invalid_json");        /* a lone high surrogate */
    NAME_BYTES("\\udc00", "invalid_json");        /* a lone low surrogate */
    NAME_BYTES("\\ud800\\u0041", "invalid_json"); /* high surrogate, then not a low one */
    NAME_BYTES("\\ud83d\\ude00", NULL);           /* a valid pair: U+1F600 */
    NAME_BYTES("\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u00E9", NULL);
}

static void number_grammar_is_enforced(void **state)
{
    (void)state;
    static const char *const bad[] = {"01", "-01",  "00",  "1.",  "-.5",   ".5",
                                      "+1", "1e",   "1e+", "1E-", "1.2.3", "0x10",
                                      "-",  "1.e5", "--1", "1-2", "- 1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *body = fmt("{\"type\":\"a\",\"value\":%s}", bad[i]);
        refuse(body, INGEST_JSON, "invalid_json", -1);
        free(body);
        /* The same inside attrs, where nothing else looks at numbers. */
        body = fmt("{\"type\":\"a\",\"attrs\":{\"n\":[%s]}}", bad[i]);
        refuse(body, INGEST_JSON, "invalid_json", -1);
        free(body);
    }
}

static void numbers_in_the_grammar_are_accepted(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double v;
    } ok[] = {{"0", 0},      {"-0", 0},          {"7", 7},    {"-7.25", -7.25}, {"1e3", 1e3},
              {"1E+3", 1e3}, {"2.5e-3", 2.5e-3}, {"-0.0", 0}, {"10", 10}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *body = fmt("{\"type\":\"a\",\"value\":%s}", ok[i].text);
        result r = parse(body, INGEST_JSON);
        assert_int_equal(r.rc, 0);
        assert_true(r.batch.events[0]->value == ok[i].v);
        event_batch_free(&r.batch);
        free(body);
    }
}

/* ---- nesting ---------------------------------------------------------------------------- */

/* A body of one event in an array whose attrs nests so that the body is 'depth' deep. */
static char *body_of_depth(int depth)
{
    int attrs_depth = depth - 2; /* the array, then the event */
    char *open = repeat("{\"a\":", (size_t)attrs_depth - 1);
    char *close = repeat("}", (size_t)attrs_depth - 1);
    char *body = fmt("[{\"type\":\"a\"},{\"type\":\"a\",\"attrs\":%s{}%s}]", open, close);
    free(close);
    free(open);
    return body;
}

static void deep_attrs_are_the_events_fault(void **state)
{
    (void)state;
    /* Up to INGEST_MAX_DEPTH the body passes the scan and attrs is judged by its own limit. */
    char *b10 = body_of_depth(10);
    expect_events(b10, strlen(b10), INGEST_JSON, 2);
    free(b10);
    char *b11 = body_of_depth(11);
    refuse(b11, INGEST_JSON, "attrs_too_deep", 1);
    free(b11);
    char *b32 = body_of_depth(INGEST_MAX_DEPTH);
    refuse(b32, INGEST_JSON, "attrs_too_deep", 1);
    free(b32);
}

static void nesting_beyond_the_body_limit_is_refused_whole(void **state)
{
    (void)state;
    assert_int_equal(INGEST_MAX_DEPTH, 32);
    char *b33 = body_of_depth(INGEST_MAX_DEPTH + 1);
    ingest_error err = refuse(b33, INGEST_JSON, "nesting_too_deep", -1);
    assert_contains(err.message, "32 levels");
    free(b33);
    char *brackets = repeat("[", 100000);
    refuse(brackets, INGEST_JSON, "nesting_too_deep", -1);
    refuse(brackets, INGEST_NDJSON, "nesting_too_deep", 0); /* NDJSON: line 1, event 0 */
    free(brackets);
}

/* ---- bodies as the server has them ------------------------------------------------------ */

/* Parses a copy of 'text' in a heap block of exactly its length, with no NUL after it, as an
 * HTTP body arrives: under ASan any read past the end fails the test. */
static result parse_unterminated(const char *text, ingest_format f)
{
    size_t len = strlen(text);
    char *body = malloc(len);
    assert_non_null(body);
    memcpy(body, text, len);
    result r = parse_n(body, len, f, MAX_EVENTS);
    free(body);
    return r;
}

static void bodies_need_no_terminating_nul(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        ingest_format f;
        const char *code; /* NULL: accepted */
    } cases[] = {{"{\"type\":\"a\",\"bytes\":12}", INGEST_JSON, NULL},
                 {"[{\"type\":\"a\"}]  ", INGEST_JSON, NULL},
                 {"{\"type\":\"a\"}\n{\"type\":\"b\"}", INGEST_NDJSON, NULL},
                 {"{\"type\":\"a\"}\n\n", INGEST_NDJSON, NULL},
                 {"42", INGEST_JSON, "not_an_object"},
                 {"-1.5e3", INGEST_JSON, "not_an_object"},
                 {"tru", INGEST_JSON, "invalid_json"},
                 {"{\"type\":\"a\"} 1", INGEST_JSON, "invalid_json"},
                 {"{\"type\":\"a\",\"value\":1", INGEST_JSON, "invalid_json"},
                 {"{\"type\":\"a\"}\n{\"type\":\"b\",\"value\":1", INGEST_NDJSON, "invalid_json"},
                 {"{\"type\":\"a\",\"ts\":\"2025-11-28T14:31:43Z", INGEST_JSON, "invalid_json"},
                 {"1.", INGEST_JSON, "invalid_json"},
                 {"\"\\u12", INGEST_JSON, "invalid_json"},
                 {"\"\xe2\x82", INGEST_JSON, "invalid_utf8"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        result r = parse_unterminated(cases[i].body, cases[i].f);
        if (cases[i].code == NULL) {
            if (r.rc != 0) {
                fail_msg("refused (%s): %s", r.err.code, cases[i].body);
            }
            event_batch_free(&r.batch);
        } else {
            assert_int_not_equal(r.rc, 0);
            assert_string_equal(r.err.code, cases[i].code);
        }
    }
}

/* ---- ingest_from_array -------------------------------------------------------------------- */

static void from_array_validates_each_event(void **state)
{
    (void)state;
    cJSON *arr = cJSON_Parse("[{\"type\":\"a\"},{\"type\":\"b\",\"ts\":3}]");
    event_batch b;
    ingest_error err;
    assert_int_equal(ingest_from_array(arr, NOW, 10, &b, &err), 0);
    assert_int_equal(b.count, 2);
    assert_string_equal(b.events[1]->type, "b");
    assert_int_equal(b.events[1]->ts_ms, 3);
    assert_int_equal(b.events[0]->ts_ms, NOW);
    event_batch_free(&b);
    cJSON_Delete(arr);
}

static void from_array_reports_the_first_bad_event_and_keeps_nothing(void **state)
{
    (void)state;
    cJSON *arr = cJSON_Parse("[{\"type\":\"a\"},{\"type\":\"b\"},{\"type\":\"a\",\"x\":1}]");
    event_batch b;
    ingest_error err;
    assert_int_equal(ingest_from_array(arr, NOW, 10, &b, &err), TT_EINVAL);
    assert_string_equal(err.code, "unknown_field");
    assert_int_equal(err.index, 2);
    assert_int_equal(err.http_status, 400);
    assert_int_equal(b.count, 0);
    assert_null(b.events);
    cJSON_Delete(arr);
}

static void from_array_refuses_non_arrays_empty_and_too_many(void **state)
{
    (void)state;
    event_batch b;
    ingest_error err;
    cJSON *obj = cJSON_Parse("{\"type\":\"a\"}");
    assert_int_equal(ingest_from_array(obj, NOW, 10, &b, &err), TT_EINVAL);
    assert_string_equal(err.code, "invalid_message");
    assert_int_equal(err.index, -1);
    cJSON_Delete(obj);
    cJSON *empty = cJSON_Parse("[]");
    assert_int_equal(ingest_from_array(empty, NOW, 10, &b, &err), TT_EINVAL);
    assert_string_equal(err.code, "empty_batch");
    cJSON_Delete(empty);
    cJSON *two = cJSON_Parse("[{\"type\":\"a\"},{\"type\":\"a\"}]");
    assert_int_equal(ingest_from_array(two, NOW, 1, &b, &err), TT_ETOOBIG);
    assert_string_equal(err.code, "too_many_events");
    assert_int_equal(err.http_status, 413);
    assert_int_equal(b.count, 0);
    cJSON_Delete(two);
}

/* With blank lines the event index and the line differ: a validation error names both. */
static void ndjson_validation_error_names_its_line(void **state)
{
    (void)state;
    ingest_error err = refuse("{\"type\":\"a\"}\n\n{\"type\":\"a\"}\n\n{\"type\":\"BAD\"}\n",
                              INGEST_NDJSON, "invalid_field", 2);
    assert_contains(err.message, "line 5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(single_object_body_is_one_event),
        cmocka_unit_test(array_body_keeps_order),
        cmocka_unit_test(ndjson_body_skips_blank_lines),
        cmocka_unit_test(ndjson_accepts_a_final_newline_and_crlf),
        cmocka_unit_test(events_get_now_as_received_and_default_ts),
        cmocka_unit_test(every_rule_violation_is_reported_at_its_index_in_an_array),
        cmocka_unit_test(every_rule_violation_is_reported_at_its_index_in_ndjson),
        cmocka_unit_test(every_rule_violation_is_reported_at_index_0_alone),
        cmocka_unit_test(every_rule_at_its_edge_is_accepted),
        cmocka_unit_test(only_the_first_bad_event_is_reported),
        cmocka_unit_test(a_bad_last_event_discards_the_good_ones),
        cmocka_unit_test(message_names_the_event_and_the_field),
        cmocka_unit_test(empty_bodies_are_empty_batches),
        cmocka_unit_test(too_many_events_in_an_array),
        cmocka_unit_test(too_many_events_in_ndjson),
        cmocka_unit_test(body_that_is_not_an_object_or_array),
        cmocka_unit_test(truncated_json_is_invalid),
        cmocka_unit_test(malformed_json_is_invalid),
        cmocka_unit_test(trailing_garbage_is_invalid),
        cmocka_unit_test(ndjson_bad_line_reports_its_event_index_and_line),
        cmocka_unit_test(ndjson_line_with_two_objects_is_invalid),
        cmocka_unit_test(valid_utf8_is_accepted),
        cmocka_unit_test(invalid_utf8_is_refused),
        cmocka_unit_test(a_leading_bom_is_skipped),
        cmocka_unit_test(a_bom_elsewhere_is_invalid_json),
        cmocka_unit_test(invalid_utf8_anywhere_is_refused),
        cmocka_unit_test(invalid_utf8_message_gives_the_offset),
        cmocka_unit_test(big_integer_is_refused_saying_where_and_why),
        cmocka_unit_test(escaped_nul_is_refused),
        cmocka_unit_test(raw_control_characters_are_refused),
        cmocka_unit_test(bad_escapes_are_refused),
        cmocka_unit_test(number_grammar_is_enforced),
        cmocka_unit_test(numbers_in_the_grammar_are_accepted),
        cmocka_unit_test(deep_attrs_are_the_events_fault),
        cmocka_unit_test(nesting_beyond_the_body_limit_is_refused_whole),
        cmocka_unit_test(bodies_need_no_terminating_nul),
        cmocka_unit_test(from_array_validates_each_event),
        cmocka_unit_test(from_array_reports_the_first_bad_event_and_keeps_nothing),
        cmocka_unit_test(from_array_refuses_non_arrays_empty_and_too_many),
        cmocka_unit_test(ndjson_validation_error_names_its_line),
    };
    return cmocka_run_group_tests_name("ingest", tests, NULL, NULL);
}
