/* test_change_filter.c -- postgres_changes row filters: every operator on text, number and time
 * columns, NULL (absent) fields that match nothing, in.(...) lists and their limit, what is
 * refused (unknown column or operator, attrs, malformed filters), and values as realtime-js
 * writes them.
 *
 * Quoting. @supabase/realtime-js 2.119.1 (src/RealtimePostgresFilterBuilder.ts) writes values
 * PostgREST-style: one holding , ( ) " or \ or edge spaces goes in double quotes with \" and \\
 * escapes (name=eq."a,b", name=in.("a,b",c)), and its docs (RealtimeChannel.ts) say the server
 * splits conditions on commas outside quotes and parentheses. Dots need no quoting: the value
 * is everything after the operator's dot. telltale takes one condition per filter, so a bare
 * comma outside an in.(...) list is refused rather than read as part of the value. The strings
 * below marked "builder" were produced by that builder under node. */
#include "core/change_filter.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2025-06-01T12:00:00.250Z and a second later */
#define TS_MS INT64_C(1748779200250)
#define RECEIVED_MS INT64_C(1748779201250)

/* An event with every field present. */
static tt_event full_event(void)
{
    tt_event ev = {
        .seq = 42,
        .ts_ms = TS_MS,
        .received_ms = RECEIVED_MS,
        .duration_ms = 12.5,
        .value = -3.25,
        .bytes = 2048,
        .has = EVENT_HAS_DURATION | EVENT_HAS_BYTES | EVENT_HAS_VALUE,
        .type = "request",
        .source = "api",
        .session_id = "sess-1",
        .name = "GET /users",
        .status = "ok",
        .error = "none",
        .attrs = "{\"k\":\"v\"}",
    };
    strcpy(ev.id, "01970a1b-0000-7000-8000-000000000001");
    return ev;
}

/* An event with only what every event has: seq, times, id and type. */
static tt_event bare_event(void)
{
    tt_event ev = full_event();
    ev.has = 0;
    ev.source = ev.session_id = ev.name = ev.status = ev.error = ev.attrs = NULL;
    return ev;
}

/* Does 'spec' parse and match 'ev'? */
static bool matches(const char *spec, const tt_event *ev)
{
    change_filter f;
    char err[TT_ERRLEN] = "";
    int rc = change_filter_parse(spec, &f, err);
    if (rc != 0) {
        fail_msg("'%s' refused (%d): %s", spec, rc, err);
    }
    bool m = change_filter_match(&f, ev);
    change_filter_free(&f);
    return m;
}

static void assert_matches(const char *spec, const tt_event *ev)
{
    if (!matches(spec, ev)) {
        fail_msg("'%s' does not match", spec);
    }
}

static void assert_no_match(const char *spec, const tt_event *ev)
{
    if (matches(spec, ev)) {
        fail_msg("'%s' matches", spec);
    }
}

/* change_filter_parse refuses 'spec' with TT_EINVAL and says 'why'. */
static void refused(const char *spec, const char *why)
{
    change_filter f;
    char err[TT_ERRLEN] = "";
    int rc = change_filter_parse(spec, &f, err);
    if (rc != TT_EINVAL) {
        fail_msg("'%.80s' gave %d, expected TT_EINVAL", spec, rc);
    }
    if (strstr(err, why) == NULL) {
        fail_msg("'%.80s': '%s' lacks '%s'", spec, err, why);
    }
    change_filter_free(&f); /* harmless after a failure */
}

#define BAD_SHAPE "a filter reads column=op.value"

/* ---- text columns --------------------------------------------------------------------------- */

static void every_op_on_a_text_column(void **state)
{
    (void)state;
    tt_event ev = full_event(); /* type "request" */
    assert_matches("type=eq.request", &ev);
    assert_no_match("type=eq.requests", &ev);
    assert_no_match("type=eq.Request", &ev);
    assert_matches("type=neq.response", &ev);
    assert_no_match("type=neq.request", &ev);
    assert_matches("type=lt.response", &ev);
    assert_no_match("type=lt.request", &ev);
    assert_matches("type=lte.request", &ev);
    assert_no_match("type=lte.reque", &ev);
    assert_matches("type=gt.reque", &ev); /* a prefix sorts first */
    assert_no_match("type=gt.request", &ev);
    assert_matches("type=gte.request", &ev);
    assert_no_match("type=gte.z", &ev);
    assert_matches("type=in.(error,request)", &ev);
    assert_no_match("type=in.(error,response)", &ev);
}

