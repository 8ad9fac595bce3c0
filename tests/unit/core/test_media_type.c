/* test_media_type.c -- Content-Type values compared as RFC 9110 §8.3.1 says, and the types a
 * web page can send to any site without a CORS preflight. */
#include "core/media_type.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void type_and_subtype_exact_case_insensitive(void **state)
{
    (void)state;
    assert_true(media_type_is("application/json", "application/json"));
    assert_true(media_type_is("Application/JSON", "application/json"));
    assert_true(media_type_is("application/json; charset=utf-8", "application/json"));
    assert_true(media_type_is(" application/json ;charset=UTF-8", "application/json"));
    assert_false(media_type_is("application/jsonx", "application/json"));
    assert_false(media_type_is("application/jso", "application/json"));
    assert_false(media_type_is("application/jsonline", "application/jsonlines"));
    assert_false(media_type_is("", "application/json"));
    assert_false(media_type_is("text/json", "application/json"));
    static const char *const list[] = {"application/x-ndjson", "application/jsonlines", NULL};
    assert_true(media_type_in("APPLICATION/JSONLINES; charset=utf-8", list));
    assert_false(media_type_in("application/jsonline", list));
}

static void cors_safelisted_types(void **state)
{
    (void)state;
    assert_true(media_type_cors_safelisted(""));
    assert_true(media_type_cors_safelisted("  "));
    assert_true(media_type_cors_safelisted("application/x-www-form-urlencoded"));
    assert_true(media_type_cors_safelisted("multipart/form-data; boundary=x"));
    assert_true(media_type_cors_safelisted("Text/Plain;charset=utf-8"));
    assert_false(media_type_cors_safelisted("application/json"));
    assert_false(media_type_cors_safelisted("text/csv"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(type_and_subtype_exact_case_insensitive),
        cmocka_unit_test(cors_safelisted_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
