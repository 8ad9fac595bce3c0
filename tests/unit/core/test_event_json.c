/* test_event_json.c -- one event object against every rule of DESIGN §2, and its JSON form out
 * and back in. Batches, bodies and error indexes are test_ingest.c's. */
#include "core/event_json.h"

#include "core/json_print.h"
#include "core/timefmt.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2025-11-28T14:31:43.123Z: the clock every test passes in. */
#define NOW INT64_C(1764340303123)

/* ---- helpers ---------------------------------------------------------------------------- */

/* Returns a new string formatted like printf; the caller frees it. */
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

/* Returns a new string of 'n' copies of 'unit'; the caller frees it. */
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

typedef struct outcome {
    int rc;
    tt_event *ev;
    ingest_error err;
} outcome;

/* Runs event_from_json on 'json', which must itself be JSON that cJSON parses. */
static outcome from_text(const char *json)
{
    outcome o = {.rc = 1, .ev = NULL};
    cJSON *obj = cJSON_Parse(json);
    if (obj == NULL) {
        fail_msg("the test's own JSON does not parse: %s", json);
    }
    o.rc = event_from_json(obj, NOW, &o.ev, &o.err);
    cJSON_Delete(obj);
    return o;
}

/* Asserts that 'json' is a valid event and returns it (free with event_free()). */
static tt_event *accept(const char *json)
{
    outcome o = from_text(json);
    if (o.rc != 0) {
        fail_msg("rejected (%s: %s): %.200s", o.err.code, o.err.message, json);
    }
    assert_non_null(o.ev);
    return o.ev;
}

/* Asserts that 'json' is refused with 'code' and a message holding 'fragment' (if not NULL),
 * and that no event was handed out. */
static void reject(const char *json, const char *code, const char *fragment)
{
    outcome o = from_text(json);
    if (o.rc == 0) {
        event_free(o.ev);
        fail_msg("accepted, expected %s: %.200s", code, json);
    }
    assert_int_equal(o.rc, TT_EINVAL);
    assert_null(o.ev);
    assert_string_equal(o.err.code, code);
    if (fragment != NULL && strstr(o.err.message, fragment) == NULL) {
        fail_msg("message '%s' lacks '%s'", o.err.message, fragment);
    }
}

/* The same, for JSON built with fmt(); frees it. */
static tt_event *accept_owned(char *json)
{
    tt_event *ev = accept(json);
    free(json);
    return ev;
}

static void reject_owned(char *json, const char *code, const char *fragment)
{
    reject(json, code, fragment);
    free(json);
}

static void assert_accepted(const char *json)
{
    event_free(accept(json));
}

/* 'ts' as a JSON value; the event's ts_ms. */
static int64_t ts_of(const char *ts_json)
{
    char *json = fmt("{\"type\":\"a\",\"ts\":%s}", ts_json);
    tt_event *ev = accept_owned(json);
    int64_t ts = ev->ts_ms;
    event_free(ev);
    return ts;
}

static void reject_ts(const char *ts_json)
{
    reject_owned(fmt("{\"type\":\"a\",\"ts\":%s}", ts_json), "invalid_field", "'ts'");
}

/* ---- shape of the object -------------------------------------------------------------- */

static void non_objects_are_rejected(void **state)
{
    (void)state;
    reject("[]", "not_an_object", NULL);
    reject("[{\"type\":\"a\"}]", "not_an_object", NULL);
    reject("\"request\"", "not_an_object", NULL);
    reject("42", "not_an_object", NULL);
    reject("null", "not_an_object", NULL);
    reject("true", "not_an_object", NULL);
}

static void type_is_required(void **state)
{
    (void)state;
    reject("{}", "missing_field", "'type'");
    reject("{\"source\":\"api\",\"name\":\"x\"}", "missing_field", "'type'");
    reject("{\"type\":null}", "missing_field", "'type'");
}

static void minimal_event_gets_its_defaults(void **state)
{
    (void)state;
    tt_event *ev = accept("{\"type\":\"request\"}");
    assert_string_equal(ev->type, "request");
    assert_int_equal(ev->ts_ms, NOW);
    assert_int_equal(ev->received_ms, NOW);
    assert_int_equal(ev->seq, 0);
    assert_string_equal(ev->id, ""); /* ids are assigned later, by the server */
    assert_null(ev->source);
    assert_null(ev->session_id);
    assert_null(ev->name);
    assert_null(ev->status);
    assert_null(ev->error);
    assert_null(ev->attrs);
    assert_int_equal(ev->has, 0);
    event_free(ev);
}

static void given_ts_is_kept_and_received_is_now(void **state)
{
    (void)state;
    tt_event *ev = accept("{\"type\":\"a\",\"ts\":1000}");
    assert_int_equal(ev->ts_ms, 1000);
    assert_int_equal(ev->received_ms, NOW);
    event_free(ev);
}

static void every_field_is_read(void **state)
{
    (void)state;
    tt_event *ev =
        accept("{\"id\":\"e-1\",\"ts\":\"2026-11-28T14:31:43.123Z\",\"type\":\"tool_call\","
               "\"source\":\"mcp\",\"session_id\":\"s-9\",\"name\":\"read_file\","
               "\"status\":\"error\",\"duration_ms\":12.5,\"bytes\":2048,\"value\":-3.25,"
               "\"error\":\"permission denied\",\"attrs\":{\"path\":\"/etc\"}}");
    assert_string_equal(ev->id, "e-1");
    assert_int_equal(ev->ts_ms, INT64_C(1795876303123));
    assert_string_equal(ev->type, "tool_call");
    assert_string_equal(ev->source, "mcp");
    assert_string_equal(ev->session_id, "s-9");
    assert_string_equal(ev->name, "read_file");
    assert_string_equal(ev->status, "error");
    assert_int_equal(ev->has, EVENT_HAS_DURATION | EVENT_HAS_BYTES | EVENT_HAS_VALUE);
    assert_true(ev->duration_ms == 12.5);
    assert_int_equal(ev->bytes, 2048);
    assert_true(ev->value == -3.25);
    assert_string_equal(ev->error, "permission denied");
    assert_string_equal(ev->attrs, "{\"path\":\"/etc\"}");
    event_free(ev);
}

