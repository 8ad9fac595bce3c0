/* otlp.c -- the OTLP/HTTP bodies of the three signals: which message a path and a content type
 * mean, decoding them (protobuf-c, or otlp_json.c), and encoding the answers. */
#include "otlp/otlp.h"

#include "otlp/otlp_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Submessages nest at most this deep in a protobuf body. protobuf-c recurses once per level
 * without a bound of its own, and OTLP's AnyValue may nest without end: a body of a few KiB
 * could otherwise exhaust the stack. Real requests nest about ten levels. */
#define PB_MAX_DEPTH 48

static const ProtobufCMessageDescriptor *request_descriptor(otlp_signal sig)
{
    return sig == OTLP_TRACES ? &otlp__export_trace_service_request__descriptor
           : sig == OTLP_LOGS ? &otlp__export_logs_service_request__descriptor
                              : &otlp__export_metrics_service_request__descriptor;
}

bool otlp_signal_of_path(const char *path, otlp_signal *out)
{
    static const struct {
        const char *path;
        otlp_signal sig;
    } paths[] = {
        {"/v1/traces", OTLP_TRACES}, {"/v1/logs", OTLP_LOGS}, {"/v1/metrics", OTLP_METRICS}};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        if (strcmp(path, paths[i].path) == 0) {
            *out = paths[i].sig;
            return true;
        }
    }
    return false;
}

bool otlp_encoding_of(const char *content_type, otlp_encoding *out)
{
    size_t n = strcspn(content_type, "; \t");
    if (n == strlen("application/x-protobuf") &&
        strncasecmp(content_type, "application/x-protobuf", n) == 0) {
        *out = OTLP_PROTOBUF;
        return true;
    }
    if (n == strlen("application/json") && strncasecmp(content_type, "application/json", n) == 0) {
        *out = OTLP_JSON;
        return true;
    }
    return false;
}

const char *otlp_content_type(otlp_encoding enc)
{
    return enc == OTLP_PROTOBUF ? "application/x-protobuf" : "application/json";
}

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            return true;
        }
    }
    return false;
}

/* Measures only how deep the submessages of a body nest, skipping everything else; a body it
 * cannot follow is left for protobuf-c to refuse. False when deeper than PB_MAX_DEPTH. */
static bool nesting_ok(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end,
                       int depth)
{
    if (depth > PB_MAX_DEPTH) {
        return false;
    }
    while (p < end) {
        uint64_t key, len;
        if (!read_varint(&p, end, &key)) {
            return true;
        }
        switch (key & 7) {
        case 0:
            if (!read_varint(&p, end, &len)) {
                return true;
            }
            break;
        case 1:
        case 5: {
            size_t skip = (key & 7) == 1 ? 8 : 4;
            if ((size_t)(end - p) < skip) {
                return true;
            }
            p += skip;
            break;
        }
        case 2: {
            if (!read_varint(&p, end, &len) || len > (uint64_t)(end - p)) {
                return true;
            }
            const ProtobufCFieldDescriptor *f =
                key >> 3 > UINT32_MAX
                    ? NULL
                    : protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3));
            if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                !nesting_ok(f->descriptor, p, p + len, depth + 1)) {
                return false;
            }
            p += len;
            break;
        }
        default:
            return true;
        }
    }
    return true;
}

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool utf8_valid(const unsigned char *s)
{
    while (*s != '\0') {
        unsigned c = *s++, n = c < 0x80                 ? 0
                               : c >= 0xC2 && c <= 0xDF ? 1
                               : (c & 0xF0) == 0xE0     ? 2
                               : c >= 0xF0 && c <= 0xF4 ? 3
                                                        : 9;
        if (n == 9) {
            return false;
        }
        unsigned lo = 0x80, hi = 0xBF;
        if (c == 0xE0) {
            lo = 0xA0;
        } else if (c == 0xED) {
            hi = 0x9F;
        } else if (c == 0xF0) {
            lo = 0x90;
        } else if (c == 0xF4) {
            hi = 0x8F;
        }
        for (unsigned i = 0; i < n; i++, s++) {
            if (*s < (i == 0 ? lo : 0x80) || *s > (i == 0 ? hi : 0xBF)) {
                return false;
            }
        }
    }
    return true;
}

/* proto3 strings are UTF-8, and an official parser refuses a message whose strings are not;
 * protobuf-c does not look. Returns the first field that holds something else, or NULL. */
static const char *bad_string(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *at = (const char *)m + f->offset;
        bool oneof = f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF;
        if ((f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE) ||
            (oneof && *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)) {
            continue;
        }
        size_t n = f->label == PROTOBUF_C_LABEL_REPEATED
                       ? *(const size_t *)((const char *)m + f->quantifier_offset)
                       : 1;
        void *const *items =
            f->label == PROTOBUF_C_LABEL_REPEATED ? *(void *const *)at : (void *const *)at;
        for (size_t j = 0; j < n; j++) {
            const char *bad = NULL;
            if (items[j] == NULL) {
                continue;
            }
            if (f->type == PROTOBUF_C_TYPE_STRING) {
                bad = utf8_valid(items[j]) ? NULL : f->name;
            } else {
                bad = bad_string(items[j]);
            }
            if (bad != NULL) {
                return bad;
            }
        }
    }
    return NULL;
}

