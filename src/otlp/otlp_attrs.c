/* otlp_attrs.c -- OTLP attributes (KeyValue, AnyValue) read by key and written into an event's
 * attrs within DESIGN §2's limits, and the small conversions every signal's mapping shares. */
#include "otlp/otlp_internal.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATTRS_ROOM 512 /* bytes kept free under EVENT_ATTRS_MAX_BYTES for the closing members */

const char *otlp_attr_string(Otlp__KeyValue *const *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        const Otlp__AnyValue *v = kv[i]->value;
        if (strcmp(kv[i]->key, key) == 0 && v != NULL &&
            v->value_case == OTLP__ANY_VALUE__VALUE_STRING_VALUE) {
            return v->string_value;
        }
    }
    return NULL;
}

bool otlp_attr_int(Otlp__KeyValue *const *kv, size_t n, const char *key, int64_t *out)
{
    for (size_t i = 0; i < n; i++) {
        const Otlp__AnyValue *v = kv[i]->value;
        if (strcmp(kv[i]->key, key) != 0 || v == NULL) {
            continue;
        }
        if (v->value_case == OTLP__ANY_VALUE__VALUE_INT_VALUE) {
            *out = v->int_value;
            return true;
        }
        if (v->value_case == OTLP__ANY_VALUE__VALUE_DOUBLE_VALUE && v->double_value >= 0 &&
            v->double_value < 9e15 && v->double_value == (double)(int64_t)v->double_value) {
            *out = (int64_t)v->double_value;
            return true;
        }
    }
    return false;
}

const char *otlp_fit(char *dst, size_t cap, const char *s, bool *cut)
{
    if (s == NULL || s[0] == '\0') {
        return NULL;
    }
    size_t n = strlen(s);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
            n--; /* s[n] continues a character: cut before the character starts */
        }
        *cut = true;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
    return dst;
}

void otlp_hex(char *dst, const uint8_t *src, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        dst[2 * i] = digits[src[i] >> 4];
        dst[2 * i + 1] = digits[src[i] & 15];
    }
    dst[2 * len] = '\0';
}

int64_t otlp_ms(uint64_t unix_nano, int64_t fallback)
{
    uint64_t ms = unix_nano / 1000000u;
    return unix_nano == 0 || ms > (uint64_t)EVENT_TS_MAX_MS ? fallback : (int64_t)ms;
}

static void digest_message(EVP_MD_CTX *md, const ProtobufCMessage *m)
{
    uint8_t small[512];
    size_t n = m == NULL ? 0 : protobuf_c_message_get_packed_size(m);
    uint8_t *buf = n <= sizeof small ? small : malloc(n);
    if (buf != NULL && n > 0) {
        protobuf_c_message_pack(m, buf);
        EVP_DigestUpdate(md, buf, n);
    }
    EVP_DigestUpdate(md, "\0", 1); /* a separator: the parts cannot run into each other */
    if (buf != small) {
        free(buf);
    }
}

void otlp_content_id(char *dst, char prefix, const ProtobufCMessage *resource,
                     const ProtobufCMessage *scope, const char *name, const ProtobufCMessage *item)
{
    uint8_t sum[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1) {
        digest_message(md, resource);
        digest_message(md, scope);
        EVP_DigestUpdate(md, name, strlen(name) + 1);
        digest_message(md, item);
        EVP_DigestFinal_ex(md, sum, &len);
    }
    EVP_MD_CTX_free(md);
    dst[0] = '\0';
    if (len >= 24) { /* 192 bits: no two distinct items meet by chance */
        dst[0] = prefix;
        otlp_hex(dst + 1, sum, 24);
    } /* else no id: the gateway gives a UUIDv7, and a retry is stored twice */
}

bool otlp_push(otlp_result *res, size_t *cap, const tt_event *ev)
{
    tt_event *copy = event_clone(ev);
    if (copy == NULL || event_batch_push(&res->batch, cap, copy) != 0) {
        event_free(copy);
        return false;
    }
    return true;
}

