/* prescan.c -- a strict RFC 8259 checker that builds nothing: the validation telltale would
 * have to run itself before handing a body to a lenient parser such as cJSON.
 *
 * It rejects what cJSON accepts (see strictness.c): invalid UTF-8 (including overlong
 * forms, encoded surrogates and code points above U+10FFFF), raw control characters and
 * \u0000 in strings, lone surrogate escapes, numbers outside the RFC grammar, nesting
 * deeper than 'max_depth', a byte-order mark, and anything after the value but
 * whitespace. Duplicate keys and number overflow are left to a check on the tree.
 * This is a measuring stick for the benchmark, not production code: it is not fuzzed. */
#include "bench.h"

typedef struct scan {
    const unsigned char *p, *end;
    int depth, max_depth;
} scan;

static bool value(scan *s);

static void ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) {
        s->p++;
    }
}

static bool cont(scan *s, unsigned char lo, unsigned char hi)
{
    if (s->p >= s->end || *s->p < lo || *s->p > hi) {
        return false;
    }
    s->p++;
    return true;
}

/* One UTF-8 sequence of two or more bytes, per RFC 3629's table (no overlongs, no
 * surrogates, nothing above U+10FFFF). */
static bool utf8_multi(scan *s)
{
    unsigned char c = *s->p++;
    if (c >= 0xc2 && c <= 0xdf) {
        return cont(s, 0x80, 0xbf);
    }
    if (c == 0xe0) {
        return cont(s, 0xa0, 0xbf) && cont(s, 0x80, 0xbf);
    }
    if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
        return cont(s, 0x80, 0xbf) && cont(s, 0x80, 0xbf);
    }
    if (c == 0xed) {
        return cont(s, 0x80, 0x9f) && cont(s, 0x80, 0xbf);
    }
    if (c == 0xf0) {
        return cont(s, 0x90, 0xbf) && cont(s, 0x80, 0xbf) && cont(s, 0x80, 0xbf);
    }
    if (c >= 0xf1 && c <= 0xf3) {
        return cont(s, 0x80, 0xbf) && cont(s, 0x80, 0xbf) && cont(s, 0x80, 0xbf);
    }
    if (c == 0xf4) {
        return cont(s, 0x80, 0x8f) && cont(s, 0x80, 0xbf) && cont(s, 0x80, 0xbf);
    }
    return false;
}

static int hex4(scan *s)
{
    int v = 0;
    if (s->end - s->p < 4) {
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        unsigned char c = *s->p++;
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

static bool string(scan *s)
{
    s->p++; /* opening quote */
    while (s->p < s->end) {
        unsigned char c = *s->p;
        if (c == '"') {
            s->p++;
            return true;
        }
        if (c < 0x20) {
            return false;
        }
        if (c >= 0x80) {
            if (!utf8_multi(s)) {
                return false;
            }
            continue;
        }
        s->p++;
        if (c != '\\') {
            continue;
        }
        if (s->p >= s->end) {
            return false;
        }
        c = *s->p++;
        if (c == 'u') {
            int cp = hex4(s);
            if (cp <= 0 || (cp >= 0xdc00 && cp <= 0xdfff)) {
                return false; /* bad hex, \u0000, or a low surrogate first */
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u') {
                    return false;
                }
                s->p += 2;
                int lo = hex4(s);
                if (lo < 0xdc00 || lo > 0xdfff) {
                    return false;
                }
            }
        } else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
            return false;
        }
    }
    return false;
}

static bool digits(scan *s)
{
    const unsigned char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        s->p++;
    }
    return s->p > start;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static bool number(scan *s)
{
    if (*s->p == '-') {
        s->p++;
    }
    if (s->p < s->end && *s->p == '0') {
        s->p++;
    } else if (!digits(s)) {
        return false;
    }
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!digits(s)) {
            return false;
        }
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-')) {
            s->p++;
        }
        if (!digits(s)) {
            return false;
        }
    }
    /* "01" ends the number after "0"; the caller then finds '1' where ',' belongs. */
    return true;
}

static bool literal(scan *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) {
        return false;
    }
    s->p += n;
    return true;
}

static bool container(scan *s, bool object)
{
    if (++s->depth > s->max_depth) {
        return false;
    }
    s->p++; /* '[' or '{' */
    ws(s);
    unsigned char close = object ? '}' : ']';
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return true;
    }
    for (;;) {
        if (object) {
            if (s->p >= s->end || *s->p != '"' || !string(s)) {
                return false;
            }
            ws(s);
            if (s->p >= s->end || *s->p != ':') {
                return false;
            }
            s->p++;
            ws(s);
        }
        if (!value(s)) {
            return false;
        }
        ws(s);
        if (s->p >= s->end) {
            return false;
        }
        if (*s->p == close) {
            s->p++;
            s->depth--;
            return true;
        }
        if (*s->p != ',') {
            return false;
        }
        s->p++;
        ws(s);
    }
}

static bool value(scan *s)
{
    if (s->p >= s->end) {
        return false;
    }
    switch (*s->p) {
    case '{':
        return container(s, true);
    case '[':
        return container(s, false);
    case '"':
        return string(s);
    case 't':
        return literal(s, "true", 4);
    case 'f':
        return literal(s, "false", 5);
    case 'n':
        return literal(s, "null", 4);
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) {
            return number(s);
        }
        return false;
    }
}

bool json_prescan(const char *in, size_t len, int max_depth, size_t *err_off)
{
    scan s = {(const unsigned char *)in, (const unsigned char *)in + len, 0, max_depth};
    ws(&s);
    bool ok = value(&s);
    if (ok) {
        ws(&s);
        ok = s.p == s.end;
    }
    if (!ok && err_off != NULL) {
        *err_off = (size_t)(s.p - (const unsigned char *)in);
    }
    return ok;
}
