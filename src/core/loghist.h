/* loghist.h -- a mergeable, log-bucketed histogram of durations (milliseconds) with a stated
 * relative error: the layout of DDSketch (Masson, Rim, Lee: "DDSketch: A Fast and Fully-Mergeable
 * Quantile Sketch with Relative-Error Guarantees", VLDB 2019, §2).
 *
 * Layout. With alpha = LOGHIST_ALPHA (0.01) and gamma = (1 + alpha) / (1 - alpha), a duration
 * x > 0 falls in bucket i = ceil(log_gamma(x)), which covers (gamma^(i-1), gamma^i]. A bucket is
 * reported as 2 * gamma^i / (gamma + 1), which is within a relative alpha of every value in it.
 * Durations below LOGHIST_MIN_MS (0 included) count in the "zero" bucket, reported as 0; the
 * index is clamped to [LOGHIST_MIN_INDEX, LOGHIST_MAX_INDEX] (1 microsecond to about 300
 * days). Buckets are sparse: only non-empty ones are kept.
 *
 * Guarantee (tested in tests/unit/core/test_loghist.c): loghist_quantile(h, q) is within a
 * relative alpha of the exact lower q-quantile of the values added, x_(floor(q * (n - 1))) of
 * the values sorted ascending -- for values in [LOGHIST_MIN_MS, max]. Merging (adding bucket
 * counts) loses nothing: a merged histogram is the histogram of the union.
 *
 * Stored form (rollup and session rows): a JSON object of bucket index -> count, the zero
 * bucket as "z", e.g. {"z":2,"-15":1,"230":7}. Pure; not thread-safe (callers lock). */
#ifndef TT_LOGHIST_H
#define TT_LOGHIST_H

#include "core/json_print.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGHIST_ALPHA 0.01
#define LOGHIST_MIN_MS 0.001
#define LOGHIST_MIN_INDEX (-345) /* ceil(log_gamma(0.001)) */
#define LOGHIST_MAX_INDEX 1200   /* gamma^1200 ms, about 300 days */
#define LOGHIST_MAX_BUCKETS (LOGHIST_MAX_INDEX - LOGHIST_MIN_INDEX + 1)

typedef struct loghist_bucket {
    int32_t index;
    uint64_t count;
} loghist_bucket;

/* Zero-initialise; free with loghist_free(). Buckets ascend by index. */
typedef struct loghist {
    loghist_bucket *b;
    size_t n, cap;
    uint64_t zero;  /* values below LOGHIST_MIN_MS */
    uint64_t count; /* all values, the zero bucket included */
    bool oom;       /* an add ran out of memory: counts are short */
} loghist;

void loghist_free(loghist *h);
void loghist_reset(loghist *h); /* empty, keeping its memory */

/* The bucket of 'ms' (a value >= LOGHIST_MIN_MS), and the value a bucket reports. */
int32_t loghist_index(double ms);
double loghist_value(int32_t index);

/* Adds 'count' values of 'ms' (negative or NaN counts as zero). */
void loghist_add(loghist *h, double ms, uint64_t count);
/* The same in two steps, for a value added to several histograms: its bucket (LOGHIST_ZERO for
 * the zero bucket), then the adding. */
#define LOGHIST_ZERO INT32_MIN
int32_t loghist_bucket_of(double ms);
void loghist_add_at(loghist *h, int32_t bucket, uint64_t count);
/* Adds every bucket of 'src' into 'dst'. */
void loghist_merge(loghist *dst, const loghist *src);
/* The q-quantile (q in 0..1) as defined above; 0 when empty. */
double loghist_quantile(const loghist *h, double q);
/* How many values are <= 'le' milliseconds, counting each bucket by its reported value
 * (a Prometheus 'le' count, exact to within a relative alpha of 'le'). */
uint64_t loghist_count_le(const loghist *h, double le);

/* Appends the stored form to 'out'. */
void loghist_write(const loghist *h, json_buf *out);
/* Adds the stored form 'json' (NUL-terminated) into 'h'; false if it is not one (then 'h' is
 * unchanged). */
bool loghist_read(loghist *h, const char *json);
/* Appends the stored form of 'stored' (a stored form, NUL-terminated) plus 'add' to 'out', as
 * loghist_read, loghist_merge and loghist_write would, but without parsing the counts 'add' does
 * not touch: the stored text is copied in runs. Only loghist_write's own form is taken (no
 * spaces, "z" first, indexes ascending); false for any other, with nothing appended, so that the
 * caller falls back to those three. What the summaries' upserts do per row and per commit: a
 * stored histogram has hundreds of buckets, a commit's delta a few. */
bool loghist_merge_text(const char *stored, const loghist *add, json_buf *out);

#endif
