/* chunked.c -- the chunked transfer coding (RFC 9112 §7.1), one byte state at a time except for
 * chunk data, which is passed on in runs. */
#include "core/chunked.h"

enum {
    S_SIZE,    /* hex digits of chunk-size */
    S_EXT,     /* chunk-ext, up to CR */
    S_SIZE_LF, /* the LF after the size line */
    S_DATA,    /* chunk-data */
    S_DATA_CR, /* the CRLF after chunk-data */
    S_DATA_LF,
    S_TRAILER, /* the start of a trailer line, or of the final CRLF */
    S_FIELD,   /* inside a trailer field line */
    S_FIELD_LF,
    S_END_LF, /* the LF of the final CRLF */
    S_DONE,
};

void chunked_init(chunked_decoder *dec)
{
    *dec = (chunked_decoder){.state = S_SIZE};
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static chunked_result invalid(chunked_decoder *dec, const char *why)
{
    dec->why = why;
    return CHUNKED_INVALID;
}

/* The chunk-size line: digits, then an extension, then CRLF. */
static chunked_result size_byte(chunked_decoder *dec, char c)
{
    if (++dec->line > CHUNKED_LINE_MAX) {
        return invalid(dec, "a chunk-size line is too long");
    }
    int h = hex_value(c);
    if (dec->state == S_SIZE && h >= 0) {
        if (++dec->digits > 15) {
            return invalid(dec, "a chunk size is too large");
        }
        dec->left = dec->left * 16 + (uint64_t)h;
        return CHUNKED_MORE;
    }
    if (dec->digits == 0) {
        return invalid(dec, "a chunk does not start with its size in hexadecimal");
    }
    if (c == '\r') {
        dec->state = S_SIZE_LF;
    } else if (c == '\n') {
        return invalid(dec, "a chunk-size line does not end with CRLF");
    } else if (dec->state == S_SIZE && c != ';' && c != ' ' && c != '\t') {
        return invalid(dec, "a chunk size is followed by something other than an extension");
    } else {
        dec->state = S_EXT;
    }
    return CHUNKED_MORE;
}

/* The trailer section: field lines, then an empty line. */
static chunked_result trailer_byte(chunked_decoder *dec, char c)
{
    if (++dec->line > CHUNKED_TRAILER_MAX) {
        return invalid(dec, "the trailer section is too long");
    }
    switch (dec->state) {
    case S_TRAILER:
        dec->state = c == '\r' ? S_END_LF : S_FIELD;
        return CHUNKED_MORE;
    case S_FIELD:
        if (c == '\r') {
            dec->state = S_FIELD_LF;
        }
        return CHUNKED_MORE;
    case S_FIELD_LF:
        dec->state = S_TRAILER;
        return c == '\n' ? CHUNKED_MORE : invalid(dec, "a trailer line does not end with CRLF");
    default: /* S_END_LF */
        dec->state = S_DONE;
        return c == '\n' ? CHUNKED_DONE : invalid(dec, "the body does not end with CRLF");
    }
}

/* One byte outside chunk data. */
static chunked_result framing_byte(chunked_decoder *dec, char c)
{
    switch (dec->state) {
    case S_SIZE:
    case S_EXT:
        return size_byte(dec, c);
    case S_SIZE_LF:
        if (c != '\n') {
            return invalid(dec, "a chunk-size line does not end with CRLF");
        }
        dec->line = 0;
        dec->state = dec->left > 0 ? S_DATA : S_TRAILER;
        return CHUNKED_MORE;
    case S_DATA_CR:
        dec->state = S_DATA_LF;
        return c == '\r' ? CHUNKED_MORE : invalid(dec, "chunk data is longer than its size");
    case S_DATA_LF:
        dec->state = S_SIZE;
        dec->digits = 0;
        dec->line = 0;
        return c == '\n' ? CHUNKED_MORE : invalid(dec, "chunk data is not followed by CRLF");
    default:
        return trailer_byte(dec, c);
    }
}

chunked_result chunked_feed(chunked_decoder *dec, const char *in, size_t len, size_t *used,
                            chunked_data_fn data, void *ctx)
{
    size_t i = 0;
    chunked_result res = dec->state == S_DONE ? CHUNKED_DONE : CHUNKED_MORE;
    while (i < len && res == CHUNKED_MORE) {
        if (dec->state == S_DATA) {
            size_t n = len - i < dec->left ? len - i : (size_t)dec->left;
            if (data(ctx, in + i, n) != 0) {
                res = CHUNKED_STOPPED;
                break;
            }
            i += n;
            dec->left -= n;
            if (dec->left == 0) {
                dec->state = S_DATA_CR;
            }
            continue;
        }
        res = framing_byte(dec, in[i++]);
    }
    *used = i;
    return res;
}
