/* test_json_scan.c -- the lexical pre-scan: UTF-8, strings, numbers (and I-JSON's integer
 * bound), bytes, depth, and the offset each problem is reported at. */
#include "core/json_scan.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#define DEPTH 32

/* Scans a literal (which may hold NULs) and checks the result and, on failure, the offset. */
static void expect_scan(const char *s, size_t len, unsigned max_depth, json_scan_result want,
                        size_t want_offset)
{
    size_t off = 12345;
    json_scan_result r = json_scan(s, len, max_depth, &off);
    if (r != want) {
        fail_msg("'%.*s': got %s, expected %s", (int)len, s, json_scan_describe(r),
                 json_scan_describe(want));
    }
    if (want != JSON_SCAN_OK) {
        assert_int_equal(off, want_offset);
    } else {
        assert_int_equal(off, 12345); /* untouched on success */
    }
}

#define OK(lit) expect_scan(lit, sizeof(lit) - 1, DEPTH, JSON_SCAN_OK, 0)
#define BAD(lit, result, offset) expect_scan(lit, sizeof(lit) - 1, DEPTH, result, offset)

static void valid_json_passes(void **state)
{
    (void)state;
    OK("");
    OK("   \t\r\n");
    OK("{}");
    OK("[]");
    OK("{\"a\":[1,-2.5e3,\"x\",true,false,null],\"b\":{\"c\":0}}");
    OK("\"caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80\"");
    OK("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uABCD\\ud83d\\ude00\"");
    OK("\"\x7f\"");
}

static void structure_and_literals_are_left_to_the_parser(void **state)
{
    (void)state;
    /* Not JSON, but lexically clean: cJSON is the one to refuse these. */
    OK("{{{]]]");
    OK("tru nul fals");
    OK("{a:b}");
    OK(".5");
    OK("+1");
    OK("0x10");
    OK("\x7f");
}

static void strings_reject_control_characters(void **state)
{
    (void)state;
    BAD("{\"a\":\"x\x01\"}", JSON_SCAN_BAD_STRING, 7);
    BAD("\"\t\"", JSON_SCAN_BAD_STRING, 1);
    BAD("\"ab\n\"", JSON_SCAN_BAD_STRING, 3);
    BAD("\"\x1f\"", JSON_SCAN_BAD_STRING, 1);
    BAD("\"a\0b\"", JSON_SCAN_BAD_STRING, 2);
}

static void strings_reject_bad_escapes(void **state)
{
    (void)state;
    BAD("\"a\\x\"", JSON_SCAN_BAD_STRING, 2);
    BAD("\"\\U0041\"", JSON_SCAN_BAD_STRING, 1);
    BAD("\"\\u004\"", JSON_SCAN_BAD_STRING, 1);
    BAD("\"\\u00g1\"", JSON_SCAN_BAD_STRING, 1);
    BAD("\"\\u12", JSON_SCAN_BAD_STRING, 1); /* cut off inside the escape */
    BAD("\"\\", JSON_SCAN_BAD_STRING, 1);
    BAD("\"ab\\u0000cd\"", JSON_SCAN_BAD_STRING, 3);
    BAD("{\"\\u0000\":1}", JSON_SCAN_BAD_STRING, 2);
    OK("\"\\u0001\\u0010\\u00A0\"");
}

static void unterminated_string_is_bad(void **state)
{
    (void)state;
    BAD("\"abc", JSON_SCAN_BAD_STRING, 4);
    BAD("[\"a\",\"b", JSON_SCAN_BAD_STRING, 7);
}

static void utf8_boundaries_are_exact(void **state)
{
    (void)state;
    OK("\"\xc2\x80\"");
    OK("\"\xdf\xbf\"");
    OK("\"\xe0\xa0\x80\"");
    OK("\"\xed\x9f\xbf\"");
    OK("\"\xee\x80\x80\"");
    OK("\"\xef\xbf\xbf\"");
    OK("\"\xf0\x90\x80\x80\"");
    OK("\"\xf4\x8f\xbf\xbf\"");
    BAD("\"\xc0\x80\"", JSON_SCAN_BAD_UTF8, 1);         /* overlong NUL */
    BAD("\"\xc1\xbf\"", JSON_SCAN_BAD_UTF8, 1);         /* overlong */
    BAD("\"\xe0\x9f\xbf\"", JSON_SCAN_BAD_UTF8, 1);     /* overlong U+07FF */
    BAD("\"\xf0\x8f\xbf\xbf\"", JSON_SCAN_BAD_UTF8, 1); /* overlong U+FFFF */
    BAD("\"\xed\xa0\x80\"", JSON_SCAN_BAD_UTF8, 1);     /* U+D800 */
    BAD("\"\xed\xbf\xbf\"", JSON_SCAN_BAD_UTF8, 1);     /* U+DFFF */
    BAD("\"\xf4\x90\x80\x80\"", JSON_SCAN_BAD_UTF8, 1); /* U+110000 */
    BAD("\"\xf5\x80\x80\x80\"", JSON_SCAN_BAD_UTF8, 1);
    BAD("\"\xf8\x88\x80\x80\x80\"", JSON_SCAN_BAD_UTF8, 1); /* 5-byte form */
    BAD("\"\xff\"", JSON_SCAN_BAD_UTF8, 1);
    BAD("\"ab\x80\"", JSON_SCAN_BAD_UTF8, 3);               /* lone continuation */
    BAD("[\"\xc3\x28\"]", JSON_SCAN_BAD_UTF8, 2);           /* lead byte, then ASCII */
    BAD("\"\xe2\x82\"", JSON_SCAN_BAD_UTF8, 1);             /* truncated by the quote */
    BAD("\"\xf0\x9f\x98", JSON_SCAN_BAD_UTF8, 1);           /* truncated by the end */
    BAD("\"\xe2\x82\xac\xe2\x82\"", JSON_SCAN_BAD_UTF8, 4); /* a good one, then a cut one */
}

