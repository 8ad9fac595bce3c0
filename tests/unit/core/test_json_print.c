/* test_json_print.c -- the exact compact writer: every number reads back to the same double,
 * strings carry the minimal escaping, structure is compact. */
#include "core/json_print.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Prints a tree and checks the text and the reported length. */
static void expect_print(cJSON *node, const char *want)
{
    size_t len = 777;
    char *text = json_print_delete(node, &len);
    assert_non_null(text);
    assert_string_equal(text, want);
    assert_int_equal(len, strlen(want));
    free(text);
}

static void expect_number(double d, const char *want)
{
    expect_print(cJSON_CreateNumber(d), want);
}

/* Reparses 'text' and returns its number. */
static double reread(const char *text)
{
    cJSON *n = cJSON_Parse(text);
    assert_non_null(n);
    assert_true(cJSON_IsNumber(n));
    double d = n->valuedouble;
    cJSON_Delete(n);
    return d;
}

static void integers_are_written_in_full(void **state)
{
    (void)state;
    expect_number(0, "0");
    expect_number(7, "7");
    expect_number(-42, "-42");
    expect_number(2147483648.0, "2147483648");
    expect_number(9007199254740991.0, "9007199254740991");
    expect_number(9007199254740992.0, "9007199254740992");
    expect_number(9007199254740994.0, "9007199254740994");
    expect_number(-9007199254740992.0, "-9007199254740992");
    expect_number(1e16, "10000000000000000");
    expect_number(99999999999999984.0, "99999999999999984"); /* the largest below 1e17 */
}

static void large_integers_use_an_exponent(void **state)
{
    (void)state;
    expect_number(1e17, "1e+17");
    expect_number(1e300, "1e+300");
    expect_number(DBL_MAX, "1.7976931348623157e+308");
    expect_number(-DBL_MAX, "-1.7976931348623157e+308");
}

static void fractions_use_the_shortest_exact_form(void **state)
{
    (void)state;
    expect_number(0.5, "0.5");
    expect_number(-12.25, "-12.25");
    expect_number(0.1, "0.1");
    expect_number(0.1 + 0.2, "0.30000000000000004");
    expect_number(1.0 / 3.0, "0.3333333333333333");
    expect_number(123456.78901234567, "123456.78901234567");
    expect_number(5e-324, "4.94065645841247e-324");
    expect_number(2.5e-300, "2.5e-300");
}

static void every_double_reads_back_exactly(void **state)
{
    (void)state;
    /* Random bit patterns cover every exponent; fixed seed, so a failure replays. */
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double d;
        memcpy(&d, &x, sizeof d);
        if (!isfinite(d)) {
            continue;
        }
        cJSON *n = cJSON_CreateNumber(d);
        char *text = json_print_delete(n, NULL);
        assert_non_null(text);
        double back = strtod(text, NULL);
        if (back != d) {
            fail_msg("%.17g printed as %s", d, text);
        }
        free(text);
    }
}

static void decimal_values_read_back_through_cjson(void **state)
{
    (void)state;
    static const double values[] = {0.1, 0.2, 0.3, 1.1, 2.675, 1e-7, 123.456, 9.95, 0.001, 33.3};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char *text = json_print_delete(cJSON_CreateNumber(values[i]), NULL);
        assert_true(reread(text) == values[i]);
        free(text);
    }
}

static void nonfinite_numbers_become_null(void **state)
{
    (void)state;
    expect_number(INFINITY, "null");
    expect_number(-INFINITY, "null");
    expect_number(NAN, "null");
}

