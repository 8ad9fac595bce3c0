/* ws_text.c -- the /ws server's messages. */
#include "live/ws_text.h"

#include "core/event_json.h"
#include "core/ingest.h"
#include "core/json_scan.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

ws_msg *ws_text_event(const tt_event *ev, void *ctx)
{
    (void)ctx;
    json_writer w = {0};
    json_open_object(&w);
    json_member_string(&w, "type", "event");
    json_member_int64(&w, "seq", ev->seq);
    json_key(&w, "event");
    event_write_json(&w, ev, EVENT_JSON_STORED);
    json_close_object(&w);
    return ws_msg_from_writer(&w, ev->seq);
}

ws_msg *ws_text_ack(const char *ref, size_t accepted, uint64_t duplicates)
{
    json_writer w = {0};
    json_open_object(&w);
    json_member_string(&w, "type", "ack");
    if (ref != NULL) {
        json_key(&w, "ref");
        json_raw_value(&w, ref, strlen(ref));
    }
    json_member_int64(&w, "accepted", accepted);
    json_member_int64(&w, "duplicates", duplicates);
    json_close_object(&w);
    return ws_msg_from_writer(&w, 0);
}

ws_msg *ws_text_error(const char *ref, const char *code, const char *message, int index)
{
    json_writer w = {0};
    json_open_object(&w);
    json_member_string(&w, "type", "error");
    if (ref != NULL) {
        json_key(&w, "ref");
        json_raw_value(&w, ref, strlen(ref));
    }
    json_key(&w, "error");
    json_open_object(&w);
    json_member_string(&w, "code", code);
    json_member_string(&w, "message", message);
    if (index >= 0) {
        json_member_number(&w, "index", index);
    }
    json_close_object(&w);
    json_close_object(&w);
    return ws_msg_from_writer(&w, 0);
}

ws_msg *ws_text_flags(const char *flags)
{
    json_writer w = {0};
    json_open_object(&w);
    json_member_string(&w, "type", "flags");
    json_key(&w, "flags");
    json_raw_value(&w, flags, strlen(flags));
    json_close_object(&w);
    return ws_msg_from_writer(&w, 0);
}

ws_msg *ws_text_hello(int64_t server_seq, const char *flags)
{
    json_writer w = {0};
    json_open_object(&w);
    json_member_string(&w, "type", "hello");
    json_member_int64(&w, "server_seq", server_seq);
    json_key(&w, "flags");
    json_raw_value(&w, flags != NULL ? flags : "{}", flags != NULL ? strlen(flags) : 2);
    json_close_object(&w);
    return ws_msg_from_writer(&w, 0);
}

ws_msg *ws_text_state_subscribed(const char *client_id)
{
    json_writer w = {0};
    json_open_object(&w);
    json_member_string(&w, "type", "state_subscribed");
    json_member_string(&w, "client_id", client_id);
    json_close_object(&w);
    return ws_msg_from_writer(&w, 0);
}
