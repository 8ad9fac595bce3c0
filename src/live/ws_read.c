/* ws_read.c -- a /ws message read on the loop, or on libuv's pool when large. */
#include "live/ws_read.h"

#include "os/clock.h"

#include <stdlib.h>

typedef struct read_off_loop {
    uv_work_t work;
    ws_rx rx; /* the message, taken from its connection */
    gateway *gw;
    int64_t now_ms;
    ws_parsed parsed;
    ws_read_done_fn done;
    void *owner;
    uint64_t conn_id;
} read_off_loop;

static void read_on_pool(uv_work_t *w)
{
    read_off_loop *r = w->data;
    ws_parsed_read(&r->parsed, r->rx.buf, r->rx.len, r->gw, r->now_ms);
}

static void read_done(uv_work_t *w, int status)
{
    read_off_loop *r = w->data;
    if (status == 0) { /* else cancelled at the loop's end: nobody to answer */
        r->done(r->owner, r->conn_id, &r->parsed);
    }
    ws_parsed_free(&r->parsed);
    ws_rx_clear(&r->rx);
    free(r);
}

int ws_read(uv_loop_t *loop, ws_rx *rx, gateway *gw, ws_parsed *now, ws_read_done_fn done,
            void *owner, uint64_t conn_id)
{
    int64_t now_ms = (int64_t)clock_now_ms();
    read_off_loop *r = rx->len >= GATEWAY_PARSE_OFF_LOOP_BYTES ? malloc(sizeof *r) : NULL;
    if (r != NULL) {
        *r = (read_off_loop){.rx = *rx, .gw = gw, .now_ms = now_ms, .done = done,
                             .owner = owner, .conn_id = conn_id};
        r->work.data = r;
        if (uv_queue_work(loop, &r->work, read_on_pool, read_done) == 0) {
            *rx = (ws_rx){0};
            return 1;
        }
        free(r); /* read it here, then */
    }
    ws_parsed_read(now, rx->buf, rx->len, gw, now_ms);
    ws_rx_clear(rx);
    return 0;
}
