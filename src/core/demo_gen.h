/* demo_gen.h -- believable traffic of an MCP-style server, for `telltale serve --demo`:
 * sessions that start and end, tool calls with log-normal latencies per tool, occasional
 * errors and timeouts, and upstream connection events (websocket, redis, supabase, kimi,
 * glm) with bytes and response times. Pure: the caller passes the clock; the randomness is a
 * seeded generator inside, so a seed replays the same traffic. */
#ifndef TT_DEMO_GEN_H
#define TT_DEMO_GEN_H

#include "core/ingest.h"

#include <stdint.h>

#define DEMO_SESSIONS 6 /* concurrent sessions */

typedef struct demo_session {
    char id[24];
    const char *client;
    int64_t started_ms;
    int64_t ends_ms;
    uint32_t calls;
    bool active;
} demo_session;

typedef struct demo_gen {
    uint64_t rng; /* private */
    uint64_t serial;
    double carry; /* fractional events owed from earlier ticks */
    demo_session sessions[DEMO_SESSIONS];
} demo_gen;

void demo_gen_init(demo_gen *g, uint64_t seed);

/* Appends the events of the 'dt_ms' milliseconds ending at 'now_ms' to 'out' (which may
 * already hold events). Returns 0 or TT_ENOMEM. */
int demo_gen_tick(demo_gen *g, int64_t now_ms, uint32_t dt_ms, event_batch *out);

#endif
