/* test_otlp.c -- OTLP bodies to events (DESIGN §2 "Events from OpenTelemetry"): the JSON mapping
 * and protobuf decoded to the same events, spans read by the GenAI and MCP conventions, logs and
 * metric points, the limits and what partial_success says of them, refusals, and the answers. */
#include "otlp/otlp.h"

#include "core/event_json.h"
#include "otlp.pb-c.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW INT64_C(1764340303123)
#define START "1764340300000000000"
#define TRACE "5b8efff798038103d269b633813fc60c"
#define SPAN "eee19b7ec3c1b174"
#define PARENT "eee19b7ec3c1b173"

/* ---- helpers ---------------------------------------------------------------------------- */

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    int n = vasprintf(&s, f, ap);
    va_end(ap);
    assert_true(n >= 0);
    return s;
}

/* Decodes and maps a body; asserts both succeed. */
static otlp_result map_body(otlp_signal sig, otlp_encoding enc, const void *body, size_t len)
{
    ProtobufCMessage *m = NULL;
    char err[TT_ERRLEN] = "";
    otlp_result res;
    int rc = otlp_decode(sig, enc, body, len, &m, err);
    if (rc != 0) {
        fail_msg("decode: %s", err);
    }
    assert_int_equal(otlp_to_events(sig, m, NOW, 100, &res), 0);
    otlp_message_free(m);
    return res;
}

static otlp_result map_json(otlp_signal sig, const char *json)
{
    return map_body(sig, OTLP_JSON, json, strlen(json));
}

static int decode_error(otlp_signal sig, otlp_encoding enc, const void *body, size_t len,
                        char err[TT_ERRLEN])
{
    ProtobufCMessage *m = NULL;
    int rc = otlp_decode(sig, enc, body, len, &m, err);
    assert_null(m);
    return rc;
}

static cJSON *attrs_of(const tt_event *ev)
{
    cJSON *a = cJSON_Parse(ev->attrs);
    assert_non_null(a);
    return a;
}

static const char *span_json =
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
    "\"value\":{\"stringValue\":\"weather-mcp\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"sc\"},"
    "\"spans\":[{\"traceId\":\"5B8EFFF798038103D269B633813FC60C\",\"spanId\":\"" SPAN "\","
    "\"parentSpanId\":\"" PARENT "\",\"name\":\"tools/call get_weather\",\"kind\":2,"
    "\"startTimeUnixNano\":\"" START "\",\"endTimeUnixNano\":1764340300250000000,"
    "\"unknownField\":{\"x\":[1,2]},"
    "\"attributes\":[{\"key\":\"mcp.method.name\",\"value\":{\"stringValue\":\"tools/call\"}},"
    "{\"key\":\"gen_ai.tool.name\",\"value\":{\"stringValue\":\"get_weather\"}},"
    "{\"key\":\"mcp.session.id\",\"value\":{\"stringValue\":\"s-1\"}},"
    "{\"key\":\"gen_ai.usage.input_tokens\",\"value\":{\"intValue\":\"42\"}},"
    "{\"key\":\"http.response.body.size\",\"value\":{\"intValue\":512}},"
    "{\"key\":\"tags\",\"value\":{\"arrayValue\":{\"values\":[{\"boolValue\":true},"
    "{\"doubleValue\":1.5}]}}}],"
    "\"status\":{\"code\":2,\"message\":\"upstream timed out\"}}]}]}]}";

