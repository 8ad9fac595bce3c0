/* test_breaker.c -- every transition of the circuit breaker at its exact millisecond: both
 * opening rules, half-open probes and their timeouts, stale tickets, the operator's controls,
 * and the counters and reasons a caller logs. */
#include "core/breaker.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#define T0 UINT64_C(1764340303000)

static breaker_cfg defaults(void)
{
    breaker_cfg c;
    breaker_cfg_default(&c);
    return c;
}

/* The rate rule alone: a consecutive threshold no test reaches. */
static breaker_cfg rate_only(void)
{
    breaker_cfg c = defaults();
    c.failure_threshold = 1000;
    return c;
}

static uint64_t allowed(breaker *b, uint64_t now)
{
    uint64_t ticket = 12345;
    if (!breaker_allow(b, now, &ticket)) {
        fail_msg("call at +%llu refused in state %s", (unsigned long long)(now - T0),
                 breaker_state_name(b->state));
    }
    assert_int_not_equal(ticket, 0);
    return ticket;
}

static void refused(breaker *b, uint64_t now)
{
    uint64_t ticket = 12345;
    if (breaker_allow(b, now, &ticket)) {
        fail_msg("call at +%llu allowed in state %s", (unsigned long long)(now - T0),
                 breaker_state_name(b->state));
    }
    assert_int_equal(ticket, 0);
}

/* One call through the breaker with outcome 'ok'. */
static void call(breaker *b, uint64_t now, bool ok)
{
    breaker_record(b, now, allowed(b, now), ok);
}

static void calls(breaker *b, uint64_t now, bool ok, int n)
{
    for (int i = 0; i < n; i++) {
        call(b, now, ok);
    }
}

static void assert_state(breaker *b, uint64_t now, breaker_state want)
{
    breaker_state got = breaker_state_at(b, now);
    if (got != want) {
        fail_msg("at +%llu: %s, expected %s", (unsigned long long)(now - T0),
                 breaker_state_name(got), breaker_state_name(want));
    }
}

static void assert_last(const breaker *b, breaker_state from, breaker_state to, uint64_t at,
                        const char *reason)
{
    const breaker_transition *t = &b->last_transition;
    assert_string_equal(breaker_state_name(t->from), breaker_state_name(from));
    assert_string_equal(breaker_state_name(t->to), breaker_state_name(to));
    assert_int_equal(t->at_ms, at);
    assert_string_equal(t->reason, reason);
}

/* Opens a breaker with the default cfg by consecutive failures at 'now'. */
static void open_at(breaker *b, uint64_t now)
{
    calls(b, now, false, (int)b->cfg.failure_threshold);
    assert_int_equal(b->state, BREAKER_OPEN);
}

/* Opens it at 'now' and lets it turn half-open at now + open_ms. */
static uint64_t half_open_at(breaker *b, uint64_t now)
{
    open_at(b, now);
    uint64_t then = now + b->cfg.open_ms;
    assert_state(b, then, BREAKER_HALF_OPEN);
    return then;
}

/* ---- configuration ---- */

static void defaults_are_the_documented_ones_and_valid(void **state)
{
    (void)state;
    breaker_cfg c = defaults();
    assert_int_equal(c.failure_threshold, 5);
    assert_int_equal(c.rate_window_ms, 10000);
    assert_int_equal(c.rate_min_calls, 20);
    assert_int_equal(c.rate_threshold_pct, 50);
    assert_int_equal(c.open_ms, 5000);
    assert_int_equal(c.half_open_probes, 1);
    assert_int_equal(c.probe_timeout_ms, 10000);
    assert_int_equal(c.close_after, 2);
    char err[TT_ERRLEN] = "";
    assert_int_equal(breaker_cfg_check(&c, err), 0);
    assert_string_equal(err, "");
}

