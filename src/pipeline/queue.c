/* queue.c -- a mutex and a condition variable around a FIFO of jobs. */
#include "pipeline/queue.h"

#include "os/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct job_queue {
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    ingest_job *head, *tail;
    uint64_t waiting;  /* events in the FIFO */
    uint64_t inflight; /* events between push and release */
    uint64_t inflight_bytes;
    uint32_t max_events;
    uint64_t max_bytes;
    bool closed;
};

int queue_create(uint32_t max_events, uint64_t max_bytes, job_queue **out)
{
    job_queue *q = calloc(1, sizeof *q);
    if (q == NULL) {
        return TT_ENOMEM;
    }
    pthread_mutex_init(&q->lock, NULL);
    clock_cond_init(&q->nonempty);
    q->max_events = max_events;
    q->max_bytes = max_bytes;
    *out = q;
    return 0;
}

void queue_destroy(job_queue *q)
{
    if (q == NULL) {
        return;
    }
    for (ingest_job *j = q->head, *next; j != NULL; j = next) {
        next = j->next;
        ingest_job_free(j);
    }
    pthread_cond_destroy(&q->nonempty);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

int queue_push(job_queue *q, ingest_job *job)
{
    uint64_t n = job->batch.count;
    int rc = 0;
    pthread_mutex_lock(&q->lock);
    if (q->closed) {
        rc = TT_ECLOSED;
    } else if (q->inflight + n > q->max_events ||
               q->inflight_bytes + job->batch.bytes > q->max_bytes) {
        rc = TT_EFULL;
    } else {
        job->next = NULL;
        if (q->tail != NULL) {
            q->tail->next = job;
        } else {
            q->head = job;
        }
        q->tail = job;
        q->waiting += n;
        q->inflight += n;
        q->inflight_bytes += job->batch.bytes;
        pthread_cond_signal(&q->nonempty);
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

ingest_job *queue_pop(job_queue *q, int timeout_ms)
{
    struct timespec deadline = clock_deadline_after(timeout_ms > 0 ? (uint64_t)timeout_ms : 0);
    pthread_mutex_lock(&q->lock);
    while (q->head == NULL && !q->closed && timeout_ms != 0) {
        int rc = timeout_ms < 0 ? pthread_cond_wait(&q->nonempty, &q->lock)
                                : pthread_cond_timedwait(&q->nonempty, &q->lock, &deadline);
        if (rc == ETIMEDOUT) {
            break;
        }
    }
    ingest_job *job = q->head;
    if (job != NULL) {
        q->head = job->next;
        if (q->head == NULL) {
            q->tail = NULL;
        }
        job->next = NULL;
        q->waiting -= job->batch.count;
    }
    pthread_mutex_unlock(&q->lock);
    return job;
}

void queue_release(job_queue *q, size_t events, size_t bytes)
{
    pthread_mutex_lock(&q->lock);
    q->inflight -= events <= q->inflight ? events : q->inflight;
    q->inflight_bytes -= bytes <= q->inflight_bytes ? bytes : q->inflight_bytes;
    pthread_mutex_unlock(&q->lock);
}

void queue_close(job_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
}

bool queue_drained(job_queue *q)
{
    pthread_mutex_lock(&q->lock);
    bool drained = q->closed && q->head == NULL;
    pthread_mutex_unlock(&q->lock);
    return drained;
}

uint64_t queue_waiting(job_queue *q)
{
    pthread_mutex_lock(&q->lock);
    uint64_t n = q->waiting;
    pthread_mutex_unlock(&q->lock);
    return n;
}

uint64_t queue_inflight(job_queue *q)
{
    pthread_mutex_lock(&q->lock);
    uint64_t n = q->inflight;
    pthread_mutex_unlock(&q->lock);
    return n;
}

uint64_t queue_inflight_bytes(job_queue *q)
{
    pthread_mutex_lock(&q->lock);
    uint64_t n = q->inflight_bytes;
    pthread_mutex_unlock(&q->lock);
    return n;
}

uint32_t queue_capacity(job_queue *q)
{
    return q->max_events;
}

void ingest_job_free(ingest_job *job)
{
    if (job != NULL) {
        event_batch_free(&job->batch);
        free(job);
    }
}
