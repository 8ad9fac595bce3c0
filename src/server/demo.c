/* demo.c -- a timer that submits demo events like any producer would. */
#include "server/demo.h"

#include "core/demo_gen.h"
#include "os/clock.h"
#include "os/random.h"

#include <stdlib.h>

#define TICK_MS 100

struct demo {
    uv_timer_t timer;
    gateway *gw;
    demo_gen gen;
    uint64_t last_ms;
};

static void on_tick(uv_timer_t *t)
{
    demo *d = t->data;
    uint64_t now = clock_now_ms();
    event_batch batch = {0};
    if (demo_gen_tick(&d->gen, (int64_t)now, (uint32_t)(now - d->last_ms), &batch) == 0 &&
        batch.count > 0) {
        ingest_refusal why; /* if the queue is full, demo events just drop */
        gateway_submit(d->gw, &batch, NULL, NULL, &why);
    }
    event_batch_free(&batch); /* empty once submitted */
    d->last_ms = now;
}

int demo_start(uv_loop_t *loop, gateway *gw, demo **out)
{
    demo *d = calloc(1, sizeof *d);
    if (d == NULL) {
        return TT_ENOMEM;
    }
    d->gw = gw;
    d->last_ms = clock_now_ms();
    demo_gen_init(&d->gen, random_u64());
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, on_tick, TICK_MS, TICK_MS);
    *out = d;
    return 0;
}

static void free_on_close(uv_handle_t *h)
{
    free(h->data);
}

void demo_stop(demo *d)
{
    if (d != NULL) {
        uv_close((uv_handle_t *)&d->timer, free_on_close);
    }
}
