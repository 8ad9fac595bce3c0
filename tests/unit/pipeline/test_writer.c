/* test_writer.c -- the writer against a fake store and a fake clock: poison events isolated by
 * splitting and dead-lettered with the store's error, every good event committed exactly once;
 * transient failures retried within the retry limits; the breaker opening, refusing, probing
 * and closing on the injected time; and how retries and the breaker meet. */
#include "pipeline/writer.h"

#include "fake_clock.h"
#include "fake_store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_EVENTS 64
#define OPEN_MS 1000
#define FAILURES_TO_OPEN 3

/* A writer on a fake store, with the fake clock standing still and the jitter at 0 (every
 * retry delay 0 ms: writer_sleep returns at once, whatever the real clock does). */
typedef struct rig {
    fake_store *fs;
    fake_clock fc;
    writer_opts opts;
    writer *w;
    tt_event *ev[MAX_EVENTS];
    size_t n;
    event_batch committed; /* what the committed callback was handed (recovered dead letters) */
} rig;

static void on_committed(event_batch *b, void *ctx)
{
    rig *r = ctx;
    for (size_t i = 0; i < b->count; i++) {
        size_t cap = r->committed.count; /* grow one at a time: a handful at most */
        assert_int_equal(event_batch_push(&r->committed, &cap, b->events[i]), 0);
    }
    free(b->events);
    *b = (event_batch){0};
}

static void default_opts(rig *r)
{
    writer_opts *o = &r->opts;
    *o = (writer_opts){.dlq_max_retries = 3, .dlq_lease_ms = 60000, .ctx = r};
    o->committed = on_committed;
    breaker_cfg_default(&o->breaker);
    o->breaker.failure_threshold = FAILURES_TO_OPEN;
    o->breaker.rate_min_calls = 1000; /* only the consecutive-failure rule, unless a test says */
    o->breaker.open_ms = OPEN_MS;
    o->breaker.close_after = 1;
    backoff_cfg_default(&o->retry);
    o->retry.base_ms = 1;
    o->retry.cap_ms = 1;
    o->retry.max_attempts = 5;
    o->clock = fake_clock_hooks(&r->fc);
}

static rig *rig_new(void)
{
    rig *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->fs = fake_store_new();
    fake_clock_init(&r->fc);
    default_opts(r);
    return r;
}

/* Creates the writer from r->opts, as the test has adjusted them. */
static void rig_start(rig *r)
{
    assert_int_equal(writer_create(fake_store_base(r->fs), &r->opts, &r->w), 0);
}

static void rig_free(rig *r)
{
    for (size_t i = 0; i < r->n; i++) {
        event_free(r->ev[i]);
    }
    event_batch_free(&r->committed);
    writer_free(r->w);
    store_close(fake_store_base(r->fs));
    free(r);
}

/* Adds the events of 'pattern' to the rig: '.' a good event, 'P' a poison one. Ids are
 * "ev-<index>", in pattern order. */
static void add_events(rig *r, const char *pattern)
{
    for (const char *c = pattern; *c != '\0'; c++) {
        assert_true(r->n < MAX_EVENTS);
        tt_event proto = {.type = "test",
                          .name = *c == 'P' ? "poison" : "good",
                          .ts_ms = 1700000000000,
                          .received_ms = 1700000000000};
        snprintf(proto.id, sizeof proto.id, "ev-%02zu", r->n);
        r->ev[r->n] = event_clone(&proto);
        assert_non_null(r->ev[r->n]);
        r->n++;
    }
}

static int write_all(rig *r, writer_outcome *out, char *err)
{
    return writer_write(r->w, r->ev, r->n, out, err);
}

static writer_stats stats_of(rig *r)
{
    writer_stats s;
    writer_get_stats(r->w, &s);
    return s;
}

static uint32_t calls_with_rc(rig *r, int rc)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < fake_store_insert_calls(r->fs); i++) {
        n += fake_store_call_rc(r->fs, i) == rc;
    }
    return n;
}

/* ---- poison isolation ----------------------------------------------------------------- */

