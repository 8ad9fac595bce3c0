/* test_queue.c -- the bounded job queue: capacity counted from push to release, FIFO order,
 * time-outs, close-then-drain, and real producer and consumer threads that wait on
 * conditions (never on sleeps). Assertions run on the main thread only. */
#include "pipeline/queue.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A job of 'n' events, tagged in 'done_ctx'. */
static ingest_job *make_job(size_t n, uint64_t tag)
{
    ingest_job *job = calloc(1, sizeof *job);
    assert_non_null(job);
    job->done_ctx = (void *)(uintptr_t)(tag);
    job->batch.events = n > 0 ? calloc(n, sizeof *job->batch.events) : NULL;
    tt_event proto = {.type = "t", .ts_ms = 1, .received_ms = 1};
    for (size_t i = 0; i < n; i++) {
        job->batch.events[i] = event_clone(&proto);
        assert_non_null(job->batch.events[i]);
        job->batch.bytes += job->batch.events[i]->size;
    }
    job->batch.count = n;
    return job;
}

static job_queue *make_queue(uint32_t cap)
{
    job_queue *q = NULL;
    assert_int_equal(queue_create(cap, UINT64_MAX, &q), 0);
    assert_non_null(q);
    return q;
}

static void push_ok(job_queue *q, size_t n, uint64_t tag)
{
    ingest_job *job = make_job(n, tag);
    int rc = queue_push(q, job);
    if (rc != 0) {
        ingest_job_free(job);
        fail_msg("push of %zu events refused: %d", n, rc);
    }
}

/* Pushes a job that must be refused with 'want'; the job stays ours and is freed here. */
static void push_refused(job_queue *q, size_t n, int want)
{
    ingest_job *job = make_job(n, 999);
    assert_int_equal(queue_push(q, job), want);
    assert_int_equal(job->batch.count, n); /* untouched */
    ingest_job_free(job);
}

