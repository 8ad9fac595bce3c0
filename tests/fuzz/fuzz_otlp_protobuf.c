/* fuzz_otlp_protobuf.c -- libFuzzer target for the OTLP protobuf decoder (protobuf-c behind telltale's nesting and UTF-8 guards) and the mapping of what it decodes to events.
 *
 * The first byte picks the signal (traces, logs, metrics), the rest is the body. Beyond "no
 * crash, no leak, no undefined behaviour", it checks the mapping's promise: every event it makes
 * keeps DESIGN §2's rules -- written out as JSON, it is accepted by the ingest parser. */
#include "core/event_json.h"
#include "core/ingest.h"
#include "core/json_print.h"
#include "otlp/otlp.h"

#include <stdlib.h>

#define NOW_MS INT64_C(1795000000000)

static void check_valid(const event_batch *b)
{
    json_writer w = {0};
    json_open_array(&w);
    for (size_t i = 0; i < b->count; i++) {
        event_write_json(&w, b->events[i], EVENT_JSON_AS_SENT);
    }
    json_close_array(&w);
    if (w.out.oom) {
        abort();
    }
    event_batch again = {0};
    ingest_error err;
    if (b->count > 0 &&
        ingest_parse(w.out.buf, w.out.len, INGEST_JSON, NOW_MS, b->count, &again, &err) != 0) {
        abort(); /* the mapping made an event the ingest rules refuse */
    }
    event_batch_free(&again);
    free(w.out.buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    otlp_signal sig = data[0] % 3 == 0 ? OTLP_TRACES : data[0] % 3 == 1 ? OTLP_LOGS : OTLP_METRICS;
    ProtobufCMessage *m = NULL;
    char err[TT_ERRLEN];
    if (otlp_decode(sig, OTLP_PROTOBUF, data + 1, size - 1, &m, err) != 0) {
        return 0;
    }
    otlp_result res;
    if (otlp_to_events(sig, m, NOW_MS, 1000, &res) == 0) {
        if (res.rejected + res.batch.count > res.items) {
            abort();
        }
        check_valid(&res.batch);
        event_batch_free(&res.batch);
    }
    otlp_message_free(m);
    return 0;
}
