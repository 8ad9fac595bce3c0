/* ws_text.h -- the /ws protocol's server messages that are not rows (errors, flags, state); a
 * client's message is read by ws_message.h. Pure; any thread. */
#ifndef TT_WS_TEXT_H
#define TT_WS_TEXT_H

#include "core/json_print.h"
#include "live/ws_peer.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

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
