/* shipper.h -- the thread that moves events from the spool to the remote store, in spool
 * order, through the writer (breaker, retries, dead letters), releasing each batch from the
 * spool only once the store has committed it. While the store is out it waits, and the spool
 * absorbs the traffic (DESIGN §4.3); in quiet moments it does the writer's housekeeping. */
#ifndef TT_SHIPPER_H
#define TT_SHIPPER_H

#include "pipeline/spool.h"
#include "pipeline/writer.h"

typedef struct shipper shipper;

/* While the spool holds a backlog (the last read of it came back full), one transaction takes
 * up to this many batches of batch_size ... */
#define SHIPPER_BACKLOG_BATCHES 8
/* ... but no more events than this (unless one batch is larger) ... */
#define SHIPPER_BACKLOG_EVENTS 8000
/* ... and stops at the event whose size (tt_event.size) brings the sum to this. */
#define SHIPPER_BACKLOG_BYTES (8u << 20)

typedef struct shipper_stats {
    uint64_t batches; /* shipped and released */
    uint64_t events;
    uint64_t stalls; /* times it had to wait for the store */
    bool waiting;    /* for the store, right now */
} shipper_stats;

/* Starts the thread. 'sp' and 'w' must outlive it; it owns 'w' from now on (one thread per
 * writer). Committed batches, with their store seqs, go to 'committed' on its thread. */
int shipper_start(spool *sp, writer *w, uint32_t batch_size, writer_committed_fn committed,
                  void *ctx, shipper **out);

/* Events were appended to the spool: look now rather than at the next poll. Any thread. */
void shipper_wake(shipper *s);

/* Stops the thread after its current batch (a write in progress gives up at its next wait),
 * joins it and frees 's'. What is still in the spool stays there for the next start. */
void shipper_stop(shipper *s);

void shipper_get_stats(shipper *s, shipper_stats *out);

#endif
