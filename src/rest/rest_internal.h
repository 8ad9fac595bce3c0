/* rest_internal.h -- what the files of /rest/v1 share (rest.c: the entry and access;
 * rest_answer.c: errors, CORS and rendering rows; rest_query.c: reads; rest_insert.c and
 * rest_events.c: inserts). Loop thread, but
 * for the rendering functions, which any thread may call. */
#ifndef TT_REST_INTERNAL_H
#define TT_REST_INTERNAL_H

#include "core/auth.h"
#include "core/json_print.h"
#include "http/http.h"
#include "rest/rest.h"
#include "rest/rest_plan.h"

/* Everything decided about one request before its table is touched. */
typedef struct rest_call {
    const rest_table *table;
    auth_identity who;
    rest_prefs prefs;
    rest_accept accept;
} rest_call;

/* Answers 'r' with PostgREST's error body (and CORS headers). */
void rest_respond_error(http_req *r, const rest_error *e);

/* The CORS headers every /rest/v1 answer carries; added once however often it is called. */
void rest_add_cors(http_req *r);

/* A JSON answer of rows, being rendered (on any thread). Zero it, set shape, single and
 * strip_nulls, then hand rest_rows_add() to the store as its row function. */
typedef struct rest_rows {
    const rest_query *shape; /* table and columns of each row */
    bool single;             /* render the first row only, as an object */
    bool strip_nulls;
    json_buf out;
    int64_t n; /* rows seen */
} rest_rows;

int rest_rows_add(const store_value *cells, void *ctx); /* a store_cells_fn */

/* Closes the rendering and answers 'r' with it: 'status', Content-Range 'range' (may be NULL),
 * or 406 PGRST116 when a single object was asked for and there were not exactly one row.
 * Takes rows->out. */
void rest_rows_answer(http_req *r, int status, rest_rows *rows, const char *range);

/* The reads and the inserts. */
void rest_get(rest_ctx *ctx, http_req *r, const rest_call *call);
void rest_post(rest_ctx *ctx, http_req *r, const rest_call *call);
void rest_events_post(rest_ctx *ctx, http_req *r, const rest_call *call); /* rest_events.c */

/* For both kinds of insert (rest_insert.c): */
/* What each inserted row shows: the 'select' columns with return=representation, else none. */
bool rest_insert_shape(const http_req *r, const rest_call *call, rest_query *ret, rest_error *e);
/* Marks in named[] the columns an insert names: the 'columns' parameter, else every key of
 * every row of 'body' (which may be NULL); PGRST204 for one the table does not have. */
bool rest_insert_columns(const rest_table *t, const char *columns, const cJSON *body, bool *named,
                         rest_error *e);
/* 201, with the rows (rest_rows_answer) or without, Content-Range * / n or * / *. */
void rest_insert_answer(http_req *r, rest_rows *rows, bool representation, bool count, int64_t n);

#endif
