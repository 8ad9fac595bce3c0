/* test_backoff.c -- retry delays: full and decorrelated jitter within their bounds at every
 * attempt, the cap, overflow at huge attempts, the attempt limit and the time budget, and the
 * mean of full jitter over a fixed pseudo-random sequence. */
#include "core/backoff.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#define T0 UINT64_C(1764340303000)

static backoff_cfg cfg(backoff_jitter jitter)
{
    backoff_cfg c;
    backoff_cfg_default(&c);
    c.jitter = jitter;
    return c;
}

/* xorshift32: a fixed sequence for the 'rnd' argument. */
static uint32_t next_rnd(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* min(cap, base * 2^n), worked out the slow way. */
static uint64_t full_ceiling(const backoff_cfg *c, unsigned n)
{
    uint64_t v = c->base_ms;
    for (unsigned i = 0; i < n && v < c->cap_ms; i++) {
        v *= 2;
    }
    return v < c->cap_ms ? v : c->cap_ms;
}

static void defaults_are_the_documented_ones_and_valid(void **state)
{
    (void)state;
    backoff_cfg c;
    memset(&c, 0xab, sizeof c);
    backoff_cfg_default(&c);
    assert_int_equal(c.base_ms, 100);
    assert_int_equal(c.cap_ms, 10000);
    assert_int_equal(c.max_attempts, 5);
    assert_int_equal(c.budget_ms, 0);
    assert_int_equal(c.jitter, BACKOFF_FULL);
    assert_int_equal(backoff_cfg_check(&c, NULL), 0);
}

static void cfg_check_rejects_nonsense(void **state)
{
    (void)state;
    char err[TT_ERRLEN] = "";
    backoff_cfg c = cfg(BACKOFF_FULL);
    c.base_ms = 0;
    assert_int_equal(backoff_cfg_check(&c, err), TT_EINVAL);
    assert_non_null(strstr(err, "base_ms"));

    c = cfg(BACKOFF_DECORRELATED);
    c.cap_ms = 99;
    assert_int_equal(backoff_cfg_check(&c, err), TT_EINVAL);
    assert_non_null(strstr(err, "cap_ms"));
    c.cap_ms = 100; /* cap == base: a constant delay band, fine */
    assert_int_equal(backoff_cfg_check(&c, err), 0);

    c = cfg((backoff_jitter)7);
    assert_int_equal(backoff_cfg_check(&c, err), TT_EINVAL);
    assert_non_null(strstr(err, "jitter"));

    c = cfg(BACKOFF_FULL);
    c.max_attempts = 0;
    c.budget_ms = 0;
    c.base_ms = 1;
    c.cap_ms = UINT32_MAX;
    assert_int_equal(backoff_cfg_check(&c, NULL), 0);
}

static void full_jitter_spans_zero_to_the_ceiling_at_every_attempt(void **state)
{
    (void)state;
    backoff_cfg c = cfg(BACKOFF_FULL);
    uint32_t x = 2463534242u;
    for (unsigned n = 0; n < 80; n++) {
        uint64_t ceiling = full_ceiling(&c, n);
        assert_int_equal(backoff_delay_ms(&c, n, 0, 0), 0);
        assert_int_equal(backoff_delay_ms(&c, n, 0, UINT32_MAX), ceiling);
        /* rnd = 2^31 is the middle: floor((ceiling + 1) / 2). */
        assert_int_equal(backoff_delay_ms(&c, n, 0, UINT32_C(1) << 31), (ceiling + 1) / 2);
        for (int i = 0; i < 200; i++) {
            uint64_t d = backoff_delay_ms(&c, n, 12345, next_rnd(&x));
            if (d > ceiling) {
                fail_msg("attempt %u: %llu > %llu", n, (unsigned long long)d,
                         (unsigned long long)ceiling);
            }
        }
    }
}

static void full_jitter_ceiling_doubles_then_stops_at_the_cap(void **state)
{
    (void)state;
    backoff_cfg c = cfg(BACKOFF_FULL);
    const uint64_t want[] = {100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000, 10000};
    for (unsigned n = 0; n < 10; n++) {
        assert_int_equal(backoff_delay_ms(&c, n, 0, UINT32_MAX), want[n]);
    }
    c.cap_ms = 6400; /* a cap that base * 2^n meets exactly */
    assert_int_equal(backoff_delay_ms(&c, 6, 0, UINT32_MAX), 6400);
    assert_int_equal(backoff_delay_ms(&c, 7, 0, UINT32_MAX), 6400);
}

static void full_jitter_survives_huge_attempts(void **state)
{
    (void)state;
    backoff_cfg c = cfg(BACKOFF_FULL);
    c.base_ms = 3;
    c.cap_ms = UINT32_MAX;
    /* 3 << 31 and 3 << 63 do not fit where a naive shift would put them. */
    const unsigned attempts[] = {30, 31, 32, 33, 62, 63, 64, 65, 100, 1000, UINT32_MAX};
    for (size_t i = 0; i < sizeof attempts / sizeof attempts[0]; i++) {
        uint64_t want = attempts[i] == 30 ? UINT64_C(3) << 30 : UINT32_MAX;
        assert_int_equal(backoff_delay_ms(&c, attempts[i], 0, UINT32_MAX), want);
        assert_int_equal(backoff_delay_ms(&c, attempts[i], 0, 0), 0);
    }
    c.base_ms = c.cap_ms = UINT32_MAX;
    assert_int_equal(backoff_delay_ms(&c, 0, 0, UINT32_MAX), UINT32_MAX);
    assert_int_equal(backoff_delay_ms(&c, 64, 0, UINT32_MAX), UINT32_MAX);
    c.base_ms = 1;
    assert_int_equal(backoff_delay_ms(&c, 31, 0, UINT32_MAX), UINT64_C(1) << 31);
    assert_int_equal(backoff_delay_ms(&c, 32, 0, UINT32_MAX), UINT32_MAX);
}

static void decorrelated_stays_within_base_and_three_times_prev(void **state)
{
    (void)state;
    backoff_cfg c = cfg(BACKOFF_DECORRELATED);
    uint32_t x = 88172645u;
    uint64_t prev = 0;
    for (unsigned n = 0; n < 1000; n++) {
        uint64_t p = prev < c.base_ms ? c.base_ms : prev;
        uint64_t hi = 3 * p < c.cap_ms ? 3 * p : c.cap_ms;
        uint64_t d = backoff_delay_ms(&c, n, prev, next_rnd(&x));
        if (d < c.base_ms || d > hi) {
            fail_msg("attempt %u after %llu: %llu outside [%u, %llu]", n, (unsigned long long)prev,
                     (unsigned long long)d, (unsigned)c.base_ms, (unsigned long long)hi);
        }
        assert_int_equal(backoff_delay_ms(&c, n, prev, 0), c.base_ms);
        assert_int_equal(backoff_delay_ms(&c, n, prev, UINT32_MAX), hi);
        prev = d;
    }
}

static void decorrelated_at_its_extremes_grows_by_three_to_the_cap(void **state)
{
    (void)state;
    backoff_cfg c = cfg(BACKOFF_DECORRELATED);
    const uint64_t want[] = {300, 900, 2700, 8100, 10000, 10000};
    uint64_t prev = 0;
    for (unsigned n = 0; n < 6; n++) {
        prev = backoff_delay_ms(&c, n, prev, UINT32_MAX);
        assert_int_equal(prev, want[n]);
    }
    /* The attempt number plays no part: only the previous delay does. */
    assert_int_equal(backoff_delay_ms(&c, 0, 900, UINT32_MAX), 2700);
    assert_int_equal(backoff_delay_ms(&c, 999, 900, UINT32_MAX), 2700);
    /* A previous delay above the cap (another cfg's) or absurd is held to the cap. */
    assert_int_equal(backoff_delay_ms(&c, 1, UINT64_MAX, UINT32_MAX), 10000);
    assert_int_equal(backoff_delay_ms(&c, 1, UINT64_MAX, 0), 100);
    /* Unheld, 3 * prev would wrap to 2 here, and the delay would fall to base. */
    assert_int_equal(backoff_delay_ms(&c, 1, UINT64_C(6148914691236517206), UINT32_MAX), 10000);
}

/* With cap at UINT32_MAX the range [base, 3 * prev] holds more than 2^32 values, and
 * rnd * n no longer fits in 64 bits: a wrapped product would come out small, not capped. */
static void decorrelated_maps_a_range_wider_than_rnd_exactly(void **state)
{
    (void)state;
    backoff_cfg c = cfg(BACKOFF_DECORRELATED);
    c.base_ms = 1;
    c.cap_ms = UINT32_MAX;
    assert_int_equal(backoff_delay_ms(&c, 1, UINT32_MAX, UINT32_MAX), UINT32_MAX);
    assert_int_equal(backoff_delay_ms(&c, 1, UINT32_MAX, 0xc0000000u), UINT32_MAX);
    /* n = 3 * 2^31: rnd = 2^31 lands on base + n / 2. */
    assert_int_equal(backoff_delay_ms(&c, 1, UINT64_C(1) << 31, UINT32_C(1) << 31),
                     1 + UINT64_C(3) * (UINT64_C(1) << 30));
    /* n = 3 * (2^32 - 1): rnd = 2^30 lands on base + floor(n / 4). */
    assert_int_equal(backoff_delay_ms(&c, 1, UINT32_MAX, UINT32_C(1) << 30),
                     1 + UINT64_C(3) * UINT32_MAX / 4);
}

static void full_jitter_mean_is_half_the_ceiling(void **state)
{
    (void)state;
    backoff_cfg c = cfg(BACKOFF_FULL);
    uint32_t x = 1u;
    const unsigned n = 3; /* ceiling 800 */
    const unsigned draws = 200000;
    uint64_t sum = 0;
    unsigned bins[8] = {0};
    for (unsigned i = 0; i < draws; i++) {
        uint64_t d = backoff_delay_ms(&c, n, 0, next_rnd(&x));
        sum += d;
        bins[d * 8 / 801]++;
    }
    double mean = (double)sum / draws;
    /* The mean of 0..800 is 400; its standard error here is about 0.5. */
    if (mean < 397 || mean > 403) {
        fail_msg("mean %.2f, expected about 400", mean);
    }
    /* And the draws spread evenly: each eighth holds 1/8 of them, within 3%. */
    for (int i = 0; i < 8; i++) {
        if (bins[i] < draws / 8 * 97 / 100 || bins[i] > draws / 8 * 103 / 100) {
            fail_msg("eighth %d holds %u of %u draws", i, bins[i], draws);
        }
    }
}

static void next_hands_out_max_attempts_delays(void **state)
{
    (void)state;
    backoff_cfg c = cfg(BACKOFF_FULL);
    c.max_attempts = 3;
    backoff s;
    memset(&s, 0xab, sizeof s);
    backoff_start(&s, &c, T0);
    assert_int_equal(s.attempt, 0);
    assert_int_equal(s.prev_delay_ms, 0);
    assert_int_equal(s.started_ms, T0);
    assert_false(s.exhausted);
    uint64_t d = 7;
    for (unsigned i = 0; i < 3; i++) {
        assert_true(backoff_next(&s, T0 + i, UINT32_MAX, &d));
        assert_int_equal(d, UINT64_C(100) << i);
        assert_int_equal(s.attempt, i + 1);
        assert_int_equal(s.prev_delay_ms, d);
    }
    assert_false(backoff_next(&s, T0 + 3, UINT32_MAX, &d));
    assert_int_equal(d, 0);
    assert_true(s.exhausted);
    assert_false(backoff_next(&s, T0 + 4, 0, &d));
    assert_int_equal(s.attempt, 3);
}

static void next_without_a_limit_goes_on_at_the_cap(void **state)
{
    (void)state;
    backoff_cfg c = cfg(BACKOFF_FULL);
    c.max_attempts = 0;
    backoff s;
    backoff_start(&s, &c, T0);
    uint64_t d = 0;
    for (int i = 0; i < 1000; i++) {
        assert_true(backoff_next(&s, T0, UINT32_MAX, &d));
    }
    assert_int_equal(d, 10000);
    assert_int_equal(s.attempt, 1000);
}

static void next_feeds_decorrelated_its_previous_delay(void **state)
{
    (void)state;
    backoff_cfg c = cfg(BACKOFF_DECORRELATED);
    c.max_attempts = 0;
    backoff s;
    backoff_start(&s, &c, T0);
    const uint64_t want[] = {300, 900, 2700, 8100, 10000, 10000};
    uint64_t d = 0;
    for (int i = 0; i < 6; i++) {
        assert_true(backoff_next(&s, T0, UINT32_MAX, &d));
        assert_int_equal(d, want[i]);
    }
}

static void next_stays_within_the_time_budget(void **state)
{
    (void)state;
    backoff_cfg c = cfg(BACKOFF_FULL);
    c.max_attempts = 0;
    c.budget_ms = 1000;
    backoff s;
    backoff_start(&s, &c, T0);
    uint64_t d = 0;
    assert_true(backoff_next(&s, T0 + 50, UINT32_MAX, &d)); /* retry at 150 */
    assert_int_equal(d, 100);
    assert_true(backoff_next(&s, T0 + 200, UINT32_MAX, &d)); /* at 400 */
    assert_int_equal(d, 200);
    assert_true(backoff_next(&s, T0 + 600, UINT32_MAX, &d)); /* at 1000: the last ms */
    assert_int_equal(d, 400);
    /* 800 from 1000 would overrun: refused, not trimmed, and for good. */
    assert_false(backoff_next(&s, T0 + 1000, UINT32_MAX, &d));
    assert_int_equal(d, 0);
    assert_false(backoff_next(&s, T0 + 1001, 0, &d));
    assert_int_equal(s.attempt, 3);
}

static void a_delay_that_would_overrun_the_budget_is_refused(void **state)
{
    (void)state;
    backoff_cfg c = cfg(BACKOFF_FULL);
    c.budget_ms = 1000;
    backoff s;
    backoff_start(&s, &c, T0);
    uint64_t d = 0;
    assert_false(backoff_next(&s, T0 + 901, UINT32_MAX, &d)); /* 901 + 100 */
    assert_true(s.exhausted);

    backoff_start(&s, &c, T0);
    assert_true(backoff_next(&s, T0 + 900, UINT32_MAX, &d)); /* 900 + 100: exactly */
    assert_int_equal(d, 100);

    backoff_start(&s, &c, T0); /* over budget already: even a zero delay is refused */
    assert_false(backoff_next(&s, T0 + 1001, 0, &d));
    backoff_start(&s, &c, T0);
    assert_true(backoff_next(&s, T0 + 1000, 0, &d)); /* a zero delay at the last ms */
    assert_int_equal(d, 0);
}

static void a_clock_before_the_start_counts_as_no_time_spent(void **state)
{
    (void)state;
    backoff_cfg c = cfg(BACKOFF_FULL);
    c.budget_ms = 100;
    backoff s;
    backoff_start(&s, &c, T0);
    uint64_t d = 0;
    assert_true(backoff_next(&s, T0 - 5000, UINT32_MAX, &d));
    assert_int_equal(d, 100);
}

static void start_begins_a_fresh_operation(void **state)
{
    (void)state;
    backoff_cfg c = cfg(BACKOFF_DECORRELATED);
    c.max_attempts = 2;
    backoff s;
    backoff_start(&s, &c, T0);
    uint64_t d = 0;
    assert_true(backoff_next(&s, T0, UINT32_MAX, &d));
    assert_true(backoff_next(&s, T0, UINT32_MAX, &d));
    assert_int_equal(d, 900);
    assert_false(backoff_next(&s, T0, UINT32_MAX, &d));
    backoff_start(&s, &c, T0 + 60000);
    assert_false(s.exhausted);
    assert_true(backoff_next(&s, T0 + 60000, UINT32_MAX, &d));
    assert_int_equal(d, 300); /* from base again, not from 900 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_the_documented_ones_and_valid),
        cmocka_unit_test(cfg_check_rejects_nonsense),
        cmocka_unit_test(full_jitter_spans_zero_to_the_ceiling_at_every_attempt),
        cmocka_unit_test(full_jitter_ceiling_doubles_then_stops_at_the_cap),
        cmocka_unit_test(full_jitter_survives_huge_attempts),
        cmocka_unit_test(decorrelated_stays_within_base_and_three_times_prev),
        cmocka_unit_test(decorrelated_at_its_extremes_grows_by_three_to_the_cap),
        cmocka_unit_test(decorrelated_maps_a_range_wider_than_rnd_exactly),
        cmocka_unit_test(full_jitter_mean_is_half_the_ceiling),
        cmocka_unit_test(next_hands_out_max_attempts_delays),
        cmocka_unit_test(next_without_a_limit_goes_on_at_the_cap),
        cmocka_unit_test(next_feeds_decorrelated_its_previous_delay),
        cmocka_unit_test(next_stays_within_the_time_budget),
        cmocka_unit_test(a_delay_that_would_overrun_the_budget_is_refused),
        cmocka_unit_test(a_clock_before_the_start_counts_as_no_time_spent),
        cmocka_unit_test(start_begins_a_fresh_operation),
    };
    return cmocka_run_group_tests_name("backoff", tests, NULL, NULL);
}
