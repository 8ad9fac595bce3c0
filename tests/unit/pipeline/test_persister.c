/* test_persister.c -- group commit: jobs waiting in the queue are committed together, up to the
 * batch size and never split, through a writer on a fake store; each job is handed back once,
 * in commit order, with its own result and counts, and a failing store answers every job of the
 * batch with the failure. Jobs are tagged by their events (names "job-<tag>"), nothing else.
 *
 * Most tests queue every job and close the queue before the persister starts, so the batches
 * it forms are fixed by the queue's contents alone, and persister_join() is the one wait. */
#include "pipeline/persister.h"

#include "fake_clock.h"
#include "fake_store.h"
#include "pipeline/writer.h"

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

#define MAX_JOBS 32

/* What came back through 'done', in order. Written on the persister's thread; read by the
 * test after persister_join() or under 'lock'. */
typedef struct answers {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    unsigned tags[MAX_JOBS]; /* in the order handed back */
    int results[MAX_JOBS];
    uint32_t stored[MAX_JOBS], duplicates[MAX_JOBS];
    bool store_seqs[MAX_JOBS];
    char errs[MAX_JOBS][TT_ERRLEN];
    unsigned count;
    unsigned times_handed_back[MAX_JOBS]; /* by tag */
    unsigned done_calls;
    unsigned idle_calls;
    unsigned settle_busy, settle_idle; /* settle hook calls, by its 'idle' */
    unsigned answered_at_first_settle; /* jobs handed back when it first ran after a batch */
    unsigned settle_more;              /* the settle hook says more is waiting this many times */
    unsigned idle_at_last_more;        /* idle hook calls when it last said so */
} answers;

typedef struct rig {
    fake_store *fs;
    fake_clock fc;
    writer *w;
    job_queue *q;
    persister_opts opts;
    answers a;
} rig;

/* The job's tag, from its first event's name; 0 (no job has it) if there is none. Runs on the
 * persister's thread, so it reports through the answers rather than asserting. */
static unsigned tag_of(const ingest_job *job)
{
    unsigned tag = 0;
    if (job->batch.count == 0 || job->batch.events[0]->name == NULL ||
        sscanf(job->batch.events[0]->name, "job-%u", &tag) != 1 || tag >= MAX_JOBS) {
        return 0;
    }
    return tag;
}

static void on_done(ingest_job *jobs, void *ctx)
{
    rig *r = ctx;
    pthread_mutex_lock(&r->a.lock);
    r->a.done_calls++;
    while (jobs != NULL) {
        ingest_job *next = jobs->next;
        unsigned tag = tag_of(jobs), i = r->a.count++ % MAX_JOBS;
        r->a.tags[i] = tag;
        r->a.results[i] = jobs->result;
        r->a.stored[i] = jobs->stored;
        r->a.duplicates[i] = jobs->duplicates;
        r->a.store_seqs[i] = jobs->store_seqs;
        snprintf(r->a.errs[i], TT_ERRLEN, "%s", jobs->err);
        r->a.times_handed_back[tag]++;
        queue_release(r->q, jobs->batch.count, jobs->batch.bytes);
        ingest_job_free(jobs);
        jobs = next;
    }
    pthread_cond_broadcast(&r->a.changed);
    pthread_mutex_unlock(&r->a.lock);
}

/* The embedded pipeline's commit: the writer, straight to the store. */
static int commit_through_writer(tt_event *const *events, size_t n, void *ctx, char *err)
{
    rig *r = ctx;
    writer_outcome out;
    return writer_write(r->w, events, n, &out, err);
}

static void count_idle(void *ctx)
{
    rig *r = ctx;
    pthread_mutex_lock(&r->a.lock);
    r->a.idle_calls++;
    pthread_cond_broadcast(&r->a.changed);
    pthread_mutex_unlock(&r->a.lock);
}

