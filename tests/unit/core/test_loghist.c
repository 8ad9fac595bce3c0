/* test_loghist.c -- the log histogram's layout and its stated guarantee: every quantile within
 * a relative LOGHIST_ALPHA of the exact lower quantile of the values, on several distributions
 * spanning six decades; merging equals observing the union; the stored form round-trips and a
 * malformed one changes nothing. */
#include "core/loghist.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A deterministic generator (xorshift64*), so a failure reproduces. */
static uint64_t rng = 88172645463325252u;
static double uniform(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 2685821657736338717u) >> 11) / 9007199254740992.0;
}

static void assert_within_bound(const double *sorted, size_t n, const loghist *h)
{
    static const double qs[] = {0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        double exact = sorted[(size_t)floor(qs[i] * (double)(n - 1))];
        double got = loghist_quantile(h, qs[i]);
        double rel = fabs(got - exact) / exact;
        if (rel > LOGHIST_ALPHA + 1e-12) {
            fail_msg("q=%g: got %.9g, exact %.9g: relative error %.5f > %.2f", qs[i], got, exact,
                     rel, LOGHIST_ALPHA);
        }
    }
}

static void check_distribution(double (*draw)(void))
{
    enum { N = 20000 };
    double *v = malloc(N * sizeof *v);
    loghist h = {0};
    for (size_t i = 0; i < N; i++) {
        v[i] = draw();
        loghist_add(&h, v[i], 1);
    }
    qsort(v, N, sizeof *v, cmp_double);
    assert_int_equal(h.count, N);
    assert_within_bound(v, N, &h);
    loghist_free(&h);
    free(v);
}

static double log_uniform(void) /* 0.01 ms .. 10 s */
{
    return pow(10, -2 + 6 * uniform());
}
static double exponential(void) /* mean 50 ms */
{
    return -50 * log(1 - uniform()) + LOGHIST_MIN_MS;
}
static double bimodal(void) /* cache hits and misses */
{
    return uniform() < 0.9 ? 1 + uniform() : 800 + 400 * uniform();
}

static void quantiles_within_relative_alpha(void **state)
{
    (void)state;
    check_distribution(log_uniform);
    check_distribution(exponential);
    check_distribution(bimodal);
}

static void every_bucket_value_is_within_alpha_of_its_range(void **state)
{
    (void)state;
    for (double x = LOGHIST_MIN_MS; x < 1e8; x *= 1.0037) {
        double v = loghist_value(loghist_index(x));
        if (fabs(v - x) / x > LOGHIST_ALPHA + 1e-12) {
            fail_msg("%.9g reported as %.9g", x, v);
        }
    }
    assert_int_equal(loghist_index(LOGHIST_MIN_MS), LOGHIST_MIN_INDEX);
    assert_int_equal(loghist_index(1), 0);
    assert_int_equal(loghist_index(1e300), LOGHIST_MAX_INDEX);
}

static void zero_and_tiny_values_count_as_zero(void **state)
{
    (void)state;
    loghist h = {0};
    loghist_add(&h, 0, 3);
    loghist_add(&h, 0.0001, 1);
    loghist_add(&h, NAN, 1);
    loghist_add(&h, 10, 1);
    assert_int_equal(h.zero, 5);
    assert_int_equal(h.count, 6);
    assert_true(loghist_quantile(&h, 0.5) == 0);
    assert_true(fabs(loghist_quantile(&h, 1) - 10) <= 10 * LOGHIST_ALPHA);
    loghist empty = {0};
    assert_true(loghist_quantile(&empty, 0.5) == 0);
    loghist_free(&h);
}

static void merge_equals_union(void **state)
{
    (void)state;
    loghist a = {0}, b = {0}, all = {0};
    for (int i = 0; i < 5000; i++) {
        double x = log_uniform();
        loghist_add(i % 3 ? &a : &b, x, 1);
        loghist_add(&all, x, 1);
    }
    loghist_merge(&a, &b);
    assert_int_equal(a.count, all.count);
    assert_int_equal(a.n, all.n);
    for (size_t i = 0; i < a.n; i++) {
        assert_int_equal(a.b[i].index, all.b[i].index);
        assert_int_equal(a.b[i].count, all.b[i].count);
    }
    loghist_free(&a);
    loghist_free(&b);
    loghist_free(&all);
}

static void stored_form_round_trips(void **state)
{
    (void)state;
    loghist h = {0}, back = {0};
    loghist_add(&h, 0, 2);
    loghist_add(&h, 0.5, 1);
    loghist_add(&h, 12.5, 7);
    json_buf out = {0};
    loghist_write(&h, &out);
    assert_string_equal(out.buf, "{\"z\":2,\"-34\":1,\"127\":7}");
    assert_true(loghist_read(&back, out.buf));
    assert_true(loghist_read(&back, "{\"127\": 1}")); /* PostgreSQL's jsonb spacing */
    assert_int_equal(back.count, 11);
    assert_int_equal(back.zero, 2);
    assert_int_equal(back.n, 2);
    assert_int_equal(back.b[1].count, 8);
    free(out.buf);
    loghist_free(&h);
    loghist_free(&back);
}

