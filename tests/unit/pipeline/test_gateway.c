/* test_gateway.c -- the ingest gateway: parse refusals worded and counted once, ids assigned,
 * a full queue and a shutdown refused before anything is kept, finished jobs answered through
 * their own callback after the commit observer saw them, and each store failure mapped to its
 * status, code and Retry-After. The persister is played by the test: it pops jobs from the
 * queue and hands them back with gateway_jobs_done(), as the real one does. */
#include "pipeline/gateway.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

/* What the test observes of one gateway. */
typedef struct probe {
    int wakes;
    int committed_batches;
    int64_t committed_seqs[16];
    int ncommitted_seqs;
    int answers;
    int last_result;
    size_t last_count;
    uint32_t last_duplicates;
    int order[32]; /* 1 = observer, 2 = answer, in the order they ran (the first 32) */
    int norder;
} probe;

typedef struct fixture {
    job_queue *q;
    gateway *gw;
    probe p;
} fixture;

static void on_wake(void *ctx)
{
    ((probe *)ctx)->wakes++;
}

static void on_committed(const event_batch *b, void *ctx)
{
    probe *p = ctx;
    p->committed_batches++;
    for (size_t i = 0; i < b->count && p->ncommitted_seqs < 16; i++) {
        p->committed_seqs[p->ncommitted_seqs++] = b->events[i]->seq;
    }
    if (p->norder < 32) {
        p->order[p->norder++] = 1;
    }
}

