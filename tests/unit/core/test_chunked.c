/* test_chunked.c -- the chunked transfer coding (RFC 9112 §7.1): bodies decoded whole and split
 * at every byte, extensions and trailers, where the body ends, and every kind of bad framing. */
#include "core/chunked.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

typedef struct sink {
    char out[4096];
    size_t len;
    size_t stop_after; /* 0: never */
} sink;

static int take(void *ctx, const char *data, size_t len)
{
    sink *s = ctx;
    if (s->stop_after != 0 && s->len + len > s->stop_after) {
        return 1;
    }
    assert_true(s->len + len <= sizeof s->out);
    memcpy(s->out + s->len, data, len);
    s->len += len;
    return 0;
}

/* Feeds 'coded' in pieces of 'step' bytes; returns the last result, *used_total the bytes
 * consumed overall. */
static chunked_result feed(const char *coded, size_t step, sink *s, size_t *used_total,
                           chunked_decoder *dec)
{
    chunked_init(dec);
    size_t len = strlen(coded), off = 0;
    chunked_result r = CHUNKED_MORE;
    while (off < len && r == CHUNKED_MORE) {
        size_t n = len - off < step ? len - off : step, used;
        r = chunked_feed(dec, coded + off, n, &used, take, s);
        off += used;
    }
    *used_total = off;
    return r;
}

static void decodes(const char *coded, const char *body, size_t rest)
{
    for (size_t step = 1; step <= strlen(coded); step++) {
        sink s = {0};
        chunked_decoder dec;
        size_t used;
        chunked_result r = feed(coded, step, &s, &used, &dec);
        if (r != CHUNKED_DONE || s.len != strlen(body) || memcmp(s.out, body, s.len) != 0 ||
            used != strlen(coded) - rest) {
            fail_msg("step %zu: result %d, body '%.*s', used %zu (%s)", step, r, (int)s.len, s.out,
                     used, dec.why ? dec.why : "");
        }
    }
}

static void bodies_decode_in_pieces_of_any_size(void **state)
{
    (void)state;
    decodes("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", 0);
    decodes("0\r\n\r\n", "", 0);
    decodes("A\r\n0123456789\r\n0\r\n\r\n", "0123456789", 0);
    decodes("a\r\n0123456789\r\n0\r\n\r\n", "0123456789", 0);
    decodes("003\r\nabc\r\n0000\r\n\r\n", "abc", 0);
}

static void extensions_and_trailers_are_ignored(void **state)
{
    (void)state;
    decodes("3;name=\"v\";x=1\r\nabc\r\n0;last\r\n\r\n", "abc", 0);
    decodes("3 ;x\r\nabc\r\n0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n", "abc", 0);
}

static void what_follows_the_body_is_not_used(void **state)
{
    (void)state;
    decodes("3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "abc", strlen("GET / HTTP/1.1\r\n"));
}

static void refused(const char *coded, const char *why_part)
{
    sink s = {0};
    chunked_decoder dec;
    size_t used;
    chunked_result r = feed(coded, strlen(coded) + 1, &s, &used, &dec);
    if (r != CHUNKED_INVALID || dec.why == NULL || strstr(dec.why, why_part) == NULL) {
        fail_msg("'%s': result %d, why '%s'", coded, r, dec.why ? dec.why : "(none)");
    }
}

static void bad_framing_is_refused(void **state)
{
    (void)state;
    refused("zz\r\nab\r\n0\r\n\r\n", "hexadecimal");
    refused("\r\n", "hexadecimal");
    refused("3x\r\nabc\r\n0\r\n\r\n", "other than an extension");
    refused("3\nabc\r\n0\r\n\r\n", "CRLF");
    refused("3\r\nabcd\r\n0\r\n\r\n", "longer than its size");
    refused("3\r\nabc\rX", "not followed by CRLF");
    refused("0\r\n\rX", "end with CRLF");
    refused("0\r\nX: 1\rX", "trailer line");
    refused("1000000000000000\r\n", "too large");
    char line[CHUNKED_LINE_MAX + 16];
    snprintf(line, sizeof line, "1;%0*d", CHUNKED_LINE_MAX, 0);
    refused(line, "too long");
    char trailer[CHUNKED_TRAILER_MAX + 64];
    int n = snprintf(trailer, sizeof trailer, "0\r\nX: ");
    memset(trailer + n, 'a', CHUNKED_TRAILER_MAX);
    trailer[n + CHUNKED_TRAILER_MAX] = '\0';
    refused(trailer, "trailer section is too long");
}

static void the_sink_can_stop_it(void **state)
{
    (void)state;
    sink s = {.stop_after = 4};
    chunked_decoder dec;
    size_t used;
    assert_int_equal(feed("3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n", 64, &s, &used, &dec),
                     CHUNKED_STOPPED);
    assert_int_equal(s.len, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bodies_decode_in_pieces_of_any_size),
        cmocka_unit_test(extensions_and_trailers_are_ignored),
        cmocka_unit_test(what_follows_the_body_is_not_used),
        cmocka_unit_test(bad_framing_is_refused),
        cmocka_unit_test(the_sink_can_stop_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
