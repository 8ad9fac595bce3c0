/* ws_text.c -- parsing a /ws client's message and writing the server's non-row messages. */
#include "live/ws_text.h"

#include "core/ingest.h"
#include "core/json_scan.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool only_space(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
            return false;
        }
    }
    return true;
}

cJSON *ws_text_parse(const char *text, size_t len, const char **code, char why[128])
{
    size_t where = 0;
    json_scan_result scan = json_scan(text, len, INGEST_MAX_DEPTH, &where);
    const char *end = NULL;
    cJSON *msg = scan == JSON_SCAN_OK ? cJSON_ParseWithLengthOpts(text, len, &end, 0) : NULL;
    if (msg != NULL && !only_space(end, len - (size_t)(end - text))) {
        cJSON_Delete(msg); /* one message, one JSON value: trailing data is an error */
        msg = NULL;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");
    if (msg == NULL || !cJSON_IsObject(msg) || !cJSON_IsString(type)) {
        snprintf(why, 128, "a message must be a JSON object with a string 'type'%s%s",
                 scan != JSON_SCAN_OK ? ": " : "",
                 scan != JSON_SCAN_OK ? json_scan_describe(scan) : "");
        *code = msg == NULL ? "invalid_json" : "invalid_message";
        cJSON_Delete(msg);
        return NULL;
    }
    return msg;
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
    json_member_number(&w, "server_seq", (double)server_seq);
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