static void unknown_top_level_field_is_rejected(void **state)
{
    (void)state;
    reject("{\"type\":\"a\",\"color\":\"red\"}", "unknown_field", "'color'");
    reject("{\"color\":\"red\",\"type\":\"a\"}", "unknown_field", "'color'");
    /* Names are exact: no case folding, and the server-assigned fields are not input. */
    reject("{\"Type\":\"a\"}", "unknown_field", "'Type'");
    reject("{\"type\":\"a\",\"seq\":5}", "server_field", "'seq'");
    reject("{\"type\":\"a\",\"received_at\":0}", "server_field", "'received_at'");
    /* Even a null unknown field is refused, not dropped. */
    reject("{\"type\":\"a\",\"extra\":null}", "unknown_field", "'extra'");
}

static void unknown_field_message_lists_the_allowed_fields(void **state)
{
    (void)state;
    reject("{\"type\":\"a\",\"tags\":[]}", "unknown_field",
           "id, ts, type, source, session_id, name, status, duration_ms, bytes, value, error, "
           "attrs");
}

static void duplicate_top_level_field_is_rejected(void **state)
{
    (void)state;
    reject("{\"type\":\"a\",\"type\":\"b\"}", "duplicate_field", "'type'");
    reject("{\"type\":\"a\",\"bytes\":1,\"bytes\":1}", "duplicate_field", "'bytes'");
    /* A null still counts as the field being there. */
    reject("{\"source\":null,\"type\":\"a\",\"source\":\"x\"}", "duplicate_field", "'source'");
    reject("{\"type\":\"a\",\"attrs\":{},\"attrs\":{}}", "duplicate_field", "'attrs'");
}

static void null_fields_are_absent(void **state)
{
    (void)state;
    tt_event *ev = accept("{\"id\":null,\"ts\":null,\"type\":\"a\",\"source\":null,"
                          "\"session_id\":null,\"name\":null,\"status\":null,"
                          "\"duration_ms\":null,\"bytes\":null,\"value\":null,\"error\":null,"
                          "\"attrs\":null}");
    assert_string_equal(ev->id, "");
    assert_int_equal(ev->ts_ms, NOW);
    assert_null(ev->source);
    assert_null(ev->session_id);
    assert_null(ev->name);
    assert_null(ev->status);
    assert_null(ev->error);
    assert_null(ev->attrs);
    assert_int_equal(ev->has, 0);
    event_free(ev);
}

/* ---- string fields ------------------------------------------------------------------- */

typedef struct string_field {
    const char *name;
    size_t max;
} string_field;

static const string_field string_fields[] = {
    {"id", EVENT_ID_MAX},         {"type", EVENT_TYPE_MAX},
    {"source", EVENT_SOURCE_MAX}, {"session_id", EVENT_SESSION_MAX},
    {"name", EVENT_NAME_MAX},     {"status", EVENT_STATUS_MAX},
    {"error", EVENT_ERROR_MAX}};

#define NSTRING_FIELDS (sizeof string_fields / sizeof string_fields[0])

static const char *field_value(const tt_event *ev, const char *name)
{
    if (strcmp(name, "id") == 0) {
        return ev->id;
    }
    if (strcmp(name, "type") == 0) {
        return ev->type;
    }
    if (strcmp(name, "source") == 0) {
        return ev->source;
    }
    if (strcmp(name, "session_id") == 0) {
        return ev->session_id;
    }
    if (strcmp(name, "name") == 0) {
        return ev->name;
    }
    if (strcmp(name, "status") == 0) {
        return ev->status;
    }
    return ev->error;
}

/* An event whose field 'name' holds 'value' (and a type, unless that is the field). */
static char *event_with(const char *name, const char *value_json)
{
    if (strcmp(name, "type") == 0) {
        return fmt("{\"type\":%s}", value_json);
    }
    return fmt("{\"type\":\"a\",\"%s\":%s}", name, value_json);
}

static void the_documented_limits_are_the_header_limits(void **state)
{
    (void)state;
    /* DESIGN §2, so that the boundary tests below test the contract and not just the code. */
    assert_int_equal(EVENT_ID_MAX, 64);
    assert_int_equal(EVENT_TYPE_MAX, 64);
    assert_int_equal(EVENT_SOURCE_MAX, 64);
    assert_int_equal(EVENT_SESSION_MAX, 128);
    assert_int_equal(EVENT_NAME_MAX, 128);
    assert_int_equal(EVENT_STATUS_MAX, 32);
    assert_int_equal(EVENT_ERROR_MAX, 4096);
    assert_int_equal(EVENT_ATTRS_MAX_BYTES, 16384);
    assert_int_equal(EVENT_ATTRS_MAX_DEPTH, 8);
}

static void string_at_its_limit_is_accepted(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSTRING_FIELDS; i++) {
        char *value = repeat("a", string_fields[i].max);
        char *quoted = fmt("\"%s\"", value);
        tt_event *ev = accept_owned(event_with(string_fields[i].name, quoted));
        assert_string_equal(field_value(ev, string_fields[i].name), value);
        event_free(ev);
        free(quoted);
        free(value);
    }
}

static void string_one_byte_over_its_limit_is_rejected(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSTRING_FIELDS; i++) {
        char *value = repeat("a", string_fields[i].max + 1);
        char *quoted = fmt("\"%s\"", value);
        char *where = fmt("'%s'", string_fields[i].name);
        char *limit = fmt("the limit is %zu", string_fields[i].max);
        char *json = event_with(string_fields[i].name, quoted);
        reject(json, "field_too_long", where);
        reject(json, "field_too_long", limit);
        free(json);
        free(limit);
        free(where);
        free(quoted);
        free(value);
    }
}

static void string_limits_count_utf8_bytes(void **state)
{
    (void)state;
    /* 32 x U+00E9 is 32 characters but 64 bytes: exactly the limit of 'source'. */
    char *e32 = repeat("\xc3\xa9", 32);
    tt_event *ev = accept_owned(fmt("{\"type\":\"a\",\"source\":\"%s\"}", e32));
    assert_int_equal(strlen(ev->source), 64);
    event_free(ev);
    reject_owned(fmt("{\"type\":\"a\",\"source\":\"%sx\"}", e32), "field_too_long", "'source'");
    /* Escapes count as the bytes they decode to, not as their text: 32 x "\u00e9" = 64 bytes. */
    char *esc32 = repeat("\\u00e9", 32);
    ev = accept_owned(fmt("{\"type\":\"a\",\"source\":\"%s\"}", esc32));
    assert_string_equal(ev->source, e32);
    event_free(ev);
    reject_owned(fmt("{\"type\":\"a\",\"source\":\"%s\\u00e9\"}", esc32), "field_too_long",
                 "'source'");
    free(esc32);
    free(e32);
}

