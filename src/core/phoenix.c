/* phoenix.c -- parsing and rendering Phoenix channel messages (both serializers). */
#include "core/phoenix.h"

#include "core/json_print.h"
#include "core/json_scan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUSH_KIND 3
#define PUSH_HEADER 7 /* kind and six lengths/flags */
#define BROADCAST_KIND 4
#define BROADCAST_HEADER 5
#define ENCODING_BINARY 0
#define ENCODING_JSON 1

void phx_msg_free(phx_msg *m)
{
    cJSON_Delete(m->payload);
    free(m->raw);
    m->payload = NULL;
    m->raw = NULL;
}

/* The length of the UTF-8 sequence that 'lead' starts (0 if it cannot start one), its
 * payload bits and the smallest code point it may encode (overlong forms are invalid). */
static size_t utf8_lead(unsigned char lead, uint32_t *bits, uint32_t *min)
{
    if ((lead & 0xe0) == 0xc0) {
        *bits = lead & 0x1f;
        *min = 0x80;
        return 2;
    }
    if ((lead & 0xf0) == 0xe0) {
        *bits = lead & 0x0f;
        *min = 0x800;
        return 3;
    }
    if ((lead & 0xf8) == 0xf0) {
        *bits = lead & 0x07;
        *min = 0x10000;
        return 4;
    }
    return 0;
}

/* True if s[0..n) is UTF-8 without control characters (NUL included). */
static bool printable_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            if (s[i] < 0x20 || s[i] == 0x7f) {
                return false;
            }
            i++;
            continue;
        }
        uint32_t cp, min;
        size_t seq = utf8_lead(s[i], &cp, &min);
        if (seq == 0 || n - i < seq) {
            return false;
        }
        for (size_t k = 1; k < seq; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return false;
            }
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += seq;
    }
    return true;
}

/* Copies a required string field (1..255 bytes). */
static int take_name(const cJSON *v, const char *name, char *dst, char *err)
{
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0' || strlen(v->valuestring) > PHX_FIELD_MAX) {
        return tt_fail(err, TT_EINVAL, "'%s' must be a string of 1 to %d bytes", name,
                       PHX_FIELD_MAX);
    }
    strcpy(dst, v->valuestring);
    return 0;
}

/* Copies a ref: a string, an integer (as its decimal text) or null/absent. */
static int take_ref(const cJSON *v, const char *name, char *dst, bool *has, char *err)
{
    *has = false;
    dst[0] = '\0';
    if (v == NULL || cJSON_IsNull(v)) {
        return 0;
    }
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e15 &&
        v->valuedouble == (double)(long long)v->valuedouble) {
        snprintf(dst, PHX_FIELD_MAX + 1, "%lld", (long long)v->valuedouble);
    } else if (cJSON_IsString(v) && strlen(v->valuestring) <= PHX_FIELD_MAX) {
        strcpy(dst, v->valuestring);
    } else {
        return tt_fail(err, TT_EINVAL,
                       "'%s' must be null, a number or a string of at most %d bytes", name,
                       PHX_FIELD_MAX);
    }
    *has = true;
    return 0;
}

/* Takes the five parts out of 'root' (an object for 1.0.0, an array for 2.0.0). */
static int take_parts(phx_vsn vsn, cJSON *root, phx_msg *out, char *err)
{
    const cJSON *parts[5] = {0}; /* join_ref, ref, topic, event, payload */
    if (vsn == PHX_V2) {
        if (!cJSON_IsArray(root) || cJSON_GetArraySize(root) != 5) {
            return tt_fail(err, TT_EINVAL,
                           "a message must be an array [join_ref, ref, topic, event, payload]");
        }
        for (int i = 0; i < 5; i++) {
            parts[i] = cJSON_GetArrayItem(root, i);
        }
    } else {
        if (!cJSON_IsObject(root)) {
            return tt_fail(err, TT_EINVAL,
                           "a message must be an object with topic, event, payload and ref");
        }
        static const char *const keys[5] = {"join_ref", "ref", "topic", "event", "payload"};
        for (int i = 0; i < 5; i++) {
            parts[i] = cJSON_GetObjectItemCaseSensitive(root, keys[i]);
        }
    }
    int rc;
    if ((rc = take_ref(parts[0], "join_ref", out->join_ref, &out->has_join_ref, err)) != 0 ||
        (rc = take_ref(parts[1], "ref", out->ref, &out->has_ref, err)) != 0 ||
        (rc = take_name(parts[2], "topic", out->topic, err)) != 0 ||
        (rc = take_name(parts[3], "event", out->event, err)) != 0) {
        return rc;
    }
    if (parts[4] == NULL) {
        return tt_fail(err, TT_EINVAL, "the message has no payload");
    }
    /* realtime-js always sends an object, and every event telltale acts on reads one: refusing
     * anything else here spares each caller the check. */
    if (!cJSON_IsObject(parts[4])) {
        return tt_fail(err, TT_EINVAL, "the message's payload must be an object");
    }
    out->payload = cJSON_DetachItemViaPointer(root, (cJSON *)parts[4]);
    return 0;
}

