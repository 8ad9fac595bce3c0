/* stream.h -- the committed-rows engine: committed events handed to subscribers in seq order,
 * each subscriber from a seq of its choice (catch-up read from the store in pages on libuv's
 * thread pool, paced to its client), then the live tail, with no gap and no duplicate.
 * /ws (ws_live.c) and Realtime (realtime.c, rt_changes.c) are protocol adapters over it.
 *
 * Two modes, chosen by the composition:
 *   STREAM_MEMORY  the tail is this instance's committed batches, from memory, in seq order
 *                  (stream_committed_batch). /ws always; Realtime when the store has no change
 *                  feed (SQLite), where one engine may serve both.
 *   STREAM_FEED    the tail is read back from the store after the highest seq heard of
 *                  (stream_committed_seq: this instance's commits and the change feed's), one
 *                  read at a time, tail and catch-ups taking turns, plus a safety read once a
 *                  second: every instance's rows (Realtime on PostgreSQL).
 *
 * A row is encoded once per wire format ("format"), whatever the number of subscribers: the
 * adapters register an encoder each, and a row keeps what each one made. Page rows are
 * encoded on the pool thread for the requesting subscriber's format (a page ends early once
 * its encodings pass a byte budget); tail rows when first asked for, on the loop.
 *
 * Loop thread only, but for the encoders, which run on any thread. */
#ifndef TT_STREAM_H
#define TT_STREAM_H

#include "core/config.h"
#include "core/ingest.h"
#include "live/ws_peer.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define STREAM_FORMATS_MAX 4

typedef struct stream stream;

typedef enum stream_mode { STREAM_MEMORY, STREAM_FEED } stream_mode;

typedef struct stream_opts {
    uv_loop_t *loop;
    const tt_config *cfg; /* ws_max_buffer paces catch-ups and sizes pages */
    store *st;            /* pages (and the tail, in feed mode) are read from it */
    stream_mode mode;
    int64_t start_seq;    /* the highest seq committed before the engine started */
    const bool *stopping; /* no new reads once *stopping */
} stream_opts;

/* One committed row, shared by every subscriber it reaches; valid during a deliver call (keep
 * a reference to an encoding, never to the row). */
typedef struct stream_row {
    tt_event *ev;
    ws_msg *enc[STREAM_FORMATS_MAX]; /* what each format's encoder made, NULL until asked */
} stream_row;

/* A row in one wire format, as a message (text to send as it is, or a piece the adapter
 * builds its messages from); NULL when out of memory. Any thread: must read only 'ctx'. */
typedef ws_msg *(*stream_encode_fn)(const tt_event *ev, void *ctx);

typedef struct stream_sub stream_sub;

/* A subscriber: embedded in the adapter's client (or channel), which sets the public fields
 * before stream_sub_start(). */
struct stream_sub {
    /* public */
    int format;     /* from stream_format_add(): pages are encoded in it */
    ws_peer *peer;  /* its client: catch-up delivery pauses while it has too much queued */
    /* Offers a row with seq above the cursor: the adapter filters and sends. */
    void (*deliver)(stream_sub *sub, stream_row *row);
    /* A page could not be read ('why'); the read is retried at the next tick unless the
     * adapter stops the subscriber. May be NULL. */
    void (*failed)(stream_sub *sub, const char *why);
    /* A narrower store query (NULL = any), copied when a page is issued: rows it leaves out
     * would not have been delivered anyway. */
    const char *type, *source, *session_id;
    /* private */
    stream *s;
    stream_sub *prev, *next;
    uint64_t id;          /* a page coming back from the pool finds its subscriber by it */
    int64_t cursor;       /* the highest seq looked at for it */
    bool catching_up;     /* reads its own pages; the tail passes it by */
    bool wants_read;      /* its next page is due */
    bool waits_for_drain; /* ... once its client has sent half of what is queued */
    bool reading;         /* one of its pages runs (memory mode) */
    bool stale;           /* its cursor moved while a page ran: the page is discarded */
};

/* Sets up an engine; the options' pointers must outlive it. */
int stream_create(const stream_opts *opts, stream **out);
void stream_free(stream *s); /* NULL is a no-op; after every subscriber stopped */

/* Registers an encoder; returns the format's number (>= 0) or TT_ENOMEM when all
 * STREAM_FORMATS_MAX are taken. Before the first subscriber. */
int stream_format_add(stream *s, stream_encode_fn fn, void *ctx);

/* The row in 'format', encoded now if it was not yet; NULL when out of memory. */
ws_msg *stream_row_encoding(stream *s, stream_row *row, int format);

/* Memory mode: the events of 'b' with a seq were committed (by this instance). */
void stream_committed_batch(stream *s, const event_batch *b);
/* Feed mode: everything up to 'seq' is committed (by this instance or another). */
void stream_committed_seq(stream *s, int64_t seq);
/* Once a second: failed reads are retried; in feed mode, a safety read. */
void stream_tick(stream *s);

/* The highest seq known to be committed: a subscriber starting there gets only new rows. */
int64_t stream_known(const stream *s);
/* The highest seq handed to the live subscribers (the tail's position). */
int64_t stream_delivered(const stream *s);

/* Adds 'sub' (public fields set) with rows after 'after'; it catches up if behind. */
void stream_sub_start(stream *s, stream_sub *sub, int64_t after);
/* Moves the subscriber to rows after 'after' (a /ws resume): a page in flight is discarded. */
void stream_sub_resume(stream_sub *sub, int64_t after);
/* Its client sent enough (at most half of ws_max_buffer queued): a paused catch-up goes on. */
void stream_sub_drained(stream_sub *sub);
/* Removes it; a page in flight for it is dropped when it comes back. Idempotent. */
void stream_sub_stop(stream_sub *sub);

#endif