/* Pops a job that must be there, checks its tag, releases its room and frees it. */
static void pop_expect(job_queue *q, uint64_t tag)
{
    ingest_job *job = queue_pop(q, 0);
    assert_non_null(job);
    assert_int_equal((uint64_t)(uintptr_t)job->done_ctx, tag);
    queue_release(q, job->batch.count, job->batch.bytes);
    ingest_job_free(job);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- single thread ------------------------------------------------------------------------ */

static void new_queue_is_empty(void **state)
{
    (void)state;
    job_queue *q = make_queue(10);
    assert_int_equal(queue_capacity(q), 10);
    assert_int_equal(queue_waiting(q), 0);
    assert_int_equal(queue_inflight(q), 0);
    assert_false(queue_drained(q));
    assert_null(queue_pop(q, 0));
    queue_destroy(q);
}

static void push_counts_events_not_jobs(void **state)
{
    (void)state;
    job_queue *q = make_queue(10);
    push_ok(q, 6, 1);
    push_ok(q, 3, 2);
    assert_int_equal(queue_waiting(q), 9);
    assert_int_equal(queue_inflight(q), 9);
    queue_destroy(q); /* frees the jobs still queued: ASan would report a leak */
}

static void push_beyond_capacity_is_full(void **state)
{
    (void)state;
    job_queue *q = make_queue(10);
    push_ok(q, 6, 1);
    push_refused(q, 5, TT_EFULL); /* 6 + 5 > 10 */
    assert_int_equal(queue_inflight(q), 6);
    push_ok(q, 4, 2); /* exactly full */
    push_refused(q, 1, TT_EFULL);
    assert_int_equal(queue_inflight(q), 10);
    pop_expect(q, 1);
    pop_expect(q, 2);
    queue_destroy(q);
}

static void a_job_larger_than_the_queue_never_fits(void **state)
{
    (void)state;
    job_queue *q = make_queue(10);
    push_refused(q, 11, TT_EFULL);
    assert_int_equal(queue_inflight(q), 0);
    queue_destroy(q);
}

static void pop_alone_frees_no_room(void **state)
{
    (void)state;
    job_queue *q = make_queue(10);
    push_ok(q, 10, 1);
    ingest_job *job = queue_pop(q, 0);
    assert_non_null(job);
    assert_int_equal(queue_waiting(q), 0);
    assert_int_equal(queue_inflight(q), 10); /* still in memory: being committed */
    push_refused(q, 1, TT_EFULL);
    queue_release(q, job->batch.count, job->batch.bytes);
    ingest_job_free(job);
    assert_int_equal(queue_inflight(q), 0);
    push_ok(q, 10, 2);
    pop_expect(q, 2);
    queue_destroy(q);
}

static void release_gives_back_exactly_its_events(void **state)
{
    (void)state;
    job_queue *q = make_queue(10);
    push_ok(q, 8, 1);
    ingest_job *job = queue_pop(q, 0);
    queue_release(q, 3, 0);
    assert_int_equal(queue_inflight(q), 5);
    push_ok(q, 5, 2);
    push_refused(q, 1, TT_EFULL);
    queue_release(q, 5, 0);
    ingest_job_free(job);
    pop_expect(q, 2);
    assert_int_equal(queue_inflight(q), 0);
    queue_destroy(q);
}

static void release_beyond_inflight_stops_at_zero(void **state)
{
    (void)state;
    job_queue *q = make_queue(10);
    push_ok(q, 2, 1);
    pop_expect(q, 1);
    queue_release(q, 100, UINT32_MAX);
    assert_int_equal(queue_inflight(q), 0);
    assert_int_equal(queue_inflight_bytes(q), 0);
    push_ok(q, 10, 2); /* the bound is not widened by the surplus */
    push_refused(q, 1, TT_EFULL);
    pop_expect(q, 2);
    queue_destroy(q);
}

static void jobs_come_out_in_push_order(void **state)
{
    (void)state;
    job_queue *q = make_queue(100);
    for (uint64_t tag = 1; tag <= 20; tag++) {
        push_ok(q, (size_t)(tag % 3 + 1), tag);
    }
    for (uint64_t tag = 1; tag <= 20; tag++) {
        pop_expect(q, tag);
    }
    assert_null(queue_pop(q, 0));
    queue_destroy(q);
}

static void pop_with_zero_timeout_returns_at_once(void **state)
{
    (void)state;
    job_queue *q = make_queue(10);
    assert_null(queue_pop(q, 0));
    queue_destroy(q);
}

static void pop_times_out_with_null(void **state)
{
    (void)state;
    job_queue *q = make_queue(10);
    uint64_t start = now_ms();
    assert_null(queue_pop(q, 30));
    /* Only the lower bound is a property: it waited at least as long as asked. */
    assert_true(now_ms() - start >= 30);
    queue_destroy(q);
}

static void pop_with_timeout_returns_a_waiting_job(void **state)
{
    (void)state;
    job_queue *q = make_queue(10);
    push_ok(q, 1, 7);
    ingest_job *job = queue_pop(q, 1000);
    assert_non_null(job);
    assert_int_equal((uint64_t)(uintptr_t)job->done_ctx, 7);
    ingest_job_free(job);
    queue_destroy(q);
}

static void close_refuses_pushes_then_drains(void **state)
{
    (void)state;
    job_queue *q = make_queue(10);
    push_ok(q, 2, 1);
    push_ok(q, 3, 2);
    queue_close(q);
    push_refused(q, 1, TT_ECLOSED);
    assert_false(queue_drained(q)); /* closed but not empty */
    pop_expect(q, 1);
    assert_false(queue_drained(q));
    pop_expect(q, 2);
    assert_true(queue_drained(q));
    /* Closed and empty: even an unlimited wait returns at once. */
    assert_null(queue_pop(q, -1));
    queue_destroy(q);
}

static void closed_queue_refuses_even_when_room_remains(void **state)
{
    (void)state;
    job_queue *q = make_queue(10);
    queue_close(q);
    push_refused(q, 1, TT_ECLOSED);
    assert_true(queue_drained(q));
    queue_destroy(q);
}

static void destroy_null_and_free_null_are_no_ops(void **state)
{
    (void)state;
    queue_destroy(NULL);
    ingest_job_free(NULL); /* the test is that these return */
}

/* ---- threads -------------------------------------------------------------------------- */

#define PRODUCERS_MAX 4

/* What the threads share. Waiting for room is a condition, signalled after every release. */
typedef struct rig {
    job_queue *q;
    pthread_mutex_t lock;
    pthread_cond_t room;
    int producers;
    int jobs_per_producer;
    /* written by the consumer, read by main after join */
    uint64_t events_seen;
    uint64_t jobs_seen;
    uint64_t max_inflight;
    int order_errors;
    int64_t last_seq[PRODUCERS_MAX];
    /* written by the producers */
    uint64_t events_pushed[PRODUCERS_MAX];
    int push_errors;
} rig;

typedef struct producer_arg {
    rig *r;
    int id;
} producer_arg;

static void *producer(void *p)
{
    producer_arg *a = p;
    rig *r = a->r;
    for (int seq = 0; seq < r->jobs_per_producer; seq++) {
        size_t n = (size_t)(seq % 3) + 1;
        ingest_job *job = calloc(1, sizeof *job);
        job->done_ctx = (void *)(uintptr_t)((uint64_t)a->id << 32 | (uint64_t)seq);
        job->batch.events = calloc(n, sizeof *job->batch.events);
        tt_event proto = {.type = "t"};
        for (size_t i = 0; i < n; i++) {
            job->batch.events[i] = event_clone(&proto);
        }
        job->batch.count = n;
        pthread_mutex_lock(&r->lock);
        int rc;
        while ((rc = queue_push(r->q, job)) == TT_EFULL) {
            pthread_cond_wait(&r->room, &r->lock); /* back-pressure: wait for a release */
        }
        pthread_mutex_unlock(&r->lock);
        if (rc != 0) {
            ingest_job_free(job);
            __atomic_add_fetch(&r->push_errors, 1, __ATOMIC_SEQ_CST);
            break;
        }
        r->events_pushed[a->id] += n;
    }
    return NULL;
}

static void *consumer(void *p)
{
    rig *r = p;
    ingest_job *job;
    while ((job = queue_pop(r->q, -1)) != NULL) {
        uint64_t inflight = queue_inflight(r->q);
        if (inflight > r->max_inflight) {
            r->max_inflight = inflight;
        }
        int id = (int)((uint64_t)(uintptr_t)job->done_ctx >> 32);
        int64_t seq = (int64_t)((uint64_t)(uintptr_t)job->done_ctx & 0xffffffff);
        if (id >= PRODUCERS_MAX || seq != r->last_seq[id] + 1) {
            r->order_errors++;
        } else {
            r->last_seq[id] = seq;
        }
        r->events_seen += job->batch.count;
        r->jobs_seen++;
        size_t n = job->batch.count, bytes = job->batch.bytes;
        ingest_job_free(job);
        queue_release(r->q, n, bytes);
        pthread_mutex_lock(&r->lock);
        pthread_cond_broadcast(&r->room);
        pthread_mutex_unlock(&r->lock);
    }
    return NULL;
}

/* Runs 'producers' producer threads against one consumer through a queue of 'cap' events. */
static void run_threads(int producers, int jobs_each, uint32_t cap)
{
    rig r;
    memset(&r, 0, sizeof r);
    r.q = make_queue(cap);
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.room, NULL);
    r.producers = producers;
    r.jobs_per_producer = jobs_each;
    for (int i = 0; i < PRODUCERS_MAX; i++) {
        r.last_seq[i] = -1;
    }
    pthread_t cons, prod[PRODUCERS_MAX];
    producer_arg args[PRODUCERS_MAX];
    assert_int_equal(pthread_create(&cons, NULL, consumer, &r), 0);
    for (int i = 0; i < producers; i++) {
        args[i] = (producer_arg){.r = &r, .id = i};
        assert_int_equal(pthread_create(&prod[i], NULL, producer, &args[i]), 0);
    }
    for (int i = 0; i < producers; i++) {
        pthread_join(prod[i], NULL);
    }
    queue_close(r.q); /* every job is in: the consumer drains, then sees NULL */
    pthread_join(cons, NULL);

    uint64_t pushed = 0;
    for (int i = 0; i < producers; i++) {
        pushed += r.events_pushed[i];
        assert_int_equal(r.last_seq[i], jobs_each - 1);
    }
    assert_int_equal(r.push_errors, 0);
    assert_int_equal(r.order_errors, 0);
    assert_int_equal(r.jobs_seen, (uint64_t)producers * (uint64_t)jobs_each);
    assert_int_equal(r.events_seen, pushed);
    assert_true(r.max_inflight <= cap);
    assert_true(queue_drained(r.q));
    assert_int_equal(queue_waiting(r.q), 0);
    assert_int_equal(queue_inflight(r.q), 0);
    queue_destroy(r.q);
    pthread_cond_destroy(&r.room);
    pthread_mutex_destroy(&r.lock);
}

