/* pipeline.h -- the path from the ingest queue to the store, assembled for the store at hand:
 *
 *   embedded store (SQLite):  queue -> persister -> writer -> store
 *   remote store (PostgreSQL): queue -> persister -> spool (local, fsynced: the ack)
 *                                       spool -> shipper -> writer -> store
 *
 * The writer (breaker, retries, dead letters) always runs on the thread that writes the
 * store. Committed events come back through 'committed' for live broadcast; answered jobs
 * through 'done'. Threads: start and stop from one thread; stats from any. */
#ifndef TT_PIPELINE_H
#define TT_PIPELINE_H

#include "core/config.h"
#include "pipeline/persister.h"
#include "pipeline/shipper.h"
#include "pipeline/spool.h"
#include "pipeline/writer.h"

typedef struct pipeline pipeline;

typedef struct pipeline_stats {
    persister_stats persister;
    writer_stats writer;
    bool spooled; /* the store is remote: there is a spool and a shipper */
    spool_stats spool;
    shipper_stats shipper;
} pipeline_stats;

/* Starts the threads. 'st', 'q' and the contexts must outlive the pipeline. */
int pipeline_start(const tt_config *cfg, store *st, job_queue *q, persister_done_fn done,
                   writer_committed_fn committed, void *ctx, pipeline **out, char err[TT_ERRLEN]);

/* True once nothing waits in the spool (always true without one). Any thread. */
bool pipeline_spool_empty(pipeline *p);

/* Whether the store is remote, with a spool and a shipper (PostgreSQL). Any thread. */
bool pipeline_has_spool(const pipeline *p);

/* Stops everything: the persister once the (closed) queue is drained, then the shipper after
 * its current batch. What is still in the spool stays for the next start. Frees 'p'. */
void pipeline_stop(pipeline *p);

void pipeline_get_stats(pipeline *p, pipeline_stats *out);

/* Appends the event series of core/series.h (what the persister made durable) to 'out'. Any
 * thread. */
void pipeline_write_series(pipeline *p, json_buf *out);

/* The operator's breaker controls (see writer_control_breaker). Any thread. */
void pipeline_control_breaker(pipeline *p, writer_control c);

#endif