static bool count_settle(void *ctx, bool idle)
{
    rig *r = ctx;
    pthread_mutex_lock(&r->a.lock);
    if (!idle && r->a.settle_busy++ == 0) {
        r->a.answered_at_first_settle = r->a.count;
    }
    r->a.settle_idle += idle;
    bool more = r->a.settle_more > 0;
    if (more) {
        r->a.settle_more--;
        r->a.idle_at_last_more = r->a.idle_calls;
    }
    pthread_cond_broadcast(&r->a.changed);
    pthread_mutex_unlock(&r->a.lock);
    return more;
}

static rig *rig_new(uint32_t batch_size)
{
    rig *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->fs = fake_store_new();
    fake_clock_init(&r->fc);
    writer_opts wo = {.dlq_max_retries = 3, .dlq_lease_ms = 60000};
    breaker_cfg_default(&wo.breaker);
    wo.breaker.failure_threshold = 100;
    backoff_cfg_default(&wo.retry);
    wo.retry.base_ms = wo.retry.cap_ms = 1;
    wo.retry.max_attempts = 1;
    wo.clock = fake_clock_hooks(&r->fc);
    assert_int_equal(writer_create(fake_store_base(r->fs), &wo, &r->w), 0);
    assert_int_equal(queue_create(1000, UINT64_MAX, &r->q), 0);
    r->opts = (persister_opts){.batch_size = batch_size,
                               .flush_ms = 60000, /* never reached: the queue is closed */
                               .commit = commit_through_writer,
                               .ctx = r,
                               .store_seqs = true};
    pthread_mutex_init(&r->a.lock, NULL);
    pthread_cond_init(&r->a.changed, NULL);
    return r;
}

static void rig_free(rig *r)
{
    queue_destroy(r->q);
    writer_free(r->w);
    store_close(fake_store_base(r->fs));
    pthread_cond_destroy(&r->a.changed);
    pthread_mutex_destroy(&r->a.lock);
    free(r);
}

/* Queues a job of 'n' events, named "job-<tag>" (or "poison" for the events 'poison' marks,
 * a string of '.' and 'P' as long as n, or NULL; never the first, which tags the job), with
 * ids "j<tag>-<i>" unless 'same_ids_as' gives another tag's ids. */
static void push_job(rig *r, unsigned tag, size_t n, const char *poison, unsigned same_ids_as)
{
    ingest_job *job = calloc(1, sizeof *job);
    assert_non_null(job);
    job->batch.events = calloc(n, sizeof *job->batch.events);
    assert_non_null(job->batch.events);
    char name[32];
    snprintf(name, sizeof name, "job-%u", tag);
    assert_true(poison == NULL || poison[0] != 'P');
    for (size_t i = 0; i < n; i++) {
        bool bad = poison != NULL && poison[i] == 'P';
        tt_event proto = {.type = "test", .name = bad ? "poison" : name, .ts_ms = 1};
        snprintf(proto.id, sizeof proto.id, "j%u-%zu", same_ids_as ? same_ids_as : tag, i);
        job->batch.events[i] = event_clone(&proto);
        assert_non_null(job->batch.events[i]);
        job->batch.bytes += job->batch.events[i]->size;
    }
    job->batch.count = n;
    assert_int_equal(queue_push(r->q, job), 0);
}

/* Runs the persister over what is queued: closes the queue, starts it, waits for the end. */
static void persist_all(rig *r)
{
    queue_close(r->q);
    persister *p = NULL;
    assert_int_equal(persister_start(r->q, &r->opts, on_done, r, &p), 0);
    persister_join(p);
    assert_int_equal(queue_inflight(r->q), 0); /* every job answered and released */
}

/* Waits until 'count' jobs were answered and the idle hook ran 'idle' times; fails after a
 * hang guard (not a timing assertion). */
static void wait_answers(rig *r, unsigned count, unsigned idle)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&r->a.lock);
    int rc = 0;
    while ((r->a.count < count || r->a.idle_calls < idle) && rc == 0) {
        rc = pthread_cond_timedwait(&r->a.changed, &r->a.lock, &until);
    }
    bool ok = r->a.count >= count && r->a.idle_calls >= idle;
    pthread_mutex_unlock(&r->a.lock);
    assert_true(ok);
}

