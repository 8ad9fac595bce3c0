/* fuzz_ndjson.c -- libFuzzer target for NDJSON line splitting (core/ingest.c, parse of
 * INGEST_NDJSON bodies).
 *
 * The input is an NDJSON body. Beyond "no crash, no leak, no undefined behaviour" it checks the
 * splitting against an independent one: a body accepted as NDJSON holds exactly one event per
 * line that is not blank, and each such line, alone, is accepted as one event with the same
 * type; a refused body names a line ("line N: ...") that exists. */
#include "core/ingest.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW_MS INT64_C(1795000000000)

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') {
            return false;
        }
    }
    return true;
}

/* Checks every non-blank line of an accepted body against the batch. */
static void check_lines(const char *body, size_t len, const event_batch *b)
{
    size_t n = 0;
    for (size_t start = 0; start < len;) {
        const char *nl = memchr(body + start, '\n', len - start);
        size_t end = nl != NULL ? (size_t)(nl - body) : len;
        if (!blank(body + start, end - start)) {
            event_batch one;
            ingest_error err;
            if (n >= b->count ||
                ingest_parse(body + start, end - start, INGEST_NDJSON, NOW_MS, 1, &one, &err) !=
                    0 ||
                one.count != 1 || strcmp(one.events[0]->type, b->events[n]->type) != 0) {
                abort();
            }
            event_batch_free(&one);
            n++;
        }
        start = end + 1;
    }
    if (n != b->count) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    size_t len = size;
    event_batch b;
    ingest_error err;
    int rc = ingest_parse(body, len, INGEST_NDJSON, NOW_MS, 10000, &b, &err);
    if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0) {
        body += 3; /* the parser skips a leading BOM; so does the check */
        len -= 3;
    }
    if (rc == 0) {
        check_lines(body, len, &b);
        event_batch_free(&b);
        return 0;
    }
    if (err.code == NULL) {
        abort();
    }
    unsigned line;
    if (sscanf(err.message, "line %u: ", &line) == 1) {
        size_t lines = 1;
        for (size_t i = 0; i < len; i++) {
            lines += body[i] == '\n';
        }
        if (line == 0 || line > lines) {
            abort();
        }
    }
    return 0;
}
