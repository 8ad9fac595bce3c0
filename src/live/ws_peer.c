/* ws_peer.c -- shared WebSocket messages and per-client queues. */
#include "live/ws_peer.h"

#include "core/json_print.h"
#include "http/http_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ws_msg *msg_alloc(size_t len, int64_t seq, bool binary)
{
    ws_msg *m = malloc(sizeof *m + LWS_PRE + len);
    if (m != NULL) {
        m->refs = 1;
        m->seq = seq;
        m->binary = binary;
        m->len = len;
    }
    return m;
}

ws_msg *ws_msg_new(const void *bytes, size_t len, int64_t seq)
{
    ws_msg *m = msg_alloc(len, seq, false);
    if (m != NULL && bytes != NULL) {
        memcpy(m->data + LWS_PRE, bytes, len);
    }
    return m;
}

ws_msg *ws_msg_new_binary(size_t len)
{
    return msg_alloc(len, 0, true);
}

ws_msg *ws_msg_from_writer(json_writer *w, int64_t seq)
{
    ws_msg *m = !w->out.oom && w->out.buf != NULL ? ws_msg_new(w->out.buf, w->out.len, seq) : NULL;
    free(w->out.buf);
    *w = (json_writer){0};
    return m;
}

unsigned char *ws_msg_payload(ws_msg *m)
{
    return m->data + LWS_PRE;
}

void ws_msg_unref(ws_msg *m)
{
    if (m != NULL && --m->refs == 0) {
        free(m);
    }
}

bool msg_ring_push(msg_ring *r, ws_msg *m)
{
    if (r->count == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 64;
        ws_msg **n = malloc(ncap * sizeof *n);
        if (n == NULL) {
            return false;
        }
        for (size_t i = 0; i < r->count; i++) {
            n[i] = r->slots[(r->head + i) % r->cap];
        }
        free(r->slots);
        r->slots = n;
        r->cap = ncap;
        r->head = 0;
    }
    r->slots[(r->head + r->count++) % r->cap] = m;
    r->bytes += m->len;
    m->refs++;
    return true;
}

ws_msg *msg_ring_pop(msg_ring *r)
{
    if (r->count == 0) {
        return NULL;
    }
    ws_msg *m = r->slots[r->head];
    r->head = (r->head + 1) % r->cap;
    r->count--;
    r->bytes -= m->len;
    return m;
}

void msg_ring_clear(msg_ring *r)
{
    ws_msg *m;
    while ((m = msg_ring_pop(r)) != NULL) {
        ws_msg_unref(m);
    }
}

void msg_ring_free(msg_ring *r)
{
    msg_ring_clear(r);
    free(r->slots);
    *r = (msg_ring){0};
}

void msg_ring_filter(msg_ring *r, bool (*keep)(const ws_msg *m))
{
    size_t n = r->count;
    for (size_t i = 0; i < n; i++) {
        ws_msg *m = msg_ring_pop(r);
        if (keep(m)) {
            msg_ring_push(r, m); /* cannot fail: the ring just gave up this slot */
        }
        ws_msg_unref(m);
    }
}

int ws_rx_add(struct lws *wsi, ws_rx *rx, const void *in, size_t len, size_t limit)
{
    if (rx->len + len > limit) {
        http_count_limit(wsi, HTTP_LIMIT_WS_MESSAGE); /* the endpoint's own limit, below ours */
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                         (unsigned char *)"message too big", 15);
        return -1;
    }
    char *grown = realloc(rx->buf, rx->len + len + 1);
    if (grown == NULL) {
        return -1;
    }
    rx->buf = grown;
    memcpy(rx->buf + rx->len, in, len);
    rx->len += len;
    rx->buf[rx->len] = '\0';
    return lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0 ? 1 : 0;
}

void ws_rx_clear(ws_rx *rx)
{
    free(rx->buf);
    *rx = (ws_rx){0};
}

bool ws_peer_send(ws_peer *p, ws_msg *m, uint64_t max_bytes)
{
    if (p->closing || m == NULL) {
        return true;
    }
    if (p->out.bytes + m->len > max_bytes || !msg_ring_push(&p->out, m)) {
        ws_peer_close(p, LWS_CLOSE_STATUS_POLICY_VIOLATION, "slow consumer");
        return false;
    }
    lws_callback_on_writable(p->wsi);
    return true;
}

void ws_peer_close(ws_peer *p, int code, const char *reason)
{
    if (p->closing || p->wsi == NULL) {
        return;
    }
    p->closing = true;
    p->close_code = code;
    snprintf(p->close_reason, sizeof p->close_reason, "%s", reason);
    msg_ring_clear(&p->out);
    lws_set_timer_usecs(p->wsi, 1);
    lws_cancel_service(lws_get_context(p->wsi)); /* has lws arm the timer now */
}

int ws_peer_on_timer(ws_peer *p)
{
    if (!p->closing) {
        return 0;
    }
    lws_close_reason(p->wsi, (enum lws_close_status)p->close_code, (unsigned char *)p->close_reason,
                     strlen(p->close_reason));
    return -1;
}

int ws_peer_flush(ws_peer *p, uint64_t *sent)
{
    struct lws *wsi = p->wsi;
    msg_ring *r = &p->out;
    for (int n = 0; n < WS_WRITES_PER_CALLBACK && !lws_send_pipe_choked(wsi); n++) {
        ws_msg *m = msg_ring_pop(r);
        if (m == NULL) {
            break;
        }
        int rc = lws_write(wsi, m->data + LWS_PRE, m->len,
                           m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        ws_msg_unref(m);
        if (rc < 0) {
            return -1;
        }
        (*sent)++;
    }
    if (r->count > 0) {
        lws_callback_on_writable(wsi);
    }
    return 0;
}
