/* shipper.c -- spool to store, oldest first, one transaction at a time; the spool's side of it
 * read ahead on a thread of its own.
 *
 * Two threads. The shipper thread writes transactions to the store (writer_write: breaker,
 * retries, dead letters) and does the writer's housekeeping. The reader thread keeps the next
 * transaction's events read from the spool, and deletes shipped ones from it, while the
 * shipper thread waits on the store: done in line, those reads and deletes took an eighth of
 * the shipper's time on PostgreSQL, with the store idle meanwhile (BENCHMARKS.md, "The spool's
 * side off the shipper's path").
 *
 * Sizes. A transaction takes batch_size events. While a backlog exists (the last read came
 * back full), it takes up to SHIPPER_BACKLOG_BATCHES batches, bounded by
 * SHIPPER_BACKLOG_EVENTS and SHIPPER_BACKLOG_BYTES: the store's fixed cost per transaction
 * (round trips, the seq lock, one upsert of each rollup and session row with its histogram
 * merge, the commit's fsync) is then paid once for all of them. A trickle still ships as it
 * comes (BENCHMARKS.md, "Several batches per transaction while the spool holds a backlog").
 *
 * Order and exactly once. The reader reads after read_through, the spool seq of the last event
 * it read; spool seqs only grow (AUTOINCREMENT), so nothing appended later is skipped. A failed
 * write rewinds read_through to the last committed event and drops what was read ahead: all
 * of it is read again, in order. A release deletes through the last committed event only. */
#include "pipeline/shipper.h"

#include "os/clock.h"
#include "os/log.h"

#include <errno.h>
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
    pthread_t thread, reader;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* to the shipper thread: woken, stopping, a batch read ahead */
    pthread_cond_t work; /* to the reader: something to read or release, stopping */
    /* under 'lock' */
    bool woken, stopping, reader_stopping;
    bool look;                 /* the reader should read: a batch was taken, or events came */
    bool backlog;              /* the last read came back full */
    event_batch ahead;         /* read ahead, not taken yet (count 0: none) */
    int64_t read_through;      /* spool seq of the last event read (taken or in 'ahead') */
    int64_t committed_through; /* ... of the last event the store committed */
    uint64_t generation;       /* bumped by a rewind: a read begun before it is dropped */
    bool release_pending;
    int64_t release_through; /* delete from the spool through this seq ... */
    uint64_t release_bytes;  /* ... which frees this much of its quota */
    shipper_stats stats;
};

/* ---- the shipper thread: the store's side ---------------------------------------------- */

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

static bool stopping(shipper *s)
{
    pthread_mutex_lock(&s->lock);
    bool stop = s->stopping;
    pthread_mutex_unlock(&s->lock);
    return stop;
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

/* Takes the batch read ahead into *out, waiting up to 'ms' for one; false when none came or
 * the shipper is stopping. */
static bool take_batch(shipper *s, uint64_t ms, event_batch *out)
{
    struct timespec until = clock_deadline_after(ms);
    pthread_mutex_lock(&s->lock);
    int rc = 0;
    while (s->ahead.count == 0 && !s->stopping && rc == 0) {
        rc = pthread_cond_timedwait(&s->wake, &s->lock, &until);
    }
    bool got = s->ahead.count > 0 && !s->stopping;
    if (got) {
        *out = s->ahead;
        s->ahead = (event_batch){0};
        s->look = true;
        pthread_cond_signal(&s->work);
    }
    pthread_mutex_unlock(&s->lock);
    return got;
}

/* A write failed: drops what was read ahead and has everything after the last committed event
 * read again, as one batch at least if the failed one was full. */
static void rewind_reads(shipper *s, bool backlog)
{
    pthread_mutex_lock(&s->lock);
    event_batch_free(&s->ahead);
    s->read_through = s->committed_through;
    s->generation++;
    s->backlog = backlog;
    s->look = true;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->lock);
}

/* The store committed 'b', 'bytes' in the spool through spool seq 'through': the reader deletes
 * it from the spool (with any release still pending), and the stats count it. */
static void post_release(shipper *s, const event_batch *b, int64_t through, uint64_t bytes)
{
    pthread_mutex_lock(&s->lock);
    s->committed_through = through;
    s->release_through = through;
    s->release_bytes += bytes;
    s->release_pending = true;
    pthread_cond_signal(&s->work);
    s->stats.batches++;
    s->stats.events += b->count;
    pthread_mutex_unlock(&s->lock);
}