/* Every text column reads its own field. */
static void each_text_column_reads_its_field(void **state)
{
    (void)state;
    tt_event ev = full_event();
    assert_matches("id=eq.01970a1b-0000-7000-8000-000000000001", &ev);
    assert_matches("source=eq.api", &ev);
    assert_matches("session_id=eq.sess-1", &ev);
    assert_matches("name=eq.GET /users", &ev);
    assert_matches("status=eq.ok", &ev);
    assert_matches("error=eq.none", &ev);
    assert_no_match("source=eq.request", &ev);
    assert_no_match("status=eq.api", &ev);
}

/* ---- number and time columns ---------------------------------------------------------------- */

static void every_op_on_a_number_column(void **state)
{
    (void)state;
    tt_event ev = full_event(); /* bytes 2048 */
    assert_matches("bytes=eq.2048", &ev);
    assert_matches("bytes=eq.2048.0", &ev);
    assert_matches("bytes=eq.2.048e3", &ev);
    assert_no_match("bytes=eq.2047", &ev);
    assert_matches("bytes=neq.2047", &ev);
    assert_no_match("bytes=neq.2048", &ev);
    assert_matches("bytes=lt.2049", &ev);
    assert_no_match("bytes=lt.2048", &ev);
    assert_matches("bytes=lte.2048", &ev);
    assert_no_match("bytes=lte.2047", &ev);
    assert_matches("bytes=gt.2047", &ev);
    assert_no_match("bytes=gt.2048", &ev);
    assert_matches("bytes=gte.2048", &ev);
    assert_no_match("bytes=gte.2049", &ev);
    assert_matches("bytes=in.(1,2048,3)", &ev);
    assert_no_match("bytes=in.(1,2049,3)", &ev);
}

/* Numbers compare as numbers: "300" < "2048" as text, not as numbers. */
static void numbers_compare_numerically_not_as_text(void **state)
{
    (void)state;
    tt_event ev = full_event();
    assert_matches("bytes=gt.300", &ev);
    assert_no_match("bytes=lt.300", &ev);
    assert_matches("seq=gt.9", &ev);
    assert_matches("seq=eq.42", &ev);
    assert_matches("duration_ms=gt.12.25", &ev);
    assert_matches("duration_ms=eq.12.5", &ev);
    assert_no_match("duration_ms=gt.12.5", &ev);
    assert_matches("value=lt.-3", &ev);
    assert_matches("value=eq.-3.25", &ev);
    assert_matches("value=in.(0,-3.25)", &ev);
}

static void time_columns_compare_as_times(void **state)
{
    (void)state;
    tt_event ev = full_event();
    assert_matches("ts=eq.2025-06-01T12:00:00.250Z", &ev);
    assert_matches("ts=eq.2025-06-01T14:00:00.250+02:00", &ev);
    assert_matches("ts=gt.2025-06-01T12:00:00Z", &ev);
    assert_no_match("ts=gt.2025-06-01T12:00:00.250Z", &ev);
    assert_matches("ts=lt.2025-06-01T12:00:00.251Z", &ev);
    assert_matches("received_at=gte.2025-06-01T12:00:01.250Z", &ev);
    assert_no_match("received_at=lt.2025-06-01T12:00:01.250Z", &ev);
    refused("ts=gt.yesterday", "is not an RFC 3339 time");
    refused("ts=gt.1748779200250", "is not an RFC 3339 time");
}

static void values_that_are_not_numbers_are_refused(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "bytes=eq.abc", "bytes=eq.",    "bytes=eq.12abc",
        "bytes=eq.inf", "bytes=eq.nan", "bytes=eq.1e999",
        "seq=in.(1,x)", "value=in.()",  "duration_ms=lt.\"1.5x\"",
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        refused(specs[i], "compares numbers");
    }
}

/* ---- NULL ----------------------------------------------------------------------------------- */

/* As in SQL, a NULL field satisfies no comparison: not even neq, nor an in list. */
static void absent_fields_never_match(void **state)
{
    (void)state;
    tt_event ev = bare_event();
    static const char *const specs[] = {
        "source=eq.api",    "source=neq.api",   "source=lt.zzz",       "source=gt.",
        "session_id=neq.x", "name=gte.",        "status=in.(ok,fail)", "error=neq.none",
        "error=lte.zzz",    "duration_ms=eq.0", "duration_ms=neq.0",   "duration_ms=gt.-1e300",
        "bytes=eq.0",       "bytes=neq.1",      "bytes=lt.1e300",      "value=eq.0",
        "value=neq.0",      "value=in.(0,1)",   "value=gte.-1e300",
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        assert_no_match(specs[i], &ev);
    }
    /* The same filters over the full event do match, so it is the absence that fails them. */
    tt_event full = full_event();
    assert_matches("source=neq.x", &full);
    assert_matches("bytes=neq.1", &full);
    assert_matches("value=neq.0", &full);
    assert_matches("duration_ms=gt.-1e300", &full);
}