int otlp_push_with_attrs(otlp_result *res, size_t *cap, tt_event *ev, otlp_attrs *a, bool cut)
{
    char *attrs = otlp_attrs_close(a);
    if (attrs == NULL) {
        return TT_ENOMEM;
    }
    ev->attrs = attrs;
    bool ok = otlp_push(res, cap, ev);
    ev->attrs = NULL;
    free(attrs);
    res->truncated += cut || a->truncated;
    return ok ? 0 : TT_ENOMEM;
}

const char *otlp_source(const Otlp__Resource *r, char dst[EVENT_SOURCE_MAX + 1], bool *cut)
{
    const char *name =
        r == NULL ? NULL : otlp_attr_string(r->attributes, r->n_attributes, "service.name");
    const char *s = otlp_fit(dst, EVENT_SOURCE_MAX + 1, name, cut);
    return s != NULL ? s : "otlp";
}

/* ---- attrs ---- */

void otlp_attrs_open(otlp_attrs *a)
{
    memset(a, 0, sizeof *a);
    json_open_object(&a->w);
}

static bool seen(otlp_attrs *a, const char *key)
{
    for (unsigned i = 0; i < a->nkeys; i++) {
        if (strcmp(a->keys[i], key) == 0) {
            return true;
        }
    }
    if (a->nkeys < sizeof a->keys / sizeof a->keys[0]) {
        a->keys[a->nkeys++] = key;
        return false;
    }
    return true; /* no room to remember it: left out, as over the count */
}

void otlp_attrs_string(otlp_attrs *a, const char *key, const char *value)
{
    if (value != NULL && !seen(a, key)) {
        json_member_string(&a->w, key, value);
    }
}

void otlp_attrs_number(otlp_attrs *a, const char *key, double value)
{
    if (!seen(a, key)) {
        json_member_number(&a->w, key, value);
    }
}

static void write_value(otlp_attrs *a, const Otlp__AnyValue *v, int depth);

static void write_string(otlp_attrs *a, const char *s)
{
    char cut[OTLP_MAX_VALUE + 1];
    bool was_cut = false;
    const char *fit = otlp_fit(cut, sizeof cut, s, &was_cut);
    json_string(&a->w, fit != NULL ? fit : "");
    a->truncated |= was_cut;
}

static void write_kvlist(otlp_attrs *a, const Otlp__KeyValueList *l, int depth)
{
    json_open_object(&a->w);
    size_t n = l == NULL ? 0 : l->n_values;
    if (n > OTLP_MAX_ARRAY) {
        n = OTLP_MAX_ARRAY;
        a->truncated = true;
    }
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++) {
            dup = strcmp(l->values[j]->key, l->values[i]->key) == 0;
        }
        if (dup) {
            a->truncated = true; /* attrs refuse duplicate keys (DESIGN §2) */
            continue;
        }
        json_key(&a->w, l->values[i]->key);
        write_value(a, l->values[i]->value, depth + 1);
    }
    json_close_object(&a->w);
}

