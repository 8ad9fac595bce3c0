/* test_shipper.c -- the shipper between a real spool (SQLite in a mkdtemp directory) and a fake
 * remote store, its writer on a fake clock: batches go in spool order and leave the spool only
 * once stored; an outage stalls it without losing or reordering anything, and no call goes
 * out while the breaker is open; a new shipper on the same spool ships what the last one left,
 * and an answer lost after a commit stores nothing twice (ids make the replay idempotent).
 *
 * The tests wait on conditions: the fake store's calls and rows, the batches handed to the
 * committed callback (which the shipper calls once the store committed them) and the spool
 * emptied (a second thread releases what was committed, and reads the next batch ahead). */
#include "pipeline/shipper.h"

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
#include <unistd.h>

#define OPEN_MS 1000
#define FAILURES_TO_OPEN 3
#define MAX_SHIPPED 256

typedef struct rig {
    char dir[64];
    fake_store *fs;
    fake_clock fc;
    spool *sp;
    writer *w;
    shipper *sh;
    /* what the committed callback received, in order (shipper thread; under 'lock') */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    char ids[MAX_SHIPPED][EVENT_ID_MAX + 1];
    int64_t seqs[MAX_SHIPPED];
    size_t shipped;
    size_t batches;
} rig;

static void on_committed(event_batch *b, void *ctx)
{
    rig *r = ctx;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < b->count && r->shipped < MAX_SHIPPED; i++) {
        snprintf(r->ids[r->shipped], EVENT_ID_MAX + 1, "%s", b->events[i]->id);
        r->seqs[r->shipped++] = b->events[i]->seq;
    }
    r->batches++;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    event_batch_free(b);
}

/* Waits until 'n' events have been shipped; fails after a hang guard. */
static void wait_shipped(rig *r, size_t n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&r->lock);
    int rc = 0;
    while (r->shipped < n && rc == 0) {
        rc = pthread_cond_timedwait(&r->changed, &r->lock, &until);
    }
    size_t got = r->shipped;
    pthread_mutex_unlock(&r->lock);
    if (got < n) {
        fail_msg("waited in vain for %zu shipped events (have %zu)", n, got);
    }
}

static void open_spool(rig *r)
{
    char err[TT_ERRLEN] = "";
    if (spool_open(r->dir, 1 << 24, &r->sp, err) != 0) {
        fail_msg("spool_open: %s", err);
    }
}

/* A writer as the pipeline makes one, but on the fake clock with no jitter. */
static void make_writer(rig *r)
{
    writer_opts o = {.dlq_max_retries = 3, .dlq_lease_ms = 60000};
    breaker_cfg_default(&o.breaker);
    o.breaker.failure_threshold = FAILURES_TO_OPEN;
    o.breaker.rate_min_calls = 1000;
    o.breaker.open_ms = OPEN_MS;
    o.breaker.close_after = 1;
    backoff_cfg_default(&o.retry);
    o.retry.base_ms = o.retry.cap_ms = 1;
    o.retry.max_attempts = 10; /* the breaker, not the retry limit, ends a write in an outage */
    o.clock = fake_clock_hooks(&r->fc);
    assert_int_equal(writer_create(fake_store_base(r->fs), &o, &r->w), 0);
}

static void start_shipper(rig *r, uint32_t batch_size)
{
    make_writer(r);
    assert_int_equal(shipper_start(r->sp, r->w, batch_size, on_committed, r, &r->sh), 0);
}

/* Stops the shipper and closes the spool, as a daemon's shutdown does. */
static void stop_all(rig *r)
{
    shipper_stop(r->sh);
    r->sh = NULL;
    writer_free(r->w);
    r->w = NULL;
    spool_close(r->sp);
    r->sp = NULL;
}

static int setup(void **state)
{
    rig *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return -1;
    }
    snprintf(r->dir, sizeof r->dir, "/tmp/tt-shipper-XXXXXX");
    if (mkdtemp(r->dir) == NULL) {
        free(r);
        return -1;
    }
    r->fs = fake_store_new();
    fake_clock_init(&r->fc);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->changed, NULL);
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    rig *r = *state;
    stop_all(r);
    store_close(fake_store_base(r->fs));
    const char *files[] = {"spool.db", "spool.db-wal", "spool.db-shm", "spool.lock"};
    char path[128];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", r->dir, files[i]);
        unlink(path);
    }
    rmdir(r->dir);
    pthread_cond_destroy(&r->changed);
    pthread_mutex_destroy(&r->lock);
    free(r);
    return 0;
}

