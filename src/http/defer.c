/* defer.c -- the one way a handler answers later: its work runs on libuv's thread pool (the
 * store blocks), its answer is written on the loop thread, to the request if it is still there.
 * Every deferred route goes through here. */
#include "http/http_internal.h"

#include <stdlib.h>

typedef struct deferred {
    uv_work_t work;
    http_ticket ticket;
    http_work_fn fn;
    http_done_fn done;
    void *arg;
} deferred;

static void run_on_pool(uv_work_t *w)
{
    deferred *d = w->data;
    d->fn(d->arg);
}

static void answer_on_loop(uv_work_t *w, int status)
{
    deferred *d = w->data;
    http_req *r = http_redeem(d->ticket);
    if (status != 0 && r != NULL) {
        /* Cancelled before it ran: only at a loop's end. The client may retry elsewhere. */
        r->retry_after = 1;
        http_respond_error(r, 503, "shutting_down", "the work could not be run");
        r = NULL;
    }
    d->done(r, d->arg);
    free(d);
}

int http_defer(http_req *r, http_work_fn work, http_done_fn done, void *arg)
{
    deferred *d = malloc(sizeof *d);
    if (d == NULL) {
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return TT_ENOMEM;
    }
    *d = (deferred){.ticket = http_ticket_of(r), .fn = work, .done = done, .arg = arg};
    d->work.data = d;
    http_answer_later(r);
    if (uv_queue_work(r->hs->loop, &d->work, run_on_pool, answer_on_loop) != 0) {
        free(d);
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "cannot schedule the work");
        return TT_ENOMEM;
    }
    return 0;
}
