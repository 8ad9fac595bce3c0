/* ws_message.c -- one /ws client message: strict JSON (json_scan first, as ingest bodies), one
 * value per message, an object with a string "type"; and its echoable ref. */
#include "live/ws_message.h"

#include "core/ingest.h"
#include "core/json_print.h"
#include "core/json_scan.h"

#include <stdio.h>
#include <string.h>

static bool only_space(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') {
            return false;
        }
    }
    return true;
}

cJSON *ws_message_parse(const char *text, size_t len, const char **code, char *why, size_t cap)
{
    size_t where = 0;
    json_scan_result scan = json_scan(text, len, INGEST_MAX_DEPTH, &where);
    const char *end = NULL;
    cJSON *msg = scan == JSON_SCAN_OK ? cJSON_ParseWithLengthOpts(text, len, &end, 0) : NULL;
    if (msg != NULL && !only_space(end, len - (size_t)(end - text))) {
        cJSON_Delete(msg); /* one message, one JSON value: trailing data is an error */
        msg = NULL;
    }
    if (msg != NULL && cJSON_IsObject(msg) &&
        cJSON_IsString(cJSON_GetObjectItemCaseSensitive(msg, "type"))) {
        return msg;
    }
    *code = msg == NULL ? "invalid_json" : "invalid_message";
    snprintf(why, cap, "a message must be a JSON object with a string 'type'%s%s",
             scan != JSON_SCAN_OK ? ": " : "",
             scan != JSON_SCAN_OK ? json_scan_describe(scan) : "");
    cJSON_Delete(msg);
    return NULL;
}

char *ws_message_ref(const cJSON *msg, bool *ok)
{
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(msg, "ref");
    *ok = true;
    if (ref == NULL) {
        return NULL;
    }
    char *text = NULL;
    if ((cJSON_IsString(ref) && strlen(ref->valuestring) <= WS_REF_MAX) || cJSON_IsNumber(ref)) {
        text = json_print(ref, NULL);
    }
    *ok = text != NULL;
    return text;
}