/* Writes the batch of 'pattern' to a healthy store and checks, event by event, that each good
 * one is stored exactly once, in batch order, and each poison one is in the dead letter queue,
 * in batch order, with the store's own error and its payload. */
static void check_isolation(const char *pattern)
{
    rig *r = rig_new();
    rig_start(r);
    add_events(r, pattern);
    writer_outcome out;
    char err[TT_ERRLEN] = "";
    assert_int_equal(write_all(r, &out, err), 0);

    uint32_t good = 0, poison = 0;
    int64_t last_seq = 0;
    for (size_t i = 0; i < r->n; i++) {
        tt_event *ev = r->ev[i];
        if (pattern[i] == 'P') {
            assert_int_equal(ev->seq, WRITER_DEAD_LETTERED);
            assert_int_equal(fake_store_rows_with_id(r->fs, ev->id), 0);
            char payload[FAKE_PAYLOAD_MAX], reason[TT_ERRLEN], want[TT_ERRLEN];
            fake_store_dlq_item(r->fs, poison, payload, reason);
            snprintf(want, sizeof want, FAKE_REJECT_PREFIX "%s", ev->id);
            assert_string_equal(reason, want);
            snprintf(want, sizeof want, "\"id\":\"%s\"", ev->id);
            assert_non_null(strstr(payload, want));
            poison++;
        } else {
            assert_true(ev->seq > last_seq); /* stored, and in batch order */
            last_seq = ev->seq;
            assert_int_equal(fake_store_rows_with_id(r->fs, ev->id), 1);
            char id[EVENT_ID_MAX + 1];
            assert_int_equal(fake_store_row(r->fs, good, id), ev->seq);
            assert_string_equal(id, ev->id);
            good++;
        }
    }
    assert_int_equal(fake_store_rows(r->fs), good);
    assert_int_equal(fake_store_dlq_count(r->fs), poison);
    assert_int_equal(out.stored, good);
    assert_int_equal(out.dead_lettered, poison);
    assert_int_equal(out.duplicates, 0);

    writer_stats s = stats_of(r);
    assert_int_equal(s.batches, 1);
    assert_int_equal(s.events_stored, good);
    assert_int_equal(s.dead_lettered, poison);
    assert_int_equal(s.duplicates, 0);
    assert_int_equal(s.rejected_calls, calls_with_rc(r, TT_EREJECTED));
    assert_int_equal(s.transient_failures, 0);
    assert_int_equal(s.retries, 0);
    assert_int_equal(s.breaker_state, BREAKER_CLOSED); /* refusals are the store working */
    rig_free(r);
}

static void poison_first(void **state)
{
    (void)state;
    check_isolation("P.......");
}

static void poison_last(void **state)
{
    (void)state;
    check_isolation(".......P");
}

static void poison_everywhere(void **state)
{
    (void)state;
    check_isolation("PPPPPPP");
}

static void poison_mixed(void **state)
{
    (void)state;
    check_isolation(".P..PP.P...P.");
}

static void poison_alone(void **state)
{
    (void)state;
    check_isolation("P");
}

static void no_poison_is_one_call(void **state)
{
    (void)state;
    check_isolation(".........");
}

/* The halving itself, for one batch: the refused half is split, the good half goes whole. */
static void split_halves_until_the_poison_is_alone(void **state)
{
    (void)state;
    rig *r = rig_new();
    rig_start(r);
    add_events(r, "P.......");
    writer_outcome out;
    char err[TT_ERRLEN];
    assert_int_equal(write_all(r, &out, err), 0);
    const size_t sizes[] = {8, 4, 2, 1, 1, 2, 4};
    const int rcs[] = {TT_EREJECTED, TT_EREJECTED, TT_EREJECTED, TT_EREJECTED, 0, 0, 0};
    assert_int_equal(fake_store_insert_calls(r->fs), 7);
    for (uint32_t i = 0; i < 7; i++) {
        assert_int_equal(fake_store_call_size(r->fs, i), sizes[i]);
        assert_int_equal(fake_store_call_rc(r->fs, i), rcs[i]);
    }
    rig_free(r);
}

