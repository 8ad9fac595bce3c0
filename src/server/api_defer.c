/* api_defer.c -- handlers whose answer needs the store: the work runs on libuv's thread pool,
 * the answer goes out on the loop thread, to the request if it is still there. */
#include "server/api.h"

#include "os/log.h"

#include <stdlib.h>

typedef struct deferred {
    uv_work_t work;
    server *srv;
    uint64_t req_id;
    api_work_fn fn;
    void *arg;
    int status;
    cJSON *body;
    char err[TT_ERRLEN];
} deferred;

static void run(uv_work_t *w)
{
    deferred *d = w->data;
    d->status = 500;
    d->fn(d->srv->st, d->arg, &d->status, &d->body, d->err);
}

static void answer(uv_work_t *w, int status)
{
    deferred *d = w->data;
    http_req *r = http_find(d->srv, d->req_id);
    if (r != NULL && status == 0 && d->body != NULL) {
        http_respond_json(r, d->status, d->body);
        d->body = NULL;
    } else if (r != NULL) {
        if (status != 0 || d->status >= 500) {
            log_warn("%s: %s", r->path, status != 0 ? uv_strerror(status) : d->err);
            r->retry_after = 1;
            http_respond_error(r, 503, "store_unavailable",
                               "the store could not be reached; retry shortly");
        } else {
            http_respond_error(r, d->status, d->status == 404 ? "not_found" : "invalid_parameter",
                               d->err);
        }
    }
    if (r != NULL) {
        lws_cancel_service(d->srv->ctx); /* have lws arm what the answer set up */
    }
    cJSON_Delete(d->body);
    free(d->arg);
    free(d);
}

void api_defer(server *srv, http_req *r, api_work_fn fn, void *arg)
{
    deferred *d = calloc(1, sizeof *d);
    if (d == NULL) {
        free(arg);
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return;
    }
    *d = (deferred){.srv = srv, .req_id = r->id, .fn = fn, .arg = arg};
    d->work.data = d;
    http_answer_later(r);
    if (uv_queue_work(srv->loop, &d->work, run, answer) != 0) {
        free(arg);
        free(d);
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "cannot schedule the work");
    }
}
