/* random.h -- random bits from the kernel, for ids and jitter. Any thread. */
#ifndef TT_RANDOM_H
#define TT_RANDOM_H

#include <stdint.h>

/* 64 random bits. Reads getrandom() in blocks per thread, so it is cheap per call. */
uint64_t random_u64(void);

#endif