/* Writing the same batch again stores nothing twice: every good event is a duplicate. */
static void rewrite_is_idempotent(void **state)
{
    (void)state;
    rig *r = rig_new();
    rig_start(r);
    add_events(r, "....");
    writer_outcome out;
    char err[TT_ERRLEN];
    assert_int_equal(write_all(r, &out, err), 0);
    assert_int_equal(out.stored, 4);
    assert_int_equal(write_all(r, &out, err), 0);
    assert_int_equal(out.stored, 0);
    assert_int_equal(out.duplicates, 4);
    assert_int_equal(fake_store_rows(r->fs), 4);
    for (size_t i = 0; i < r->n; i++) {
        assert_int_equal(r->ev[i]->seq, 0);
    }
    assert_int_equal(stats_of(r).duplicates, 4);
    rig_free(r);
}

/* The dead letter queue lives in the store: when it cannot take a refused event, the write
 * is an outage (to be written again), not a success that lost the event. */
static void dead_letter_queue_failure_is_an_outage(void **state)
{
    (void)state;
    rig *r = rig_new();
    rig_start(r);
    add_events(r, "P.");
    fake_store_fail_dlq(r->fs, true);
    writer_outcome out;
    char err[TT_ERRLEN] = "";
    assert_int_equal(write_all(r, &out, err), TT_EUNAVAILABLE);
    assert_string_equal(err, "fake store: dead letter queue unavailable");
    assert_int_equal(out.dead_lettered, 0);
    assert_int_equal(fake_store_dlq_count(r->fs), 0);
    assert_int_equal(stats_of(r).batches, 0);
    assert_int_equal(stats_of(r).dead_lettered, 0);

    fake_store_fail_dlq(r->fs, false); /* written again: now complete */
    assert_int_equal(write_all(r, &out, err), 0);
    assert_int_equal(out.dead_lettered, 1);
    assert_int_equal(out.stored, 1);
    assert_int_equal(fake_store_dlq_count(r->fs), 1);
    rig_free(r);
}

/* ---- transient failures and retries ---------------------------------------------------- */

static void transient_failures_are_retried(void **state)
{
    (void)state;
    rig *r = rig_new();
    rig_start(r);
    add_events(r, "...");
    fake_store_fail_next(r->fs, 2);
    writer_outcome out;
    char err[TT_ERRLEN];
    assert_int_equal(write_all(r, &out, err), 0);
    assert_int_equal(out.stored, 3);
    assert_int_equal(fake_store_insert_calls(r->fs), 3);
    assert_int_equal(fake_store_rows(r->fs), 3);
    writer_stats s = stats_of(r);
    assert_int_equal(s.transient_failures, 2);
    assert_int_equal(s.retries, 2);
    assert_int_equal(s.batches, 1);
    assert_int_equal(s.breaker_state, BREAKER_CLOSED);
    assert_int_equal(fake_clock_randoms(&r->fc), 2); /* one jittered delay per retry */
    rig_free(r);
}

static void retries_stop_at_max_attempts(void **state)
{
    (void)state;
    rig *r = rig_new();
    r->opts.breaker.failure_threshold = 100; /* the retry limit, not the breaker, stops it */
    r->opts.retry.max_attempts = 3;
    rig_start(r);
    add_events(r, "..");
    fake_store_set_mode(r->fs, FAKE_DOWN);
    writer_outcome out;
    char err[TT_ERRLEN] = "";
    assert_int_equal(write_all(r, &out, err), TT_EUNAVAILABLE);
    assert_string_equal(err, "fake store: down");
    assert_int_equal(fake_store_insert_calls(r->fs), 4); /* the try and 3 retries */
    writer_stats s = stats_of(r);
    assert_int_equal(s.retries, 3);
    assert_int_equal(s.transient_failures, 4);
    assert_int_equal(s.batches, 0);
    assert_int_equal(fake_store_rows(r->fs), 0);
    rig_free(r);
}

/* The retry budget is counted on the injected clock: a store that takes 10 ms a call fits
 * 3 calls into a 25 ms budget (the retries start at 10 and 20 ms; one at 30 would be late). */
