/* event_json.h -- an event's JSON form, in (validation against DESIGN §2) and out.
 *
 * Pure; any thread. cJSON keeps its last parse error in a global, which telltale never reads;
 * its allocator hooks are left at malloc/free. */
#ifndef TT_EVENT_JSON_H
#define TT_EVENT_JSON_H

#include "core/event.h"
#include "core/ingest.h"
#include "core/json_print.h"

#include <cjson/cJSON.h>

/* Validates 'obj' as an event and returns a new event (free with event_free()) in *out.
 * 'now_ms' fills 'ts' when absent and always 'received_ms'. On failure returns TT_EINVAL (or
 * TT_ENOMEM) and fills err->code and err->message; err->index is left to the caller. */
int event_from_json(const cJSON *obj, int64_t now_ms, tt_event **out, ingest_error *err);

/* Returns a new cJSON tree of what event_write_json() writes (EVENT_JSON_STORED), for a caller
 * that needs a tree; NULL when out of memory. The caller deletes it with cJSON_Delete(). */
cJSON *event_to_json(const tt_event *ev);

/* Which fields event_write_json() writes. */
typedef enum event_json_form {
    EVENT_JSON_STORED,  /* every field, as GET /api/v1/events answers */
    EVENT_JSON_AS_SENT, /* without what telltale assigns (seq, received_at): a replayable body */
} event_json_form;

/* Writes 'ev' as one JSON object: fields in the documented order, absent ones omitted, times
 * in RFC 3339, attrs as stored. */
void event_write_json(json_writer *w, const tt_event *ev, event_json_form form);

#endif
