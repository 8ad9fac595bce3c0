/* otlp_json.c -- OTLP's JSON encoding laid into the same protobuf-c messages the binary encoding
 * decodes to, driven by the messages' descriptors, so that one mapping serves both.
 *
 * The rules are the OTLP specification's "JSON Protobuf Encoding" (OTLP 1.5.0, OTLP/HTTP): the
 * proto3 JSON mapping with lowerCamelCase keys (the proto field names are accepted too), enums
 * as integers (names accepted), 64-bit integers as strings or numbers, bytes as base64 except
 * trace_id, span_id and parent_span_id, which are hex; unknown keys are ignored. The body is
 * first checked by json_scan (UTF-8, grammar, depth), so what reaches cJSON is bounded. */
#include "otlp/otlp_internal.h"

#include "core/json_scan.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The key of a JSON member names 'field' in lowerCamelCase or as declared. */
static bool names_field(const char *key, const char *field)
{
    if (strcmp(key, field) == 0) {
        return true;
    }
    for (const char *f = field;; f++, key++) {
        if (*f == '_' && f[1] != '\0') {
            f++;
            if (*key != toupper((unsigned char)*f)) {
                return false;
            }
        } else if (*key != *f) {
            return false;
        }
        if (*f == '\0') {
            return true;
        }
    }
}

static const ProtobufCFieldDescriptor *field_named(const ProtobufCMessageDescriptor *d,
                                                   const char *key)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        if (names_field(key, d->fields[i].name)) {
            return &d->fields[i];
        }
    }
    return NULL;
}

static bool is_hex_id(const ProtobufCFieldDescriptor *f)
{
    return strcmp(f->name, "trace_id") == 0 || strcmp(f->name, "span_id") == 0 ||
           strcmp(f->name, "parent_span_id") == 0;
}

static int hex_digit(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static int b64_digit(int c)
{
    return c >= 'A' && c <= 'Z'   ? c - 'A'
           : c >= 'a' && c <= 'z' ? c - 'a' + 26
           : c >= '0' && c <= '9' ? c - '0' + 52
           : c == '+' || c == '-' ? 62
           : c == '/' || c == '_' ? 63
                                  : -1;
}

static bool decode_hex(const char *s, ProtobufCBinaryData *out)
{
    size_t n = strlen(s);
    if (n % 2 != 0) {
        return false;
    }
    out->data = malloc(n / 2 + 1);
    if (out->data == NULL) {
        return false;
    }
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
        if (hi < 0 || lo < 0) {
            return false; /* out->data is freed with the message */
        }
        out->data[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    out->len = n / 2;
    return true;
}

/* Standard or URL-safe base64 (RFC 4648 §4, §5), padding optional. */
static bool decode_base64(const char *s, ProtobufCBinaryData *out)
{
    size_t n = strlen(s), len = 0;
    uint32_t acc = 0;
    int bits = 0;
    while (n > 0 && s[n - 1] == '=') {
        n--;
    }
    out->data = malloc(n * 3 / 4 + 1);
    if (out->data == NULL) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        int v = b64_digit(s[i]);
        if (v < 0) {
            return false;
        }
        acc = acc << 6 | (uint32_t)v;
        if ((bits += 6) >= 8) {
            bits -= 8;
            out->data[len++] = (uint8_t)(acc >> bits);
        }
    }
    out->len = len;
    return true;
}

/* An integer given as a JSON number or a decimal string, in [min, max] (unsigned when umax). */
static bool read_integer(const cJSON *v, bool is_unsigned, int64_t *s, uint64_t *u)
{
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d != floor(d) || (is_unsigned && (d < 0 || d >= 18446744073709551616.0)) ||
            (!is_unsigned && (d < -9223372036854775808.0 || d >= 9223372036854775808.0))) {
            return false;
        }
        *s = is_unsigned ? 0 : (int64_t)d;
        *u = is_unsigned ? (uint64_t)d : 0;
        return true;
    }
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
        isspace((unsigned char)v->valuestring[0]) || (is_unsigned && v->valuestring[0] == '-')) {
        return false;
    }
    char *end;
    errno = 0;
    if (is_unsigned) {
        *u = strtoull(v->valuestring, &end, 10);
    } else {
        *s = strtoll(v->valuestring, &end, 10);
    }
    return errno == 0 && *end == '\0';
}

