/* pg_copy.h -- events as rows of PostgreSQL's COPY text format: tab-separated columns,
 * backslash escapes, \N for NULL. Used by the PostgreSQL store and by bench/ingest's raw
 * baseline, so both send exactly the same bytes. Pure; any thread. */
#ifndef TT_PG_COPY_H
#define TT_PG_COPY_H

#include "core/event.h"

#include <stdbool.h>
#include <stddef.h>

/* A growable buffer. Zero-initialise it; free buf with free(). */
typedef struct pg_copy_buf {
    char *buf;
    size_t len, cap;
    bool oom; /* once out of memory it stays so */
} pg_copy_buf;

/* The columns a row holds, in order (ord first when ord >= 0). */
#define PG_COPY_COLUMNS                                                                            \
    "id, ts, received_at, type, source, session_id, name, status, duration_ms, bytes, value, "     \
    "error, attrs"

/* Appends one event as a row; with ord >= 0, an integer column 'ord' comes first. */
void pg_copy_event(pg_copy_buf *b, const tt_event *ev, long long ord);

#endif