static void non_ascii_outside_strings_is_bad(void **state)
{
    (void)state;
    BAD("[\xc3\xa9]", JSON_SCAN_BAD_UTF8, 1);
    /* A byte-order mark is valid UTF-8 but no JSON whitespace: its own result, wherever it is
     * outside a string (a caller skips one at the start of a body itself); inside a string it
     * is a character like any other. */
    BAD("\xef\xbb\xbf{}", JSON_SCAN_BOM, 0);
    BAD("[\xef\xbb\xbf{}]", JSON_SCAN_BOM, 1);
    BAD("{} \xef\xbb\xbf", JSON_SCAN_BOM, 3);
    BAD("[\xef\xbb]", JSON_SCAN_BAD_UTF8, 1); /* two of its bytes are no mark */
    assert_int_equal(json_scan("[\"\xef\xbb\xbf\"]", 7, DEPTH, NULL), JSON_SCAN_OK);
    BAD("{} \x80", JSON_SCAN_BAD_UTF8, 3);
}

static void bytes_outside_strings(void **state)
{
    (void)state;
    BAD("[1]\0", JSON_SCAN_BAD_BYTE, 3);
    BAD("\0", JSON_SCAN_BAD_BYTE, 0);
    BAD("{\x01}", JSON_SCAN_BAD_BYTE, 1);
    BAD("[\x1b]", JSON_SCAN_BAD_BYTE, 1);
    BAD("[\x0b]", JSON_SCAN_BAD_BYTE, 1);
    BAD("[\x0c]", JSON_SCAN_BAD_BYTE, 1); /* form feed is not JSON whitespace */
    OK("[\t1,\r\n2 ]");
}

static void numbers_follow_rfc8259(void **state)
{
    (void)state;
    static const char *const good[] = {
        "0",     "-0",  "7",   "-7",   "10",   "1.5",    "0.0",
        "-0.25", "1e5", "1E5", "1e+5", "1e-5", "2.5E-3", "123456789012345678901234567890.5",
        "1e999"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char buf[64];
        size_t n = (size_t)snprintf(buf, sizeof buf, "[%s]", good[i]);
        expect_scan(buf, n, DEPTH, JSON_SCAN_OK, 0);
    }
    static const char *const bad[] = {"01",  "00",  "-01",  "1.",  "1.e5", "-",
                                      "-a",  "--1", "1e",   "1e+", "1E-",  "1.2.3",
                                      "1-2", "1+2", "0.1.", "-.5", "2e5.1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[64];
        size_t n = (size_t)snprintf(buf, sizeof buf, "[1, %s]", bad[i]);
        expect_scan(buf, n, DEPTH, JSON_SCAN_BAD_NUMBER, 4); /* where the number starts */
    }
    BAD("1.", JSON_SCAN_BAD_NUMBER, 0); /* cut off at the end of the text */
    BAD("-", JSON_SCAN_BAD_NUMBER, 0);
}

/* I-JSON (RFC 7493 §2.2): an integer a double cannot hold exactly is refused where it starts;
 * one with a fraction or an exponent is a double by the sender's choice. */