/* The one JSON value in [data, data+len), or NULL when there is none or something follows it
 * (cJSON stops at the end of the first value and would drop the rest unseen). */
static cJSON *parse_whole(const char *data, size_t len, bool *trailing)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(data, len, &end, 0);
    *trailing = false;
    for (; root != NULL && end != NULL && end < data + len; end++) {
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
            cJSON_Delete(root);
            *trailing = true;
            return NULL;
        }
    }
    return root;
}

static int parse_text(phx_vsn vsn, const char *data, size_t len, phx_msg *out, char *err)
{
    size_t where = 0;
    json_scan_result scan = json_scan(data, len, PHX_MAX_DEPTH, &where);
    if (scan != JSON_SCAN_OK) {
        char why[TT_ERRLEN - 16];
        return tt_fail(err, TT_EINVAL, "invalid JSON: %s",
                       json_scan_explain(scan, where, why, sizeof why));
    }
    bool trailing;
    cJSON *root = parse_whole(data, len, &trailing);
    if (root == NULL) {
        return tt_fail(err, TT_EINVAL,
                       trailing ? "one message per frame: data after the JSON value"
                                : "invalid JSON");
    }
    int rc = take_parts(vsn, root, out, err);
    cJSON_Delete(root);
    return rc;
}

/* Copies binary field [p, p+n) as a string. */
static int take_binary_field(const unsigned char *p, size_t n, const char *name, bool required,
                             char *dst, char *err)
{
    if ((required && n == 0) || !printable_utf8(p, n)) {
        return tt_fail(err, TT_EINVAL, "binary push: '%s' must be %sprintable UTF-8", name,
                       required ? "non-empty " : "");
    }
    memcpy(dst, p, n);
    dst[n] = '\0';
    return 0;
}