static void retry_budget_runs_on_the_injected_clock(void **state)
{
    (void)state;
    rig *r = rig_new();
    r->opts.breaker.failure_threshold = 100;
    r->opts.retry.max_attempts = 0; /* no limit but the budget */
    r->opts.retry.budget_ms = 25;
    rig_start(r);
    add_events(r, ".");
    fake_store_set_mode(r->fs, FAKE_DOWN);
    fake_store_set_latency(r->fs, &r->fc, 10);
    writer_outcome out;
    char err[TT_ERRLEN];
    assert_int_equal(write_all(r, &out, err), TT_EUNAVAILABLE);
    assert_int_equal(fake_store_insert_calls(r->fs), 3);
    assert_int_equal(stats_of(r).retries, 2);
    rig_free(r);
}

/* A transient failure in one half of a split batch is retried like any other, and the split
 * goes on where it was. */
static void transient_failure_during_a_split_is_retried(void **state)
{
    (void)state;
    rig *r = rig_new();
    rig_start(r);
    add_events(r, "P...");
    fake_store_fail_calls(r->fs, 3, 1); /* the lone "." after the dead letter, once */
    writer_outcome out;
    char err[TT_ERRLEN];
    assert_int_equal(write_all(r, &out, err), 0);
    const size_t sizes[] = {4, 2, 1, 1, 1, 2};
    const int rcs[] = {TT_EREJECTED, TT_EREJECTED, TT_EREJECTED, TT_EUNAVAILABLE, 0, 0};
    assert_int_equal(fake_store_insert_calls(r->fs), 6);
    for (uint32_t i = 0; i < 6; i++) {
        assert_int_equal(fake_store_call_size(r->fs, i), sizes[i]);
        assert_int_equal(fake_store_call_rc(r->fs, i), rcs[i]);
    }
    assert_int_equal(out.stored, 3);
    assert_int_equal(out.dead_lettered, 1);
    assert_int_equal(fake_store_rows(r->fs), 3);
    assert_int_equal(fake_store_dlq_count(r->fs), 1);
    assert_int_equal(stats_of(r).retries, 1);
    rig_free(r);
}

/* ---- the breaker ------------------------------------------------------------------------ */

/* Opens the breaker with a write against a store that is down. */
static void open_breaker(rig *r)
{
    fake_store_set_mode(r->fs, FAKE_DOWN);
    writer_outcome out;
    char err[TT_ERRLEN];
    uint32_t before = fake_store_insert_calls(r->fs);
    assert_int_equal(write_all(r, &out, err), TT_EUNAVAILABLE);
    assert_int_equal(fake_store_insert_calls(r->fs) - before, FAILURES_TO_OPEN);
    assert_int_equal(stats_of(r).breaker_state, BREAKER_OPEN);
}

/* Retries stop as soon as the breaker opens, though the retry limit would allow more. */
static void breaker_opens_after_consecutive_failures_and_retries_stop(void **state)
{
    (void)state;
    rig *r = rig_new();
    r->opts.retry.max_attempts = 10;
    rig_start(r);
    add_events(r, "..");
    open_breaker(r);
    writer_stats s = stats_of(r);
    assert_int_equal(s.retries, FAILURES_TO_OPEN - 1);
    assert_int_equal(s.transient_failures, FAILURES_TO_OPEN);
    assert_int_equal(s.breaker.opened, 1);
    assert_int_equal(s.last_transition.from, BREAKER_CLOSED);
    assert_int_equal(s.last_transition.to, BREAKER_OPEN);
    rig_free(r);
}

static void open_breaker_makes_no_calls(void **state)
{
    (void)state;
    rig *r = rig_new();
    rig_start(r);
    add_events(r, "...");
    open_breaker(r);
    fake_store_set_mode(r->fs, FAKE_UP); /* back, but the breaker does not know yet */
    fake_clock_advance(&r->fc, OPEN_MS - 1);
    writer_outcome out;
    char err[TT_ERRLEN] = "";
    for (int i = 0; i < 5; i++) {
        assert_int_equal(write_all(r, &out, err), TT_EUNAVAILABLE);
    }
    assert_string_equal(err, "circuit breaker open: not calling the store");
    assert_int_equal(fake_store_insert_calls(r->fs), FAILURES_TO_OPEN);
    assert_int_equal(stats_of(r).retries, FAILURES_TO_OPEN - 1); /* none while open */
    assert_int_equal(fake_store_rows(r->fs), 0);
    rig_free(r);
}

