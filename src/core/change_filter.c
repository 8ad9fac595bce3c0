/* change_filter.c -- parsing and applying postgres_changes filters to events. */
#include "core/change_filter.h"

#include "core/timefmt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum value_kind { TEXT, NUMBER, TIME } value_kind;

typedef enum column {
    COL_SEQ,
    COL_ID,
    COL_TS,
    COL_RECEIVED_AT,
    COL_TYPE,
    COL_SOURCE,
    COL_SESSION_ID,
    COL_NAME,
    COL_STATUS,
    COL_ERROR,
    COL_DURATION_MS,
    COL_BYTES,
    COL_VALUE,
} column;

static const struct {
    const char *name;
    value_kind kind;
} columns[] = {
    [COL_SEQ] = {"seq", NUMBER},
    [COL_ID] = {"id", TEXT},
    [COL_TS] = {"ts", TIME},
    [COL_RECEIVED_AT] = {"received_at", TIME},
    [COL_TYPE] = {"type", TEXT},
    [COL_SOURCE] = {"source", TEXT},
    [COL_SESSION_ID] = {"session_id", TEXT},
    [COL_NAME] = {"name", TEXT},
    [COL_STATUS] = {"status", TEXT},
    [COL_ERROR] = {"error", TEXT},
    [COL_DURATION_MS] = {"duration_ms", NUMBER},
    [COL_BYTES] = {"bytes", NUMBER},
    [COL_VALUE] = {"value", NUMBER},
};
#define NCOLUMNS (int)(sizeof columns / sizeof columns[0])

typedef enum op { OP_EQ, OP_NEQ, OP_LT, OP_LTE, OP_GT, OP_GTE, OP_IN } op;
static const char *const ops[] = {"eq", "neq", "lt", "lte", "gt", "gte", "in"};
#define NOPS (int)(sizeof ops / sizeof ops[0])

void change_filter_free(change_filter *f)
{
    for (int i = 0; i < f->nvalues; i++) {
        free(f->text[i]);
        f->text[i] = NULL;
    }
    f->nvalues = 0;
}

static int find(const char *const *names, int n, const char *s, size_t len)
{
    for (int i = 0; i < n; i++) {
        if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0) {
            return i;
        }
    }
    return -1;
}

static int find_column(const char *s, size_t len)
{
    for (int i = 0; i < NCOLUMNS; i++) {
        if (strlen(columns[i].name) == len && memcmp(columns[i].name, s, len) == 0) {
            return i;
        }
    }
    return -1;
}