static void producer_and_consumer_threads_keep_order_and_bound(void **state)
{
    (void)state;
    run_threads(1, 5000, 8);
}

static void several_producers_each_keep_their_order(void **state)
{
    (void)state;
    run_threads(PRODUCERS_MAX, 2000, 16);
}

static void *blocked_pop(void *p)
{
    return queue_pop(p, -1);
}

static void close_wakes_a_waiting_consumer(void **state)
{
    (void)state;
    job_queue *q = make_queue(10);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, blocked_pop, q), 0);
    queue_close(q); /* whether the pop is already waiting or not, it must return NULL */
    void *got = (void *)1;
    pthread_join(t, &got);
    assert_null(got);
    queue_destroy(q);
}

static void push_wakes_a_waiting_consumer(void **state)
{
    (void)state;
    job_queue *q = make_queue(10);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, blocked_pop, q), 0);
    push_ok(q, 2, 42);
    void *got = NULL;
    pthread_join(t, &got);
    ingest_job *job = got;
    assert_non_null(job);
    assert_int_equal((uint64_t)(uintptr_t)job->done_ctx, 42);
    ingest_job_free(job);
    queue_destroy(q);
}

/* The bytes bound holds as the events bound does: a job whose bytes do not fit is refused
 * however few its events, and releasing makes room again. */
