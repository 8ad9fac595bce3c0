/* json_scan.c -- one pass of UTF-8, string, number and depth checks over JSON text. */
#include "core/json_scan.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s[0..avail), or 0 if it is not valid (overlong forms,
 * surrogates and code points above U+10FFFF are invalid, as RFC 3629 says). */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80) {
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, min = 0x10000;
    } else {
        return 0;
    }
    if (avail < n) {
        return 0;
    }
    uint32_t cp = c & (0x3f >> (n - 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return n;
}

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Checks the string whose opening quote is at s[*i]; leaves *i after the closing quote. */
static json_scan_result scan_string(const unsigned char *s, size_t len, size_t *i)
{
    (*i)++;
    while (*i < len) {
        unsigned char c = s[*i];
        if (c == '"') {
            (*i)++;
            return JSON_SCAN_OK;
        }
        if (c < 0x20) {
            return JSON_SCAN_BAD_STRING;
        }
        if (c == '\\') {
            if (*i + 1 >= len) {
                return JSON_SCAN_BAD_STRING;
            }
            unsigned char e = s[*i + 1];
            if (e == 'u') {
                if (*i + 6 > len || !is_hex(s[*i + 2]) || !is_hex(s[*i + 3]) ||
                    !is_hex(s[*i + 4]) || !is_hex(s[*i + 5])) {
                    return JSON_SCAN_BAD_STRING;
                }
                if (s[*i + 2] == '0' && s[*i + 3] == '0' && s[*i + 4] == '0' && s[*i + 5] == '0') {
                    return JSON_SCAN_BAD_STRING; /* cJSON would cut the string here */
                }
                *i += 6;
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                       e == 'r' || e == 't') {
                *i += 2;
            } else {
                return JSON_SCAN_BAD_STRING;
            }
            continue;
        }
        size_t n = utf8_seq_len(s + *i, len - *i);
        if (n == 0) {
            return JSON_SCAN_BAD_UTF8;
        }
        *i += n;
    }
    return JSON_SCAN_BAD_STRING; /* unterminated */
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* 2^53-1: every integer of at most this magnitude is exactly a double (RFC 7493 §2.2). */
#define EXACT_MAX "9007199254740991"

/* Whether the integer digits d[0..n) (no leading zero) go beyond EXACT_MAX: compared as text,
 * since reading them as a double is the rounding this check is there to prevent. */
static bool beyond_exact(const unsigned char *d, size_t n)
{
    size_t max_n = sizeof EXACT_MAX - 1;
    return n > max_n || (n == max_n && memcmp(d, EXACT_MAX, max_n) > 0);
}

/* Checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at s[*i]; leaves *i after it. Unless
 * 'wide', an integer -- a number with neither fraction nor exponent -- must be within
 * ±(2^53-1). */
static json_scan_result scan_number(const unsigned char *s, size_t len, size_t *i, bool wide)
{
    size_t p = *i;
    if (p < len && s[p] == '-') {
        p++;
    }
    if (p >= len || !is_digit(s[p])) {
        return JSON_SCAN_BAD_NUMBER;
    }
    size_t digits = p;
    if (s[p] == '0') {
        p++;
    } else {
        while (p < len && is_digit(s[p])) {
            p++;
        }
    }
    bool integer = !(p < len && (s[p] == '.' || s[p] == 'e' || s[p] == 'E'));
    bool big = integer && !wide && beyond_exact(s + digits, p - digits);
    if (p < len && s[p] == '.') {
        p++;
        if (p >= len || !is_digit(s[p])) {
            return JSON_SCAN_BAD_NUMBER;
        }
        while (p < len && is_digit(s[p])) {
            p++;
        }
    }
    if (p < len && (s[p] == 'e' || s[p] == 'E')) {
        p++;
        if (p < len && (s[p] == '+' || s[p] == '-')) {
            p++;
        }
        if (p >= len || !is_digit(s[p])) {
            return JSON_SCAN_BAD_NUMBER;
        }
        while (p < len && is_digit(s[p])) {
            p++;
        }
    }
    /* "01" or "1.2.3": a number must not run straight into more number characters. */
    if (p < len && (is_digit(s[p]) || s[p] == '.' || s[p] == '-' || s[p] == '+')) {
        *i = p;
        return JSON_SCAN_BAD_NUMBER;
    }
    *i = p;
    return big ? JSON_SCAN_BIG_INTEGER : JSON_SCAN_OK;
}

static json_scan_result scan(const char *text, size_t len, unsigned max_depth, bool wide,
                             size_t *err_offset)
{
    const unsigned char *s = (const unsigned char *)text;
    unsigned depth = 0;
    size_t i = 0;
    json_scan_result r = JSON_SCAN_OK;
    while (i < len && r == JSON_SCAN_OK) {
        unsigned char c = s[i];
        size_t start = i;
        if (c == '"') {
            r = scan_string(s, len, &i);
        } else if (c == '-' || is_digit(c)) {
            r = scan_number(s, len, &i, wide);
        } else if (c == '[' || c == '{') {
            r = ++depth > max_depth ? JSON_SCAN_TOO_DEEP : JSON_SCAN_OK;
            i++;
        } else if (c == ']' || c == '}') {
            depth -= depth > 0; /* unbalanced brackets are the parser's to report */
            i++;
        } else if (c == 0xef && i + 2 < len && s[i + 1] == 0xbb && s[i + 2] == 0xbf) {
            r = JSON_SCAN_BOM; /* U+FEFF: valid UTF-8, but no JSON whitespace (RFC 8259 §2) */
        } else if (c >= 0x80) {
            r = JSON_SCAN_BAD_UTF8; /* non-ASCII is only valid inside strings */
        } else if (c == 0 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r')) {
            r = JSON_SCAN_BAD_BYTE;
        } else {
            i++; /* structure, whitespace, literals: the parser judges them */
        }
        if (r != JSON_SCAN_OK && err_offset != NULL) {
            *err_offset = r == JSON_SCAN_BAD_STRING || r == JSON_SCAN_BAD_UTF8 ? i : start;
        }
    }
    return r;
}

json_scan_result json_scan(const char *text, size_t len, unsigned max_depth, size_t *err_offset)
{
    return scan(text, len, max_depth, false, err_offset);
}

json_scan_result json_scan_wide(const char *text, size_t len, unsigned max_depth,
                                size_t *err_offset)
{
    return scan(text, len, max_depth, true, err_offset);
}

const char *json_scan_describe(json_scan_result r)
{
    switch (r) {
    case JSON_SCAN_OK:
        return "valid";
    case JSON_SCAN_BAD_UTF8:
        return "invalid UTF-8";
    case JSON_SCAN_TOO_DEEP:
        return "nesting too deep";
    case JSON_SCAN_BAD_STRING:
        return "invalid string (control character, bad escape, \\u0000, or unterminated)";
    case JSON_SCAN_BAD_NUMBER:
        return "invalid number";
    case JSON_SCAN_BAD_BYTE:
        return "invalid character";
    case JSON_SCAN_BOM:
        return "a byte-order mark (U+FEFF)";
    case JSON_SCAN_BIG_INTEGER:
        return "an integer beyond ±" EXACT_MAX;
    }
    return "invalid";
}

const char *json_scan_advice(json_scan_result r)
{
    return r == JSON_SCAN_BIG_INTEGER ? "JSON numbers are read as doubles, exact only to 2^53-1; "
                                        "send such a value as a string (I-JSON, RFC 7493 §2.2)"
                                      : NULL;
}

const char *json_scan_explain(json_scan_result r, size_t where, char *buf, size_t cap)
{
    const char *advice = json_scan_advice(r);
    snprintf(buf, cap, "%s at byte %zu%s%s", json_scan_describe(r), where,
             advice != NULL ? ": " : "", advice != NULL ? advice : "");
    return buf;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The duplicate among one object's own members. Sorting the names finds it in n log n, so an
 * object of thousands of members stays cheap; without memory for that, pairwise. */
static const char *duplicate_here(const cJSON *obj, size_t n)
{
    const char *dup = NULL;
    const char **names = malloc(n * sizeof *names);
    if (names == NULL) {
        for (const cJSON *a = obj->child; a != NULL && dup == NULL; a = a->next) {
            for (const cJSON *b = a->next; b != NULL && dup == NULL; b = b->next) {
                dup = strcmp(a->string, b->string) == 0 ? a->string : NULL;
            }
        }
        return dup;
    }
    size_t k = 0;
    for (const cJSON *c = obj->child; c != NULL; c = c->next) {
        names[k++] = c->string;
    }
    qsort(names, n, sizeof *names, compare_names);
    for (size_t i = 1; i < n && dup == NULL; i++) {
        dup = strcmp(names[i - 1], names[i]) == 0 ? names[i] : NULL;
    }
    free(names);
    return dup;
}

const char *json_duplicate_member(const cJSON *node)
{
    if (node == NULL || !(cJSON_IsObject(node) || cJSON_IsArray(node))) {
        return NULL;
    }
    size_t n = 0;
    for (const cJSON *c = node->child; c != NULL; c = c->next) {
        const char *dup = json_duplicate_member(c);
        if (dup != NULL) {
            return dup;
        }
        n++;
    }
    return cJSON_IsObject(node) && n >= 2 ? duplicate_here(node, n) : NULL;
}
