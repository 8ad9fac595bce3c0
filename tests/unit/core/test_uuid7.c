/* test_uuid7.c -- UUIDv7 text form, its timestamp and counter, and strict monotonicity. */
#include "core/uuid7.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#define NOW UINT64_C(1764340303123)

/* The 16 bytes of a UUID's text, after checking the layout 8-4-4-4-12 of lower-case hex. */
static void decode(const char *s, uint8_t b[16])
{
    assert_int_equal(strlen(s), 36);
    int k = 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            assert_int_equal(s[i], '-');
            continue;
        }
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0) {
            fail_msg("'%c' at %d of %s is not lower-case hex", c, i, s);
        }
        if (k % 2 == 0) {
            b[k / 2] = (uint8_t)(v << 4);
        } else {
            b[k / 2] |= (uint8_t)v;
        }
        k++;
    }
    assert_int_equal(k, 32);
}

static uint64_t ts_of(const char *s)
{
    uint8_t b[16];
    decode(s, b);
    uint64_t ms = 0;
    for (int i = 0; i < 6; i++) {
        ms = ms << 8 | b[i];
    }
    return ms;
}

static unsigned counter_of(const char *s)
{
    uint8_t b[16];
    decode(s, b);
    return (unsigned)(b[6] & 0x0f) << 8 | b[7];
}

/* A small xorshift for the 'rnd' argument: the generator must work with any bits. */
static uint64_t next_rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void text_is_36_lowercase_hex_with_hyphens(void **state)
{
    (void)state;
    uuid7_gen g = {0};
    char id[UUID7_LEN];
    memset(id, 'X', sizeof id);
    uuid7_next(&g, NOW, UINT64_C(0xfedcba9876543210), id);
    assert_int_equal(id[36], '\0');
    uint8_t b[16];
    decode(id, b);
}

static void version_and_variant_bits(void **state)
{
    (void)state;
    uuid7_gen g = {0};
    uint64_t x = 42;
    char id[UUID7_LEN];
    /* All-zero and all-one random bits too: neither may leak into version or variant. */
    uint64_t fixed[] = {0, UINT64_MAX};
    for (int i = 0; i < 10002; i++) {
        uint64_t rnd = i < 2 ? fixed[i] : next_rnd(&x);
        uuid7_next(&g, NOW + (uint64_t)i, rnd, id);
        uint8_t b[16];
        decode(id, b);
        assert_int_equal(b[6] >> 4, 7); /* version 7 */
        assert_int_equal(b[8] >> 6, 2); /* variant 10xx */
        assert_int_equal(id[14], '7');
        assert_non_null(strchr("89ab", id[19]));
    }
}

static void timestamp_bits_are_now(void **state)
{
    (void)state;
    uuid7_gen g = {0};
    char id[UUID7_LEN];
    uuid7_next(&g, NOW, 0, id);
    assert_int_equal(ts_of(id), NOW);
    assert_true(strncmp(id, "019acae0-8513-7", 15) == 0); /* NOW = 0x019acae08513 */
    uuid7_next(&g, UINT64_C(0xffffffffffff), 0, id);
    assert_true(strncmp(id, "ffffffff-ffff-7", 15) == 0);
    uuid7_gen g0 = {0};
    uuid7_next(&g0, 1, 0, id);
    assert_true(strncmp(id, "00000000-0001-7", 15) == 0);
}

static void random_bits_fill_rand_b(void **state)
{
    (void)state;
    uuid7_gen g = {0};
    char id[UUID7_LEN];
    uuid7_next(&g, NOW, UINT64_C(0x0123456789abcdef), id);
    /* rand_b: 62 bits of 'rnd' under the variant. */
    assert_string_equal(id + 19, "8123-456789abcdef");
    uuid7_next(&g, NOW + 1, UINT64_C(0x3fffffffffffffff), id);
    assert_string_equal(id + 19, "bfff-ffffffffffff");
}

static void new_millisecond_seeds_counter_in_lower_half(void **state)
{
    (void)state;
    uuid7_gen g = {0};
    char id[UUID7_LEN];
    uuid7_next(&g, NOW, UINT64_MAX, id);
    assert_int_equal(counter_of(id), 0x7ff);
    uuid7_next(&g, NOW + 1, 0, id);
    assert_int_equal(counter_of(id), 0);
    uint64_t x = 7;
    for (int i = 2; i < 1000; i++) {
        uuid7_next(&g, NOW + (uint64_t)i, next_rnd(&x), id);
        assert_true(counter_of(id) <= 0x7ff);
        assert_int_equal(ts_of(id), NOW + (uint64_t)i);
    }
}

static void same_millisecond_increments_the_counter(void **state)
{
    (void)state;
    uuid7_gen g = {0};
    char a[UUID7_LEN], b[UUID7_LEN];
    uuid7_next(&g, NOW, 0, a);
    uuid7_next(&g, NOW, UINT64_MAX, b);
    assert_int_equal(ts_of(b), NOW);
    assert_int_equal(counter_of(b), counter_of(a) + 1);
}

