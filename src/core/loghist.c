/* loghist.c -- DDSketch's log buckets, kept sparse and sorted. */
#include "core/loghist.h"

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
    loghist_add_at(h, ms >= LOGHIST_MIN_MS ? loghist_index(ms) : LOGHIST_ZERO, count);
}

void loghist_add_at(loghist *h, int32_t index, uint64_t count)
{
    if (index == LOGHIST_ZERO) {
        h->zero += count;
        h->count += count;
        return;
    }
    add_bucket(h, index, count);
}

int32_t loghist_bucket_of(double ms)
{
    return ms >= LOGHIST_MIN_MS ? loghist_index(ms) : LOGHIST_ZERO;
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

/* Writes 'v' in decimal at the end of 'p' (which has room for 21 characters); returns the
 * start. (snprintf was most of the cost of a summary upsert.) */
static char *decimal(uint64_t v, char *end)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    return end;
}

/* One member, '"key":count', after a comma unless it is the first. */
static void put_member(json_buf *out, const char *key, size_t keylen, uint64_t count, bool first)
{
    char tmp[64], *end = tmp + sizeof tmp;
    char *p = decimal(count, end);
    *--p = ':';
    *--p = '"';
    p -= keylen;
    memcpy(p, key, keylen);
    *--p = '"';
    if (!first) {
        *--p = ',';
    }
    json_put_raw(out, p, (size_t)(end - p));
}

/* One bucket's member, '"index":count', after a comma unless it is the first. */
static void put_bucket_member(json_buf *out, int32_t index, uint64_t count, bool first)
{
    char key[24], *end = key + sizeof key;
    char *k = decimal(index < 0 ? (uint64_t) - (int64_t)index : (uint64_t)index, end);
    if (index < 0) {
        *--k = '-';
    }
    put_member(out, k, (size_t)(end - k), count, first);
}

void loghist_write(const loghist *h, json_buf *out)
{
    bool first = true;
    json_put_raw(out, "{", 1);
    if (h->zero > 0) {
        put_member(out, "z", 1, h->zero, true);
        first = false;
    }
    for (size_t i = 0; i < h->n; i++) {
        put_bucket_member(out, h->b[i].index, h->b[i].count, first);
        first = false;
    }
    json_put_raw(out, "}", 1);
}

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
        p++;
    }
    return p;
}

