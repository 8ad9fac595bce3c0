/* test_series.c -- /metrics event series: counts by (type, source), label cardinality bounded
 * (pairs beyond the cap and names without a place count as "other"), the busiest names placed
 * first, a placed name's counts never going down, and label values escaped. */
#include "core/series.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tt_event ev(const char *type, const char *source, const char *name, double dur)
{
    tt_event e = {.seq = 1, .type = type, .source = source, .name = name};
    if (dur >= 0) {
        e.duration_ms = dur;
        e.has = EVENT_HAS_DURATION;
    }
    return e;
}

static char *text(const series_registry *r)
{
    json_buf out = {0};
    series_write(r, &out);
    return out.buf;
}

static size_t count_lines(const char *t, const char *prefix)
{
    size_t n = 0;
    for (const char *p = t; (p = strstr(p, prefix)) != NULL; p++) {
        n += p == t || p[-1] == '\n';
    }
    return n;
}

static void pairs_are_bounded(void **state)
{
    (void)state;
    series_registry r;
    series_init(&r);
    char src[32];
    for (int i = 0; i < 200; i++) {
        snprintf(src, sizeof src, "s%d", i);
        tt_event e = ev("request", src, NULL, -1);
        series_observe(&r, &e);
    }
    char *t = text(&r);
    assert_int_equal(count_lines(t, "telltale_events_total{"), SERIES_MAX_PAIRS + 1);
    assert_non_null(strstr(t, "telltale_events_total{type=\"other\",source=\"other\"} 136\n"));
    free(t);
    series_free(&r);
}

static void busiest_names_get_places_and_keep_them(void **state)
{
    (void)state;
    series_registry r;
    series_init(&r);
    char name[32];
    for (int i = 0; i < 50; i++) { /* name i has i + 1 events */
        snprintf(name, sizeof name, "tool%d", i);
        for (int k = 0; k <= i; k++) {
            tt_event e = ev("tool_call", "mcp", name, 2);
            series_observe(&r, &e);
        }
    }
    series_admit(&r);
    tt_event late = ev("tool_call", "mcp", "tool49", 2000);
    series_observe(&r, &late);
    char *t = text(&r);
    /* 20 placed names + other, each with 15 buckets, +Inf, sum, count */
    assert_int_equal(count_lines(t, "telltale_event_duration_seconds_count{"),
                     SERIES_TOP_NAMES + 1);
    assert_non_null(strstr(t, "_count{name=\"tool49\"} 1\n")); /* counted since its place */
    assert_non_null(strstr(t, "_count{name=\"tool30\"} 0\n"));
    assert_null(strstr(t, "name=\"tool29\""));
    assert_non_null(strstr(t, "_bucket{name=\"tool49\",le=\"1\"} 0\n"));
    assert_non_null(strstr(t, "_bucket{name=\"tool49\",le=\"2.5\"} 1\n"));
    /* all 1275 early events are in other, which never goes down */
    assert_non_null(strstr(t, "_count{name=\"other\"} 1275\n"));
    free(t);
    series_free(&r);
}

static void label_values_are_escaped_and_other_is_reserved(void **state)
{
    (void)state;
    series_registry r;
    series_init(&r);
    tt_event a = ev("x", "a\"b\\c\nd", "other", 1), b = ev("other", "other", NULL, -1);
    series_observe(&r, &a);
    series_observe(&r, &b);
    series_admit(&r);
    char *t = text(&r);
    assert_non_null(strstr(t, "source=\"a\\\"b\\\\c\\nd\"} 1\n"));
    assert_non_null(strstr(t, "telltale_events_total{type=\"other\",source=\"other\"} 1\n"));
    assert_int_equal(count_lines(t, "telltale_event_duration_seconds_count{"), 1);
    free(t);
    series_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pairs_are_bounded),
        cmocka_unit_test(busiest_names_get_places_and_keep_them),
        cmocka_unit_test(label_values_are_escaped_and_other_is_reserved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