/* Appends events "e<first>" .. in one durable spool commit; 'poison' marks refused ones. */
static void append(rig *r, unsigned first, unsigned n, const char *poison)
{
    tt_event *evs[64];
    assert_true(n <= 64);
    for (unsigned i = 0; i < n; i++) {
        bool bad = poison != NULL && poison[i] == 'P';
        tt_event proto = {.type = "test", .name = bad ? "poison" : "good", .ts_ms = 1};
        snprintf(proto.id, sizeof proto.id, "e%03u", first + i);
        evs[i] = event_clone(&proto);
        assert_non_null(evs[i]);
    }
    char err[TT_ERRLEN];
    assert_int_equal(spool_append(r->sp, evs, n, err), 0);
    for (unsigned i = 0; i < n; i++) {
        event_free(evs[i]);
    }
}

/* The remote store holds events e000 .. e<n-1>, each once, in that order. */
static void expect_remote_rows(rig *r, unsigned n)
{
    assert_int_equal(fake_store_rows(r->fs), n);
    for (unsigned i = 0; i < n; i++) {
        char id[EVENT_ID_MAX + 1], want[16];
        fake_store_row(r->fs, i, id);
        snprintf(want, sizeof want, "e%03u", i);
        assert_string_equal(id, want);
        assert_int_equal(fake_store_rows_with_id(r->fs, want), 1);
    }
}

static uint64_t spool_waiting(rig *r)
{
    spool_stats s;
    spool_get_stats(r->sp, &s);
    return s.events;
}

/* Waits until the spool is empty: the reader thread deletes what was shipped after the store
 * committed it, while the shipper thread goes on. Fails after a hang guard. */
static void wait_spool_empty(rig *r)
{
    for (int i = 0; i < 30000 && spool_waiting(r) > 0; i++) {
        usleep(1000);
    }
    assert_int_equal(spool_waiting(r), 0);
}

/* Waits until the shipper says it waits for the store (its write has given up). */
static void wait_for_store(rig *r)
{
    shipper_stats st = {0};
    for (int i = 0; i < 30000 && !st.waiting; i++) {
        shipper_get_stats(r->sh, &st);
        if (!st.waiting) {
            usleep(1000);
        }
    }
    assert_true(st.waiting);
}

/* ---- tests ------------------------------------------------------------------------------ */

/* The first transaction takes one batch; it came back full, so the next takes up to
 * SHIPPER_BACKLOG_BATCHES batches (here all that is left). */
static void ships_in_spool_order_in_batches(void **state)
{
    rig *r = *state;
    open_spool(r);
    append(r, 0, 4, NULL);
    append(r, 4, 13, NULL);
    append(r, 17, 8, NULL);
    start_shipper(r, 10);
    wait_shipped(r, 25);
    expect_remote_rows(r, 25);
    assert_int_equal(fake_store_insert_calls(r->fs), 2);
    assert_int_equal(fake_store_call_size(r->fs, 0), 10);
    assert_int_equal(fake_store_call_size(r->fs, 1), 15);
    for (size_t i = 0; i < 25; i++) {
        char want[16];
        snprintf(want, sizeof want, "e%03zu", i);
        assert_string_equal(r->ids[i], want);
        assert_int_equal(r->seqs[i], (int64_t)i + 1); /* the store's seqs, not the spool's */
    }
    wait_spool_empty(r);
    shipper_stats s;
    shipper_get_stats(r->sh, &s);
    assert_int_equal(s.batches, 2);
    assert_int_equal(s.events, 25);
    assert_int_equal(s.stalls, 0);
}

/* Under a backlog each transaction takes SHIPPER_BACKLOG_BATCHES batches while full ones keep
 * coming back; once one comes back short (the backlog is gone), the next takes one batch. */
