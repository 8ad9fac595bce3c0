/* test_phoenix.c -- the Phoenix channel wire format of @supabase/realtime-js: frames its
 * serializer really writes (vsn 2.0.0 text and binary "user broadcast push"), the 1.0.0 object
 * shape, rendering in both shapes and as a binary "user broadcast" the client can decode, round
 * trips, and every limit: field sizes, nesting, truncated or foreign binary frames, payloads
 * that are not objects, refs, arity and types. */
#include "core/phoenix.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- frames written by the real client ----------------------------------------------------
 *
 * Generated once by running Serializer.encode() of node_modules/@supabase/realtime-js 2.119.1
 * (dist/main/lib/serializer.js, from src/lib/serializer.ts) under node, e.g.
 *
 *   const S = require('@supabase/realtime-js/dist/main/lib/serializer.js').default;
 *   new S().encode({join_ref: '1', ref: '2', topic: 'realtime:room', event: 'broadcast',
 *                   payload: {type: 'broadcast', event: 'msg', payload: {a: 1}}}, console.log)
 *
 * and pasted here byte for byte. The layout, from that source: u8 kind=3, then the byte lengths
 * of join_ref, ref, topic, user event and metadata, u8 encoding (0 binary, 1 JSON), the five
 * fields, and the payload as the rest of the frame. */

/* channel.send({type:'broadcast', event:'msg', payload:{a:1}}), join_ref "1", ref "2" */
static const unsigned char push_json[] = {
    0x03, 0x01, 0x01, 0x0d, 0x03, 0x00, 0x01, 0x31, 0x32, 0x72, 0x65, 0x61, 0x6c, 0x74, 0x69, 0x6d,
    0x65, 0x3a, 0x72, 0x6f, 0x6f, 0x6d, 0x6d, 0x73, 0x67, 0x7b, 0x22, 0x61, 0x22, 0x3a, 0x31, 0x7d};

/* the same with persist: true (sent as metadata {"persist":true}) and payload {t:'hé'} */
static const unsigned char push_json_persist[] = {
    0x03, 0x01, 0x01, 0x0d, 0x03, 0x10, 0x01, 0x31, 0x33, 0x72, 0x65, 0x61, 0x6c,
    0x74, 0x69, 0x6d, 0x65, 0x3a, 0x72, 0x6f, 0x6f, 0x6d, 0x6d, 0x73, 0x67, 0x7b,
    0x22, 0x70, 0x65, 0x72, 0x73, 0x69, 0x73, 0x74, 0x22, 0x3a, 0x74, 0x72, 0x75,
    0x65, 0x7d, 0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0x68, 0xc3, 0xa9, 0x22, 0x7d};

/* event 'blob' with an ArrayBuffer payload [0, 1, 2, 255], join_ref "4", ref "5" */
static const unsigned char push_binary[] = {
    0x03, 0x01, 0x01, 0x0d, 0x04, 0x00, 0x00, 0x34, 0x35, 0x72, 0x65, 0x61, 0x6c, 0x74, 0x69,
    0x6d, 0x65, 0x3a, 0x72, 0x6f, 0x6f, 0x6d, 0x62, 0x6c, 0x6f, 0x62, 0x00, 0x01, 0x02, 0xff};

/* join_ref and ref null (written as empty), payload {} */
static const unsigned char push_null_refs[] = {0x03, 0x00, 0x00, 0x0d, 0x03, 0x00, 0x01, 0x72, 0x65,
                                               0x61, 0x6c, 0x74, 0x69, 0x6d, 0x65, 0x3a, 0x72, 0x6f,
                                               0x6f, 0x6d, 0x6d, 0x73, 0x67, 0x7b, 0x7d};

/* Text frames of the same serializer (JSON.stringify of the five-element array). */
static const char text_join[] =
    "[\"1\",\"1\",\"realtime:room\",\"phx_join\",{\"config\":{\"broadcast\":{\"self\":false}}}]";
static const char text_heartbeat[] = "[null,\"7\",\"phoenix\",\"heartbeat\",{}]";

