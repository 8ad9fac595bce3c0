/* queue.h -- the bounded hand-over of accepted events from the server to the persister.
 *
 * The bounds count events, and their bytes, from queue_push() until queue_release(), i.e. for
 * as long as they are in memory: waiting, being committed, or waiting for their answer to be
 * sent. That is what keeps memory bounded however hard producers push (DESIGN §4.4): a full
 * queue makes the server answer 429 instead of buffering. Any thread may push and release; one
 * thread (the persister) pops. */
#ifndef TT_QUEUE_H
#define TT_QUEUE_H

#include "core/err.h"
#include "core/ingest.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct ingest_job ingest_job;

/* Called once a job is finished with: committed (result 0) or not; on the loop thread (see
 * gateway.h, which calls it). 'ctx' is the submitter's. */
typedef void (*ingest_done_fn)(const ingest_job *job, void *ctx);

/* A unit of work: the events of one request, committed together and answered together. */
struct ingest_job {
    ingest_job *next; /* private to whoever holds the job */
    /* The submitter's, untouched by queue and persister; NULL for events made inside the
     * daemon (the demo) and for events committed on the store's own schedule. */
    ingest_done_fn done;
    void *done_ctx;
    bool queued; /* it took room in the queue, to be given back once answered */
    event_batch batch;
    /* Set by the persister before it hands the job back: */
    int result;      /* 0, or TT_E* with 'err' */
    bool store_seqs; /* the events' seqs are the store's (not the spool's): broadcastable */
    uint32_t stored;
    uint32_t duplicates;
    char err[TT_ERRLEN];
};

typedef struct job_queue job_queue;

int queue_create(uint32_t max_events, uint64_t max_bytes, job_queue **out);
void queue_destroy(job_queue *q); /* only once nobody uses it; NULL is a no-op */

/* Takes ownership of 'job' on success. Returns TT_EFULL when its events or their bytes
 * (job->batch.bytes) do not fit (the job stays the caller's), TT_ECLOSED once the queue is
 * closed. */
int queue_push(job_queue *q, ingest_job *job);

/* Waits up to 'timeout_ms' (< 0: no limit) for a job; returns it (the caller owns it) or NULL
 * on time-out, or when the queue is closed and empty. */
ingest_job *queue_pop(job_queue *q, int timeout_ms);

/* Gives back the room of 'events' events of 'bytes' bytes, once their job is finished with. */
void queue_release(job_queue *q, size_t events, size_t bytes);

/* No more pushes; queue_pop() drains what is left, then returns NULL. */
void queue_close(job_queue *q);

/* True once the queue is closed and empty: queue_pop() will never return a job again. */
bool queue_drained(job_queue *q);

uint64_t queue_waiting(job_queue *q);  /* events pushed, not yet popped */
uint64_t queue_inflight(job_queue *q); /* events pushed, not yet released */
uint64_t queue_inflight_bytes(job_queue *q);
uint32_t queue_capacity(job_queue *q);

/* Frees a job and its events (not 'done_ctx'). NULL is a no-op. */
void ingest_job_free(ingest_job *job);

#endif
