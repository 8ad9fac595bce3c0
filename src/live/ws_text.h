/* ws_text.h -- the /ws protocol's server messages (rows, acks, errors, flags, state); a
 * client's message is read by ws_message.h. Pure; any thread. */
#ifndef TT_WS_TEXT_H
#define TT_WS_TEXT_H

#include "core/event.h"
#include "core/json_print.h"
#include "live/ws_peer.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* {"type":"event","seq":S,"event":{...}}: the /ws encoding of a row (a stream_format_fn;
 * 'ctx' unused). */
ws_msg *ws_text_event(const tt_event *ev, void *ctx);

/* {"type":"ack","ref":R?,"accepted":N,"duplicates":D}: an ingest is durable; 'ref' is JSON text
 * or NULL. */
ws_msg *ws_text_ack(const char *ref, size_t accepted, uint64_t duplicates);

/* {"type":"error","ref":R?,"error":{"code","message","index"?}}; 'ref' is JSON text or NULL,
 * index < 0 leaves it out. */
ws_msg *ws_text_error(const char *ref, const char *code, const char *message, int index);

/* {"type":"flags","flags":F} with F a JSON object's text. */
ws_msg *ws_text_flags(const char *flags);

/* {"type":"hello","server_seq":S,"flags":F}; F NULL is {}. */
ws_msg *ws_text_hello(int64_t server_seq, const char *flags);

/* {"type":"state_subscribed","client_id":C}. */
ws_msg *ws_text_state_subscribed(const char *client_id);

#endif
