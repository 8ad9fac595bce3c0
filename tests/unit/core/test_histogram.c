/* test_histogram.c -- bucket counting with 'le' bounds, the +Inf bucket, merging, and
 * quantiles exact to the bucket. */
#include "core/histogram.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

static const double bounds[] = {10, 20, 50, 100};
#define NB (sizeof bounds / sizeof bounds[0])

/* Quantiles here are exact binary fractions, so they compare with ==. */
static void assert_quantile(const histogram *h, double q, double want)
{
    double got = histogram_quantile(h, q);
    if (got != want) {
        fail_msg("q=%g: got %.17g, expected %.17g", q, got, want);
    }
}

static void observe_all(histogram *h, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        histogram_observe(h, v[i]);
    }
}

static void init_starts_empty(void **state)
{
    (void)state;
    histogram h;
    memset(&h, 0xab, sizeof h);
    histogram_init(&h, bounds, NB);
    assert_ptr_equal(h.bounds, bounds);
    assert_int_equal(h.nbounds, NB);
    assert_int_equal(h.count, 0);
    assert_true(h.sum == 0);
    for (size_t i = 0; i <= HISTOGRAM_MAX_BOUNDS; i++) {
        assert_int_equal(h.counts[i], 0);
    }
}

static void init_keeps_at_most_the_maximum_bounds(void **state)
{
    (void)state;
    double many[HISTOGRAM_MAX_BOUNDS + 8];
    for (size_t i = 0; i < sizeof many / sizeof many[0]; i++) {
        many[i] = (double)(i + 1);
    }
    histogram h;
    histogram_init(&h, many, sizeof many / sizeof many[0]);
    assert_int_equal(h.nbounds, HISTOGRAM_MAX_BOUNDS);
    histogram_observe(&h, 1000);
    assert_int_equal(h.counts[HISTOGRAM_MAX_BOUNDS], 1); /* beyond the kept bounds: +Inf */
}

static void a_value_on_a_bound_belongs_to_that_bucket(void **state)
{
    (void)state;
    histogram h;
    histogram_init(&h, bounds, NB);
    observe_all(&h, (const double[]){10, 20, 50, 100}, 4);
    for (size_t i = 0; i < NB; i++) {
        assert_int_equal(h.counts[i], 1);
    }
    assert_int_equal(h.counts[NB], 0);
}

static void values_land_in_the_first_bucket_that_holds_them(void **state)
{
    (void)state;
    histogram h;
    histogram_init(&h, bounds, NB);
    observe_all(&h, (const double[]){0, 5, -3, 10.000001, 19.99, 20.5, 99.9}, 7);
    assert_int_equal(h.counts[0], 3); /* 0, 5, -3 */
    assert_int_equal(h.counts[1], 2); /* 10.000001, 19.99 */
    assert_int_equal(h.counts[2], 1); /* 20.5 */
    assert_int_equal(h.counts[3], 1); /* 99.9 */
    assert_int_equal(h.counts[4], 0);
}

static void values_above_every_bound_go_to_plus_inf(void **state)
{
    (void)state;
    histogram h;
    histogram_init(&h, bounds, NB);
    observe_all(&h, (const double[]){100.5, 1e9, 1e308}, 3);
    assert_int_equal(h.counts[NB], 3);
    for (size_t i = 0; i < NB; i++) {
        assert_int_equal(h.counts[i], 0);
    }
}

static void count_and_sum_follow_observations(void **state)
{
    (void)state;
    histogram h;
    histogram_init(&h, bounds, NB);
    observe_all(&h, (const double[]){1.5, 2.25, 300}, 3);
    assert_int_equal(h.count, 3);
    assert_true(h.sum == 303.75);
}

static void quantile_of_empty_is_zero(void **state)
{
    (void)state;
    histogram h;
    histogram_init(&h, bounds, NB);
    assert_quantile(&h, 0.5, 0);
    assert_quantile(&h, 0.99, 0);
}

static void quantile_interpolates_inside_its_bucket(void **state)
{
    (void)state;
    histogram h;
    histogram_init(&h, bounds, NB);
    observe_all(&h, (const double[]){5, 15, 15, 40, 200}, 5); /* counts 1, 2, 1, 0, +Inf 1 */
    assert_quantile(&h, 0, 0);      /* rank 0: the bottom of the first bucket */
    assert_quantile(&h, 0.2, 10);   /* rank 1: the top of bucket (0,10] */
    assert_quantile(&h, 0.3, 12.5); /* rank 1.5: a quarter into (10,20] */
    assert_quantile(&h, 0.5, 17.5); /* rank 2.5 */
    assert_quantile(&h, 0.6, 20);   /* rank 3 */
    assert_quantile(&h, 0.7, 35);   /* rank 3.5: half into (20,50] */
    assert_quantile(&h, 0.8, 50);   /* rank 4 */
}

