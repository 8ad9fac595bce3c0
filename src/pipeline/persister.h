/* persister.h -- the thread that turns queued jobs into durable batches (group commit).
 *
 * It takes jobs from the queue until a batch holds batch_size events or flush_ms have passed
 * since its first job, or -- once there is a history -- as many jobs as any of the last
 * PERSISTER_PACE_BATCHES batches held (producers that wait for their answers before sending
 * again have no more in flight: waiting on for batch_size would only add latency) -- and,
 * under a backlog, goes on with the jobs already queued up to backlog_size events without
 * waiting -- makes the batch durable in one transaction
 * -- in the store itself, or in the local spool when the store is remote -- and hands the jobs
 * back, in commit order, through 'done': only then may their requests be acknowledged (DESIGN
 * §4.1). A job is never split across transactions, so one request is durable all or nothing; a
 * batch may therefore exceed batch_size by up to one request. While idle it runs the idle hook (the
 * writer's housekeeping, when it owns the writer). */
#ifndef TT_PERSISTER_H
#define TT_PERSISTER_H

#include "core/histogram.h"
#include "core/json_print.h"
#include "pipeline/queue.h"

typedef struct persister persister;

/* Receives a list of finished jobs (linked by 'next', in commit order) on the persister
 * thread. It owns them from then on and must pass their event count to queue_release() once
 * they are answered. */
typedef void (*persister_done_fn)(ingest_job *jobs, void *ctx);

/* Makes 'events' durable, or fails with nothing acknowledged (TT_EFULL for a full spool,
 * TT_EUNAVAILABLE for a store out of reach). Each event's seq is set: > 0 if it was new,
 * 0 if it was there already (a duplicate), < 0 if it is durable elsewhere (the dead letter
 * queue). */
typedef int (*persister_commit_fn)(tt_event *const *events, size_t n, void *ctx,
                                   char err[TT_ERRLEN]);
typedef void (*persister_idle_fn)(void *ctx);
/* Runs after each batch is handed back ('idle' false) and when the queue is quiet ('idle'
 * true): a slice of the work deferred off the ack path (store_index_sessions). Returns true
 * when more is waiting: the persister then looks at the queue without waiting, and if it is
 * still quiet calls settle again at once. */
typedef bool (*persister_settle_fn)(void *ctx, bool idle);

/* The backlog_size the daemon uses. Under a backlog one commit then pays for the index pages
 * and the fsync that several would (BENCHMARKS.md, "SQLite physical design": WAL pages per
 * event at 1,000 sessions fall from 0.24 at 5,000 events a commit to 0.10 at 20,000). No job
 * waits longer for it: each was already waiting for the commit before. */
#define PERSISTER_BACKLOG_EVENTS 32768

/* How many recent batches say how many jobs a batch may expect (see above). Measured at
 * 1,000 sessions, 100-event requests over 8 connections: 1.13x the rate of waiting out
 * flush_ms for a batch_size that 800 events in flight never reach (BENCHMARKS.md). */
#define PERSISTER_PACE_BATCHES 8

typedef struct persister_opts {
    uint32_t batch_size;
    /* Under a backlog, a batch goes on with jobs already queued up to this many events
     * (0 or less than batch_size: batch_size). */
    uint32_t backlog_size;
    uint32_t flush_ms;
    persister_commit_fn commit;
    persister_idle_fn idle;     /* may be NULL */
    persister_settle_fn settle; /* may be NULL */
    void *ctx;                  /* for commit, idle and settle */
    /* True when commit writes the store itself, so the seqs it sets are store seqs (the jobs
     * may be broadcast as committed); false for the spool, whose seqs are its own. */
    bool store_seqs;
} persister_opts;

typedef struct persister_stats {
    uint64_t batches;        /* made durable */
    uint64_t events;         /* in them: new ones */
    uint64_t duplicates;     /* in them: ones already there */
    uint64_t failed_batches; /* not made durable: their requests were refused */
    uint64_t failed_events;
    histogram commit_seconds; /* per batch, from the start of commit to its end */
} persister_stats;

/* The buckets of commit_seconds, in seconds. */
extern const double persister_commit_bounds[];
extern const size_t persister_commit_nbounds;

/* Starts the thread. 'q', 'opts->ctx' and 'done_ctx' must outlive it. */
int persister_start(job_queue *q, const persister_opts *opts, persister_done_fn done,
                    void *done_ctx, persister **out);

/* Waits until the queue is closed and drained and every job handed back, then frees 'p'. */
void persister_join(persister *p);

/* A consistent copy of the counters. Any thread. */
void persister_get_stats(persister *p, persister_stats *out);

/* Appends the series of core/series.h -- every event the persister made durable anew (seq >
 * 0: new to the store, or to the spool in front of a remote one) -- to 'out'. Any thread. */
void persister_write_series(persister *p, json_buf *out);

#endif