/* The user's payload of a binary push: parsed into "payload" when JSON, kept raw otherwise. */
static int take_user_payload(const unsigned char *p, size_t n, int encoding, phx_msg *out,
                             char *err)
{
    if (encoding == ENCODING_BINARY) {
        out->raw = malloc(n > 0 ? n : 1);
        if (out->raw == NULL) {
            return tt_fail(err, TT_ENOMEM, "out of memory");
        }
        memcpy(out->raw, p, n);
        out->raw_len = n;
        return 0;
    }
    size_t where = 0;
    bool trailing;
    cJSON *user = NULL;
    json_scan_result scan = json_scan((const char *)p, n, PHX_MAX_DEPTH, &where);
    if (scan == JSON_SCAN_BIG_INTEGER) {
        char why[TT_ERRLEN - 48];
        return tt_fail(err, TT_EINVAL, "binary push: the JSON payload holds %s",
                       json_scan_explain(scan, where, why, sizeof why));
    }
    if (scan != JSON_SCAN_OK || (user = parse_whole((const char *)p, n, &trailing)) == NULL) {
        return tt_fail(err, TT_EINVAL, "binary push: the JSON payload is not valid JSON");
    }
    if (!cJSON_AddItemToObject(out->payload, "payload", user)) {
        cJSON_Delete(user);
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    return 0;
}

static int parse_binary(const unsigned char *b, size_t len, phx_msg *out, char *err)
{
    if (len < PUSH_HEADER || b[0] != PUSH_KIND) {
        return tt_fail(err, TT_EINVAL, "a binary frame must be a user broadcast push (kind 3)");
    }
    size_t jr = b[1], rf = b[2], tp = b[3], ev = b[4], meta = b[5];
    int encoding = b[6];
    if (encoding != ENCODING_BINARY && encoding != ENCODING_JSON) {
        return tt_fail(err, TT_EINVAL, "binary push: unknown payload encoding %d", encoding);
    }
    if (len < PUSH_HEADER + jr + rf + tp + ev + meta) {
        return tt_fail(err, TT_EINVAL, "binary push: shorter than its header says");
    }
    const unsigned char *p = b + PUSH_HEADER;
    char user_event[PHX_FIELD_MAX + 1];
    int rc;
    if ((rc = take_binary_field(p, jr, "join_ref", false, out->join_ref, err)) != 0 ||
        (rc = take_binary_field(p + jr, rf, "ref", false, out->ref, err)) != 0 ||
        (rc = take_binary_field(p + jr + rf, tp, "topic", true, out->topic, err)) != 0 ||
        (rc = take_binary_field(p + jr + rf + tp, ev, "event", true, user_event, err)) != 0) {
        return rc;
    }
    out->has_join_ref = jr > 0;
    out->has_ref = rf > 0;
    out->binary = true;
    strcpy(out->event, "broadcast");
    out->payload = cJSON_CreateObject();
    if (out->payload == NULL || !cJSON_AddStringToObject(out->payload, "type", "broadcast") ||
        !cJSON_AddStringToObject(out->payload, "event", user_event)) {
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    size_t head = PUSH_HEADER + jr + rf + tp + ev + meta; /* the metadata ("persist") is ignored */
    return take_user_payload(b + head, len - head, encoding, out, err);
}

int phx_parse(phx_vsn vsn, bool binary, const char *data, size_t len, phx_msg *out,
              char err[TT_ERRLEN])
{
    *out = (phx_msg){0};
    int rc;
    if (binary && vsn != PHX_V2) {
        rc = tt_fail(err, TT_EINVAL, "binary frames need vsn 2.0.0");
    } else if (binary) {
        rc = parse_binary((const unsigned char *)data, len, out, err);
    } else {
        rc = parse_text(vsn, data, len, out, err);
    }
    if (rc != 0) {
        phx_msg_free(out);
    }
    return rc;
}

static void put_ref(json_buf *b, const char *ref)
{
    if (ref == NULL) {
        json_put_raw(b, "null", 4);
    } else {
        json_put_string(b, ref);
    }
}

char *phx_render(phx_vsn vsn, const char *join_ref, const char *ref, const char *topic,
                 const char *event, const char *payload, size_t *len)
{
    json_buf b = {0};
    if (vsn == PHX_V2) {
        json_put_raw(&b, "[", 1);
        put_ref(&b, join_ref);
        json_put_raw(&b, ",", 1);
        put_ref(&b, ref);
        json_put_raw(&b, ",", 1);
        json_put_string(&b, topic);
        json_put_raw(&b, ",", 1);
        json_put_string(&b, event);
        json_put_raw(&b, ",", 1);
        json_put_raw(&b, payload, strlen(payload));
        json_put_raw(&b, "]", 1);
    } else {
        json_put_raw(&b, "{\"join_ref\":", 12);
        put_ref(&b, join_ref);
        json_put_raw(&b, ",\"ref\":", 7);
        put_ref(&b, ref);
        json_put_raw(&b, ",\"topic\":", 9);
        json_put_string(&b, topic);
        json_put_raw(&b, ",\"event\":", 9);
        json_put_string(&b, event);
        json_put_raw(&b, ",\"payload\":", 11);
        json_put_raw(&b, payload, strlen(payload));
        json_put_raw(&b, "}", 1);
    }
    if (b.oom) {
        free(b.buf);
        return NULL;
    }
    *len = b.len;
    return b.buf;
}

unsigned char *phx_render_user_broadcast(const char *topic, const char *event,
                                         const unsigned char *payload, size_t payload_len,
                                         size_t *len)
{
    size_t tp = strlen(topic), ev = strlen(event);
    if (tp > PHX_FIELD_MAX || ev > PHX_FIELD_MAX) {
        return NULL;
    }
    size_t n = BROADCAST_HEADER + tp + ev + payload_len;
    unsigned char *b = malloc(n);
    if (b == NULL) {
        return NULL;
    }
    b[0] = BROADCAST_KIND;
    b[1] = (unsigned char)tp;
    b[2] = (unsigned char)ev;
    b[3] = 0; /* no metadata */
    b[4] = ENCODING_BINARY;
    memcpy(b + BROADCAST_HEADER, topic, tp);
    memcpy(b + BROADCAST_HEADER + tp, event, ev);
    memcpy(b + BROADCAST_HEADER + tp + ev, payload, payload_len);
    *len = n;
    return b;
}
