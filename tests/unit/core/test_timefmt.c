/* test_timefmt.c -- RFC 3339 in and out, checked against the C library's timegm()/gmtime_r()
 * as an independent oracle. */
#include "core/timefmt.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_MS INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */
#define NOW INT64_C(1764340303123)      /* 2025-11-28T14:31:43.123Z */

static int64_t parse_ok(const char *s)
{
    int64_t ms = -12345;
    if (!timefmt_parse(s, strlen(s), &ms)) {
        fail_msg("refused: '%s'", s);
    }
    return ms;
}

static void parse_bad(const char *s)
{
    int64_t ms = -12345;
    if (timefmt_parse(s, strlen(s), &ms)) {
        fail_msg("accepted as %lld: '%s'", (long long)ms, s);
    }
    assert_int_equal(ms, -12345); /* untouched */
}

static void format_is(int64_t ms, const char *want)
{
    char out[TIMEFMT_LEN];
    memset(out, 'X', sizeof out);
    timefmt_format(ms, out);
    assert_string_equal(out, want);
}

/* The oracle: epoch ms of a UTC civil time, by the C library. */
static int64_t oracle_ms(int y, int mo, int d, int h, int mi, int s, int ms)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    return (int64_t)timegm(&tm) * 1000 + ms;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* ---- format ---------------------------------------------------------------------------- */

static void format_known_instants(void **state)
{
    (void)state;
    format_is(0, "1970-01-01T00:00:00.000Z");
    format_is(1, "1970-01-01T00:00:00.001Z");
    format_is(NOW, "2025-11-28T14:31:43.123Z");
    format_is(INT64_C(1709164800000), "2024-02-29T00:00:00.000Z");
    format_is(INT64_C(951868799999), "2000-02-29T23:59:59.999Z");
    format_is(MAX_MS, "9999-12-31T23:59:59.999Z");
}

static void format_clamps_out_of_range(void **state)
{
    (void)state;
    format_is(-1, "1970-01-01T00:00:00.000Z");
    format_is(INT64_MIN, "1970-01-01T00:00:00.000Z");
    format_is(MAX_MS + 1, "9999-12-31T23:59:59.999Z");
    format_is(INT64_MAX, "9999-12-31T23:59:59.999Z");
}

static void format_matches_gmtime(void **state)
{
    (void)state;
    /* A stride that is prime to every calendar period visits all kinds of days and times. */
    for (int64_t ms = 0; ms <= MAX_MS; ms += INT64_C(2535525307)) {
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        assert_non_null(gmtime_r(&t, &tm));
        char want[64];
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
        format_is(ms, want);
    }
}

/* ---- parse ----------------------------------------------------------------------------- */

static void parse_known_instants(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("1970-01-01T00:00:00.001Z"), 1);
    assert_int_equal(parse_ok("2025-11-28T14:31:43.123Z"), NOW);
    assert_int_equal(parse_ok("9999-12-31T23:59:59.999Z"), MAX_MS);
}

static void parse_separators_and_zones(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2025-11-28t14:31:43.123z"), NOW);
    assert_int_equal(parse_ok("2025-11-28 14:31:43.123Z"), NOW);
    assert_int_equal(parse_ok("2025-11-28T15:31:43.123+01:00"), NOW);
    assert_int_equal(parse_ok("2025-11-28T14:31:43.123+00:00"), NOW);
    assert_int_equal(parse_ok("2025-11-28T14:31:43.123-00:00"), NOW);
    assert_int_equal(parse_ok("2025-11-29T14:30:43.123+23:59"), NOW);
    assert_int_equal(parse_ok("2025-11-27T14:32:43.123-23:59"), NOW);
    assert_int_equal(parse_ok("2025-11-28T20:01:43.123+05:30"), NOW);
    /* An offset can carry the date across a year boundary. */
    assert_int_equal(parse_ok("2024-12-31T23:00:00-01:00"), oracle_ms(2025, 1, 1, 0, 0, 0, 0));
}

