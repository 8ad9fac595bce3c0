/* otlp_metrics.c -- metric data points to events of type "metric" (DESIGN §2 "Events from
 * OpenTelemetry"): one event per point, named after its metric, its value the gauge's or the
 * sum's value; a histogram's (and a summary's) point carries its sum as the value and its
 * count, bucket counts and bounds in attrs. A point's id is a digest of its content, so an
 * exporter's retry is stored once. */
#include "otlp/otlp_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What one point gives, whatever its kind. */
typedef struct point {
    const ProtobufCMessage *msg;
    const char *kind; /* "gauge", "sum", "histogram", "exponential_histogram", "summary" */
    Otlp__KeyValue *const *kv;
    size_t n;
    uint64_t time_unix_nano;
    double value;
    bool has_value;
    const Otlp__HistogramDataPoint *histogram; /* buckets, when a histogram's */
    uint64_t count;
    bool has_count;
    double min, max;
} point;

typedef struct metric_scope {
    const Otlp__Resource *resource;
    const Otlp__InstrumentationScope *scope;
    const Otlp__Metric *metric;
    int32_t temporality; /* 0 none, 1 delta, 2 cumulative */
    bool monotonic, is_sum;
} metric_scope;

static void number_list(otlp_attrs *a, const char *key, const double *d, const uint64_t *u,
                        size_t n)
{
    if (n == 0 || a->count >= OTLP_MAX_ATTRS) {
        return;
    }
    json_key(&a->w, key);
    json_open_array(&a->w);
    for (size_t i = 0; i < n && i < 256; i++) {
        double v = d != NULL ? d[i] : (double)u[i];
        if (isfinite(v)) {
            json_number(&a->w, v);
        } else {
            json_null(&a->w);
        }
    }
    a->truncated |= n > 256;
    json_close_array(&a->w);
    a->count++;
}

static void point_attrs(otlp_attrs *a, const metric_scope *m, const point *p)
{
    otlp_attrs_string(a, "metric.kind", p->kind);
    if (m->metric->unit[0] != '\0') {
        otlp_attrs_string(a, "metric.unit", m->metric->unit);
    }
    if (m->temporality != 0) {
        otlp_attrs_string(a, "metric.temporality", m->temporality == 1 ? "delta" : "cumulative");
    }
    if (m->is_sum) {
        json_member_bool(&a->w, "metric.monotonic", m->monotonic);
    }
    if (p->has_count) {
        otlp_attrs_number(a, "count", (double)p->count);
        if (p->has_value) {
            otlp_attrs_number(a, "sum", p->value);
        }
    }
    if (p->histogram != NULL) {
        const Otlp__HistogramDataPoint *h = p->histogram;
        number_list(a, "bucket_counts", NULL, h->bucket_counts, h->n_bucket_counts);
        number_list(a, "explicit_bounds", h->explicit_bounds, NULL, h->n_explicit_bounds);
    }
    if (p->has_count && p->count > 0 && isfinite(p->min) && isfinite(p->max) &&
        (p->min != 0 || p->max != 0)) {
        otlp_attrs_number(a, "min", p->min);
        otlp_attrs_number(a, "max", p->max);
    }
    if (m->scope != NULL && m->scope->name[0] != '\0') {
        otlp_attrs_string(a, "otel.scope.name", m->scope->name);
    }
    otlp_attrs_add(a, p->kv, p->n);
    if (m->resource != NULL) {
        otlp_attrs_add_object(a, "resource", m->resource->attributes, m->resource->n_attributes);
    }
}

static int map_point(const metric_scope *m, const point *p, int64_t now_ms, otlp_result *res,
                     size_t *cap)
{
    char name[EVENT_NAME_MAX + 1], source[EVENT_SOURCE_MAX + 1];
    tt_event ev = {0};
    bool cut = false;
    otlp_content_id(ev.id, 'm', (const ProtobufCMessage *)m->resource,
                    (const ProtobufCMessage *)m->scope, m->metric->name, p->msg);
    ev.type = "metric";
    ev.ts_ms = otlp_ms(p->time_unix_nano, now_ms);
    ev.received_ms = now_ms;
    ev.name = otlp_fit(name, sizeof name, m->metric->name, &cut);
    ev.source = otlp_source(m->resource, source, &cut);
    if (p->has_value && isfinite(p->value)) {
        ev.value = p->value;
        ev.has |= EVENT_HAS_VALUE;
    }
    otlp_attrs a;
    otlp_attrs_open(&a);
    point_attrs(&a, m, p);
    return otlp_push_with_attrs(res, cap, &ev, &a, cut);
}

