/* token_bucket.c -- token buckets, and a table of them by key (open addressing, linear
 * probing; rebuilt without its full buckets when it fills). */
#include "core/token_bucket.h"

#include <stdlib.h>
#include <string.h>

typedef struct slot {
    bool used;
    char key[TOKEN_KEY_MAX];
    token_bucket b;
} slot;

struct token_table {
    slot *slots;
    size_t cap; /* a power of two, at least twice max_keys: probes stay short */
    size_t n, max_keys;
    uint64_t next_sweep_ms; /* after a sweep that freed nothing: none before this */
};

/* A full table is swept (its full buckets dropped) at most this often while sweeps free
 * nothing: a sweep copies the whole table, and a flood of new keys must not pay it each. */
#define SWEEP_AGAIN_MS 1000

#define MICRO INT64_C(1000000)

static void refill(token_bucket *b, uint64_t rate, uint64_t burst, uint64_t now_ms)
{
    int64_t full = (int64_t)burst * MICRO;
    if (now_ms > b->at_ms) {
        /* rate * 1000 micro-tokens a millisecond; past the time to fill up, it is full */
        uint64_t per_ms = rate * 1000, elapsed = now_ms - b->at_ms;
        uint64_t to_full = (uint64_t)(full - (b->micro < full ? b->micro : full)) / per_ms + 1;
        b->micro = elapsed >= to_full ? full : b->micro + (int64_t)(elapsed * per_ms);
        b->at_ms = now_ms;
    }
    if (b->micro > full) {
        b->micro = full;
    }
}

void token_bucket_init(token_bucket *b, uint64_t burst, uint64_t now_ms)
{
    b->micro = (int64_t)burst * MICRO;
    b->at_ms = now_ms;
}

uint64_t token_bucket_take(token_bucket *b, uint64_t rate, uint64_t burst, uint64_t n,
                           uint64_t now_ms)
{
    refill(b, rate, burst, now_ms);
    int64_t need = (int64_t)(n < burst ? n : burst) * MICRO;
    if (b->micro >= need) {
        b->micro -= (int64_t)n * MICRO;
        return 0;
    }
    uint64_t per_ms = rate * 1000;
    return ((uint64_t)(need - b->micro) + per_ms - 1) / per_ms; /* rounded up: at least 1 */
}

token_table *token_table_new(size_t max_keys)
{
    token_table *t = calloc(1, sizeof *t);
    size_t cap = 16;
    while (cap < 2 * max_keys) {
        cap *= 2;
    }
    if (t != NULL && (t->slots = calloc(cap, sizeof *t->slots)) == NULL) {
        free(t);
        t = NULL;
    }
    if (t != NULL) {
        t->cap = cap;
        t->max_keys = max_keys > 0 ? max_keys : 1;
    }
    return t;
}

void token_table_free(token_table *t)
{
    if (t != NULL) {
        free(t->slots);
        free(t);
    }
}

size_t token_table_size(const token_table *t)
{
    return t->n;
}

static size_t hash(const char *key)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
        h = (h ^ *p) * 1099511628211u;
    }
    return (size_t)h;
}

/* The slot of 'key', or the free slot where it would go. */
static slot *probe(slot *slots, size_t cap, const char *key)
{
    for (size_t i = hash(key) & (cap - 1);; i = (i + 1) & (cap - 1)) {
        if (!slots[i].used || strcmp(slots[i].key, key) == 0) {
            return &slots[i];
        }
    }
}

/* Drops the buckets that are full at 'now_ms' (the same as no bucket), in a fresh array: with
 * open addressing, slots cannot simply be emptied. Out of memory: nothing is dropped. */
static void sweep(token_table *t, uint64_t rate, uint64_t burst, uint64_t now_ms)
{
    slot *fresh = calloc(t->cap, sizeof *fresh);
    if (fresh == NULL) {
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++) {
        slot *s = &t->slots[i];
        if (s->used) {
            refill(&s->b, rate, burst, now_ms);
            if (s->b.micro < (int64_t)burst * MICRO) {
                *probe(fresh, t->cap, s->key) = *s;
                n++;
            }
        }
    }
    free(t->slots);
    t->slots = fresh;
    t->n = n;
}

/* 'key' cut to TOKEN_KEY_MAX - 1 bytes, in 'k'; returns its length. */
static size_t key_of(const char *key, char k[TOKEN_KEY_MAX])
{
    size_t len = strnlen(key, TOKEN_KEY_MAX - 1);
    memcpy(k, key, len);
    k[len] = '\0';
    return len;
}

void token_table_refund(token_table *t, const char *key, uint64_t burst, uint64_t n)
{
    char k[TOKEN_KEY_MAX];
    key_of(key, k);
    slot *s = probe(t->slots, t->cap, k);
    if (s->used) {
        int64_t full = (int64_t)burst * MICRO, back = s->b.micro + (int64_t)n * MICRO;
        s->b.micro = back < full ? back : full;
    }
}

uint64_t token_table_take(token_table *t, const char *key, uint64_t rate, uint64_t burst,
                          uint64_t n, uint64_t now_ms)
{
    char k[TOKEN_KEY_MAX];
    size_t len = key_of(key, k);
    slot *s = probe(t->slots, t->cap, k);
    if (!s->used && t->n >= t->max_keys) {
        if (now_ms >= t->next_sweep_ms) {
            sweep(t, rate, burst, now_ms);
        }
        if (t->n >= t->max_keys) {
            t->next_sweep_ms = now_ms + SWEEP_AGAIN_MS;
            return 0; /* every key in use: admitted unlimited (see token_bucket.h) */
        }
        s = probe(t->slots, t->cap, k);
    }
    if (!s->used) {
        s->used = true;
        memcpy(s->key, k, len + 1);
        token_bucket_init(&s->b, burst, now_ms);
        t->n++;
    }
    return token_bucket_take(&s->b, rate, burst, n, now_ms);
}