static void bytes_are_bounded_too(void **state)
{
    (void)state;
    ingest_job *probe = make_job(1, 0);
    size_t one = probe->batch.bytes;
    ingest_job_free(probe);
    job_queue *q = NULL;
    assert_int_equal(queue_create(1000, 3 * one, &q), 0);
    push_ok(q, 2, 1);
    assert_int_equal(queue_inflight_bytes(q), 2 * one);
    push_refused(q, 2, TT_EFULL); /* 4 x one > 3 x one, though 4 events are far below 1000 */
    push_ok(q, 1, 2);
    push_refused(q, 1, TT_EFULL);
    pop_expect(q, 1);
    push_ok(q, 2, 3);
    assert_int_equal(queue_inflight_bytes(q), 3 * one);
    queue_destroy(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bytes_are_bounded_too),
        cmocka_unit_test(new_queue_is_empty),
        cmocka_unit_test(push_counts_events_not_jobs),
        cmocka_unit_test(push_beyond_capacity_is_full),
        cmocka_unit_test(a_job_larger_than_the_queue_never_fits),
        cmocka_unit_test(pop_alone_frees_no_room),
        cmocka_unit_test(release_gives_back_exactly_its_events),
        cmocka_unit_test(release_beyond_inflight_stops_at_zero),
        cmocka_unit_test(jobs_come_out_in_push_order),
        cmocka_unit_test(pop_with_zero_timeout_returns_at_once),
        cmocka_unit_test(pop_times_out_with_null),
        cmocka_unit_test(pop_with_timeout_returns_a_waiting_job),
        cmocka_unit_test(close_refuses_pushes_then_drains),
        cmocka_unit_test(closed_queue_refuses_even_when_room_remains),
        cmocka_unit_test(destroy_null_and_free_null_are_no_ops),
        cmocka_unit_test(producer_and_consumer_threads_keep_order_and_bound),
        cmocka_unit_test(several_producers_each_keep_their_order),
        cmocka_unit_test(close_wakes_a_waiting_consumer),
        cmocka_unit_test(push_wakes_a_waiting_consumer),
    };
    return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
