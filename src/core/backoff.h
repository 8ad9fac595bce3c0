/* backoff.h -- how long to wait before retrying a failed store call: capped exponential
 * backoff with jitter, so that many writers retrying one outage do not retry in step.
 *
 * The two jitters of the AWS Architecture Blog's "Exponential Backoff And Jitter":
 *   full:          delay = random in [0, min(cap, base * 2^attempt)]
 *   decorrelated:  delay = min(cap, random in [base, prev * 3]), prev starting at base
 *
 * Pure: the caller passes the time and a uniformly random uint32 'rnd'. It is mapped onto a
 * range of n values as floor(rnd * n / 2^32), which for n <= 2^32 gives each value either
 * floor(2^32 / n) or one more of the 2^32 inputs: a bias of at most n / 2^32, under 3e-6 for a
 * 10 s range in milliseconds. No modulo, so no skew toward small delays. */
#ifndef TT_BACKOFF_H
#define TT_BACKOFF_H

#include "core/err.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum backoff_jitter { BACKOFF_FULL, BACKOFF_DECORRELATED } backoff_jitter;

typedef struct backoff_cfg {
    uint32_t base_ms;      /* TELLTALE_RETRY_BASE_MS, default 100; at least 1 */
    uint32_t cap_ms;       /* TELLTALE_RETRY_CAP_MS, default 10000; at least base_ms */
    uint32_t max_attempts; /* TELLTALE_RETRY_MAX, default 5; 0: no limit */
    uint32_t budget_ms;    /* time from backoff_start() within which every retry must start;
                              0: none */
    backoff_jitter jitter; /* default BACKOFF_FULL */
} backoff_cfg;

/* The retry state of one operation. Embed it; start it with backoff_start(). */
typedef struct backoff {
    /* public: read, never write */
    uint32_t attempt;       /* delays handed out so far */
    uint64_t prev_delay_ms; /* the last of them; 0 before the first */
    uint64_t started_ms;
    bool exhausted; /* backoff_next() has said no; it keeps saying so */
    /* private */
    backoff_cfg cfg;
} backoff;

void backoff_cfg_default(backoff_cfg *c);

/* Returns 0, or TT_EINVAL with 'err' (which may be NULL) naming the setting at fault. */
int backoff_cfg_check(const backoff_cfg *c, char err[TT_ERRLEN]);

/* The delay before retry number 'attempt' (0 for the first retry). 'prev_delay_ms' is the
 * delay before the previous retry, used only by BACKOFF_DECORRELATED, where anything below
 * base_ms (0 for the first retry) counts as base_ms. Never more than cap_ms; exact for any
 * 'attempt', however large. */
uint64_t backoff_delay_ms(const backoff_cfg *c, unsigned attempt, uint64_t prev_delay_ms,
                          uint32_t rnd);

/* Starts the retries of one operation first tried at 'now_ms'. 'c' is copied. */
void backoff_start(backoff *s, const backoff_cfg *c, uint64_t now_ms);

/* After a failure at 'now_ms': true with *delay_ms to wait before the next try, or false
 * when the operation should give up: max_attempts delays were handed out already, or the
 * retry would start after the budget (now_ms - started_ms + delay > budget_ms). A delay that
 * overruns the budget is refused, not trimmed: trimming would retry exactly at the deadline,
 * when the budget is gone, and the jitter would be lost. Once false, always false. */
bool backoff_next(backoff *s, uint64_t now_ms, uint32_t rnd, uint64_t *delay_ms);

#endif
