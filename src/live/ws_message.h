/* ws_message.h -- reading one /ws client message (DESIGN §5, "WebSocket /ws"): a single JSON
 * object with a string "type", and the "ref" it may carry to be echoed in the answer. Pure
 * (no connection state); any thread. */
#ifndef TT_WS_MESSAGE_H
#define TT_WS_MESSAGE_H

#include "core/err.h"
#include "core/event.h"
#include "pipeline/gateway.h"

#include <cjson/cJSON.h>

#include <stdbool.h>
#include <stddef.h>

#define WS_REF_MAX 128 /* bytes of a string ref */

/* Parses [text, text+len). Returns the message (free it with cJSON_Delete), or NULL with
 * *code ("invalid_json" or "invalid_message") and 'why' (cap bytes) describing the fault. */
cJSON *ws_message_parse(const char *text, size_t len, const char **code, char *why, size_t cap);

/* The message's "ref" as JSON text to echo back (a new string; the caller frees it), NULL when
 * absent; *ok is false when a ref is there but is neither a number nor a string of at most
 * WS_REF_MAX bytes. */
char *ws_message_ref(const cJSON *msg, bool *ok);

/* A message as read, with an ingest message's events read too (they are its costly part), so
 * that a large message can be read away from the loop thread (ws_live.c). */
typedef struct ws_parsed {
    cJSON *msg;       /* NULL if the message is not one: 'code' and 'why' say why */
    const char *code; /* "invalid_json" or "invalid_message" */
    char why[TT_ERRLEN];
    bool ingest;            /* an ingest message with a usable ref whose events were read: */
    int rc;                 /* gateway_parse_array()'s result, */
    event_batch batch;      /* the events when 0, */
    ingest_refusal refusal; /* the refusal otherwise */
} ws_parsed;

/* Reads [text, text+len) with ws_message_parse(); then, for {"type":"ingest"} with a usable
 * ref when 'gw' is not NULL (the sender may ingest), its "events" with gateway_parse_array() at
 * 'now_ms'. Free with ws_parsed_free(). */
void ws_parsed_read(ws_parsed *p, const char *text, size_t len, gateway *gw, int64_t now_ms);
void ws_parsed_free(ws_parsed *p);

/* What a client asked to see, {"type":"subscribe","filter":{"type","source","session_id"}}
 * (each a string or null/absent); "" = any. */
typedef struct ws_filter {
    char type[EVENT_TYPE_MAX + 1];
    char source[EVENT_SOURCE_MAX + 1];
    char session_id[EVENT_SESSION_MAX + 1];
} ws_filter;

/* Reads the subscribe message's filter into *out (unchanged on error). False, with 'why' (cap
 * bytes), for a filter that is not an object, an unknown key, or a value too long. */
bool ws_message_filter(const cJSON *msg, ws_filter *out, char *why, size_t cap);

/* Whether 'ev' passes 'f'. */
bool ws_filter_matches(const ws_filter *f, const tt_event *ev);

#endif
