/* event.h -- the monitoring event: its fields and the rules of DESIGN §2.
 *
 * Pure: no I/O, no threads, no clock. Any thread may call these functions. */
#ifndef TT_EVENT_H
#define TT_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Field limits, in bytes of UTF-8 (DESIGN §2). */
#define EVENT_ID_MAX 64
#define EVENT_TYPE_MAX 64
#define EVENT_SOURCE_MAX 64
#define EVENT_SESSION_MAX 128
#define EVENT_NAME_MAX 128
#define EVENT_STATUS_MAX 32
#define EVENT_ERROR_MAX 4096
#define EVENT_ATTRS_MAX_BYTES 16384 /* compact JSON encoding of 'attrs' */
#define EVENT_ATTRS_MAX_DEPTH 8     /* 'attrs' itself is level 1 */

/* Event times are accepted from 1970-01-01 to 9999-12-31 (epoch milliseconds). */
#define EVENT_TS_MAX_MS INT64_C(253402300799999)

enum {
    EVENT_HAS_DURATION = 1 << 0,
    EVENT_HAS_BYTES = 1 << 1,
    EVENT_HAS_VALUE = 1 << 2,
};

/* An event. Strings are NUL-terminated UTF-8 and NULL when absent. An event made by
 * event_clone() owns its strings (they live in the same allocation); one built on the stack
 * merely points at someone else's. */
/* The largest `bytes` (DESIGN §2): 2^53 - 1, the largest integer every JSON reader keeps exactly
 * (I-JSON, RFC 7493 §2.2). */
#define EVENT_BYTES_MAX INT64_C(9007199254740991)

typedef struct tt_event {
    int64_t seq;         /* assigned by the store at commit; 0 before */
    int64_t ts_ms;       /* event time, epoch milliseconds */
    int64_t received_ms; /* when telltale accepted it */
    double duration_ms;  /* valid if has & EVENT_HAS_DURATION */
    double value;        /* valid if has & EVENT_HAS_VALUE */
    int64_t bytes;       /* valid if has & EVENT_HAS_BYTES: 0 to EVENT_BYTES_MAX */
    unsigned has;
    char id[EVENT_ID_MAX + 1]; /* "" until an id is assigned */
    const char *type;
    const char *source;
    const char *session_id;
    const char *name;
    const char *status;
    const char *error;
    const char *attrs; /* compact JSON text of an object */
    size_t size;       /* bytes held by a cloned event, for memory accounting */
} tt_event;

/* Returns a new event holding copies of 'src' and its strings in one allocation, or NULL when
 * out of memory. The caller frees it with event_free(). */
tt_event *event_clone(const tt_event *src);
void event_free(tt_event *ev); /* NULL is a no-op */

/* True if 's' (of 'len' bytes) is a valid event type: [a-z0-9_.:-]{1,64}. */
bool event_type_valid(const char *s, size_t len);

#endif
