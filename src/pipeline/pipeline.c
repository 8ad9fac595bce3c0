/* pipeline.c -- which threads carry events to the store, and how they stop. */
#include "pipeline/pipeline.h"

#include "os/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DLQ_LEASE_MS (5 * 60 * 1000)

struct pipeline {
    store *st;
    writer *writer;
    spool *spool;     /* remote store only */
    shipper *shipper; /* remote store only */
    persister *persister;
};

static int commit_to_store(tt_event *const *events, size_t n, void *ctx, char *err)
{
    pipeline *p = ctx;
    writer_outcome out;
    return writer_write(p->writer, events, n, &out, err);
}

static void housekeeping(void *ctx)
{
    pipeline *p = ctx;
    writer_housekeeping(p->writer);
}

static int commit_to_spool(tt_event *const *events, size_t n, void *ctx, char *err)
{
    pipeline *p = ctx;
    int rc = spool_append(p->spool, events, n, err);
    if (rc == 0) {
        shipper_wake(p->shipper);
    }
    return rc;
}

static void writer_options(const tt_config *cfg, writer_committed_fn committed, void *ctx,
                           writer_opts *o)
{
    *o = (writer_opts){.dlq_max_retries = cfg->dlq_max_retries,
                       .dlq_retry_base_ms = cfg->dlq_retry_base_ms,
                       .dlq_retry_cap_ms = cfg->dlq_retry_cap_ms,
                       .dlq_lease_ms = DLQ_LEASE_MS,
                       .retention_ms = cfg->retention_ms,
                       .dlq_retention_ms = cfg->dlq_retention_ms,
                       .rollup_retention_ms = cfg->rollup_retention_ms,
                       .committed = committed,
                       .ctx = ctx};
    breaker_cfg_default(&o->breaker);
    o->breaker.failure_threshold = cfg->breaker_failures;
    o->breaker.open_ms = cfg->breaker_open_ms;
    o->breaker.half_open_probes = cfg->breaker_half_open_probes;
    /* One good probe closes it: traffic may be too thin for a second one, and until it is
     * closed no dead letter is retried. */
    o->breaker.close_after = 1;
    backoff_cfg_default(&o->retry);
    o->retry.max_attempts = cfg->retry_max;
    o->retry.base_ms = cfg->retry_base_ms;
    o->retry.cap_ms = cfg->retry_cap_ms;
    o->retry.budget_ms = cfg->retry_budget_ms;
    o->retry.jitter = cfg->retry_decorrelated ? BACKOFF_DECORRELATED : BACKOFF_FULL;
}

static bool is_remote(const store *st)
{
    return strcmp(store_kind(st), "sqlite") != 0;
}

int pipeline_start(const tt_config *cfg, store *st, job_queue *q, persister_done_fn done,
                   writer_committed_fn committed, void *ctx, pipeline **out, char err[TT_ERRLEN])
{
    err[0] = '\0';
    pipeline *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    p->st = st;
    writer_opts wo;
    writer_options(cfg, committed, ctx, &wo);
    persister_opts po = {.batch_size = cfg->batch_size,
                         .backlog_size = PERSISTER_BACKLOG_EVENTS,
                         .flush_ms = cfg->flush_ms,
                         .ctx = p};
    int rc = writer_create(st, &wo, &p->writer);
    if (rc == 0 && is_remote(st)) {
        po.commit = commit_to_spool;
        if ((rc = spool_open(cfg->spool_dir, cfg->spool_max_bytes, &p->spool, err)) == 0 &&
            (rc = shipper_start(p->spool, p->writer, cfg->batch_size, committed, ctx,
                                &p->shipper)) != 0) {
            tt_fail(err, rc, "cannot start the shipper: %s", tt_strerror(rc));
        }
    } else if (rc == 0) {
        po.commit = commit_to_store;
        po.idle = housekeeping;
        po.store_seqs = true;
    }
    if (rc == 0 && (rc = persister_start(q, &po, done, ctx, &p->persister)) != 0) {
        tt_fail(err, rc, "cannot start the persister: %s", tt_strerror(rc));
    }
    if (rc != 0) {
        if (err[0] == '\0') {
            tt_fail(err, rc, "%s", tt_strerror(rc));
        }
        pipeline_stop(p);
        return rc;
    }
    if (p->spool != NULL) {
        spool_stats ss;
        spool_get_stats(p->spool, &ss);
        log_info("spool: %s (%llu events waiting to be shipped)", cfg->spool_dir,
                 (unsigned long long)ss.events);
    }
    *out = p;
    return 0;
}

bool pipeline_spool_empty(pipeline *p)
{
    if (p->spool == NULL) {
        return true;
    }
    spool_stats ss;
    spool_get_stats(p->spool, &ss);
    return ss.events == 0;
}

bool pipeline_has_spool(const pipeline *p)
{
    return p->spool != NULL;
}

void pipeline_stop(pipeline *p)
{
    if (p == NULL) {
        return;
    }
    /* A write still retrying now gives up at its next wait: past the shutdown deadline,
     * an event not yet durable is better refused (its producer retries) than waited for. */
    if (p->writer != NULL) {
        writer_interrupt(p->writer);
    }
    if (p->persister != NULL) {
        persister_join(p->persister); /* the caller closed the queue */
    }
    if (p->spool != NULL) {
        /* What the shipper is sending stays in the spool: better sent again after the restart
         * (the store skips ids it has) than waited for on a store that does not answer. */
        store_interrupt(p->st);
    }
    shipper_stop(p->shipper);
    spool_close(p->spool);
    writer_free(p->writer);
    free(p);
}

void pipeline_write_series(pipeline *p, json_buf *out)
{
    persister_write_series(p->persister, out);
}

void pipeline_get_stats(pipeline *p, pipeline_stats *out)
{
    *out = (pipeline_stats){.spooled = p->spool != NULL};
    persister_get_stats(p->persister, &out->persister);
    writer_get_stats(p->writer, &out->writer);
    if (p->spool != NULL) {
        spool_get_stats(p->spool, &out->spool);
        shipper_get_stats(p->shipper, &out->shipper);
    }
}

void pipeline_control_breaker(pipeline *p, writer_control c)
{
    writer_control_breaker(p->writer, c);
}
