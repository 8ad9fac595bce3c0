/* row_ring.h -- committed rows as the engine (stream.h) keeps them: a row with one encoding
 * per wire format, and the bounded ring of recent rows in seq order that hands catching-up
 * subscribers over to the live tail. The ring holds every row with floor < seq <= its newest;
 * evicting the oldest raises the floor. Loop thread only (a row alone: the thread that made it). */
#ifndef TT_ROW_RING_H
#define TT_ROW_RING_H

#include "core/event.h"
#include "live/ws_peer.h"

#include <stddef.h>
#include <stdint.h>

#define STREAM_FORMATS_MAX 4
#define ROW_RING_ROWS 4096         /* rows at most ... */
#define ROW_RING_BYTES (16u << 20) /* ... and about this many bytes (store_event_bytes) */

/* One committed row, shared by every subscriber it reaches; valid during a deliver call (keep
 * a reference to an encoding, never to the row). */
typedef struct stream_row {
    tt_event *ev;
    ws_msg *enc[STREAM_FORMATS_MAX]; /* what each format's encoder made, NULL until asked */
} stream_row;

void stream_row_clear(stream_row *row); /* frees the event and the encodings */

typedef struct row_ring {
    stream_row **rows;
    size_t head, count;
    uint64_t bytes;
    int64_t floor;
} row_ring;

int row_ring_init(row_ring *r, int64_t floor); /* 0 or TT_ENOMEM */
void row_ring_free(row_ring *r);
/* Keeps a copy of 'ev', the newest committed row; NULL when out of memory. */
stream_row *row_ring_push(row_ring *r, const tt_event *ev);
/* Empties it: it holds every row above 'floor', none. */
void row_ring_reset(row_ring *r, int64_t floor);
stream_row *row_ring_at(const row_ring *r, size_t i); /* 0 is the oldest */

#endif