/* Adds value [s, s+len) in the column's kind. */
static int add_value(change_filter *f, const char *s, size_t len, char *err)
{
    if (f->nvalues == CHANGE_FILTER_IN_MAX) {
        return tt_fail(err, TT_EINVAL, "at most %d values in in.(...)", CHANGE_FILTER_IN_MAX);
    }
    char *copy = strndup(s, len);
    if (copy == NULL) {
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    f->text[f->nvalues] = copy;
    double *num = &f->number[f->nvalues++];
    value_kind kind = columns[f->column].kind;
    if (kind == NUMBER) {
        char *end;
        *num = strtod(copy, &end);
        if (len == 0 || *end != '\0' || !isfinite(*num)) {
            return tt_fail(err, TT_EINVAL, "'%s' compares numbers: '%.64s' is not one",
                           columns[f->column].name, copy);
        }
    } else if (kind == TIME) {
        int64_t ms;
        if (!timefmt_parse(copy, len, &ms)) {
            return tt_fail(err, TT_EINVAL, "'%s' compares times: '%.64s' is not an RFC 3339 time",
                           columns[f->column].name, copy);
        }
        *num = (double)ms;
    }
    return 0;
}

/* Reads one value at *p, before 'end', and adds it; leaves *p just after it. A value is either
 * "quoted" PostgREST-style, with \" and \\ escapes, as realtime-js writes any value holding
 * , ( ) " \ or edge spaces; or bare, up to the next comma. Commas outside quotes separate
 * list items in in.(...), and conditions elsewhere, which telltale does not take. */
static int take_value(change_filter *f, const char **p, const char *end, bool list, char *err)
{
    const char *s = *p;
    char *buf = malloc((size_t)(end - s) + 1);
    size_t n = 0;
    if (buf == NULL) {
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    int rc = 0;
    if (s < end && *s == '"') {
        for (s++; s < end && *s != '"'; s++) {
            if (*s == '\\' && s + 1 < end) {
                s++;
            }
            buf[n++] = *s;
        }
        if (s == end) {
            rc = tt_fail(err, TT_EINVAL, "unterminated quoted value");
            goto Exit;
        }
        s++;
        if (s < end && *s != ',') {
            rc = tt_fail(err, TT_EINVAL, "only ',' or the end may come after a quoted value");
            goto Exit;
        }
    } else {
        for (; s < end && *s != ','; s++) {
            buf[n++] = *s;
        }
    }
    if (!list && s < end) {
        rc = tt_fail(err, TT_EINVAL,
                     "one condition per filter: quote a value that holds ',' (name=eq.\"a,b\")");
        goto Exit;
    }
    rc = add_value(f, buf, n, err);
    *p = s;
Exit:
    free(buf);
    return rc;
}

/* The values of "(a,b,c)". */
static int add_list(change_filter *f, const char *s, char *err)
{
    size_t len = strlen(s);
    if (len < 2 || s[0] != '(' || s[len - 1] != ')') {
        return tt_fail(err, TT_EINVAL, "in takes a list: column=in.(a,b,c)");
    }
    const char *p = s + 1, *end = s + len - 1;
    for (;;) {
        int rc = take_value(f, &p, end, true, err);
        if (rc != 0 || p == end) {
            return rc;
        }
        p++; /* the comma */
    }
}

int change_filter_parse(const char *spec, change_filter *out, char err[TT_ERRLEN])
{
    *out = (change_filter){0};
    const char *eq = strchr(spec, '=');
    const char *dot = eq != NULL ? strchr(eq + 1, '.') : NULL;
    if (strlen(spec) > CHANGE_FILTER_MAX || eq == NULL || dot == NULL) {
        return tt_fail(err, TT_EINVAL, "a filter reads column=op.value, e.g. type=eq.request");
    }
    out->column = find_column(spec, (size_t)(eq - spec));
    out->op = find(ops, NOPS, eq + 1, (size_t)(dot - eq - 1));
    if (out->column < 0) {
        return tt_fail(err, TT_EINVAL, "no column '%.*s' to filter on in monitoring_events",
                       (int)(eq - spec < 64 ? eq - spec : 64), spec);
    }
    if (out->op < 0) {
        return tt_fail(err, TT_EINVAL,
                       "unknown operator '%.*s': use eq, neq, lt, lte, gt, gte or in",
                       (int)(dot - eq - 1 < 16 ? dot - eq - 1 : 16), eq + 1);
    }
    const char *value = dot + 1;
    int rc = out->op == OP_IN ? add_list(out, value, err)
                              : take_value(out, &value, value + strlen(value), false, err);
    if (rc != 0) {
        change_filter_free(out);
    }
    return rc;
}

/* The event's value in the filter's column: text, or a number (false when absent). */
static bool field_of(const tt_event *ev, int col, const char **text, double *number)
{
    *text = NULL;
    switch ((column)col) {
    case COL_SEQ:
        *number = (double)ev->seq;
        return true;
    case COL_TS:
        *number = (double)ev->ts_ms;
        return true;
    case COL_RECEIVED_AT:
        *number = (double)ev->received_ms;
        return true;
    case COL_DURATION_MS:
        *number = ev->duration_ms;
        return (ev->has & EVENT_HAS_DURATION) != 0;
    case COL_BYTES:
        *number = (double)ev->bytes;
        return (ev->has & EVENT_HAS_BYTES) != 0;
    case COL_VALUE:
        *number = ev->value;
        return (ev->has & EVENT_HAS_VALUE) != 0;
    case COL_ID:
        *text = ev->id;
        return true;
    case COL_TYPE:
        *text = ev->type;
        break;
    case COL_SOURCE:
        *text = ev->source;
        break;
    case COL_SESSION_ID:
        *text = ev->session_id;
        break;
    case COL_NAME:
        *text = ev->name;
        break;
    case COL_STATUS:
        *text = ev->status;
        break;
    case COL_ERROR:
        *text = ev->error;
        break;
    }
    return *text != NULL;
}

static bool holds(int o, int cmp)
{
    switch ((op)o) {
    case OP_EQ:
    case OP_IN:
        return cmp == 0;
    case OP_NEQ:
        return cmp != 0;
    case OP_LT:
        return cmp < 0;
    case OP_LTE:
        return cmp <= 0;
    case OP_GT:
        return cmp > 0;
    case OP_GTE:
        return cmp >= 0;
    }
    return false;
}

bool change_filter_match(const change_filter *f, const tt_event *ev)
{
    const char *text;
    double number = 0;
    if (!field_of(ev, f->column, &text, &number)) {
        return false;
    }
    for (int i = 0; i < f->nvalues; i++) {
        int cmp = text != NULL ? strcmp(text, f->text[i])
                               : (number > f->number[i]) - (number < f->number[i]);
        if (holds(f->op, cmp)) {
            return true; /* one value for every op but in, where any one will do */
        }
    }
    return false;
}