static void string_fields_must_be_strings(void **state)
{
    (void)state;
    static const char *const non_strings[] = {"1", "true", "false", "{}", "[]", "[\"a\"]"};
    for (size_t i = 0; i < NSTRING_FIELDS; i++) {
        for (size_t k = 0; k < sizeof non_strings / sizeof non_strings[0]; k++) {
            char *where = fmt("'%s'", string_fields[i].name);
            reject_owned(event_with(string_fields[i].name, non_strings[k]), "invalid_field", where);
            free(where);
        }
    }
}

static void empty_id_is_rejected(void **state)
{
    (void)state;
    reject("{\"type\":\"a\",\"id\":\"\"}", "invalid_field", "'id'");
}

static void empty_optional_strings_are_kept(void **state)
{
    (void)state;
    tt_event *ev = accept("{\"type\":\"a\",\"source\":\"\",\"status\":\"\",\"error\":\"\"}");
    assert_string_equal(ev->source, "");
    assert_string_equal(ev->status, "");
    assert_string_equal(ev->error, "");
    event_free(ev);
}

/* ---- type ----------------------------------------------------------------------------- */

static void type_accepts_every_allowed_character(void **state)
{
    (void)state;
    static const char *const ok[] = {"a",
                                     "z",
                                     "0",
                                     "9",
                                     "_",
                                     ".",
                                     ":",
                                     "-",
                                     "request",
                                     "tool_call",
                                     "session_start",
                                     "metric",
                                     "a.b:c-d_09",
                                     "abcdefghijklmnopqrstuvwxyz0123456789_.:-"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *quoted = fmt("\"%s\"", ok[i]);
        tt_event *ev = accept_owned(event_with("type", quoted));
        assert_string_equal(ev->type, ok[i]);
        event_free(ev);
        free(quoted);
    }
}

static void type_rejects_what_the_pattern_excludes(void **state)
{
    (void)state;
    static const char *const bad[] = {"\"\"",          "\"Request\"",     "\"REQUEST\"",
                                      "\"tool call\"", " \"a \"",         "\"tool/call\"",
                                      "\"tool+call\"", "\"caf\xc3\xa9\"", "\"a\\tb\"",
                                      "\"a\\nb\"",     "\"a\\u0001\"",    "\"a,b\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        reject_owned(event_with("type", bad[i]), "invalid_field", "[a-z0-9_.:-]{1,64}");
    }
}

static void type_of_64_is_accepted_and_65_is_too_long(void **state)
{
    (void)state;
    char *t64 = repeat("x", 64);
    tt_event *ev = accept_owned(fmt("{\"type\":\"%s\"}", t64));
    assert_int_equal(strlen(ev->type), 64);
    event_free(ev);
    reject_owned(fmt("{\"type\":\"%s_\"}", t64), "field_too_long", "'type'");
    free(t64);
}

static void event_type_valid_checks_length_and_alphabet(void **state)
{
    (void)state;
    assert_true(event_type_valid("tool_call", 9));
    assert_true(event_type_valid("tool_callXYZ", 9)); /* only 'len' bytes are looked at */
    assert_false(event_type_valid("", 0));
    assert_false(event_type_valid("Tool", 4));
    char *t65 = repeat("a", 65);
    assert_true(event_type_valid(t65, 64));
    assert_false(event_type_valid(t65, 65));
    free(t65);
    for (int c = 1; c < 256; c++) {
        char s[2] = {(char)c, '\0'};
        bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                       c == ':' || c == '-';
        assert_int_equal(event_type_valid(s, 1), allowed);
    }
}

/* ---- ts ------------------------------------------------------------------------------- */

static void ts_accepts_rfc3339_forms(void **state)
{
    (void)state;
    assert_int_equal(ts_of("\"2025-11-28T14:31:43.123Z\""), NOW);
    assert_int_equal(ts_of("\"2025-11-28T14:31:43Z\""), NOW - 123);
    assert_int_equal(ts_of("\"2025-11-28t14:31:43.123z\""), NOW);
    assert_int_equal(ts_of("\"2025-11-28 14:31:43.123Z\""), NOW);
    assert_int_equal(ts_of("\"2025-11-28T16:31:43.123+02:00\""), NOW);
    assert_int_equal(ts_of("\"2025-11-28T09:01:43.123-05:30\""), NOW);
    assert_int_equal(ts_of("\"2025-11-28T14:31:43.123+00:00\""), NOW);
    assert_int_equal(ts_of("\"2025-11-28T14:31:43.123-00:00\""), NOW);
    /* Fractions of any width up to nanoseconds, kept to the millisecond (truncated). */
    assert_int_equal(ts_of("\"2025-11-28T14:31:43.1Z\""), NOW - 23);
    assert_int_equal(ts_of("\"2025-11-28T14:31:43.12Z\""), NOW - 3);
    assert_int_equal(ts_of("\"2025-11-28T14:31:43.123456Z\""), NOW);
    assert_int_equal(ts_of("\"2025-11-28T14:31:43.123999999Z\""), NOW);
}

static void ts_accepts_calendar_edges(void **state)
{
    (void)state;
    assert_int_equal(ts_of("\"1970-01-01T00:00:00Z\""), 0);
    assert_int_equal(ts_of("\"1970-01-01T01:00:00+01:00\""), 0);
    assert_int_equal(ts_of("\"9999-12-31T23:59:59.999Z\""), EVENT_TS_MAX_MS);
    assert_int_equal(ts_of("\"2024-02-29T00:00:00Z\""), INT64_C(1709164800000));
    assert_int_equal(ts_of("\"2000-02-29T00:00:00Z\""), INT64_C(951782400000));
    assert_int_equal(ts_of("\"2024-12-31T23:59:59Z\""), INT64_C(1735689599000));
    /* A leap second is kept inside its minute rather than refused. */
    assert_int_equal(ts_of("\"2016-12-31T23:59:60Z\""), INT64_C(1483228799000));
}

