/* fuzz_chunked.c -- libFuzzer target for the chunked transfer coding of request bodies
 * (core/chunked.c, RFC 9112 §7.1), fed as HTTP reads deliver it: in pieces.
 *
 * The first byte is a piece size (1..256); the rest is the coded body. The same bytes fed
 * whole and in pieces must give the same result, the same decoded body, and end at the same
 * byte: a decoder whose answer depends on how TCP split the bytes would be a request-smuggling
 * bug. Also: the decoded body is never longer than the input. */
#include "core/chunked.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct sink {
    char *buf;
    size_t len;
} sink;

static int take(void *ctx, const char *data, size_t len)
{
    sink *s = ctx;
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return 0;
}

static chunked_result decode(const char *in, size_t len, size_t step, sink *s, size_t *end,
                             chunked_decoder *dec)
{
    chunked_init(dec);
    chunked_result r = CHUNKED_MORE;
    size_t off = 0;
    while (off < len && r == CHUNKED_MORE) {
        size_t n = len - off < step ? len - off : step, used;
        r = chunked_feed(dec, in + off, n, &used, take, s);
        if (used > n || (r == CHUNKED_MORE && used != n)) {
            abort();
        }
        off += used;
    }
    *end = off;
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    size_t step = (size_t)data[0] + 1;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    sink whole = {malloc(len + 1), 0}, pieces = {malloc(len + 1), 0};
    chunked_decoder d1, d2;
    size_t end1, end2;
    chunked_result r1 = decode(in, len, len + 1, &whole, &end1, &d1);
    chunked_result r2 = decode(in, len, step, &pieces, &end2, &d2);
    bool same =
        r1 == r2 && whole.len == pieces.len && memcmp(whole.buf, pieces.buf, whole.len) == 0;
    if (!same || whole.len > len || (r1 == CHUNKED_INVALID) != (d1.why != NULL) ||
        (r1 == CHUNKED_DONE && end1 != end2) ||
        (r1 == CHUNKED_INVALID && strcmp(d1.why, d2.why) != 0)) {
        abort();
    }
    free(whole.buf);
    free(pieces.buf);
    return 0;
}
