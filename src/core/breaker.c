/* breaker.c -- circuit breaker state machine with lazily evaluated timeouts. */
#include "core/breaker.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void breaker_cfg_default(breaker_cfg *cfg)
{
    cfg->failure_threshold = 5;
    cfg->rate_window_ms = 10000;
    cfg->rate_min_calls = 20;
    cfg->rate_threshold_pct = 50;
    cfg->open_ms = 5000;
    cfg->half_open_probes = 1;
    cfg->probe_timeout_ms = 10000;
    cfg->close_after = 2;
}

int breaker_cfg_check(const breaker_cfg *cfg, char err[TT_ERRLEN])
{
    if (cfg->failure_threshold < 1) {
        return tt_fail(err, TT_EINVAL, "breaker failure_threshold must be at least 1");
    }
    if (cfg->rate_window_ms < BREAKER_BUCKETS) {
        return tt_fail(err, TT_EINVAL, "breaker rate_window_ms must be at least %d ms",
                       BREAKER_BUCKETS);
    }
    if (cfg->rate_min_calls < 1) {
        return tt_fail(err, TT_EINVAL, "breaker rate_min_calls must be at least 1");
    }
    if (cfg->rate_threshold_pct < 1 || cfg->rate_threshold_pct > 100) {
        return tt_fail(err, TT_EINVAL, "breaker rate_threshold_pct must be 1..100, not %u",
                       (unsigned)cfg->rate_threshold_pct);
    }
    if (cfg->open_ms < 1) {
        return tt_fail(err, TT_EINVAL, "breaker open_ms must be at least 1 ms");
    }
    if (cfg->half_open_probes < 1 || cfg->half_open_probes > BREAKER_MAX_PROBES) {
        return tt_fail(err, TT_EINVAL, "breaker half_open_probes must be 1..%d, not %u",
                       BREAKER_MAX_PROBES, (unsigned)cfg->half_open_probes);
    }
    if (cfg->probe_timeout_ms < 1) {
        return tt_fail(err, TT_EINVAL, "breaker probe_timeout_ms must be at least 1 ms");
    }
    if (cfg->close_after < 1) {
        return tt_fail(err, TT_EINVAL, "breaker close_after must be at least 1");
    }
    return 0;
}

/* The width of one bucket of the failure-rate window. The window is then the current bucket
 * and the BREAKER_BUCKETS - 1 before it: between 9/10 of rate_window_ms and all of it. */
static uint64_t bucket_width(const breaker *b)
{
    uint64_t w = b->cfg.rate_window_ms / BREAKER_BUCKETS;
    return w > 0 ? w : 1; /* an unchecked cfg must not divide by zero */
}

static uint64_t clamp_now(breaker *b, uint64_t now_ms)
{
    if (now_ms > b->now_ms) {
        b->now_ms = now_ms;
    }
    return b->now_ms;
}

/* Starts a new state period: tickets issued so far go stale, probes out are forgotten, and
 * entering CLOSED starts the rules from nothing. */
static void begin_period(breaker *b, uint64_t now_ms)
{
    b->since_ms = now_ms;
    b->first_ticket = b->next_ticket;
    b->probe_successes = 0;
    memset(b->probes, 0, sizeof b->probes);
    if (b->state == BREAKER_CLOSED) {
        b->consecutive_failures = 0;
        memset(b->buckets, 0, sizeof b->buckets);
    }
}

static void transition(breaker *b, breaker_state to, uint64_t now_ms, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Enters 'to', recording why in last_transition. */
static void transition(breaker *b, breaker_state to, uint64_t now_ms, const char *fmt, ...)
{
    breaker_transition *t = &b->last_transition;
    t->from = b->state;
    t->to = to;
    t->at_ms = now_ms;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->reason, sizeof t->reason, fmt, ap);
    va_end(ap);
    b->transitions++;
    switch (to) {
    case BREAKER_CLOSED:
        b->stats.closed++;
        break;
    case BREAKER_OPEN:
        b->stats.opened++;
        break;
    case BREAKER_HALF_OPEN:
        b->stats.half_opened++;
        break;
    case BREAKER_FORCED_OPEN:
        b->stats.forced++;
        break;
    case BREAKER_DISABLED:
        b->stats.disabled++;
        break;
    }
    b->state = to;
    begin_period(b, now_ms);
}

