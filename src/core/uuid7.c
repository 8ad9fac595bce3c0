/* uuid7.c -- UUIDv7 generation with a per-millisecond counter for monotonicity. */
#include "core/uuid7.h"

#define COUNTER_MAX 0xfff

void uuid7_next(uuid7_gen *g, uint64_t now_ms, uint64_t rnd, char out[UUID7_LEN])
{
    if (now_ms > g->last_ms) {
        g->last_ms = now_ms;
        /* Seed the counter in the lower half so a burst in this millisecond has room. */
        g->counter = (uint16_t)(rnd >> 53) & 0x7ff;
    } else if (g->counter < COUNTER_MAX) {
        g->counter++;
    } else {
        g->last_ms++; /* counter exhausted: borrow the next millisecond, as RFC 9562 allows */
        g->counter = 0;
    }
    uint8_t b[16];
    uint64_t ms = g->last_ms & 0xffffffffffffULL;
    for (int i = 0; i < 6; i++) {
        b[i] = (uint8_t)(ms >> (40 - 8 * i));
    }
    b[6] = (uint8_t)(0x70 | (g->counter >> 8));
    b[7] = (uint8_t)(g->counter & 0xff);
    /* 62 random bits for rand_b, under the variant bits 10. */
    b[8] = (uint8_t)(0x80 | ((rnd >> 56) & 0x3f));
    for (int i = 9; i < 16; i++) {
        b[i] = (uint8_t)(rnd >> (8 * (15 - i)));
    }
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *p++ = '-';
        }
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 0xf];
    }
    *p = '\0';
}