/* Checks that jobs 1..n came back once each, in order, with result 'rc'. */
static void expect_answers_in_order(rig *r, unsigned n, int rc)
{
    assert_int_equal(r->a.count, n);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(r->a.tags[i], i + 1);
        assert_int_equal(r->a.times_handed_back[i + 1], 1);
        assert_int_equal(r->a.results[i], rc);
    }
}

static void check_call_sizes(rig *r, const size_t *sizes, uint32_t n)
{
    assert_int_equal(fake_store_insert_calls(r->fs), n);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(fake_store_call_size(r->fs, i), sizes[i]);
    }
}

/* ---- tests ------------------------------------------------------------------------------ */

static void queued_jobs_are_committed_in_one_call(void **state)
{
    (void)state;
    rig *r = rig_new(100);
    for (unsigned tag = 1; tag <= 5; tag++) {
        push_job(r, tag, 3, NULL, 0);
    }
    persist_all(r);
    const size_t sizes[] = {15};
    check_call_sizes(r, sizes, 1);
    expect_answers_in_order(r, 5, 0);
    assert_int_equal(r->a.done_calls, 1); /* one batch, one hand-back */
    for (unsigned i = 0; i < 5; i++) {
        assert_int_equal(r->a.stored[i], 3);
        assert_int_equal(r->a.duplicates[i], 0);
        assert_true(r->a.store_seqs[i]);
    }
    /* In the store, in queue order. */
    char id[EVENT_ID_MAX + 1];
    fake_store_row(r->fs, 0, id);
    assert_string_equal(id, "j1-0");
    fake_store_row(r->fs, 14, id);
    assert_string_equal(id, "j5-2");
    rig_free(r);
}

/* A batch closes once it holds batch_size events; the job that crosses the line is in it
 * whole (a request is durable all or nothing), the next one starts the next batch. */
static void batch_size_bounds_a_group(void **state)
{
    (void)state;
    rig *r = rig_new(10);
    for (unsigned tag = 1; tag <= 5; tag++) {
        push_job(r, tag, 3, NULL, 0);
    }
    persist_all(r);
    const size_t sizes[] = {12, 3};
    check_call_sizes(r, sizes, 2);
    expect_answers_in_order(r, 5, 0);
    assert_int_equal(r->a.done_calls, 2);
    rig_free(r);
}

static void a_job_is_never_split(void **state)
{
    (void)state;
    rig *r = rig_new(4);
    push_job(r, 1, 2, NULL, 0);
    push_job(r, 2, 7, NULL, 0); /* larger than a batch */
    push_job(r, 3, 2, NULL, 0);
    push_job(r, 4, 4, NULL, 0);
    persist_all(r);
    const size_t sizes[] = {9, 6};
    check_call_sizes(r, sizes, 2);
    expect_answers_in_order(r, 4, 0);
    assert_int_equal(r->a.stored[1], 7);
    rig_free(r);
}

/* Under a backlog a batch goes on with the jobs already queued, past batch_size, up to
 * backlog_size; the job that crosses it is in whole, the rest start the next batch. */
static void a_backlog_makes_larger_batches(void **state)
{
    (void)state;
    rig *r = rig_new(4);
    r->opts.backlog_size = 10;
    for (unsigned tag = 1; tag <= 6; tag++) {
        push_job(r, tag, 3, NULL, 0);
    }
    persist_all(r);
    const size_t sizes[] = {12, 6};
    check_call_sizes(r, sizes, 2);
    expect_answers_in_order(r, 6, 0);
    rig_free(r);
}

/* Every job of a failed batch gets the failure and the store's words; none is lost, none
 * answered twice. */
