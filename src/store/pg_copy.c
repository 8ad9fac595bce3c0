/* pg_copy.c -- COPY text rows. */
#include "store/pg_copy.h"

#include "core/timefmt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_bytes(pg_copy_buf *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 65536;
        while (cap < b->len + n) {
            cap *= 2;
        }
        char *grown = realloc(b->buf, cap);
        if (grown == NULL) {
            b->oom = true;
            return;
        }
        b->buf = grown;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
}

static void putf(pg_copy_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(pg_copy_buf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    put_bytes(b, tmp, (size_t)n);
}

/* A text column (after a tab unless it comes first): backslash, newline, carriage return and
 * tab escaped; NULL as \N. */
static void put_column(pg_copy_buf *b, const char *s, bool first)
{
    if (!first) {
        put_bytes(b, "\t", 1);
    }
    if (s == NULL) {
        put_bytes(b, "\\N", 2);
        return;
    }
    const char *run = s;
    for (const char *p = s; *p != '\0'; p++) {
        const char *esc = *p == '\\'   ? "\\\\"
                          : *p == '\n' ? "\\n"
                          : *p == '\r' ? "\\r"
                          : *p == '\t' ? "\\t"
                                       : NULL;
        if (esc != NULL) {
            put_bytes(b, run, (size_t)(p - run));
            put_bytes(b, esc, 2);
            run = p + 1;
        }
    }
    put_bytes(b, run, strlen(run));
}

static void put_text(pg_copy_buf *b, const char *s)
{
    put_column(b, s, false);
}

static void put_time(pg_copy_buf *b, int64_t ms)
{
    char t[TIMEFMT_LEN];
    timefmt_format(ms, t);
    put_text(b, t);
}

static void put_double(pg_copy_buf *b, bool present, double v)
{
    if (present) {
        putf(b, "\t%.17g", v);
    } else {
        put_bytes(b, "\t\\N", 3);
    }
}

void pg_copy_event(pg_copy_buf *b, const tt_event *ev, long long ord)
{
    if (ord >= 0) {
        putf(b, "%lld", ord);
    }
    put_column(b, ev->id, ord < 0);
    put_time(b, ev->ts_ms);
    put_time(b, ev->received_ms);
    put_text(b, ev->type);
    put_text(b, ev->source);
    put_text(b, ev->session_id);
    put_text(b, ev->name);
    put_text(b, ev->status);
    put_double(b, ev->has & EVENT_HAS_DURATION, ev->duration_ms);
    if (ev->has & EVENT_HAS_BYTES) {
        putf(b, "\t%lld", (long long)ev->bytes);
    } else {
        put_bytes(b, "\t\\N", 3);
    }
    put_double(b, ev->has & EVENT_HAS_VALUE, ev->value);
    put_text(b, ev->error);
    put_text(b, ev->attrs);
    put_bytes(b, "\n", 1);
}