/* A kind-4 "user broadcast" that the same Serializer.decode() reads as
 * {join_ref: null, ref: null, topic: 'room', event: 'broadcast',
 *  payload: {type: 'broadcast', event: 'evt', payload: ArrayBuffer [9, 8]}}
 * (checked with node when these constants were made). */
static const unsigned char user_broadcast_room_evt[] = {0x04, 0x04, 0x03, 0x00, 0x00, 'r',  'o',
                                                        'o',  'm',  'e',  'v',  't',  0x09, 0x08};

/* ---- helpers ---------------------------------------------------------------------------- */

static phx_msg parse_ok(phx_vsn vsn, bool binary, const void *data, size_t len)
{
    phx_msg m;
    char err[TT_ERRLEN] = "";
    int rc = phx_parse(vsn, binary, data, len, &m, err);
    if (rc != 0) {
        fail_msg("frame refused (%d): %s", rc, err);
    }
    assert_non_null(m.payload);
    return m;
}

static phx_msg parse_text_ok(phx_vsn vsn, const char *text)
{
    return parse_ok(vsn, false, text, strlen(text));
}

/* phx_parse refuses the frame with TT_EINVAL, says 'why', and leaves nothing to free. */
static void parse_fails(phx_vsn vsn, bool binary, const void *data, size_t len, const char *why)
{
    phx_msg m;
    char err[TT_ERRLEN] = "";
    int rc = phx_parse(vsn, binary, data, len, &m, err);
    if (rc != TT_EINVAL) {
        fail_msg("frame of %zu bytes gave %d, expected TT_EINVAL", len, rc);
    }
    if (strstr(err, why) == NULL) {
        fail_msg("'%s' lacks '%s'", err, why);
    }
    assert_null(m.payload);
    assert_null(m.raw);
}

static void text_fails(phx_vsn vsn, const char *text, const char *why)
{
    parse_fails(vsn, false, text, strlen(text), why);
}

/* The compact JSON of 'node'. */
static void assert_json(const cJSON *node, const char *want)
{
    char *got = cJSON_PrintUnformatted(node);
    assert_non_null(got);
    if (strcmp(got, want) != 0) {
        fail_msg("got %s, want %s", got, want);
    }
    free(got);
}

/* snprintf that must fit: a cut frame would test something else. */
__attribute__((format(printf, 3, 4))) static void fmt(char *out, size_t cap, const char *format,
                                                      ...)
{
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(out, cap, format, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < cap);
}

/* A string of n copies of c (n < 1024), in one of four rotating buffers. */
static const char *repeat(char c, size_t n)
{
    static char buf[4][1024];
    static unsigned next;
    char *out = buf[next++ % 4];
    assert_true(n < sizeof buf[0]);
    memset(out, c, n);
    out[n] = '\0';
    return out;
}

/* '[' x depth, then 0, then ']' x depth, in 'out'. */
static void nested_arrays(char *out, size_t cap, int depth)
{
    assert_true((size_t)depth * 2 + 2 < cap);
    memset(out, '[', (size_t)depth);
    out[depth] = '0';
    memset(out + depth + 1, ']', (size_t)depth);
    out[2 * depth + 1] = '\0';
}

#define BAD_BINARY "user broadcast push (kind 3)"

/* ---- text frames ------------------------------------------------------------------------ */

static void v2_join_from_realtime_js_parses(void **state)
{
    (void)state;
    phx_msg m = parse_text_ok(PHX_V2, text_join);
    assert_true(m.has_join_ref && m.has_ref);
    assert_string_equal(m.join_ref, "1");
    assert_string_equal(m.ref, "1");
    assert_string_equal(m.topic, "realtime:room");
    assert_string_equal(m.event, "phx_join");
    assert_json(m.payload, "{\"config\":{\"broadcast\":{\"self\":false}}}");
    assert_false(m.binary);
    assert_null(m.raw);
    phx_msg_free(&m);
}