/* writer_available says no while open, and when to look again: open_ms capped at 250 ms. */
static void available_reports_when_to_look_again(void **state)
{
    (void)state;
    rig *r = rig_new();
    rig_start(r);
    add_events(r, ".");
    uint64_t retry_in = 12345;
    assert_true(writer_available(r->w, &retry_in));
    open_breaker(r);
    assert_false(writer_available(r->w, &retry_in));
    assert_int_equal(retry_in, 250);
    fake_clock_advance(&r->fc, OPEN_MS - 1);
    assert_false(writer_available(r->w, &retry_in));
    fake_clock_advance(&r->fc, 1);
    assert_true(writer_available(r->w, &retry_in)); /* half-open: a probe may go */
    assert_int_equal(stats_of(r).breaker_state, BREAKER_HALF_OPEN);
    assert_int_equal(fake_store_insert_calls(r->fs), FAILURES_TO_OPEN); /* looking is no call */
    rig_free(r);

    r = rig_new();
    r->opts.breaker.open_ms = 40;
    rig_start(r);
    add_events(r, ".");
    open_breaker(r);
    assert_false(writer_available(r->w, &retry_in));
    assert_int_equal(retry_in, 40); /* a short open time is not overslept */
    rig_free(r);
}

/* After open_ms, one probe goes out; it succeeds, the breaker closes, the write is stored. */
static void half_open_probe_closes_the_breaker(void **state)
{
    (void)state;
    rig *r = rig_new();
    rig_start(r);
    add_events(r, "...");
    open_breaker(r);
    fake_store_set_mode(r->fs, FAKE_UP);
    fake_clock_advance(&r->fc, OPEN_MS);
    writer_outcome out;
    char err[TT_ERRLEN];
    assert_int_equal(write_all(r, &out, err), 0);
    assert_int_equal(out.stored, 3);
    assert_int_equal(fake_store_insert_calls(r->fs), FAILURES_TO_OPEN + 1);
    writer_stats s = stats_of(r);
    assert_int_equal(s.breaker_state, BREAKER_CLOSED);
    assert_int_equal(s.breaker.half_opened, 1);
    assert_int_equal(s.breaker.closed, 1);
    assert_int_equal(s.last_transition.from, BREAKER_HALF_OPEN);
    rig_free(r);
}

/* A failed probe reopens the breaker for open_ms again, and is not retried: the retry loop
 * stops on an open breaker whatever the retry limit says. */
static void failed_probe_reopens_without_retry(void **state)
{
    (void)state;
    rig *r = rig_new();
    r->opts.retry.max_attempts = 10;
    rig_start(r);
    add_events(r, ".");
    open_breaker(r);
    uint64_t retries = stats_of(r).retries;
    fake_clock_advance(&r->fc, OPEN_MS);
    writer_outcome out;
    char err[TT_ERRLEN] = "";
    assert_int_equal(write_all(r, &out, err), TT_EUNAVAILABLE);
    assert_string_equal(err, "fake store: down"); /* the probe's own failure */
    assert_int_equal(fake_store_insert_calls(r->fs), FAILURES_TO_OPEN + 1);
    writer_stats s = stats_of(r);
    assert_int_equal(s.retries, retries);
    assert_int_equal(s.breaker_state, BREAKER_OPEN);
    assert_int_equal(s.breaker.opened, 2);
    assert_int_equal(s.last_transition.from, BREAKER_HALF_OPEN);
    uint64_t retry_in;
    assert_false(writer_available(r->w, &retry_in)); /* open for a full open_ms again */
    fake_clock_advance(&r->fc, OPEN_MS - 1);
    assert_false(writer_available(r->w, &retry_in));
    fake_clock_advance(&r->fc, 1);
    assert_true(writer_available(r->w, &retry_in));
    rig_free(r);
}

