/* stream_page.h -- one read of committed rows for the engine (stream.c): the rows after a seq,
 * narrowed like a subscriber's filter, read from the store on libuv's thread pool and encoded
 * there in the formats asked for, within a row and a byte budget. Made and finished on the loop
 * thread; read on a pool thread, where only the page itself is touched. */
#ifndef TT_STREAM_PAGE_H
#define TT_STREAM_PAGE_H

#include "live/row_ring.h"
#include "live/stream.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct stream_page {
    /* public: set by the engine before stream_page_start() */
    stream *s;       /* whose read this is */
    uint64_t sub_id; /* 0 for the tail */
    int64_t known;   /* what the engine knew was committed when the read was issued */
    store *st;
    unsigned formats; /* encoded on the pool: one bit per format of 'encoders' */
    struct {
        stream_encode_fn fn;
        void *ctx;
    } encoders[STREAM_FORMATS_MAX];
    event_filter filter; /* after_seq and limit; the narrowing from stream_page_narrow() */
    size_t byte_budget;  /* a page ends early once its rows' encodings pass this */
    /* results, on the loop once done */
    stream_row *rows;
    size_t count, bytes;
    bool more; /* ended early: there may be more rows right after */
    int rc;    /* 0, or the read failed (err says why) */
    char err[TT_ERRLEN];
    /* private */
    uv_work_t work;
    bool oom;
    char type[EVENT_TYPE_MAX + 1], source[EVENT_SOURCE_MAX + 1];
    char session_id[EVENT_SESSION_MAX + 1];
} stream_page;

/* A zeroed page; NULL when out of memory. */
stream_page *stream_page_new(void);
/* Copies the narrowing (NULL = any) into the page's filter. */
void stream_page_narrow(stream_page *p, const char *type, const char *source,
                        const char *session_id);
/* Queues the read on the pool; 'done' runs on the loop with the page in w->data. Returns 0 or
 * a libuv error (the page is then still the caller's). */
int stream_page_start(uv_loop_t *loop, stream_page *p, uv_after_work_cb done);
void stream_page_free(stream_page *p); /* the rows and their encodings too */

#endif