static void quantile_in_plus_inf_is_the_largest_bound(void **state)
{
    (void)state;
    histogram h;
    histogram_init(&h, bounds, NB);
    observe_all(&h, (const double[]){5, 15, 15, 40, 200}, 5);
    assert_quantile(&h, 0.9, 100);
    assert_quantile(&h, 1, 100);
    histogram only_inf;
    histogram_init(&only_inf, bounds, NB);
    observe_all(&only_inf, (const double[]){500, 600}, 2);
    assert_quantile(&only_inf, 0.01, 100);
    assert_quantile(&only_inf, 0.5, 100);
}

static void quantile_skips_empty_buckets(void **state)
{
    (void)state;
    histogram h;
    histogram_init(&h, bounds, NB);
    observe_all(&h, (const double[]){60, 70, 80, 90}, 4); /* all in (50,100] */
    assert_quantile(&h, 0, 50);
    assert_quantile(&h, 0.25, 62.5);
    assert_quantile(&h, 0.5, 75);
    assert_quantile(&h, 1, 100);
}

static void quantile_is_exact_to_the_bucket(void **state)
{
    (void)state;
    /* 1000 latencies 1..1000 ms: each percentile must land in the bucket of the true value. */
    static const double ms[] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000};
    histogram h;
    histogram_init(&h, ms, sizeof ms / sizeof ms[0]);
    for (int v = 1; v <= 1000; v++) {
        histogram_observe(&h, v);
    }
    static const double qs[] = {0.5, 0.9, 0.95, 0.99};
    static const double truth[] = {500, 900, 950, 990};
    for (size_t i = 0; i < 4; i++) {
        double got = histogram_quantile(&h, qs[i]);
        size_t b = 0;
        while (truth[i] > ms[b]) {
            b++;
        }
        double lo = b == 0 ? 0 : ms[b - 1];
        if (!(got >= lo && got <= ms[b])) {
            fail_msg("p%g = %g, outside (%g, %g]", qs[i] * 100, got, lo, ms[b]);
        }
    }
    assert_quantile(&h, 0.5, 500); /* rank 500 closes bucket (250,500] exactly */
    assert_quantile(&h, 0.75, 750);
}

static void merge_adds_counts_count_and_sum(void **state)
{
    (void)state;
    histogram a, b;
    histogram_init(&a, bounds, NB);
    histogram_init(&b, bounds, NB);
    observe_all(&a, (const double[]){5, 15, 200}, 3);
    observe_all(&b, (const double[]){15, 40, 500, 1}, 4);
    histogram_merge(&a, &b);
    assert_int_equal(a.counts[0], 2);
    assert_int_equal(a.counts[1], 2);
    assert_int_equal(a.counts[2], 1);
    assert_int_equal(a.counts[3], 0);
    assert_int_equal(a.counts[4], 2); /* +Inf merges too */
    assert_int_equal(a.count, 7);
    assert_true(a.sum == 776);
    assert_int_equal(b.count, 4); /* the source is left alone */
}

static void merged_quantiles_equal_a_single_histogram(void **state)
{
    (void)state;
    histogram parts[3], whole;
    histogram_init(&whole, bounds, NB);
    for (int p = 0; p < 3; p++) {
        histogram_init(&parts[p], bounds, NB);
    }
    for (int v = 0; v < 300; v++) {
        double x = (double)((v * 37) % 150);
        histogram_observe(&parts[v % 3], x);
        histogram_observe(&whole, x);
    }
    histogram merged;
    histogram_init(&merged, bounds, NB);
    for (int p = 0; p < 3; p++) {
        histogram_merge(&merged, &parts[p]);
    }
    assert_memory_equal(merged.counts, whole.counts, sizeof whole.counts);
    assert_int_equal(merged.count, whole.count);
    for (double q = 0; q <= 1.0; q += 0.05) {
        assert_true(histogram_quantile(&merged, q) == histogram_quantile(&whole, q));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_starts_empty),
        cmocka_unit_test(init_keeps_at_most_the_maximum_bounds),
        cmocka_unit_test(a_value_on_a_bound_belongs_to_that_bucket),
        cmocka_unit_test(values_land_in_the_first_bucket_that_holds_them),
        cmocka_unit_test(values_above_every_bound_go_to_plus_inf),
        cmocka_unit_test(count_and_sum_follow_observations),
        cmocka_unit_test(quantile_of_empty_is_zero),
        cmocka_unit_test(quantile_interpolates_inside_its_bucket),
        cmocka_unit_test(quantile_in_plus_inf_is_the_largest_bound),
        cmocka_unit_test(quantile_skips_empty_buckets),
        cmocka_unit_test(quantile_is_exact_to_the_bucket),
        cmocka_unit_test(merge_adds_counts_count_and_sum),
        cmocka_unit_test(merged_quantiles_equal_a_single_histogram),
    };
    return cmocka_run_group_tests_name("histogram", tests, NULL, NULL);
}
