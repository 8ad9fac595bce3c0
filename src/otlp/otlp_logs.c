/* otlp_logs.c -- log records to events of type "log" (DESIGN §2 "Events from OpenTelemetry"):
 * the severity is the status, an ERROR or FATAL record's body its error, and its trace context
 * and attributes its attrs. A record has no id of its own: its id is a digest of its content,
 * so an exporter's retry is stored once. */
#include "otlp/otlp_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* OTLP's SeverityNumber ranges (logs data model): 1-4 TRACE ... 21-24 FATAL. */
static const char *severity_name(int32_t n)
{
    static const char *const names[] = {"trace", "debug", "info", "warn", "error", "fatal"};
    return n >= 1 && n <= 24 ? names[(n - 1) / 4] : "unspecified";
}

typedef struct log_texts {
    char session[EVENT_SESSION_MAX + 1], name[EVENT_NAME_MAX + 1], error[EVENT_ERROR_MAX + 1];
    char source[EVENT_SOURCE_MAX + 1];
    char trace[2 * 16 + 1], span[2 * 8 + 1];
} log_texts;

static void log_attrs(otlp_attrs *a, const Otlp__LogRecord *lr, const Otlp__Resource *r,
                      const Otlp__InstrumentationScope *scope, log_texts *t)
{
    if (lr->trace_id.len == 16) {
        otlp_hex(t->trace, lr->trace_id.data, 16);
        otlp_attrs_string(a, "trace_id", t->trace);
    }
    if (lr->span_id.len == 8) {
        otlp_hex(t->span, lr->span_id.data, 8);
        otlp_attrs_string(a, "span_id", t->span);
    }
    otlp_attrs_number(a, "severity_number", lr->severity_number);
    if (lr->severity_text[0] != '\0') {
        otlp_attrs_string(a, "severity_text", lr->severity_text);
    }
    if (scope != NULL && scope->name[0] != '\0') {
        otlp_attrs_string(a, "otel.scope.name", scope->name);
    }
    if (lr->body != NULL) {
        otlp_attrs_value(a, "body", lr->body);
    }
    otlp_attrs_add(a, lr->attributes, lr->n_attributes);
    if (r != NULL) {
        otlp_attrs_add_object(a, "resource", r->attributes, r->n_attributes);
    }
    a->truncated |= lr->dropped_attributes_count > 0;
}

static int map_log(const Otlp__LogRecord *lr, const Otlp__Resource *r,
                   const Otlp__InstrumentationScope *scope, int64_t now_ms, otlp_result *res,
                   size_t *cap)
{
    log_texts t;
    tt_event ev = {0};
    bool cut = false;
    Otlp__KeyValue *const *kv = lr->attributes;
    size_t n = lr->n_attributes;
    const char *session = otlp_attr_string(kv, n, "mcp.session.id");
    if (session == NULL) {
        session = otlp_attr_string(kv, n, "gen_ai.conversation.id");
    }
    otlp_content_id(ev.id, 'l', (const ProtobufCMessage *)r, (const ProtobufCMessage *)scope, "",
                    (const ProtobufCMessage *)lr);
    ev.type = "log";
    ev.ts_ms = otlp_ms(lr->time_unix_nano, otlp_ms(lr->observed_time_unix_nano, now_ms));
    ev.received_ms = now_ms;
    ev.status = severity_name(lr->severity_number);
    ev.source = otlp_source(r, t.source, &cut);
    ev.session_id = otlp_fit(t.session, sizeof t.session, session, &cut);
    ev.name = otlp_fit(t.name, sizeof t.name,
                       lr->event_name[0] != '\0' ? lr->event_name
                       : scope != NULL           ? scope->name
                                                 : NULL,
                       &cut);
    if (lr->severity_number >= 17 && lr->body != NULL &&
        lr->body->value_case == OTLP__ANY_VALUE__VALUE_STRING_VALUE) {
        ev.error = otlp_fit(t.error, sizeof t.error, lr->body->string_value, &cut);
    }

    otlp_attrs a;
    otlp_attrs_open(&a);
    log_attrs(&a, lr, r, scope, &t);
    return otlp_push_with_attrs(res, cap, &ev, &a, cut);
}

int otlp_logs_to_events(const Otlp__ExportLogsServiceRequest *req, int64_t now_ms,
                        size_t max_events, otlp_result *res)
{
    size_t cap = 0;
    for (size_t i = 0; i < req->n_resource_logs; i++) {
        const Otlp__ResourceLogs *rl = req->resource_logs[i];
        for (size_t j = 0; j < rl->n_scope_logs; j++) {
            const Otlp__ScopeLogs *sl = rl->scope_logs[j];
            for (size_t k = 0; k < sl->n_log_records; k++) {
                res->items++;
                if (res->batch.count >= max_events) {
                    res->rejected++;
                    snprintf(res->message, sizeof res->message, "%s",
                             "more log records than one request may carry (TELLTALE_MAX_EVENTS)");
                    continue;
                }
                if (map_log(sl->log_records[k], rl->resource, sl->scope, now_ms, res, &cap) != 0) {
                    return TT_ENOMEM;
                }
            }
        }
    }
    return 0;
}
