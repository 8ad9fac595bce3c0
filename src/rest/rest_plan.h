/* rest_plan.h -- a /rest/v1 request's query string and headers, read the way PostgREST reads
 * them, into a validated rest_query, or a PostgREST-shaped error (DESIGN §5, "REST").
 *
 * Pure: no I/O; any thread. Every name is checked against the catalog (rest_table.h) and every
 * value against its column's type, so the store never sees client text but as a bound value. */
#ifndef TT_REST_PLAN_H
#define TT_REST_PLAN_H

#include "core/err.h"
#include "rest/rest_table.h"

/* What PostgREST would answer: its status, and the body {code, message, details, hint}. */
typedef struct rest_error {
    int status;
    const char *code;
    char message[TT_ERRLEN];
    char details[TT_ERRLEN]; /* "" is written as null */
    char hint[128];          /* likewise */
} rest_error;

/* Fills 'e' and returns false, for `return rest_fail(e, 400, "PGRST100", ...);`. */
bool rest_fail(rest_error *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The Prefer header, as far as telltale honours it. */
typedef struct rest_prefs {
    bool representation;  /* return=representation */
    bool count;           /* count=exact (planned and estimated are counted exactly too) */
    bool missing_default; /* missing=default */
} rest_prefs;

/* What the client accepts back. */
typedef struct rest_accept {
    bool single;      /* application/vnd.pgrst.object+json: exactly one row, as an object */
    bool strip_nulls; /* ...;nulls=stripped: null fields left out */
} rest_accept;

/* One query parameter, as http.c splits and %-decodes them. */
typedef struct rest_arg {
    const char *name;
    const char *value;
} rest_arg;

bool rest_parse_prefs(const char *prefer, rest_prefs *out, rest_error *e);
bool rest_parse_accept(const char *accept, rest_accept *out, rest_error *e);

/* Accept-Profile / Content-Profile: absent or "monitoring", else 406 PGRST106. */
bool rest_check_profile(const char *profile, rest_error *e);

/* Parses 'select' (NULL: every column) into q->cols; 'table' must be set. */
bool rest_parse_select(const char *select, rest_query *q, rest_error *e);

/* A GET's parameters: select, order, limit, offset and the filters. */
bool rest_parse_query(const rest_arg *args, int nargs, rest_query *q, rest_error *e);

/* Reads 'text' as a value of column 'c' (as PostgreSQL would read a literal of its type).
 * Strings point into 'text'. */
bool rest_parse_value(const rest_column *c, const char *text, store_value *out, rest_error *e);

#endif
