/* json_scan.h -- the lexical checks that cJSON leaves out, run over a body before parsing.
 *
 * cJSON (chosen for speed, see bench/json/README.md) accepts invalid UTF-8, silently cuts a
 * string at "\u0000", takes raw control characters inside strings and numbers such as "01" or
 * "-.5", recurses up to 1000 levels deep, and reads every number as a double, so that
 * 9007199254740993 comes back as ...992. One linear pass here rejects all of that, so what
 * reaches cJSON is RFC 8259 text of bounded depth whose integers it holds exactly: the I-JSON
 * rule (RFC 7493 §2.2), under which a larger integer is sent as a string. Pure; any thread. */
#ifndef TT_JSON_SCAN_H
#define TT_JSON_SCAN_H

#include <cjson/cJSON.h>
#include <stddef.h>

typedef enum json_scan_result {
    JSON_SCAN_OK = 0,
    JSON_SCAN_BAD_UTF8,    /* a byte sequence that is not UTF-8 */
    JSON_SCAN_TOO_DEEP,    /* more than max_depth nested arrays/objects */
    JSON_SCAN_BAD_STRING,  /* control character, bad escape, or "\u0000" in a string */
    JSON_SCAN_BAD_NUMBER,  /* a number outside RFC 8259's grammar */
    JSON_SCAN_BAD_BYTE,    /* NUL or another byte that cannot appear outside strings */
    JSON_SCAN_BOM,         /* a byte-order mark (U+FEFF) outside a string: valid UTF-8, but
                            * RFC 8259 §8.1 allows one only before the text, which the caller
                            * skips if it takes one there */
    JSON_SCAN_BIG_INTEGER, /* an integer (no fraction, no exponent) beyond ±(2^53-1), which a
                            * double cannot hold exactly (I-JSON, RFC 7493 §2.2); 1e300 and
                            * 9007199254740993.0 are doubles by the sender's choice, and pass */
} json_scan_result;

/* Scans s[0..len). On failure *err_offset is the byte offset of the problem (for a number,
 * where it starts). */
json_scan_result json_scan(const char *s, size_t len, unsigned max_depth, size_t *err_offset);

/* As json_scan, but integers of any size pass: for OTLP/JSON, whose 64-bit fields the OTLP
 * specification lets a sender give as numbers (its decoder says how it reads them). */
json_scan_result json_scan_wide(const char *s, size_t len, unsigned max_depth, size_t *err_offset);

/* A phrase for a result, for error messages ("invalid UTF-8"). */
const char *json_scan_describe(json_scan_result r);

/* What the sender can do about a result, to follow its phrase and place in a message, or NULL
 * where the phrase says all ("send such a value as a string ..." for JSON_SCAN_BIG_INTEGER). */
const char *json_scan_advice(json_scan_result r);

/* Writes "<phrase> at byte <where>", then ": <advice>" where there is some, into buf[0..cap);
 * returns buf. The one wording of a scan failure for the routes that name no more context. */
const char *json_scan_explain(json_scan_result r, size_t where, char *buf, size_t cap);

/* The name of a member given twice in one object anywhere in 'node' (at any depth), or NULL.
 * cJSON keeps both and a lookup finds the first, while other readers take the last: a body
 * with {"state":"forced_open","state":"closed"} means nothing certain, so every JSON body route
 * refuses it (DESIGN §5). 'node' comes from a scanned body, so its depth is bounded. */
const char *json_duplicate_member(const cJSON *node);

#endif
