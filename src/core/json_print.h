/* json_print.h -- writing JSON, exactly: the one way telltale writes its output -- documents
 * with json_writer, and messages composed around parts rendered once (Realtime's per-channel
 * heads around a row's shared data) with json_put_*() on the same buffer.
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
#include <stdint.h>

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
/* An integer exactly, in decimal: an int64 never passes through a double, which above 2^53
 * would round it (9007199254740993 read back as ...992, a cursor that replays an event). */
void json_put_int64(json_buf *out, int64_t v);

/* A JSON document written as it goes, without a tree: objects and arrays nest, commas and
 * colons come by themselves. Zero-initialise it, write one value (usually an object), then take
 * w->out.buf (the caller frees it) -- unless w->out.oom, or a nesting past JSON_WRITER_DEPTH
 * (which also sets oom). Strings are written as json_put_string() writes them, numbers as
 * json_put_number(). */
#define JSON_WRITER_DEPTH 16

typedef struct json_writer {
    json_buf out;
    int depth;
    bool has_items[JSON_WRITER_DEPTH]; /* at each open level: something was written already */
    bool after_key;
} json_writer;

void json_open_object(json_writer *w);
void json_close_object(json_writer *w);
void json_open_array(json_writer *w);
void json_close_array(json_writer *w);
void json_key(json_writer *w, const char *name); /* inside an object, before each value */
void json_string(json_writer *w, const char *s); /* NULL is written as null */
void json_number(json_writer *w, double d);
void json_int64(json_writer *w, int64_t v); /* every int64 (ids, seqs, counts, ms) goes here */
void json_bool(json_writer *w, bool b);
void json_null(json_writer *w);
/* A value already rendered as JSON text ('json' must be one valid value). */
void json_raw_value(json_writer *w, const char *json, size_t len);
/* Shorthands for a member: json_key() then the value. */
void json_member_string(json_writer *w, const char *name, const char *s);
void json_member_number(json_writer *w, const char *name, double d);
void json_member_int64(json_writer *w, const char *name, int64_t v);
void json_member_bool(json_writer *w, const char *name, bool b);

/* A cJSON node holding 'v' exactly (a raw number, which json_print() writes as it is), for
 * trees: cJSON_CreateNumber() keeps a double only. NULL when out of memory. */
cJSON *json_create_int64(int64_t v);

/* Appends 'node' (NULL: nothing) as compact JSON, NUL-terminated. */
void json_print_to(json_buf *out, const cJSON *node);

/* Returns the compact JSON of 'node' (the caller frees it), *len its length; NULL when out
 * of memory. */
char *json_print(const cJSON *node, size_t *len);

/* The same, then deletes 'node' whatever happens. */
char *json_print_delete(cJSON *node, size_t *len);

#endif