static void cfg_check_rejects_nonsense_and_names_the_setting(void **state)
{
    (void)state;
    static const struct {
        size_t field; /* offset of the uint32_t to set */
        uint32_t value;
        const char *name;
    } bad[] = {
        {offsetof(breaker_cfg, failure_threshold), 0, "failure_threshold"},
        {offsetof(breaker_cfg, rate_window_ms), 0, "rate_window_ms"},
        {offsetof(breaker_cfg, rate_window_ms), BREAKER_BUCKETS - 1, "rate_window_ms"},
        {offsetof(breaker_cfg, rate_min_calls), 0, "rate_min_calls"},
        {offsetof(breaker_cfg, rate_threshold_pct), 0, "rate_threshold_pct"},
        {offsetof(breaker_cfg, rate_threshold_pct), 101, "rate_threshold_pct"},
        {offsetof(breaker_cfg, open_ms), 0, "open_ms"},
        {offsetof(breaker_cfg, half_open_probes), 0, "half_open_probes"},
        {offsetof(breaker_cfg, half_open_probes), BREAKER_MAX_PROBES + 1, "half_open_probes"},
        {offsetof(breaker_cfg, probe_timeout_ms), 0, "probe_timeout_ms"},
        {offsetof(breaker_cfg, close_after), 0, "close_after"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        breaker_cfg c = defaults();
        memcpy((char *)&c + bad[i].field, &bad[i].value, sizeof bad[i].value);
        char err[TT_ERRLEN] = "";
        assert_int_equal(breaker_cfg_check(&c, err), TT_EINVAL);
        if (strstr(err, bad[i].name) == NULL) {
            fail_msg("%s = %u: message '%s' does not name it", bad[i].name, (unsigned)bad[i].value,
                     err);
        }
        assert_int_equal(breaker_cfg_check(&c, NULL), TT_EINVAL);
    }
}

static void cfg_check_accepts_the_limits(void **state)
{
    (void)state;
    breaker_cfg c = defaults();
    c.failure_threshold = 1;
    c.rate_window_ms = BREAKER_BUCKETS;
    c.rate_min_calls = 1;
    c.rate_threshold_pct = 100;
    c.open_ms = 1;
    c.half_open_probes = BREAKER_MAX_PROBES;
    c.probe_timeout_ms = 1;
    c.close_after = 1;
    assert_int_equal(breaker_cfg_check(&c, NULL), 0);
    c.rate_threshold_pct = 1;
    c.half_open_probes = 1;
    c.failure_threshold = UINT32_MAX;
    assert_int_equal(breaker_cfg_check(&c, NULL), 0);
}

static void state_names(void **state)
{
    (void)state;
    assert_string_equal(breaker_state_name(BREAKER_CLOSED), "closed");
    assert_string_equal(breaker_state_name(BREAKER_OPEN), "open");
    assert_string_equal(breaker_state_name(BREAKER_HALF_OPEN), "half_open");
    assert_string_equal(breaker_state_name(BREAKER_FORCED_OPEN), "forced_open");
    assert_string_equal(breaker_state_name(BREAKER_DISABLED), "disabled");
    assert_string_equal(breaker_state_name((breaker_state)99), "unknown");
}

static void init_starts_closed_with_nothing_counted(void **state)
{
    (void)state;
    breaker b;
    memset(&b, 0xab, sizeof b);
    breaker_cfg c = defaults();
    breaker_init(&b, &c, T0);
    assert_int_equal(b.state, BREAKER_CLOSED);
    assert_int_equal(b.transitions, 0);
    assert_last(&b, BREAKER_CLOSED, BREAKER_CLOSED, T0, "");
    breaker_stats zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(&b.stats, &zero, sizeof zero);
    assert_state(&b, T0 + 86400000, BREAKER_CLOSED);
    uint64_t t1 = allowed(&b, T0), t2 = allowed(&b, T0);
    assert_int_not_equal(t1, t2);
}

/* ---- CLOSED: the consecutive rule ---- */

static void consecutive_failures_open_it_at_the_threshold(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    breaker_init(&b, &c, T0);
    calls(&b, T0 + 1, false, 4);
    assert_state(&b, T0 + 1, BREAKER_CLOSED);
    assert_int_equal(b.transitions, 0);
    call(&b, T0 + 2, false);
    assert_int_equal(b.state, BREAKER_OPEN);
    assert_int_equal(b.transitions, 1);
    assert_int_equal(b.stats.opened, 1);
    assert_last(&b, BREAKER_CLOSED, BREAKER_OPEN, T0 + 2, "5 consecutive failures");
    refused(&b, T0 + 2);
    assert_int_equal(b.stats.rejected, 1);
}

static void a_success_restarts_the_consecutive_count(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    c.rate_min_calls = 1000; /* the consecutive rule alone */
    breaker_init(&b, &c, T0);
    for (int round = 0; round < 10; round++) {
        calls(&b, T0 + (uint64_t)round, false, 4);
        call(&b, T0 + (uint64_t)round, true);
    }
    assert_int_equal(b.state, BREAKER_CLOSED);
    assert_int_equal(b.transitions, 0);
    assert_int_equal(b.stats.failures, 40);
    assert_int_equal(b.stats.successes, 10);
    calls(&b, T0 + 10, false, 5);
    assert_last(&b, BREAKER_CLOSED, BREAKER_OPEN, T0 + 10, "5 consecutive failures");
}

static void the_consecutive_rule_opens_even_below_min_calls(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    c.failure_threshold = 3;
    c.rate_min_calls = 1000;
    breaker_init(&b, &c, T0);
    calls(&b, T0, false, 3);
    assert_last(&b, BREAKER_CLOSED, BREAKER_OPEN, T0, "3 consecutive failures");
}

/* ---- CLOSED: the rate rule ---- */

static void the_rate_rule_waits_for_min_calls(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = rate_only();
    breaker_init(&b, &c, T0);
    /* 19 calls, 10 of them failures (53%): not yet enough calls. */
    for (int i = 0; i < 9; i++) {
        call(&b, T0, false);
        call(&b, T0, true);
    }
    call(&b, T0, false);
    assert_state(&b, T0, BREAKER_CLOSED);
    /* The 20th call is a failure: 11 of 20, 55%. */
    call(&b, T0, false);
    assert_int_equal(b.state, BREAKER_OPEN);
    assert_last(&b, BREAKER_CLOSED, BREAKER_OPEN, T0, "failure rate 55% over 20 calls");
}

static void the_rate_rule_opens_at_exactly_the_threshold(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = rate_only();
    breaker_init(&b, &c, T0);
    calls(&b, T0, true, 10);
    calls(&b, T0, false, 9); /* 9 of 19 */
    assert_int_equal(b.state, BREAKER_CLOSED);
    call(&b, T0, false); /* 10 of 20: 50% */
    assert_last(&b, BREAKER_CLOSED, BREAKER_OPEN, T0, "failure rate 50% over 20 calls");
}

static void the_rate_rule_stays_closed_below_the_threshold(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = rate_only();
    breaker_init(&b, &c, T0);
    calls(&b, T0, true, 11);
    calls(&b, T0, false, 9); /* 9 of 20: 45% */
    call(&b, T0, true);
    call(&b, T0, false); /* 10 of 22: 45% */
    calls(&b, T0, true, 100);
    calls(&b, T0, false, 50); /* 60 of 172: 34% */
    assert_state(&b, T0, BREAKER_CLOSED);
    assert_int_equal(b.transitions, 0);
    assert_int_equal(b.stats.failures, 60);
}

static void the_consecutive_reason_wins_when_both_rules_trip(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    c.rate_min_calls = 5;
    breaker_init(&b, &c, T0);
    calls(&b, T0, false, 5); /* 5 consecutive, and 100% over 5 calls */
    assert_int_equal(b.transitions, 1);
    assert_last(&b, BREAKER_CLOSED, BREAKER_OPEN, T0, "5 consecutive failures");
}

/* The window is 10 buckets of 1000 ms: at T0 + 10000 the bucket of T0 drops out, exactly. */
static void rate_window_fill(breaker *b)
{
    breaker_cfg c = rate_only();
    breaker_init(b, &c, T0);
    calls(b, T0, false, 10);
    calls(b, T0 + 9999, true, 10); /* 20 calls, 10 failures, but only failures are judged */
    assert_int_equal(b->state, BREAKER_CLOSED);
}

static void the_rate_window_still_holds_the_oldest_bucket_at_its_last_ms(void **state)
{
    (void)state;
    breaker b;
    rate_window_fill(&b);
    call(&b, T0 + 9999, false); /* 11 of 21 */
    assert_last(&b, BREAKER_CLOSED, BREAKER_OPEN, T0 + 9999, "failure rate 52% over 21 calls");
}

static void old_failures_slide_out_of_the_rate_window(void **state)
{
    (void)state;
    breaker b;
    rate_window_fill(&b);
    /* The 10 failures of T0 are gone: 1 of 11, and too few calls anyway. */
    call(&b, T0 + 10000, false);
    assert_int_equal(b.state, BREAKER_CLOSED);
    calls(&b, T0 + 10000, false, 8); /* 9 of 19 */
    assert_int_equal(b.state, BREAKER_CLOSED);
    call(&b, T0 + 10000, false); /* 10 of 20 */
    assert_last(&b, BREAKER_CLOSED, BREAKER_OPEN, T0 + 10000, "failure rate 50% over 20 calls");
}

static void a_long_quiet_gap_empties_the_rate_window(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = rate_only();
    breaker_init(&b, &c, T0);
    calls(&b, T0, false, 15);
    calls(&b, T0, true, 4); /* 15 of 19 */
    /* Many windows later, the ring's buckets are reused in another order: none of T0's may
     * count. */
    uint64_t later = T0 + 10 * 1000 * 1000 + 3500;
    calls(&b, later, true, 10);
    calls(&b, later, false, 9); /* 9 of 19 now, 24 of 38 if T0 still counted */
    assert_state(&b, later, BREAKER_CLOSED);
    call(&b, later, false);
    assert_last(&b, BREAKER_CLOSED, BREAKER_OPEN, later, "failure rate 50% over 20 calls");
}

static void the_rate_window_counts_every_bucket_inside_it(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = rate_only();
    breaker_init(&b, &c, T0);
    /* Two calls in each of ten buckets, one failed: 10 of 20 opens on the last. */
    for (uint64_t i = 0; i < 10; i++) {
        call(&b, T0 + i * 1000 + 500, true);
        if (i < 9) {
            call(&b, T0 + i * 1000 + 500, false);
            assert_int_equal(b.state, BREAKER_CLOSED);
        }
    }
    call(&b, T0 + 9999, false);
    assert_last(&b, BREAKER_CLOSED, BREAKER_OPEN, T0 + 9999, "failure rate 50% over 20 calls");
}

/* ---- OPEN -> HALF_OPEN ---- */

static void open_turns_half_open_at_exactly_open_ms(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    breaker_init(&b, &c, T0);
    open_at(&b, T0 + 100);
    refused(&b, T0 + 100 + 4999);
    assert_state(&b, T0 + 100 + 4999, BREAKER_OPEN);
    assert_int_equal(b.stats.half_opened, 0);
    allowed(&b, T0 + 100 + 5000);
    assert_int_equal(b.state, BREAKER_HALF_OPEN);
    assert_int_equal(b.transitions, 2);
    assert_int_equal(b.stats.half_opened, 1);
    assert_last(&b, BREAKER_OPEN, BREAKER_HALF_OPEN, T0 + 100 + 5000, "open for 5000 ms");
}

static void state_at_alone_makes_the_half_open_transition(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    breaker_init(&b, &c, T0);
    open_at(&b, T0);
    assert_state(&b, T0 + 5000, BREAKER_HALF_OPEN);
    assert_int_equal(b.transitions, 2);
    assert_last(&b, BREAKER_OPEN, BREAKER_HALF_OPEN, T0 + 5000, "open for 5000 ms");
    assert_int_equal(b.stats.allowed, 5);
    assert_int_equal(b.stats.rejected, 0);
}

static void time_running_backwards_does_not_end_the_open_period(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    breaker_init(&b, &c, T0);
    open_at(&b, T0 + 60000);
    refused(&b, T0); /* an earlier time, taken as T0 + 60000 */
    assert_state(&b, T0 + 1, BREAKER_OPEN);
    refused(&b, T0 + 60000 + 4999);
    allowed(&b, T0 + 60000 + 5000);
}

/* ---- HALF_OPEN ---- */

static void half_open_allows_only_half_open_probes_at_once(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    c.half_open_probes = 3;
    c.close_after = 10;
    breaker_init(&b, &c, T0);
    uint64_t t = half_open_at(&b, T0);
    uint64_t p[3];
    for (int i = 0; i < 3; i++) {
        p[i] = allowed(&b, t);
    }
    assert_true(p[0] != p[1] && p[1] != p[2] && p[0] != p[2]);
    refused(&b, t);
    refused(&b, t + 1);
    breaker_record(&b, t + 2, p[1], true);
    uint64_t p3 = allowed(&b, t + 3); /* the freed place */
    refused(&b, t + 3);
    breaker_record(&b, t + 4, p[0], true);
    breaker_record(&b, t + 4, p3, true);
    allowed(&b, t + 5);
    allowed(&b, t + 5);
    refused(&b, t + 5);
    assert_int_equal(b.state, BREAKER_HALF_OPEN);
    assert_int_equal(b.stats.successes, 3);
}

static void a_failed_probe_reopens_it_for_open_ms_again(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    breaker_init(&b, &c, T0);
    uint64_t t = half_open_at(&b, T0);
    uint64_t p = allowed(&b, t);
    breaker_record(&b, t + 700, p, false);
    assert_int_equal(b.state, BREAKER_OPEN);
    assert_int_equal(b.transitions, 3);
    assert_int_equal(b.stats.opened, 2);
    assert_last(&b, BREAKER_HALF_OPEN, BREAKER_OPEN, t + 700, "probe failed");
    refused(&b, t + 700 + 4999);
    allowed(&b, t + 700 + 5000);
    assert_int_equal(b.state, BREAKER_HALF_OPEN);
}

static void a_failed_probe_after_successes_still_reopens(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    c.close_after = 3;
    breaker_init(&b, &c, T0);
    uint64_t t = half_open_at(&b, T0);
    call(&b, t, true);
    call(&b, t, true);
    call(&b, t, false);
    assert_last(&b, BREAKER_HALF_OPEN, BREAKER_OPEN, t, "probe failed");
    /* The next half-open period starts counting from nothing. */
    t += 5000;
    call(&b, t, true);
    call(&b, t, true);
    assert_state(&b, t, BREAKER_HALF_OPEN);
    call(&b, t, true);
    assert_state(&b, t, BREAKER_CLOSED);
}

static void close_after_successful_probes_close_it(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    c.close_after = 3;
    breaker_init(&b, &c, T0);
    uint64_t t = half_open_at(&b, T0);
    call(&b, t + 1, true);
    call(&b, t + 2, true);
    assert_state(&b, t + 2, BREAKER_HALF_OPEN);
    call(&b, t + 3, true);
    assert_int_equal(b.state, BREAKER_CLOSED);
    assert_int_equal(b.transitions, 3);
    assert_int_equal(b.stats.closed, 1);
    assert_last(&b, BREAKER_HALF_OPEN, BREAKER_CLOSED, t + 3, "3 probes succeeded");
    allowed(&b, t + 3);
    allowed(&b, t + 3); /* no probe limit when closed */
}

static void closing_clears_both_rules(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    c.rate_min_calls = 10;
    c.close_after = 1;
    breaker_init(&b, &c, T0);
    /* Open by the rate: 6 of 10, never 5 in a row. */
    for (int i = 0; i < 4; i++) {
        call(&b, T0, true);
        call(&b, T0, false);
    }
    call(&b, T0, false);
    call(&b, T0, false);
    assert_last(&b, BREAKER_CLOSED, BREAKER_OPEN, T0, "failure rate 60% over 10 calls");
    uint64_t t = T0 + 5000; /* within the same rate window */
    call(&b, t, true);
    assert_int_equal(b.state, BREAKER_CLOSED);
    /* Had the window kept its 10 calls, 4 more failures would be 10 of 15; had the
     * consecutive count kept its 2, they would be 6 in a row. */
    calls(&b, t, false, 4);
    assert_state(&b, t, BREAKER_CLOSED);
    call(&b, t, false);
    assert_last(&b, BREAKER_CLOSED, BREAKER_OPEN, t, "5 consecutive failures");
}

/* ---- probe timeouts ---- */

static void a_hung_probe_times_out_and_reopens_it(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    breaker_init(&b, &c, T0);
    uint64_t t = half_open_at(&b, T0);
    allowed(&b, t); /* never reported */
    refused(&b, t + 9999);
    assert_state(&b, t + 9999, BREAKER_HALF_OPEN);
    assert_int_equal(b.stats.probe_timeouts, 0);
    refused(&b, t + 10000);
    assert_int_equal(b.state, BREAKER_OPEN);
    assert_int_equal(b.stats.probe_timeouts, 1);
    assert_int_equal(b.stats.failures, 5 + 1);
    assert_last(&b, BREAKER_HALF_OPEN, BREAKER_OPEN, t + 10000, "probe timed out");
    /* Unwedged: the next open period ends, and a new probe can close it. */
    t += 10000 + 5000;
    call(&b, t, true);
    call(&b, t, true);
    assert_state(&b, t, BREAKER_CLOSED);
}

static void state_at_and_record_notice_a_probe_timeout_too(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    c.half_open_probes = 2;
    breaker_init(&b, &c, T0);
    uint64_t t = half_open_at(&b, T0);
    allowed(&b, t);
    uint64_t p2 = allowed(&b, t + 5000);
    assert_state(&b, t + 10000, BREAKER_OPEN);
    assert_last(&b, BREAKER_HALF_OPEN, BREAKER_OPEN, t + 10000, "probe timed out");

    breaker_init(&b, &c, T0);
    t = half_open_at(&b, T0);
    allowed(&b, t);
    p2 = allowed(&b, t + 5000);
    breaker_record(&b, t + 10000, p2, true); /* in time, but its partner is overdue */
    assert_int_equal(b.state, BREAKER_OPEN);
    assert_int_equal(b.stats.successes, 0);
    assert_int_equal(b.stats.stale, 1);
    assert_last(&b, BREAKER_HALF_OPEN, BREAKER_OPEN, t + 10000, "probe timed out");
}

static void every_overdue_probe_counts_as_a_timeout(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    c.half_open_probes = 3;
    breaker_init(&b, &c, T0);
    uint64_t t = half_open_at(&b, T0);
    allowed(&b, t);
    allowed(&b, t + 10);
    allowed(&b, t + 20);
    assert_state(&b, t + 10010, BREAKER_OPEN);
    assert_int_equal(b.stats.probe_timeouts, 2); /* the third had 10 ms left */
    assert_int_equal(b.transitions, 3);
}

static void a_late_look_makes_one_transition_per_call(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    breaker_init(&b, &c, T0);
    uint64_t t = half_open_at(&b, T0);
    allowed(&b, t);
    /* Long past both the probe's deadline and another open period: the timeout is seen now,
     * and the open period starts now. */
    uint64_t late = t + 3600000;
    assert_state(&b, late, BREAKER_OPEN);
    assert_int_equal(b.transitions, 3);
    assert_last(&b, BREAKER_HALF_OPEN, BREAKER_OPEN, late, "probe timed out");
    refused(&b, late + 4999);
    assert_state(&b, late + 5000, BREAKER_HALF_OPEN);
    assert_int_equal(b.transitions, 4);
}

/* ---- stale outcomes ---- */

static void a_late_report_of_a_timed_out_probe_changes_nothing(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    c.close_after = 1;
    breaker_init(&b, &c, T0);
    uint64_t t = half_open_at(&b, T0);
    uint64_t hung = allowed(&b, t);
    assert_state(&b, t + 10000, BREAKER_OPEN);
    breaker_record(&b, t + 10001, hung, true); /* while open */
    assert_int_equal(b.state, BREAKER_OPEN);
    assert_int_equal(b.stats.stale, 1);
    t += 10000 + 5000;
    uint64_t fresh = allowed(&b, t);
    breaker_record(&b, t + 1, hung, true);  /* in the next half-open period: not a close */
    breaker_record(&b, t + 1, hung, false); /* nor a reopen */
    assert_state(&b, t + 1, BREAKER_HALF_OPEN);
    assert_int_equal(b.stats.stale, 3);
    refused(&b, t + 2); /* nor did it free the place of the probe still out */
    breaker_record(&b, t + 3, fresh, true);
    assert_last(&b, BREAKER_HALF_OPEN, BREAKER_CLOSED, t + 3, "1 probes succeeded");
    assert_int_equal(b.stats.successes, 1);
}

static void a_probe_of_an_earlier_half_open_period_is_stale(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    c.half_open_probes = 2;
    c.close_after = 2;
    breaker_init(&b, &c, T0);
    uint64_t t = half_open_at(&b, T0);
    uint64_t a = allowed(&b, t);
    uint64_t old = allowed(&b, t);
    breaker_record(&b, t + 1, a, false);
    t += 1 + 5000;
    uint64_t now1 = allowed(&b, t);
    breaker_record(&b, t, old, false);
    assert_state(&b, t, BREAKER_HALF_OPEN);
    breaker_record(&b, t, old, true);
    breaker_record(&b, t, now1, true);
    assert_state(&b, t, BREAKER_HALF_OPEN); /* one success of two: 'old' did not count */
    call(&b, t, true);
    assert_state(&b, t, BREAKER_CLOSED);
    assert_int_equal(b.stats.stale, 2);
}

static void a_probe_reported_twice_counts_once(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    c.half_open_probes = 2;
    breaker_init(&b, &c, T0);
    uint64_t t = half_open_at(&b, T0);
    uint64_t p = allowed(&b, t);
    allowed(&b, t);
    breaker_record(&b, t, p, true);
    breaker_record(&b, t, p, true);
    assert_state(&b, t, BREAKER_HALF_OPEN);
    breaker_record(&b, t, p, false);
    assert_state(&b, t, BREAKER_HALF_OPEN);
    assert_int_equal(b.stats.stale, 2);
    assert_int_equal(b.stats.successes, 1);
}

static void calls_admitted_before_a_change_do_not_count_after_it(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    c.failure_threshold = 2;
    c.close_after = 1;
    breaker_init(&b, &c, T0);
    uint64_t slow[3];
    for (int i = 0; i < 3; i++) {
        slow[i] = allowed(&b, T0);
    }
    calls(&b, T0, false, 2);
    assert_int_equal(b.state, BREAKER_OPEN);
    breaker_record(&b, T0 + 1, slow[0], false); /* while open */
    assert_int_equal(b.transitions, 1);
    uint64_t t = T0 + 5000;
    uint64_t probe = allowed(&b, t);
    breaker_record(&b, t, slow[1], true); /* not a probe */
    assert_state(&b, t, BREAKER_HALF_OPEN);
    breaker_record(&b, t, probe, true);
    assert_state(&b, t, BREAKER_CLOSED);
    call(&b, t, false);
    breaker_record(&b, t, slow[2], false); /* would be the second in a row */
    assert_state(&b, t, BREAKER_CLOSED);
    assert_int_equal(b.stats.stale, 3);
    assert_int_equal(b.stats.failures, 3);
}

static void tickets_never_issued_are_stale(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    c.failure_threshold = 1;
    breaker_init(&b, &c, T0);
    uint64_t t = allowed(&b, T0);
    breaker_record(&b, T0, 0, false);
    breaker_record(&b, T0, t + 1, false);
    breaker_record(&b, T0, UINT64_MAX, false);
    assert_state(&b, T0, BREAKER_CLOSED);
    assert_int_equal(b.stats.stale, 3);
    assert_int_equal(b.stats.failures, 0);
    breaker_record(&b, T0, t, false);
    assert_state(&b, T0, BREAKER_OPEN);
}

/* ---- operator controls ---- */

static void forced_open_refuses_everything_until_reset(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    breaker_init(&b, &c, T0);
    uint64_t out = allowed(&b, T0);
    breaker_force_open(&b, T0 + 1);
    assert_int_equal(b.transitions, 1);
    assert_int_equal(b.stats.forced, 1);
    assert_last(&b, BREAKER_CLOSED, BREAKER_FORCED_OPEN, T0 + 1, "operator");
    refused(&b, T0 + 1);
    refused(&b, T0 + 86400000); /* no open_ms ends it */
    assert_state(&b, T0 + 86400000, BREAKER_FORCED_OPEN);
    breaker_record(&b, T0 + 86400000, out, true);
    assert_int_equal(b.stats.stale, 1);
    breaker_force_open(&b, T0 + 86400001); /* already: no transition */
    assert_int_equal(b.transitions, 1);
    breaker_reset(&b, T0 + 86400002);
    assert_last(&b, BREAKER_FORCED_OPEN, BREAKER_CLOSED, T0 + 86400002, "operator");
    allowed(&b, T0 + 86400002);
}

static void forcing_open_from_half_open_forgets_the_probes(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    c.close_after = 1;
    breaker_init(&b, &c, T0);
    uint64_t t = half_open_at(&b, T0);
    uint64_t p = allowed(&b, t);
    breaker_force_open(&b, t + 1);
    assert_last(&b, BREAKER_HALF_OPEN, BREAKER_FORCED_OPEN, t + 1, "operator");
    breaker_record(&b, t + 2, p, true);
    assert_state(&b, t + 20000, BREAKER_FORCED_OPEN); /* nor does the probe time out */
    assert_int_equal(b.stats.probe_timeouts, 0);
    assert_int_equal(b.stats.stale, 1);
}

static void disabled_allows_everything_and_judges_nothing(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    breaker_init(&b, &c, T0);
    open_at(&b, T0);
    breaker_disable(&b, T0 + 1);
    assert_last(&b, BREAKER_OPEN, BREAKER_DISABLED, T0 + 1, "operator");
    assert_int_equal(b.stats.disabled, 1);
    calls(&b, T0 + 2, false, 1000);
    assert_state(&b, T0 + 3600000, BREAKER_DISABLED);
    assert_int_equal(b.transitions, 2);
    assert_int_equal(b.stats.failures, 5 + 1000);
    uint64_t late = allowed(&b, T0 + 3600000);
    breaker_disable(&b, T0 + 3600001);
    assert_int_equal(b.transitions, 2);
    breaker_reset(&b, T0 + 3600002);
    assert_last(&b, BREAKER_DISABLED, BREAKER_CLOSED, T0 + 3600002, "operator");
    /* A call let through while disabled belongs to that period. */
    calls(&b, T0 + 3600003, false, 4);
    breaker_record(&b, T0 + 3600003, late, false);
    assert_state(&b, T0 + 3600003, BREAKER_CLOSED);
}

static void reset_closes_from_open_and_half_open(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    breaker_init(&b, &c, T0);
    open_at(&b, T0);
    breaker_reset(&b, T0 + 10);
    assert_last(&b, BREAKER_OPEN, BREAKER_CLOSED, T0 + 10, "operator");
    allowed(&b, T0 + 10);
    open_at(&b, T0 + 20);
    assert_state(&b, T0 + 5020, BREAKER_HALF_OPEN);
    uint64_t p = allowed(&b, T0 + 5020);
    breaker_reset(&b, T0 + 5021);
    assert_last(&b, BREAKER_HALF_OPEN, BREAKER_CLOSED, T0 + 5021, "operator");
    breaker_record(&b, T0 + 5022, p, false);
    assert_state(&b, T0 + 5022, BREAKER_CLOSED);
    assert_int_equal(b.stats.closed, 2);
}

static void reset_when_closed_clears_the_counts_without_a_transition(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    breaker_init(&b, &c, T0);
    uint64_t out = allowed(&b, T0);
    calls(&b, T0, false, 4);
    breaker_reset(&b, T0 + 1);
    assert_int_equal(b.transitions, 0);
    assert_int_equal(b.stats.closed, 0);
    calls(&b, T0 + 2, false, 4);
    breaker_record(&b, T0 + 2, out, false); /* admitted before the reset */
    assert_state(&b, T0 + 2, BREAKER_CLOSED);
    call(&b, T0 + 2, false);
    assert_last(&b, BREAKER_CLOSED, BREAKER_OPEN, T0 + 2, "5 consecutive failures");
}

static void operator_states_move_between_each_other(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    breaker_init(&b, &c, T0);
    breaker_disable(&b, T0);
    breaker_force_open(&b, T0 + 1);
    assert_last(&b, BREAKER_DISABLED, BREAKER_FORCED_OPEN, T0 + 1, "operator");
    breaker_disable(&b, T0 + 2);
    assert_last(&b, BREAKER_FORCED_OPEN, BREAKER_DISABLED, T0 + 2, "operator");
    assert_int_equal(b.transitions, 3);
    assert_int_equal(b.stats.disabled, 2);
    assert_int_equal(b.stats.forced, 1);
}

/* ---- counters over a whole story ---- */

static void counters_tally_a_whole_outage(void **state)
{
    (void)state;
    breaker b;
    breaker_cfg c = defaults();
    breaker_init(&b, &c, T0);
    uint64_t seen = 0;
    char log[12][BREAKER_REASONLEN];
    int nlog = 0;
#define WATCH()                                                                                    \
    do {                                                                                           \
        if (b.transitions != seen) {                                                               \
            assert_int_equal(b.transitions, seen + 1);                                             \
            seen = b.transitions;                                                                  \
            assert_true(nlog < 12);                                                                \
            strcpy(log[nlog++], b.last_transition.reason);                                         \
        }                                                                                          \
    } while (0)
    uint64_t t = T0;
    for (int i = 0; i < 3; i++) {
        call(&b, t, true);
        WATCH();
    }
    for (int i = 0; i < 5; i++) {
        call(&b, t, false);
        WATCH();
    }
    for (int i = 0; i < 4; i++) {
        refused(&b, t += 1000);
        WATCH();
    }
    t += 1000;
    uint64_t p = allowed(&b, t); /* half-open */
    WATCH();
    refused(&b, t);
    WATCH();
    breaker_record(&b, t, p, false); /* reopened */
    WATCH();
    t += 5000;
    allowed(&b, t); /* hangs */
    WATCH();
    refused(&b, t += 10000); /* timed out, reopened */
    WATCH();
    t += 5000;
    call(&b, t, true);
    WATCH();
    call(&b, t, true); /* closed */
    WATCH();
    breaker_force_open(&b, t);
    WATCH();
    breaker_disable(&b, t);
    WATCH();
    breaker_reset(&b, t);
    WATCH();
#undef WATCH
    assert_int_equal(nlog, 10);
    const char *want[] = {"5 consecutive failures",
                          "open for 5000 ms",
                          "probe failed",
                          "open for 5000 ms",
                          "probe timed out",
                          "open for 5000 ms",
                          "2 probes succeeded",
                          "operator",
                          "operator",
                          "operator"};
    for (int i = 0; i < 10; i++) {
        assert_string_equal(log[i], want[i]);
    }
    breaker_stats w;
    memset(&w, 0, sizeof w);
    w.opened = 3;
    w.half_opened = 3;
    w.closed = 2;
    w.forced = 1;
    w.disabled = 1;
    w.allowed = 12;
    w.rejected = 6;
    w.successes = 5;
    w.failures = 7;
    w.probe_timeouts = 1;
    assert_int_equal(b.stats.opened, w.opened);
    assert_int_equal(b.stats.half_opened, w.half_opened);
    assert_int_equal(b.stats.closed, w.closed);
    assert_int_equal(b.stats.allowed, w.allowed);
    assert_int_equal(b.stats.rejected, w.rejected);
    assert_int_equal(b.stats.successes, w.successes);
    assert_int_equal(b.stats.failures, w.failures);
    assert_memory_equal(&b.stats, &w, sizeof w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_the_documented_ones_and_valid),
        cmocka_unit_test(cfg_check_rejects_nonsense_and_names_the_setting),
        cmocka_unit_test(cfg_check_accepts_the_limits),
        cmocka_unit_test(state_names),
        cmocka_unit_test(init_starts_closed_with_nothing_counted),
        cmocka_unit_test(consecutive_failures_open_it_at_the_threshold),
        cmocka_unit_test(a_success_restarts_the_consecutive_count),
        cmocka_unit_test(the_consecutive_rule_opens_even_below_min_calls),
        cmocka_unit_test(the_rate_rule_waits_for_min_calls),
        cmocka_unit_test(the_rate_rule_opens_at_exactly_the_threshold),
        cmocka_unit_test(the_rate_rule_stays_closed_below_the_threshold),
        cmocka_unit_test(the_consecutive_reason_wins_when_both_rules_trip),
        cmocka_unit_test(the_rate_window_still_holds_the_oldest_bucket_at_its_last_ms),
        cmocka_unit_test(old_failures_slide_out_of_the_rate_window),
        cmocka_unit_test(a_long_quiet_gap_empties_the_rate_window),
        cmocka_unit_test(the_rate_window_counts_every_bucket_inside_it),
        cmocka_unit_test(open_turns_half_open_at_exactly_open_ms),
        cmocka_unit_test(state_at_alone_makes_the_half_open_transition),
        cmocka_unit_test(time_running_backwards_does_not_end_the_open_period),
        cmocka_unit_test(half_open_allows_only_half_open_probes_at_once),
        cmocka_unit_test(a_failed_probe_reopens_it_for_open_ms_again),
        cmocka_unit_test(a_failed_probe_after_successes_still_reopens),
        cmocka_unit_test(close_after_successful_probes_close_it),
        cmocka_unit_test(closing_clears_both_rules),
        cmocka_unit_test(a_hung_probe_times_out_and_reopens_it),
        cmocka_unit_test(state_at_and_record_notice_a_probe_timeout_too),
        cmocka_unit_test(every_overdue_probe_counts_as_a_timeout),
        cmocka_unit_test(a_late_look_makes_one_transition_per_call),
        cmocka_unit_test(a_late_report_of_a_timed_out_probe_changes_nothing),
        cmocka_unit_test(a_probe_of_an_earlier_half_open_period_is_stale),
        cmocka_unit_test(a_probe_reported_twice_counts_once),
        cmocka_unit_test(calls_admitted_before_a_change_do_not_count_after_it),
        cmocka_unit_test(tickets_never_issued_are_stale),
        cmocka_unit_test(forced_open_refuses_everything_until_reset),
        cmocka_unit_test(forcing_open_from_half_open_forgets_the_probes),
        cmocka_unit_test(disabled_allows_everything_and_judges_nothing),
        cmocka_unit_test(reset_closes_from_open_and_half_open),
        cmocka_unit_test(reset_when_closed_clears_the_counts_without_a_transition),
        cmocka_unit_test(operator_states_move_between_each_other),
        cmocka_unit_test(counters_tally_a_whole_outage),
    };
    return cmocka_run_group_tests_name("breaker", tests, NULL, NULL);
}
