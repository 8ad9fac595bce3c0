/* ingest.h -- an ingest body (JSON object, JSON array, or NDJSON) to validated events.
 *
 * Pure; any thread (but see event_json.h on cJSON's error state). */
#ifndef TT_INGEST_H
#define TT_INGEST_H

#include "core/err.h"
#include "core/event.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* Bodies nest at most this deep (array, event, attrs levels, with room to spare so that an
 * over-deep 'attrs' is reported with its event's index). */
#define INGEST_MAX_DEPTH 32

typedef enum ingest_format {
    INGEST_JSON,   /* one object or an array of objects */
    INGEST_NDJSON, /* one object per line; blank lines are skipped */
} ingest_format;

/* Why a body or an event was refused. 'code' is a static snake_case word for the API
 * ("invalid_json", "unknown_field", ...); 'index' is the 0-based position of the first bad
 * event, or -1 when the body as a whole is at fault. */
typedef struct ingest_error {
    const char *code;
    int index;
    int http_status; /* 400, or 413 for too many events */
    char message[TT_ERRLEN];
} ingest_error;

/* Events in arrival order. */
typedef struct event_batch {
    tt_event **events;
    size_t count;
    size_t bytes; /* sum of the events' sizes */
} event_batch;

/* Parses and validates 'body' (a UTF-8 byte-order mark at its start is skipped, RFC 8259 §8.1).
 * Events without 'ts' get 'now_ms'; every event gets
 * received_ms = now_ms. Ids are not assigned here (see uuid7.h). All or nothing: on success
 * returns 0 and *out owns the events (free with event_batch_free()); on failure returns
 * TT_EINVAL or TT_ETOOBIG with *err filled, or TT_ENOMEM, and *out is empty. */
int ingest_parse(const char *body, size_t len, ingest_format fmt, int64_t now_ms, size_t max_events,
                 event_batch *out, ingest_error *err);

/* The same for events already parsed: 'array' must be a JSON array of event objects (as in
 * a WebSocket ingest message). */
int ingest_from_array(const cJSON *array, int64_t now_ms, size_t max_events, event_batch *out,
                      ingest_error *err);

/* Appends 'ev' (taken) to 'b', whose array holds *cap events (0 for a new batch), growing it
 * as needed. Returns 0, or TT_ENOMEM with 'b' and 'ev' unchanged (the caller still owns it). */
int event_batch_push(event_batch *b, size_t *cap, tt_event *ev);

/* Frees the events and the array; leaves 'b' empty. */
void event_batch_free(event_batch *b);

#endif
