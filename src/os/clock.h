/* clock.h -- wall-clock and monotonic milliseconds. Any thread. */
#ifndef TT_CLOCK_H
#define TT_CLOCK_H

#include <stdint.h>

uint64_t clock_now_ms(void);  /* since the epoch, for timestamps */
uint64_t clock_mono_ms(void); /* monotonic, for durations and deadlines */
uint64_t clock_mono_us(void);

#endif