void breaker_init(breaker *b, const breaker_cfg *cfg, uint64_t now_ms)
{
    memset(b, 0, sizeof *b);
    b->cfg = *cfg;
    if (b->cfg.half_open_probes > BREAKER_MAX_PROBES) {
        b->cfg.half_open_probes = BREAKER_MAX_PROBES; /* the probe table is fixed */
    }
    b->state = BREAKER_CLOSED;
    b->last_transition.from = b->last_transition.to = BREAKER_CLOSED;
    b->last_transition.at_ms = now_ms;
    b->now_ms = now_ms;
    b->next_ticket = 1;
    begin_period(b, now_ms);
}

/* The transitions that time alone makes, at most one: entering OPEN starts open_ms at now_ms,
 * and HALF_OPEN starts with no probe out, so neither can be due at once. A timed-out probe
 * reopens the breaker when it is noticed, and the open period starts then, not at the probe's
 * deadline: a late look must not cascade through several states in one call, or the caller
 * would miss a transition it wants to log. */
static void advance(breaker *b, uint64_t now_ms)
{
    if (b->state == BREAKER_OPEN) {
        if (now_ms - b->since_ms >= b->cfg.open_ms) {
            transition(b, BREAKER_HALF_OPEN, now_ms, "open for %u ms", (unsigned)b->cfg.open_ms);
        }
    } else if (b->state == BREAKER_HALF_OPEN) {
        unsigned overdue = 0;
        for (uint32_t i = 0; i < b->cfg.half_open_probes; i++) {
            if (b->probes[i].ticket != 0 &&
                now_ms - b->probes[i].started_ms >= b->cfg.probe_timeout_ms) {
                overdue++;
            }
        }
        if (overdue > 0) {
            b->stats.probe_timeouts += overdue;
            b->stats.failures += overdue;
            transition(b, BREAKER_OPEN, now_ms, "probe timed out");
        }
    }
}

bool breaker_allow(breaker *b, uint64_t now_ms, uint64_t *ticket)
{
    now_ms = clamp_now(b, now_ms);
    advance(b, now_ms);
    *ticket = 0;
    switch (b->state) {
    case BREAKER_CLOSED:
    case BREAKER_DISABLED:
        *ticket = b->next_ticket++;
        b->stats.allowed++;
        return true;
    case BREAKER_HALF_OPEN:
        for (uint32_t i = 0; i < b->cfg.half_open_probes; i++) {
            if (b->probes[i].ticket == 0) {
                b->probes[i].ticket = *ticket = b->next_ticket++;
                b->probes[i].started_ms = now_ms;
                b->stats.allowed++;
                return true;
            }
        }
        break;
    case BREAKER_OPEN:
    case BREAKER_FORCED_OPEN:
        break;
    }
    b->stats.rejected++;
    return false;
}

/* Counts a call into the window and reports whether the failure rate now opens the breaker;
 * the rate is judged only on a failure, since a success cannot raise it. */
static bool rate_trips(breaker *b, uint64_t now_ms, bool ok, uint32_t *calls, uint32_t *failures)
{
    uint64_t slot = now_ms / bucket_width(b);
    unsigned idx = (unsigned)(slot % BREAKER_BUCKETS);
    if (b->buckets[idx].slot != slot) {
        b->buckets[idx].slot = slot;
        b->buckets[idx].calls = b->buckets[idx].failures = 0;
    }
    b->buckets[idx].calls++;
    b->buckets[idx].failures += !ok;
    if (ok) {
        return false;
    }
    uint64_t n = 0, f = 0;
    for (unsigned i = 0; i < BREAKER_BUCKETS; i++) {
        /* Time only moves forward here, so no bucket is ahead of 'slot'. */
        if (b->buckets[i].slot + BREAKER_BUCKETS > slot) {
            n += b->buckets[i].calls;
            f += b->buckets[i].failures;
        }
    }
    *calls = (uint32_t)(n > UINT32_MAX ? UINT32_MAX : n);
    *failures = (uint32_t)(f > UINT32_MAX ? UINT32_MAX : f);
    return n >= b->cfg.rate_min_calls && f * 100 >= n * b->cfg.rate_threshold_pct;
}

