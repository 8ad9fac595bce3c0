/* histogram.h -- bucket counts over fixed upper bounds: mergeable, and quantiles exact to the
 * bucket. Used for telltale's own latencies (/metrics) and, later, per-minute rollups.
 * Pure; not thread-safe (callers lock). */
#ifndef TT_HISTOGRAM_H
#define TT_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define HISTOGRAM_MAX_BOUNDS 32

typedef struct histogram {
    const double *bounds; /* ascending upper bounds (le), not owned */
    size_t nbounds;
    uint64_t counts[HISTOGRAM_MAX_BOUNDS + 1]; /* counts[nbounds] is the +Inf bucket */
    uint64_t count;
    double sum;
} histogram;

/* 'bounds' must outlive 'h', be ascending, and hold at most HISTOGRAM_MAX_BOUNDS values. */
void histogram_init(histogram *h, const double *bounds, size_t nbounds);
void histogram_observe(histogram *h, double v);
/* Adds 'src' into 'dst'; both must use the same bounds. */
void histogram_merge(histogram *dst, const histogram *src);
/* The q-quantile (0..1), interpolated linearly inside its bucket; 0 when empty. A value in
 * the +Inf bucket is reported as the largest bound. */
double histogram_quantile(const histogram *h, double q);

#endif