static void integers_beyond_2_53_are_refused(void **state)
{
    (void)state;
    static const char *const exact[] = {"9007199254740991",
                                        "-9007199254740991",
                                        "999999999999999",
                                        "1000000000000000",
                                        "-0",
                                        "9007199254740990",
                                        "8999999999999999",
                                        "-1"};
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        char buf[64];
        size_t n = (size_t)snprintf(buf, sizeof buf, "[1, %s]", exact[i]);
        expect_scan(buf, n, DEPTH, JSON_SCAN_OK, 0);
    }
    static const char *const big[] = {
        "9007199254740992",     "-9007199254740992",     "9007199254740993",
        "9007199254741000",     "9100000000000000",      "10000000000000000",
        "18446744073709551616", "-99999999999999999999", "12345678901234567890123456789"};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        char buf[64];
        size_t n = (size_t)snprintf(buf, sizeof buf, "[1, %s]", big[i]);
        expect_scan(buf, n, DEPTH, JSON_SCAN_BIG_INTEGER, 4); /* where the number starts */
    }
    BAD("9007199254740992", JSON_SCAN_BIG_INTEGER, 0); /* at the very end of the text */
    BAD("{\"a\":{\"n\":-9007199254740992}}", JSON_SCAN_BIG_INTEGER, 10);
    BAD("[\"x\",[9007199254740991,9007199254740992]]", JSON_SCAN_BIG_INTEGER, 23);
    /* Doubles by the sender's choice, and the same digits in a string, pass. */
    OK("[9007199254740993.0,9007199254740993e0,1e300,-1E+300,9007199254740992.5]");
    OK("{\"n\":\"9007199254740993\",\"9007199254740993\":1}");
    /* The grammar is judged first: a malformed long number is an invalid number. */
    BAD("[090071992547409930]", JSON_SCAN_BAD_NUMBER, 1);
    BAD("[-090071992547409930]", JSON_SCAN_BAD_NUMBER, 1);
    BAD("[90071992547409930.]", JSON_SCAN_BAD_NUMBER, 1);
}

/* OTLP/JSON's entry point takes integers of any size, and checks all else alike. */
static void the_wide_scan_takes_any_integer(void **state)
{
    (void)state;
    size_t off = 0;
    const char *t = "{\"timeUnixNano\":1764340300250000000,\"intValue\":-9223372036854775808}";
    assert_int_equal(json_scan_wide(t, strlen(t), DEPTH, &off), JSON_SCAN_OK);
    assert_int_equal(json_scan(t, strlen(t), DEPTH, &off), JSON_SCAN_BIG_INTEGER);
    assert_int_equal(off, 16);
    assert_int_equal(json_scan_wide("[01]", 4, DEPTH, &off), JSON_SCAN_BAD_NUMBER);
    assert_int_equal(off, 1);
    assert_int_equal(json_scan_wide("[[1]]", 5, 1, &off), JSON_SCAN_TOO_DEEP);
    assert_int_equal(json_scan_wide("\"\xff\"", 3, DEPTH, &off), JSON_SCAN_BAD_UTF8);
}

static void numbers_inside_strings_are_not_numbers(void **state)
{
    (void)state;
    OK("[\"01\",\"-.5\",\"1.\"]");
}

static void depth_is_counted_to_the_limit(void **state)
{
    (void)state;
    expect_scan("[[[]]]", 6, 3, JSON_SCAN_OK, 0);
    expect_scan("[[[[]]]]", 8, 3, JSON_SCAN_TOO_DEEP, 3);
    expect_scan("{\"a\":[{}]}", 10, 3, JSON_SCAN_OK, 0);
    expect_scan("{\"a\":[{\"b\":[]}]}", 16, 3, JSON_SCAN_TOO_DEEP, 11);
    expect_scan("{}", 2, 0, JSON_SCAN_TOO_DEEP, 0);
    expect_scan("1", 1, 0, JSON_SCAN_OK, 0);
}

static void depth_falls_as_brackets_close(void **state)
{
    (void)state;
    /* Many siblings at depth 2 never add up. */
    expect_scan("[[],[],[],[],[],[],[],[]]", 25, 2, JSON_SCAN_OK, 0);
    expect_scan("[{},{},{}]", 10, 2, JSON_SCAN_OK, 0);
    /* Surplus closers do not buy extra depth later. */
    expect_scan("]]]]][[[", 8, 2, JSON_SCAN_TOO_DEEP, 7);
}

static void brackets_in_strings_do_not_count(void **state)
{
    (void)state;
    expect_scan("[\"[[[[{{{{\"]", 12, 1, JSON_SCAN_OK, 0);
    expect_scan("[\"\\\"[[\"]", 8, 1, JSON_SCAN_OK, 0); /* an escaped quote does not end it */
}

static void offset_may_be_null(void **state)
{
    (void)state;
    assert_int_equal(json_scan("[01]", 4, DEPTH, NULL), JSON_SCAN_BAD_NUMBER);
    assert_int_equal(json_scan("[1]", 3, DEPTH, NULL), JSON_SCAN_OK);
}

static void only_len_bytes_are_read(void **state)
{
    (void)state;
    /* The bad bytes lie beyond 'len'. */
    assert_int_equal(json_scan("[1]\xff\x01", 3, DEPTH, NULL), JSON_SCAN_OK);
    assert_int_equal(json_scan("\"ab\"", 3, DEPTH, NULL), JSON_SCAN_BAD_STRING);
}

