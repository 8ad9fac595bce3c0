/* rest_run.c -- a /rest/v1 plan run on the store: its SQL in the store's dialect, handed to
 * store_select or store_change with the column types of the rows it returns. */
#include "rest/rest_sql.h"

#include <string.h>

static rest_dialect dialect_of(const store *st)
{
    return (rest_dialect){.postgres = strcmp(store_kind(st), "postgres") == 0};
}

static store_stmt stmt_of(const rest_sql *s)
{
    return (store_stmt){.sql = s->text.buf, .params = s->params, .nparams = s->nparams};
}

/* The types of the columns 'shape' returns, in order. */
static void types_of(const rest_query *shape, store_type types[REST_MAX_COLUMNS])
{
    for (int k = 0; k < shape->ncols; k++) {
        types[k] = shape->table->cols[shape->cols[k]].kind;
    }
}

int rest_run_query(store *st, const rest_query *q, store_cells_fn fn, void *ctx, int64_t *total,
                   char err[TT_ERRLEN])
{
    rest_dialect d = dialect_of(st);
    rest_sql select = {0}, count = {0};
    store_type types[REST_MAX_COLUMNS];
    int rc = rest_sql_select(q, &d, &select);
    if (rc == 0 && q->count) {
        rc = rest_sql_count(q, &d, &count);
    }
    *total = -1;
    if (rc != 0) {
        tt_fail(err, rc, "out of memory");
    } else {
        store_stmt s = stmt_of(&select), c = stmt_of(&count);
        types_of(q, types);
        rc = store_select(st, &s, types, q->ncols, q->count ? &c : NULL, total, fn, ctx, err);
    }
    rest_sql_free(&select);
    rest_sql_free(&count);
    return rc;
}

int rest_run_insert(store *st, const rest_insert *ins, store_cells_fn fn, void *ctx,
                    char err[TT_ERRLEN])
{
    if (ins->table->id == REST_EVENTS) {
        return tt_fail(err, TT_EINVAL, "monitoring_events is written by the ingest path only");
    }
    rest_dialect d = dialect_of(st);
    rest_sql sql = {0};
    store_type types[REST_MAX_COLUMNS];
    int rc = rest_sql_insert(ins, &d, &sql);
    if (rc != 0) {
        tt_fail(err, rc, "out of memory");
    } else {
        store_stmt s = stmt_of(&sql);
        types_of(ins->ret, types);
        rc = store_change(st, &s, types, ins->ret->ncols, fn, ctx, err);
    }
    rest_sql_free(&sql);
    if (rc == TT_ECONFLICT) {
        tt_fail(err, rc, "duplicate key value violates unique constraint \"%s\"", ins->table->pkey);
    }
    return rc;
}