static void a_backlog_widens_transactions_and_a_trickle_narrows_them(void **state)
{
    rig *r = *state;
    open_spool(r);
    append(r, 0, 40, NULL);
    start_shipper(r, 2);
    wait_shipped(r, 40);
    const size_t wide = 2 * SHIPPER_BACKLOG_BATCHES;
    assert_int_equal(fake_store_insert_calls(r->fs), 4);
    assert_int_equal(fake_store_call_size(r->fs, 0), 2);
    assert_int_equal(fake_store_call_size(r->fs, 1), wide);
    assert_int_equal(fake_store_call_size(r->fs, 2), wide);
    assert_int_equal(fake_store_call_size(r->fs, 3), 40 - 2 - 2 * wide);
    append(r, 40, 5, NULL);
    shipper_wake(r->sh);
    wait_shipped(r, 45);
    /* The short one ended the backlog: one batch first, then widened again for the rest. */
    assert_int_equal(fake_store_insert_calls(r->fs), 6);
    assert_int_equal(fake_store_call_size(r->fs, 4), 2);
    assert_int_equal(fake_store_call_size(r->fs, 5), 3);
    expect_remote_rows(r, 45);
    wait_spool_empty(r);
}

/* Events appended while it runs are shipped once it is woken. */
static void wake_ships_what_was_appended(void **state)
{
    rig *r = *state;
    open_spool(r);
    start_shipper(r, 10);
    append(r, 0, 3, NULL);
    shipper_wake(r->sh);
    wait_shipped(r, 3);
    append(r, 3, 2, NULL);
    shipper_wake(r->sh);
    wait_shipped(r, 5);
    expect_remote_rows(r, 5);
    wait_spool_empty(r);
}

/* While the remote is down the events stay in the spool; the breaker opens and the shipper
 * makes no call until it may probe; then everything goes, once, in order. */
static void survives_the_remote_being_down(void **state)
{
    rig *r = *state;
    open_spool(r);
    append(r, 0, 6, NULL);
    fake_store_set_mode(r->fs, FAKE_DOWN);
    start_shipper(r, 4);
    fake_store_wait_calls(r->fs, FAILURES_TO_OPEN); /* the breaker opens on the last */
    wait_for_store(r);                              /* ... at the clock's time */
    append(r, 6, 2, NULL);                          /* traffic goes on meanwhile */
    shipper_wake(r->sh);
    assert_int_equal(spool_waiting(r), 8);
    assert_int_equal(fake_store_rows(r->fs), 0);
    assert_int_equal(fake_store_insert_calls(r->fs), FAILURES_TO_OPEN); /* nothing while open */

    fake_store_set_mode(r->fs, FAKE_UP);
    fake_clock_advance(&r->fc, OPEN_MS); /* the breaker may let a probe out */
    shipper_wake(r->sh);
    wait_shipped(r, 8);
    expect_remote_rows(r, 8);
    /* The failed tries (a full batch: a backlog), then the probe, which takes what was read
     * again after the failure (up to SHIPPER_BACKLOG_BATCHES batches): the six there were, or
     * all eight if the two appended meanwhile came before that read; then the rest. */
    size_t calls = fake_store_insert_calls(r->fs);
    assert_in_range(calls, FAILURES_TO_OPEN + 1, FAILURES_TO_OPEN + 2);
    assert_int_equal(fake_store_call_size(r->fs, 0), 4);
    assert_in_range(fake_store_call_size(r->fs, FAILURES_TO_OPEN), 6, 8);
    size_t after = 0;
    for (size_t i = FAILURES_TO_OPEN; i < calls; i++) {
        after += fake_store_call_size(r->fs, i);
    }
    assert_int_equal(after, 8);
    wait_spool_empty(r);
    shipper_stats s;
    shipper_get_stats(r->sh, &s);
    assert_int_equal(s.stalls, 1);
    assert_false(s.waiting);
    assert_int_equal(s.events, 8);
}

/* The store commits a first transaction, then fails the next until the breaker opens: the
 * shipper reads again from the event after the last committed one (not from the oldest in the
 * spool, which is still being released, nor after what it had read ahead), so once the store
 * is back every event is in it once, in order. */
