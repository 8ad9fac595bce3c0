/* json_scan.h -- the lexical checks that cJSON leaves out, run over a body before parsing.
 *
 * cJSON (chosen for speed, see bench/json/README.md) accepts invalid UTF-8, silently cuts a
 * string at "\u0000", takes raw control characters inside strings and numbers such as "01" or
 * "-.5", and recurses up to 1000 levels deep. One linear pass here rejects all of that, so what
 * reaches cJSON is RFC 8259 text of bounded depth. Pure; any thread. */
#ifndef TT_JSON_SCAN_H
#define TT_JSON_SCAN_H

#include <cjson/cJSON.h>
#include <stddef.h>

typedef enum json_scan_result {
    JSON_SCAN_OK = 0,
    JSON_SCAN_BAD_UTF8,   /* a byte sequence that is not UTF-8 */
    JSON_SCAN_TOO_DEEP,   /* more than max_depth nested arrays/objects */
    JSON_SCAN_BAD_STRING, /* control character, bad escape, or "\u0000" in a string */
    JSON_SCAN_BAD_NUMBER, /* a number outside RFC 8259's grammar */
    JSON_SCAN_BAD_BYTE,   /* NUL or another byte that cannot appear outside strings */
    JSON_SCAN_BOM,        /* a byte-order mark (U+FEFF) outside a string: valid UTF-8, but
                           * RFC 8259 §8.1 allows one only before the text, which the caller
                           * skips if it takes one there */
} json_scan_result;

/* Scans s[0..len). On failure *err_offset is the byte offset of the problem. */
json_scan_result json_scan(const char *s, size_t len, unsigned max_depth, size_t *err_offset);

/* A phrase for a result, for error messages ("invalid UTF-8"). */
const char *json_scan_describe(json_scan_result r);

/* The name of a member given twice in one object anywhere in 'node' (at any depth), or NULL.
 * cJSON keeps both and a lookup finds the first, while other readers take the last: a body
 * with {"state":"forced_open","state":"closed"} means nothing certain, so every JSON body route
 * refuses it (DESIGN §5). 'node' comes from a scanned body, so its depth is bounded. */
const char *json_duplicate_member(const cJSON *node);

#endif
