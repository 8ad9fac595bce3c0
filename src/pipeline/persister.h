/* persister.h -- the thread that turns queued jobs into committed batches (group commit).
 *
 * It takes jobs from the queue until a batch holds batch_size events or flush_ms have passed
 * since its first job, inserts the batch in one transaction, and hands the jobs back, in commit
 * order, through 'done' -- only then may their requests be acknowledged (DESIGN §4.1). A job is
 * never split across transactions, so one request is stored all or nothing; a batch may
 * therefore exceed batch_size by up to one request. It also deletes events past their retention
 * while idle. */
#ifndef TT_PERSISTER_H
#define TT_PERSISTER_H

#include "core/histogram.h"
#include "pipeline/queue.h"
#include "store/store.h"

typedef struct persister persister;

/* Receives a list of finished jobs (linked by 'next', in commit order) on the persister
 * thread. It owns them from then on and must pass their event count to queue_release() once
 * they are answered. */
typedef void (*persister_done_fn)(ingest_job *jobs, void *ctx);

typedef struct persister_opts {
    uint32_t batch_size;
    uint32_t flush_ms;
    uint64_t retention_ms; /* 0: keep events forever */
} persister_opts;

typedef struct persister_stats {
    uint64_t batches;        /* committed */
    uint64_t events_stored;  /* new rows */
    uint64_t duplicates;     /* events whose id was already stored */
    uint64_t failed_batches; /* transactions that did not commit */
    uint64_t failed_events;
    uint64_t retention_deleted;
    int64_t last_seq;         /* highest seq this persister committed */
    histogram commit_seconds; /* time from BEGIN to COMMIT, per batch */
} persister_stats;

/* The buckets of commit_seconds, in seconds. */
extern const double persister_commit_bounds[];
extern const size_t persister_commit_nbounds;

/* Starts the thread. 'st', 'q' and 'ctx' must outlive it. */
int persister_start(store *st, job_queue *q, const persister_opts *opts, persister_done_fn done,
                    void *ctx, persister **out);

/* Waits until the queue is closed and drained and every job handed back, then frees 'p'. */
void persister_join(persister *p);

/* A consistent copy of the counters. Any thread. */
void persister_get_stats(persister *p, persister_stats *out);

#endif