int otlp_decode(otlp_signal sig, otlp_encoding enc, const uint8_t *body, size_t len,
                ProtobufCMessage **out, char err[TT_ERRLEN])
{
    const ProtobufCMessageDescriptor *d = request_descriptor(sig);
    *out = NULL;
    if (enc == OTLP_JSON) {
        return otlp_json_decode(d, (const char *)body, len, out, err);
    }
    if (!nesting_ok(d, body, body + len, 0)) {
        return tt_fail(err, TT_EINVAL, "protobuf messages nest deeper than %d levels",
                       PB_MAX_DEPTH);
    }
    *out = protobuf_c_message_unpack(d, NULL, len, body);
    if (*out == NULL) {
        return tt_fail(err, TT_EINVAL, "not a valid %s protobuf message", d->name);
    }
    const char *bad = bad_string(*out);
    if (bad != NULL) {
        otlp_message_free(*out);
        *out = NULL;
        return tt_fail(err, TT_EINVAL, "field '%s' is not valid UTF-8", bad);
    }
    return 0;
}

void otlp_message_free(ProtobufCMessage *m)
{
    if (m != NULL) {
        protobuf_c_message_free_unpacked(m, NULL);
    }
}

int otlp_to_events(otlp_signal sig, const ProtobufCMessage *req, int64_t now_ms, size_t max_events,
                   otlp_result *res)
{
    memset(res, 0, sizeof *res);
    int rc =
        sig == OTLP_TRACES ? otlp_traces_to_events((const Otlp__ExportTraceServiceRequest *)req,
                                                   now_ms, max_events, res)
        : sig == OTLP_LOGS ? otlp_logs_to_events((const Otlp__ExportLogsServiceRequest *)req,
                                                 now_ms, max_events, res)
                           : otlp_metrics_to_events((const Otlp__ExportMetricsServiceRequest *)req,
                                                    now_ms, max_events, res);
    if (rc != 0) {
        event_batch_free(&res->batch);
        memset(res, 0, sizeof *res);
        return rc;
    }
    if (res->truncated > 0 && res->message[0] == '\0') {
        snprintf(res->message, sizeof res->message,
                 "%llu item(s) kept with attributes cut to telltale's limits (at most %d "
                 "attributes, %d bytes a value, %d KiB in all)",
                 (unsigned long long)res->truncated, OTLP_MAX_ATTRS, OTLP_MAX_VALUE,
                 EVENT_ATTRS_MAX_BYTES / 1024);
    }
    return 0;
}

/* ---- answers ---- */

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len + 1);
    if (buf != NULL) {
        protobuf_c_message_pack(m, buf);
    }
    return buf;
}

static uint8_t *take_json(json_writer *w, size_t *len)
{
    if (w->out.oom) {
        free(w->out.buf);
        return NULL;
    }
    *len = w->out.len;
    return (uint8_t *)w->out.buf;
}

uint8_t *otlp_encode_response(otlp_signal sig, otlp_encoding enc, uint64_t rejected,
                              const char *message, size_t *len)
{
    static const char *const keys[] = {"rejectedSpans", "rejectedLogRecords", "rejectedDataPoints"};
    bool partial = rejected > 0 || (message != NULL && message[0] != '\0');
    char *msg = (char *)(message != NULL ? message : "");
    if (enc == OTLP_JSON) {
        char count[24];
        json_writer w = {0};
        json_open_object(&w);
        if (partial) {
            snprintf(count, sizeof count, "%llu", (unsigned long long)rejected);
            json_key(&w, "partialSuccess");
            json_open_object(&w);
            json_member_string(&w, keys[sig], count); /* int64: a string (proto3 JSON) */
            json_member_string(&w, "errorMessage", msg);
            json_close_object(&w);
        }
        json_close_object(&w);
        return take_json(&w, len);
    }
    Otlp__ExportTracePartialSuccess tp = OTLP__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
    Otlp__ExportLogsPartialSuccess lp = OTLP__EXPORT_LOGS_PARTIAL_SUCCESS__INIT;
    Otlp__ExportMetricsPartialSuccess mp = OTLP__EXPORT_METRICS_PARTIAL_SUCCESS__INIT;
    Otlp__ExportTraceServiceResponse tr = OTLP__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
    Otlp__ExportLogsServiceResponse lr = OTLP__EXPORT_LOGS_SERVICE_RESPONSE__INIT;
    Otlp__ExportMetricsServiceResponse mr = OTLP__EXPORT_METRICS_SERVICE_RESPONSE__INIT;
    tp.rejected_spans = lp.rejected_log_records = mp.rejected_data_points = (int64_t)rejected;
    tp.error_message = lp.error_message = mp.error_message = msg;
    tr.partial_success = partial ? &tp : NULL;
    lr.partial_success = partial ? &lp : NULL;
    mr.partial_success = partial ? &mp : NULL;
    return pack(sig == OTLP_TRACES ? &tr.base : sig == OTLP_LOGS ? &lr.base : &mr.base, len);
}

uint8_t *otlp_encode_status(otlp_encoding enc, int code, const char *message, size_t *len)
{
    if (enc == OTLP_JSON) {
        json_writer w = {0};
        json_open_object(&w);
        json_member_number(&w, "code", code);
        json_member_string(&w, "message", message);
        json_close_object(&w);
        return take_json(&w, len);
    }
    Otlp__RpcStatus st = OTLP__RPC_STATUS__INIT;
    st.code = code;
    st.message = (char *)message;
    return pack(&st.base, len);
}

int otlp_rpc_code(int http_status)
{
    switch (http_status) {
    case 400:
    case 415:
        return 3; /* INVALID_ARGUMENT */
    case 401:
        return 16; /* UNAUTHENTICATED */
    case 403:
        return 7; /* PERMISSION_DENIED */
    case 404:
        return 5; /* NOT_FOUND */
    case 405:
        return 12; /* UNIMPLEMENTED */
    case 411:
    case 413:
        return 3; /* INVALID_ARGUMENT: the request as sent cannot be taken */
    case 429:
        return 8; /* RESOURCE_EXHAUSTED */
    case 503:
        return 14; /* UNAVAILABLE */
    default:
        return 13; /* INTERNAL */
    }
}