static void a_failing_store_answers_each_job_with_the_failure(void **state)
{
    (void)state;
    rig *r = rig_new(6);
    fake_store_set_mode(r->fs, FAKE_DOWN);
    for (unsigned tag = 1; tag <= 4; tag++) {
        push_job(r, tag, 2, NULL, 0);
    }
    persist_all(r);
    expect_answers_in_order(r, 4, TT_EUNAVAILABLE);
    for (unsigned i = 0; i < 4; i++) {
        assert_string_equal(r->a.errs[i], "fake store: down");
        assert_int_equal(r->a.stored[i], 0);
    }
    assert_int_equal(r->a.done_calls, 2);
    assert_int_equal(fake_store_rows(r->fs), 0);
    /* Two batches of 6 and 2, each tried and retried once. */
    const size_t sizes[] = {6, 6, 2, 2};
    check_call_sizes(r, sizes, 4);
    rig_free(r);
}

/* Each job's counts are its own: a job of events already stored has only duplicates, and a
 * refused event (dead-lettered, still durable) is neither stored nor a duplicate. */
static void counts_are_per_job(void **state)
{
    (void)state;
    rig *r = rig_new(100);
    push_job(r, 1, 3, NULL, 0);
    push_job(r, 2, 3, NULL, 1);   /* the same ids as job 1 */
    push_job(r, 3, 4, ".P.P", 0); /* two refused */
    persist_all(r);
    expect_answers_in_order(r, 3, 0);
    assert_int_equal(r->a.stored[0], 3);
    assert_int_equal(r->a.duplicates[0], 0);
    assert_int_equal(r->a.stored[1], 0);
    assert_int_equal(r->a.duplicates[1], 3);
    assert_int_equal(r->a.stored[2], 2);
    assert_int_equal(r->a.duplicates[2], 0);
    assert_int_equal(fake_store_rows(r->fs), 5);
    assert_int_equal(fake_store_dlq_count(r->fs), 2);
    rig_free(r);
}

/* The stats agree with the answers. */
static void stats_count_batches_events_and_failures(void **state)
{
    (void)state;
    rig *r = rig_new(4);
    push_job(r, 1, 4, NULL, 0);
    push_job(r, 2, 4, NULL, 1); /* duplicates of job 1 */
    queue_close(r->q);
    persister *p = NULL;
    assert_int_equal(persister_start(r->q, &r->opts, on_done, r, &p), 0);
    wait_answers(r, 2, 0); /* the stats are read before the join frees them */
    persister_stats s;
    persister_get_stats(p, &s);
    persister_join(p);
    assert_int_equal(s.batches, 2);
    assert_int_equal(s.events, 4);
    assert_int_equal(s.duplicates, 4);
    assert_int_equal(s.failed_batches, 0);
    assert_int_equal(s.commit_seconds.count, 2);
    rig_free(r);

    r = rig_new(4);
    fake_store_set_mode(r->fs, FAKE_DOWN);
    push_job(r, 1, 3, NULL, 0);
    queue_close(r->q);
    assert_int_equal(persister_start(r->q, &r->opts, on_done, r, &p), 0);
    wait_answers(r, 1, 0);
    persister_get_stats(p, &s);
    persister_join(p);
    assert_int_equal(s.batches, 0);
    assert_int_equal(s.failed_batches, 1);
    assert_int_equal(s.failed_events, 3);
    rig_free(r);
}

/* A job pushed while the persister runs is committed once flush_ms is up (1 ms here) even
 * though the batch is not full, and the persister's idle hook runs while nothing comes. */
static void a_lone_job_is_flushed_and_idle_time_is_used(void **state)
{
    (void)state;
    rig *r = rig_new(100);
    r->opts.flush_ms = 1;
    r->opts.idle = count_idle;
    persister *p = NULL;
    assert_int_equal(persister_start(r->q, &r->opts, on_done, r, &p), 0);
    push_job(r, 1, 2, NULL, 0);
    wait_answers(r, 1, 1);
    queue_close(r->q);
    persister_join(p);
    expect_answers_in_order(r, 1, 0);
    assert_int_equal(fake_store_rows(r->fs), 2);
    rig_free(r);
}

