/* uuid7.h -- time-ordered ids (RFC 9562 UUIDv7) for events that arrive without one.
 *
 * Time-ordered ids keep the store's unique index append-mostly: on our schema random ids cost
 * 3.3x the insert rate (DESIGN §3). Pure: the caller passes the clock and the randomness. */
#ifndef TT_UUID7_H
#define TT_UUID7_H

#include <stdint.h>

#define UUID7_LEN 37 /* 36 characters and NUL */

/* Keeps successive ids strictly increasing, even within one millisecond or when the clock
 * steps back (RFC 9562 §6.2, method 1: rand_a is a counter seeded at each new millisecond).
 * Zero-initialise it. One generator per thread, or a lock around it. */
typedef struct uuid7_gen {
    uint64_t last_ms; /* private */
    uint16_t counter; /* private: 12 bits used */
} uuid7_gen;

/* Writes the next id, lower-case hex "xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx", into 'out'.
 * 'rnd' must be 64 fresh random bits. */
void uuid7_next(uuid7_gen *g, uint64_t now_ms, uint64_t rnd, char out[UUID7_LEN]);

#endif
