/* test_rollup.c -- a batch's increments: one row per tier x bucket x (type, source, name) with
 * count, errors, bytes and durations; only stored events (seq > 0) count; sessions fold first
 * and last seen, tool calls, errors, start and end; and the session state machine. */
#include "core/rollup.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#define T0 INT64_C(1764547200000) /* 2025-12-01T00:00:00Z, a day boundary */

static tt_event ev(int64_t seq, int64_t ts, const char *type, const char *name, double dur)
{
    tt_event e = {.seq = seq, .ts_ms = ts, .type = type, .name = name, .source = "api"};
    if (dur >= 0) {
        e.duration_ms = dur;
        e.has |= EVENT_HAS_DURATION;
    }
    return e;
}

static const rollup_row *row(const rollup_batch *b, rollup_tier t, int64_t bucket, const char *type,
                             const char *name)
{
    for (size_t i = 0; i < b->nrows; i++) {
        const rollup_row *r = &b->rows[i];
        if (r->tier == t && r->bucket_ms == bucket && strcmp(r->type, type) == 0 &&
            strcmp(r->name, name) == 0) {
            return r;
        }
    }
    fail_msg("no row %s %lld %s %s", rollup_tier_names[t], (long long)bucket, type, name);
    return NULL;
}

static void rows_by_tier_bucket_and_key(void **state)
{
    (void)state;
    rollup_batch b = {0};
    tt_event e[] = {ev(1, T0 + 1000, "request", "/a", 10), ev(2, T0 + 59999, "request", "/a", 30),
                    ev(3, T0 + 60000, "request", "/a", 20),
                    ev(4, T0 + 3600000, "request", "/b", -1)};
    e[1].status = "error";
    e[2].bytes = 100;
    e[2].has |= EVENT_HAS_BYTES;
    for (size_t i = 0; i < 4; i++) {
        rollup_batch_add(&b, &e[i]);
    }
    assert_false(b.oom);
    assert_int_equal(b.nrows, 3 + 2 + 2); /* minutes 0, 1, 60; hours 0, 1; day 0 x 2 names */
    const rollup_row *m0 = row(&b, ROLLUP_MINUTE, T0, "request", "/a");
    assert_int_equal(m0->count, 2);
    assert_int_equal(m0->errors, 1);
    assert_int_equal(m0->duration_count, 2);
    assert_true(m0->duration_sum == 40 && m0->duration_min == 10 && m0->duration_max == 30);
    assert_int_equal(m0->latency.count, 2);
    assert_int_equal(row(&b, ROLLUP_MINUTE, T0 + 60000, "request", "/a")->bytes, 100);
    assert_int_equal(row(&b, ROLLUP_HOUR, T0, "request", "/a")->count, 3);
    const rollup_row *d = row(&b, ROLLUP_DAY, T0, "request", "/b");
    assert_int_equal(d->count, 1);
    assert_int_equal(d->duration_count, 0);
    rollup_batch_free(&b);
}

static void only_stored_events_count(void **state)
{
    (void)state;
    rollup_batch b = {0};
    tt_event e[] = {ev(7, T0, "request", "/a", 1), ev(0, T0, "request", "/a", 1),
                    ev(-1, T0, "request", "/a", 1)}; /* new, duplicate, dead-lettered */
    tt_event *p[] = {&e[0], &e[1], &e[2]};
    rollup_batch_add_stored(&b, p, 3);
    assert_int_equal(row(&b, ROLLUP_MINUTE, T0, "request", "/a")->count, 1);
    rollup_batch_reset(&b); /* and a reset batch starts empty, reusing its memory */
    assert_int_equal(b.nrows, 0);
    rollup_batch_add_stored(&b, p, 1);
    assert_int_equal(b.nrows, 3);
    assert_int_equal(row(&b, ROLLUP_DAY, T0, "request", "/a")->latency.count, 1);
    rollup_batch_free(&b);
}

/* Where hour and day rows are folded later (PostgreSQL), an event gets its minute row only,
 * unless it is late (before folded_ms): then every tier. A reset turns folding off. */
static void folds_minute_rows_only_but_for_late_events(void **state)
{
    (void)state;
    rollup_batch b = {0};
    b.folds = true;
    b.folded_ms = T0 + 3600000;
    tt_event late = ev(1, T0 + 1000, "request", "/late", 1),
             now = ev(2, T0 + 3600000, "request", "/now", 1);
    rollup_batch_add(&b, &late);
    rollup_batch_add(&b, &now);
    assert_int_equal(b.nrows, 3 + 1);
    assert_int_equal(row(&b, ROLLUP_DAY, T0, "request", "/late")->count, 1);
    assert_int_equal(row(&b, ROLLUP_MINUTE, T0 + 3600000, "request", "/now")->count, 1);
    rollup_batch_reset(&b);
    assert_false(b.folds);
    rollup_batch_add(&b, &now);
    assert_int_equal(b.nrows, 3);
    rollup_batch_free(&b);
}

