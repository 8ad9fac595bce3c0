/* rest_table.h -- the tables /rest/v1 may reach, their columns, and the validated query and
 * insert plans the store runs for it (DESIGN §5, "REST").
 *
 * The catalog is the whitelist: a plan names tables and columns only by their place in it,
 * so the SQL an engine builds from a plan is made of the catalog's own names and fixed
 * fragments, and every value is bound. Pure data; any thread. */
#ifndef TT_REST_TABLE_H
#define TT_REST_TABLE_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REST_MAX_COLUMNS 16 /* of a table, and so of a select list */
#define REST_MAX_FILTERS 32
#define REST_MAX_ORDER 8
#define REST_MAX_ROWS 10000       /* rows one GET returns at most (PostgREST's max-rows) */
#define REST_MAX_INSERT_ROWS 1000 /* rows one POST inserts at most */
#define REST_VALUE_MAX 4096       /* bytes of one filter value */

typedef struct rest_column {
    const char *name;
    store_type kind;     /* how its values are typed, read and written */
    const char *pg_type; /* for messages: "bigint", "timestamp with time zone", ... */
    bool not_null;
    /* Checks an insert must pass (DESIGN §3's constraints), 0 when none. */
    uint32_t min_len, max_len; /* bytes, for text */
    int64_t min, max;          /* for integers, with has_range */
    bool has_range;
    bool key_syntax; /* [a-z0-9_.:-]{1,64} */
    /* The value an insert gives a column it does not name (the column's DEFAULT). */
    enum { REST_DEF_NULL, REST_DEF_FALSE, REST_DEF_ONE, REST_DEF_HUNDRED, REST_DEF_NOW } def;
} rest_column;

typedef enum rest_table_id { REST_EVENTS, REST_FLAGS, REST_STATE, REST_DLQ } rest_table_id;

typedef struct rest_table {
    rest_table_id id;
    const char *name; /* as in the URL and in SQLite */
    const char *pkey; /* the primary key constraint's name, for conflict messages */
    const rest_column *cols;
    int ncols;
    int pk[2]; /* the primary key's columns, the last word of every order */
    int npk;
} rest_table;

/* The table called 'name', or NULL. */
const rest_table *rest_table_find(const char *name);
/* The index of column 'name' in 't', or -1. 'len' bytes of 'name' are compared. */
int rest_column_find(const rest_table *t, const char *name, size_t len);

typedef enum rest_op { REST_EQ, REST_NEQ, REST_GT, REST_GTE, REST_LT, REST_LTE } rest_op;

typedef struct rest_filter {
    int col;
    rest_op op;
    store_value v; /* never null: PostgREST's eq.null is the text 'null' too */
} rest_filter;

typedef struct rest_order {
    int col;
    bool desc;
    bool nulls_first; /* always explicit: the engines' defaults differ */
} rest_order;

/* A GET, validated: which columns, which rows, in which order. */
typedef struct rest_query {
    const rest_table *table;
    int cols[REST_MAX_COLUMNS]; /* what each row returns, in this order */
    int ncols;
    rest_filter filters[REST_MAX_FILTERS + 1]; /* ANDed; + 1 for the role's own filter */
    int nfilters;
    rest_order order[REST_MAX_ORDER];
    int norder;
    int64_t limit; /* 0 .. REST_MAX_ROWS (limit=0 asks for the count or the headers only) */
    int64_t offset;
    bool count; /* also count every row the filters match */
} rest_query;

/* An INSERT, validated: 'nrows' rows of 'ncols' values each, for columns 'cols' (values[r *
 * ncols + c]); the rows returned show the columns of 'ret' (which may have ret.ncols 0). */
typedef struct rest_insert {
    const rest_table *table;
    int cols[REST_MAX_COLUMNS];
    int ncols;
    const store_value *values;
    int nrows;
    const rest_query *ret; /* table and cols only */
} rest_insert;

#endif