static void check_tool_span(const tt_event *ev)
{
    assert_string_equal(ev->id, TRACE SPAN);
    assert_string_equal(ev->type, "tool_call");
    assert_string_equal(ev->name, "get_weather");
    assert_string_equal(ev->session_id, "s-1");
    assert_string_equal(ev->source, "weather-mcp");
    assert_string_equal(ev->status, "error");
    assert_string_equal(ev->error, "upstream timed out");
    assert_true(ev->ts_ms == INT64_C(1764340300000));
    assert_true(ev->received_ms == NOW);
    assert_true(ev->has & EVENT_HAS_DURATION);
    /* The end time came as a JSON number: a double, exact to 2^53 ns, so within 256 ns. */
    assert_true(ev->duration_ms > 249.999 && ev->duration_ms < 250.001);
    assert_true((ev->has & EVENT_HAS_BYTES) && ev->bytes == 512);
    cJSON *a = attrs_of(ev);
    assert_string_equal(cJSON_GetObjectItem(a, "trace_id")->valuestring, TRACE);
    assert_string_equal(cJSON_GetObjectItem(a, "span_id")->valuestring, SPAN);
    assert_string_equal(cJSON_GetObjectItem(a, "parent_span_id")->valuestring, PARENT);
    assert_string_equal(cJSON_GetObjectItem(a, "span.kind")->valuestring, "server");
    assert_true(cJSON_GetObjectItem(a, "gen_ai.usage.input_tokens")->valuedouble == 42);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(a, "tags")), 2);
    cJSON *res = cJSON_GetObjectItem(a, "resource");
    assert_string_equal(cJSON_GetObjectItem(res, "service.name")->valuestring, "weather-mcp");
    cJSON_Delete(a);
}

/* ---- traces ------------------------------------------------------------------------------ */

static void json_span_maps_by_the_conventions(void **state)
{
    (void)state;
    otlp_result res = map_json(OTLP_TRACES, span_json);
    assert_int_equal(res.batch.count, 1);
    assert_int_equal(res.items, 1);
    assert_int_equal(res.rejected, 0);
    assert_string_equal(res.message, "");
    check_tool_span(res.batch.events[0]);
    event_batch_free(&res.batch);
}

/* The same span, as the binary encoding carries it: the same event. */
static void protobuf_span_maps_like_json(void **state)
{
    (void)state;
    ProtobufCMessage *m = NULL;
    char err[TT_ERRLEN];
    assert_int_equal(
        otlp_decode(OTLP_TRACES, OTLP_JSON, (const uint8_t *)span_json, strlen(span_json), &m, err),
        0);
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *bin = malloc(len);
    protobuf_c_message_pack(m, bin);
    otlp_message_free(m);
    otlp_result res = map_body(OTLP_TRACES, OTLP_PROTOBUF, bin, len);
    free(bin);
    assert_int_equal(res.batch.count, 1);
    check_tool_span(res.batch.events[0]);
    event_batch_free(&res.batch);
}

