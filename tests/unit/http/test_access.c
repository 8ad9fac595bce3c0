/* test_access.c -- access.c's pure parts: the window that holds the refusal log to
 * ACCESS_LOG_LINES lines in any ACCESS_LOG_WINDOW_MS (a window per clock second let 20 lines
 * through in 0.02 s across a second's boundary), and the WWW-Authenticate of a refusal (RFC
 * 6750 §3). The route × role matrix itself is tests/integration/access.test.mjs's. */
#include "http/http_internal.h"

#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* How many of 'n' refusals, 'step_ms' apart from 'start_ms', the window lets be logged. */
static int taken(access_log_window *w, uint64_t start_ms, int n, uint64_t step_ms)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        k += access_log_take(w, start_ms + (uint64_t)i * step_ms);
    }
    return k;
}

static void at_most_ten_lines_in_any_second_across_a_second_boundary(void **state)
{
    (void)state;
    access_log_window w = {0};
    /* 20 refusals from 5990 ms to 6009 ms: a window per clock second took 10 + 10 */
    assert_int_equal(taken(&w, 5990, 20, 1), ACCESS_LOG_LINES);
    assert_false(access_log_take(&w, 6989)); /* 999 ms after the first line: still 10 in it */
    assert_true(access_log_take(&w, 6990));  /* the first line is a second old: room for one */
    assert_false(access_log_take(&w, 6990));
    assert_true(access_log_take(&w, 6991)); /* the second one is a second old */
}

static void a_steady_flow_under_the_limit_is_all_logged(void **state)
{
    (void)state;
    access_log_window w = {0};
    assert_int_equal(taken(&w, 0, 100, 100), 100); /* 10 a second, evenly */
    access_log_window v = {0};
    assert_int_equal(taken(&v, 1000, 100, 99), 91); /* a little faster: the window bites */
}

/* In any ACCESS_LOG_WINDOW_MS, never more than ACCESS_LOG_LINES taken: bursts at random. */
static void no_window_ever_holds_more(void **state)
{
    (void)state;
    access_log_window w = {0};
    uint64_t at[5000];
    int n = 0;
    uint64_t now = 0;
    uint32_t x = 12345;
    for (int i = 0; i < 5000; i++) {
        x = x * 1103515245u + 12345u;
        now += (x >> 16) % 7 == 0 ? (x >> 8) % 400 : 0;
        if (access_log_take(&w, now)) {
            at[n++] = now;
        }
    }
    for (int i = ACCESS_LOG_LINES; i < n; i++) {
        assert_true(at[i] - at[i - ACCESS_LOG_LINES] >= ACCESS_LOG_WINDOW_MS);
    }
    assert_true(n > 100);
}

static void challenges_as_rfc_6750_words_them(void **state)
{
    (void)state;
    char out[ACCESS_CHALLENGE_MAX];
    access_challenge(NULL, "no key: send an apikey or a bearer token", out);
    assert_string_equal(out, "Bearer");
    access_challenge("invalid_token", "invalid token: the token has expired", out);
    assert_string_equal(out,
                        "Bearer error=\"invalid_token\", error_description=\"invalid token: the "
                        "token has expired\"");
    /* '"', '\\' and bytes outside printable ASCII cannot be in the quoted description */
    access_challenge("insufficient_scope", "its alg is \"HS384\" \\ \xc2\xa7 5.2\n", out);
    assert_string_equal(out, "Bearer error=\"insufficient_scope\", error_description=\"its alg is "
                             "HS384   5.2\"");
}

static void a_long_description_is_cut_and_still_closed(void **state)
{
    (void)state;
    char why[1000], out[ACCESS_CHALLENGE_MAX];
    memset(why, 'x', sizeof why - 1);
    why[sizeof why - 1] = '\0';
    access_challenge("invalid_token", why, out);
    assert_true(strlen(out) == ACCESS_CHALLENGE_MAX - 1);
    assert_int_equal(out[strlen(out) - 1], '"');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(at_most_ten_lines_in_any_second_across_a_second_boundary),
        cmocka_unit_test(a_steady_flow_under_the_limit_is_all_logged),
        cmocka_unit_test(no_window_ever_holds_more),
        cmocka_unit_test(challenges_as_rfc_6750_words_them),
        cmocka_unit_test(a_long_description_is_cut_and_still_closed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
