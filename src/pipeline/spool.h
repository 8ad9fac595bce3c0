/* spool.h -- crash-safe local storage for accepted events not yet in a remote store.
 *
 * When the store is remote (PostgreSQL), an accepted batch is first committed here, on local
 * disk, and acknowledged from here (DESIGN §4.1); the shipper then moves it to the store, in
 * order, and lets go of it only once the store has committed it. A store outage therefore costs
 * producers nothing until the spool's disk quota is reached.
 *
 * The spool is an SQLite file, dir/spool.db, in WAL mode with synchronous=FULL: a commit is
 * on disk (the WAL fsynced) before it returns, so an acknowledged event survives kill -9 and
 * power loss. It has the events table of the SQLite store (same migrations), whose seq is
 * the spool's own order; events keep their ids, so whatever the shipper replays after a crash
 * is stored once (DESIGN §4.2). A lock file keeps two daemons from sharing one spool.
 *
 * Threads: spool_append from one thread (the persister), spool_peek and spool_release from
 * one other (the shipper); they take turns on the file. spool_get_stats from any thread. */
#ifndef TT_SPOOL_H
#define TT_SPOOL_H

#include "core/err.h"
#include "core/ingest.h"

#include <stdint.h>

typedef struct spool spool;

typedef struct spool_stats {
    uint64_t events;             /* waiting to be shipped */
    uint64_t bytes;              /* their approximate size (see store_event_bytes) */
    int64_t oldest_received_ms;  /* 0 when empty */
    uint64_t max_bytes;          /* the quota */
    uint64_t appended, released; /* events, since start */
} spool_stats;

/* Opens (creating if needed) the spool in 'dir'. On success *out owns it; close it with
 * spool_close(). Refuses (TT_EIO) a spool another running daemon holds. */
int spool_open(const char *dir, uint64_t max_bytes, spool **out, char err[TT_ERRLEN]);
void spool_close(spool *sp); /* NULL is a no-op */

/* Commits 'events' durably, in one transaction. Returns 0, TT_EFULL when they would take the
 * spool over its quota (nothing is written), or the SQLite failure. */
int spool_append(spool *sp, tt_event *const *events, size_t n, char err[TT_ERRLEN]);

/* The oldest events after spool seq 'after' (0: the oldest of all), in order, as new events in
 * *out (free with event_batch_free()): at most 'max' of them, and no more once their sizes
 * (ev->size, summed in out->bytes) reach 'max_bytes' -- the event that reaches it is the last
 * one, so a batch is never empty while events wait after 'after'. Each one's seq is its place
 * in the spool; seqs only grow, so a reader that goes on after the last seq it was given misses
 * nothing appended since. Empty when there is nothing to ship. */
int spool_peek(spool *sp, int64_t after, uint32_t max, uint64_t max_bytes, event_batch *out,
               char err[TT_ERRLEN]);

/* Forgets every event up to spool seq 'through' (a batch spool_peek() returned, now in the
 * store); 'bytes' is what spool_bytes() said of that batch when peeked. */
int spool_release(spool *sp, int64_t through, uint64_t bytes, char err[TT_ERRLEN]);

/* The size the quota counts for 'b'. */
uint64_t spool_bytes(const event_batch *b);

void spool_get_stats(spool *sp, spool_stats *out);

#endif
