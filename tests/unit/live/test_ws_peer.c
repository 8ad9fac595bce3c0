/* test_ws_peer.c -- the frames ws_peer_flush() coalesces into one write: each message's header
 * as RFC 6455 §5.2 lays out an unmasked server frame (FIN set, opcode 1 text or 2 binary, the
 * payload length in 7 bits, or 126 + 16 bits, or 127 + 64 bits, network byte order), at the
 * edges of each length form; and frame_batch() taking queued messages in order, within the
 * write's byte cap, each framed whole. */
#include "live/ws_peer.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void assert_header(bool binary, size_t len, const unsigned char *want, size_t want_len)
{
    unsigned char h[WS_FRAME_HEADER_MAX];
    size_t n = ws_frame_header(h, binary, len);
    assert_int_equal(n, want_len);
    assert_memory_equal(h, want, want_len);
}

static void test_header_lengths(void **state)
{
    (void)state;
    assert_header(false, 0, (const unsigned char[]){0x81, 0}, 2);
    assert_header(false, 125, (const unsigned char[]){0x81, 125}, 2);
    assert_header(false, 126, (const unsigned char[]){0x81, 126, 0, 126}, 4);
    assert_header(true, 65535, (const unsigned char[]){0x82, 126, 0xff, 0xff}, 4);
    assert_header(false, 65536, (const unsigned char[]){0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}, 10);
    assert_header(true, 0x0102030405ull, (const unsigned char[]){0x82, 127, 0, 0, 0, 1, 2, 3, 4, 5},
                  10);
}

static ws_msg *text(const char *s)
{
    return ws_msg_new(s, strlen(s), 0);
}

/* Three queued messages, a cap that holds the first two whole: two frames, in order, and the
 * third stays queued. */
static void test_batch_within_cap(void **state)
{
    (void)state;
    msg_ring r = {0};
    ws_msg *a = text("hello"), *b = ws_msg_new(NULL, 200, 0), *c = text("third");
    memset(ws_msg_payload(b), 'x', 200);
    assert_true(msg_ring_push(&r, a) && msg_ring_push(&r, b) && msg_ring_push(&r, c));
    ws_msg_unref(a);
    ws_msg_unref(b);
    ws_msg_unref(c);
    unsigned char buf[2 + 5 + 4 + 200 + 3];
    size_t n = 0;
    size_t used = frame_batch(&r, buf, sizeof buf, &n);
    assert_int_equal(n, 2);
    assert_int_equal(used, 2 + 5 + 4 + 200);
    const unsigned char *f = buf;
    assert_memory_equal(f, "\x81\x05hello", 7);
    assert_memory_equal(f + 7, "\x81\x7e\x00\xc8", 4);
    assert_int_equal(f[11], 'x');
    assert_int_equal(f[11 + 199], 'x');
    assert_int_equal(r.count, 1);
    ws_msg *left = msg_ring_pop(&r);
    assert_memory_equal(ws_msg_payload(left), "third", 5);
    ws_msg_unref(left);
    msg_ring_free(&r);
}

/* A message larger than the cap is not taken: it goes alone, in a frame of its own (wslay's,
 * http/ws_h2o.c). */
static void test_batch_leaves_large_message(void **state)
{
    (void)state;
    msg_ring r = {0};
    ws_msg *big = ws_msg_new(NULL, 5000, 0);
    assert_true(msg_ring_push(&r, big));
    ws_msg_unref(big);
    unsigned char buf[4096];
    size_t n = 1;
    assert_int_equal(frame_batch(&r, buf, 4096, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(r.count, 1);
    msg_ring_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_lengths),
        cmocka_unit_test(test_batch_within_cap),
        cmocka_unit_test(test_batch_leaves_large_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
