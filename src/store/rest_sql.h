/* rest_sql.h -- SQL text for a /rest/v1 plan, in either engine's dialect (not for callers of
 * store.h).
 *
 * The text is made of the catalog's names (double-quoted) and fixed fragments only; every
 * value becomes a placeholder, listed in 'params' in the order the placeholders appear. Both
 * engines build from here, so a plan means the same on both: same filters, same order (NULLS
 * FIRST/LAST always spelled out, as the engines' defaults differ), same limits. */
#ifndef TT_REST_SQL_H
#define TT_REST_SQL_H

#include "core/json_print.h"
#include "store/rest_table.h"

typedef struct rest_dialect {
    bool postgres; /* $n placeholders with casts, schema "monitoring.", timestamptz, json types */
} rest_dialect;

typedef struct rest_param {
    const rest_value *v;
    rest_kind kind;
} rest_param;

typedef struct rest_sql {
    json_buf text;
    rest_param *params;
    int nparams, cap;
    rest_value limit, offset; /* what the LIMIT and OFFSET placeholders point at */
    bool oom;
} rest_sql;

/* Each fills a zeroed 'out' and returns 0, or TT_ENOMEM; free it with rest_sql_free() either
 * way. */
int rest_sql_select(const rest_query *q, const rest_dialect *d, rest_sql *out);
int rest_sql_count(const rest_query *q, const rest_dialect *d, rest_sql *out);
int rest_sql_insert(const rest_insert *ins, const rest_dialect *d, rest_sql *out);
void rest_sql_free(rest_sql *s);

#endif