static void v2_null_join_ref_is_absent(void **state)
{
    (void)state;
    phx_msg m = parse_text_ok(PHX_V2, text_heartbeat);
    assert_false(m.has_join_ref);
    assert_string_equal(m.join_ref, "");
    assert_true(m.has_ref);
    assert_string_equal(m.ref, "7");
    assert_string_equal(m.topic, "phoenix");
    assert_string_equal(m.event, "heartbeat");
    assert_json(m.payload, "{}");
    phx_msg_free(&m);
}

/* 1.0.0 sends JSON.stringify(msg): an object, keys in any order, join_ref absent or null. */
static void v1_object_parses_in_any_key_order(void **state)
{
    (void)state;
    phx_msg m = parse_text_ok(PHX_V1, "{\"topic\":\"realtime:x\",\"event\":\"phx_join\","
                                      "\"payload\":{\"a\":[1]},\"ref\":\"3\",\"join_ref\":\"3\"}");
    assert_string_equal(m.topic, "realtime:x");
    assert_string_equal(m.event, "phx_join");
    assert_string_equal(m.ref, "3");
    assert_string_equal(m.join_ref, "3");
    assert_json(m.payload, "{\"a\":[1]}");
    phx_msg_free(&m);

    m = parse_text_ok(PHX_V1, "{\"topic\":\"phoenix\",\"event\":\"heartbeat\",\"payload\":{},"
                              "\"ref\":null}");
    assert_false(m.has_join_ref);
    assert_false(m.has_ref);
    phx_msg_free(&m);
}

/* Each version reads only its own shape. */
static void each_version_refuses_the_other_shape(void **state)
{
    (void)state;
    text_fails(PHX_V1, text_join, "must be an object");
    text_fails(PHX_V2,
               "{\"join_ref\":\"1\",\"ref\":\"1\",\"topic\":\"t\",\"event\":\"e\",\"payload\":{}}",
               "must be an array");
}

static void v2_array_must_have_five_elements(void **state)
{
    (void)state;
    text_fails(PHX_V2, "[]", "must be an array");
    text_fails(PHX_V2, "[\"1\",\"2\",\"t\",\"e\"]", "must be an array");
    text_fails(PHX_V2, "[\"1\",\"2\",\"t\",\"e\",{},{}]", "must be an array");
    text_fails(PHX_V2, "[\"1\",\"2\",\"t\",\"e\",{},null]", "must be an array");
    text_fails(PHX_V2, "\"phx_join\"", "must be an array");
}

static void topic_and_event_must_be_non_empty_strings(void **state)
{
    (void)state;
    static const char *const frames[] = {
        "[\"1\",\"2\",42,\"e\",{}]",      "[\"1\",\"2\",null,\"e\",{}]",
        "[\"1\",\"2\",[\"t\"],\"e\",{}]", "[\"1\",\"2\",{},\"e\",{}]",
        "[\"1\",\"2\",\"\",\"e\",{}]",    "[\"1\",\"2\",\"t\",1,{}]",
        "[\"1\",\"2\",\"t\",null,{}]",    "[\"1\",\"2\",\"t\",\"\",{}]",
        "[\"1\",\"2\",true,\"e\",{}]",
    };
    for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
        text_fails(PHX_V2, frames[i], "must be a string of 1 to 255 bytes");
    }
    text_fails(PHX_V1, "{\"event\":\"e\",\"payload\":{}}", "'topic' must be a string");
    text_fails(PHX_V1, "{\"topic\":\"t\",\"payload\":{}}", "'event' must be a string");
}

/* Refs may be strings, non-negative integers (read as their decimal text) or null. */
static void refs_are_strings_integers_or_null(void **state)
{
    (void)state;
    phx_msg m = parse_text_ok(PHX_V2, "[12,0,\"t\",\"e\",{}]");
    assert_string_equal(m.join_ref, "12");
    assert_string_equal(m.ref, "0");
    assert_true(m.has_join_ref && m.has_ref);
    phx_msg_free(&m);

    static const char *const frames[] = {
        "[-1,\"2\",\"t\",\"e\",{}]",   "[1.5,\"2\",\"t\",\"e\",{}]", "[1e15,\"2\",\"t\",\"e\",{}]",
        "[\"1\",true,\"t\",\"e\",{}]", "[\"1\",[],\"t\",\"e\",{}]",  "[\"1\",{},\"t\",\"e\",{}]",
    };
    for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
        text_fails(PHX_V2, frames[i], "must be null, a number or a string");
    }
}