static void ts_rejects_impossible_dates(void **state)
{
    (void)state;
    reject_ts("\"2026-02-30T00:00:00Z\"");
    reject_ts("\"2023-02-29T00:00:00Z\""); /* not a leap year */
    reject_ts("\"1900-02-29T00:00:00Z\""); /* divisible by 100, not by 400 */
    reject_ts("\"2026-04-31T00:00:00Z\"");
    reject_ts("\"2026-13-01T00:00:00Z\"");
    reject_ts("\"2026-00-10T00:00:00Z\"");
    reject_ts("\"2026-01-00T00:00:00Z\"");
    reject_ts("\"2026-01-32T00:00:00Z\"");
    reject_ts("\"2026-01-01T24:00:00Z\"");
    reject_ts("\"2026-01-01T23:60:00Z\"");
    reject_ts("\"2026-01-01T23:59:61Z\"");
}

static void ts_rejects_times_before_1970_and_after_9999(void **state)
{
    (void)state;
    reject_ts("\"1969-12-31T23:59:59.999Z\"");
    reject_ts("\"1970-01-01T00:59:59+01:00\""); /* 1969 in UTC */
    reject_ts("\"0001-01-01T00:00:00Z\"");
    reject_ts("\"9999-12-31T23:59:59.999-00:01\""); /* 10000 in UTC */
    reject_ts("\"10000-01-01T00:00:00Z\"");
}

static void ts_rejects_malformed_strings(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\"\"",
        "\"2026-11-28\"",
        "\"2026-11-28T14:31:43\"",       /* no zone */
        "\"2026-11-28T14:31Z\"",         /* no seconds */
        "\"2026-11-28T14:31:43.Z\"",     /* empty fraction */
        "\"2026-11-28T14:31:43,123Z\"",  /* comma fraction */
        "\"2026-11-28T14:31:43.123Z \"", /* trailing space */
        "\" 2026-11-28T14:31:43.123Z\"", /* leading space */
        "\"2026-11-28X14:31:43Z\"",
        "\"2026-1-28T14:31:43Z\"",
        "\"26-11-28T14:31:43Z\"",
        "\"20261128T143143Z\"", /* ISO 8601 basic form is not RFC 3339 */
        "\"2026-11-28T14:31:43+02\"",
        "\"2026-11-28T14:31:43+0200\"",
        "\"2026-11-28T14:31:43+2:00\"",
        "\"2026-11-28T14:31:43+24:00\"",
        "\"2026-11-28T14:31:43+02:60\"",
        "\"2026-11-28T14:31:43ZZ\"",
        "\"2026-11-28T14:31:43UTC\"",
        "\"1764340303123\"", /* epoch ms belongs in a number, not a string */
        "\"now\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        reject_ts(bad[i]);
    }
}

static void ts_accepts_epoch_milliseconds(void **state)
{
    (void)state;
    assert_int_equal(ts_of("0"), 0);
    assert_int_equal(ts_of("1764340303123"), NOW);
    assert_int_equal(ts_of("1.764340303123e12"), NOW);
    assert_int_equal(ts_of("253402300799999"), EVENT_TS_MAX_MS); /* 9999-12-31T23:59:59.999Z */
    assert_int_equal(ts_of("1000.9"), 1000);                     /* fractions are dropped */
}

static void ts_rejects_epoch_out_of_range(void **state)
{
    (void)state;
    reject_ts("-1");
    reject_ts("-0.5");
    reject_ts("253402300800000"); /* 10000-01-01T00:00:00Z */
    reject_ts("1e300");
    reject_ts("1e999"); /* cJSON reads it as infinity */
    reject_ts("-1e999");
}

static void ts_rejects_other_types(void **state)
{
    (void)state;
    reject_ts("true");
    reject_ts("{}");
    reject_ts("[1764340303123]");
}

/* ---- numbers -------------------------------------------------------------------------- */

static void duration_accepts_zero_and_positive_numbers(void **state)
{
    (void)state;
    tt_event *ev = accept("{\"type\":\"a\",\"duration_ms\":0}");
    assert_int_equal(ev->has, EVENT_HAS_DURATION);
    assert_true(ev->duration_ms == 0);
    event_free(ev);
    ev = accept("{\"type\":\"a\",\"duration_ms\":12345.678}");
    assert_true(ev->duration_ms == 12345.678);
    event_free(ev);
    ev = accept("{\"type\":\"a\",\"duration_ms\":1e300}");
    assert_true(ev->duration_ms == 1e300);
    event_free(ev);
}

static void duration_rejects_negative_nonfinite_and_non_numbers(void **state)
{
    (void)state;
    reject("{\"type\":\"a\",\"duration_ms\":-1}", "invalid_field", "'duration_ms'");
    reject("{\"type\":\"a\",\"duration_ms\":-0.001}", "invalid_field", "'duration_ms'");
    reject("{\"type\":\"a\",\"duration_ms\":1e999}", "invalid_field", "'duration_ms'");
    reject("{\"type\":\"a\",\"duration_ms\":\"5\"}", "invalid_field", "'duration_ms'");
    reject("{\"type\":\"a\",\"duration_ms\":true}", "invalid_field", "'duration_ms'");
    reject("{\"type\":\"a\",\"duration_ms\":[]}", "invalid_field", "'duration_ms'");
}

static void bytes_accepts_integers_up_to_2_pow_53(void **state)
{
    (void)state;
    tt_event *ev = accept("{\"type\":\"a\",\"bytes\":0}");
    assert_int_equal(ev->has, EVENT_HAS_BYTES);
    assert_int_equal(ev->bytes, 0);
    event_free(ev);
    ev = accept("{\"type\":\"a\",\"bytes\":1e3}"); /* an integer, whatever its spelling */
    assert_int_equal(ev->bytes, 1000);
    event_free(ev);
    ev = accept("{\"type\":\"a\",\"bytes\":2.0}");
    assert_int_equal(ev->bytes, 2);
    event_free(ev);
    ev = accept("{\"type\":\"a\",\"bytes\":9007199254740991}");
    assert_int_equal(ev->bytes, INT64_C(9007199254740991));
    event_free(ev);
}