/* An absent number is not 0, even though the struct field holds 0. */
static void absent_number_is_not_zero(void **state)
{
    (void)state;
    tt_event ev = bare_event();
    ev.bytes = 0;
    ev.value = 0;
    ev.duration_ms = 0;
    assert_no_match("bytes=eq.0", &ev);
    assert_no_match("value=lte.0", &ev);
    assert_no_match("duration_ms=gte.0", &ev);
    ev.has = EVENT_HAS_BYTES;
    assert_matches("bytes=eq.0", &ev);
}

/* ---- in lists ------------------------------------------------------------------------------- */

static void in_list_matches_any_of_its_values(void **state)
{
    (void)state;
    tt_event ev = full_event();
    assert_matches("status=in.(ok)", &ev);
    assert_matches("status=in.(fail,ok)", &ev);
    assert_matches("status=in.(ok,ok)", &ev);
    assert_no_match("status=in.(fail,timeout)", &ev);
    assert_no_match("status=in.(o,k)", &ev);
    assert_no_match("status=in.(ok )", &ev); /* the space is part of the value */
}

static void in_list_must_be_parenthesized(void **state)
{
    (void)state;
    refused("status=in.ok", "in takes a list");
    refused("status=in.(ok", "in takes a list");
    refused("status=in.ok)", "in takes a list");
    refused("status=in.", "in takes a list");
    refused("status=in.(", "in takes a list");
}

/* CHANGE_FILTER_IN_MAX values are read, one more is refused. */
static void in_list_holds_at_most_the_limit(void **state)
{
    (void)state;
    char spec[CHANGE_FILTER_MAX + 1];
    size_t n = (size_t)snprintf(spec, sizeof spec, "bytes=in.(");
    for (int i = 1; i <= CHANGE_FILTER_IN_MAX; i++) {
        n += (size_t)snprintf(spec + n, sizeof spec - n, "%d,", i * 1000);
    }
    assert_true(n < sizeof spec - 8);
    strcpy(spec + n - 1, ")");
    tt_event ev = full_event();
    ev.bytes = CHANGE_FILTER_IN_MAX * 1000; /* the last value */
    assert_matches(spec, &ev);
    strcpy(spec + n - 1, ",1)");
    refused(spec, "at most 100 values");
}

/* ---- refusals ------------------------------------------------------------------------------- */

static void unknown_columns_are_refused(void **state)
{
    (void)state;
    refused("nope=eq.1", "no column 'nope'");
    refused("Type=eq.request", "no column 'Type'");
    refused("received_ms=eq.1", "no column");
    refused("=eq.1", "no column ''");
    refused("type =eq.request", "no column");
}

/* attrs is JSON; comparing it as text would be neither SQL's nor useful. */
static void attrs_is_refused(void **state)
{
    (void)state;
    refused("attrs=eq.{}", "no column 'attrs'");
    refused("attrs=neq.{\"k\":\"v\"}", "no column 'attrs'");
}

/* PostgREST operators telltale does not implement, and not. negation, are refused rather than
 * misread. */
static void unknown_ops_are_refused(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "type=like.req%",  "type=ilike.REQ%", "type=is.null",
        "type=match.^r",   "type=not.eq.x",   "type=not.in.(a,b)",
        "type=EQ.request", "type=.request",   "type=isdistinct.x",
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        refused(specs[i], "unknown operator");
    }
}

static void malformed_filters_are_refused(void **state)
{
    (void)state;
    refused("", BAD_SHAPE);
    refused("type", BAD_SHAPE);
    refused("type=eq", BAD_SHAPE);
    refused("type.eq=request", BAD_SHAPE);
    refused("eq.request", BAD_SHAPE);
}

/* CHANGE_FILTER_MAX bytes are read; one more is refused. */
static void filter_length_limit(void **state)
{
    (void)state;
    char spec[CHANGE_FILTER_MAX + 2];
    size_t head = strlen("error=eq.");
    memcpy(spec, "error=eq.", head);
    memset(spec + head, 'e', CHANGE_FILTER_MAX - head);
    spec[CHANGE_FILTER_MAX] = '\0';
    tt_event ev = full_event();
    ev.error = spec + head;
    assert_matches(spec, &ev);
    spec[CHANGE_FILTER_MAX] = 'e';
    spec[CHANGE_FILTER_MAX + 1] = '\0';
    refused(spec, BAD_SHAPE);
}

