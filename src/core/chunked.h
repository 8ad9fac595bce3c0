/* chunked.h -- the chunked transfer coding of a request body (RFC 9112 §7.1), decoded as it
 * arrives, in pieces of any size.
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *
 * Chunk extensions are read and ignored (§7.1.1), trailer fields too (§7.1.2: a server may
 * discard them). Lines end with CRLF only. Limits: a chunk size of at most 15 hex digits, a
 * chunk-size line of CHUNKED_LINE_MAX bytes, a trailer section of CHUNKED_TRAILER_MAX bytes.
 * Pure logic; any thread. */
#ifndef TT_CHUNKED_H
#define TT_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHUNKED_LINE_MAX 1024
#define CHUNKED_TRAILER_MAX 8192

typedef struct chunked_decoder {
    int state;
    uint64_t left;   /* bytes of the current chunk still to come */
    size_t line;     /* bytes of the current size line or trailer section */
    int digits;      /* hex digits of the current chunk size */
    const char *why; /* what was wrong, once chunked_feed() returned CHUNKED_INVALID */
} chunked_decoder;

typedef enum chunked_result {
    CHUNKED_MORE = 0, /* all of the input was used; the body goes on */
    CHUNKED_DONE,     /* the body ended; *used says where (what follows is not the body's) */
    CHUNKED_INVALID,  /* not the chunked coding: dec->why says what */
    CHUNKED_STOPPED,  /* 'data' returned nonzero */
} chunked_result;

/* Called with each run of body bytes; nonzero stops the decoding. */
typedef int (*chunked_data_fn)(void *ctx, const char *data, size_t len);

/* A decoder at the start of a body. */
void chunked_init(chunked_decoder *dec);

/* Feeds 'len' bytes of the coded body; *used is set to the bytes consumed. */
chunked_result chunked_feed(chunked_decoder *dec, const char *in, size_t len, size_t *used,
                            chunked_data_fn data, void *ctx);

#endif
