/* test_content_coding.c -- Content-Encoding names (RFC 9110 §8.4) and decoding gzip and
 * deflate with a limit: bodies compressed here with zlib's own deflate (so the test shares
 * nothing with the decoder but the format), every way such a body can be wrong, the limit at
 * its boundary, and a bomb that must stop at the limit. */
#include "core/content_coding.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Compresses 'in' as gzip (window 31) or zlib (window 15); *len gets the size. */
static unsigned char *compress_as(const void *in, size_t n, int window, size_t *len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, window, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)n);
    unsigned char *out = malloc(cap);
    assert_non_null(out);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *len = z.total_out;
    deflateEnd(&z);
    return out;
}

static void names_are_read_exactly(void **state)
{
    (void)state;
    content_coding c;
    struct {
        const char *value;
        bool ok;
        content_coding coding;
    } cases[] = {
        {"", true, CODING_IDENTITY},
        {"identity", true, CODING_IDENTITY},
        {"gzip", true, CODING_GZIP},
        {"GZip", true, CODING_GZIP},
        {" x-gzip\t", true, CODING_GZIP},
        {"deflate", true, CODING_DEFLATE},
        {"br", false, 0},
        {"compress", false, 0},
        {"gzip, gzip", false, 0},
        {"gzip,deflate", false, 0},
        {"gzip;q=1", false, 0},
        {"gzi", false, 0},
        {"gzipx", false, 0},
        {"zstd", false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool ok = content_coding_parse(cases[i].value, &c);
        if (ok != cases[i].ok || (ok && c != cases[i].coding)) {
            fail_msg("'%s': got %d/%d", cases[i].value, ok, (int)c);
        }
    }
    assert_string_equal(content_coding_name(CODING_GZIP), "gzip");
    assert_string_equal(content_coding_name(CODING_DEFLATE), "deflate");
}

static void decode_ok(content_coding c, int window, const char *text, size_t limit)
{
    size_t n;
    unsigned char *z = compress_as(text, strlen(text), window, &n);
    char *out;
    size_t out_len;
    assert_int_equal(content_decode(c, z, n, limit, &out, &out_len), DECODE_OK);
    assert_int_equal(out_len, strlen(text));
    assert_memory_equal(out, text, out_len);
    assert_int_equal(out[out_len], '\0');
    free(out);
    free(z);
}

static void gzip_and_deflate_decode(void **state)
{
    (void)state;
    decode_ok(CODING_GZIP, 31, "{\"type\":\"a\"}", 1024);
    decode_ok(CODING_DEFLATE, 15, "{\"type\":\"a\"}", 1024);
    decode_ok(CODING_GZIP, 31, "", 1024);
    char big[20000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    decode_ok(CODING_GZIP, 31, big, sizeof big - 1); /* exactly at the limit */
}

static content_decode_result decode(content_coding c, const void *in, size_t n, size_t limit)
{
    char *out = (char *)1;
    size_t out_len = 1;
    content_decode_result r = content_decode(c, in, n, limit, &out, &out_len);
    if (r != DECODE_OK) {
        assert_null(out);
        assert_int_equal(out_len, 0);
    } else {
        free(out);
    }
    return r;
}

static void wrong_data_is_invalid(void **state)
{
    (void)state;
    const char *plain = "{\"type\":\"a\"}";
    size_t n, gz_len, zl_len;
    unsigned char *gz = compress_as(plain, strlen(plain), 31, &gz_len);
    unsigned char *zl = compress_as(plain, strlen(plain), 15, &zl_len);
    unsigned char *raw = compress_as(plain, strlen(plain), -15, &n);
    assert_int_equal(decode(CODING_GZIP, plain, strlen(plain), 1024), DECODE_INVALID);
    assert_int_equal(decode(CODING_DEFLATE, plain, strlen(plain), 1024), DECODE_INVALID);
    assert_int_equal(decode(CODING_DEFLATE, raw, n, 1024), DECODE_INVALID);  /* raw deflate */
    assert_int_equal(decode(CODING_GZIP, zl, zl_len, 1024), DECODE_INVALID); /* wrong wrapper */
    assert_int_equal(decode(CODING_DEFLATE, gz, gz_len, 1024), DECODE_INVALID);
    assert_int_equal(decode(CODING_GZIP, gz, gz_len - 4, 1024), DECODE_INVALID); /* truncated */
    assert_int_equal(decode(CODING_GZIP, "", 0, 1024), DECODE_INVALID);
    unsigned char *more = malloc(gz_len + 3);
    memcpy(more, gz, gz_len);
    memcpy(more + gz_len, "abc", 3);
    assert_int_equal(decode(CODING_GZIP, more, gz_len + 3, 1024), DECODE_INVALID); /* trailing */
    gz[gz_len / 2] ^= 0x55;
    assert_int_not_equal(decode(CODING_GZIP, gz, gz_len, 1024), DECODE_OK); /* corrupt */
    free(more);
    free(gz);
    free(zl);
    free(raw);
}

static void limit_counts_decoded_bytes(void **state)
{
    (void)state;
    char text[5000];
    memset(text, ' ', sizeof text);
    size_t n;
    unsigned char *gz = compress_as(text, sizeof text, 31, &n);
    assert_int_equal(decode(CODING_GZIP, gz, n, sizeof text), DECODE_OK);
    assert_int_equal(decode(CODING_GZIP, gz, n, sizeof text - 1), DECODE_TOO_LARGE);
    free(gz);
}

/* 256 MiB of zeros in about 250 kB: decoding must give up at the limit. (It would take
 * 256 MiB of memory otherwise: the test would be slow or killed, not silently pass.) */
static void a_bomb_stops_at_the_limit(void **state)
{
    (void)state;
    size_t big = 256u << 20;
    char *zeros = calloc(1, big);
    assert_non_null(zeros);
    size_t n;
    unsigned char *gz = compress_as(zeros, big, 31, &n);
    free(zeros);
    assert_true(n < big / 100);
    assert_int_equal(decode(CODING_GZIP, gz, n, 1 << 20), DECODE_TOO_LARGE);
    free(gz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_are_read_exactly),    cmocka_unit_test(gzip_and_deflate_decode),
        cmocka_unit_test(wrong_data_is_invalid),     cmocka_unit_test(limit_counts_decoded_bytes),
        cmocka_unit_test(a_bomb_stops_at_the_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
