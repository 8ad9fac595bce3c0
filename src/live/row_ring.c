/* row_ring.c -- committed rows and the ring of recent ones. Loop thread. */
#include "live/row_ring.h"

#include "store/store.h"

#include <stdlib.h>

void stream_row_clear(stream_row *row)
{
    for (int f = 0; f < STREAM_FORMATS_MAX; f++) {
        ws_msg_unref(row->enc[f]);
    }
    event_free(row->ev);
}

int row_ring_init(row_ring *r, int64_t floor)
{
    *r = (row_ring){.floor = floor, .rows = calloc(ROW_RING_ROWS, sizeof *r->rows)};
    return r->rows != NULL ? 0 : TT_ENOMEM;
}

stream_row *row_ring_at(const row_ring *r, size_t i)
{
    return r->rows[(r->head + i) % ROW_RING_ROWS];
}

static void evict(row_ring *r)
{
    stream_row *row = r->rows[r->head];
    r->floor = row->ev->seq;
    r->bytes -= store_event_bytes(row->ev);
    stream_row_clear(row);
    free(row);
    r->head = (r->head + 1) % ROW_RING_ROWS;
    r->count--;
}

void row_ring_reset(row_ring *r, int64_t floor)
{
    while (r->count > 0) {
        evict(r);
    }
    r->floor = floor;
}

stream_row *row_ring_push(row_ring *r, const tt_event *ev)
{
    stream_row *row = calloc(1, sizeof *row);
    if (row == NULL || (row->ev = event_clone(ev)) == NULL) {
        free(row);
        return NULL;
    }
    uint64_t bytes = store_event_bytes(ev);
    while (r->count == ROW_RING_ROWS || (r->count > 0 && r->bytes + bytes > ROW_RING_BYTES)) {
        evict(r);
    }
    r->rows[(r->head + r->count) % ROW_RING_ROWS] = row;
    r->count++;
    r->bytes += bytes;
    return row;
}

void row_ring_free(row_ring *r)
{
    row_ring_reset(r, r->floor);
    free(r->rows);
    r->rows = NULL;
}
