/* test_store_sqlite_fold.c -- SQLite's hour and day rollups folded from closed minutes
 * (store_sqlite_sum.c, migrations/sqlite/0008), through the store's interface: a commit writes
 * minute rows only; metrics_rollup_exact answers every tier exactly before, during and after a
 * fold; a fold adds each minute once (again, or after a reopen); a late event reaches its hour
 * and day at once; expiry keeps a minute not folded yet. */
#include "store/store.h"

#include "tmp_store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MINUTE INT64_C(60000)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)
/* Two days ahead of any clock this runs under, at 05:00 UTC: nothing folds it by itself. */
#define T0 (INT64_C(4102444800000) + 5 * HOUR)

typedef struct fixture {
    tmp_store tmp;
    int n; /* events inserted so far, for their ids */
} fixture;

static int setup(void **state)
{
    if (tmp_store_setup(state, sizeof(fixture), "tt-fold-test") != 0) {
        return -1;
    }
    fixture *f = *state;
    store_keep_summaries(f->tmp.st, true);
    return 0;
}

static int teardown(void **state)
{
    return tmp_store_teardown(state);
}

/* Inserts 'n' events of one key in one commit, one in each of the minutes from 'ts' on, with
 * durations i + 1 ms and every third one an error. */
static void insert(fixture *f, int n, int64_t ts)
{
    tt_event *ev = calloc((size_t)n, sizeof *ev);
    tt_event **p = calloc((size_t)n, sizeof *p);
    assert_non_null(ev);
    assert_non_null(p);
    for (int i = 0; i < n; i++) {
        ev[i] = (tt_event){.ts_ms = ts + i * MINUTE,
                           .received_ms = ts,
                           .type = "tool_call",
                           .source = "fold",
                           .name = "search",
                           .has = EVENT_HAS_DURATION,
                           .duration_ms = i + 1,
                           .status = i % 3 == 0 ? "error" : "ok"};
        snprintf(ev[i].id, sizeof ev[i].id, "fold-%d", f->n++);
        p[i] = &ev[i];
    }
    tmp_store_insert(f->tmp.st, p, (size_t)n);
    free(p);
    free(ev);
}

static void fold(fixture *f, int64_t now_ms)
{
    char err[TT_ERRLEN] = "";
    assert_int_equal(store_fold_summaries(f->tmp.st, now_ms, err), 0);
}

static int64_t stored_rows(const fixture *f, const char *tier)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM metrics_rollup WHERE tier = '%s'", tier);
    return tmp_store_int(&f->tmp, sql);
}

/* The events the stored rows of a tier count (the bare table, not the view). */
static int64_t stored_count(const fixture *f, const char *tier)
{
    char sql[128];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum(count), 0) FROM metrics_rollup WHERE tier = '%s'", tier);
    return tmp_store_int(&f->tmp, sql);
}

/* What a reader gets for a tier: the counts (and errors, with 'errors') of the view's rows. */
static int64_t exact(const fixture *f, const char *tier, bool errors)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum(%s), 0) FROM metrics_rollup_exact WHERE tier = '%s'",
             errors ? "errors" : "count", tier);
    return tmp_store_int(&f->tmp, sql);
}

static void assert_exact(const fixture *f, int64_t count, int64_t errors)
{
    static const char *const tiers[] = {"minute", "hour", "day"};
    for (int t = 0; t < 3; t++) {
        assert_int_equal(exact(f, tiers[t], false), count);
        assert_int_equal(exact(f, tiers[t], true), errors);
    }
}

static int64_t through(const fixture *f)
{
    return tmp_store_int(&f->tmp, "SELECT through FROM rollup_folded");
}

static void reopen(fixture *f)
{
    tmp_store_reopen(&f->tmp);
    store_keep_summaries(f->tmp.st, true);
}

static void a_commit_writes_minute_rows_only(void **state)
{
    fixture *f = *state;
    insert(f, 90, T0); /* 90 minutes: two hours, one day */
    assert_int_equal(stored_rows(f, "minute"), 90);
    assert_int_equal(stored_rows(f, "hour"), 0);
    assert_int_equal(stored_rows(f, "day"), 0);
    assert_exact(f, 90, 30);
    assert_true(through(f) < T0);
}

static void folds_are_exact_before_during_and_after_and_count_each_minute_once(void **state)
{
    fixture *f = *state;
    insert(f, 90, T0);
    fold(f, T0 + 30 * MINUTE); /* the minutes up to T0 + 29 min, closed a minute ago */
    assert_int_equal(through(f), T0 + 29 * MINUTE);
    assert_int_equal(stored_rows(f, "hour"), 1);
    assert_int_equal(stored_count(f, "hour"), 29);
    assert_exact(f, 90, 30);
    fold(f, T0 + 30 * MINUTE); /* again: nothing new */
    assert_exact(f, 90, 30);
    fold(f, T0 + DAY); /* everything */
    assert_int_equal(through(f), T0 + DAY - MINUTE);
    assert_int_equal(stored_rows(f, "hour"), 2);
    assert_int_equal(stored_rows(f, "day"), 1);
    assert_int_equal(stored_count(f, "day"), 90);
    assert_int_equal(tmp_store_int(&f->tmp, "SELECT sum(duration_sum) FROM metrics_rollup "
                                            "WHERE tier = 'hour'"),
                     90 * 91 / 2);
    assert_int_equal(tmp_store_int(&f->tmp, "SELECT max(duration_max) FROM metrics_rollup WHERE "
                                            "tier = 'day'"),
                     90);
    assert_exact(f, 90, 30);
}

