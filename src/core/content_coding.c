/* content_coding.c -- Content-Encoding of request bodies, decoded with zlib (RFC 9110 §8.4). */
#include "core/content_coding.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define GZIP_WINDOW (15 + 16) /* zlib: a gzip wrapper only */
#define ZLIB_WINDOW 15        /* zlib: a zlib wrapper only */
#define FIRST_CAP 4096

bool content_coding_parse(const char *value, content_coding *out)
{
    while (*value == ' ' || *value == '\t') {
        value++;
    }
    size_t n = strlen(value);
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t')) {
        n--;
    }
    static const struct {
        const char *name;
        content_coding coding;
    } names[] = {{"identity", CODING_IDENTITY},
                 {"gzip", CODING_GZIP},
                 {"x-gzip", CODING_GZIP},
                 {"deflate", CODING_DEFLATE}};
    if (n == 0) {
        *out = CODING_IDENTITY;
        return true;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i].name) == n && strncasecmp(value, names[i].name, n) == 0) {
            *out = names[i].coding;
            return true;
        }
    }
    return false;
}

const char *content_coding_name(content_coding c)
{
    switch (c) {
    case CODING_GZIP:
        return "gzip";
    case CODING_DEFLATE:
        return "deflate";
    default:
        return "identity";
    }
}

/* Grows *buf to hold at least 'need' bytes, never beyond 'max'. */
static bool grow(char **buf, size_t *cap, size_t need, size_t max)
{
    if (need <= *cap) {
        return true;
    }
    size_t next = *cap == 0 ? FIRST_CAP : *cap * 2;
    if (next < need) {
        next = need;
    }
    if (next > max) {
        next = max;
    }
    char *b = realloc(*buf, next);
    if (b == NULL) {
        return false;
    }
    *buf = b;
    *cap = next;
    return true;
}

static content_decode_result inflate_all(z_stream *z, size_t limit, char **out, size_t *out_len)
{
    char *buf = NULL;
    size_t cap = 0, len = 0;
    size_t max = limit + 2; /* limit + 1 decoded bytes tell "too large"; + 1 for the NUL */
    content_decode_result res = DECODE_INVALID;
    for (;;) {
        if (!grow(&buf, &cap, len + FIRST_CAP < max ? len + FIRST_CAP : max, max)) {
            res = DECODE_NOMEM;
            break;
        }
        z->next_out = (Bytef *)buf + len;
        z->avail_out = (uInt)(cap - 1 - len);
        int zr = inflate(z, Z_NO_FLUSH);
        len = (size_t)((char *)z->next_out - buf);
        if (len > limit) {
            res = DECODE_TOO_LARGE;
            break;
        }
        if (zr == Z_STREAM_END) {
            res = z->avail_in == 0 ? DECODE_OK : DECODE_INVALID; /* bytes after the stream */
            break;
        }
        if (zr == Z_MEM_ERROR) {
            res = DECODE_NOMEM;
            break;
        }
        if (zr != Z_OK && !(zr == Z_BUF_ERROR && z->avail_out == 0)) {
            break; /* corrupt, or the input ended before the stream did */
        }
    }
    if (res != DECODE_OK) {
        free(buf);
        return res;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return DECODE_OK;
}

content_decode_result content_decode(content_coding c, const void *in, size_t len, size_t limit,
                                     char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (len > UINT32_MAX ||
        inflateInit2(&z, c == CODING_GZIP ? GZIP_WINDOW : ZLIB_WINDOW) != Z_OK) {
        return len > UINT32_MAX ? DECODE_TOO_LARGE : DECODE_NOMEM;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    content_decode_result res = inflate_all(&z, limit, out, out_len);
    inflateEnd(&z);
    return res;
}
