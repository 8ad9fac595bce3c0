/* otlp.h -- OpenTelemetry's OTLP/HTTP request bodies (traces, logs, metrics; protobuf or JSON)
 * decoded and mapped to telltale events, and the answers OTLP expects, encoded.
 *
 * Follows the OTLP specification 1.5.0 ("OTLP/HTTP": binary protobuf and the JSON mapping) and,
 * for what a span means, the GenAI and MCP semantic conventions of semantic-conventions-genai
 * v0.1.0 (Development status). The mapping is DESIGN §2 "Events from OpenTelemetry".
 *
 *   body ──otlp_decode()──► protobuf-c message ──otlp_to_events()──► event_batch + rejected
 *                                                                       │
 *   answer ◄──otlp_encode_response() / otlp_encode_status()◄────────────┘ (rejected, message)
 *
 * Protobuf is decoded by protobuf-c from proto/otlp.proto; JSON is scanned by json_scan, parsed
 * by cJSON and laid into the same protobuf-c messages (otlp_json.c), so one mapping serves both.
 * Pure: no I/O, no threads, no clock; any thread. */
#ifndef TT_OTLP_H
#define TT_OTLP_H

#include "core/err.h"
#include "core/ingest.h"

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits of the mapping (DESIGN §2): beyond them an item is kept truncated, and the answer's
 * partial_success says so. */
#define OTLP_MAX_ATTRS 64      /* attributes copied into one event's attrs (item + resource) */
#define OTLP_MAX_VALUE 1024    /* bytes of one string attribute value; longer ones are cut */
#define OTLP_MAX_ARRAY 32      /* elements of one array or kvlist attribute value */
#define OTLP_MAX_JSON_DEPTH 64 /* nesting of a JSON body */
#define OTLP_MESSAGE_MAX 256   /* bytes of partial_success.error_message */

typedef enum otlp_signal {
    OTLP_TRACES,
    OTLP_LOGS,
    OTLP_METRICS,
} otlp_signal;

typedef enum otlp_encoding {
    OTLP_PROTOBUF, /* application/x-protobuf */
    OTLP_JSON,     /* application/json */
} otlp_encoding;

/* What a request's items became. */
typedef struct otlp_result {
    event_batch batch;  /* the events, in the request's order; free with event_batch_free() */
    uint64_t items;     /* spans, log records or data points in the request */
    uint64_t rejected;  /* items not kept: rejected_spans / _log_records / _data_points */
    uint64_t truncated; /* items kept with attributes dropped or cut */
    char message[OTLP_MESSAGE_MAX]; /* why, for partial_success.error_message; "" when none */
} otlp_result;

/* The signal a path names ("/v1/traces", "/v1/logs", "/v1/metrics"); false for another. */
bool otlp_signal_of_path(const char *path, otlp_signal *out);

/* The encoding a Content-Type names (parameters such as charset ignored, case-insensitive);
 * false for another (the caller answers 415). */
bool otlp_encoding_of(const char *content_type, otlp_encoding *out);

/* Decodes an Export<Signal>ServiceRequest. Returns 0 with *out owning the message (free it with
 * otlp_message_free()), or TT_EINVAL with 'err' saying what is wrong, or TT_ENOMEM. */
int otlp_decode(otlp_signal sig, otlp_encoding enc, const uint8_t *body, size_t len,
                ProtobufCMessage **out, char err[TT_ERRLEN]);
void otlp_message_free(ProtobufCMessage *m); /* NULL is a no-op */

/* Maps a decoded request to events (DESIGN §2). Items without a timestamp get 'now_ms'; every
 * event gets received_ms = now_ms. At most 'max_events' events are made; items past that, and
 * items that cannot be an event (a span without a valid trace or span id), are counted in
 * rejected. Returns 0 with *res filled (its batch may be empty), or TT_ENOMEM with *res
 * empty. */
int otlp_to_events(otlp_signal sig, const ProtobufCMessage *req, int64_t now_ms, size_t max_events,
                   otlp_result *res);

/* Encodes the Export<Signal>ServiceResponse: partial_success with 'rejected' and 'message' when
 * either is set, else an empty message. Returns a new buffer (the caller frees it) and *len, or
 * NULL when out of memory. */
uint8_t *otlp_encode_response(otlp_signal sig, otlp_encoding enc, uint64_t rejected,
                              const char *message, size_t *len);

/* Encodes a google.rpc.Status {code, message} -- the body of every OTLP/HTTP error answer.
 * 'code' is a google.rpc.Code (3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED, 14 UNAVAILABLE, ...).
 * Returns a new buffer and *len, or NULL when out of memory. */
uint8_t *otlp_encode_status(otlp_encoding enc, int code, const char *message, size_t *len);

/* The google.rpc.Code for an HTTP status telltale answers with. */
int otlp_rpc_code(int http_status);

/* The Content-Type of an answer in 'enc'. */
const char *otlp_content_type(otlp_encoding enc);

#endif
