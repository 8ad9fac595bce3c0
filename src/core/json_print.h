/* json_print.h -- writing a cJSON tree as compact JSON, exactly.
 *
 * cJSON's own printer rounds numbers to 15 significant digits (2^53-1 comes out as
 * 9.00719925474099e+15) and is slower than it need be; bench/json measured both. This one
 * writes every number so that it reads back to the same double, integers without an
 * exponent, and strings with the minimal escaping RFC 8259 asks for. Pure; any thread. */
#ifndef TT_JSON_PRINT_H
#define TT_JSON_PRINT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* A growable output buffer. Zero-initialise it; free buf with free(). Once out of memory it
 * stays so, and 'oom' says so. */
typedef struct json_buf {
    char *buf;
    size_t len, cap;
    bool oom;
} json_buf;

/* Appends, keeping the buffer NUL-terminated: bytes as they are; a string quoted and escaped;
 * a number as json_print() writes it. For composing JSON around pre-rendered parts. */
void json_put_raw(json_buf *out, const char *s, size_t n);
void json_put_string(json_buf *out, const char *s);
void json_put_number(json_buf *out, double d);

/* Appends 'node' (NULL: nothing) as compact JSON, NUL-terminated. */
void json_print_to(json_buf *out, const cJSON *node);

/* Returns the compact JSON of 'node' (the caller frees it), *len its length; NULL when out
 * of memory. */
char *json_print(const cJSON *node, size_t *len);

/* The same, then deletes 'node' whatever happens. */
char *json_print_delete(cJSON *node, size_t *len);

#endif
