/* ws_message.c -- one /ws client message: strict JSON (json_scan first, as ingest bodies), one
 * value per message, an object with a string "type"; its echoable ref; and a
 * subscribe message's filter. */
#include "live/ws_message.h"

#include "core/ingest.h"
#include "core/json_print.h"
#include "core/json_scan.h"

#include <stdio.h>
#include <stdlib.h>
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
    char scanned[TT_ERRLEN - 64];
    snprintf(why, cap, "a message must be a JSON object with a string 'type'%s%s",
             scan != JSON_SCAN_OK ? ": " : "",
             scan != JSON_SCAN_OK ? json_scan_explain(scan, where, scanned, sizeof scanned) : "");
    cJSON_Delete(msg);
    return NULL;
}

void ws_parsed_read(ws_parsed *p, const char *text, size_t len, gateway *gw, int64_t now_ms)
{
    *p = (ws_parsed){0};
    p->msg = ws_message_parse(text, len, &p->code, p->why, sizeof p->why);
    if (p->msg == NULL || gw == NULL ||
        strcmp(cJSON_GetObjectItemCaseSensitive(p->msg, "type")->valuestring, "ingest") != 0) {
        return;
    }
    bool ref_ok;
    free(ws_message_ref(p->msg, &ref_ok));
    if (ref_ok) { /* else the message is refused for its ref, its events unread */
        p->ingest = true;
        p->rc = gateway_parse_array(gw, cJSON_GetObjectItemCaseSensitive(p->msg, "events"), now_ms,
                                    &p->batch, &p->refusal);
    }
}

void ws_parsed_free(ws_parsed *p)
{
    cJSON_Delete(p->msg);
    event_batch_free(&p->batch);
    p->msg = NULL;
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

static bool copy_filter_field(const cJSON *filter, const char *name, char *dst, size_t dst_cap,
                              char *why, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(filter, name);
    if (v == NULL || cJSON_IsNull(v)) {
        dst[0] = '\0';
        return true;
    }
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= dst_cap) {
        snprintf(why, cap, "filter '%s' must be a string of at most %zu bytes", name, dst_cap - 1);
        return false;
    }
    memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
    return true;
}

bool ws_message_filter(const cJSON *msg, ws_filter *out, char *why, size_t cap)
{
    const cJSON *filter = cJSON_GetObjectItemCaseSensitive(msg, "filter");
    if (filter != NULL && !cJSON_IsObject(filter)) {
        snprintf(why, cap, "'filter' must be an object");
        return false;
    }
    for (const cJSON *k = filter ? filter->child : NULL; k != NULL; k = k->next) {
        if (strcmp(k->string, "type") && strcmp(k->string, "source") &&
            strcmp(k->string, "session_id")) {
            snprintf(why, cap, "filter keys are type, source and session_id");
            return false;
        }
    }
    ws_filter f;
    if (!copy_filter_field(filter, "type", f.type, sizeof f.type, why, cap) ||
        !copy_filter_field(filter, "source", f.source, sizeof f.source, why, cap) ||
        !copy_filter_field(filter, "session_id", f.session_id, sizeof f.session_id, why, cap)) {
        return false;
    }
    *out = f;
    return true;
}

static bool field_matches(const char *want, const char *have)
{
    return want[0] == '\0' || (have != NULL && strcmp(want, have) == 0);
}

bool ws_filter_matches(const ws_filter *f, const tt_event *ev)
{
    return field_matches(f->type, ev->type) && field_matches(f->source, ev->source) &&
           field_matches(f->session_id, ev->session_id);
}
