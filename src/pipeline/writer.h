/* writer.h -- how events reach the store when the store misbehaves (DESIGN §4.3, §4.5).
 *
 * In front of the store, a circuit breaker: while it is open, no call goes out and writes fail
 * fast. A transient failure (the store is down, busy, out of resources: TT_EUNAVAILABLE) is
 * retried with exponential backoff and jitter, within the retry limits. A permanent one (the
 * store refused the data itself: TT_EREJECTED) is never retried as it is: the batch is split
 * in halves until each refused event is alone, the rest is committed, and each refused event
 * goes to the dead letter queue with the store's error. In idle moments the writer retries
 * due dead letters, and deletes events and resolved dead letters past their retention.
 *
 * Threads: one thread owns a writer and calls everything but writer_interrupt() and
 * writer_get_stats(), which any thread may call: the persister's for an embedded store, the
 * shipper's for a remote one. */
#ifndef TT_WRITER_H
#define TT_WRITER_H

#include "core/backoff.h"
#include "core/breaker.h"
#include "core/ingest.h"
#include "pipeline/pipeline_clock.h"
#include "store/store.h"

typedef struct writer writer;

/* Receives events the writer committed on its own (recovered dead letters), with their seqs,
 * on the owner's thread. It owns the batch from then on. */
typedef void (*writer_committed_fn)(event_batch *b, void *ctx);

typedef struct writer_opts {
    breaker_cfg breaker;
    backoff_cfg retry;
    uint32_t dlq_max_retries;   /* retries a dead letter gets (TELLTALE_DLQ_MAX_RETRIES) */
    uint64_t dlq_retry_base_ms; /* a dead letter's retry n waits [d/2, d], */
    uint64_t dlq_retry_cap_ms;  /* d = min(cap, base * 2^n) (TELLTALE_DLQ_RETRY_BASE, _CAP) */
    uint32_t dlq_lease_ms;      /* how long a claimed dead letter is ours */
    uint64_t retention_ms;      /* events older than this are deleted; 0: never */
    uint64_t dlq_retention_ms;  /* resolved dead letters older than this are deleted; 0: never */
    uint64_t rollup_retention_ms; /* hour and day rollups older than this go; 0: never (minute
                                   * rollups and sessions go with the events) */
    writer_committed_fn committed;
    void *ctx;
    pipeline_clock clock; /* zeroed: the OS's clock and randomness (see pipeline_clock.h) */
} writer_opts;

/* What one writer_write() did with its events. */
typedef struct writer_outcome {
    uint32_t stored;        /* new rows (seq > 0) */
    uint32_t duplicates;    /* already stored (seq 0) */
    uint32_t dead_lettered; /* refused by the store, now in the dead letter queue (seq 0) */
} writer_outcome;

typedef struct writer_stats {
    breaker_state breaker_state;
    uint64_t breaker_transitions;
    breaker_transition last_transition;
    breaker_stats breaker;
    uint64_t batches; /* writes that ended with everything stored or dead-lettered */
    uint64_t events_stored;
    uint64_t duplicates;
    uint64_t transient_failures; /* store calls that failed transiently */
    uint64_t retries;            /* calls made again after one */
    uint64_t rejected_calls;     /* store calls refused for the data */
    uint64_t dead_lettered;      /* events put into the dead letter queue */
    uint64_t dlq_recovered;      /* dead letters the store took on a retry */
    uint64_t dlq_retry_failures;
    uint64_t retention_deleted;
    uint64_t dlq_purged;
} writer_stats;

int writer_create(store *st, const writer_opts *opts, writer **out);
void writer_free(writer *w); /* NULL is a no-op */

/* The seq writer_write() gives an event it put in the dead letter queue. */
#define WRITER_DEAD_LETTERED (-1)

/* Writes 'events', in order. Returns 0 when each is stored, was stored already, or is in the
 * dead letter queue (see *out); each event's seq is set: its store seq if newly stored, 0 if
 * stored already, WRITER_DEAD_LETTERED if refused. Returns
 * TT_EUNAVAILABLE when the store is out of reach -- breaker open, retries spent, or
 * writer_interrupt() -- with 'err' saying why: then some events may be stored (a split batch
 * commits in parts), and writing them all again later is safe, as ids make it idempotent. */
int writer_write(writer *w, tt_event *const *events, size_t n, writer_outcome *out,
                 char err[TT_ERRLEN]);

/* True if a write may go out now; otherwise *retry_in_ms says when to look again. */
bool writer_available(writer *w, uint64_t *retry_in_ms);

/* Idle-time work, each part bounded: retry due dead letters (only while the breaker is
 * closed), and apply the retentions (at most once a minute). */
void writer_housekeeping(writer *w);

/* Sleeps up to 'ms', or until writer_interrupt() or writer_control_breaker(); false if
 * interrupted. Owner's thread. */
bool writer_sleep(writer *w, uint64_t ms);

/* Makes waits return at once and writes give up at their next wait (shutdown). Any thread. */
void writer_interrupt(writer *w);

/* The operator's hand on the breaker: force it open (no store calls at all), disable it (every
 * call goes through, nothing is judged), or reset it (closed, counts cleared). Any thread;
 * applied by the owner at its next write or look. */
typedef enum writer_control {
    WRITER_CONTROL_NONE,
    WRITER_FORCE_OPEN,
    WRITER_DISABLE_BREAKER,
    WRITER_RESET_BREAKER
} writer_control;
void writer_control_breaker(writer *w, writer_control c);

void writer_get_stats(writer *w, writer_stats *out);

#endif
