/* random.c -- a per-thread buffer over getrandom(). */
#include "os/random.h"

#include <string.h>
#include <sys/random.h>

#define BLOCK 64 /* u64s per refill */

static _Thread_local uint64_t pool[BLOCK];
static _Thread_local unsigned left;

uint64_t random_u64(void)
{
    if (left == 0) {
        size_t got = 0;
        while (got < sizeof pool) {
            ssize_t n = getrandom((char *)pool + got, sizeof pool - got, 0);
            if (n > 0) {
                got += (size_t)n;
            }
        }
        left = BLOCK;
    }
    return pool[--left];
}
