/* shipper.c -- spool to store, oldest first, one transaction at a time.
 *
 * A transaction takes batch_size events. While a backlog exists (the last peek came back
 * full), it takes up to SHIPPER_BACKLOG_BATCHES batches, bounded by SHIPPER_BACKLOG_EVENTS and
 * SHIPPER_BACKLOG_BYTES: the store's fixed cost per transaction (round trips, the seq lock,
 * one upsert of each rollup and session row with its histogram merge, the commit's fsync) is
 * then paid once for all of them. A trickle still ships as it comes. Measured in
 * BENCHMARKS.md ("Several batches per transaction while the spool holds a backlog"). */
#include "pipeline/shipper.h"

#include "os/clock.h"
#include "os/log.h"

#include <pthread.h>
#include <stdlib.h>

#define IDLE_POLL_MS 1000
#define LOG_STALL_EVERY 20 /* log one stall in this many, so an outage does not flood the log */

struct shipper {
    spool *sp;
    writer *w;
    uint32_t batch_size;
    writer_committed_fn committed;
    void *ctx;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool backlog;         /* the last peek came back full (shipper thread) */
    bool woken, stopping; /* under 'lock' */
    shipper_stats stats;  /* under 'lock' */
};

/* Waits for a wake-up or 'ms'; false once stopping. */
static bool idle_wait(shipper *s, uint64_t ms)
{
    struct timespec until = clock_deadline_after(ms);
    pthread_mutex_lock(&s->lock);
    while (!s->woken && !s->stopping && pthread_cond_timedwait(&s->wake, &s->lock, &until) == 0) {
    }
    s->woken = false;
    bool go_on = !s->stopping;
    pthread_mutex_unlock(&s->lock);
    return go_on;
}

static void set_waiting(shipper *s, bool waiting)
{
    pthread_mutex_lock(&s->lock);
    if (waiting && !s->stats.waiting && s->stats.stalls++ % LOG_STALL_EVERY == 0) {
        log_warn("the store is out of reach: events wait in the spool");
    }
    s->stats.waiting = waiting;
    pthread_mutex_unlock(&s->lock);
}

/* How many events the next transaction may take: batch_size, or under a backlog up to
 * SHIPPER_BACKLOG_BATCHES of them within SHIPPER_BACKLOG_EVENTS (never fewer than one batch). */
static uint32_t transaction_events(const shipper *s)
{
    if (!s->backlog || s->batch_size >= SHIPPER_BACKLOG_EVENTS) {
        return s->batch_size;
    }
    uint64_t widened = (uint64_t)s->batch_size * SHIPPER_BACKLOG_BATCHES;
    return widened < SHIPPER_BACKLOG_EVENTS ? (uint32_t)widened : SHIPPER_BACKLOG_EVENTS;
}

/* Ships one transaction's worth; false when there was nothing to ship or the store is out. */
static bool ship_one(shipper *s)
{
    event_batch b;
    char err[TT_ERRLEN];
    uint32_t max = transaction_events(s);
    uint64_t max_bytes = s->backlog ? SHIPPER_BACKLOG_BYTES : UINT64_MAX;
    if (spool_peek(s->sp, max, max_bytes, &b, err) != 0) {
        log_error("cannot read the spool: %s", err);
        return false;
    }
    s->backlog = b.count == max || b.bytes >= max_bytes;
    if (b.count == 0) {
        event_batch_free(&b);
        return false;
    }
    /* The writer replaces spool seqs with store seqs: note what to release first. */
    int64_t through = b.events[b.count - 1]->seq;
    uint64_t bytes = spool_bytes(&b);
    writer_outcome out;
    int rc = writer_write(s->w, b.events, b.count, &out, err);
    if (rc != 0) {
        set_waiting(s, true);
        event_batch_free(&b);
        return false;
    }
    set_waiting(s, false);
    if (spool_release(s->sp, through, bytes, err) != 0) {
        /* Shipped but not released: the next peek sends them again, and ids make that a
         * no-op in the store. */
        log_error("cannot release shipped events from the spool: %s", err);
    }
    pthread_mutex_lock(&s->lock);
    s->stats.batches++;
    s->stats.events += b.count;
    pthread_mutex_unlock(&s->lock);
    s->committed(&b, s->ctx);
    return true;
}

static void *shipper_thread(void *arg)
{
    shipper *s = arg;
    uint64_t next_housekeeping = clock_mono_ms() + IDLE_POLL_MS;
    for (;;) {
        if (clock_mono_ms() >= next_housekeeping) { /* also under constant load */
            writer_housekeeping(s->w);
            next_housekeeping = clock_mono_ms() + IDLE_POLL_MS;
        }
        uint64_t retry_in;
        if (!writer_available(s->w, &retry_in)) {
            set_waiting(s, true);
            if (!idle_wait(s, retry_in)) {
                break;
            }
            continue;
        }
        if (ship_one(s)) {
            pthread_mutex_lock(&s->lock);
            bool stop = s->stopping;
            pthread_mutex_unlock(&s->lock);
            if (stop) {
                break;
            }
            continue;
        }
        writer_housekeeping(s->w);
        next_housekeeping = clock_mono_ms() + IDLE_POLL_MS;
        if (!idle_wait(s, IDLE_POLL_MS)) {
            break;
        }
    }
    return NULL;
}

int shipper_start(spool *sp, writer *w, uint32_t batch_size, writer_committed_fn committed,
                  void *ctx, shipper **out)
{
    shipper *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return TT_ENOMEM;
    }
    *s = (shipper){.sp = sp, .w = w, .batch_size = batch_size, .committed = committed, .ctx = ctx};
    pthread_mutex_init(&s->lock, NULL);
    clock_cond_init(&s->wake);
    int rc = pthread_create(&s->thread, NULL, shipper_thread, s);
    if (rc != 0) {
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return -rc;
    }
    *out = s;
    return 0;
}

void shipper_wake(shipper *s)
{
    pthread_mutex_lock(&s->lock);
    s->woken = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
}

void shipper_stop(shipper *s)
{
    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    writer_interrupt(s->w);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void shipper_get_stats(shipper *s, shipper_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->lock);
}