static void parse_fractions_keep_milliseconds(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2025-11-28T14:31:43Z"), NOW - 123);
    assert_int_equal(parse_ok("2025-11-28T14:31:43.1Z"), NOW - 23);
    assert_int_equal(parse_ok("2025-11-28T14:31:43.12Z"), NOW - 3);
    assert_int_equal(parse_ok("2025-11-28T14:31:43.123Z"), NOW);
    assert_int_equal(parse_ok("2025-11-28T14:31:43.1239Z"), NOW); /* truncated, not rounded */
    assert_int_equal(parse_ok("2025-11-28T14:31:43.123999999Z"), NOW);
    assert_int_equal(parse_ok("2025-11-28T14:31:43.000000001Z"), NOW - 123);
}

static void parse_every_day_of_every_month(void **state)
{
    (void)state;
    static const int years[] = {1970, 1999, 2000, 2023, 2024, 2100, 2400, 9999};
    for (size_t i = 0; i < sizeof years / sizeof years[0]; i++) {
        int y = years[i];
        for (int m = 1; m <= 12; m++) {
            char s[40];
            int last = month_days(y, m);
            snprintf(s, sizeof s, "%04d-%02d-%02dT12:34:56.789Z", y, m, last);
            assert_int_equal(parse_ok(s), oracle_ms(y, m, last, 12, 34, 56, 789));
            snprintf(s, sizeof s, "%04d-%02d-01T00:00:00Z", y, m);
            assert_int_equal(parse_ok(s), oracle_ms(y, m, 1, 0, 0, 0, 0));
            snprintf(s, sizeof s, "%04d-%02d-%02dT00:00:00Z", y, m, last + 1);
            parse_bad(s);
        }
    }
}

static void parse_leap_days(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-02-29T00:00:00Z"), INT64_C(1709164800000));
    assert_int_equal(parse_ok("2000-02-29T23:59:59.999Z"), INT64_C(951868799999));
    parse_bad("2023-02-29T00:00:00Z");
    parse_bad("2100-02-29T00:00:00Z");
    parse_bad("1900-02-29T00:00:00Z");
    parse_bad("2024-02-30T00:00:00Z");
}

static void parse_leap_second_stays_in_its_minute(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2016-12-31T23:59:60Z"), oracle_ms(2016, 12, 31, 23, 59, 59, 0));
    assert_int_equal(parse_ok("2016-12-31T23:59:60.5Z"), oracle_ms(2016, 12, 31, 23, 59, 59, 500));
}

static void parse_refuses_out_of_range_fields(void **state)
{
    (void)state;
    parse_bad("2025-00-01T00:00:00Z");
    parse_bad("2025-13-01T00:00:00Z");
    parse_bad("2025-01-00T00:00:00Z");
    parse_bad("2025-01-32T00:00:00Z");
    parse_bad("2025-04-31T00:00:00Z");
    parse_bad("2025-01-01T24:00:00Z");
    parse_bad("2025-01-01T00:60:00Z");
    parse_bad("2025-01-01T00:00:61Z");
    parse_bad("2025-01-01T00:00:00+24:00");
    parse_bad("2025-01-01T00:00:00+00:60");
}

static void parse_refuses_before_1970_and_after_9999(void **state)
{
    (void)state;
    parse_bad("1969-12-31T23:59:59.999Z");
    parse_bad("1970-01-01T00:00:00+00:01");
    parse_bad("0000-01-01T00:00:00Z");
    parse_bad("9999-12-31T23:59:59.999-00:01");
    assert_int_equal(parse_ok("1970-01-01T00:00:00-00:01"), 60000);
}

