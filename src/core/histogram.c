/* histogram.c -- fixed-bound bucket counting. */
#include "core/histogram.h"

#include <string.h>

void histogram_init(histogram *h, const double *bounds, size_t nbounds)
{
    memset(h, 0, sizeof *h);
    h->bounds = bounds;
    h->nbounds = nbounds < HISTOGRAM_MAX_BOUNDS ? nbounds : HISTOGRAM_MAX_BOUNDS;
}

void histogram_observe(histogram *h, double v)
{
    size_t i = 0;
    while (i < h->nbounds && v > h->bounds[i]) {
        i++;
    }
    h->counts[i]++;
    h->count++;
    h->sum += v;
}

void histogram_merge(histogram *dst, const histogram *src)
{
    for (size_t i = 0; i <= dst->nbounds; i++) {
        dst->counts[i] += src->counts[i];
    }
    dst->count += src->count;
    dst->sum += src->sum;
}

double histogram_quantile(const histogram *h, double q)
{
    if (h->count == 0 || h->nbounds == 0) {
        return 0;
    }
    double rank = q * (double)h->count;
    uint64_t seen = 0;
    for (size_t i = 0; i < h->nbounds; i++) {
        if ((double)(seen + h->counts[i]) >= rank && h->counts[i] > 0) {
            double lo = i == 0 ? 0 : h->bounds[i - 1];
            double within = (rank - (double)seen) / (double)h->counts[i];
            return lo + (h->bounds[i] - lo) * (within < 0 ? 0 : within);
        }
        seen += h->counts[i];
    }
    return h->bounds[h->nbounds - 1];
}
