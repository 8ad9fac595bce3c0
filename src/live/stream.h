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
 * No gap, no duplicate. The facts the argument rests on:
 * Seq order is commit order (SQLite has one writer; PostgreSQL
 * assigns seq under an advisory lock at commit), and a seq is known here (committed_batch,
 * committed_seq) only once committed, so a page read issued when everything up to K is known
 * sees every row up to K. Each subscriber's cursor is the highest seq looked at for it; a row
 * is offered to it only above its cursor, and the cursor then moves to the row's seq, so
 * nothing is offered twice. What remains is that nothing above the cursor is skipped:
 *
 * Memory mode. The engine keeps a ring of recent committed rows with a floor: it holds every
 * committed row with floor < seq <= known (eviction raises the floor; with no subscriber the
 * ring is empty and floor = known). A live subscriber has cursor >= every row the ring held
 * when it went live, and each new row is offered to it as it commits. A catching-up one is
 * passed by the live rows; it moves on by:
 *   - cursor >= known: it is live;
 *   - floor <= cursor: the ring holds every row above the cursor: they are offered (paced),
 *     after which cursor = known and it is live -- on the loop, with no commit in between;
 *   - else a page is read after the cursor with K = known at issue. Rows it returns are
 *     offered; a short page saw every row up to K, so cursor = max(cursor, K) misses nothing,
 *     and the rows above K are committed later: in the ring, unless it has moved past the
 *     cursor meanwhile, and then another page is read.
 * Pacing stops anywhere (the client has more than half of ws_max_buffer queued); the cursor
 * says where, and the rest is read again (ring or page) once the client has drained.
 *
 * Feed mode (the scheme rt_changes.c had). The tail reads after its own cursor when more
 * is known (or once a second, in case a notification was lost) and offers its rows to the live
 * subscribers; a short tail page moves the tail's cursor to the K it was issued with. Reads --
 * the tail's and the catch-ups' -- run one at a time, taking turns. A catching-up subscriber
 * reads its own pages; when one comes back short and wholly delivered, it has seen every row
 * up to K >= the tail's cursor (the tail's rows were committed before this page was read, and
 * no tail read ran meanwhile), so it goes live at once, and the tail offers it only rows
 * above its cursor. A subscriber starting at or after the tail's cursor is live at once.
 *
 * Loop thread only, but for the encoders, which run on any thread. */
#ifndef TT_STREAM_H
#define TT_STREAM_H

#include "core/config.h"
#include "core/ingest.h"
#include "live/row_ring.h"
#include "live/ws_peer.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

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

/* A row in one wire format, as a message (text to send as it is, or a piece the adapter
 * builds its messages from); NULL when out of memory. Any thread: must read only 'ctx'. */
typedef ws_msg *(*stream_encode_fn)(const tt_event *ev, void *ctx);

typedef struct stream_sub stream_sub;

/* A subscriber: embedded in the adapter's client (or channel), which sets the public fields
 * before stream_sub_start(). */
struct stream_sub {
    /* public */
    int format;    /* from stream_format_add(): pages are encoded in it */
    ws_peer *peer; /* its client: catch-up delivery pauses while it has too much queued */
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