static void parse_refuses_malformed_text(void **state)
{
    (void)state;
    static const char *const bad[] = {"",
                                      "2025",
                                      "2025-11-28",
                                      "2025-11-28T",
                                      "2025-11-28T14:31",
                                      "2025-11-28T14:31Z",
                                      "2025-11-28T14:31:43",
                                      "2025-11-28T14:31:43.",
                                      "2025-11-28T14:31:43.Z",
                                      "2025-11-28T14:31:43,5Z",
                                      "2025-11-28T14:31:43.5",
                                      "2025-11-28T14:31:43ZZ",
                                      "2025-11-28T14:31:43Z ",
                                      " 2025-11-28T14:31:43Z",
                                      "2025-11-28_14:31:43Z",
                                      "2025/11/28T14:31:43Z",
                                      "2025-1-28T14:31:43Z",
                                      "2025-11-8T14:31:43Z",
                                      "2025-11-28T4:31:43Z",
                                      "+2025-11-28T14:31:43Z",
                                      "-2025-11-28T14:31:43Z",
                                      "12025-11-28T14:31:43Z",
                                      "20251128T143143Z",
                                      "2025-11-28T14:31:43+01",
                                      "2025-11-28T14:31:43+0100",
                                      "2025-11-28T14:31:43+1:00",
                                      "2025-11-28T14:31:43 +01:00",
                                      "2025-11-28T14:31:43GMT",
                                      "2025-11-28T14:31:43.-1Z",
                                      "2O25-11-28T14:31:43Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        parse_bad(bad[i]);
    }
}

static void parse_reads_only_len_bytes(void **state)
{
    (void)state;
    const char *s = "2025-11-28T14:31:43.123Zgarbage";
    int64_t ms = 0;
    assert_true(timefmt_parse(s, 24, &ms));
    assert_int_equal(ms, NOW);
    assert_false(timefmt_parse(s, 23, &ms)); /* without the zone */
    assert_false(timefmt_parse(s, strlen(s), &ms));
}

static void parse_matches_timegm(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int y = 1970 + (int)(x % 8030);
        int m = 1 + (int)((x >> 16) % 12);
        int d = 1 + (int)((x >> 24) % (uint64_t)month_days(y, m));
        int h = (int)((x >> 32) % 24), mi = (int)((x >> 40) % 60), s = (int)((x >> 46) % 60);
        int ms = (int)((x >> 52) % 1000);
        char text[40];
        snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, h, mi, s, ms);
        assert_int_equal(parse_ok(text), oracle_ms(y, m, d, h, mi, s, ms));
    }
}

static void format_then_parse_is_identity(void **state)
{
    (void)state;
    for (int64_t ms = 0; ms <= MAX_MS; ms += INT64_C(25355252993)) {
        char out[TIMEFMT_LEN];
        timefmt_format(ms, out);
        assert_int_equal(strlen(out), TIMEFMT_LEN - 1);
        assert_int_equal(parse_ok(out), ms);
    }
    char out[TIMEFMT_LEN];
    timefmt_format(MAX_MS, out);
    assert_int_equal(parse_ok(out), MAX_MS);
}

/* RFC 3339 allows any number of fraction digits (time-secfrac = "." 1*DIGIT). */
static void parse_takes_any_number_of_fraction_digits(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2025-11-28T14:31:43.1234567891Z"), NOW);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(format_known_instants),
        cmocka_unit_test(format_clamps_out_of_range),
        cmocka_unit_test(format_matches_gmtime),
        cmocka_unit_test(parse_known_instants),
        cmocka_unit_test(parse_separators_and_zones),
        cmocka_unit_test(parse_fractions_keep_milliseconds),
        cmocka_unit_test(parse_every_day_of_every_month),
        cmocka_unit_test(parse_leap_days),
        cmocka_unit_test(parse_leap_second_stays_in_its_minute),
        cmocka_unit_test(parse_refuses_out_of_range_fields),
        cmocka_unit_test(parse_refuses_before_1970_and_after_9999),
        cmocka_unit_test(parse_refuses_malformed_text),
        cmocka_unit_test(parse_reads_only_len_bytes),
        cmocka_unit_test(parse_matches_timegm),
        cmocka_unit_test(format_then_parse_is_identity),
        cmocka_unit_test(parse_takes_any_number_of_fraction_digits),
    };
    return cmocka_run_group_tests_name("timefmt", tests, NULL, NULL);
}
