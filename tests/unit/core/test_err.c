/* test_err.c -- the error vocabulary: distinct codes, their messages, -errno, tt_fail. */
#include "core/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

static void each_code_has_its_message(void **state)
{
    (void)state;
    assert_string_equal(tt_strerror(TT_ENOMEM), "out of memory");
    assert_string_equal(tt_strerror(TT_EIO), "I/O error");
    assert_string_equal(tt_strerror(TT_EINVAL), "invalid input");
    assert_string_equal(tt_strerror(TT_EUNAVAILABLE), "store unavailable");
    assert_string_equal(tt_strerror(TT_EREJECTED), "rejected by store");
    assert_string_equal(tt_strerror(TT_EFULL), "queue full");
    assert_string_equal(tt_strerror(TT_ETOOBIG), "too large");
    assert_string_equal(tt_strerror(TT_ENOTFOUND), "not found");
    assert_string_equal(tt_strerror(TT_ESCHEMA), "schema version mismatch");
    assert_string_equal(tt_strerror(TT_ECLOSED), "shutting down");
}

static void codes_are_distinct_and_clear_of_errno(void **state)
{
    (void)state;
    static const int codes[] = {
#define TT_TEST_CODE(name, value, text) TT_E##name,
        TT_ERRORS(TT_TEST_CODE)
#undef TT_TEST_CODE
    };
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        assert_true(codes[i] <= -1001);
        for (size_t k = i + 1; k < n; k++) {
            assert_int_not_equal(codes[i], codes[k]);
        }
    }
}

static void negative_errno_gets_strerror(void **state)
{
    (void)state;
    assert_string_equal(tt_strerror(-ENOENT), strerror(ENOENT));
    assert_string_equal(tt_strerror(-ENOSPC), strerror(ENOSPC));
    assert_string_equal(tt_strerror(-EAGAIN), strerror(EAGAIN));
}

static void other_values_are_unknown(void **state)
{
    (void)state;
    assert_string_equal(tt_strerror(0), "unknown error");
    assert_string_equal(tt_strerror(5), "unknown error");
    assert_string_equal(tt_strerror(-1000), "unknown error");
    assert_string_equal(tt_strerror(-5000), "unknown error");
}

static void fail_formats_and_returns_the_code(void **state)
{
    (void)state;
    char err[TT_ERRLEN];
    assert_int_equal(tt_fail(err, TT_EINVAL, "bad %s: %d", "port", 70000), TT_EINVAL);
    assert_string_equal(err, "bad port: 70000");
}

static void fail_with_null_buffer_only_returns(void **state)
{
    (void)state;
    assert_int_equal(tt_fail(NULL, TT_EIO, "x %d", 1), TT_EIO);
}

static void fail_cuts_long_messages_to_the_buffer(void **state)
{
    (void)state;
    char err[TT_ERRLEN + 8];
    memset(err, 'Q', sizeof err);
    char longer[600];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    tt_fail(err, TT_EINVAL, "%s", longer);
    assert_int_equal(strlen(err), TT_ERRLEN - 1);
    assert_int_equal(err[TT_ERRLEN], 'Q'); /* nothing written past TT_ERRLEN */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_code_has_its_message),
        cmocka_unit_test(codes_are_distinct_and_clear_of_errno),
        cmocka_unit_test(negative_errno_gets_strerror),
        cmocka_unit_test(other_values_are_unknown),
        cmocka_unit_test(fail_formats_and_returns_the_code),
        cmocka_unit_test(fail_with_null_buffer_only_returns),
        cmocka_unit_test(fail_cuts_long_messages_to_the_buffer),
    };
    return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
