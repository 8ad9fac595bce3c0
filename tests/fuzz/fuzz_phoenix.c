/* fuzz_phoenix.c -- libFuzzer target for the Phoenix channel codec (text 1.0.0 and 2.0.0, binary
 * user broadcast push).
 *
 * The first byte picks the frame: bit 0 binary, bit 1 vsn 1.0.0 (binary frames with vsn 1.0.0
 * must be refused). Beyond "no crash, no leak, no undefined behaviour", it checks the codec's
 * promises: a refusal says why and leaves nothing to free; an accepted text frame, rendered
 * again, parses back to the same message; an accepted binary push, encoded again as realtime-js
 * would, parses back to the same message, and its payload rendered as a kind-4 frame has the
 * layout realtime-js decodes. */
#include "core/phoenix.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static void check_same(const phx_msg *a, const phx_msg *b)
{
    check(strcmp(a->topic, b->topic) == 0 && strcmp(a->event, b->event) == 0);
    check(a->has_join_ref == b->has_join_ref && strcmp(a->join_ref, b->join_ref) == 0);
    check(a->has_ref == b->has_ref && strcmp(a->ref, b->ref) == 0);
    check(a->binary == b->binary && a->raw_len == b->raw_len);
    check(a->raw_len == 0 || memcmp(a->raw, b->raw, a->raw_len) == 0);
    /* Compared as printed, not with cJSON_Compare: a number beyond double (1e400) parses to
     * infinity and prints as null, as JSON.stringify(Infinity) does in the client, so the
     * first parse and the second differ in value but agree in what is sent on. */
    char *pa = cJSON_PrintUnformatted(a->payload), *pb = cJSON_PrintUnformatted(b->payload);
    check(pa != NULL && pb != NULL && strcmp(pa, pb) == 0);
    free(pa);
    free(pb);
}

static void text_round_trip(phx_vsn vsn, const phx_msg *m)
{
    check(cJSON_IsObject(m->payload));
    char *payload = cJSON_PrintUnformatted(m->payload);
    check(payload != NULL);
    size_t len = 0;
    char *text = phx_render(vsn, m->has_join_ref ? m->join_ref : NULL, m->has_ref ? m->ref : NULL,
                            m->topic, m->event, payload, &len);
    check(text != NULL && len == strlen(text));
    phx_msg again;
    char err[TT_ERRLEN];
    check(phx_parse(vsn, false, text, len, &again, err) == 0);
    check_same(m, &again);
    phx_msg_free(&again);
    free(text);
    free(payload);
}

/* Appends [p, p+n) at *at. */
static void put(unsigned char **at, const void *p, size_t n)
{
    memcpy(*at, p, n);
    *at += n;
}

/* The push realtime-js would send for 'm' (no metadata), parsed again. */
static void binary_round_trip(const phx_msg *m)
{
    const cJSON *event = cJSON_GetObjectItemCaseSensitive(m->payload, "event");
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(m->payload, "payload");
    check(strcmp(m->event, "broadcast") == 0 && cJSON_IsString(event));
    check((m->raw != NULL) != (user != NULL));
    char *json = user != NULL ? cJSON_PrintUnformatted(user) : NULL;
    check(user == NULL || json != NULL);
    const void *body = json != NULL ? (const void *)json : m->raw;
    size_t body_len = json != NULL ? strlen(json) : m->raw_len;
    size_t jr = strlen(m->join_ref), rf = strlen(m->ref), tp = strlen(m->topic);
    size_t ev = strlen(event->valuestring);
    check(jr <= 255 && rf <= 255 && tp <= 255 && ev <= 255);

    unsigned char *frame = malloc(7 + jr + rf + tp + ev + body_len), *at = frame;
    check(frame != NULL);
    unsigned char head[7] = {
        3, (unsigned char)jr,   (unsigned char)rf, (unsigned char)tp, (unsigned char)ev,
        0, json != NULL ? 1 : 0};
    put(&at, head, sizeof head);
    put(&at, m->join_ref, jr);
    put(&at, m->ref, rf);
    put(&at, m->topic, tp);
    put(&at, event->valuestring, ev);
    put(&at, body, body_len);
    phx_msg again;
    char err[TT_ERRLEN];
    check(phx_parse(PHX_V2, true, (const char *)frame, (size_t)(at - frame), &again, err) == 0);
    check_same(m, &again);
    phx_msg_free(&again);

    /* The same payload as a server -> client user broadcast. */
    size_t len = 0;
    unsigned char *out = phx_render_user_broadcast(m->topic, event->valuestring,
                                                   (const unsigned char *)body, body_len, &len);
    check(out != NULL && len == 5 + tp + ev + body_len);
    check(out[0] == 4 && out[1] == tp && out[2] == ev && out[3] == 0 && out[4] == 0);
    check(memcmp(out + 5, m->topic, tp) == 0 && memcmp(out + 5 + tp, event->valuestring, ev) == 0);
    check(body_len == 0 || memcmp(out + 5 + tp + ev, body, body_len) == 0);
    free(out);
    free(frame);
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    bool binary = data[0] & 1;
    phx_vsn vsn = data[0] & 2 ? PHX_V1 : PHX_V2;
    phx_msg m;
    char err[TT_ERRLEN] = "";
    int rc = phx_parse(vsn, binary, (const char *)data + 1, size - 1, &m, err);
    if (rc != 0) {
        check(rc == TT_EINVAL && err[0] != '\0' && m.payload == NULL && m.raw == NULL);
        return 0;
    }
    check(!(binary && vsn == PHX_V1));
    if (binary) {
        binary_round_trip(&m);
    } else {
        text_round_trip(vsn, &m);
    }
    phx_msg_free(&m);
    return 0;
}