/* Every payload telltale acts on is an object; anything else is refused at the edge. */
static void payload_must_be_an_object(void **state)
{
    (void)state;
    static const char *const frames[] = {
        "[\"1\",\"2\",\"t\",\"e\",null]",  "[\"1\",\"2\",\"t\",\"e\",[]]",
        "[\"1\",\"2\",\"t\",\"e\",\"x\"]", "[\"1\",\"2\",\"t\",\"e\",1]",
        "[\"1\",\"2\",\"t\",\"e\",true]",
    };
    for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
        text_fails(PHX_V2, frames[i], "payload");
    }
    text_fails(PHX_V1, "{\"topic\":\"t\",\"event\":\"e\",\"payload\":[1]}", "payload");
    text_fails(PHX_V1, "{\"topic\":\"t\",\"event\":\"e\",\"ref\":\"1\"}", "has no payload");
}

/* Topic, event and refs of 255 bytes are read whole; 256 are refused, not cut. */
static void fields_of_256_bytes_are_refused(void **state)
{
    (void)state;
    char frame[1100], f255[256];
    fmt(f255, sizeof f255, "%s", repeat('t', 255));
    fmt(frame, sizeof frame, "[\"%s\",\"%s\",\"%s\",\"%s\",{}]", f255, f255, f255, f255);
    phx_msg m = parse_text_ok(PHX_V2, frame);
    assert_string_equal(m.topic, f255);
    assert_string_equal(m.event, f255);
    assert_string_equal(m.join_ref, f255);
    assert_string_equal(m.ref, f255);
    phx_msg_free(&m);

    const char *f256 = repeat('t', 256);
    fmt(frame, sizeof frame, "[\"1\",\"2\",\"%s\",\"e\",{}]", f256);
    text_fails(PHX_V2, frame, "'topic' must be a string of 1 to 255 bytes");
    fmt(frame, sizeof frame, "[\"1\",\"2\",\"t\",\"%s\",{}]", f256);
    text_fails(PHX_V2, frame, "'event' must be a string of 1 to 255 bytes");
    fmt(frame, sizeof frame, "[\"%s\",\"2\",\"t\",\"e\",{}]", f256);
    text_fails(PHX_V2, frame, "'join_ref' must be");
    fmt(frame, sizeof frame, "[\"1\",\"%s\",\"t\",\"e\",{}]", f256);
    text_fails(PHX_V2, frame, "'ref' must be");
}

/* The frame's whole nesting, outer array included, may reach PHX_MAX_DEPTH and no further. */
static void nesting_beyond_max_depth_is_refused(void **state)
{
    (void)state;
    char inner[256], frame[512];
    nested_arrays(inner, sizeof inner, PHX_MAX_DEPTH - 2); /* + the array and the payload */
    fmt(frame, sizeof frame, "[\"1\",\"2\",\"t\",\"e\",{\"x\":%s}]", inner);
    phx_msg m = parse_text_ok(PHX_V2, frame);
    phx_msg_free(&m);

    nested_arrays(inner, sizeof inner, PHX_MAX_DEPTH - 1);
    fmt(frame, sizeof frame, "[\"1\",\"2\",\"t\",\"e\",{\"x\":%s}]", inner);
    text_fails(PHX_V2, frame, "nesting too deep");
}

