/* fake_clock.h -- a pipeline_clock whose time moves only when a test moves it.
 *
 * Threads: the hooks may run on a pipeline thread while the test moves the time on its own;
 * every field is read and written atomically. */
#ifndef TT_FAKE_CLOCK_H
#define TT_FAKE_CLOCK_H

#include "pipeline/pipeline_clock.h"

#include <stdint.h>

typedef struct fake_clock {
    uint64_t mono_ms; /* what mono_ms() answers */
    uint64_t now_ms;  /* what now_ms() answers */
    uint32_t random;  /* what random() answers: 0 makes full jitter wait 0 ms */
    uint64_t randoms; /* how many times random() was asked */
} fake_clock;

/* Starts at a mono time of 1000 ms and a wall time of 1.7e12 ms, random 0, standing still. */
void fake_clock_init(fake_clock *fc);

/* The hooks, for writer_opts.clock. 'fc' must outlive the writer. */
pipeline_clock fake_clock_hooks(fake_clock *fc);

void fake_clock_advance(fake_clock *fc, uint64_t ms);
uint64_t fake_clock_randoms(fake_clock *fc);

#endif