/* ---- values as realtime-js writes them ------------------------------------------------------ */

/* The value is everything after the operator's dot, further dots included (builder). */
static void values_with_dots_are_whole(void **state)
{
    (void)state;
    tt_event ev = full_event();
    ev.name = "GET /api/v1.2";
    assert_matches("name=eq.GET /api/v1.2", &ev);
    assert_no_match("name=eq.GET /api/v1", &ev);
    ev.type = "db.query";
    assert_matches("type=in.(db.query,db.exec)", &ev);
}

/* Quoted values lose their quotes and escapes (builder output for a,b / say "hi" /
 * back\slash / " padded " / f(x)). */
static void quoted_values_are_unquoted(void **state)
{
    (void)state;
    tt_event ev = full_event();
    ev.name = "a,b";
    assert_matches("name=eq.\"a,b\"", &ev);
    ev.name = "say \"hi\"";
    assert_matches("name=eq.\"say \\\"hi\\\"\"", &ev);
    ev.name = "back\\slash";
    assert_matches("name=eq.\"back\\\\slash\"", &ev);
    ev.name = " padded ";
    assert_matches("name=eq.\" padded \"", &ev);
    ev.name = "f(x)";
    assert_matches("name=eq.\"f(x)\"", &ev);
    ev.name = "\"a,b\"";
    assert_no_match("name=eq.\"a,b\"", &ev); /* the quotes are syntax, not data */
}

/* A list's commas inside quotes belong to the value (builder: in('name', ['a,b','c','d"e'])). */
static void quoted_values_in_lists_keep_their_commas(void **state)
{
    (void)state;
    static const char spec[] = "name=in.(\"a,b\",c,\"d\\\"e\")";
    tt_event ev = full_event();
    ev.name = "a,b";
    assert_matches(spec, &ev);
    ev.name = "c";
    assert_matches(spec, &ev);
    ev.name = "d\"e";
    assert_matches(spec, &ev);
    ev.name = "a";
    assert_no_match(spec, &ev);
    ev.name = "b\"";
    assert_no_match(spec, &ev);
    ev.bytes = 300;
    assert_matches("bytes=in.(1,2.5,300)", &ev); /* builder: in('bytes', [1, 2.5, 300]) */
}

/* realtime-js joins conditions with commas; telltale takes one, so a bare comma is refused
 * rather than matched as part of the value; quotes must close. */
static void bare_commas_and_open_quotes_are_refused(void **state)
{
    (void)state;
    refused("name=eq.a,b", "one condition per filter");
    refused("type=eq.request,status=eq.ok", "one condition per filter");
    refused("name=eq.\"a,b", "unterminated");
    refused("name=eq.\"a\"b", "after a quoted value");
    refused("name=in.(\"a,b)", "unterminated");
    refused("name=in.(\"a\"b,c)", "after a quoted value");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_op_on_a_text_column),
        cmocka_unit_test(each_text_column_reads_its_field),
        cmocka_unit_test(every_op_on_a_number_column),
        cmocka_unit_test(numbers_compare_numerically_not_as_text),
        cmocka_unit_test(time_columns_compare_as_times),
        cmocka_unit_test(values_that_are_not_numbers_are_refused),
        cmocka_unit_test(absent_fields_never_match),
        cmocka_unit_test(absent_number_is_not_zero),
        cmocka_unit_test(in_list_matches_any_of_its_values),
        cmocka_unit_test(in_list_must_be_parenthesized),
        cmocka_unit_test(in_list_holds_at_most_the_limit),
        cmocka_unit_test(unknown_columns_are_refused),
        cmocka_unit_test(attrs_is_refused),
        cmocka_unit_test(unknown_ops_are_refused),
        cmocka_unit_test(malformed_filters_are_refused),
        cmocka_unit_test(filter_length_limit),
        cmocka_unit_test(values_with_dots_are_whole),
        cmocka_unit_test(quoted_values_are_unquoted),
        cmocka_unit_test(quoted_values_in_lists_keep_their_commas),
        cmocka_unit_test(bare_commas_and_open_quotes_are_refused),
    };
    return cmocka_run_group_tests_name("change_filter", tests, NULL, NULL);
}