/* With close_after 2 the first good probe leaves it half-open; the second closes it. */
static void breaker_needs_close_after_good_probes(void **state)
{
    (void)state;
    rig *r = rig_new();
    r->opts.breaker.close_after = 2;
    rig_start(r);
    add_events(r, ".");
    open_breaker(r);
    fake_store_set_mode(r->fs, FAKE_UP);
    fake_clock_advance(&r->fc, OPEN_MS);
    writer_outcome out;
    char err[TT_ERRLEN];
    assert_int_equal(write_all(r, &out, err), 0);
    assert_int_equal(stats_of(r).breaker_state, BREAKER_HALF_OPEN);
    assert_int_equal(write_all(r, &out, err), 0);
    assert_int_equal(out.duplicates, 1);
    assert_int_equal(stats_of(r).breaker_state, BREAKER_CLOSED);
    rig_free(r);
}

/* Refusals of the data do not count against the store: a batch of poison never opens it. */
static void refusals_do_not_open_the_breaker(void **state)
{
    (void)state;
    rig *r = rig_new();
    r->opts.breaker.failure_threshold = 1;
    rig_start(r);
    add_events(r, "PPPP");
    writer_outcome out;
    char err[TT_ERRLEN];
    assert_int_equal(write_all(r, &out, err), 0);
    assert_int_equal(out.dead_lettered, 4);
    writer_stats s = stats_of(r);
    assert_int_equal(s.breaker_state, BREAKER_CLOSED);
    assert_int_equal(s.breaker.opened, 0);
    rig_free(r);
}

/* A batch that opens the breaker halfway through its split reports the outage; what it
 * stored before stays stored once, and writing it all again later completes it. */
static void outage_during_a_split_then_rewrite(void **state)
{
    (void)state;
    rig *r = rig_new();
    r->opts.retry.max_attempts = 0; /* only the breaker stops the retries */
    rig_start(r);
    add_events(r, "P...");
    /* Calls 0-3: "P..." refused, "P." refused, "P" refused (dead-lettered), "." stored; from
     * call 4 on, the right half "..", the store is down until the breaker opens. */
    fake_store_fail_calls(r->fs, 4, UINT32_MAX);
    writer_outcome out;
    char err[TT_ERRLEN];
    assert_int_equal(write_all(r, &out, err), TT_EUNAVAILABLE);
    assert_int_equal(fake_store_insert_calls(r->fs), 4 + FAILURES_TO_OPEN);
    assert_int_equal(stats_of(r).breaker_state, BREAKER_OPEN);
    assert_int_equal(fake_store_rows(r->fs), 1);
    assert_int_equal(fake_store_rows_with_id(r->fs, "ev-01"), 1);
    assert_int_equal(stats_of(r).batches, 0); /* not a finished write */

    fake_store_fail_calls(r->fs, 0, 0);
    fake_clock_advance(&r->fc, OPEN_MS);
    assert_int_equal(write_all(r, &out, err), 0);
    assert_int_equal(out.stored, 2);
    assert_int_equal(out.duplicates, 1);
    assert_int_equal(out.dead_lettered, 1);
    assert_int_equal(fake_store_rows(r->fs), 3);
    for (size_t i = 1; i < r->n; i++) {
        assert_int_equal(fake_store_rows_with_id(r->fs, r->ev[i]->id), 1);
    }
    /* The dead letter queue has no key on the event id, so the rewrite dead-letters the poison
     * a second time; recovering both is still safe, as the store skips the id it has. */
    assert_int_equal(fake_store_dlq_count(r->fs), 2);
    assert_int_equal(stats_of(r).breaker_state, BREAKER_CLOSED);
    rig_free(r);
}

/* ---- the operator's controls ------------------------------------------------------------ */