static void bytes_rejects_fractions_negatives_and_2_pow_53_up(void **state)
{
    (void)state;
    reject("{\"type\":\"a\",\"bytes\":1.5}", "invalid_field", "'bytes'");
    reject("{\"type\":\"a\",\"bytes\":0.1}", "invalid_field", "'bytes'");
    reject("{\"type\":\"a\",\"bytes\":-1}", "invalid_field", "'bytes'");
    /* 2^53 as a double, and 2^53 + 1 spelt as one, which reads as 2^53 (as an integer literal
     * json_scan refuses them before they get here: I-JSON). */
    reject("{\"type\":\"a\",\"bytes\":9007199254740992.0}", "invalid_field", "'bytes'");
    reject("{\"type\":\"a\",\"bytes\":9007199254740993e0}", "invalid_field", "'bytes'");
    reject("{\"type\":\"a\",\"bytes\":9007199254740994}", "invalid_field", "'bytes'");
    reject("{\"type\":\"a\",\"bytes\":1e20}", "invalid_field", "'bytes'");
    reject("{\"type\":\"a\",\"bytes\":1e999}", "invalid_field", "'bytes'");
    reject("{\"type\":\"a\",\"bytes\":\"1024\"}", "invalid_field", "'bytes'");
    reject("{\"type\":\"a\",\"bytes\":false}", "invalid_field", "'bytes'");
}

static void value_accepts_any_finite_number(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        double v;
    } ok[] = {{"0", 0},
              {"-12.5", -12.5},
              {"3.14159", 3.14159},
              {"-1e300", -1e300},
              {"1.7976931348623157e308", 1.7976931348623157e308},
              {"5e-324", 5e-324}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        tt_event *ev = accept_owned(fmt("{\"type\":\"metric\",\"value\":%s}", ok[i].json));
        assert_int_equal(ev->has, EVENT_HAS_VALUE);
        assert_true(ev->value == ok[i].v);
        event_free(ev);
    }
}

static void value_rejects_nonfinite_and_non_numbers(void **state)
{
    (void)state;
    reject("{\"type\":\"a\",\"value\":1e999}", "invalid_field", "'value'");
    reject("{\"type\":\"a\",\"value\":-1e999}", "invalid_field", "'value'");
    reject("{\"type\":\"a\",\"value\":\"1\"}", "invalid_field", "'value'");
    reject("{\"type\":\"a\",\"value\":{}}", "invalid_field", "'value'");
}

/* ---- attrs ---------------------------------------------------------------------------- */

/* An event whose attrs nests 'depth' objects, attrs itself being the first. */
static char *nested_objects(int depth)
{
    char *open = repeat("{\"a\":", (size_t)depth - 1);
    char *close = repeat("}", (size_t)depth - 1);
    char *json = fmt("{\"type\":\"a\",\"attrs\":%s{}%s}", open, close);
    free(close);
    free(open);
    return json;
}

/* The same with arrays under attrs: attrs, then depth - 1 arrays. */
static char *nested_arrays(int depth)
{
    char *open = repeat("[", (size_t)depth - 1);
    char *close = repeat("]", (size_t)depth - 1);
    char *json = fmt("{\"type\":\"a\",\"attrs\":{\"a\":%s%s}}", open, close);
    free(close);
    free(open);
    return json;
}

/* attrs text of exactly 'size' compact bytes: {"k":"xxxx"<tail>}. */
static char *attrs_of_size(size_t size, const char *tail)
{
    size_t base = strlen("{\"k\":\"\"}") + strlen(tail);
    char *filler = repeat("x", size - base);
    char *attrs = fmt("{\"k\":\"%s\"%s}", filler, tail);
    free(filler);
    assert_int_equal(strlen(attrs), size);
    return attrs;
}

static void attrs_must_be_an_object(void **state)
{
    (void)state;
    reject("{\"type\":\"a\",\"attrs\":[]}", "invalid_field", "'attrs'");
    reject("{\"type\":\"a\",\"attrs\":[{\"k\":1}]}", "invalid_field", "'attrs'");
    reject("{\"type\":\"a\",\"attrs\":\"k=v\"}", "invalid_field", "'attrs'");
    reject("{\"type\":\"a\",\"attrs\":1}", "invalid_field", "'attrs'");
    reject("{\"type\":\"a\",\"attrs\":true}", "invalid_field", "'attrs'");
}

static void attrs_are_kept_as_compact_json_in_order(void **state)
{
    (void)state;
    tt_event *ev = accept("{\"type\":\"a\",\"attrs\":{ \"b\" : [1, 2.5, \"x\" ] ,\n\t\"a\" : "
                          "{\"n\" : null, \"t\": true, \"f\": false} }}");
    assert_string_equal(ev->attrs,
                        "{\"b\":[1,2.5,\"x\"],\"a\":{\"n\":null,\"t\":true,\"f\":false}}");
    event_free(ev);
    ev = accept("{\"type\":\"a\",\"attrs\":{}}");
    assert_string_equal(ev->attrs, "{}");
    event_free(ev);
}

static void attrs_nesting_of_8_is_accepted(void **state)
{
    (void)state;
    tt_event *ev = accept_owned(nested_objects(8));
    assert_string_equal(ev->attrs, "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{}}}}}}}}");
    event_free(ev);
    event_free(accept_owned(nested_arrays(8)));
}

static void attrs_nesting_of_9_is_rejected(void **state)
{
    (void)state;
    reject_owned(nested_objects(9), "attrs_too_deep", "8 levels");
    reject_owned(nested_arrays(9), "attrs_too_deep", "8 levels");
    reject_owned(nested_objects(20), "attrs_too_deep", NULL);
}

static void attrs_of_16384_bytes_are_accepted(void **state)
{
    (void)state;
    /* Whatever value comes last, the limit is exact. */
    static const char *const tails[] = {"",
                                        ",\"n\":12345",
                                        ",\"d\":1.5",
                                        ",\"t\":true",
                                        ",\"f\":false",
                                        ",\"u\":null",
                                        ",\"z\":[{\"f\":false}]",
                                        ",\"e\":{}",
                                        ",\"s\":\"\\n\""};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        char *attrs = attrs_of_size(EVENT_ATTRS_MAX_BYTES, tails[i]);
        tt_event *ev = accept_owned(fmt("{\"type\":\"a\",\"attrs\":%s}", attrs));
        assert_string_equal(ev->attrs, attrs);
        event_free(ev);
        free(attrs);
    }
}