static void record_closed(breaker *b, uint64_t now_ms, bool ok)
{
    uint32_t calls = 0, failures = 0;
    bool rate = rate_trips(b, now_ms, ok, &calls, &failures);
    if (ok) {
        b->consecutive_failures = 0;
        return;
    }
    b->consecutive_failures++;
    if (b->consecutive_failures >= b->cfg.failure_threshold) {
        transition(b, BREAKER_OPEN, now_ms, "%u consecutive failures",
                   (unsigned)b->consecutive_failures);
    } else if (rate) {
        transition(b, BREAKER_OPEN, now_ms, "failure rate %u%% over %u calls",
                   (unsigned)((uint64_t)failures * 100 / calls), (unsigned)calls);
    }
}

static void count_outcome(breaker *b, bool ok)
{
    if (ok) {
        b->stats.successes++;
    } else {
        b->stats.failures++;
    }
}

static void record_probe(breaker *b, uint64_t now_ms, uint64_t ticket, bool ok)
{
    uint32_t i = 0;
    while (i < b->cfg.half_open_probes && b->probes[i].ticket != ticket) {
        i++;
    }
    if (i == b->cfg.half_open_probes) {
        b->stats.stale++; /* reported twice */
        return;
    }
    b->probes[i].ticket = 0;
    count_outcome(b, ok);
    if (!ok) {
        transition(b, BREAKER_OPEN, now_ms, "probe failed");
        return;
    }
    if (++b->probe_successes >= b->cfg.close_after) {
        transition(b, BREAKER_CLOSED, now_ms, "%u probes succeeded", (unsigned)b->probe_successes);
    }
}

void breaker_record(breaker *b, uint64_t now_ms, uint64_t ticket, bool ok)
{
    now_ms = clamp_now(b, now_ms);
    advance(b, now_ms);
    if (ticket < b->first_ticket || ticket >= b->next_ticket) { /* first_ticket >= 1 */
        b->stats.stale++;
        return;
    }
    switch (b->state) {
    case BREAKER_CLOSED:
        count_outcome(b, ok);
        record_closed(b, now_ms, ok);
        break;
    case BREAKER_HALF_OPEN:
        record_probe(b, now_ms, ticket, ok);
        break;
    case BREAKER_DISABLED:
        count_outcome(b, ok);
        break;
    case BREAKER_OPEN:
    case BREAKER_FORCED_OPEN:
        b->stats.stale++; /* unreachable: these states issue no tickets */
        break;
    }
}

breaker_state breaker_state_at(breaker *b, uint64_t now_ms)
{
    advance(b, clamp_now(b, now_ms));
    return b->state;
}

/* No advance() here: the operator's state supersedes whatever time would have done, and a
 * lazy transition first would make two in one call. */
static void operator_set(breaker *b, uint64_t now_ms, breaker_state to)
{
    now_ms = clamp_now(b, now_ms);
    if (b->state != to) {
        transition(b, to, now_ms, "operator");
    } else if (to == BREAKER_CLOSED) {
        begin_period(b, now_ms);
    }
}

void breaker_force_open(breaker *b, uint64_t now_ms)
{
    operator_set(b, now_ms, BREAKER_FORCED_OPEN);
}

void breaker_disable(breaker *b, uint64_t now_ms)
{
    operator_set(b, now_ms, BREAKER_DISABLED);
}

void breaker_reset(breaker *b, uint64_t now_ms)
{
    operator_set(b, now_ms, BREAKER_CLOSED);
}

const char *breaker_state_name(breaker_state s)
{
    switch (s) {
    case BREAKER_CLOSED:
        return "closed";
    case BREAKER_OPEN:
        return "open";
    case BREAKER_HALF_OPEN:
        return "half_open";
    case BREAKER_FORCED_OPEN:
        return "forced_open";
    case BREAKER_DISABLED:
        return "disabled";
    }
    return "unknown";
}
