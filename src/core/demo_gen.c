/* demo_gen.c -- the demo's event mix. */
#include "core/demo_gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define BASE_RATE 40.0 /* events per second, on average */

typedef struct tool {
    const char *name;
    double median_ms;
    double sigma; /* of the underlying normal: the spread of the log-normal */
    double error_rate;
} tool;

static const tool tools[] = {
    {"search_docs", 120, 0.6, 0.02}, {"read_file", 15, 0.5, 0.01},  {"write_file", 25, 0.5, 0.03},
    {"run_query", 80, 0.8, 0.04},    {"web_fetch", 350, 0.7, 0.06}, {"code_exec", 600, 0.9, 0.05},
    {"list_dir", 8, 0.4, 0.005},
};

typedef struct upstream {
    const char *source;
    const char *op;
    double median_ms;
    double sigma;
    double median_bytes;
} upstream;

static const upstream upstreams[] = {
    {"websocket", "message", 4, 0.5, 900}, {"redis", "get", 1.2, 0.4, 300},
    {"supabase", "select", 35, 0.6, 4000}, {"kimi", "completion", 900, 0.5, 6000},
    {"glm", "completion", 700, 0.5, 5000},
};

static const char *const clients[] = {"claude-desktop", "cursor", "vscode", "cli"};

static const char *const tool_errors[] = {"permission denied", "upstream returned 502",
                                          "invalid arguments: missing 'path'",
                                          "rate limited by upstream", "resource not found"};

#define TIMEOUT_MS 5000.0
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t next_u64(demo_gen *g)
{
    /* splitmix64: small, fast, and good enough for traffic that only has to look real */
    uint64_t z = (g->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uniform(demo_gen *g)
{
    return (double)(next_u64(g) >> 11) / 9007199254740992.0; /* [0, 1) */
}

static double lognormal(demo_gen *g, double median, double sigma)
{
    double u1 = uniform(g), u2 = uniform(g);
    double z = sqrt(-2.0 * log(u1 > 0 ? u1 : 1e-12)) * cos(2.0 * M_PI * u2);
    return median * exp(sigma * z);
}

void demo_gen_init(demo_gen *g, uint64_t seed)
{
    *g = (demo_gen){.rng = seed};
}

static int push(event_batch *out, const tt_event *ev)
{
    tt_event *copy = event_clone(ev);
    tt_event **grown = copy ? realloc(out->events, (out->count + 1) * sizeof *grown) : NULL;
    if (grown == NULL) {
        event_free(copy);
        return TT_ENOMEM;
    }
    out->events = grown;
    out->events[out->count++] = copy;
    out->bytes += copy->size;
    return 0;
}

static int start_session(demo_gen *g, demo_session *s, int64_t now, event_batch *out)
{
    snprintf(s->id, sizeof s->id, "sess-%04llx", (unsigned long long)(next_u64(g) & 0xffff));
    s->client = clients[next_u64(g) % COUNT(clients)];
    s->started_ms = now;
    s->ends_ms = now + 20000 + (int64_t)(uniform(g) * 100000);
    s->calls = 0;
    s->active = true;
    char attrs[96];
    snprintf(attrs, sizeof attrs, "{\"client\":\"%s\",\"protocol\":\"2025-06-18\"}", s->client);
    tt_event ev = {.ts_ms = now,
                   .received_ms = now,
                   .type = "session_start",
                   .source = "websocket",
                   .session_id = s->id,
                   .status = "ok",
                   .attrs = attrs};
    return push(out, &ev);
}

static int end_session(demo_session *s, int64_t now, event_batch *out)
{
    s->active = false;
    char attrs[64];
    snprintf(attrs, sizeof attrs, "{\"tool_calls\":%u}", s->calls);
    tt_event ev = {.ts_ms = now,
                   .received_ms = now,
                   .type = "session_end",
                   .source = "websocket",
                   .session_id = s->id,
                   .status = "ok",
                   .duration_ms = (double)(now - s->started_ms),
                   .has = EVENT_HAS_DURATION,
                   .attrs = attrs};
    return push(out, &ev);
}

static int tool_call(demo_gen *g, demo_session *s, int64_t now, event_batch *out)
{
    const tool *t = &tools[next_u64(g) % COUNT(tools)];
    double ms = lognormal(g, t->median_ms, t->sigma);
    const char *status = "ok", *error = NULL;
    if (ms > TIMEOUT_MS) {
        ms = TIMEOUT_MS;
        status = "timeout";
        error = "tool did not answer within 5000 ms";
    } else if (uniform(g) < t->error_rate) {
        status = "error";
        error = tool_errors[next_u64(g) % COUNT(tool_errors)];
    }
    s->calls++;
    char attrs[96];
    snprintf(attrs, sizeof attrs, "{\"client\":\"%s\",\"call\":%u}", s->client, s->calls);
    tt_event ev = {.ts_ms = now,
                   .received_ms = now,
                   .type = "tool_call",
                   .source = "mcp",
                   .session_id = s->id,
                   .name = t->name,
                   .status = status,
                   .error = error,
                   .duration_ms = round(ms * 100) / 100,
                   .bytes = (int64_t)lognormal(g, 2000, 1.0),
                   .has = EVENT_HAS_DURATION | EVENT_HAS_BYTES,
                   .attrs = attrs};
    return push(out, &ev);
}

static int connection(demo_gen *g, int64_t now, event_batch *out)
{
    const upstream *u = &upstreams[next_u64(g) % COUNT(upstreams)];
    double ms = lognormal(g, u->median_ms, u->sigma);
    bool failed = uniform(g) < 0.02;
    tt_event ev = {.ts_ms = now,
                   .received_ms = now,
                   .type = "connection",
                   .source = u->source,
                   .name = u->op,
                   .status = failed ? "error" : "ok",
                   .error = failed ? "connection reset by peer" : NULL,
                   .duration_ms = round(ms * 100) / 100,
                   .bytes = (int64_t)lognormal(g, u->median_bytes, 0.8),
                   .has = EVENT_HAS_DURATION | EVENT_HAS_BYTES};
    return push(out, &ev);
}

/* One event of the mix: mostly tool calls inside a live session, some upstream traffic. */
static int one_event(demo_gen *g, int64_t now, event_batch *out)
{
    demo_session *s = &g->sessions[next_u64(g) % DEMO_SESSIONS];
    if (!s->active) {
        return start_session(g, s, now, out);
    }
    if (now >= s->ends_ms) {
        return end_session(s, now, out);
    }
    return uniform(g) < 0.65 ? tool_call(g, s, now, out) : connection(g, now, out);
}

int demo_gen_tick(demo_gen *g, int64_t now_ms, uint32_t dt_ms, event_batch *out)
{
    /* The rate swells and ebbs over a few minutes so the charts have something to show. */
    double rate = BASE_RATE * (1.0 + 0.5 * sin((double)now_ms / 60000.0));
    g->carry += rate * dt_ms / 1000.0;
    int rc = 0;
    while (g->carry >= 1.0 && rc == 0) {
        g->carry -= 1.0;
        rc = one_event(g, now_ms, out);
    }
    return rc;
}