static void forced_open_makes_no_calls_until_reset(void **state)
{
    (void)state;
    rig *r = rig_new();
    rig_start(r);
    add_events(r, "..");
    writer_control_breaker(r->w, WRITER_FORCE_OPEN);
    writer_outcome out;
    char err[TT_ERRLEN] = "";
    assert_int_equal(write_all(r, &out, err), TT_EUNAVAILABLE);
    assert_string_equal(err, "circuit breaker forced_open: not calling the store");
    uint64_t retry_in;
    fake_clock_advance(&r->fc, 10 * OPEN_MS); /* time alone never leaves forced open */
    assert_false(writer_available(r->w, &retry_in));
    assert_int_equal(fake_store_insert_calls(r->fs), 0);
    writer_control_breaker(r->w, WRITER_RESET_BREAKER);
    assert_true(writer_available(r->w, &retry_in));
    assert_int_equal(write_all(r, &out, err), 0);
    assert_int_equal(out.stored, 2);
    assert_int_equal(stats_of(r).breaker_state, BREAKER_CLOSED);
    rig_free(r);
}

/* A disabled breaker judges nothing -- but the retries are not the breaker's: a transient
 * failure is still retried within the retry limits. */
static void disabled_breaker_still_retries(void **state)
{
    (void)state;
    rig *r = rig_new();
    r->opts.breaker.failure_threshold = 1;
    rig_start(r);
    add_events(r, "...");
    writer_control_breaker(r->w, WRITER_DISABLE_BREAKER);
    fake_store_fail_next(r->fs, 2);
    writer_outcome out;
    char err[TT_ERRLEN] = "";
    assert_int_equal(write_all(r, &out, err), 0);
    assert_int_equal(out.stored, 3);
    assert_int_equal(fake_store_insert_calls(r->fs), 3);
    writer_stats s = stats_of(r);
    assert_int_equal(s.retries, 2);
    assert_int_equal(s.breaker_state, BREAKER_DISABLED);
    rig_free(r);
}

/* A write waiting out a long retry delay looks again at once when the operator forces the
 * breaker open (writer_control_breaker wakes it), instead of sleeping the delay out. */
typedef struct bg_write {
    rig *r;
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    bool done;
    int rc;
    char err[TT_ERRLEN];
} bg_write;

static void *write_in_background(void *arg)
{
    bg_write *b = arg;
    writer_outcome out;
    char err[TT_ERRLEN];
    int rc = write_all(b->r, &out, err);
    pthread_mutex_lock(&b->lock);
    b->rc = rc;
    memcpy(b->err, err, sizeof err);
    b->done = true;
    pthread_cond_broadcast(&b->done_cond);
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

/* Waits for the background write to end; false if it is still going after a hang guard. */
static bool wait_done(bg_write *b)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&b->lock);
    int rc = 0;
    while (!b->done && rc == 0) {
        rc = pthread_cond_timedwait(&b->done_cond, &b->lock, &until);
    }
    bool done = b->done;
    pthread_mutex_unlock(&b->lock);
    return done;
}

static void forcing_open_wakes_a_retry_delay(void **state)
{
    (void)state;
    rig *r = rig_new();
    r->opts.breaker.failure_threshold = 100;
    r->opts.retry.base_ms = 3600000; /* an hour: the test ends long before, or fails */
    r->opts.retry.cap_ms = 3600000;
    r->fc.random = UINT32_MAX; /* the full delay */
    rig_start(r);
    add_events(r, ".");
    fake_store_set_mode(r->fs, FAKE_DOWN);
    bg_write b = {.r = r};
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.done_cond, NULL);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_in_background, &b), 0);
    fake_store_wait_calls(r->fs, 1); /* failed once: about to sleep, or sleeping */
    writer_control_breaker(r->w, WRITER_FORCE_OPEN);
    bool woke = wait_done(&b);
    if (!woke) {
        writer_interrupt(r->w); /* let the thread go, then fail */
    }
    pthread_join(t, NULL);
    assert_true(woke);
    assert_int_equal(b.rc, TT_EUNAVAILABLE);
    assert_string_equal(b.err, "circuit breaker forced_open: not calling the store");
    assert_int_equal(fake_store_insert_calls(r->fs), 1);
    pthread_cond_destroy(&b.done_cond);
    pthread_mutex_destroy(&b.lock);
    rig_free(r);
}

/* ---- dead letters, again ---------------------------------------------------------------- */

