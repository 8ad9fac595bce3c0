/* persister.c -- group commit on a thread of its own. */
#include "pipeline/persister.h"

#include "core/series.h"
#include "os/clock.h"
#include "os/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDLE_POLL_MS 1000

const double persister_commit_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                          0.05,   0.1,   0.25,   0.5,   1,    2.5};
const size_t persister_commit_nbounds =
    sizeof persister_commit_bounds / sizeof persister_commit_bounds[0];

struct persister {
    job_queue *q;
    persister_opts opts;
    persister_done_fn done;
    void *done_ctx;
    pthread_t thread;
    pthread_mutex_t stats_lock;
    persister_stats stats;
    series_registry series; /* under stats_lock */
    tt_event **events;      /* scratch: the batch's events, flattened */
    size_t events_cap;
    uint32_t recent_jobs[PERSISTER_PACE_BATCHES]; /* jobs per batch, the last ones; 0: none */
    size_t recent_at;                             /* where the next batch's count goes */
};

/* The most jobs any recent batch held, or UINT32_MAX before the first batch (no history: wait
 * for batch_size or flush_ms as configured). */
static uint32_t expected_jobs(const persister *p)
{
    uint32_t most = 0;
    for (size_t i = 0; i < PERSISTER_PACE_BATCHES; i++) {
        most = p->recent_jobs[i] > most ? p->recent_jobs[i] : most;
    }
    return most > 0 ? most : UINT32_MAX;
}

static void remember_jobs(persister *p, uint32_t jobs)
{
    p->recent_jobs[p->recent_at] = jobs;
    p->recent_at = (p->recent_at + 1) % PERSISTER_PACE_BATCHES;
}

/* Takes more jobs after 'first' until the batch is full, its flush time is up or it holds the
 * jobs recent batches did, then the jobs already queued (the backlog) up to backlog_size.
 * Returns the list's event count; *last is its tail. */
static size_t gather(persister *p, ingest_job *first, ingest_job **last)
{
    size_t count = first->batch.count;
    uint32_t jobs = 1, expected = expected_jobs(p);
    size_t backlog_max =
        p->opts.backlog_size > p->opts.batch_size ? p->opts.backlog_size : p->opts.batch_size;
    uint64_t deadline = clock_mono_ms() + p->opts.flush_ms;
    *last = first;
    while (count < backlog_max) {
        uint64_t now = clock_mono_ms();
        bool more_may_come = count < p->opts.batch_size && jobs < expected && now < deadline;
        ingest_job *next = queue_pop(p->q, more_may_come ? (int)(deadline - now) : 0);
        if (next == NULL) {
            break;
        }
        (*last)->next = next;
        *last = next;
        count += next->batch.count;
        jobs++;
    }
    remember_jobs(p, jobs);
    return count;
}

static bool flatten(persister *p, ingest_job *jobs, size_t count)
{
    if (count > p->events_cap) {
        tt_event **n = realloc(p->events, count * sizeof *n);
        if (n == NULL) {
            return false;
        }
        p->events = n;
        p->events_cap = count;
    }
    size_t k = 0;
    for (ingest_job *j = jobs; j != NULL; j = j->next) {
        memcpy(p->events + k, j->batch.events, j->batch.count * sizeof *p->events);
        k += j->batch.count;
    }
    return true;
}

static void record_outcome(persister *p, ingest_job *jobs, size_t count, int rc, const char *err,
                           double seconds)
{
    pthread_mutex_lock(&p->stats_lock);
    for (ingest_job *j = jobs; j != NULL; j = j->next) {
        j->result = rc;
        j->store_seqs = p->opts.store_seqs;
        j->stored = j->duplicates = 0;
        if (rc != 0) {
            snprintf(j->err, sizeof j->err, "%s", err);
            continue;
        }
        for (size_t i = 0; i < j->batch.count; i++) {
            /* seq < 0: refused by the store and kept in the dead letter queue, still durable */
            j->stored += j->batch.events[i]->seq > 0;
            if (j->batch.events[i]->seq > 0) {
                series_observe(&p->series, j->batch.events[i]);
            }
            j->duplicates += j->batch.events[i]->seq == 0;
        }
        p->stats.events += j->stored;
        p->stats.duplicates += j->duplicates;
    }
    if (rc == 0) {
        p->stats.batches++;
        histogram_observe(&p->stats.commit_seconds, seconds);
    } else {
        p->stats.failed_batches++;
        p->stats.failed_events += count;
    }
    pthread_mutex_unlock(&p->stats_lock);
}

static void commit(persister *p, ingest_job *jobs, size_t count)
{
    char err[TT_ERRLEN] = "";
    int rc = TT_ENOMEM;
    uint64_t start = clock_mono_us();
    if (flatten(p, jobs, count)) {
        rc = p->opts.commit(p->events, count, p->opts.ctx, err);
    } else {
        snprintf(err, sizeof err, "out of memory");
    }
    double seconds = (double)(clock_mono_us() - start) / 1e6;
    if (rc != 0 && rc != TT_EFULL) {
        log_error("batch of %zu events not made durable: %s", count, err);
    }
    record_outcome(p, jobs, count, rc, err, seconds);
}

/* The idle hook runs when the queue has been quiet for IDLE_POLL_MS, and at least that often
 * under constant load too: housekeeping (dead letter retries, retention) must not starve.
 * While the settle hook has work waiting, the queue is only looked at, not waited on: a batch
 * that comes goes first, then one more slice of that work. */
static void *persister_thread(void *arg)
{
    persister *p = arg;
    uint64_t next_idle = clock_mono_ms() + IDLE_POLL_MS;
    bool more = false;
    while (!queue_drained(p->q)) {
        int wait_ms = more ? 0 : IDLE_POLL_MS;
        ingest_job *first = queue_pop(p->q, wait_ms);
        if (first != NULL) {
            ingest_job *last;
            size_t count = gather(p, first, &last);
            commit(p, first, count);
            p->done(first, p->done_ctx);
        }
        more = p->opts.settle != NULL && p->opts.settle(p->opts.ctx, first == NULL);
        bool quiet = first == NULL && wait_ms > 0;
        if (p->opts.idle != NULL && (quiet || clock_mono_ms() >= next_idle)) {
            p->opts.idle(p->opts.ctx);
            next_idle = clock_mono_ms() + IDLE_POLL_MS;
        }
    }
    return NULL;
}

int persister_start(job_queue *q, const persister_opts *opts, persister_done_fn done,
                    void *done_ctx, persister **out)
{
    persister *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return TT_ENOMEM;
    }
    *p = (persister){.q = q, .opts = *opts, .done = done, .done_ctx = done_ctx};
    histogram_init(&p->stats.commit_seconds, persister_commit_bounds, persister_commit_nbounds);
    series_init(&p->series);
    pthread_mutex_init(&p->stats_lock, NULL);
    int rc = pthread_create(&p->thread, NULL, persister_thread, p);
    if (rc != 0) {
        pthread_mutex_destroy(&p->stats_lock);
        free(p);
        return -rc;
    }
    *out = p;
    return 0;
}

void persister_join(persister *p)
{
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->stats_lock);
    series_free(&p->series);
    free(p->events);
    free(p);
}

void persister_write_series(persister *p, json_buf *out)
{
    pthread_mutex_lock(&p->stats_lock);
    series_admit(&p->series);
    series_write(&p->series, out);
    pthread_mutex_unlock(&p->stats_lock);
}

void persister_get_stats(persister *p, persister_stats *out)
{
    pthread_mutex_lock(&p->stats_lock);
    *out = p->stats;
    pthread_mutex_unlock(&p->stats_lock);
}
