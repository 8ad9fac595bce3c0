/* otlp_fuzz.h -- what the two OTLP fuzz targets share: decode a body, map it to events, and
 * check the mapping's promise (DESIGN §2): every event it makes, written out as JSON, is accepted
 * by the ingest parser; rejected plus kept never exceeds the items. Included by fuzz_otlp_json.c
 * and fuzz_otlp_protobuf.c, which differ only in the encoding they feed. */
#ifndef TT_OTLP_FUZZ_H
#define TT_OTLP_FUZZ_H

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

/* One input: the first byte picks the signal, the rest is a body in encoding 'enc'. */
static int otlp_fuzz_one(otlp_encoding enc, const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    otlp_signal sig = data[0] % 3 == 0 ? OTLP_TRACES : data[0] % 3 == 1 ? OTLP_LOGS : OTLP_METRICS;
    ProtobufCMessage *m = NULL;
    char err[TT_ERRLEN];
    if (otlp_decode(sig, enc, data + 1, size - 1, &m, err) != 0) {
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

#endif