static void housekeeping_recovers_dead_letters(void **state)
{
    (void)state;
    rig *r = rig_new();
    rig_start(r);
    add_events(r, ".P.P");
    writer_outcome out;
    char err[TT_ERRLEN];
    assert_int_equal(write_all(r, &out, err), 0);
    assert_int_equal(fake_store_dlq_count(r->fs), 2);

    writer_housekeeping(r->w); /* still refused: each settles as one more failure */
    assert_int_equal(r->committed.count, 0);
    assert_int_equal(stats_of(r).dlq_retry_failures, 2);
    assert_int_equal(fake_store_dlq_status(r->fs, 0), DLQ_PENDING);

    fake_store_refuse_poison(r->fs, false); /* say, the schema was fixed */
    writer_housekeeping(r->w);
    assert_int_equal(r->committed.count, 2);
    assert_string_equal(r->committed.events[0]->id, "ev-01");
    assert_string_equal(r->committed.events[1]->id, "ev-03");
    assert_true(r->committed.events[0]->seq > 0);
    assert_int_equal(fake_store_rows_with_id(r->fs, "ev-01"), 1);
    assert_int_equal(fake_store_rows_with_id(r->fs, "ev-03"), 1);
    assert_int_equal(fake_store_dlq_status(r->fs, 0), DLQ_RECOVERED);
    assert_int_equal(fake_store_dlq_status(r->fs, 1), DLQ_RECOVERED);
    assert_int_equal(stats_of(r).dlq_recovered, 2);
    rig_free(r);
}

/* No store, no recovery: while the breaker is open housekeeping calls nothing. */
static void housekeeping_waits_for_a_closed_breaker(void **state)
{
    (void)state;
    rig *r = rig_new();
    rig_start(r);
    add_events(r, "P");
    writer_outcome out;
    char err[TT_ERRLEN];
    assert_int_equal(write_all(r, &out, err), 0);
    uint32_t calls = fake_store_insert_calls(r->fs);
    writer_control_breaker(r->w, WRITER_FORCE_OPEN);
    fake_store_refuse_poison(r->fs, false);
    writer_housekeeping(r->w);
    assert_int_equal(fake_store_insert_calls(r->fs), calls);
    assert_int_equal(fake_store_dlq_status(r->fs, 0), DLQ_PENDING);
    writer_control_breaker(r->w, WRITER_RESET_BREAKER);
    writer_housekeeping(r->w);
    assert_int_equal(fake_store_dlq_status(r->fs, 0), DLQ_RECOVERED);
    rig_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(poison_first),
        cmocka_unit_test(poison_last),
        cmocka_unit_test(poison_everywhere),
        cmocka_unit_test(poison_mixed),
        cmocka_unit_test(poison_alone),
        cmocka_unit_test(no_poison_is_one_call),
        cmocka_unit_test(split_halves_until_the_poison_is_alone),
        cmocka_unit_test(rewrite_is_idempotent),
        cmocka_unit_test(dead_letter_queue_failure_is_an_outage),
        cmocka_unit_test(transient_failures_are_retried),
        cmocka_unit_test(retries_stop_at_max_attempts),
        cmocka_unit_test(retry_budget_runs_on_the_injected_clock),
        cmocka_unit_test(transient_failure_during_a_split_is_retried),
        cmocka_unit_test(breaker_opens_after_consecutive_failures_and_retries_stop),
        cmocka_unit_test(open_breaker_makes_no_calls),
        cmocka_unit_test(available_reports_when_to_look_again),
        cmocka_unit_test(half_open_probe_closes_the_breaker),
        cmocka_unit_test(failed_probe_reopens_without_retry),
        cmocka_unit_test(breaker_needs_close_after_good_probes),
        cmocka_unit_test(refusals_do_not_open_the_breaker),
        cmocka_unit_test(outage_during_a_split_then_rewrite),
        cmocka_unit_test(forced_open_makes_no_calls_until_reset),
        cmocka_unit_test(disabled_breaker_still_retries),
        cmocka_unit_test(forcing_open_wakes_a_retry_delay),
        cmocka_unit_test(housekeeping_recovers_dead_letters),
        cmocka_unit_test(housekeeping_waits_for_a_closed_breaker),
    };
    return cmocka_run_group_tests_name("writer", tests, NULL, NULL);
}
