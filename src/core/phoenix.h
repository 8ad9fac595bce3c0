/* phoenix.h -- the Phoenix channel wire format as @supabase/realtime-js 2.x speaks it.
 *
 * A message is (join_ref, ref, topic, event, payload). Text frames carry JSON:
 *
 *   vsn 1.0.0   {"join_ref":"1","ref":"2","topic":"realtime:x","event":"phx_join","payload":{}}
 *   vsn 2.0.0   ["1","2","realtime:x","phx_join",{}]
 *
 * and in 2.0.0 a client sends its own broadcasts (payload {"event": E, ...}) as binary frames,
 * "user broadcast push" (realtime-js lib/serializer.ts), and receives others' binary
 * broadcasts as "user broadcast" frames:
 *
 *   push  (client -> server): u8 kind=3 | u8 join_ref_len | u8 ref_len | u8 topic_len |
 *         u8 event_len | u8 meta_len | u8 encoding (0 binary, 1 JSON) |
 *         join_ref | ref | topic | event | meta (JSON or empty) | payload (rest of the frame)
 *   user broadcast (server -> client): u8 kind=4 | u8 topic_len | u8 event_len |
 *         u8 meta_len | u8 encoding | topic | event | meta | payload
 *
 * Every length above is at most 255 bytes. Pure; any thread. */
#ifndef TT_PHOENIX_H
#define TT_PHOENIX_H

#include "core/err.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define PHX_FIELD_MAX 255 /* bytes of a ref, topic or event */
#define PHX_MAX_DEPTH 32  /* nesting of a payload */

typedef enum phx_vsn { PHX_V1 = 1, PHX_V2 = 2 } phx_vsn;

/* A message from a client. The strings are NUL-terminated copies; a ref that was null or
 * absent is "" with has_* false. */
typedef struct phx_msg {
    char join_ref[PHX_FIELD_MAX + 1];
    char ref[PHX_FIELD_MAX + 1];
    char topic[PHX_FIELD_MAX + 1];
    char event[PHX_FIELD_MAX + 1];
    bool has_join_ref, has_ref;
    cJSON *payload; /* owned; always an object (other payloads are refused) */
    /* A binary user broadcast push: event is "broadcast", payload {"type":"broadcast",
     * "event":E} plus "payload" when it was JSON; raw bytes otherwise. */
    bool binary;
    unsigned char *raw; /* owned; the binary payload (raw_len bytes), NULL if JSON */
    size_t raw_len;
} phx_msg;

/* Parses one frame: text in 'vsn''s JSON shape, or (binary, 2.0.0 only) a user broadcast
 * push. On success *out owns its payload (free with phx_msg_free()); on failure nothing is
 * left to free and 'err' says what is wrong. Returns 0 or TT_EINVAL. */
int phx_parse(phx_vsn vsn, bool binary, const char *data, size_t len, phx_msg *out,
              char err[TT_ERRLEN]);

void phx_msg_free(phx_msg *m);

/* The text of a message in 'vsn''s JSON shape; 'payload' is JSON text (an object), join_ref and
 * ref NULL for null. Returns a new string (free()), *len its length; NULL when out of memory. */
char *phx_render(phx_vsn vsn, const char *join_ref, const char *ref, const char *topic,
                 const char *event, const char *payload, size_t *len);

/* A server -> client user broadcast frame (kind 4) with a binary payload; 'meta' may be NULL.
 * Returns a new buffer (free()), *len its length; NULL when out of memory or a field is over
 * 255 bytes. */
unsigned char *phx_render_user_broadcast(const char *topic, const char *event,
                                         const unsigned char *payload, size_t payload_len,
                                         size_t *len);

#endif