/* Once batches have a history, a batch stops waiting when it holds as many jobs as the most a
 * recent batch held, not when flush_ms is up (60 s here: the hang guard of wait_answers fails
 * long before): producers that wait for their answers have no more in flight. It still takes
 * every job that comes while it waits for those. */
static void a_batch_stops_waiting_once_it_holds_the_jobs_recent_ones_did(void **state)
{
    (void)state;
    rig *r = rig_new(100);
    persister *p = NULL;
    assert_int_equal(persister_start(r->q, &r->opts, on_done, r, &p), 0);
    push_job(r, 1, 50, NULL, 0);
    push_job(r, 2, 50, NULL, 0); /* batch_size reached: two jobs */
    wait_answers(r, 2, 0);
    push_job(r, 3, 1, NULL, 0);
    usleep(50 * 1000); /* the persister is waiting with job 3 when job 4 comes */
    push_job(r, 4, 1, NULL, 0);
    wait_answers(r, 4, 0);
    queue_close(r->q);
    persister_join(p);
    const size_t sizes[] = {100, 2};
    check_call_sizes(r, sizes, 2);
    expect_answers_in_order(r, 4, 0);
    rig_free(r);
}

/* The settle hook (the session index's batches, store_index_sessions) runs after a batch's
 * jobs are handed back -- never before their answer -- and again once the queue is quiet. */
static void settle_runs_after_the_answers_and_when_idle(void **state)
{
    (void)state;
    rig *r = rig_new(100);
    r->opts.flush_ms = 1;
    r->opts.idle = count_idle;
    r->opts.settle = count_settle;
    persister *p = NULL;
    assert_int_equal(persister_start(r->q, &r->opts, on_done, r, &p), 0);
    push_job(r, 1, 2, NULL, 0);
    wait_answers(r, 1, 1); /* the idle hook ran: the queue was quiet */
    queue_close(r->q);
    persister_join(p);
    assert_int_equal(r->a.settle_busy, 1);
    assert_int_equal(r->a.answered_at_first_settle, 1);
    assert_true(r->a.settle_idle >= 1);
    rig_free(r);
}

/* While the settle hook has more waiting, the persister calls it again at once when the queue
 * is quiet, without waiting IDLE_POLL_MS (1 s) before each call, and without running the idle
 * hook (housekeeping) between them: five calls come before the first idle hook call. */
static void settle_with_more_waiting_is_called_again_at_once(void **state)
{
    (void)state;
    rig *r = rig_new(100);
    r->opts.flush_ms = 1;
    r->opts.idle = count_idle;
    r->opts.settle = count_settle;
    r->a.settle_more = 5;
    persister *p = NULL;
    assert_int_equal(persister_start(r->q, &r->opts, on_done, r, &p), 0);
    push_job(r, 1, 2, NULL, 0);
    wait_answers(r, 1, 1);
    queue_close(r->q);
    persister_join(p);
    assert_int_equal(r->a.settle_more, 0);
    assert_int_equal(r->a.settle_busy, 1);
    assert_true(r->a.settle_idle >= 5);
    assert_int_equal(r->a.idle_at_last_more, 0);
    rig_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(queued_jobs_are_committed_in_one_call),
        cmocka_unit_test(batch_size_bounds_a_group),
        cmocka_unit_test(a_job_is_never_split),
        cmocka_unit_test(a_backlog_makes_larger_batches),
        cmocka_unit_test(a_failing_store_answers_each_job_with_the_failure),
        cmocka_unit_test(counts_are_per_job),
        cmocka_unit_test(stats_count_batches_events_and_failures),
        cmocka_unit_test(a_lone_job_is_flushed_and_idle_time_is_used),
        cmocka_unit_test(a_batch_stops_waiting_once_it_holds_the_jobs_recent_ones_did),
        cmocka_unit_test(settle_runs_after_the_answers_and_when_idle),
        cmocka_unit_test(settle_with_more_waiting_is_called_again_at_once),
    };
    return cmocka_run_group_tests_name("persister", tests, NULL, NULL);
}
