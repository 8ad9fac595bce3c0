/* fuzz_ingest.c -- libFuzzer target for the ingest parser (body -> validated events).
 *
 * The first byte picks the format (odd: NDJSON), the rest is the body. Beyond "no crash, no
 * leak, no undefined behaviour", it checks the parser's promise: whatever it accepts can be
 * written back out and is accepted again as the same events. */
#include "core/event_json.h"
#include "core/json_print.h"
#include "core/ingest.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NOW_MS INT64_C(1795000000000)

static bool same_text(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Every field must survive, numbers bit for bit. */
static void check_same(const tt_event *a, const tt_event *b)
{
    bool same = a->ts_ms == b->ts_ms && a->has == b->has && strcmp(a->id, b->id) == 0 &&
                same_text(a->type, b->type) && same_text(a->source, b->source) &&
                same_text(a->session_id, b->session_id) && same_text(a->name, b->name) &&
                same_text(a->status, b->status) && same_text(a->error, b->error) &&
                same_text(a->attrs, b->attrs) &&
                (!(a->has & EVENT_HAS_DURATION) || a->duration_ms == b->duration_ms) &&
                (!(a->has & EVENT_HAS_BYTES) || a->bytes == b->bytes) &&
                (!(a->has & EVENT_HAS_VALUE) || a->value == b->value);
    if (!same) {
        abort();
    }
}

/* Writes 'ev' out and reads it back; it must come back the same. */
static void round_trip(const tt_event *ev)
{
    cJSON *obj = event_to_json(ev);
    if (obj == NULL) {
        abort();
    }
    /* received_at is the server's own field, not accepted from producers. */
    cJSON_DeleteItemFromObject(obj, "received_at");
    char *text = json_print_delete(obj, NULL);
    event_batch again;
    ingest_error err;
    if (text == NULL || ingest_parse(text, strlen(text), INGEST_JSON, NOW_MS, 1, &again, &err) != 0) {
        abort();
    }
    check_same(ev, again.events[0]);
    event_batch_free(&again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    ingest_format fmt = data[0] & 1 ? INGEST_NDJSON : INGEST_JSON;
    event_batch batch;
    ingest_error err;
    if (ingest_parse((const char *)data + 1, size - 1, fmt, NOW_MS, 10000, &batch, &err) == 0) {
        for (size_t i = 0; i < batch.count; i++) {
            if (batch.events[i]->id[0] == '\0') {
                strcpy(batch.events[i]->id, "fuzz-assigned");
            }
            round_trip(batch.events[i]);
        }
        event_batch_free(&batch);
    } else if (err.code == NULL) {
        abort(); /* every refusal must say why */
    }
    return 0;
}