static bool read_double(const cJSON *v, double *out)
{
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return true;
    }
    if (!cJSON_IsString(v)) {
        return false;
    }
    const char *s = v->valuestring;
    if (strcmp(s, "NaN") == 0 || strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0) {
        *out = s[0] == 'N' ? NAN : s[0] == '-' ? -INFINITY : INFINITY;
        return true;
    }
    char *end;
    *out = strtod(s, &end);
    return s[0] != '\0' && *end == '\0';
}

static int decode_object(const ProtobufCMessageDescriptor *d, const cJSON *obj,
                         ProtobufCMessage **out, char *err);

static size_t value_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return 8;
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default:
        return 4;
    }
}

static int bad(char *err, const ProtobufCFieldDescriptor *f, const char *want)
{
    return tt_fail(err, TT_EINVAL, "field '%s' must be %s", f->name, want);
}

/* Reads one JSON value into the field's storage at 'p'. */
static int set_value(const ProtobufCFieldDescriptor *f, const cJSON *v, void *p, char *err)
{
    int64_t s = 0;
    uint64_t u = 0;
    double d;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (!read_integer(v, false, &s, &u) || s < INT32_MIN || s > INT32_MAX) {
            return bad(err, f, "a 32-bit integer");
        }
        *(int32_t *)p = (int32_t)s;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (!read_integer(v, true, &s, &u) || u > UINT32_MAX) {
            return bad(err, f, "an unsigned 32-bit integer");
        }
        *(uint32_t *)p = (uint32_t)u;
        return 0;
    case PROTOBUF_C_TYPE_ENUM:
        if (cJSON_IsString(v) &&
            protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, v->valuestring) != NULL) {
            s = protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, v->valuestring)->value;
        } else if (!read_integer(v, false, &s, &u) || s < INT32_MIN || s > INT32_MAX) {
            return bad(err, f, "an enum number");
        }
        *(int32_t *)p = (int32_t)s;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (!read_integer(v, false, &s, &u)) {
            return bad(err, f, "a 64-bit integer (a number or a decimal string)");
        }
        *(int64_t *)p = s;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (!read_integer(v, true, &s, &u)) {
            return bad(err, f, "an unsigned 64-bit integer (a number or a decimal string)");
        }
        *(uint64_t *)p = u;
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
    case PROTOBUF_C_TYPE_FLOAT:
        if (!read_double(v, &d)) {
            return bad(err, f, "a number");
        }
        if (f->type == PROTOBUF_C_TYPE_FLOAT) {
            *(float *)p = (float)d;
        } else {
            *(double *)p = d;
        }
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!cJSON_IsBool(v)) {
            return bad(err, f, "true or false");
        }
        *(protobuf_c_boolean *)p = cJSON_IsTrue(v);
        return 0;
    case PROTOBUF_C_TYPE_STRING:
        if (!cJSON_IsString(v)) {
            return bad(err, f, "a string");
        }
        if ((*(char **)p = strdup(v->valuestring)) == NULL) {
            return tt_fail(err, TT_ENOMEM, "out of memory");
        }
        return 0;
    case PROTOBUF_C_TYPE_BYTES:
        if (!cJSON_IsString(v) ||
            !(is_hex_id(f) ? decode_hex(v->valuestring, p) : decode_base64(v->valuestring, p))) {
            return bad(err, f, is_hex_id(f) ? "a hex string" : "a base64 string");
        }
        return 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        if (!cJSON_IsObject(v)) {
            return bad(err, f, "an object");
        }
        return decode_object(f->descriptor, v, p, err);
    }
    return bad(err, f, "of a known type");
}