static void write_value(otlp_attrs *a, const Otlp__AnyValue *v, int depth)
{
    if (v != NULL && depth > EVENT_ATTRS_MAX_DEPTH &&
        (v->value_case == OTLP__ANY_VALUE__VALUE_ARRAY_VALUE ||
         v->value_case == OTLP__ANY_VALUE__VALUE_KVLIST_VALUE)) {
        json_null(&a->w); /* deeper than attrs may nest */
        a->truncated = true;
        return;
    }
    char hex[2 * 64 + 1];
    switch (v == NULL ? OTLP__ANY_VALUE__VALUE__NOT_SET : v->value_case) {
    case OTLP__ANY_VALUE__VALUE_STRING_VALUE:
        write_string(a, v->string_value);
        break;
    case OTLP__ANY_VALUE__VALUE_BOOL_VALUE:
        json_bool(&a->w, v->bool_value);
        break;
    case OTLP__ANY_VALUE__VALUE_INT_VALUE:
        if (v->int_value >= -9007199254740991LL && v->int_value <= 9007199254740991LL) {
            json_int64(&a->w, v->int_value);
        } else { /* beyond I-JSON's integers (RFC 7493 §2.2): its decimal as a string, as the
                    OTLP/JSON encoding writes every int64 */
            char dec[24];
            snprintf(dec, sizeof dec, "%lld", (long long)v->int_value);
            json_string(&a->w, dec);
        }
        break;
    case OTLP__ANY_VALUE__VALUE_DOUBLE_VALUE:
        if (v->double_value != v->double_value || v->double_value > 1.7976931348623157e308 ||
            v->double_value < -1.7976931348623157e308) {
            json_null(&a->w); /* NaN and infinities have no JSON form */
        } else {
            json_number(&a->w, v->double_value);
        }
        break;
    case OTLP__ANY_VALUE__VALUE_BYTES_VALUE: /* as hex, cut at 64 bytes */
        otlp_hex(hex, v->bytes_value.data, v->bytes_value.len > 64 ? 64 : v->bytes_value.len);
        a->truncated |= v->bytes_value.len > 64;
        json_string(&a->w, hex);
        break;
    case OTLP__ANY_VALUE__VALUE_ARRAY_VALUE: {
        json_open_array(&a->w);
        size_t n = v->array_value == NULL ? 0 : v->array_value->n_values;
        if (n > OTLP_MAX_ARRAY) {
            n = OTLP_MAX_ARRAY;
            a->truncated = true;
        }
        for (size_t i = 0; i < n; i++) {
            write_value(a, v->array_value->values[i], depth + 1);
        }
        json_close_array(&a->w);
        break;
    }
    case OTLP__ANY_VALUE__VALUE_KVLIST_VALUE:
        write_kvlist(a, v->kvlist_value, depth);
        break;
    default:
        json_null(&a->w);
    }
}

/* Writes one member; takes it back when it would carry attrs past their size limit. */
void otlp_attrs_value(otlp_attrs *a, const char *key, const Otlp__AnyValue *v)
{
    if (a->count >= OTLP_MAX_ATTRS || a->w.depth != 1) {
        a->truncated = true;
        return;
    }
    if (seen(a, key)) {
        return; /* the first of a repeated key wins */
    }
    size_t len = a->w.out.len;
    bool had = a->w.has_items[0];
    json_key(&a->w, key);
    write_value(a, v, 2);
    if (a->w.out.len > EVENT_ATTRS_MAX_BYTES - ATTRS_ROOM || a->w.depth != 1) {
        a->w.out.len = len; /* the writer only appends: back to before the member */
        if (a->w.out.buf != NULL) {
            a->w.out.buf[len] = '\0';
        }
        a->w.has_items[0] = had;
        a->w.depth = 1;
        a->w.after_key = false;
        a->truncated = true;
        return;
    }
    a->count++;
}

void otlp_attrs_add(otlp_attrs *a, Otlp__KeyValue *const *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        otlp_attrs_value(a, kv[i]->key, kv[i]->value);
    }
}

void otlp_attrs_add_object(otlp_attrs *a, const char *key, Otlp__KeyValue *const *kv, size_t n)
{
    if (n == 0) {
        return;
    }
    Otlp__KeyValueList list = OTLP__KEY_VALUE_LIST__INIT;
    Otlp__AnyValue v = OTLP__ANY_VALUE__INIT;
    list.n_values = n;
    list.values = (Otlp__KeyValue **)kv;
    v.value_case = OTLP__ANY_VALUE__VALUE_KVLIST_VALUE;
    v.kvlist_value = &list;
    otlp_attrs_value(a, key, &v);
}

char *otlp_attrs_close(otlp_attrs *a)
{
    json_close_object(&a->w);
    if (a->w.out.oom) {
        free(a->w.out.buf);
        return NULL;
    }
    return a->w.out.buf;
}