/* One "key": count member at 'p'; returns the character after it, or NULL if malformed. */
static const char *read_member(const char *p, loghist *into)
{
    bool zero = false;
    long index = 0;
    if (*p++ != '"') {
        return NULL;
    }
    if (p[0] == 'z' && p[1] == '"') {
        zero = true;
        p += 2;
    } else {
        char *end;
        if (!(*p == '-' || (*p >= '0' && *p <= '9'))) {
            return NULL;
        }
        index = strtol(p, &end, 10);
        if (*end != '"' || index < LOGHIST_MIN_INDEX || index > LOGHIST_MAX_INDEX) {
            return NULL;
        }
        p = end + 1;
    }
    p = skip_space(p);
    if (*p++ != ':') {
        return NULL;
    }
    p = skip_space(p);
    uint64_t count = 0;
    const char *digits = p;
    while (*p >= '0' && *p <= '9' && p - digits < 16) {
        count = count * 10 + (uint64_t)(*p++ - '0');
    }
    if (p == digits || (*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E') {
        return NULL;
    }
    if (zero) {
        into->zero += count;
        into->count += count;
    } else {
        add_bucket(into, (int32_t)index, count);
    }
    return skip_space(p);
}

/* A hand-written reader (no tree): the summaries' writes merge a stored form per row, and
 * this is on the ingest path. The stored form is loghist_write()'s, or PostgreSQL's jsonb
 * rendering of it (spaces after ':' and ',', keys in jsonb's order). */
bool loghist_read(loghist *h, const char *json)
{
    loghist add = {0};
    const char *p = skip_space(json);
    bool ok = *p++ == '{';
    p = skip_space(p);
    if (ok && *p == '}') {
        p++;
    } else {
        while (ok) {
            p = read_member(p, &add);
            ok = p != NULL;
            if (ok && *p == ',') {
                p = skip_space(p + 1);
            } else if (ok) {
                ok = *p++ == '}';
                break;
            }
        }
    }
    ok = ok && *skip_space(p) == '\0' && !add.oom;
    if (ok && h->count == 0 && h->n == 0) {
        loghist_free(h); /* nothing to add to: take the parsed one as it is */
        *h = add;
        return true;
    }
    if (ok) {
        loghist_merge(h, &add);
    }
    loghist_free(&add);
    return ok;
}

/* Reads loghist_write's '"key":count' at 'p' (the zero bucket's key when 'zero'): the key into
 * *index, the count into *count; returns the character after the count, or NULL if it is not
 * in that form. */
static const char *read_canonical(const char *p, bool zero, int32_t *index, uint64_t *count)
{
    if (*p++ != '"') {
        return NULL;
    }
    if (zero) {
        p++; /* the 'z', checked by the caller */
    } else {
        bool negative = *p == '-';
        p += negative;
        const char *digits = p;
        int64_t v = 0;
        while (*p >= '0' && *p <= '9' && p - digits < 5) {
            v = v * 10 + (*p++ - '0');
        }
        bool padded = *digits == '0' && (p - digits > 1 || negative); /* "07", "-0" */
        v = negative ? -v : v;
        if (p == digits || padded || v < LOGHIST_MIN_INDEX || v > LOGHIST_MAX_INDEX) {
            return NULL;
        }
        *index = (int32_t)v;
    }
    if (p[0] != '"' || p[1] != ':') {
        return NULL;
    }
    p += 2;
    const char *digits = p;
    uint64_t c = 0;
    while (*p >= '0' && *p <= '9' && p - digits < 16) {
        c = c * 10 + (uint64_t)(*p++ - '0');
    }
    *count = c;
    return p > digits && (*p == ',' || *p == '}') ? p : NULL;
}

typedef struct text_merge {
    json_buf *out;
    const char *run, *run_end; /* stored members not yet copied, or run == NULL */
    bool first;
} text_merge;

static void flush_run(text_merge *m)
{
    if (m->run != NULL) {
        if (!m->first) {
            json_put_raw(m->out, ",", 1);
        }
        json_put_raw(m->out, m->run, (size_t)(m->run_end - m->run));
        m->first = false;
        m->run = NULL;
    }
}

static void put_bucket(text_merge *m, int32_t index, uint64_t count)
{
    flush_run(m);
    put_bucket_member(m->out, index, count, m->first);
    m->first = false;
}

/* The stored zero bucket at *p, if any, plus the added one, as the first member of 'm'. */
static bool merge_zero(text_merge *m, const char **p, const loghist *add)
{
    uint64_t zero = add->zero, count = 0;
    int32_t unused;
    if ((*p)[0] == '"' && (*p)[1] == 'z') {
        if ((*p = read_canonical(*p, true, &unused, &count)) == NULL) {
            return false;
        }
        zero += count;
        if (**p == ',' && (*p)[1] != '"') {
            return false;
        }
        *p += **p == ',';
    }
    if (zero > 0) {
        put_member(m->out, "z", 1, zero, true);
        m->first = false;
    }
    return true;
}

/* The stored members at 'p' (after '{' and the zero bucket) with add's buckets put in order. */
static bool merge_members(text_merge *m, const char *p, const loghist *add)
{
    int32_t index = 0, prev = INT32_MIN;
    uint64_t count = 0;
    size_t j = 0;
    while (*p != '}') {
        const char *member = p;
        if ((p = read_canonical(p, false, &index, &count)) == NULL || index <= prev ||
            (*p == ',' && p[1] != '"')) {
            return false;
        }
        prev = index;
        for (; j < add->n && add->b[j].index < index; j++) {
            put_bucket(m, add->b[j].index, add->b[j].count);
        }
        if (j < add->n && add->b[j].index == index) {
            put_bucket(m, index, count + add->b[j++].count);
        } else {
            m->run = m->run != NULL ? m->run : member;
            m->run_end = p;
        }
        p += *p == ',';
    }
    if (p[1] != '\0') {
        return false;
    }
    flush_run(m);
    for (; j < add->n; j++) {
        put_bucket(m, add->b[j].index, add->b[j].count);
    }
    return true;
}

bool loghist_merge_text(const char *stored, const loghist *add, json_buf *out)
{
    size_t mark = out->len;
    text_merge m = {.out = out, .first = true};
    const char *p = stored + 1;
    json_put_raw(out, "{", 1);
    if (stored[0] != '{' || !merge_zero(&m, &p, add) || !merge_members(&m, p, add)) {
        out->len = mark;
        return false;
    }
    json_put_raw(out, "}", 1);
    return true;
}
