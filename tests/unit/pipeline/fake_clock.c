/* fake_clock.c -- test-driven time and randomness for the pipeline. */
#include "fake_clock.h"

static uint64_t load(uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static uint64_t fake_mono_ms(void *ctx)
{
    return load(&((fake_clock *)ctx)->mono_ms);
}

static uint64_t fake_now_ms(void *ctx)
{
    return load(&((fake_clock *)ctx)->now_ms);
}

static uint32_t fake_random(void *ctx)
{
    fake_clock *fc = ctx;
    __atomic_add_fetch(&fc->randoms, 1, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&fc->random, __ATOMIC_SEQ_CST);
}

void fake_clock_init(fake_clock *fc)
{
    *fc = (fake_clock){.mono_ms = 1000, .now_ms = UINT64_C(1700000000000)};
}

pipeline_clock fake_clock_hooks(fake_clock *fc)
{
    return (pipeline_clock){
        .mono_ms = fake_mono_ms, .now_ms = fake_now_ms, .random = fake_random, .ctx = fc};
}

void fake_clock_advance(fake_clock *fc, uint64_t ms)
{
    __atomic_add_fetch(&fc->mono_ms, ms, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&fc->now_ms, ms, __ATOMIC_SEQ_CST);
}

uint64_t fake_clock_randoms(fake_clock *fc)
{
    return load(&fc->randoms);
}