static void a_failure_after_a_commit_reads_again_from_there(void **state)
{
    rig *r = *state;
    open_spool(r);
    append(r, 0, 12, NULL);
    fake_store_fail_calls(r->fs, 1, FAILURES_TO_OPEN);
    start_shipper(r, 4);
    wait_shipped(r, 4);
    fake_store_wait_calls(r->fs, 1 + FAILURES_TO_OPEN);
    wait_for_store(r); /* the write has failed: the breaker opened at the clock's time */
    assert_int_equal(fake_store_rows(r->fs), 4);
    fake_clock_advance(&r->fc, OPEN_MS);
    shipper_wake(r->sh);
    wait_shipped(r, 12);
    expect_remote_rows(r, 12);
    assert_int_equal(fake_store_insert_calls(r->fs), 2 + FAILURES_TO_OPEN);
    assert_int_equal(fake_store_call_size(r->fs, 0), 4);
    assert_int_equal(fake_store_call_size(r->fs, 1 + FAILURES_TO_OPEN), 8);
    for (size_t i = 4; i < 12; i++) {
        assert_int_equal(r->seqs[i], (int64_t)i + 1); /* new rows: nothing sent twice */
    }
    wait_spool_empty(r);
}

/* A new shipper on the same spool ships what the stopped one could not, then what came
 * after, in order. */
static void a_restart_ships_what_was_left(void **state)
{
    rig *r = *state;
    open_spool(r);
    append(r, 0, 4, NULL);
    fake_store_set_mode(r->fs, FAKE_DOWN);
    start_shipper(r, 10);
    fake_store_wait_calls(r->fs, FAILURES_TO_OPEN);
    stop_all(r);

    fake_store_set_mode(r->fs, FAKE_UP);
    open_spool(r);
    assert_int_equal(spool_waiting(r), 4);
    append(r, 4, 3, NULL);
    start_shipper(r, 10);
    wait_shipped(r, 7);
    expect_remote_rows(r, 7);
    wait_spool_empty(r);
}

/* The remote commits a batch but its answer is lost: the shipper cannot know, keeps the batch
 * in the spool and sends it again (here after a restart). The ids make that a no-op: every
 * event is in the store once, and the spool is emptied. */
static void a_lost_answer_is_replayed_without_duplicates(void **state)
{
    rig *r = *state;
    open_spool(r);
    append(r, 0, 5, NULL);
    fake_store_set_mode(r->fs, FAKE_LOST_ACK);
    start_shipper(r, 10);
    fake_store_wait_calls(r->fs, FAILURES_TO_OPEN);
    stop_all(r);
    assert_int_equal(fake_store_rows(r->fs), 5); /* committed on the first call */

    fake_store_set_mode(r->fs, FAKE_UP);
    open_spool(r);
    assert_int_equal(spool_waiting(r), 5);
    start_shipper(r, 10);
    wait_shipped(r, 5);
    expect_remote_rows(r, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(r->seqs[i], 0); /* duplicates: stored already */
    }
    wait_spool_empty(r);
}

/* Events the remote refuses go to its dead letter queue and leave the spool with the rest:
 * they are durable there, and shipping them again would only refuse them again. */
static void refused_events_are_dead_lettered_and_released(void **state)
{
    rig *r = *state;
    open_spool(r);
    append(r, 0, 5, ".P..P");
    start_shipper(r, 10);
    wait_shipped(r, 5);
    assert_int_equal(fake_store_rows(r->fs), 3);
    assert_int_equal(fake_store_dlq_count(r->fs), 2);
    assert_int_equal(r->seqs[1], WRITER_DEAD_LETTERED);
    assert_int_equal(r->seqs[4], WRITER_DEAD_LETTERED);
    wait_spool_empty(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ships_in_spool_order_in_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(a_backlog_widens_transactions_and_a_trickle_narrows_them,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(wake_ships_what_was_appended, setup, teardown),
        cmocka_unit_test_setup_teardown(survives_the_remote_being_down, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failure_after_a_commit_reads_again_from_there, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_restart_ships_what_was_left, setup, teardown),
        cmocka_unit_test_setup_teardown(a_lost_answer_is_replayed_without_duplicates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(refused_events_are_dead_lettered_and_released, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("shipper", tests, NULL, NULL);
}
