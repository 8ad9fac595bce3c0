/* breaker.h -- the circuit breaker in front of the store: while the store fails, stop calling
 * it (DESIGN §4.3, "no hammering"), and find out by a few probes when it is back.
 *
 *            N consecutive failures, or the failure rate over the window
 *   CLOSED ------------------------------------------------------------> OPEN
 *     ^                                                                 |  ^
 *     |  close_after probes succeeded                 open_ms elapsed   |  | a probe failed
 *     +---------------------------- HALF_OPEN <-------------------------+  | or timed out
 *                                       +-----------------------------------+
 *
 *   FORCED_OPEN (reject everything) and DISABLED (allow everything, judge nothing) are set by
 *   the operator and left only by breaker_reset(), which goes back to CLOSED.
 *
 * Every allowed call gets a ticket, which the caller hands back with its outcome. A ticket is
 * good only in the state period that issued it: an outcome that arrives after the breaker has
 * changed state since (a call admitted while CLOSED that fails after the breaker opened, a
 * probe of an earlier half-open period, a probe already written off as timed out) is counted
 * in stats.stale and changes nothing.
 *
 * Time never runs backwards inside the breaker: a now_ms earlier than one already seen is
 * taken as the latest seen. Each call makes at most one transition, so a caller that compares
 * 'transitions' after each call finds every one of them in 'last_transition' and can log it.
 *
 * Pure: the caller passes the time; no clock, no timers (timeouts are noticed when a call
 * looks), no allocation. Not thread-safe: one owner, or a lock around it. */
#ifndef TT_BREAKER_H
#define TT_BREAKER_H

#include "core/err.h"

#include <stdbool.h>
#include <stdint.h>

#define BREAKER_BUCKETS 10    /* the failure-rate window is a ring of this many time buckets */
#define BREAKER_MAX_PROBES 16 /* the largest half_open_probes */
#define BREAKER_REASONLEN 64

typedef enum breaker_state {
    BREAKER_CLOSED,
    BREAKER_OPEN,
    BREAKER_HALF_OPEN,
    BREAKER_FORCED_OPEN,
    BREAKER_DISABLED
} breaker_state;

typedef struct breaker_cfg {
    uint32_t failure_threshold;  /* consecutive failures that open it (TELLTALE_BREAKER_FAILURES) */
    uint32_t rate_window_ms;     /* failure-rate window, at least BREAKER_BUCKETS ms */
    uint32_t rate_min_calls;     /* calls in the window before the rate counts */
    uint32_t rate_threshold_pct; /* failure rate that opens it, percent, 1..100 */
    uint32_t open_ms;            /* time open before half-open (TELLTALE_BREAKER_OPEN_MS) */
    uint32_t half_open_probes;   /* probes out at once (TELLTALE_BREAKER_HALF_OPEN_PROBES) */
    uint32_t probe_timeout_ms;   /* a probe not reported by then counts as failed */
    uint32_t close_after;        /* consecutive probe successes that close it */
} breaker_cfg;

/* The counters only grow (they suit /metrics); breaker_reset() leaves them alone. */
typedef struct breaker_stats {
    uint64_t opened, half_opened, closed, forced, disabled; /* transitions into each state */
    uint64_t allowed, rejected;                             /* breaker_allow() answers */
    uint64_t successes, failures; /* outcomes that counted: probes and probe timeouts too */
    uint64_t probe_timeouts;      /* probes written off as failed for not reporting in time */
    uint64_t stale;               /* outcomes ignored: their ticket was from an earlier period */
} breaker_stats;

typedef struct breaker_transition {
    breaker_state from, to;
    uint64_t at_ms;
    /* "5 consecutive failures", "failure rate 60% over 25 calls", "open for 5000 ms",
     * "probe failed", "probe timed out", "2 probes succeeded", "operator" */
    char reason[BREAKER_REASONLEN];
} breaker_transition;

typedef struct breaker {
    /* public: read, never write */
    breaker_state state;                /* as of the last call; breaker_state_at() is current */
    uint64_t transitions;               /* grows by one with every change of state */
    breaker_transition last_transition; /* the latest; from == to == CLOSED before the first */
    breaker_stats stats;
    /* private */
    breaker_cfg cfg;
    uint64_t now_ms;       /* the latest time seen */
    uint64_t since_ms;     /* when the current state began */
    uint64_t next_ticket;  /* the next ticket to hand out; 0 is never one */
    uint64_t first_ticket; /* tickets below it are from an earlier period */
    uint32_t consecutive_failures;
    uint32_t probe_successes;
    struct {
        uint64_t ticket; /* 0: free */
        uint64_t started_ms;
    } probes[BREAKER_MAX_PROBES];
    struct {
        uint64_t slot; /* now_ms / bucket width when the bucket was last started */
        uint32_t calls, failures;
    } buckets[BREAKER_BUCKETS];
} breaker;

/* The defaults: 5 consecutive failures, 50% over 10 s once 20 calls, open 5 s, 1 probe with
 * 10 s to report, closed after 2 successes. */
void breaker_cfg_default(breaker_cfg *cfg);

/* Returns 0, or TT_EINVAL with 'err' (which may be NULL) naming the setting at fault. */
int breaker_cfg_check(const breaker_cfg *cfg, char err[TT_ERRLEN]);

/* Starts CLOSED with everything zero. 'cfg' is copied; it should pass breaker_cfg_check(). */
void breaker_init(breaker *b, const breaker_cfg *cfg, uint64_t now_ms);

/* May a call go to the store now? CLOSED: yes. OPEN: no, unless open_ms has passed, when it
 * turns HALF_OPEN first. HALF_OPEN: yes while fewer than half_open_probes probes are out (the
 * call is a probe). FORCED_OPEN: no. DISABLED: yes. On yes, *ticket gets the ticket to pass to
 * breaker_record(); on no it gets 0. */
bool breaker_allow(breaker *b, uint64_t now_ms, uint64_t *ticket);

/* The outcome of a call breaker_allow() let through; report each ticket once. In CLOSED a
 * failure counts toward both rules and opens the breaker if either trips. In HALF_OPEN a failed
 * probe reopens it for open_ms again, and close_after successful probes close it. */
void breaker_record(breaker *b, uint64_t now_ms, uint64_t ticket, bool ok);

/* The state at 'now_ms', after any transition that time alone makes (OPEN -> HALF_OPEN, an
 * overdue probe reopening it). */
breaker_state breaker_state_at(breaker *b, uint64_t now_ms);

/* Operator controls; each one's reason is "operator". A control that would not change the
 * state records no transition, but breaker_reset() in CLOSED still clears the rules' counters
 * and makes the tickets out so far stale. */
void breaker_force_open(breaker *b, uint64_t now_ms);
void breaker_disable(breaker *b, uint64_t now_ms);
void breaker_reset(breaker *b, uint64_t now_ms);

/* "closed", "open", "half_open", "forced_open", "disabled"; "unknown" for anything else. */
const char *breaker_state_name(breaker_state s);

#endif