static void attrs_of_16385_bytes_are_rejected(void **state)
{
    (void)state;
    static const char *const tails[] = {"", ",\"n\":12345", ",\"t\":true", ",\"u\":null"};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        char *attrs = attrs_of_size(EVENT_ATTRS_MAX_BYTES + 1, tails[i]);
        reject_owned(fmt("{\"type\":\"a\",\"attrs\":%s}", attrs), "attrs_too_large",
                     "encodes to 16385 bytes; the limit is 16384");
        free(attrs);
    }
    char *big = attrs_of_size(100000, "");
    reject_owned(fmt("{\"type\":\"a\",\"attrs\":%s}", big), "attrs_too_large", NULL);
    free(big);
}

static void attrs_size_is_measured_compact(void **state)
{
    (void)state;
    /* 16384 bytes once compact, far more as sent: whitespace does not count. */
    char *filler = repeat("x", EVENT_ATTRS_MAX_BYTES - 8);
    char *json = fmt("{\"type\":\"a\",\"attrs\":{   \"k\"   :\n\n   \"%s\"   }}", filler);
    tt_event *ev = accept_owned(json);
    assert_int_equal(strlen(ev->attrs), EVENT_ATTRS_MAX_BYTES);
    event_free(ev);
    free(filler);
}

static void attrs_duplicate_keys_are_rejected(void **state)
{
    (void)state;
    reject("{\"type\":\"a\",\"attrs\":{\"k\":1,\"k\":2}}", "duplicate_field", "'k'");
    reject("{\"type\":\"a\",\"attrs\":{\"a\":1,\"b\":2,\"c\":3,\"a\":4}}", "duplicate_field",
           "'a'");
    reject("{\"type\":\"a\",\"attrs\":{\"o\":{\"x\":1,\"x\":1}}}", "duplicate_field", "'x'");
    reject("{\"type\":\"a\",\"attrs\":{\"l\":[{\"y\":1},{\"y\":2,\"y\":3}]}}", "duplicate_field",
           "'y'");
}

static void attrs_same_key_at_different_places_is_fine(void **state)
{
    (void)state;
    assert_accepted("{\"type\":\"a\",\"attrs\":{\"a\":{\"a\":{\"a\":1}}}}");
    assert_accepted("{\"type\":\"a\",\"attrs\":{\"l\":[{\"y\":1},{\"y\":2}],\"y\":0}}");
    assert_accepted("{\"type\":\"a\",\"attrs\":{\"k\":1,\"K\":2,\"k \":3}}");
}

static void attrs_numbers_keep_full_precision(void **state)
{
    (void)state;
    tt_event *ev = accept("{\"type\":\"a\",\"attrs\":{\"x\":0.30000000000000004,"
                          "\"m\":1.7976931348623157e308,\"i\":9007199254740993,\"e\":1E2}}");
    /* 2^53+1 is not a double: it reads as 2^53, and is written as such. */
    assert_string_equal(ev->attrs, "{\"x\":0.30000000000000004,\"m\":1.7976931348623157e+308,"
                                   "\"i\":9007199254740992,\"e\":100}");
    event_free(ev);
}

static void attrs_nonfinite_numbers_are_rejected(void **state)
{
    (void)state;
    reject("{\"type\":\"a\",\"attrs\":{\"x\":1e999}}", "invalid_field", "'attrs'");
    reject("{\"type\":\"a\",\"attrs\":{\"l\":[1,-1e999]}}", "invalid_field", "'attrs'");
    reject("{\"type\":\"a\",\"attrs\":{\"o\":{\"p\":{\"q\":1e400}}}}", "invalid_field", "'attrs'");
}

/* ---- JSON out and back in -------------------------------------------------------------- */

