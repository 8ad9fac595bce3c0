/* test_token_bucket.c -- the token bucket at exact milliseconds: the burst, the refill, the
 * Retry-After it yields, a request larger than the burst, and the key table's bound (full
 * buckets forgotten first, then new keys admitted unlimited). */
#include "core/token_bucket.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#define T0 UINT64_C(1000000)

static void a_full_bucket_admits_the_burst_then_refuses(void **state)
{
    (void)state;
    token_bucket b;
    token_bucket_init(&b, 10, T0);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(token_bucket_take(&b, 5, 10, 1, T0), 0);
    }
    /* 5 tokens a second: the next one in 200 ms */
    assert_int_equal(token_bucket_take(&b, 5, 10, 1, T0), 200);
    assert_int_equal(token_bucket_take(&b, 5, 10, 1, T0 + 199), 1);
    assert_int_equal(token_bucket_take(&b, 5, 10, 1, T0 + 200), 0);
    assert_int_equal(token_bucket_take(&b, 5, 10, 1, T0 + 200), 200);
}

static void the_refill_stops_at_the_burst(void **state)
{
    (void)state;
    token_bucket b;
    token_bucket_init(&b, 4, T0);
    assert_int_equal(token_bucket_take(&b, 1000, 4, 4, T0), 0);
    /* an hour later there are still only 4 tokens */
    assert_int_equal(token_bucket_take(&b, 1000, 4, 4, T0 + 3600000), 0);
    assert_int_not_equal(token_bucket_take(&b, 1000, 4, 4, T0 + 3600000), 0);
}

static void a_refusal_takes_nothing(void **state)
{
    (void)state;
    token_bucket b;
    token_bucket_init(&b, 10, T0);
    assert_int_equal(token_bucket_take(&b, 10, 10, 8, T0), 0); /* 2 left */
    assert_int_equal(token_bucket_take(&b, 10, 10, 5, T0), 300);
    assert_int_equal(token_bucket_take(&b, 10, 10, 5, T0), 300); /* the same wait again */
    assert_int_equal(token_bucket_take(&b, 10, 10, 2, T0), 0);
}

static void a_request_over_the_burst_needs_a_full_bucket_and_leaves_a_debt(void **state)
{
    (void)state;
    token_bucket b;
    token_bucket_init(&b, 10, T0);
    assert_int_equal(token_bucket_take(&b, 10, 10, 1, T0), 0); /* 9 left: not full */
    assert_int_equal(token_bucket_take(&b, 10, 10, 30, T0), 100);
    assert_int_equal(token_bucket_take(&b, 10, 10, 30, T0 + 100), 0); /* full: -20 left */
    /* the debt is paid at the rate: 10 tokens a second, so 3 s until one token is there */
    assert_int_equal(token_bucket_take(&b, 10, 10, 1, T0 + 100), 2100);
    assert_int_equal(token_bucket_take(&b, 10, 10, 1, T0 + 2200), 0);
}

static void the_wait_is_rounded_up_and_never_zero(void **state)
{
    (void)state;
    token_bucket b;
    token_bucket_init(&b, 1, T0);
    assert_int_equal(token_bucket_take(&b, 3, 1, 1, T0), 0);
    assert_int_equal(token_bucket_take(&b, 3, 1, 1, T0), 334); /* 333.3 ms */
    token_bucket_init(&b, 1, T0);
    assert_int_equal(token_bucket_take(&b, 10000000, 1, 1, T0), 0);
    assert_int_equal(token_bucket_take(&b, 10000000, 1, 1, T0), 1); /* 0.0001 ms */
    /* years idle at the highest rate and burst: full, not overflowed */
    token_bucket_init(&b, TOKEN_BURST_MAX, T0);
    assert_int_equal(token_bucket_take(&b, TOKEN_RATE_MAX, TOKEN_BURST_MAX, TOKEN_BURST_MAX, T0),
                     0);
    assert_int_equal(token_bucket_take(&b, TOKEN_RATE_MAX, TOKEN_BURST_MAX, TOKEN_BURST_MAX,
                                       T0 + UINT64_C(10) * 365 * 86400000),
                     0);
    assert_int_equal(token_bucket_take(&b, TOKEN_RATE_MAX, TOKEN_BURST_MAX, 1,
                                       T0 + UINT64_C(10) * 365 * 86400000),
                     1);
}