/* Writes one transaction; on success hands it to 'committed', which frees it. */
static void ship(shipper *s, event_batch *b)
{
    /* The writer replaces spool seqs with store seqs: note what to release first. */
    int64_t through = b->events[b->count - 1]->seq;
    uint64_t bytes = spool_bytes(b);
    writer_outcome out;
    char err[TT_ERRLEN];
    if (writer_write(s->w, b->events, b->count, &out, err) != 0) {
        set_waiting(s, true);
        rewind_reads(s, b->count >= s->batch_size);
        event_batch_free(b);
        return;
    }
    set_waiting(s, false);
    post_release(s, b, through, bytes);
    s->committed(b, s->ctx);
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
        event_batch b;
        if (take_batch(s, IDLE_POLL_MS, &b)) {
            ship(s, &b);
            continue;
        }
        if (stopping(s)) {
            break;
        }
        writer_housekeeping(s->w); /* a quiet moment */
        next_housekeeping = clock_mono_ms() + IDLE_POLL_MS;
    }
    return NULL;
}

/* ---- the reader thread: the spool's side ----------------------------------------------- */

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

/* Deletes what was posted from the spool. Called and returns with 'lock' held. A failure is
 * logged and its bytes kept for the next release, which deletes through a later seq. */
static void release_locked(shipper *s)
{
    int64_t through = s->release_through;
    uint64_t bytes = s->release_bytes;
    s->release_pending = false;
    s->release_bytes = 0;
    pthread_mutex_unlock(&s->lock);
    char err[TT_ERRLEN];
    int rc = spool_release(s->sp, through, bytes, err);
    if (rc != 0) {
        /* In the store but still in the spool: a restart sends them again, and ids make that
         * a no-op in the store. */
        log_error("cannot release shipped events from the spool: %s", err);
    }
    pthread_mutex_lock(&s->lock);
    if (rc != 0) {
        s->release_bytes += bytes;
    }
}

/* Reads the next transaction's events after read_through into 'ahead'. Called and returns
 * with 'lock' held; a rewind meanwhile makes it drop what it read. */
static void read_ahead_locked(shipper *s)
{
    uint64_t generation = s->generation;
    int64_t after = s->read_through;
    uint32_t max = transaction_events(s);
    uint64_t max_bytes = s->backlog ? SHIPPER_BACKLOG_BYTES : UINT64_MAX;
    s->look = false;
    pthread_mutex_unlock(&s->lock);
    event_batch b;
    char err[TT_ERRLEN];
    int rc = spool_peek(s->sp, after, max, max_bytes, &b, err);
    if (rc != 0) {
        log_error("cannot read the spool: %s", err); /* tried again at the next wake or poll */
    }
    pthread_mutex_lock(&s->lock);
    if (rc != 0 || generation != s->generation) {
        event_batch_free(&b);
        return;
    }
    s->backlog = b.count == max || b.bytes >= max_bytes;
    if (b.count == 0) {
        event_batch_free(&b);
        return;
    }
    s->read_through = b.events[b.count - 1]->seq;
    s->ahead = b;
    pthread_cond_signal(&s->wake);
}

static void *reader_thread(void *arg)
{
    shipper *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        if (s->release_pending) {
            release_locked(s);
        } else if (s->reader_stopping) {
            break;
        } else if (s->look && s->ahead.count == 0 && !s->stopping) {
            read_ahead_locked(s);
        } else {
            struct timespec until = clock_deadline_after(IDLE_POLL_MS);
            if (pthread_cond_timedwait(&s->work, &s->lock, &until) == ETIMEDOUT) {
                s->look = true; /* a poll, in case a wake-up was missed */
            }
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- life cycle ------------------------------------------------------------------------ */

/* Ends the reader thread once it has done the release still pending, and joins it. */
static void stop_reader(shipper *s)
{
    pthread_mutex_lock(&s->lock);
    s->reader_stopping = true;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->reader, NULL);
}

static void destroy(shipper *s)
{
    event_batch_free(&s->ahead);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int shipper_start(spool *sp, writer *w, uint32_t batch_size, writer_committed_fn committed,
                  void *ctx, shipper **out)
{
    shipper *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return TT_ENOMEM;
    }
    *s = (shipper){.sp = sp,
                   .w = w,
                   .batch_size = batch_size,
                   .committed = committed,
                   .ctx = ctx,
                   .look = true};
    pthread_mutex_init(&s->lock, NULL);
    clock_cond_init(&s->wake);
    clock_cond_init(&s->work);
    int rc = pthread_create(&s->reader, NULL, reader_thread, s);
    if (rc != 0) {
        destroy(s);
        return -rc;
    }
    if ((rc = pthread_create(&s->thread, NULL, shipper_thread, s)) != 0) {
        stop_reader(s);
        destroy(s);
        return -rc;
    }
    *out = s;
    return 0;
}

void shipper_wake(shipper *s)
{
    pthread_mutex_lock(&s->lock);
    s->woken = true;
    s->look = true;
    pthread_cond_signal(&s->wake);
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->lock);
}

/* The shipper thread first (its last commit posts a release), then the reader, which does
 * that release before it ends. */
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
    stop_reader(s);
    destroy(s);
}

void shipper_get_stats(shipper *s, shipper_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->lock);
}
