/* ws_peer.c -- shared WebSocket messages and per-client queues. */
#include "live/ws_peer.h"

#include "core/json_print.h"
#include "http/http_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ws_msg *msg_alloc(size_t len, int64_t seq, bool binary)
{
    ws_msg *m = malloc(sizeof *m + WS_PRE + len);
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
        memcpy(m->data + WS_PRE, bytes, len);
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
    return m->data + WS_PRE;
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

int ws_rx_add(http_ws *ws, ws_rx *rx, const void *in, size_t len, size_t limit)
{
    if (rx->len + len > limit) {
        http_ws_count_limit(ws, HTTP_LIMIT_WS_MESSAGE); /* the endpoint's own limit, below ours */
        http_ws_set_close(ws, 1009, "message too big");
        return -1;
    }
    char *grown = realloc(rx->buf, rx->len + len + 1);
    if (grown == NULL) {
        return -1;
    }
    rx->buf = grown;
    if (len > 0) { /* an empty message may come with no buffer at all */
        memcpy(rx->buf + rx->len, in, len);
    }
    rx->len += len;
    rx->buf[rx->len] = '\0';
    return 1; /* the h2o edge hands over whole messages (wslay reassembles them) */
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
        ws_peer_close(p, 1008, "slow consumer"); /* policy violation */
        return false;
    }
    http_ws_want_writable(p->ws);
    return true;
}

void ws_peer_close(ws_peer *p, int code, const char *reason)
{
    if (p->closing || p->ws == NULL) {
        return;
    }
    p->closing = true;
    p->close_code = code;
    snprintf(p->close_reason, sizeof p->close_reason, "%s", reason);
    msg_ring_clear(&p->out);
    http_ws_close(p->ws, code, reason); /* h2o sends the close frame itself, after the queue */
}

int ws_peer_on_timer(ws_peer *p)
{
    return p->closing ? -1 : 0;
}

size_t ws_frame_header(unsigned char h[WS_FRAME_HEADER_MAX], bool binary, size_t len)
{
    h[0] = (unsigned char)(0x80 | (binary ? 0x2 : 0x1)); /* FIN, opcode text or binary */
    if (len < 126) {
        h[1] = (unsigned char)len;
        return 2;
    }
    if (len <= 0xffff) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++) {
        h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    }
    return 10;
}

/* Frames the messages at the head of the queue that fit in 'cap' bytes into 'buf'; returns the
 * bytes framed and *n the messages taken. */
static size_t frame_batch(msg_ring *r, unsigned char *buf, size_t cap, size_t *n)
{
    size_t used = 0;
    *n = 0;
    while (r->count > 0) {
        ws_msg *m = r->slots[r->head];
        unsigned char h[WS_FRAME_HEADER_MAX];
        size_t hl = ws_frame_header(h, m->binary, m->len);
        if (used + hl + m->len > cap) {
            break;
        }
        memcpy(buf + used, h, hl);
        memcpy(buf + used + hl, m->data + WS_PRE, m->len);
        used += hl + m->len;
        ws_msg_unref(msg_ring_pop(r));
        (*n)++;
    }
    return used;
}

/* Hands queued messages to the connection until it is choked or WS_WRITES_PER_CALLBACK
 * writes' worth are given: framed here straight into the connection's next write (several
 * frames per send(), no copy per message), or, for one longer than a write, queued whole. */
int ws_peer_flush(ws_peer *p, uint64_t *sent)
{
    msg_ring *r = &p->out;
    int rc = 0;
    for (int w = 0; w < WS_WRITES_PER_CALLBACK && r->count > 0 && !http_ws_choked(p->ws); w++) {
        size_t room = 0, n = 0;
        unsigned char *at = http_ws_frame_room(p->ws, &room);
        size_t used = at != NULL ? frame_batch(r, at, room, &n) : 0;
        if (n > 0) {
            http_ws_frames_added(p->ws, used);
        } else if (at != NULL && room == HTTP_WS_WRITE_MAX) {
            ws_msg *m = msg_ring_pop(r); /* longer than a write: wslay frames it */
            rc = http_ws_send(p->ws, m->data + WS_PRE, m->len, m->binary);
            ws_msg_unref(m);
            n = rc == 0;
        }
        if (rc < 0 || n == 0) {
            break;
        }
        *sent += n;
    }
    if (rc == 0 && r->count > 0) {
        http_ws_want_writable(p->ws);
    }
    return rc < 0 ? -1 : 0;
}
