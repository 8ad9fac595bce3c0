/* otlp_internal.h -- what the files of src/otlp share: the JSON decoder (otlp_json.c), the
 * attribute writer and semantic-convention look-ups (otlp_attrs.c) and the per-signal mappings
 * (otlp_traces.c, otlp_logs.c, otlp_metrics.c). Pure; any thread. */
#ifndef TT_OTLP_INTERNAL_H
#define TT_OTLP_INTERNAL_H

#include "otlp/otlp.h"

#include "core/json_print.h"
#include "otlp.pb-c.h"

/* Lays the JSON body into a new message of type 'd' (OTLP's JSON encoding). Returns 0 with *out
 * owned by the caller (protobuf_c_message_free_unpacked), TT_EINVAL with 'err', or TT_ENOMEM. */
int otlp_json_decode(const ProtobufCMessageDescriptor *d, const char *body, size_t len,
                     ProtobufCMessage **out, char err[TT_ERRLEN]);

/* The string value of attribute 'key' among 'kv', or NULL (absent, or not a string). */
const char *otlp_attr_string(Otlp__KeyValue *const *kv, size_t n, const char *key);
/* The integer value of attribute 'key' (an int, or a double that is whole), or false. */
bool otlp_attr_int(Otlp__KeyValue *const *kv, size_t n, const char *key, int64_t *out);

/* One event's attrs, written as they come with the limits of DESIGN §2: at most OTLP_MAX_ATTRS
 * attributes, string values cut at OTLP_MAX_VALUE bytes (on a UTF-8 boundary), arrays and
 * kvlists at OTLP_MAX_ARRAY entries and within EVENT_ATTRS_MAX_DEPTH levels, a key seen before
 * skipped, and the whole under EVENT_ATTRS_MAX_BYTES. 'truncated' is set when anything was
 * left out or cut. */
typedef struct otlp_attrs {
    json_writer w;
    unsigned count;
    bool truncated;
    const char *keys[OTLP_MAX_ATTRS + 16];
    unsigned nkeys;
} otlp_attrs;

void otlp_attrs_open(otlp_attrs *a);
/* Telltale's own members (trace_id, span_id, ...): always kept. */
void otlp_attrs_string(otlp_attrs *a, const char *key, const char *value);
void otlp_attrs_number(otlp_attrs *a, const char *key, double value);
/* The item's attributes, then the resource's under "resource" (service.name included). */
void otlp_attrs_add(otlp_attrs *a, Otlp__KeyValue *const *kv, size_t n);
void otlp_attrs_add_object(otlp_attrs *a, const char *key, Otlp__KeyValue *const *kv, size_t n);
void otlp_attrs_value(otlp_attrs *a, const char *key, const Otlp__AnyValue *v);
/* Closes the object: returns its JSON (the caller frees it), or NULL when out of memory. */
char *otlp_attrs_close(otlp_attrs *a);

/* Copies 's' into 'dst' (of 'cap' bytes, cap > 0), cut on a UTF-8 boundary to fit; returns
 * 'dst', or NULL when 's' is NULL or empty. *cut is set when it was cut. */
const char *otlp_fit(char *dst, size_t cap, const char *s, bool *cut);

/* Lowercase hex of 'len' bytes into 'dst' (2 * len + 1 bytes). */
void otlp_hex(char *dst, const uint8_t *src, size_t len);

/* Epoch nanoseconds to milliseconds; 0 (unset) or out of DESIGN §2's range gives 'fallback'. */
int64_t otlp_ms(uint64_t unix_nano, int64_t fallback);

/* An id for an item that has none of its own (a log record, a data point): "PREFIX" and the
 * hex of a SHA-256 over the packed resource and item, so an exporter's retry of the same item
 * gets the same id and is stored once. 'dst' holds EVENT_ID_MAX + 1 bytes. */
void otlp_content_id(char *dst, char prefix, const ProtobufCMessage *resource,
                     const ProtobufCMessage *scope, const char *name, const ProtobufCMessage *item);

/* Adds 'ev' (cloned) to the result's batch; false when out of memory. */
bool otlp_push(otlp_result *res, size_t *cap, const tt_event *ev);

/* Closes 'a' into ev's attrs and adds 'ev' (cloned) to the batch, counting the item as cut when
 * 'cut' or its attributes were truncated. 0, or TT_ENOMEM. */
int otlp_push_with_attrs(otlp_result *res, size_t *cap, tt_event *ev, otlp_attrs *a, bool cut);

/* The service.name of a resource, or "otlp". */
const char *otlp_source(const Otlp__Resource *r, char dst[EVENT_SOURCE_MAX + 1], bool *cut);

int otlp_traces_to_events(const Otlp__ExportTraceServiceRequest *req, int64_t now_ms,
                          size_t max_events, otlp_result *res);
int otlp_logs_to_events(const Otlp__ExportLogsServiceRequest *req, int64_t now_ms,
                        size_t max_events, otlp_result *res);
int otlp_metrics_to_events(const Otlp__ExportMetricsServiceRequest *req, int64_t now_ms,
                           size_t max_events, otlp_result *res);

#endif
