/* rest_sql.h -- SQL text for a /rest/v1 plan, in either engine's dialect, and running it on
 * the store (store_select, store_change).
 *
 * The text is made of the catalog's names (double-quoted) and fixed fragments only; every
 * value becomes a placeholder, listed in 'params' in the order the placeholders appear. Both
 * engines build from here, so a plan means the same on both: same filters, same order (NULLS
 * FIRST/LAST always spelled out, as the engines' defaults differ), same limits. */
#ifndef TT_REST_SQL_H
#define TT_REST_SQL_H

#include "core/json_print.h"
#include "rest/rest_table.h"

typedef struct rest_dialect {
    bool postgres; /* $n placeholders with casts, schema "monitoring.", timestamptz, json types */
} rest_dialect;

typedef struct rest_sql {
    json_buf text;
    store_param *params;
    int nparams, cap;
    store_value limit, offset; /* what the LIMIT and OFFSET placeholders point at */
    bool oom;
} rest_sql;

/* Each fills a zeroed 'out' and returns 0, or TT_ENOMEM; free it with rest_sql_free() either
 * way. */
int rest_sql_select(const rest_query *q, const rest_dialect *d, rest_sql *out);
int rest_sql_count(const rest_query *q, const rest_dialect *d, rest_sql *out);
int rest_sql_insert(const rest_insert *ins, const rest_dialect *d, rest_sql *out);
void rest_sql_free(rest_sql *s);

/* rest_run.c: a plan run on 'st', in its dialect. Any thread. */

/* Calls 'fn' for each row 'q' selects, in its order. With q->count, *total gets the number of
 * rows the filters match (ignoring limit and offset), else -1. */
int rest_run_query(store *st, const rest_query *q, store_cells_fn fn, void *ctx, int64_t *total,
                   char err[TT_ERRLEN]);

/* Inserts the rows of 'ins' in one statement (all or none) and calls 'fn' with each inserted
 * row's ins->ret columns. Returns TT_ECONFLICT when a row's primary key is taken, with 'err'
 * naming the key as PostgreSQL does, TT_EUNAVAILABLE or TT_EREJECTED otherwise. Not for
 * monitoring_events, which only the ingest path writes (TT_EINVAL). */
int rest_run_insert(store *st, const rest_insert *ins, store_cells_fn fn, void *ctx,
                    char err[TT_ERRLEN]);

#endif