static void strings_get_minimal_escaping(void **state)
{
    (void)state;
    expect_print(cJSON_CreateString("plain"), "\"plain\"");
    expect_print(cJSON_CreateString(""), "\"\"");
    expect_print(cJSON_CreateString("q\"b\\s/"), "\"q\\\"b\\\\s/\"");
    expect_print(cJSON_CreateString("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"");
    expect_print(cJSON_CreateString("\x01\x1f\x0b"), "\"\\u0001\\u001f\\u000b\"");
    /* DEL and everything non-ASCII go out as they are. */
    expect_print(cJSON_CreateString("\x7f caf\xc3\xa9 \xf0\x9f\x98\x80"),
                 "\"\x7f caf\xc3\xa9 \xf0\x9f\x98\x80\"");
}

static void every_control_character_is_escaped(void **state)
{
    (void)state;
    for (int c = 1; c < 0x20; c++) {
        char s[2] = {(char)c, '\0'};
        char *text = json_print_delete(cJSON_CreateString(s), NULL);
        assert_non_null(text);
        for (const char *p = text; *p != '\0'; p++) {
            assert_true((unsigned char)*p >= 0x20);
        }
        cJSON *back = cJSON_Parse(text);
        assert_non_null(back);
        assert_string_equal(back->valuestring, s);
        cJSON_Delete(back);
        free(text);
    }
}

static void structure_is_compact_and_ordered(void **state)
{
    (void)state;
    cJSON *doc = cJSON_Parse(" { \"b\" : [ 1 , true , false , null , \"s\" , [ ] , { } ] ,\n"
                             "  \"a\" : { \"k\\\"ey\" : -0.5 } } ");
    assert_non_null(doc);
    expect_print(doc, "{\"b\":[1,true,false,null,\"s\",[],{}],\"a\":{\"k\\\"ey\":-0.5}}");
    expect_print(cJSON_CreateObject(), "{}");
    expect_print(cJSON_CreateArray(), "[]");
    expect_print(cJSON_CreateTrue(), "true");
    expect_print(cJSON_CreateNull(), "null");
}

static void raw_nodes_are_copied_verbatim(void **state)
{
    (void)state;
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddRawToObject(obj, "attrs", "{\"x\":[1,2]}");
    cJSON_AddStringToObject(obj, "t", "a");
    expect_print(obj, "{\"attrs\":{\"x\":[1,2]},\"t\":\"a\"}");
}

static void null_node_prints_as_empty_text(void **state)
{
    (void)state;
    size_t len = 5;
    char *text = json_print(NULL, &len);
    assert_non_null(text);
    assert_string_equal(text, "");
    assert_int_equal(len, 0);
    free(text);
}

static void print_leaves_the_tree_alone(void **state)
{
    (void)state;
    cJSON *doc = cJSON_Parse("{\"a\":1}");
    char *t1 = json_print(doc, NULL);
    char *t2 = json_print(doc, NULL);
    assert_string_equal(t1, t2);
    assert_int_equal(cJSON_GetObjectItem(doc, "a")->valueint, 1);
    free(t2);
    free(t1);
    cJSON_Delete(doc);
}

static void buffer_appends_and_grows(void **state)
{
    (void)state;
    json_buf out = {0};
    cJSON *big = cJSON_CreateArray();
    for (int i = 0; i < 5000; i++) {
        cJSON_AddItemToArray(big, cJSON_CreateNumber(i));
    }
    json_print_to(&out, big);
    size_t first = out.len;
    json_print_to(&out, big);
    assert_false(out.oom);
    assert_int_equal(out.len, 2 * first);
    assert_int_equal(strlen(out.buf), out.len);
    assert_true(out.cap > out.len);
    assert_memory_equal(out.buf, out.buf + first, first);
    assert_true(strncmp(out.buf, "[0,1,2,3,", 9) == 0);
    free(out.buf);
    cJSON_Delete(big);
}

static void output_parses_back_to_the_same_tree(void **state)
{
    (void)state;
    const char *src =
        "{\"s\":\"\\u00e9\\n\\\"\",\"n\":[0.30000000000000004,-1e-300,4503599627370497],"
        "\"o\":{\"\":{\"deep\":[[[]]]}},\"b\":false}";
    cJSON *a = cJSON_Parse(src);
    char *text = json_print(a, NULL);
    cJSON *b = cJSON_Parse(text);
    assert_non_null(b);
    assert_true(cJSON_Compare(a, b, 1));
    char *again = json_print(b, NULL);
    assert_string_equal(text, again); /* printing is a fixed point */
    free(again);
    free(text);
    cJSON_Delete(b);
    cJSON_Delete(a);
}

/* The writer puts commas and colons where they go, at every depth. */
static void writer_separates_members_and_items(void **state)
{
    (void)state;
    json_writer w = {0};
    json_open_object(&w);
    json_member_string(&w, "a", "x\"y");
    json_key(&w, "list");
    json_open_array(&w);
    json_number(&w, 1);
    json_open_object(&w);
    json_close_object(&w);
    json_open_array(&w);
    json_close_array(&w);
    json_null(&w);
    json_string(&w, NULL);
    json_close_array(&w);
    json_member_bool(&w, "t", true);
    json_key(&w, "raw");
    json_raw_value(&w, "{\"k\":[1,2]}", 11);
    json_member_number(&w, "n", 0.5);
    json_close_object(&w);
    assert_false(w.out.oom);
    assert_string_equal(w.out.buf, "{\"a\":\"x\\\"y\",\"list\":[1,{},[],null,null],\"t\":true,"
                                   "\"raw\":{\"k\":[1,2]},\"n\":0.5}");
    cJSON *back = cJSON_Parse(w.out.buf);
    assert_non_null(back);
    cJSON_Delete(back);
    free(w.out.buf);
}

/* A document nested past JSON_WRITER_DEPTH is refused as out of memory, not written wrong. */
static void writer_refuses_too_deep_a_document(void **state)
{
    (void)state;
    json_writer w = {0};
    for (int i = 0; i <= JSON_WRITER_DEPTH; i++) {
        json_open_array(&w);
    }
    assert_true(w.out.oom);
    free(w.out.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integers_are_written_in_full),
        cmocka_unit_test(large_integers_use_an_exponent),
        cmocka_unit_test(fractions_use_the_shortest_exact_form),
        cmocka_unit_test(every_double_reads_back_exactly),
        cmocka_unit_test(decimal_values_read_back_through_cjson),
        cmocka_unit_test(nonfinite_numbers_become_null),
        cmocka_unit_test(strings_get_minimal_escaping),
        cmocka_unit_test(every_control_character_is_escaped),
        cmocka_unit_test(structure_is_compact_and_ordered),
        cmocka_unit_test(raw_nodes_are_copied_verbatim),
        cmocka_unit_test(null_node_prints_as_empty_text),
        cmocka_unit_test(print_leaves_the_tree_alone),
        cmocka_unit_test(buffer_appends_and_grows),
        cmocka_unit_test(output_parses_back_to_the_same_tree),
        cmocka_unit_test(writer_separates_members_and_items),
        cmocka_unit_test(writer_refuses_too_deep_a_document),
    };
    return cmocka_run_group_tests_name("json_print", tests, NULL, NULL);
}