static void on_done(const ingest_job *job, void *ctx)
{
    probe *p = ctx;
    p->answers++;
    p->last_result = job->result;
    p->last_count = job->batch.count;
    p->last_duplicates = job->duplicates;
    if (p->norder < 32) {
        p->order[p->norder++] = 2;
    }
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(queue_create(10, UINT64_MAX, &f->q), 0);
    gateway_opts o = {.q = f->q,
                      .max_events = 5,
                      .wake = on_wake,
                      .wake_ctx = &f->p,
                      .committed = on_committed,
                      .committed_ctx = &f->p};
    assert_int_equal(gateway_create(&o, &f->gw), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    gateway_free(f->gw);
    queue_destroy(f->q);
    free(f);
    return 0;
}

static const char TWO[] = "[{\"type\":\"a\"},{\"type\":\"b\",\"id\":\"given\"}]";

/* Parses and submits a body; the submission must be taken. */
static void submit_ok(fixture *f, const char *body)
{
    event_batch b;
    ingest_refusal why;
    assert_int_equal(gateway_parse(f->gw, body, strlen(body), INGEST_JSON, 1000, &b, &why), 0);
    assert_int_equal(gateway_submit(f->gw, &b, on_done, &f->p, &why), 0);
    assert_int_equal(b.count, 0); /* the gateway's now */
}

/* Plays the persister: pops one job, sets its outcome, hands it back. */
static ingest_job *commit_next(fixture *f, int result, int64_t first_seq)
{
    ingest_job *job = queue_pop(f->q, 0);
    assert_non_null(job);
    job->result = result;
    job->store_seqs = result == 0 && first_seq > 0;
    for (size_t i = 0; i < job->batch.count; i++) {
        job->batch.events[i]->seq = result == 0 ? first_seq + (int64_t)i : 0;
    }
    if (result != 0) {
        strcpy(job->err, "the store said no");
    }
    return job;
}

static void ids_are_assigned_where_missing(void **state)
{
    fixture *f = *state;
    submit_ok(f, TWO);
    ingest_job *job = queue_pop(f->q, 0);
    assert_non_null(job);
    assert_int_equal(strlen(job->batch.events[0]->id), 36); /* a UUIDv7 */
    assert_string_equal(job->batch.events[1]->id, "given");
    assert_int_equal(job->batch.events[0]->received_ms, 1000);
    gateway_jobs_done(job, f->gw);
    gateway_service(f->gw);
}

static void the_observer_sees_a_commit_before_the_answer(void **state)
{
    fixture *f = *state;
    submit_ok(f, TWO);
    gateway_jobs_done(commit_next(f, 0, 41), f->gw);
    assert_int_equal(f->p.wakes, 1);
    assert_int_equal(f->p.answers, 0); /* only on the loop thread, in gateway_service() */
    gateway_service(f->gw);
    assert_int_equal(f->p.answers, 1);
    assert_int_equal(f->p.last_result, 0);
    assert_int_equal(f->p.last_count, 2);
    assert_int_equal(f->p.committed_batches, 1);
    assert_int_equal(f->p.committed_seqs[0], 41);
    assert_int_equal(f->p.committed_seqs[1], 42);
    assert_int_equal(f->p.norder, 2);
    assert_int_equal(f->p.order[0], 1);
    assert_int_equal(f->p.order[1], 2);
    assert_int_equal(queue_inflight(f->q), 0); /* the room is given back */
    gateway_stats st;
    gateway_get_stats(f->gw, &st);
    assert_int_equal(st.events_accepted, 2);
    assert_int_equal(st.events_rejected, 0);
}

static void a_spooled_batch_is_answered_but_not_observed(void **state)
{
    fixture *f = *state;
    submit_ok(f, TWO);
    gateway_jobs_done(commit_next(f, 0, 0), f->gw); /* no store seqs: in the spool */
    gateway_service(f->gw);
    assert_int_equal(f->p.answers, 1);
    assert_int_equal(f->p.committed_batches, 0);
}

static void a_store_failure_is_answered_with_its_refusal(void **state)
{
    fixture *f = *state;
    static const struct {
        int result;
        int status;
        const char *code;
        int retry_after_s;
    } cases[] = {{TT_EFULL, 503, "spool_full", 10},
                 {TT_EUNAVAILABLE, 503, "store_unavailable", 1},
                 {TT_ENOMEM, 503, "overloaded", 1},
                 {TT_EREJECTED, 500, "store_failed", 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        submit_ok(f, TWO);
        ingest_job *job = commit_next(f, cases[i].result, 0);
        ingest_refusal why;
        gateway_job_refusal(job, &why);
        assert_int_equal(why.status, cases[i].status);
        assert_string_equal(why.code, cases[i].code);
        assert_int_equal(why.retry_after_s, cases[i].retry_after_s);
        assert_string_equal(why.message, "the store said no");
        assert_int_equal(why.index, -1);
        gateway_jobs_done(job, f->gw);
        gateway_service(f->gw);
        assert_int_equal(f->p.last_result, cases[i].result);
    }
    gateway_stats st;
    gateway_get_stats(f->gw, &st);
    assert_int_equal(st.requests_failed, 4);
    assert_int_equal(st.events_rejected, 8);
    assert_int_equal(f->p.committed_batches, 0);
}

static void a_bad_body_is_refused_and_counted(void **state)
{
    fixture *f = *state;
    event_batch b;
    ingest_refusal why;
    const char *bad = "[{\"type\":\"a\"},{\"type\":\"b\",\"oops\":1}]";
    assert_int_equal(gateway_parse(f->gw, bad, strlen(bad), INGEST_JSON, 1, &b, &why), TT_EINVAL);
    assert_int_equal(why.status, 400);
    assert_string_equal(why.code, "unknown_field");
    assert_int_equal(why.index, 1);
    assert_int_equal(why.retry_after_s, 0);
    assert_int_equal(b.count, 0);
    const char *many = "[{\"type\":\"a\"},{\"type\":\"a\"},{\"type\":\"a\"},{\"type\":\"a\"},"
                       "{\"type\":\"a\"},{\"type\":\"a\"}]";
    assert_int_equal(gateway_parse(f->gw, many, strlen(many), INGEST_JSON, 1, &b, &why),
                     TT_ETOOBIG);
    assert_int_equal(why.status, 413);
    assert_int_equal(gateway_parse_typed(f->gw, "text/csv", TWO, strlen(TWO), 1, &b, &why),
                     TT_EINVAL);
    assert_int_equal(why.status, 415);
    assert_string_equal(why.code, "unsupported_media_type");
    assert_int_equal(gateway_parse_typed(f->gw, "application/x-ndjson; charset=utf-8",
                                         "{\"type\":\"a\"}\n{\"type\":\"b\"}\n", 26, 1, &b, &why),
                     0);
    assert_int_equal(b.count, 2);
    event_batch_free(&b);
    gateway_stats st;
    gateway_get_stats(f->gw, &st);
    assert_int_equal(st.requests_invalid, 2); /* the unknown field and the media type */
    assert_int_equal(st.requests_too_large, 1);
    assert_int_equal(queue_inflight(f->q), 0); /* nothing of it was kept */
}

/* Rows to insert (/rest/v1): nothing to insert is no events, not a refusal, and not counted. */
static void rows_without_events_are_not_a_refusal(void **state)
{
    fixture *f = *state;
    event_batch b;
    ingest_refusal why;
    const char *bodies[] = {"[]", " [ ] ", ""};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(gateway_parse_rows(f->gw, bodies[i], strlen(bodies[i]), 1, &b, &why), 0);
        assert_int_equal(b.count, 0);
    }
    assert_int_equal(gateway_parse(f->gw, "[]", 2, INGEST_JSON, 1, &b, &why), TT_EINVAL);
    assert_string_equal(why.code, "empty_batch"); /* an ingest of nothing is refused */
    assert_int_equal(gateway_parse_rows(f->gw, "[{}]", 4, 1, &b, &why), TT_EINVAL);
    gateway_stats st;
    gateway_get_stats(f->gw, &st);
    assert_int_equal(st.requests_invalid, 2); /* the ingest of nothing and the row without type */
}

static void a_full_queue_is_refused_with_429(void **state)
{
    fixture *f = *state;
    submit_ok(f, TWO);
    submit_ok(f, TWO);
    submit_ok(f, TWO);
    submit_ok(f, TWO);
    submit_ok(f, TWO); /* 10 events: the queue's capacity */
    event_batch b;
    ingest_refusal why;
    assert_int_equal(gateway_parse(f->gw, TWO, strlen(TWO), INGEST_JSON, 1, &b, &why), 0);
    assert_int_equal(gateway_submit(f->gw, &b, on_done, &f->p, &why), TT_EFULL);
    assert_int_equal(why.status, 429);
    assert_string_equal(why.code, "overloaded");
    assert_int_equal(why.retry_after_s, 1);
    assert_int_equal(b.count, 2); /* still the caller's */
    event_batch_free(&b);
    gateway_stats st;
    gateway_get_stats(f->gw, &st);
    assert_int_equal(st.requests_overloaded, 1);
    assert_int_equal(st.events_rejected, 2);
    for (int i = 0; i < 5; i++) {
        gateway_jobs_done(commit_next(f, 0, 1 + 2 * i), f->gw);
    }
    gateway_service(f->gw);
    assert_int_equal(f->p.answers, 5); /* the refused one is never answered through 'done' */
}

static void a_draining_gateway_refuses_everything_new(void **state)
{
    fixture *f = *state;
    submit_ok(f, TWO); /* taken before the drain: still answered */
    gateway_drain(f->gw);
    assert_true(gateway_draining(f->gw));
    event_batch b;
    ingest_refusal why;
    assert_int_equal(gateway_parse(f->gw, TWO, strlen(TWO), INGEST_JSON, 1, &b, &why), TT_ECLOSED);
    assert_int_equal(why.status, 503);
    assert_string_equal(why.code, "shutting_down");
    assert_int_equal(why.retry_after_s, 5);
    const char *bad = "not json"; /* a bad body during a drain: the drain is the answer */
    assert_int_equal(gateway_parse_typed(f->gw, "text/csv", bad, strlen(bad), 1, &b, &why),
                     TT_ECLOSED);
    gateway_jobs_done(commit_next(f, 0, 7), f->gw);
    gateway_service(f->gw);
    assert_int_equal(f->p.answers, 1);
    assert_int_equal(f->p.last_result, 0);
}

static void events_committed_on_their_own_reach_only_the_observer(void **state)
{
    fixture *f = *state;
    event_batch b = {0};
    size_t cap = 0;
    tt_event proto = {.type = "t", .ts_ms = 1, .received_ms = 1, .seq = 99};
    assert_int_equal(event_batch_push(&b, &cap, event_clone(&proto)), 0);
    gateway_events_committed(&b, f->gw); /* shipped from the spool, say */
    assert_int_equal(b.count, 0);
    gateway_service(f->gw);
    assert_int_equal(f->p.committed_batches, 1);
    assert_int_equal(f->p.committed_seqs[0], 99);
    assert_int_equal(f->p.answers, 0);
    gateway_stats st;
    gateway_get_stats(f->gw, &st);
    assert_int_equal(st.events_accepted, 0); /* counted when they were acknowledged */
}

static void the_rate_is_over_the_tick_interval(void **state)
{
    fixture *f = *state;
    submit_ok(f, TWO);
    gateway_jobs_done(commit_next(f, 0, 1), f->gw);
    gateway_service(f->gw);
    gateway_tick(f->gw, 500);
    gateway_stats st;
    gateway_get_stats(f->gw, &st);
    assert_true(st.events_per_s == 4.0); /* 2 events in half a second */
    gateway_tick(f->gw, 1000);
    gateway_get_stats(f->gw, &st);
    assert_true(st.events_per_s == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ids_are_assigned_where_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(the_observer_sees_a_commit_before_the_answer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_spooled_batch_is_answered_but_not_observed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_store_failure_is_answered_with_its_refusal, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_bad_body_is_refused_and_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(rows_without_events_are_not_a_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(a_full_queue_is_refused_with_429, setup, teardown),
        cmocka_unit_test_setup_teardown(a_draining_gateway_refuses_everything_new, setup, teardown),
        cmocka_unit_test_setup_teardown(events_committed_on_their_own_reach_only_the_observer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(the_rate_is_over_the_tick_interval, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