static void invalid_json_is_refused(void **state)
{
    (void)state;
    text_fails(PHX_V2, "", "invalid JSON");
    text_fails(PHX_V2, "[\"1\",\"2\",\"t\",\"e\",{}", "invalid JSON");
    text_fails(PHX_V2, "[\"1\",\"2\",\"t\",\"e\",{},]", "invalid JSON");
    text_fails(PHX_V2, "[\"1\",\"2\",\"t\xff\",\"e\",{}]", "invalid UTF-8");
    /* I-JSON: an integer a double cannot hold exactly is refused, naming where and what to do. */
    text_fails(PHX_V2, "[\"1\",\"2\",\"t\",\"e\",{\"n\":9007199254740992}]",
               "invalid JSON: an integer beyond ±9007199254740991 at byte 22: JSON numbers are "
               "read as doubles, exact only to 2^53-1; send such a value as a string (I-JSON, RFC "
               "7493 §2.2)");
    phx_msg edge = parse_text_ok(PHX_V2, "[\"1\",\"2\",\"t\",\"e\",{\"n\":-9007199254740991}]");
    phx_msg_free(&edge);
    text_fails(PHX_V2, "[\"1\",\"2\",\"t\",\"e\",{}] [\"1\",\"2\",\"t\",\"e\",{}]",
               "one message per frame");
    /* A NUL inside the frame's length is not the end of the frame. */
    static const char with_nul[] = "[\"1\",\"2\",\"t\",\"e\",{}]\0garbage";
    parse_fails(PHX_V2, false, with_nul, sizeof with_nul - 1, "JSON");

    phx_msg m = parse_text_ok(PHX_V2, " [\"1\",\"2\",\"t\",\"e\",{}]\r\n");
    phx_msg_free(&m);
}

/* ---- binary frames (2.0.0) -------------------------------------------------------------- */

static void binary_json_push_from_realtime_js_parses(void **state)
{
    (void)state;
    phx_msg m = parse_ok(PHX_V2, true, push_json, sizeof push_json);
    assert_true(m.binary);
    assert_string_equal(m.join_ref, "1");
    assert_string_equal(m.ref, "2");
    assert_true(m.has_join_ref && m.has_ref);
    assert_string_equal(m.topic, "realtime:room");
    assert_string_equal(m.event, "broadcast");
    assert_json(m.payload, "{\"type\":\"broadcast\",\"event\":\"msg\",\"payload\":{\"a\":1}}");
    assert_null(m.raw);
    phx_msg_free(&m);
}

/* The metadata ({"persist":true}) is skipped; UTF-8 in the payload survives. */
static void binary_push_metadata_is_skipped(void **state)
{
    (void)state;
    phx_msg m = parse_ok(PHX_V2, true, push_json_persist, sizeof push_json_persist);
    assert_string_equal(m.ref, "3");
    assert_json(m.payload,
                "{\"type\":\"broadcast\",\"event\":\"msg\",\"payload\":{\"t\":\"h\xc3\xa9\"}}");
    phx_msg_free(&m);
}

static void binary_push_with_binary_payload_keeps_raw_bytes(void **state)
{
    (void)state;
    static const unsigned char want[] = {0x00, 0x01, 0x02, 0xff};
    phx_msg m = parse_ok(PHX_V2, true, push_binary, sizeof push_binary);
    assert_string_equal(m.join_ref, "4");
    assert_string_equal(m.ref, "5");
    assert_json(m.payload, "{\"type\":\"broadcast\",\"event\":\"blob\"}");
    assert_non_null(m.raw);
    assert_int_equal(m.raw_len, sizeof want);
    assert_memory_equal(m.raw, want, sizeof want);
    phx_msg_free(&m);

    /* An empty binary payload is a payload of 0 bytes, not an error. */
    m = parse_ok(PHX_V2, true, push_binary, sizeof push_binary - 4);
    assert_non_null(m.raw);
    assert_int_equal(m.raw_len, 0);
    phx_msg_free(&m);
}

static void binary_push_empty_refs_are_absent(void **state)
{
    (void)state;
    phx_msg m = parse_ok(PHX_V2, true, push_null_refs, sizeof push_null_refs);
    assert_false(m.has_join_ref);
    assert_false(m.has_ref);
    assert_string_equal(m.join_ref, "");
    assert_string_equal(m.ref, "");
    assert_json(m.payload, "{\"type\":\"broadcast\",\"event\":\"msg\",\"payload\":{}}");
    phx_msg_free(&m);
}