static void the_folded_histogram_is_the_sum_of_the_minutes(void **state)
{
    fixture *f = *state;
    insert(f, 60, T0);
    fold(f, T0 + DAY);
    /* each minute's one bucket once, in the hour row: as many buckets as distinct durations'
     * buckets, and the counts add up to the events */
    assert_int_equal(tmp_store_int(&f->tmp,
                                   "SELECT sum(value) FROM metrics_rollup, json_each(latency) "
                                   "WHERE tier = 'hour'"),
                     60);
    assert_int_equal(tmp_store_int(&f->tmp,
                                   "SELECT count(*) FROM (SELECT key, sum(value) AS c FROM "
                                   "metrics_rollup, json_each(latency) WHERE tier = 'minute' "
                                   "GROUP BY key) m JOIN (SELECT key, value FROM metrics_rollup, "
                                   "json_each(latency) WHERE tier = 'hour') h "
                                   "ON h.key = m.key AND h.value = m.c"),
                     tmp_store_int(&f->tmp, "SELECT count(*) FROM metrics_rollup, "
                                            "json_each(latency) WHERE tier = 'hour'"));
}

static void a_late_event_reaches_its_hour_and_day_at_once(void **state)
{
    fixture *f = *state;
    insert(f, 10, T0);
    fold(f, T0 + DAY);
    insert(f, 1, T0 + 3 * MINUTE); /* into a minute folded already */
    assert_int_equal(stored_count(f, "hour"), 11);
    assert_exact(f, 11, 5);
    fold(f, T0 + DAY + HOUR); /* and it is not folded a second time */
    assert_exact(f, 11, 5);
}

static void folding_goes_on_where_it_stood_after_a_reopen(void **state)
{
    fixture *f = *state;
    insert(f, 90, T0);
    fold(f, T0 + 45 * MINUTE);
    int64_t stood = through(f);
    reopen(f);
    assert_int_equal(through(f), stood);
    fold(f, T0 + DAY);
    assert_int_equal(stored_count(f, "hour"), 90);
    assert_exact(f, 90, 30);
}

static void expiry_keeps_a_minute_not_folded_yet(void **state)
{
    fixture *f = *state;
    insert(f, 90, T0);
    fold(f, T0 + 30 * MINUTE);
    char err[TT_ERRLEN] = "";
    uint64_t deleted = 0;
    store_expiry e = {.tier_before_ms = {T0 + DAY, 0, 0}, .max_rows = 1000};
    assert_int_equal(store_expire_summaries(f->tmp.st, &e, &deleted, err), 0);
    assert_int_equal(deleted, 29); /* the folded minutes only */
    assert_int_equal(stored_rows(f, "minute"), 61);
    assert_int_equal(exact(f, "hour", false), 90);
}

static void a_schema_7_file_folds_from_after_its_latest_minute(void **state)
{
    fixture *f = *state;
    store_close(f->tmp.st);
    f->tmp.st = NULL;
    /* the file as schema 7 left it: every tier written with the events */
    char sql[512];
    snprintf(sql, sizeof sql,
             "DROP VIEW metrics_rollup_exact; DROP TABLE rollup_folded; "
             "DELETE FROM schema_migrations WHERE version = 8; "
             "INSERT INTO metrics_rollup (tier, bucket, type, count) VALUES "
             "('minute', %lld, 'tool_call', 2), ('hour', %lld, 'tool_call', 2), "
             "('day', %lld, 'tool_call', 2)",
             (long long)T0, (long long)T0, (long long)(T0 - 5 * HOUR));
    tmp_store_exec(&f->tmp, sql);
    reopen(f);
    assert_int_equal(through(f), T0 + MINUTE);
    assert_exact(f, 2, 0);
    insert(f, 1, T0 + 2 * MINUTE); /* after the latest minute: its minute row only */
    assert_int_equal(stored_rows(f, "hour"), 1);
    assert_exact(f, 3, 1);
    fold(f, T0 + DAY);
    assert_int_equal(stored_count(f, "hour"), 3);
    assert_exact(f, 3, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_commit_writes_minute_rows_only, setup, teardown),
        cmocka_unit_test_setup_teardown(
            folds_are_exact_before_during_and_after_and_count_each_minute_once, setup, teardown),
        cmocka_unit_test_setup_teardown(the_folded_histogram_is_the_sum_of_the_minutes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_late_event_reaches_its_hour_and_day_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(folding_goes_on_where_it_stood_after_a_reopen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(expiry_keeps_a_minute_not_folded_yet, setup, teardown),
        cmocka_unit_test_setup_teardown(a_schema_7_file_folds_from_after_its_latest_minute, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
