/* fuzz_content_decode.c -- libFuzzer target for request-body content decoding
 * (core/content_coding.c, RFC 9110 §8.4).
 *
 * The first byte picks the coding (even: gzip, odd: deflate) and a limit; the rest is the
 * body as sent. Beyond "no crash, no leak, no undefined behaviour" it checks the decoder's
 * promises: never more than the limit, a NUL after what it gives, and what it gives is what
 * the data holds -- compressed again with zlib and decoded, the same bytes come back. */
#include "core/content_coding.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void round_trip(content_coding c, const char *text, size_t len, size_t limit)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, c == CODING_GZIP ? 31 : 15, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        abort();
    }
    size_t cap = deflateBound(&z, (uLong)len);
    unsigned char *coded = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)text;
    z.avail_in = (uInt)len;
    z.next_out = coded;
    z.avail_out = (uInt)cap;
    if (coded == NULL || deflate(&z, Z_FINISH) != Z_STREAM_END) {
        abort();
    }
    char *again;
    size_t again_len;
    if (content_decode(c, coded, z.total_out, limit, &again, &again_len) != DECODE_OK ||
        again_len != len || memcmp(again, text, len) != 0) {
        abort();
    }
    deflateEnd(&z);
    free(coded);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    content_coding c = data[0] & 1 ? CODING_DEFLATE : CODING_GZIP;
    size_t limit = (size_t)1 << (8 + (data[0] >> 1) % 9); /* 256 B .. 64 KiB */
    char *out;
    size_t out_len;
    content_decode_result r = content_decode(c, data + 1, size - 1, limit, &out, &out_len);
    if (r == DECODE_OK) {
        if (out_len > limit || out[out_len] != '\0') {
            abort();
        }
        round_trip(c, out, out_len, limit);
        free(out);
    } else if (out != NULL || out_len != 0) {
        abort();
    }
    return 0;
}