static void each_result_has_a_phrase(void **state)
{
    (void)state;
    assert_string_equal(json_scan_describe(JSON_SCAN_OK), "valid");
    assert_string_equal(json_scan_describe(JSON_SCAN_BAD_UTF8), "invalid UTF-8");
    assert_string_equal(json_scan_describe(JSON_SCAN_TOO_DEEP), "nesting too deep");
    assert_string_equal(json_scan_describe(JSON_SCAN_BAD_NUMBER), "invalid number");
    assert_string_equal(json_scan_describe(JSON_SCAN_BAD_BYTE), "invalid character");
    assert_string_equal(json_scan_describe(JSON_SCAN_BOM), "a byte-order mark (U+FEFF)");
    assert_non_null(strstr(json_scan_describe(JSON_SCAN_BAD_STRING), "\\u0000"));
    assert_string_equal(json_scan_describe(JSON_SCAN_BIG_INTEGER),
                        "an integer beyond ±9007199254740991");
    assert_string_equal(json_scan_describe((json_scan_result)99), "invalid");
}

/* Only a big integer needs advice beyond its phrase: the rule it breaks, and what to send. */
static void explain_says_where_and_what_to_do(void **state)
{
    (void)state;
    char buf[256];
    assert_string_equal(json_scan_explain(JSON_SCAN_BAD_NUMBER, 7, buf, sizeof buf),
                        "invalid number at byte 7");
    assert_null(json_scan_advice(JSON_SCAN_BAD_NUMBER));
    assert_null(json_scan_advice(JSON_SCAN_OK));
    assert_string_equal(json_scan_explain(JSON_SCAN_BIG_INTEGER, 12, buf, sizeof buf),
                        "an integer beyond ±9007199254740991 at byte 12: JSON numbers are read as "
                        "doubles, exact only to 2^53-1; send such a value as a string (I-JSON, "
                        "RFC 7493 §2.2)");
    char small[16];
    assert_ptr_equal(json_scan_explain(JSON_SCAN_BIG_INTEGER, 12, small, sizeof small), small);
    assert_int_equal(strlen(small), sizeof small - 1); /* cut, still a string */
}

static const char *dup_of(const char *text)
{
    static char name[64];
    cJSON *tree = cJSON_Parse(text);
    assert_non_null(tree);
    const char *d = json_duplicate_member(tree);
    snprintf(name, sizeof name, "%s", d != NULL ? d : "(none)");
    cJSON_Delete(tree);
    return name;
}

static void duplicate_members_are_found_at_any_depth(void **state)
{
    (void)state;
    assert_string_equal(dup_of("{\"a\":1,\"b\":2}"), "(none)");
    assert_string_equal(dup_of("{\"a\":1,\"a\":2}"), "a");
    assert_string_equal(dup_of("{\"a\":1,\"b\":2,\"a\":3}"), "a");
    assert_string_equal(dup_of("{\"x\":{\"c\":1,\"c\":1}}"), "c");
    assert_string_equal(dup_of("[1,{\"k\":[{\"d\":0,\"e\":0,\"d\":0}]}]"), "d");
    assert_string_equal(dup_of("[{\"a\":1},{\"a\":2}]"), "(none)"); /* apart, not twice */
    assert_string_equal(dup_of("{\"A\":1,\"a\":2}"), "(none)");     /* names are exact */
    assert_string_equal(dup_of("7"), "(none)");
    assert_null(json_duplicate_member(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_json_passes),
        cmocka_unit_test(structure_and_literals_are_left_to_the_parser),
        cmocka_unit_test(strings_reject_control_characters),
        cmocka_unit_test(strings_reject_bad_escapes),
        cmocka_unit_test(unterminated_string_is_bad),
        cmocka_unit_test(utf8_boundaries_are_exact),
        cmocka_unit_test(non_ascii_outside_strings_is_bad),
        cmocka_unit_test(bytes_outside_strings),
        cmocka_unit_test(numbers_follow_rfc8259),
        cmocka_unit_test(integers_beyond_2_53_are_refused),
        cmocka_unit_test(the_wide_scan_takes_any_integer),
        cmocka_unit_test(numbers_inside_strings_are_not_numbers),
        cmocka_unit_test(depth_is_counted_to_the_limit),
        cmocka_unit_test(depth_falls_as_brackets_close),
        cmocka_unit_test(brackets_in_strings_do_not_count),
        cmocka_unit_test(offset_may_be_null),
        cmocka_unit_test(only_len_bytes_are_read),
        cmocka_unit_test(each_result_has_a_phrase),
        cmocka_unit_test(explain_says_where_and_what_to_do),
        cmocka_unit_test(duplicate_members_are_found_at_any_depth),
    };
    return cmocka_run_group_tests_name("json_scan", tests, NULL, NULL);
}