static int set_repeated(const ProtobufCFieldDescriptor *f, const cJSON *v, char *m, char *err)
{
    size_t *n = (size_t *)(m + f->quantifier_offset);
    void **arr = (void **)(m + f->offset);
    if (!cJSON_IsArray(v)) {
        return bad(err, f, "an array");
    }
    size_t count = (size_t)cJSON_GetArraySize(v), size = value_size(f->type), i = 0;
    if (count == 0) {
        return 0;
    }
    if ((*arr = calloc(count, size)) == NULL) {
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    *n = count; /* elements still zero are freed as nothing */
    for (const cJSON *e = v->child; e != NULL; e = e->next, i++) {
        int rc = set_value(f, e, (char *)*arr + i * size, err);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int set_field(const ProtobufCFieldDescriptor *f, const cJSON *v, char *m, char *err)
{
    if (cJSON_IsNull(v)) {
        return 0; /* null is the default (proto3 JSON) */
    }
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        return set_repeated(f, v, m, err);
    }
    void *p = m + f->offset;
    bool owned = f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE ||
                 f->type == PROTOBUF_C_TYPE_BYTES;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *which = (uint32_t *)(m + f->quantifier_offset);
        if (*which != 0) {
            return tt_fail(err, TT_EINVAL, "field '%s': a oneof holds one value", f->name);
        }
        if (owned) {
            memset(p, 0, value_size(f->type)); /* the storage may be another member's */
        }
        *which = f->id;
    }
    if (f->type == PROTOBUF_C_TYPE_STRING && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
        *(char **)p = NULL; /* set_value() replaces the shared empty default */
    }
    return set_value(f, v, p, err);
}

static int decode_object(const ProtobufCMessageDescriptor *d, const cJSON *obj,
                         ProtobufCMessage **out, char *err)
{
    ProtobufCMessage *m = calloc(1, d->sizeof_message);
    if (m == NULL) {
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    d->message_init(m);
    *out = m;
    /* Each field once, whatever its spelling (resourceLogs or resource_logs) and value (an
     * empty array, null): a second copy means nothing certain, and is refused. */
    bool *seen = calloc(d->n_fields > 0 ? d->n_fields : 1, sizeof *seen);
    int rc = seen == NULL ? tt_fail(err, TT_ENOMEM, "out of memory") : 0;
    for (const cJSON *c = obj->child; c != NULL && rc == 0; c = c->next) {
        const ProtobufCFieldDescriptor *f = field_named(d, c->string);
        if (f != NULL && seen[f - d->fields]) {
            rc = tt_fail(err, TT_EINVAL, "field '%s' appears twice", f->name);
        } else if (f != NULL) {
            seen[f - d->fields] = true;
            rc = set_field(f, c, (char *)m, err);
        }
    }
    free(seen);
    return rc; /* on failure, *out is freed by the caller, whole */
}

int otlp_json_decode(const ProtobufCMessageDescriptor *d, const char *body, size_t len,
                     ProtobufCMessage **out, char err[TT_ERRLEN])
{
    size_t at = 0;
    /* OTLP lets 64-bit integers (times in ns, intValue) be numbers, so the I-JSON bound of the
     * other routes would refuse exporters' bodies: read_integer takes them as cJSON's doubles,
     * a time within 256 ns (DESIGN §2). */
    json_scan_result sr = json_scan_wide(body, len, OTLP_MAX_JSON_DEPTH, &at);
    *out = NULL;
    if (sr != JSON_SCAN_OK) {
        return tt_fail(err, TT_EINVAL, "invalid JSON at byte %zu: %s", at, json_scan_describe(sr));
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (root == NULL || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return root == NULL ? tt_fail(err, TT_EINVAL, "invalid JSON")
                            : tt_fail(err, TT_EINVAL, "the body must be a JSON object");
    }
    int rc = decode_object(d, root, out, err);
    cJSON_Delete(root);
    if (rc != 0) {
        protobuf_c_message_free_unpacked(*out, NULL);
        *out = NULL;
    }
    return rc;
}
