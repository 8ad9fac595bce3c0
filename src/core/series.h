/* series.h -- telltale_events_total and friends for /metrics: what this instance made durable,
 * by the definitions of core/rollup.h, with label cardinality bounded whatever producers send.
 *
 *   telltale_events_total{type,source}        counter
 *   telltale_event_errors_total{type,source}  counter (rollup.h's "error")
 *   telltale_event_duration_seconds{name}    histogram of duration_ms, in seconds (Prometheus'
 *                                            base unit)
 *
 * Bounds. (type, source): the first SERIES_MAX_PAIRS distinct pairs have their own series;
 * events of any other pair count under type="other",source="other". name: at most
 * SERIES_TOP_NAMES names have their own series, chosen among the busiest: names are ranked by
 * how many events they had while waiting (at most SERIES_CANDIDATES names are tracked), and on
 * each series_admit() the busiest waiting ones fill the free places; a name keeps its place
 * from then on (a counter must never go down), and everything a name did before it had a
 * place, and every name without one, counts under name="other". Histogram buckets ('le')
 * are counted from the log histogram of core/loghist.h, so each is exact to within 1% of its
 * bound.
 *
 * The text follows the Prometheus exposition format 0.0.4 (checked with promtool check
 * metrics in tests). Pure; not thread-safe (callers lock). */
#ifndef TT_SERIES_H
#define TT_SERIES_H

#include "core/event.h"
#include "core/json_print.h"
#include "core/loghist.h"

#define SERIES_MAX_PAIRS 64
#define SERIES_TOP_NAMES 20
#define SERIES_CANDIDATES 1000

typedef struct series_pair {
    char type[EVENT_TYPE_MAX + 1], source[EVENT_SOURCE_MAX + 1];
    uint64_t events, errors;
} series_pair;

typedef struct series_name {
    char name[EVENT_NAME_MAX + 1];
    uint64_t waiting; /* events while it had no place (its rank) */
    bool placed;
    loghist latency; /* since it was placed */
    double sum;
} series_name;

typedef struct series_registry {
    series_pair pairs[SERIES_MAX_PAIRS + 1]; /* the last: "other" */
    size_t npairs;
    series_name *names; /* candidates and placed names */
    size_t nnames, names_cap;
    size_t nplaced;
    loghist other_latency; /* name="other" */
    double other_sum;
} series_registry;

void series_init(series_registry *r);
void series_free(series_registry *r);
/* Counts one event this instance made durable. */
void series_observe(series_registry *r, const tt_event *ev);
/* Gives free name places to the busiest waiting names. */
void series_admit(series_registry *r);
/* Appends the three metric families, with HELP and TYPE lines, to 'out'. */
void series_write(const series_registry *r, json_buf *out);

#endif