static void a_clock_going_back_counts_as_now(void **state)
{
    (void)state;
    token_bucket b;
    token_bucket_init(&b, 2, T0);
    assert_int_equal(token_bucket_take(&b, 1, 2, 2, T0), 0);
    assert_int_equal(token_bucket_take(&b, 1, 2, 1, T0 - 5000), 1000);
}

static void keys_have_their_own_buckets(void **state)
{
    (void)state;
    token_table *t = token_table_new(8);
    assert_non_null(t);
    assert_int_equal(token_table_take(t, "role:ingest", 1, 2, 2, T0), 0);
    assert_int_equal(token_table_take(t, "role:ingest", 1, 2, 1, T0), 1000);
    assert_int_equal(token_table_take(t, "addr:10.0.0.1", 1, 2, 2, T0), 0);
    assert_int_equal(token_table_size(t), 2);
    token_table_free(t);
}

static void a_full_table_forgets_full_buckets_then_admits_new_keys_unlimited(void **state)
{
    (void)state;
    token_table *t = token_table_new(4);
    char key[32];
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(token_table_take(t, key, 1, 1, 1, T0), 0); /* each one empty now */
    }
    assert_int_equal(token_table_size(t), 4);
    /* every bucket is in use: a fifth key is admitted without a bucket, again and again */
    assert_int_equal(token_table_take(t, "k4", 1, 1, 1, T0), 0);
    assert_int_equal(token_table_take(t, "k4", 1, 1, 1, T0), 0);
    assert_int_equal(token_table_size(t), 4);
    assert_int_equal(token_table_take(t, "k0", 1, 1, 1, T0), 1000); /* the old ones still hold */
    /* a second later all four are full again: forgotten, and k4 gets a bucket of its own */
    assert_int_equal(token_table_take(t, "k4", 1, 1, 1, T0 + 1000), 0);
    assert_int_equal(token_table_size(t), 1);
    assert_int_equal(token_table_take(t, "k4", 1, 1, 1, T0 + 1000), 1000);
    token_table_free(t);
}

static void refunded_tokens_can_be_taken_again_up_to_the_burst(void **state)
{
    (void)state;
    token_table *t = token_table_new(4);
    assert_int_equal(token_table_take(t, "k", 1, 2, 2, T0), 0);
    assert_int_equal(token_table_take(t, "k", 1, 2, 1, T0), 1000); /* spent */
    token_table_refund(t, "k", 2, 5);                              /* capped at the burst */
    assert_int_equal(token_table_take(t, "k", 1, 2, 2, T0), 0);
    assert_int_equal(token_table_take(t, "k", 1, 2, 1, T0), 1000);
    token_table_refund(t, "unknown", 2, 1); /* no bucket: nothing to give back to */
    assert_int_equal(token_table_size(t), 1);
    token_table_free(t);
}

static void a_long_key_is_cut_not_overflowed(void **state)
{
    (void)state;
    token_table *t = token_table_new(2);
    char a[TOKEN_KEY_MAX * 2], b[TOKEN_KEY_MAX * 2];
    memset(a, 'a', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof b);
    b[sizeof b - 2] = 'b'; /* differs only past the cut: the same bucket */
    assert_int_equal(token_table_take(t, a, 1, 1, 1, T0), 0);
    assert_int_equal(token_table_take(t, b, 1, 1, 1, T0), 1000);
    token_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_full_bucket_admits_the_burst_then_refuses),
        cmocka_unit_test(the_refill_stops_at_the_burst),
        cmocka_unit_test(a_refusal_takes_nothing),
        cmocka_unit_test(a_request_over_the_burst_needs_a_full_bucket_and_leaves_a_debt),
        cmocka_unit_test(the_wait_is_rounded_up_and_never_zero),
        cmocka_unit_test(a_clock_going_back_counts_as_now),
        cmocka_unit_test(keys_have_their_own_buckets),
        cmocka_unit_test(a_full_table_forgets_full_buckets_then_admits_new_keys_unlimited),
        cmocka_unit_test(refunded_tokens_can_be_taken_again_up_to_the_burst),
        cmocka_unit_test(a_long_key_is_cut_not_overflowed),
    };
    return cmocka_run_group_tests_name("token_bucket", tests, NULL, NULL);
}