/* Asserts that 'n' ids made at the instants given by 'clock' rise strictly. */
static void assert_strictly_increasing(uint64_t (*clock)(int i), int n)
{
    uuid7_gen g = {0};
    uint64_t x = 0x2545f4914f6cdd1dULL;
    char prev[UUID7_LEN], id[UUID7_LEN];
    uuid7_next(&g, clock(0), next_rnd(&x), prev);
    for (int i = 1; i < n; i++) {
        uuid7_next(&g, clock(i), next_rnd(&x), id);
        if (strcmp(prev, id) >= 0) {
            fail_msg("id %d (%s) does not rise above %s", i, id, prev);
        }
        memcpy(prev, id, sizeof id);
    }
}

static uint64_t frozen_clock(int i)
{
    (void)i;
    return NOW;
}

static uint64_t backwards_clock(int i)
{
    return NOW - (uint64_t)i; /* a step back at every call */
}

static uint64_t jumpy_clock(int i)
{
    /* forward, then back by up to a second, then forward again */
    return NOW + (uint64_t)(i / 100) - (uint64_t)(i % 1000);
}

static void increasing_within_one_millisecond(void **state)
{
    (void)state;
    assert_strictly_increasing(frozen_clock, 100000);
}

static void increasing_when_the_clock_goes_back(void **state)
{
    (void)state;
    assert_strictly_increasing(backwards_clock, 100000);
    assert_strictly_increasing(jumpy_clock, 100000);
}

static void clock_going_back_keeps_the_later_timestamp(void **state)
{
    (void)state;
    uuid7_gen g = {0};
    char id[UUID7_LEN];
    uuid7_next(&g, NOW, 0, id);
    uuid7_next(&g, NOW - 5000, 0, id);
    assert_int_equal(ts_of(id), NOW);
    assert_int_equal(counter_of(id), 1);
}

static void counter_overflow_borrows_the_next_millisecond(void **state)
{
    (void)state;
    uuid7_gen g = {0};
    char id[UUID7_LEN];
    uuid7_next(&g, NOW, UINT64_MAX, id); /* counter seeded at 0x7ff */
    assert_int_equal(counter_of(id), 0x7ff);
    for (unsigned c = 0x800; c <= 0xfff; c++) {
        uuid7_next(&g, NOW, UINT64_MAX, id);
        assert_int_equal(ts_of(id), NOW);
        assert_int_equal(counter_of(id), c);
    }
    uuid7_next(&g, NOW, UINT64_MAX, id);
    assert_int_equal(ts_of(id), NOW + 1);
    assert_int_equal(counter_of(id), 0);
    uuid7_next(&g, NOW, UINT64_MAX, id);
    assert_int_equal(ts_of(id), NOW + 1);
    assert_int_equal(counter_of(id), 1);
    /* Once the real clock passes the borrowed millisecond, it takes over again. */
    uuid7_next(&g, NOW + 2, 0, id);
    assert_int_equal(ts_of(id), NOW + 2);
    assert_int_equal(counter_of(id), 0);
}

static void borrowed_millisecond_is_not_reseeded_when_the_clock_reaches_it(void **state)
{
    (void)state;
    uuid7_gen g = {0};
    char a[UUID7_LEN], b[UUID7_LEN];
    uuid7_next(&g, NOW, UINT64_MAX, a);
    for (int i = 0; i < 0x801; i++) {
        uuid7_next(&g, NOW, UINT64_MAX, a); /* ends in NOW + 1, counter 0 */
    }
    assert_int_equal(ts_of(a), NOW + 1);
    uuid7_next(&g, NOW + 1, UINT64_MAX, b); /* the clock now says what the id already said */
    assert_true(strcmp(a, b) < 0);
    assert_int_equal(counter_of(b), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_is_36_lowercase_hex_with_hyphens),
        cmocka_unit_test(version_and_variant_bits),
        cmocka_unit_test(timestamp_bits_are_now),
        cmocka_unit_test(random_bits_fill_rand_b),
        cmocka_unit_test(new_millisecond_seeds_counter_in_lower_half),
        cmocka_unit_test(same_millisecond_increments_the_counter),
        cmocka_unit_test(increasing_within_one_millisecond),
        cmocka_unit_test(increasing_when_the_clock_goes_back),
        cmocka_unit_test(clock_going_back_keeps_the_later_timestamp),
        cmocka_unit_test(counter_overflow_borrows_the_next_millisecond),
        cmocka_unit_test(borrowed_millisecond_is_not_reseeded_when_the_clock_reaches_it),
    };
    return cmocka_run_group_tests_name("uuid7", tests, NULL, NULL);
}