static void malformed_stored_form_changes_nothing(void **state)
{
    (void)state;
    static const char *const bad[] = {"[]",          "{\"x\":1}",        "{\"1\":-1}",
                                      "{\"1\":1.5}", "{\"99999\":1}",    "{\"1\":\"2\"}",
                                      "{",           "{\"5\":1,\"q\":2}"};
    loghist h = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(loghist_read(&h, bad[i]));
        assert_int_equal(h.count, 0);
    }
    loghist_free(&h);
}

/* A histogram of 'n' values drawn over six decades, with zeros when 'zeros'. */
static void random_hist(loghist *h, size_t n, bool zeros)
{
    for (size_t i = 0; i < n; i++) {
        loghist_add(h, zeros && uniform() < 0.1 ? 0 : log_uniform(), 1 + (uint64_t)(uniform() * 5));
    }
}

/* What loghist_merge_text must equal: both parsed, merged, written. */
static char *merged_the_long_way(const char *stored, const loghist *add)
{
    loghist sum = {0};
    assert_true(loghist_read(&sum, stored));
    loghist_merge(&sum, add);
    json_buf out = {0};
    loghist_write(&sum, &out);
    loghist_free(&sum);
    return out.buf;
}

static void merge_text_equals_parse_merge_write(void **state)
{
    (void)state;
    static const size_t sizes[][2] = {{0, 0},   {0, 3},     {3, 0},    {1, 1},   {400, 5},
                                      {5, 400}, {200, 200}, {2000, 1}, {1, 2000}};
    for (int round = 0; round < 40; round++) {
        const size_t *sz = sizes[round % (sizeof sizes / sizeof sizes[0])];
        loghist stored = {0}, add = {0};
        random_hist(&stored, sz[0], round % 2 == 0);
        random_hist(&add, sz[1], round % 3 == 0);
        json_buf text = {0}, fast = {0};
        loghist_write(&stored, &text);
        json_put_raw(&text, "", 1);       /* its NUL */
        json_put_raw(&fast, "prefix", 6); /* appended after what 'out' held */
        assert_true(loghist_merge_text(text.buf, &add, &fast));
        json_put_raw(&fast, "", 1);
        char *slow = merged_the_long_way(text.buf, &add);
        assert_string_equal(fast.buf + 6, slow);
        assert_memory_equal(fast.buf, "prefix", 6);
        free(slow);
        free(text.buf);
        free(fast.buf);
        loghist_free(&stored);
        loghist_free(&add);
    }
}

static void merge_text_takes_only_its_own_form(void **state)
{
    (void)state;
    /* valid stored forms in another spelling (PostgreSQL's jsonb, unsorted, padded), and
     * malformed ones: the caller then falls back to the general way */
    static const char *const other[] = {"{\"127\": 1}",
                                        "{\"5\":1,\"3\":1}",
                                        "{\"3\":1,\"3\":1}",
                                        "{\"07\":1}",
                                        "{\"-0\":1}",
                                        " {}",
                                        "{} ",
                                        "{\"3\":1,}",
                                        "{\"z\":1,}",
                                        "{\"3\":1,\"z\":1}",
                                        "[]",
                                        "{\"x\":1}",
                                        "{\"1\":-1}",
                                        "{\"1\":1.5}",
                                        "{\"99999\":1}",
                                        "{\"1\":\"2\"}",
                                        "{",
                                        "",
                                        "{\"1\":12345678901234567}"};
    loghist add = {0};
    loghist_add(&add, 12.5, 1);
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        json_buf out = {0};
        json_put_raw(&out, "x", 1);
        assert_false(loghist_merge_text(other[i], &add, &out));
        assert_int_equal(out.len, 1); /* nothing appended */
        free(out.buf);
    }
    loghist_free(&add);
}

static void count_le_counts_buckets_by_their_value(void **state)
{
    (void)state;
    loghist h = {0};
    loghist_add(&h, 0, 1);
    loghist_add(&h, 1, 1);
    loghist_add(&h, 9, 1);
    loghist_add(&h, 100, 1);
    assert_int_equal(loghist_count_le(&h, 0.5), 1);
    assert_int_equal(loghist_count_le(&h, 10), 3);
    assert_int_equal(loghist_count_le(&h, 1000), 4);
    loghist_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quantiles_within_relative_alpha),
        cmocka_unit_test(every_bucket_value_is_within_alpha_of_its_range),
        cmocka_unit_test(zero_and_tiny_values_count_as_zero),
        cmocka_unit_test(merge_equals_union),
        cmocka_unit_test(stored_form_round_trips),
        cmocka_unit_test(malformed_stored_form_changes_nothing),
        cmocka_unit_test(count_le_counts_buckets_by_their_value),
        cmocka_unit_test(merge_text_equals_parse_merge_write),
        cmocka_unit_test(merge_text_takes_only_its_own_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
