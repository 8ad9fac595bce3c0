/* content_coding.h -- request bodies sent with a content coding (RFC 9110 §8.4): which codings
 * telltale takes, and decoding them with a limit on what they decode to.
 *
 * Taken: gzip (RFC 1952; "x-gzip" is its alias, RFC 9110 §8.4.1.3), deflate (the zlib format
 * of RFC 1950 around RFC 1951 data, as RFC 9110 §8.4.1.2 defines it -- raw deflate data is
 * not it) and identity. One coding per body at most: a list of two or more is refused, so
 * that no body is decoded twice. Pure logic over zlib; any thread. */
#ifndef TT_CONTENT_CODING_H
#define TT_CONTENT_CODING_H

#include <stdbool.h>
#include <stddef.h>

typedef enum content_coding {
    CODING_IDENTITY = 0,
    CODING_GZIP,
    CODING_DEFLATE,
} content_coding;

/* What Accept-Encoding names in a 415 for a coding not taken (RFC 7694 §3). */
#define CONTENT_CODINGS_ACCEPTED "gzip, deflate"

/* Reads a Content-Encoding field value: "" (absent), "identity", "gzip", "x-gzip" or
 * "deflate", case-insensitive, with optional whitespace around it. False for any other
 * value, a list of several codings, or parameters. */
bool content_coding_parse(const char *value, content_coding *out);

/* The coding's name as RFC 9110 spells it ("gzip"). */
const char *content_coding_name(content_coding c);

typedef enum content_decode_result {
    DECODE_OK = 0,
    DECODE_TOO_LARGE, /* it decodes to more than 'limit' bytes; decoding stopped there */
    DECODE_INVALID, /* not data of that coding: bad header, corrupt, truncated, or trailing bytes */
    DECODE_NOMEM,
} content_decode_result;

/* Decodes 'len' bytes of 'in' (not identity) into *out, a new buffer (free()) of *out_len
 * bytes plus a terminating NUL. At most limit + 1 bytes are ever produced, so a small body
 * that inflates to gigabytes costs no more than 'limit' bytes and the work to reach them. */
content_decode_result content_decode(content_coding c, const void *in, size_t len, size_t limit,
                                     char **out, size_t *out_len);

#endif
