/* pipeline_clock.h -- where the pipeline's time and jitter come from: the OS, or a test.
 *
 * The breaker and the backoff are pure and take the time and a random value as arguments
 * (STYLE.md); the writer is what feeds them, and it reads them through a pipeline_clock so
 * that a unit test can drive every breaker transition and retry budget exactly. The daemon
 * leaves it zeroed: each hook that is NULL falls back to os/clock.h or os/random.h, so a
 * zero-initialised writer_opts behaves as before the hook existed.
 *
 * Only the decisions are injected. Real waits (a condition variable's time-out in queue_pop,
 * writer_sleep, the shipper's idle wait) still run on CLOCK_MONOTONIC: a test that wants them
 * short configures them short, and waits on conditions.
 *
 * Threads: the hooks are called on the writer's owner thread (the persister's for an embedded
 * store, the shipper's for a remote one), never concurrently by one writer; a test that moves
 * its fake time from another thread must make the hooks safe for that (atomics). */
#ifndef TT_PIPELINE_CLOCK_H
#define TT_PIPELINE_CLOCK_H

#include "os/clock.h"
#include "os/random.h"

#include <stddef.h>
#include <stdint.h>

typedef struct pipeline_clock {
    uint64_t (*mono_ms)(void *ctx); /* NULL: clock_mono_ms(), for durations and deadlines */
    uint64_t (*now_ms)(void *ctx);  /* NULL: clock_now_ms(), for dead letters' due times */
    uint32_t (*random)(void *ctx);  /* NULL: random_u64(), for the backoff's jitter */
    void *ctx;                      /* passed to each hook */
} pipeline_clock;

static inline uint64_t pipeline_clock_mono_ms(const pipeline_clock *c)
{
    return c->mono_ms != NULL ? c->mono_ms(c->ctx) : clock_mono_ms();
}

static inline uint64_t pipeline_clock_now_ms(const pipeline_clock *c)
{
    return c->now_ms != NULL ? c->now_ms(c->ctx) : clock_now_ms();
}

static inline uint32_t pipeline_clock_random(const pipeline_clock *c)
{
    return c->random != NULL ? c->random(c->ctx) : (uint32_t)random_u64();
}

#endif