static void span_type_and_name_follow_the_operation(void **state)
{
    (void)state;
    static const struct {
        const char *attrs, *type, *name;
    } cases[] = {
        {"{\"key\":\"gen_ai.operation.name\",\"value\":{\"stringValue\":\"execute_tool\"}}",
         "tool_call", "plain"},
        {"{\"key\":\"mcp.method.name\",\"value\":{\"stringValue\":\"initialize\"}}",
         "session_start", "initialize"},
        {"{\"key\":\"mcp.method.name\",\"value\":{\"stringValue\":\"prompts/get\"}},"
         "{\"key\":\"gen_ai.prompt.name\",\"value\":{\"stringValue\":\"summary\"}}",
         "request", "summary"},
        {"{\"key\":\"gen_ai.conversation.id\",\"value\":{\"stringValue\":\"conv-9\"}}", "request",
         "plain"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *body =
            fmt("{\"resource_spans\":[{\"scope_spans\":[{\"spans\":[{\"trace_id\":\"" TRACE
                "\",\"span_id\":\"" SPAN "\",\"name\":\"plain\",\"attributes\":[%s]}]}]}]}",
                cases[i].attrs);
        otlp_result res = map_json(OTLP_TRACES, body);
        assert_int_equal(res.batch.count, 1);
        const tt_event *ev = res.batch.events[0];
        assert_string_equal(ev->type, cases[i].type);
        assert_string_equal(ev->name, cases[i].name);
        assert_string_equal(ev->source, "otlp");
        assert_string_equal(ev->status, "ok");
        assert_true(ev->ts_ms == NOW); /* no start time: received time */
        assert_false(ev->has & EVENT_HAS_DURATION);
        if (i == 3) {
            assert_string_equal(ev->session_id, "conv-9");
        }
        event_batch_free(&res.batch);
        free(body);
    }
}

static void error_type_alone_marks_an_error(void **state)
{
    (void)state;
    otlp_result res = map_json(
        OTLP_TRACES,
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"" TRACE
        "\",\"spanId\":\"" SPAN "\",\"name\":\"x\",\"attributes\":[{\"key\":\"error.type\","
        "\"value\":{\"stringValue\":\"timeout\"}}]}]}]}]}");
    assert_string_equal(res.batch.events[0]->status, "error");
    assert_string_equal(res.batch.events[0]->error, "timeout");
    event_batch_free(&res.batch);
}

static void spans_without_valid_ids_are_rejected_the_rest_kept(void **state)
{
    (void)state;
    otlp_result res = map_json(OTLP_TRACES, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":["
                                            "{\"traceId\":\"" TRACE "\",\"spanId\":\"" SPAN "\"},"
                                            "{\"traceId\":\"" TRACE "\",\"spanId\":\"abcd\"},"
                                            "{\"spanId\":\"" SPAN "\"}]}]}]}");
    assert_int_equal(res.items, 3);
    assert_int_equal(res.batch.count, 1);
    assert_int_equal(res.rejected, 2);
    assert_non_null(strstr(res.message, "span_id"));
    event_batch_free(&res.batch);
}

static void items_past_max_events_are_rejected(void **state)
{
    (void)state;
    ProtobufCMessage *m = NULL;
    char err[TT_ERRLEN];
    const char *body = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":["
                       "{\"traceId\":\"" TRACE "\",\"spanId\":\"0000000000000001\"},"
                       "{\"traceId\":\"" TRACE "\",\"spanId\":\"0000000000000002\"},"
                       "{\"traceId\":\"" TRACE "\",\"spanId\":\"0000000000000003\"}]}]}]}";
    assert_int_equal(
        otlp_decode(OTLP_TRACES, OTLP_JSON, (const uint8_t *)body, strlen(body), &m, err), 0);
    otlp_result res;
    assert_int_equal(otlp_to_events(OTLP_TRACES, m, NOW, 2, &res), 0);
    otlp_message_free(m);
    assert_int_equal(res.batch.count, 2);
    assert_int_equal(res.rejected, 1);
    assert_non_null(strstr(res.message, "TELLTALE_MAX_EVENTS"));
    event_batch_free(&res.batch);
}

/* ---- limits -------------------------------------------------------------------------------- */

static void attributes_are_kept_within_limits_and_the_cut_reported(void **state)
{
    (void)state;
    size_t cap = 1 << 20, len = 0;
    char *body = malloc(cap);
    len += (size_t)snprintf(body, cap,
                            "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"" TRACE
                            "\",\"spanId\":\"" SPAN "\",\"attributes\":[");
    for (int i = 0; i < 100; i++) { /* 100 attributes, the first a 3000-byte "é..." string */
        len +=
            (size_t)snprintf(body + len, cap - len,
                             "%s{\"key\":\"k%d\",\"value\":{\"stringValue\":\"", i ? "," : "", i);
        for (int j = 0; j < (i == 0 ? 1500 : 300); j++) {
            len += (size_t)snprintf(body + len, cap - len, "\xc3\xa9");
        }
        len += (size_t)snprintf(body + len, cap - len, "\"}}");
    }
    len += (size_t)snprintf(body + len, cap - len, "]}]}]}]}");
    otlp_result res = map_body(OTLP_TRACES, OTLP_JSON, body, len);
    free(body);
    assert_int_equal(res.batch.count, 1);
    assert_int_equal(res.rejected, 0);
    assert_int_equal(res.truncated, 1);
    assert_non_null(strstr(res.message, "attributes cut"));
    const tt_event *ev = res.batch.events[0];
    assert_true(strlen(ev->attrs) <= EVENT_ATTRS_MAX_BYTES);
    cJSON *a = attrs_of(ev);
    assert_int_equal(strlen(cJSON_GetObjectItem(a, "k0")->valuestring), 1024); /* 512 "é" */
    assert_true(cJSON_GetArraySize(a) <= OTLP_MAX_ATTRS + 6);
    cJSON_Delete(a);
    event_batch_free(&res.batch);
}

/* AnyValue may nest without end: beyond attrs' depth it is written null. */
static void deep_values_are_cut_at_the_attrs_depth(void **state)
{
    (void)state;
    char *value = strdup("{\"stringValue\":\"leaf\"}");
    for (int i = 0; i < 12; i++) {
        char *outer = fmt("{\"arrayValue\":{\"values\":[%s]}}", value);
        free(value);
        value = outer;
    }
    char *body =
        fmt("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"" TRACE
            "\",\"spanId\":\"" SPAN "\",\"attributes\":[{\"key\":\"deep\",\"value\":%s}]}]}]}]}",
            value);
    otlp_result res = map_json(OTLP_TRACES, body);
    assert_int_equal(res.truncated, 1);
    assert_non_null(strstr(res.batch.events[0]->attrs, "null"));
    assert_null(strstr(res.batch.events[0]->attrs, "leaf"));
    event_batch_free(&res.batch);
    free(body);
    free(value);
}

/* A span attribute nested k arrays deep, as an event accepted by the ingest rules. */
static bool nested_keeps_leaf(int k)
{
    char *value = strdup("{\"stringValue\":\"leaf\"}");
    for (int i = 0; i < k; i++) {
        char *outer = fmt("{\"arrayValue\":{\"values\":[%s]}}", value);
        free(value);
        value = outer;
    }
    char *body =
        fmt("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"" TRACE
            "\",\"spanId\":\"" SPAN "\",\"attributes\":[{\"key\":\"d\",\"value\":%s}]}]}]}]}",
            value);
    otlp_result res = map_json(OTLP_TRACES, body);
    bool kept = strstr(res.batch.events[0]->attrs, "leaf") != NULL;
    json_writer w = {0};
    event_write_json(&w, res.batch.events[0], EVENT_JSON_AS_SENT);
    event_batch again = {0};
    ingest_error err;
    assert_int_equal(ingest_parse(w.out.buf, w.out.len, INGEST_JSON, NOW, 1, &again, &err), 0);
    event_batch_free(&again);
    free(w.out.buf);
    event_batch_free(&res.batch);
    free(body);
    free(value);
    return kept;
}

/* attrs nest at most 8 levels (attrs itself is the first): 7 arrays inside it are kept, an
 * 8th is written null -- and either way the event passes the ingest rules. */
static void nesting_is_cut_exactly_at_the_attrs_limit(void **state)
{
    (void)state;
    assert_true(nested_keeps_leaf(7));
    assert_false(nested_keeps_leaf(8));
}

/* ---- refusals ------------------------------------------------------------------------------ */

static void bad_json_bodies_are_refused_with_a_reason(void **state)
{
    (void)state;
    static const struct {
        const char *body, *why;
    } cases[] = {
        {"[1]", "a JSON object"},
        {"{\"resourceSpans\":", "invalid JSON"},
        {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"xyz\"}]}]}]}", "hex"},
        {"{\"resourceSpans\":{}}", "an array"},
        {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"kind\":\"x\"}]}]}]}", "enum"},
        {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"startTimeUnixNano\":\"-1\"}]}]}]}",
         "unsigned"},
        {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"a\",\"name\":\"b\"}]}]}]}",
         "twice"},
        /* A field twice whatever its first value or spelling (the first check missed these). */
        {"{\"resourceSpans\":[],\"resourceSpans\":[{\"scopeSpans\":[]}]}",
         "field 'resource_spans' appears twice"},
        {"{\"resourceSpans\":[],\"resource_spans\":[]}", "field 'resource_spans' appears twice"},
        {"{\"resourceSpans\":null,\"resourceSpans\":[]}", "field 'resource_spans' appears twice"},
        {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"kind\":1,\"kind\":2}]}]}]}",
         "field 'kind' appears twice"},
        {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":[{\"key\":\"k\","
         "\"value\":{\"stringValue\":\"a\",\"intValue\":1}}]}]}]}]}",
         "oneof"},
        {"{\"a\":\"\xff\"}", "UTF-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[TT_ERRLEN] = "";
        assert_int_equal(
            decode_error(OTLP_TRACES, OTLP_JSON, cases[i].body, strlen(cases[i].body), err),
            TT_EINVAL);
        if (strstr(err, cases[i].why) == NULL) {
            fail_msg("case %zu: '%s' does not say '%s'", i, err, cases[i].why);
        }
    }
}

/* buf becomes one length-delimited field 'tag' holding what buf held. */
static void wrap(uint8_t *buf, size_t *len, uint8_t *tmp, uint8_t tag)
{
    size_t n = 0, l = *len;
    tmp[n++] = tag;
    do {
        tmp[n++] = (uint8_t)((l & 0x7f) | (l > 0x7f ? 0x80 : 0));
        l >>= 7;
    } while (l > 0);
    memcpy(tmp + n, buf, *len);
    *len += n;
    memcpy(buf, tmp, *len);
}

static void bad_and_too_deep_protobuf_is_refused(void **state)
{
    (void)state;
    char err[TT_ERRLEN];
    const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0x01};
    assert_int_equal(decode_error(OTLP_LOGS, OTLP_PROTOBUF, garbage, sizeof garbage, err),
                     TT_EINVAL);
    assert_non_null(strstr(err, "ExportLogsServiceRequest"));
    /* A span whose name is not UTF-8: refused, as an official proto3 parser refuses it. */
    Otlp__Span span = OTLP__SPAN__INIT, *spans[] = {&span};
    Otlp__ScopeSpans ss = OTLP__SCOPE_SPANS__INIT, *sss[] = {&ss};
    Otlp__ResourceSpans rs = OTLP__RESOURCE_SPANS__INIT, *rss[] = {&rs};
    Otlp__ExportTraceServiceRequest req = OTLP__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    span.name = "caf\xc3";
    ss.n_spans = 1, ss.spans = spans;
    rs.n_scope_spans = 1, rs.scope_spans = sss;
    req.n_resource_spans = 1, req.resource_spans = rss;
    uint8_t packed[128];
    size_t plen = otlp__export_trace_service_request__pack(&req, packed);
    assert_int_equal(decode_error(OTLP_TRACES, OTLP_PROTOBUF, packed, plen, err), TT_EINVAL);
    assert_string_equal(err, "field 'name' is not valid UTF-8");
    /* Request{resource_spans{scope_spans{spans{attributes{value: AnyValue{array_value{values:
     * AnyValue{...}}}}}}}}, 3000 AnyValue/ArrayValue levels, built from the inside out. */
    size_t cap = 64 * 1024, len = 0;
    uint8_t *buf = malloc(cap), *tmp = malloc(cap);
    for (int i = 0; i < 3005; i++) {
        static const uint8_t outer[] = {0x12, 0x4a, 0x12, 0x12, 0x0a};
        uint8_t tag = i < 3000 ? (i % 2 == 0 ? 0x0a : 0x2a) : outer[i - 3000];
        wrap(buf, &len, tmp, tag);
    }
    assert_int_equal(decode_error(OTLP_TRACES, OTLP_PROTOBUF, buf, len, err), TT_EINVAL);
    assert_non_null(strstr(err, "nest deeper"));
    free(buf);
    free(tmp);
}

/* ---- logs and metrics -------------------------------------------------------------------- */

static const char *logs_json =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
    "{\"stringValue\":\"api\"}}]},\"scopeLogs\":[{\"scope\":{\"name\":\"app\"},\"logRecords\":["
    "{\"timeUnixNano\":\"" START "\",\"severityNumber\":17,\"severityText\":\"ERROR\","
    "\"body\":{\"stringValue\":\"disk full\"},\"traceId\":\"" TRACE "\",\"spanId\":\"" SPAN "\","
    "\"attributes\":[{\"key\":\"mcp.session.id\",\"value\":{\"stringValue\":\"s-2\"}}]},"
    "{\"observedTimeUnixNano\":\"" START "\",\"severityNumber\":9,\"eventName\":\"login\","
    "\"body\":{\"kvlistValue\":{\"values\":[{\"key\":\"user\",\"value\":{\"stringValue\":\"ann\"}}]"
    "}}}"
    "]}]}]}";

static void log_records_become_log_events_with_severity(void **state)
{
    (void)state;
    otlp_result res = map_json(OTLP_LOGS, logs_json);
    assert_int_equal(res.batch.count, 2);
    const tt_event *err = res.batch.events[0], *info = res.batch.events[1];
    assert_string_equal(err->type, "log");
    assert_string_equal(err->status, "error");
    assert_string_equal(err->error, "disk full");
    assert_string_equal(err->session_id, "s-2");
    assert_string_equal(err->source, "api");
    assert_string_equal(err->name, "app");
    assert_true(err->ts_ms == INT64_C(1764340300000));
    assert_int_equal(err->id[0], 'l');
    assert_int_equal(strlen(err->id), 49);
    cJSON *a = attrs_of(err);
    assert_string_equal(cJSON_GetObjectItem(a, "trace_id")->valuestring, TRACE);
    assert_true(cJSON_GetObjectItem(a, "severity_number")->valuedouble == 17);
    cJSON_Delete(a);
    assert_string_equal(info->status, "info");
    assert_string_equal(info->name, "login");
    assert_null(info->error);
    assert_true(info->ts_ms == INT64_C(1764340300000)); /* observed time stands in */
    assert_non_null(strstr(info->attrs, "\"body\":{\"user\":\"ann\"}"));
    assert_string_not_equal(err->id, info->id);
    /* The same records again (an exporter's retry): the same ids. */
    otlp_result again = map_json(OTLP_LOGS, logs_json);
    assert_string_equal(again.batch.events[0]->id, err->id);
    assert_string_equal(again.batch.events[1]->id, info->id);
    event_batch_free(&again.batch);
    event_batch_free(&res.batch);
}

static void metric_points_become_metric_events(void **state)
{
    (void)state;
    otlp_result res = map_json(
        OTLP_METRICS,
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":["
        "{\"name\":\"queue\",\"gauge\":{\"dataPoints\":[{\"asInt\":\"7\",\"timeUnixNano\":\"" START
        "\"}]}},"
        "{\"name\":\"requests\",\"unit\":\"1\",\"sum\":{\"aggregationTemporality\":2,"
        "\"isMonotonic\":true,\"dataPoints\":[{\"asDouble\":3.5,\"attributes\":[{\"key\":\"route\","
        "\"value\":{\"stringValue\":\"/x\"}}]}]}},"
        "{\"name\":\"latency\",\"histogram\":{\"dataPoints\":[{\"count\":\"3\",\"sum\":21,"
        "\"bucketCounts\":[\"1\",2,0],\"explicitBounds\":[10,100],\"min\":1,\"max\":15}]}},"
        "{\"name\":\"empty\"}]}]}]}");
    assert_int_equal(res.batch.count, 3);
    assert_int_equal(res.items, 3);
    const tt_event *g = res.batch.events[0], *s = res.batch.events[1], *h = res.batch.events[2];
    assert_string_equal(g->type, "metric");
    assert_string_equal(g->name, "queue");
    assert_true((g->has & EVENT_HAS_VALUE) && g->value == 7);
    assert_true(g->ts_ms == INT64_C(1764340300000));
    assert_int_equal(g->id[0], 'm');
    assert_true(s->value == 3.5);
    assert_non_null(strstr(s->attrs, "\"metric.temporality\":\"cumulative\""));
    assert_non_null(strstr(s->attrs, "\"metric.monotonic\":true"));
    assert_non_null(strstr(s->attrs, "\"route\":\"/x\""));
    assert_true(h->value == 21);
    assert_non_null(strstr(h->attrs, "\"count\":3"));
    assert_non_null(strstr(h->attrs, "\"bucket_counts\":[1,2,0]"));
    assert_non_null(strstr(h->attrs, "\"explicit_bounds\":[10,100]"));
    assert_non_null(strstr(h->attrs, "\"min\":1,\"max\":15"));
    event_batch_free(&res.batch);
}

/* ---- answers and negotiation --------------------------------------------------------------- */

static void responses_carry_partial_success_when_needed(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = otlp_encode_response(OTLP_LOGS, OTLP_JSON, 2, "two refused", &len);
    assert_string_equal((char *)b, "{\"partialSuccess\":{\"rejectedLogRecords\":\"2\","
                                   "\"errorMessage\":\"two refused\"}}");
    free(b);
    b = otlp_encode_response(OTLP_TRACES, OTLP_JSON, 0, "", &len);
    assert_string_equal((char *)b, "{}");
    free(b);
    b = otlp_encode_response(OTLP_METRICS, OTLP_PROTOBUF, 3, "x", &len);
    Otlp__ExportMetricsServiceResponse *r =
        otlp__export_metrics_service_response__unpack(NULL, len, b);
    assert_non_null(r);
    assert_int_equal(r->partial_success->rejected_data_points, 3);
    assert_string_equal(r->partial_success->error_message, "x");
    otlp__export_metrics_service_response__free_unpacked(r, NULL);
    free(b);
    b = otlp_encode_response(OTLP_TRACES, OTLP_PROTOBUF, 0, NULL, &len);
    assert_int_equal(len, 0); /* an empty message */
    free(b);
    b = otlp_encode_status(OTLP_JSON, otlp_rpc_code(429), "slow down", &len);
    assert_string_equal((char *)b, "{\"code\":8,\"message\":\"slow down\"}");
    free(b);
    b = otlp_encode_status(OTLP_PROTOBUF, otlp_rpc_code(400), "bad", &len);
    Otlp__RpcStatus *st = otlp__rpc_status__unpack(NULL, len, b);
    assert_int_equal(st->code, 3);
    assert_string_equal(st->message, "bad");
    otlp__rpc_status__free_unpacked(st, NULL);
    free(b);
    assert_int_equal(otlp_rpc_code(503), 14);
}

static void paths_and_content_types_are_recognised(void **state)
{
    (void)state;
    otlp_signal sig;
    otlp_encoding enc;
    assert_true(otlp_signal_of_path("/v1/metrics", &sig) && sig == OTLP_METRICS);
    assert_false(otlp_signal_of_path("/v1/profiles", &sig));
    assert_true(otlp_encoding_of("Application/JSON; charset=utf-8", &enc) && enc == OTLP_JSON);
    assert_true(otlp_encoding_of("application/x-protobuf", &enc) && enc == OTLP_PROTOBUF);
    assert_false(otlp_encoding_of("application/protobuf", &enc));
    assert_false(otlp_encoding_of("", &enc));
    assert_string_equal(otlp_content_type(OTLP_PROTOBUF), "application/x-protobuf");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_span_maps_by_the_conventions),
        cmocka_unit_test(protobuf_span_maps_like_json),
        cmocka_unit_test(span_type_and_name_follow_the_operation),
        cmocka_unit_test(error_type_alone_marks_an_error),
        cmocka_unit_test(spans_without_valid_ids_are_rejected_the_rest_kept),
        cmocka_unit_test(items_past_max_events_are_rejected),
        cmocka_unit_test(attributes_are_kept_within_limits_and_the_cut_reported),
        cmocka_unit_test(deep_values_are_cut_at_the_attrs_depth),
        cmocka_unit_test(nesting_is_cut_exactly_at_the_attrs_limit),
        cmocka_unit_test(bad_json_bodies_are_refused_with_a_reason),
        cmocka_unit_test(bad_and_too_deep_protobuf_is_refused),
        cmocka_unit_test(log_records_become_log_events_with_severity),
        cmocka_unit_test(metric_points_become_metric_events),
        cmocka_unit_test(responses_carry_partial_success_when_needed),
        cmocka_unit_test(paths_and_content_types_are_recognised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
