/* loghist.c -- DDSketch's log buckets, kept sparse and sorted. */
#include "core/loghist.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GAMMA ((1.0 + LOGHIST_ALPHA) / (1.0 - LOGHIST_ALPHA))

void loghist_free(loghist *h)
{
    free(h->b);
    *h = (loghist){0};
}

void loghist_reset(loghist *h)
{
    h->n = 0;
    h->zero = h->count = 0;
    h->oom = false;
}

int32_t loghist_index(double ms)
{
    double i = ceil(log(ms) / log(GAMMA));
    if (!(i > LOGHIST_MIN_INDEX)) { /* NaN too */
        return LOGHIST_MIN_INDEX;
    }
    return i > LOGHIST_MAX_INDEX ? LOGHIST_MAX_INDEX : (int32_t)i;
}

double loghist_value(int32_t index)
{
    return 2.0 * pow(GAMMA, index) / (GAMMA + 1.0);
}

/* The position of 'index' in h->b, or where it would go. */
static size_t find(const loghist *h, int32_t index)
{
    size_t lo = 0, hi = h->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (h->b[mid].index < index) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static void add_bucket(loghist *h, int32_t index, uint64_t count)
{
    size_t at = find(h, index);
    if (at < h->n && h->b[at].index == index) {
        h->b[at].count += count;
        h->count += count;
        return;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 8;
        loghist_bucket *grown = realloc(h->b, cap * sizeof *grown);
        if (grown == NULL) {
            h->oom = true;
            return;
        }
        h->b = grown;
        h->cap = cap;
    }
    memmove(h->b + at + 1, h->b + at, (h->n - at) * sizeof *h->b);
    h->b[at] = (loghist_bucket){index, count};
    h->n++;
    h->count += count;
}

void loghist_add(loghist *h, double ms, uint64_t count)
{
    if (!(ms >= LOGHIST_MIN_MS)) {
        h->zero += count;
        h->count += count;
        return;
    }
    add_bucket(h, loghist_index(ms), count);
}

void loghist_merge(loghist *dst, const loghist *src)
{
    dst->zero += src->zero;
    dst->count += src->zero;
    for (size_t i = 0; i < src->n; i++) {
        add_bucket(dst, src->b[i].index, src->b[i].count);
    }
}

double loghist_quantile(const loghist *h, double q)
{
    if (h->count == 0) {
        return 0;
    }
    q = q < 0 ? 0 : q > 1 ? 1 : q;
    uint64_t rank = (uint64_t)floor(q * (double)(h->count - 1)); /* 0-based */
    uint64_t seen = h->zero;
    if (rank < seen) {
        return 0;
    }
    for (size_t i = 0; i < h->n; i++) {
        seen += h->b[i].count;
        if (rank < seen) {
            return loghist_value(h->b[i].index);
        }
    }
    return h->n > 0 ? loghist_value(h->b[h->n - 1].index) : 0;
}

uint64_t loghist_count_le(const loghist *h, double le)
{
    uint64_t n = h->zero;
    for (size_t i = 0; i < h->n && loghist_value(h->b[i].index) <= le; i++) {
        n += h->b[i].count;
    }
    return n;
}

void loghist_write(const loghist *h, json_buf *out)
{
    char tmp[48];
    bool first = true;
    json_put_raw(out, "{", 1);
    if (h->zero > 0) {
        int len = snprintf(tmp, sizeof tmp, "\"z\":%llu", (unsigned long long)h->zero);
        json_put_raw(out, tmp, (size_t)len);
        first = false;
    }
    for (size_t i = 0; i < h->n; i++) {
        int len = snprintf(tmp, sizeof tmp, "%s\"%d\":%llu", first ? "" : ",", (int)h->b[i].index,
                           (unsigned long long)h->b[i].count);
        json_put_raw(out, tmp, (size_t)len);
        first = false;
    }
    json_put_raw(out, "}", 1);
}

/* A member of the stored form: its bucket (*zero for "z") and count; false if malformed. */
static bool read_member(const cJSON *m, int32_t *index, bool *zero, uint64_t *count)
{
    if (!cJSON_IsNumber(m) || m->valuedouble < 0 || m->valuedouble > 9e15 ||
        m->valuedouble != floor(m->valuedouble)) {
        return false;
    }
    *count = (uint64_t)m->valuedouble;
    *zero = strcmp(m->string, "z") == 0;
    if (*zero) {
        return true;
    }
    char *end;
    long v = strtol(m->string, &end, 10);
    *index = (int32_t)v;
    return end != m->string && *end == '\0' && v >= LOGHIST_MIN_INDEX && v <= LOGHIST_MAX_INDEX;
}

bool loghist_read(loghist *h, const char *json)
{
    cJSON *root = cJSON_Parse(json);
    bool ok = cJSON_IsObject(root);
    loghist add = {0};
    for (const cJSON *m = ok ? root->child : NULL; m != NULL && ok; m = m->next) {
        int32_t index = 0;
        bool zero;
        uint64_t count;
        ok = read_member(m, &index, &zero, &count);
        if (ok && zero) {
            add.zero += count;
            add.count += count;
        } else if (ok) {
            add_bucket(&add, index, count);
        }
    }
    cJSON_Delete(root);
    if (ok && !add.oom) {
        loghist_merge(h, &add);
    }
    loghist_free(&add);
    return ok;
}
