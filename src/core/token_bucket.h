/* token_bucket.h -- a rate limit per key: a token bucket (RFC 2697's "committed burst",
 * without the colours) for each key, in a table of bounded size. Pure: the caller passes the
 * time; no locks (one thread, or the caller's lock).
 *
 * A bucket holds at most 'burst' tokens and gains 'rate' a second. Taking n tokens is admitted
 * when the bucket holds min(n, burst) of them; then n are taken, so a request larger than the
 * burst is possible once the bucket is full and leaves it in debt, and the average rate holds
 * whatever the request sizes. A full bucket is the same as none: the table forgets such keys
 * when it needs room, and when every key is in use it admits a new key unlimited (fail open:
 * the bound is on memory; an overload is still refused by the queue). */
#ifndef TT_TOKEN_BUCKET_H
#define TT_TOKEN_BUCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKEN_KEY_MAX 160 /* bytes of a key, with its NUL; longer keys are cut */
#define TOKEN_RATE_MAX UINT64_C(100000000)
#define TOKEN_BURST_MAX UINT64_C(1000000000)

/* Tokens are counted in millionths, in integers: a wait is computed exactly. */
typedef struct token_bucket {
    int64_t micro;  /* tokens x 1e6; below 0 after a request larger than the burst */
    uint64_t at_ms; /* when 'micro' was last brought up to date */
} token_bucket;

/* A bucket full at 'now_ms'. */
void token_bucket_init(token_bucket *b, uint64_t burst, uint64_t now_ms);

/* Takes 'n' tokens at 'now_ms' (monotonic milliseconds; an earlier time counts as now).
 * Returns 0 when admitted, else the milliseconds until it would be (at least 1). 'rate' is
 * tokens a second, 1 to TOKEN_RATE_MAX; 'burst' 1 to TOKEN_BURST_MAX; 'n' at most
 * TOKEN_BURST_MAX. */
uint64_t token_bucket_take(token_bucket *b, uint64_t rate, uint64_t burst, uint64_t n,
                           uint64_t now_ms);

typedef struct token_table token_table;

/* A table of at most 'max_keys' buckets. NULL when out of memory. */
token_table *token_table_new(size_t max_keys);
void token_table_free(token_table *t); /* NULL is a no-op */

/* token_bucket_take() on the bucket of 'key', made full if new. When all 'max_keys' are in use,
 * the buckets that are full again are forgotten (at most once a second while that frees
 * none); if none is, a new key is admitted without a bucket. */
uint64_t token_table_take(token_table *t, const char *key, uint64_t rate, uint64_t burst,
                          uint64_t n, uint64_t now_ms);

/* Gives back 'n' tokens taken from the bucket of 'key' for work that was then refused for
 * another reason (an overload), up to 'burst'; a key without a bucket is left alone. */
void token_table_refund(token_table *t, const char *key, uint64_t burst, uint64_t n);

/* Keys with a bucket now. */
size_t token_table_size(const token_table *t);

#endif
