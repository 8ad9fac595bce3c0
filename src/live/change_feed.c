/* change_feed.c -- open in the pool, poll on the loop, reopen with backoff. */
#include "live/change_feed.h"

#include "os/log.h"

#include <stdlib.h>

#define RETRY_FIRST_MS 500
#define RETRY_MAX_MS 30000

struct change_feed {
    uv_loop_t *loop;
    store *st;
    store_feed *feed; /* while connected */
    uv_poll_t poll;
    bool polling;
    uv_timer_t retry;
    uint64_t retry_ms;
    uv_work_t work;
    bool opening; /* a work item is in flight */
    bool stopping;
    int open_handles;
    change_feed_stats stats;
    change_feed_fn on_seq;
    void *ctx;
    store_notice_fn on_notice;
    void *notice_ctx;
    /* filled by the work item */
    store_feed *opened;
    int64_t resync_seq;
    int open_rc;
    char err[TT_ERRLEN];
};

static void reopen_later(change_feed *cf);

static void free_when_closed(change_feed *cf)
{
    if (cf->stopping && cf->open_handles == 0 && !cf->opening) {
        store_feed_close(cf->feed);
        free(cf);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    change_feed *cf = h->data;
    cf->open_handles--;
    free_when_closed(cf);
}

static void heard_of(change_feed *cf, int64_t seq)
{
    if (seq > cf->stats.last_seq) {
        cf->stats.last_seq = seq;
        if (cf->on_seq != NULL) {
            cf->on_seq(seq, cf->ctx);
        }
    }
}

static void on_commit(int64_t first, int64_t last, void *ctx)
{
    (void)first;
    change_feed *cf = ctx;
    cf->stats.notifications++;
    heard_of(cf, last);
}

static void on_poll_closed(uv_handle_t *h)
{
    change_feed *cf = h->data;
    cf->open_handles--;
    store_feed_close(cf->feed); /* only now: the poll no longer looks at its socket */
    cf->feed = NULL;
    if (!cf->stopping) {
        reopen_later(cf);
    }
    free_when_closed(cf);
}

static void lose_connection(change_feed *cf)
{
    cf->stats.connected = false;
    cf->polling = false;
    uv_close((uv_handle_t *)&cf->poll, on_poll_closed);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    (void)events;
    change_feed *cf = p->data;
    char err[TT_ERRLEN] = "";
    if (status < 0 || store_feed_read(cf->feed, on_commit, cf, err) != 0) {
        log_warn("change feed lost: %s", status < 0 ? uv_strerror(status) : err);
        lose_connection(cf);
    }
}

/* Pool thread: connect, then read where the store stands (notifications are not durable, so
 * what was committed while we were away is learned from the store itself). */
static void open_in_pool(uv_work_t *w)
{
    change_feed *cf = w->data;
    cf->opened = NULL;
    cf->open_rc = store_feed_open(cf->st, &cf->opened, cf->err);
    if (cf->open_rc == 0 && (cf->open_rc = store_max_seq(cf->st, &cf->resync_seq, cf->err)) != 0) {
        store_feed_close(cf->opened);
        cf->opened = NULL;
    }
}

static void opened(uv_work_t *w, int status)
{
    change_feed *cf = w->data;
    cf->opening = false;
    if (cf->stopping || status != 0 || cf->open_rc != 0) {
        if (!cf->stopping) {
            log_warn("change feed: %s", status != 0 ? uv_strerror(status) : cf->err);
            reopen_later(cf);
        }
        store_feed_close(cf->opened);
        free_when_closed(cf);
        return;
    }
    cf->feed = cf->opened;
    store_feed_on_notice(cf->feed, cf->on_notice, cf->notice_ctx);
    if (cf->on_notice != NULL) {
        cf->on_notice("", cf->notice_ctx);
    }
    cf->retry_ms = RETRY_FIRST_MS;
    cf->stats.connected = true;
    heard_of(cf, cf->resync_seq);
    uv_poll_init(cf->loop, &cf->poll, store_feed_fd(cf->feed));
    cf->poll.data = cf;
    cf->open_handles++;
    cf->polling = true;
    uv_poll_start(&cf->poll, UV_READABLE, on_readable);
}

static void open_now(change_feed *cf)
{
    cf->work.data = cf;
    if (uv_queue_work(cf->loop, &cf->work, open_in_pool, opened) == 0) {
        cf->opening = true;
    }
}

static void on_retry(uv_timer_t *t)
{
    change_feed *cf = t->data;
    cf->stats.reconnects++;
    open_now(cf);
}

static void reopen_later(change_feed *cf)
{
    uv_timer_start(&cf->retry, on_retry, cf->retry_ms, 0);
    cf->retry_ms = cf->retry_ms * 2 < RETRY_MAX_MS ? cf->retry_ms * 2 : RETRY_MAX_MS;
}

int change_feed_start(uv_loop_t *loop, store *st, change_feed_fn on_seq, void *ctx,
                      change_feed **out)
{
    change_feed *cf = calloc(1, sizeof *cf);
    if (cf == NULL) {
        return TT_ENOMEM;
    }
    cf->loop = loop;
    cf->st = st;
    cf->on_seq = on_seq;
    cf->ctx = ctx;
    cf->retry_ms = RETRY_FIRST_MS;
    uv_timer_init(loop, &cf->retry);
    cf->retry.data = cf;
    cf->open_handles = 1;
    cf->stats.available = store_has_feed(st);
    if (cf->stats.available) {
        open_now(cf);
    }
    *out = cf;
    return 0;
}

void change_feed_stop(change_feed *cf)
{
    if (cf == NULL) {
        return;
    }
    cf->stopping = true;
    uv_close((uv_handle_t *)&cf->retry, on_handle_closed);
    if (cf->polling) {
        cf->polling = false;
        uv_close((uv_handle_t *)&cf->poll, on_poll_closed);
    }
    if (cf->opening) {
        uv_cancel((uv_req_t *)&cf->work); /* if it has not started; otherwise opened() frees */
    }
}

void change_feed_get_stats(const change_feed *cf, change_feed_stats *out)
{
    *out = cf->stats;
}

void change_feed_on_notice(change_feed *cf, store_notice_fn fn, void *ctx)
{
    cf->on_notice = fn;
    cf->notice_ctx = ctx;
    if (cf->feed != NULL) {
        store_feed_on_notice(cf->feed, fn, ctx);
    }
}
