/* fuzz_ingest.c -- libFuzzer target for the ingest parser (body -> validated events).
 *
 * The first byte picks the format (odd: NDJSON), the rest is the body. Beyond "no crash, no
 * leak, no undefined behaviour", it checks the parser's promise: whatever it accepts can be
 * written back out and is accepted again as the same events. */
#include "core/event_json.h"
#include "core/ingest.h"

#include <stdlib.h>
#include <string.h>

#define NOW_MS INT64_C(1795000000000)

static void check_same(const tt_event *a, const tt_event *b)
{
    if (a->ts_ms != b->ts_ms || a->has != b->has || strcmp(a->id, b->id) != 0 ||
        strcmp(a->type, b->type) != 0 || (a->attrs == NULL) != (b->attrs == NULL) ||
        (a->attrs != NULL && strcmp(a->attrs, b->attrs) != 0)) {
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
    char *text = cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
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
