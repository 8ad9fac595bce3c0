/* backoff.c -- capped exponential backoff with full or decorrelated jitter. */
#include "core/backoff.h"

void backoff_cfg_default(backoff_cfg *c)
{
    c->base_ms = 100;
    c->cap_ms = 10000;
    c->max_attempts = 5;
    c->budget_ms = 0;
    c->jitter = BACKOFF_FULL;
}

int backoff_cfg_check(const backoff_cfg *c, char err[TT_ERRLEN])
{
    if (c->base_ms < 1) {
        return tt_fail(err, TT_EINVAL, "retry base_ms must be at least 1 ms");
    }
    if (c->cap_ms < c->base_ms) {
        return tt_fail(err, TT_EINVAL, "retry cap_ms (%u) must be at least base_ms (%u)",
                       (unsigned)c->cap_ms, (unsigned)c->base_ms);
    }
    if (c->jitter != BACKOFF_FULL && c->jitter != BACKOFF_DECORRELATED) {
        return tt_fail(err, TT_EINVAL, "retry jitter must be full or decorrelated");
    }
    return 0;
}

/* A value in [lo, hi], both included, from 'rnd': floor(rnd * n / 2^32) with n = hi - lo + 1.
 * n may exceed 2^32 (decorrelated draws up to 3 * cap), so the product is taken in two halves
 * to stay in 64 bits: with n = a * 2^32 + c, floor(rnd * n / 2^32) = rnd * a + floor(rnd * c /
 * 2^32), exactly. Callers keep hi - lo below 2^63. */
static uint64_t uniform(uint32_t rnd, uint64_t lo, uint64_t hi)
{
    uint64_t n = hi - lo + 1;
    return lo + (uint64_t)rnd * (n >> 32) + (((uint64_t)rnd * (n & 0xffffffffu)) >> 32);
}

uint64_t backoff_delay_ms(const backoff_cfg *c, unsigned attempt, uint64_t prev_delay_ms,
                          uint32_t rnd)
{
    uint64_t cap = c->cap_ms, base = c->base_ms;
    if (c->jitter == BACKOFF_DECORRELATED) {
        uint64_t prev = prev_delay_ms < base ? base : prev_delay_ms;
        if (prev > cap) {
            prev = cap; /* no delay above cap is handed out; this keeps prev * 3 small */
        }
        uint64_t hi = prev * 3;
        uint64_t d = uniform(rnd, base, hi < base ? base : hi);
        return d < cap ? d : cap;
    }
    /* base * 2^attempt, without overflow: base < 2^32, so from attempt 32 on it is past any
     * uint32 cap (base >= 1; with base 0 the ceiling is 0 anyway). */
    uint64_t ceiling = cap;
    if (attempt < 32 && (base << attempt) < cap) {
        ceiling = base << attempt;
    }
    if (base == 0) {
        ceiling = 0;
    }
    return uniform(rnd, 0, ceiling);
}

void backoff_start(backoff *s, const backoff_cfg *c, uint64_t now_ms)
{
    s->attempt = 0;
    s->prev_delay_ms = 0;
    s->started_ms = now_ms;
    s->exhausted = false;
    s->cfg = *c;
}

bool backoff_next(backoff *s, uint64_t now_ms, uint32_t rnd, uint64_t *delay_ms)
{
    *delay_ms = 0;
    if (s->exhausted || (s->cfg.max_attempts != 0 && s->attempt >= s->cfg.max_attempts)) {
        s->exhausted = true;
        return false;
    }
    uint64_t d = backoff_delay_ms(&s->cfg, s->attempt, s->prev_delay_ms, rnd);
    if (s->cfg.budget_ms != 0) {
        uint64_t spent = now_ms > s->started_ms ? now_ms - s->started_ms : 0;
        if (spent > s->cfg.budget_ms || d > s->cfg.budget_ms - spent) {
            s->exhausted = true;
            return false;
        }
    }
    s->attempt++;
    s->prev_delay_ms = d;
    *delay_ms = d;
    return true;
}