/* Every prefix of a frame is refused: the header promises more than is there, or the JSON
 * payload is cut. */
static void truncated_binary_push_is_refused(void **state)
{
    (void)state;
    for (size_t len = 0; len < sizeof push_json; len++) {
        phx_msg m;
        char err[TT_ERRLEN] = "";
        if (phx_parse(PHX_V2, true, (const char *)push_json, len, &m, err) != TT_EINVAL) {
            fail_msg("a %zu-byte prefix of a %zu-byte push is accepted", len, sizeof push_json);
        }
        assert_null(m.payload);
    }
    parse_fails(PHX_V2, true, push_json, 6, BAD_BINARY);
    parse_fails(PHX_V2, true, push_json, 7, "shorter than its header says");
    parse_fails(PHX_V2, true, push_json, 24, "shorter than its header says"); /* event cut */
    parse_fails(PHX_V2, true, push_json, 25, "not valid JSON");               /* no payload */
}

/* Only kind 3 comes from clients: kind 4 is what the server sends, the rest are unknown. */
static void other_binary_kinds_are_refused(void **state)
{
    (void)state;
    static const unsigned char kinds[] = {0, 1, 2, 4, 5, 0x33, 0xff};
    unsigned char frame[sizeof push_json];
    for (size_t i = 0; i < sizeof kinds; i++) {
        memcpy(frame, push_json, sizeof frame);
        frame[0] = kinds[i];
        parse_fails(PHX_V2, true, frame, sizeof frame, BAD_BINARY);
    }
    parse_fails(PHX_V2, true, user_broadcast_room_evt, sizeof user_broadcast_room_evt, BAD_BINARY);
}

static void unknown_payload_encoding_is_refused(void **state)
{
    (void)state;
    unsigned char frame[sizeof push_json];
    memcpy(frame, push_json, sizeof frame);
    frame[6] = 2;
    parse_fails(PHX_V2, true, frame, sizeof frame, "unknown payload encoding 2");
    frame[6] = 0xff;
    parse_fails(PHX_V2, true, frame, sizeof frame, "unknown payload encoding 255");
}

static void binary_frames_need_v2(void **state)
{
    (void)state;
    parse_fails(PHX_V1, true, push_json, sizeof push_json, "binary frames need vsn 2.0.0");
}