static void number_point(point *p, const Otlp__NumberDataPoint *d, const char *kind)
{
    *p = (point){.msg = &d->base,
                 .kind = kind,
                 .kv = d->attributes,
                 .n = d->n_attributes,
                 .time_unix_nano = d->time_unix_nano};
    p->has_value = d->value_case != OTLP__NUMBER_DATA_POINT__VALUE__NOT_SET;
    p->value =
        d->value_case == OTLP__NUMBER_DATA_POINT__VALUE_AS_INT ? (double)d->as_int : d->as_double;
}

/* The points of one metric, each handed to map_point(). */
static int map_metric(metric_scope *m, int64_t now_ms, size_t max_events, otlp_result *res,
                      size_t *cap)
{
    const Otlp__Metric *mt = m->metric;
    size_t n = 0;
    switch (mt->data_case) {
    case OTLP__METRIC__DATA_GAUGE:
        n = mt->gauge->n_data_points;
        break;
    case OTLP__METRIC__DATA_SUM:
        n = mt->sum->n_data_points;
        m->temporality = mt->sum->aggregation_temporality;
        m->monotonic = mt->sum->is_monotonic;
        m->is_sum = true;
        break;
    case OTLP__METRIC__DATA_HISTOGRAM:
        n = mt->histogram->n_data_points;
        m->temporality = mt->histogram->aggregation_temporality;
        break;
    case OTLP__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        n = mt->exponential_histogram->n_data_points;
        m->temporality = mt->exponential_histogram->aggregation_temporality;
        break;
    case OTLP__METRIC__DATA_SUMMARY:
        n = mt->summary->n_data_points;
        break;
    default:
        return 0; /* a metric without data has no points */
    }
    for (size_t i = 0; i < n; i++) {
        point p;
        res->items++;
        if (res->batch.count >= max_events) {
            res->rejected++;
            snprintf(res->message, sizeof res->message, "%s",
                     "more data points than one request may carry (TELLTALE_MAX_EVENTS)");
            continue;
        }
        if (mt->data_case == OTLP__METRIC__DATA_GAUGE) {
            number_point(&p, mt->gauge->data_points[i], "gauge");
        } else if (mt->data_case == OTLP__METRIC__DATA_SUM) {
            number_point(&p, mt->sum->data_points[i], "sum");
        } else if (mt->data_case == OTLP__METRIC__DATA_HISTOGRAM) {
            const Otlp__HistogramDataPoint *h = mt->histogram->data_points[i];
            p = (point){&h->base,          "histogram", h->attributes, h->n_attributes,
                        h->time_unix_nano, h->sum,      true,          h,
                        h->count,          true,        h->min,        h->max};
        } else if (mt->data_case == OTLP__METRIC__DATA_EXPONENTIAL_HISTOGRAM) {
            const Otlp__ExponentialHistogramDataPoint *e =
                mt->exponential_histogram->data_points[i];
            p = (point){&e->base,
                        "exponential_histogram",
                        e->attributes,
                        e->n_attributes,
                        e->time_unix_nano,
                        e->sum,
                        true,
                        NULL,
                        e->count,
                        true,
                        e->min,
                        e->max};
        } else {
            const Otlp__SummaryDataPoint *s = mt->summary->data_points[i];
            p = (point){&s->base, "summary", s->attributes, s->n_attributes, s->time_unix_nano,
                        s->sum,   true,      NULL,          s->count,        true,
                        0,        0};
        }
        if (map_point(m, &p, now_ms, res, cap) != 0) {
            return TT_ENOMEM;
        }
    }
    return 0;
}

int otlp_metrics_to_events(const Otlp__ExportMetricsServiceRequest *req, int64_t now_ms,
                           size_t max_events, otlp_result *res)
{
    size_t cap = 0;
    for (size_t i = 0; i < req->n_resource_metrics; i++) {
        const Otlp__ResourceMetrics *rm = req->resource_metrics[i];
        for (size_t j = 0; j < rm->n_scope_metrics; j++) {
            const Otlp__ScopeMetrics *sm = rm->scope_metrics[j];
            for (size_t k = 0; k < sm->n_metrics; k++) {
                metric_scope m = {rm->resource, sm->scope, sm->metrics[k], 0, false, false};
                if (map_metric(&m, now_ms, max_events, res, &cap) != 0) {
                    return TT_ENOMEM;
                }
            }
        }
    }
    return 0;
}
