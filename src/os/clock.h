/* clock.h -- wall-clock and monotonic milliseconds. Any thread. */
#ifndef TT_CLOCK_H
#define TT_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

uint64_t clock_now_ms(void);  /* since the epoch, for timestamps */
uint64_t clock_mono_ms(void); /* monotonic, for durations and deadlines */
uint64_t clock_mono_us(void);

/* Timed waits on the monotonic clock, which a change of the wall clock cannot stretch: a
 * condition variable that pthread_cond_timedwait() times by it, and the absolute deadline
 * 'ms' from now to wait until. */
void clock_cond_init(pthread_cond_t *cond);
struct timespec clock_deadline_after(uint64_t ms);

#endif