static void many_keys_grow_the_table(void **state)
{
    (void)state;
    rollup_batch b = {0};
    char names[3000][16];
    for (int i = 0; i < 3000; i++) {
        snprintf(names[i], sizeof names[i], "n%d", i);
        tt_event e = ev(i + 1, T0, "request", names[i], 1);
        rollup_batch_add(&b, &e);
        rollup_batch_add(&b, &e);
    }
    assert_int_equal(b.nrows, 9000);
    assert_int_equal(row(&b, ROLLUP_HOUR, T0, "request", "n2999")->count, 2);
    rollup_batch_free(&b);
}

static void errors_by_definition(void **state)
{
    (void)state;
    tt_event e = ev(1, T0, "request", NULL, -1);
    assert_false(event_is_error(&e));
    e.status = "ok";
    assert_false(event_is_error(&e));
    e.status = "timeout";
    assert_true(event_is_error(&e));
    e.status = NULL;
    e.error = "boom";
    assert_true(event_is_error(&e));
    tt_event t = ev(1, T0, "error", NULL, -1);
    assert_true(event_is_error(&t));
}

static void sessions_fold(void **state)
{
    (void)state;
    rollup_batch b = {0};
    tt_event e[] = {ev(1, T0 + 50, "tool_call", "read", 5),
                    ev(2, T0 + 10, "session_start", NULL, -1),
                    ev(3, T0 + 90, "tool_call", "write", 50),
                    ev(4, T0 + 99, "session_end", NULL, -1), ev(5, T0, "request", NULL, -1)};
    for (size_t i = 0; i < 4; i++) {
        e[i].session_id = "s1";
    }
    e[2].error = "denied";
    for (size_t i = 0; i < 5; i++) {
        rollup_batch_add(&b, &e[i]);
    }
    assert_int_equal(b.nsessions, 1); /* the last event has no session */
    const session_delta *d = &b.sessions[0];
    assert_string_equal(d->session_id, "s1");
    assert_string_equal(d->source, "api");
    assert_int_equal(d->first_ms, T0 + 10);
    assert_int_equal(d->last_ms, T0 + 99);
    assert_int_equal(d->events, 4);
    assert_int_equal(d->errors, 1);
    assert_int_equal(d->tool_calls, 2);
    assert_int_equal(d->started_ms, T0 + 10);
    assert_int_equal(d->ended_ms, T0 + 99);
    assert_int_equal(d->latency.count, 2);
    rollup_batch_free(&b);
}

/* "session_id": "" is a valid event that names no session: counted in the rollups, no session
 * row (the tables refuse an empty id, which would dead-letter the event on PostgreSQL). */
static void an_empty_session_id_names_no_session(void **state)
{
    (void)state;
    rollup_batch b = {0};
    tt_event e = ev(1, T0, "tool_call", "read", 5);
    e.session_id = "";
    rollup_batch_add(&b, &e);
    assert_int_equal(b.nsessions, 0);
    assert_true(b.nrows > 0);
    rollup_batch_free(&b);
}

static void session_state_machine(void **state)
{
    (void)state;
    const int64_t idle = 300000, now = T0 + 1000000, N = SESSION_NO_TIME;
    /* no start, no end: active while recent, idle after the timeout */
    assert_int_equal(session_state_of(N, N, now - idle, now, idle), SESSION_ACTIVE);
    assert_int_equal(session_state_of(N, N, now - idle - 1, now, idle), SESSION_IDLE);
    /* started: the same */
    assert_int_equal(session_state_of(T0, N, now, now, idle), SESSION_ACTIVE);
    /* an end at or after the start ends it, however recent the last event */
    assert_int_equal(session_state_of(T0, T0 + 5, now, now, idle), SESSION_ENDED);
    assert_int_equal(session_state_of(T0, T0, now, now, idle), SESSION_ENDED);
    assert_int_equal(session_state_of(N, T0, now, now, idle), SESSION_ENDED);
    /* a start after the end opens it again */
    assert_int_equal(session_state_of(T0 + 10, T0 + 5, now, now, idle), SESSION_ACTIVE);
    assert_int_equal(session_state_of(T0 + 10, T0 + 5, T0 + 10, now, idle), SESSION_IDLE);
    session_state s;
    assert_true(session_state_parse("idle", &s) && s == SESSION_IDLE);
    assert_false(session_state_parse("closed", &s));
    assert_string_equal(session_state_name(SESSION_ENDED), "ended");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_by_tier_bucket_and_key),
        cmocka_unit_test(only_stored_events_count),
        cmocka_unit_test(folds_minute_rows_only_but_for_late_events),
        cmocka_unit_test(many_keys_grow_the_table),
        cmocka_unit_test(errors_by_definition),
        cmocka_unit_test(sessions_fold),
        cmocka_unit_test(an_empty_session_id_names_no_session),
        cmocka_unit_test(session_state_machine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
