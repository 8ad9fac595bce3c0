/* series.c -- bounded-cardinality event series (see series.h). */
#include "core/series.h"

#include "core/rollup.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prometheus' base unit is the second: the bounds (le) and the sum are in seconds. */
static const double le_s[] = {0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                              0.5,   1,     2.5,   5,    10,    30,   60};
#define NLE (sizeof le_s / sizeof le_s[0])

void series_init(series_registry *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->pairs[SERIES_MAX_PAIRS].type, sizeof r->pairs[0].type, "other");
    snprintf(r->pairs[SERIES_MAX_PAIRS].source, sizeof r->pairs[0].source, "other");
}

void series_free(series_registry *r)
{
    for (size_t i = 0; i < r->nnames; i++) {
        loghist_free(&r->names[i].latency);
    }
    free(r->names);
    loghist_free(&r->other_latency);
    memset(r, 0, sizeof *r);
}

static series_pair *pair_of(series_registry *r, const char *type, const char *source)
{
    if (strcmp(type, "other") == 0 && strcmp(source, "other") == 0) {
        return &r->pairs[SERIES_MAX_PAIRS]; /* the label set of the rest */
    }
    for (size_t i = 0; i < r->npairs; i++) {
        if (strcmp(r->pairs[i].type, type) == 0 && strcmp(r->pairs[i].source, source) == 0) {
            return &r->pairs[i];
        }
    }
    if (r->npairs == SERIES_MAX_PAIRS) {
        return &r->pairs[SERIES_MAX_PAIRS];
    }
    series_pair *p = &r->pairs[r->npairs++];
    snprintf(p->type, sizeof p->type, "%s", type);
    snprintf(p->source, sizeof p->source, "%s", source);
    return p;
}

/* The name's entry, made if there is room; NULL when there is none. */
static series_name *name_of(series_registry *r, const char *name)
{
    if (strcmp(name, "other") == 0) {
        return NULL; /* the label of the rest */
    }
    for (size_t i = 0; i < r->nnames; i++) {
        if (strcmp(r->names[i].name, name) == 0) {
            return &r->names[i];
        }
    }
    if (r->nnames == SERIES_CANDIDATES) {
        return NULL;
    }
    if (r->nnames == r->names_cap) {
        size_t cap = r->names_cap ? r->names_cap * 2 : 32;
        series_name *grown = realloc(r->names, cap * sizeof *grown);
        if (grown == NULL) {
            return NULL;
        }
        r->names = grown;
        r->names_cap = cap;
    }
    series_name *n = &r->names[r->nnames++];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    return n;
}

void series_observe(series_registry *r, const tt_event *ev)
{
    series_pair *p = pair_of(r, ev->type, ev->source != NULL ? ev->source : "");
    p->events++;
    p->errors += event_is_error(ev);
    if (!(ev->has & EVENT_HAS_DURATION)) {
        return;
    }
    series_name *n = ev->name != NULL ? name_of(r, ev->name) : NULL;
    if (n != NULL && n->placed) {
        loghist_add(&n->latency, ev->duration_ms, 1);
        n->sum += ev->duration_ms;
        return;
    }
    if (n != NULL) {
        n->waiting++;
    }
    loghist_add(&r->other_latency, ev->duration_ms, 1);
    r->other_sum += ev->duration_ms;
}

void series_admit(series_registry *r)
{
    while (r->nplaced < SERIES_TOP_NAMES) {
        series_name *best = NULL;
        for (size_t i = 0; i < r->nnames; i++) {
            series_name *n = &r->names[i];
            if (!n->placed && n->waiting > 0 && (best == NULL || n->waiting > best->waiting)) {
                best = n;
            }
        }
        if (best == NULL) {
            return;
        }
        best->placed = true;
        r->nplaced++;
    }
}

static void putf(json_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(json_buf *out, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    json_put_raw(out, tmp, n < (int)sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A label value as the exposition format escapes it: backslash, quote, newline. */
static void put_label(json_buf *out, const char *s)
{
    for (; *s != '\0'; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
        json_put_raw(out, esc != NULL ? esc : s, esc != NULL ? strlen(esc) : 1);
    }
}

static void pair_line(json_buf *out, const char *metric, const series_pair *p, uint64_t v)
{
    putf(out, "%s{type=\"", metric);
    put_label(out, p->type);
    json_put_raw(out, "\",source=\"", 10);
    put_label(out, p->source);
    putf(out, "\"} %llu\n", (unsigned long long)v);
}

static void histogram_lines(json_buf *out, const char *name, const loghist *h, double sum)
{
    static const char metric[] = "telltale_event_duration_seconds";
    for (size_t i = 0; i < NLE; i++) {
        putf(out, "%s_bucket{name=\"", metric);
        put_label(out, name);
        putf(out, "\",le=\"%g\"} %llu\n", le_s[i],
             (unsigned long long)loghist_count_le(h, le_s[i] * 1000));
    }
    putf(out, "%s_bucket{name=\"", metric);
    put_label(out, name);
    putf(out, "\",le=\"+Inf\"} %llu\n", (unsigned long long)h->count);
    putf(out, "%s_sum{name=\"", metric);
    put_label(out, name);
    putf(out, "\"} %.17g\n", sum / 1000);
    putf(out, "%s_count{name=\"", metric);
    put_label(out, name);
    putf(out, "\"} %llu\n", (unsigned long long)h->count);
}

void series_write(const series_registry *r, json_buf *out)
{
    const series_pair *other = &r->pairs[SERIES_MAX_PAIRS];
    putf(out, "# HELP telltale_events_total Events this instance made durable, by type and "
              "source.\n# TYPE telltale_events_total counter\n");
    for (size_t i = 0; i < r->npairs; i++) {
        pair_line(out, "telltale_events_total", &r->pairs[i], r->pairs[i].events);
    }
    pair_line(out, "telltale_events_total", other, other->events);
    putf(out, "# HELP telltale_event_errors_total Of those, errors (an error field, status error "
              "or timeout, or type error).\n# TYPE telltale_event_errors_total counter\n");
    for (size_t i = 0; i < r->npairs; i++) {
        pair_line(out, "telltale_event_errors_total", &r->pairs[i], r->pairs[i].errors);
    }
    pair_line(out, "telltale_event_errors_total", other, other->errors);
    putf(out,
         "# HELP telltale_event_duration_seconds duration_ms of the events this instance made "
         "durable, in seconds, by name (the busiest %d; the rest as other).\n"
         "# TYPE telltale_event_duration_seconds histogram\n",
         SERIES_TOP_NAMES);
    for (size_t i = 0; i < r->nnames; i++) {
        if (r->names[i].placed) {
            histogram_lines(out, r->names[i].name, &r->names[i].latency, r->names[i].sum);
        }
    }
    histogram_lines(out, "other", &r->other_latency, r->other_sum);
}
