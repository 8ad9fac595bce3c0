/* otlp_traces.c -- spans to events (DESIGN §2 "Events from OpenTelemetry"), reading the GenAI
 * and MCP semantic conventions (semantic-conventions-genai v0.1.0, Development): an MCP tools/call
 * or a GenAI execute_tool span is a tool_call named after its tool, in the session its
 * mcp.session.id or gen_ai.conversation.id names. */
#include "otlp/otlp_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRACE_ID_LEN 16
#define SPAN_ID_LEN 8

/* The event type of a span: what the operation is, by the conventions. */
static const char *span_type(const char *method, const char *operation)
{
    if ((method != NULL && strcmp(method, "tools/call") == 0) ||
        (operation != NULL && strcmp(operation, "execute_tool") == 0)) {
        return "tool_call";
    }
    if (method != NULL && strcmp(method, "initialize") == 0) {
        return "session_start"; /* the MCP request that opens a session */
    }
    return "request";
}

static const char *kind_name(Otlp__Span__SpanKind k)
{
    static const char *const names[] = {"unspecified", "internal", "server",
                                        "client",      "producer", "consumer"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "unspecified";
}

/* The strings one span's event points at, with the room to cut them to their limits. */
typedef struct span_texts {
    char id[EVENT_ID_MAX + 1];
    char trace[2 * TRACE_ID_LEN + 1], span[2 * SPAN_ID_LEN + 1], parent[2 * SPAN_ID_LEN + 1];
    char session[EVENT_SESSION_MAX + 1], name[EVENT_NAME_MAX + 1], error[EVENT_ERROR_MAX + 1];
    char source[EVENT_SOURCE_MAX + 1];
} span_texts;

static void span_status(const Otlp__Span *s, tt_event *ev, span_texts *t, bool *cut)
{
    const char *error_type = otlp_attr_string(s->attributes, s->n_attributes, "error.type");
    const Otlp__SpanStatus *st = s->status;
    bool failed = (st != NULL && st->code == OTLP__SPAN_STATUS__STATUS_CODE__STATUS_CODE_ERROR) ||
                  error_type != NULL;
    ev->status = failed ? "error" : "ok";
    if (failed) {
        const char *why = st != NULL && st->message[0] != '\0' ? st->message : error_type;
        ev->error = otlp_fit(t->error, sizeof t->error, why, cut);
    }
}

static void span_attrs(otlp_attrs *a, const Otlp__Span *s, const Otlp__Resource *r,
                       const Otlp__InstrumentationScope *scope, const span_texts *t)
{
    otlp_attrs_string(a, "trace_id", t->trace);
    otlp_attrs_string(a, "span_id", t->span);
    otlp_attrs_string(a, "parent_span_id", t->parent[0] != '\0' ? t->parent : NULL);
    otlp_attrs_string(a, "span.name", s->name);
    otlp_attrs_string(a, "span.kind", kind_name(s->kind));
    if (scope != NULL && scope->name[0] != '\0') {
        otlp_attrs_string(a, "otel.scope.name", scope->name);
    }
    otlp_attrs_add(a, s->attributes, s->n_attributes);
    if (r != NULL) {
        otlp_attrs_add_object(a, "resource", r->attributes, r->n_attributes);
    }
    a->truncated |= s->dropped_attributes_count > 0;
}

/* One span to one event; false with 'why' when the span cannot be one (its ids). */
/* `bytes` from the body sizes of HTTP semantic conventions (http.request.body.size,
 * http.response.body.size; -1 for absent or negative ones): their sum, when one is given and
 * both and the sum lie within 0..EVENT_BYTES_MAX (DESIGN §2: an event must read back under the
 * ingest rules). Sizes beyond it leave `bytes` out, the span counted as cut (partial_success);
 * the attributes keep what was sent. False when there is no `bytes`. */
static bool body_bytes(int64_t req, int64_t resp, int64_t *out, bool *cut)
{
    if (req < 0 && resp < 0) {
        return false;
    }
    int64_t a = req > 0 ? req : 0, b = resp > 0 ? resp : 0;
    if (a > EVENT_BYTES_MAX || b > EVENT_BYTES_MAX - a) {
        *cut = true;
        return false;
    }
    *out = a + b;
    return true;
}

static int map_span(const Otlp__Span *s, const Otlp__Resource *r,
                    const Otlp__InstrumentationScope *scope, int64_t now_ms, otlp_result *res,
                    size_t *cap, const char **why)
{
    span_texts t;
    tt_event ev = {0};
    bool cut = false;
    if (s->trace_id.len != TRACE_ID_LEN || s->span_id.len != SPAN_ID_LEN ||
        (s->parent_span_id.len != 0 && s->parent_span_id.len != SPAN_ID_LEN)) {
        *why = "a span needs a 16-byte trace_id and an 8-byte span_id (parent_span_id: 8 or none)";
        return TT_EINVAL;
    }
    otlp_hex(t.trace, s->trace_id.data, TRACE_ID_LEN);
    otlp_hex(t.span, s->span_id.data, SPAN_ID_LEN);
    otlp_hex(t.parent, s->parent_span_id.data, s->parent_span_id.len);
    snprintf(t.id, sizeof t.id, "%s%s", t.trace, t.span);
    memcpy(ev.id, t.id, strlen(t.id) + 1);

    Otlp__KeyValue *const *kv = s->attributes;
    size_t n = s->n_attributes;
    const char *method = otlp_attr_string(kv, n, "mcp.method.name");
    const char *session = otlp_attr_string(kv, n, "mcp.session.id");
    const char *name = otlp_attr_string(kv, n, "gen_ai.tool.name");
    int64_t req_bytes = 0, resp_bytes = 0;
    bool has_req = otlp_attr_int(kv, n, "http.request.body.size", &req_bytes);
    bool has_resp = otlp_attr_int(kv, n, "http.response.body.size", &resp_bytes);

    ev.type = span_type(method, otlp_attr_string(kv, n, "gen_ai.operation.name"));
    ev.ts_ms = otlp_ms(s->start_time_unix_nano, now_ms);
    ev.received_ms = now_ms;
    if (s->end_time_unix_nano >= s->start_time_unix_nano && s->start_time_unix_nano != 0) {
        ev.duration_ms = (double)(s->end_time_unix_nano - s->start_time_unix_nano) / 1e6;
        ev.has |= EVENT_HAS_DURATION;
    }
    if (body_bytes(has_req ? req_bytes : -1, has_resp ? resp_bytes : -1, &ev.bytes, &cut)) {
        ev.has |= EVENT_HAS_BYTES;
    }
    if (session == NULL) {
        session = otlp_attr_string(kv, n, "gen_ai.conversation.id");
    }
    if (name == NULL) {
        name = otlp_attr_string(kv, n, "gen_ai.prompt.name");
    }
    if (name == NULL) {
        name = method;
    }
    ev.session_id = otlp_fit(t.session, sizeof t.session, session, &cut);
    ev.name = otlp_fit(t.name, sizeof t.name, name != NULL ? name : s->name, &cut);
    ev.source = otlp_source(r, t.source, &cut);
    span_status(s, &ev, &t, &cut);

    otlp_attrs a;
    otlp_attrs_open(&a);
    span_attrs(&a, s, r, scope, &t);
    return otlp_push_with_attrs(res, cap, &ev, &a, cut);
}

int otlp_traces_to_events(const Otlp__ExportTraceServiceRequest *req, int64_t now_ms,
                          size_t max_events, otlp_result *res)
{
    size_t cap = 0;
    const char *why = NULL;
    for (size_t i = 0; i < req->n_resource_spans; i++) {
        const Otlp__ResourceSpans *rs = req->resource_spans[i];
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            const Otlp__ScopeSpans *ss = rs->scope_spans[j];
            for (size_t k = 0; k < ss->n_spans; k++) {
                res->items++;
                if (res->batch.count >= max_events) {
                    res->rejected++;
                    why = "more spans than one request may carry (TELLTALE_MAX_EVENTS)";
                    continue;
                }
                int rc = map_span(ss->spans[k], rs->resource, ss->scope, now_ms, res, &cap, &why);
                if (rc == TT_ENOMEM) {
                    return rc;
                }
                res->rejected += rc != 0;
            }
        }
    }
    if (why != NULL) {
        snprintf(res->message, sizeof res->message, "%s", why);
    }
    return 0;
}