/* Binary fields are text: UTF-8 without control characters; topic and event non-empty. */
static void binary_fields_must_be_printable_utf8(void **state)
{
    (void)state;
    unsigned char frame[sizeof push_json];
    static const struct {
        size_t at;
        unsigned char byte;
        const char *field;
    } cases[] = {
        {7, 0x00, "join_ref"}, {8, 0x0a, "ref"},    {9, 0xff, "topic"},
        {21, 0x7f, "topic"},   {22, 0xc3, "event"}, {23, 0x80, "event"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(frame, push_json, sizeof frame);
        frame[cases[i].at] = cases[i].byte;
        parse_fails(PHX_V2, true, frame, sizeof frame, cases[i].field);
    }
    /* A topic of length 0: the frame is shifted so the remaining bytes still line up. */
    static const unsigned char no_topic[] = {0x03, 0x00, 0x00, 0x00, 0x01,
                                             0x00, 0x01, 'e',  '{',  '}'};
    parse_fails(PHX_V2, true, no_topic, sizeof no_topic, "'topic' must be non-empty");
    static const unsigned char no_event[] = {0x03, 0x00, 0x00, 0x01, 0x00,
                                             0x00, 0x01, 't',  '{',  '}'};
    parse_fails(PHX_V2, true, no_event, sizeof no_event, "'event' must be non-empty");
}

/* Fields of the maximum 255 bytes each, as a u8 length allows. */
static void binary_fields_of_255_bytes_parse(void **state)
{
    (void)state;
    size_t n = 7 + 4 * 255 + 2;
    unsigned char *frame = malloc(n);
    assert_non_null(frame);
    memcpy(frame, (unsigned char[]){3, 255, 255, 255, 255, 0, 1}, 7);
    memset(frame + 7, 'f', 4 * 255);
    memcpy(frame + 7 + 4 * 255, "{}", 2);
    phx_msg m = parse_ok(PHX_V2, true, frame, n);
    assert_int_equal(strlen(m.topic), 255);
    assert_int_equal(strlen(m.join_ref), 255);
    assert_string_equal(cJSON_GetObjectItem(m.payload, "event")->valuestring, repeat('f', 255));
    phx_msg_free(&m);
    free(frame);
}

static void binary_json_payload_must_be_valid_and_shallow(void **state)
{
    (void)state;
    unsigned char frame[512];
    memcpy(frame, push_null_refs, sizeof push_null_refs - 2); /* header, topic, event */
    size_t head = sizeof push_null_refs - 2;

    memcpy(frame + head, "{\"a\":", 5);
    parse_fails(PHX_V2, true, frame, head + 5, "not valid JSON");
    memcpy(frame + head, "{} x", 4);
    parse_fails(PHX_V2, true, frame, head + 4, "not valid JSON");

    /* The user's JSON may be any value, as JSON.stringify(payload) can be. */
    memcpy(frame + head, "\"hi\"", 4);
    phx_msg m = parse_ok(PHX_V2, true, frame, head + 4);
    assert_json(m.payload, "{\"type\":\"broadcast\",\"event\":\"msg\",\"payload\":\"hi\"}");
    phx_msg_free(&m);

    nested_arrays((char *)frame + head, sizeof frame - head, PHX_MAX_DEPTH + 1);
    parse_fails(PHX_V2, true, frame, strlen((char *)frame + head) + head, "not valid JSON");

    memcpy(frame + head, "[1,-9007199254740993]", 21);
    parse_fails(PHX_V2, true, frame, head + 21,
                "binary push: the JSON payload holds an integer beyond ±9007199254740991 at "
                "byte 3: JSON numbers are read as doubles");
}

/* ---- rendering -------------------------------------------------------------------------- */

static void render_v2_matches_realtime_js(void **state)
{
    (void)state;
    size_t len = 0;
    char *s = phx_render(PHX_V2, "1", "1", "realtime:room", "phx_join",
                         "{\"config\":{\"broadcast\":{\"self\":false}}}", &len);
    assert_non_null(s);
    assert_string_equal(s, text_join);
    assert_int_equal(len, strlen(text_join));
    free(s);
    s = phx_render(PHX_V2, NULL, "7", "phoenix", "heartbeat", "{}", &len);
    assert_string_equal(s, text_heartbeat);
    free(s);
}

static void render_v1_is_an_object(void **state)
{
    (void)state;
    size_t len = 0;
    char *s = phx_render(PHX_V1, NULL, NULL, "realtime:x", "phx_reply",
                         "{\"status\":\"ok\",\"response\":{}}", &len);
    assert_string_equal(s,
                        "{\"join_ref\":null,\"ref\":null,\"topic\":\"realtime:x\","
                        "\"event\":\"phx_reply\",\"payload\":{\"status\":\"ok\",\"response\":{}}}");
    assert_int_equal(len, strlen(s));
    free(s);
}

/* What is rendered parses back to the same message, in both shapes, with JSON escapes. */
static void render_then_parse_round_trips(void **state)
{
    (void)state;
    static const char topic[] = "realtime:\"quoted\" \\ h\xc3\xa9 \xf0\x9f\x93\x88";
    for (phx_vsn vsn = PHX_V1; vsn <= PHX_V2; vsn++) {
        size_t len = 0;
        char *s =
            phx_render(vsn, "3", NULL, topic, "broadcast",
                       "{\"type\":\"broadcast\",\"event\":\"e\",\"payload\":[1,\"x\"]}", &len);
        assert_non_null(s);
        phx_msg m = parse_ok(vsn, false, s, len);
        assert_string_equal(m.join_ref, "3");
        assert_true(m.has_join_ref);
        assert_false(m.has_ref);
        assert_string_equal(m.topic, topic);
        assert_string_equal(m.event, "broadcast");
        assert_json(m.payload, "{\"type\":\"broadcast\",\"event\":\"e\",\"payload\":[1,\"x\"]}");
        phx_msg_free(&m);
        free(s);
    }
}

/* The kind-4 layout realtime-js decodes: kind, topic/event/meta lengths, encoding 0. */
static void render_user_broadcast_matches_realtime_js(void **state)
{
    (void)state;
    static const unsigned char payload[] = {9, 8};
    size_t len = 0;
    unsigned char *b = phx_render_user_broadcast("room", "evt", payload, sizeof payload, &len);
    assert_non_null(b);
    assert_int_equal(len, sizeof user_broadcast_room_evt);
    assert_memory_equal(b, user_broadcast_room_evt, len);
    free(b);
}

static void render_user_broadcast_with_empty_payload(void **state)
{
    (void)state;
    static const unsigned char none[1];
    size_t len = 0;
    unsigned char *b = phx_render_user_broadcast("t", "e", none, 0, &len);
    assert_non_null(b);
    assert_int_equal(len, 7);
    assert_memory_equal(b, ((unsigned char[]){4, 1, 1, 0, 0, 't', 'e'}), 7);
    free(b);
}

static void render_user_broadcast_refuses_fields_over_255_bytes(void **state)
{
    (void)state;
    char f255[256], f256[257];
    fmt(f255, sizeof f255, "%s", repeat('x', 255));
    fmt(f256, sizeof f256, "%s", repeat('x', 256));
    size_t len = 0;
    unsigned char *b = phx_render_user_broadcast(f255, f255, (const unsigned char *)"p", 1, &len);
    assert_non_null(b);
    assert_int_equal(len, 5 + 255 + 255 + 1);
    assert_int_equal(b[1], 255);
    assert_int_equal(b[2], 255);
    assert_int_equal(b[len - 1], 'p');
    free(b);
    assert_null(phx_render_user_broadcast(f256, "e", (const unsigned char *)"p", 1, &len));
    assert_null(phx_render_user_broadcast("t", f256, (const unsigned char *)"p", 1, &len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(v2_join_from_realtime_js_parses),
        cmocka_unit_test(v2_null_join_ref_is_absent),
        cmocka_unit_test(v1_object_parses_in_any_key_order),
        cmocka_unit_test(each_version_refuses_the_other_shape),
        cmocka_unit_test(v2_array_must_have_five_elements),
        cmocka_unit_test(topic_and_event_must_be_non_empty_strings),
        cmocka_unit_test(refs_are_strings_integers_or_null),
        cmocka_unit_test(payload_must_be_an_object),
        cmocka_unit_test(fields_of_256_bytes_are_refused),
        cmocka_unit_test(nesting_beyond_max_depth_is_refused),
        cmocka_unit_test(invalid_json_is_refused),
        cmocka_unit_test(binary_json_push_from_realtime_js_parses),
        cmocka_unit_test(binary_push_metadata_is_skipped),
        cmocka_unit_test(binary_push_with_binary_payload_keeps_raw_bytes),
        cmocka_unit_test(binary_push_empty_refs_are_absent),
        cmocka_unit_test(truncated_binary_push_is_refused),
        cmocka_unit_test(other_binary_kinds_are_refused),
        cmocka_unit_test(unknown_payload_encoding_is_refused),
        cmocka_unit_test(binary_frames_need_v2),
        cmocka_unit_test(binary_fields_must_be_printable_utf8),
        cmocka_unit_test(binary_fields_of_255_bytes_parse),
        cmocka_unit_test(binary_json_payload_must_be_valid_and_shallow),
        cmocka_unit_test(render_v2_matches_realtime_js),
        cmocka_unit_test(render_v1_is_an_object),
        cmocka_unit_test(render_then_parse_round_trips),
        cmocka_unit_test(render_user_broadcast_matches_realtime_js),
        cmocka_unit_test(render_user_broadcast_with_empty_payload),
        cmocka_unit_test(render_user_broadcast_refuses_fields_over_255_bytes),
    };
    return cmocka_run_group_tests_name("phoenix", tests, NULL, NULL);
}
