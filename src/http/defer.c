/* defer.c -- the one way a handler answers later: its work runs on libuv's thread pool (the
 * store blocks, a large body takes long to parse), its answer is written on the loop thread, to
 * the request if it is still there. Every deferred route goes through here. The request's body
 * is held here while the work runs, so the work may read it even if the client leaves. */
#include "http/http_internal.h"

#include <stdlib.h>

typedef struct deferred {
    uv_work_t work;
    http_ticket ticket;
    http_work_fn fn;
    http_done_fn done;
    void *arg;
    char *body;           /* the request's, whose client may leave while the work reads it */
    size_t body_reserved; /* its share of hs->body_bytes (TELLTALE_MAX_INFLIGHT_BODIES) */
} deferred;

static void run_on_pool(uv_work_t *w)
{
    deferred *d = w->data;
    d->fn(d->arg);
}

/* The body goes back to its request, or, if the client has gone, is freed. */
static void return_body(deferred *d, http_req *r)
{
    if (r != NULL) {
        r->body = d->body;
        r->body_reserved = d->body_reserved;
    } else {
        d->ticket.hs->body_bytes -= d->body_reserved;
        free(d->body);
    }
}

static void answer_on_loop(uv_work_t *w, int status)
{
    deferred *d = w->data;
    http_req *r = http_redeem(d->ticket);
    return_body(d, r);
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
    *d = (deferred){.ticket = http_ticket_of(r),
                    .fn = work,
                    .done = done,
                    .arg = arg,
                    .body = r->body,
                    .body_reserved = r->body_reserved};
    d->work.data = d;
    if (uv_queue_work(r->hs->loop, &d->work, run_on_pool, answer_on_loop) != 0) {
        free(d);
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "cannot schedule the work");
        return TT_ENOMEM;
    }
    r->body = NULL; /* until answer_on_loop(): freeing the request leaves it alone */
    r->body_reserved = 0;
    return 0;
}