/* Prints 'ev' as the server does, event_to_json() then json_print(); returns the text. */
static char *print_event(const tt_event *ev)
{
    cJSON *obj = event_to_json(ev);
    assert_non_null(obj);
    size_t len;
    char *text = json_print_delete(obj, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

static void assert_same_text(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        assert_ptr_equal(a, b);
    } else {
        assert_string_equal(a, b);
    }
}

static void assert_same_event(const tt_event *a, const tt_event *b)
{
    assert_string_equal(a->id, b->id);
    assert_int_equal(a->ts_ms, b->ts_ms);
    assert_int_equal(a->received_ms, b->received_ms);
    assert_int_equal(a->has, b->has);
    if (a->has & EVENT_HAS_DURATION) {
        assert_true(a->duration_ms == b->duration_ms);
    }
    if (a->has & EVENT_HAS_BYTES) {
        assert_int_equal(a->bytes, b->bytes);
    }
    if (a->has & EVENT_HAS_VALUE) {
        assert_true(a->value == b->value);
    }
    assert_same_text(a->type, b->type);
    assert_same_text(a->source, b->source);
    assert_same_text(a->session_id, b->session_id);
    assert_same_text(a->name, b->name);
    assert_same_text(a->status, b->status);
    assert_same_text(a->error, b->error);
    assert_same_text(a->attrs, b->attrs);
}

/* event_from_json -> event_to_json -> print -> parse -> event_from_json. The output form carries
 * the server-assigned 'received_at' (and 'seq' once stored), which DESIGN §2 does not take as
 * input, so those two are taken off before the second read; everything a producer sends must
 * come back identical. (That the raw output is refused is reported in known_bugs below.) */
static void assert_round_trips(const char *json)
{
    tt_event *first = accept(json);
    char *text = print_event(first);
    cJSON *again = cJSON_Parse(text);
    if (again == NULL) {
        fail_msg("event_to_json printed unparsable JSON: %s", text);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(again, "received_at");
    cJSON_DeleteItemFromObjectCaseSensitive(again, "seq");
    tt_event *second = NULL;
    ingest_error err;
    int rc = event_from_json(again, first->received_ms, &second, &err);
    cJSON_Delete(again);
    if (rc != 0) {
        fail_msg("its own output was refused (%s: %s): %s", err.code, err.message, text);
    }
    assert_same_event(first, second);
    event_free(second);
    event_free(first);
    free(text);
}

static void round_trip_minimal_event(void **state)
{
    (void)state;
    assert_round_trips("{\"id\":\"x\",\"type\":\"a\"}");
}

static void round_trip_every_field(void **state)
{
    (void)state;
    assert_round_trips("{\"id\":\"0192e4a0-7c3b-7def-8123-456789abcdef\","
                       "\"ts\":\"2025-11-28T14:31:43.123+01:00\",\"type\":\"tool_call\","
                       "\"source\":\"mcp\",\"session_id\":\"sess-0001\",\"name\":\"read_file\","
                       "\"status\":\"error\",\"duration_ms\":12.345,\"bytes\":2048,"
                       "\"value\":-0.1,\"error\":\"permission denied\","
                       "\"attrs\":{\"path\":\"/etc/passwd\",\"depth\":[1,[2,[3]]],\"ok\":false,"
                       "\"none\":null,\"ratio\":0.3333333333333333}}");
}

static void round_trip_unicode_strings(void **state)
{
    (void)state;
    assert_round_trips("{\"id\":\"\xe2\x98\x83-\xf0\x9f\x98\x80\",\"type\":\"a\","
                       "\"name\":\"na\xc3\xafve caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\","
                       "\"source\":\"\\u00e9\\u65e5\\ud83d\\ude00\","
                       "\"attrs\":{\"\xc3\xa9t\xc3\xa9\":\"\xf4\x8f\xbf\xbf\",\"\\u2603\":1}}");
}

static void round_trip_escapes(void **state)
{
    (void)state;
    assert_round_trips("{\"id\":\"q\\\"uote\",\"type\":\"error\","
                       "\"error\":\"line1\\nline2\\r\\n\\ttab \\\"q\\\" back\\\\slash "
                       "sl\\/ash \\b\\f \\u0001\\u001f \\u007f\","
                       "\"attrs\":{\"k\\\"ey\":\"v\\\\al\\nue\",\"c\":\"\\u0002\"}}");
}

static void round_trip_number_edges(void **state)
{
    (void)state;
    assert_round_trips("{\"id\":\"n1\",\"type\":\"metric\",\"ts\":0,\"duration_ms\":0,\"bytes\":0,"
                       "\"value\":0}");
    assert_round_trips("{\"id\":\"n2\",\"type\":\"metric\",\"ts\":253402300799999,"
                       "\"duration_ms\":0.1,\"bytes\":9007199254740990,"
                       "\"value\":-1.7976931348623157e308}");
    /* Values that need all 17 digits: cJSON's own printer would round them to 15. */
    assert_round_trips("{\"id\":\"n4\",\"type\":\"metric\",\"bytes\":9007199254740991,"
                       "\"value\":0.30000000000000004,\"duration_ms\":123456.78901234567,"
                       "\"attrs\":{\"x\":0.30000000000000004,\"m\":1.7976931348623157e308}}");
    assert_round_trips("{\"id\":\"n3\",\"type\":\"metric\",\"duration_ms\":1e300,\"bytes\":1,"
                       "\"value\":5e-324,\"attrs\":{\"big\":1e308,\"tiny\":-2.5e-300,\"int\":-7}}");
}

static void round_trip_limits(void **state)
{
    (void)state;
    char *id = repeat("i", EVENT_ID_MAX);
    char *err = repeat("\xc3\xa9", EVENT_ERROR_MAX / 2);
    char *attrs = attrs_of_size(EVENT_ATTRS_MAX_BYTES, ",\"n\":1");
    char *json =
        fmt("{\"id\":\"%s\",\"type\":\"a\",\"error\":\"%s\",\"attrs\":%s}", id, err, attrs);
    assert_round_trips(json);
    free(json);
    free(attrs);
    free(err);
    free(id);
}

static void output_has_the_documented_order(void **state)
{
    (void)state;
    tt_event *ev = accept("{\"attrs\":{\"k\":1},\"error\":\"e\",\"value\":2,\"bytes\":3,"
                          "\"duration_ms\":4.5,\"status\":\"ok\",\"name\":\"n\","
                          "\"session_id\":\"s\",\"source\":\"src\",\"type\":\"t\",\"ts\":0,"
                          "\"id\":\"i\"}");
    ev->seq = 42;
    char *text = print_event(ev);
    assert_string_equal(text, "{\"seq\":42,\"id\":\"i\",\"ts\":\"1970-01-01T00:00:00.000Z\","
                              "\"received_at\":\"2025-11-28T14:31:43.123Z\",\"type\":\"t\","
                              "\"source\":\"src\",\"session_id\":\"s\",\"name\":\"n\","
                              "\"status\":\"ok\",\"duration_ms\":4.5,\"bytes\":3,\"value\":2,"
                              "\"error\":\"e\",\"attrs\":{\"k\":1}}");
    free(text);
    event_free(ev);
}

static void output_omits_absent_fields(void **state)
{
    (void)state;
    tt_event *ev = accept("{\"id\":\"i\",\"type\":\"t\",\"ts\":1000}");
    char *text = print_event(ev);
    assert_string_equal(text, "{\"id\":\"i\",\"ts\":\"1970-01-01T00:00:01.000Z\","
                              "\"received_at\":\"2025-11-28T14:31:43.123Z\",\"type\":\"t\"}");
    free(text);
    event_free(ev);
}

/* An event whose id is not assigned yet has no "id" member (absent fields are omitted). */
static void unassigned_id_is_omitted(void **state)
{
    (void)state;
    tt_event *ev = accept("{\"type\":\"a\",\"ts\":0}");
    char *text = print_event(ev);
    assert_string_equal(text, "{\"ts\":\"1970-01-01T00:00:00.000Z\","
                              "\"received_at\":\"2025-11-28T14:31:43.123Z\",\"type\":\"a\"}");
    free(text);
    event_free(ev);
}

/* seq and received_at are written out but assigned by telltale: sent back in, they are refused
 * with a message that says so (a producer replaying read-back events meets exactly this). */
static void server_fields_are_refused_plainly(void **state)
{
    (void)state;
    const char *bodies[] = {"{\"type\":\"a\",\"seq\":3}",
                            "{\"type\":\"a\",\"received_at\":\"2025-11-28T14:31:43.123Z\"}"};
    for (size_t i = 0; i < 2; i++) {
        cJSON *obj = cJSON_Parse(bodies[i]);
        tt_event *ev = NULL;
        ingest_error err = {0};
        assert_int_equal(event_from_json(obj, NOW, &ev, &err), TT_EINVAL);
        assert_string_equal(err.code, "server_field");
        assert_non_null(strstr(err.message, "assigned by telltale"));
        assert_null(ev);
        cJSON_Delete(obj);
    }
}

/* The writer and the tree print the same text; the form a producer sends leaves out what
 * telltale assigned, and reads back to the same event. */
static void writer_matches_the_tree_and_drops_assigned_fields(void **state)
{
    (void)state;
    tt_event *ev =
        accept("{\"id\":\"e-1\",\"ts\":\"2026-11-28T14:31:43.123Z\",\"type\":\"tool_call\","
               "\"source\":\"mcp\",\"session_id\":\"s-9\",\"name\":\"read_file\","
               "\"status\":\"error\",\"duration_ms\":12.5,\"bytes\":2048,\"value\":-3.25,"
               "\"error\":\"permission \\\"denied\\\"\",\"attrs\":{\"path\":\"/etc\"}}");
    ev->seq = 77;
    char received[TIMEFMT_LEN], want[1024];
    timefmt_format(ev->received_ms, received);
    snprintf(
        want, sizeof want,
        "{\"seq\":77,\"id\":\"e-1\",\"ts\":\"2026-11-28T14:31:43.123Z\",\"received_at\":\"%s\","
        "\"type\":\"tool_call\",\"source\":\"mcp\",\"session_id\":\"s-9\",\"name\":\"read_file\","
        "\"status\":\"error\",\"duration_ms\":12.5,\"bytes\":2048,\"value\":-3.25,"
        "\"error\":\"permission \\\"denied\\\"\",\"attrs\":{\"path\":\"/etc\"}}",
        received);
    char *tree = json_print_delete(event_to_json(ev), NULL);
    json_writer w = {0};
    event_write_json(&w, ev, EVENT_JSON_STORED);
    assert_false(w.out.oom);
    assert_string_equal(w.out.buf, want);
    assert_string_equal(tree, want); /* the tree form is the same document */
    json_writer sent = {0};
    event_write_json(&sent, ev, EVENT_JSON_AS_SENT);
    assert_null(strstr(sent.out.buf, "\"seq\""));
    assert_null(strstr(sent.out.buf, "received_at"));
    tt_event *back = accept(sent.out.buf);
    assert_string_equal(back->id, "e-1");
    assert_int_equal(back->ts_ms, ev->ts_ms);
    assert_string_equal(back->error, "permission \"denied\"");
    assert_string_equal(back->attrs, "{\"path\":\"/etc\"}");
    event_free(back);
    free(sent.out.buf);
    free(w.out.buf);
    free(tree);
    event_free(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writer_matches_the_tree_and_drops_assigned_fields),
        cmocka_unit_test(non_objects_are_rejected),
        cmocka_unit_test(type_is_required),
        cmocka_unit_test(minimal_event_gets_its_defaults),
        cmocka_unit_test(given_ts_is_kept_and_received_is_now),
        cmocka_unit_test(every_field_is_read),
        cmocka_unit_test(unknown_top_level_field_is_rejected),
        cmocka_unit_test(unknown_field_message_lists_the_allowed_fields),
        cmocka_unit_test(duplicate_top_level_field_is_rejected),
        cmocka_unit_test(null_fields_are_absent),
        cmocka_unit_test(the_documented_limits_are_the_header_limits),
        cmocka_unit_test(string_at_its_limit_is_accepted),
        cmocka_unit_test(string_one_byte_over_its_limit_is_rejected),
        cmocka_unit_test(string_limits_count_utf8_bytes),
        cmocka_unit_test(string_fields_must_be_strings),
        cmocka_unit_test(empty_id_is_rejected),
        cmocka_unit_test(empty_optional_strings_are_kept),
        cmocka_unit_test(type_accepts_every_allowed_character),
        cmocka_unit_test(type_rejects_what_the_pattern_excludes),
        cmocka_unit_test(type_of_64_is_accepted_and_65_is_too_long),
        cmocka_unit_test(event_type_valid_checks_length_and_alphabet),
        cmocka_unit_test(ts_accepts_rfc3339_forms),
        cmocka_unit_test(ts_accepts_calendar_edges),
        cmocka_unit_test(ts_rejects_impossible_dates),
        cmocka_unit_test(ts_rejects_times_before_1970_and_after_9999),
        cmocka_unit_test(ts_rejects_malformed_strings),
        cmocka_unit_test(ts_accepts_epoch_milliseconds),
        cmocka_unit_test(ts_rejects_epoch_out_of_range),
        cmocka_unit_test(ts_rejects_other_types),
        cmocka_unit_test(duration_accepts_zero_and_positive_numbers),
        cmocka_unit_test(duration_rejects_negative_nonfinite_and_non_numbers),
        cmocka_unit_test(bytes_accepts_integers_up_to_2_pow_53),
        cmocka_unit_test(bytes_rejects_fractions_negatives_and_2_pow_53_up),
        cmocka_unit_test(value_accepts_any_finite_number),
        cmocka_unit_test(value_rejects_nonfinite_and_non_numbers),
        cmocka_unit_test(attrs_must_be_an_object),
        cmocka_unit_test(attrs_are_kept_as_compact_json_in_order),
        cmocka_unit_test(attrs_nesting_of_8_is_accepted),
        cmocka_unit_test(attrs_nesting_of_9_is_rejected),
        cmocka_unit_test(attrs_of_16384_bytes_are_accepted),
        cmocka_unit_test(attrs_of_16385_bytes_are_rejected),
        cmocka_unit_test(attrs_size_is_measured_compact),
        cmocka_unit_test(attrs_duplicate_keys_are_rejected),
        cmocka_unit_test(attrs_same_key_at_different_places_is_fine),
        cmocka_unit_test(attrs_numbers_keep_full_precision),
        cmocka_unit_test(attrs_nonfinite_numbers_are_rejected),
        cmocka_unit_test(round_trip_minimal_event),
        cmocka_unit_test(round_trip_every_field),
        cmocka_unit_test(round_trip_unicode_strings),
        cmocka_unit_test(round_trip_escapes),
        cmocka_unit_test(round_trip_number_edges),
        cmocka_unit_test(round_trip_limits),
        cmocka_unit_test(output_has_the_documented_order),
        cmocka_unit_test(output_omits_absent_fields),
        cmocka_unit_test(unassigned_id_is_omitted),
        cmocka_unit_test(server_fields_are_refused_plainly),
    };
    return cmocka_run_group_tests_name("event_json", tests, NULL, NULL);
}
