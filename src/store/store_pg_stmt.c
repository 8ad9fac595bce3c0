/* store_pg_stmt.c -- statements built above the store (the /rest/v1 plans) on PostgreSQL, over
 * the reader pool.
 *
 * telltale connects as the schema's owner, not as the caller's role: the role policy is the
 * server's (the same on both engines), and the RLS policies of migrations/postgres/0004 are
 * for clients that reach the database some other way. Parameters travel as text, each with the
 * cast its author wrote beside the placeholder. */
#include "store/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARAM_TEXT 32 /* room for a number's text */

/* The parameters of 'stmt' as libpq wants them; 'bufs' holds the numbers' text. */
static int text_params(const store_stmt *stmt, const char ***values, char **bufs)
{
    *values = calloc((size_t)stmt->nparams + 1, sizeof **values);
    *bufs = malloc((size_t)stmt->nparams * PARAM_TEXT + 1);
    if (*values == NULL || *bufs == NULL) {
        return TT_ENOMEM;
    }
    for (int i = 0; i < stmt->nparams; i++) {
        const store_value *v = stmt->params[i].v;
        char *b = *bufs + (size_t)i * PARAM_TEXT;
        if (v->is_null) {
            continue;
        }
        switch (stmt->params[i].type) {
        case STORE_FLOAT:
            snprintf(b, PARAM_TEXT, "%.17g", v->d);
            break;
        case STORE_BOOL:
            snprintf(b, PARAM_TEXT, "%s", v->i ? "true" : "false");
            break;
        case STORE_TEXT:
        case STORE_JSON:
        case STORE_JSONB:
            (*values)[i] = v->s;
            continue;
        default: /* INT, TIME */
            snprintf(b, PARAM_TEXT, "%lld", (long long)v->i);
            break;
        }
        (*values)[i] = b;
    }
    return 0;
}

static void read_cell(const PGresult *res, int r, int c, store_type type, store_value *out)
{
    *out = (store_value){.is_null = PQgetisnull(res, r, c)};
    if (out->is_null) {
        return;
    }
    const char *text = PQgetvalue(res, r, c);
    if (type == STORE_FLOAT) {
        out->d = strtod(text, NULL);
    } else if (type == STORE_BOOL) {
        out->i = text[0] == 't';
    } else if (type == STORE_TEXT || type == STORE_JSON || type == STORE_JSONB) {
        out->s = text;
    } else {
        out->i = strtoll(text, NULL, 10);
    }
}

static void hand_rows(const PGresult *res, const store_type *types, int ncols, store_cells_fn fn,
                      void *ctx)
{
    store_value cells[STORE_MAX_CELLS];
    for (int r = 0; r < PQntuples(res); r++) {
        for (int k = 0; k < ncols && k < STORE_MAX_CELLS; k++) {
            read_cell(res, r, k, types[k], &cells[k]);
        }
        if (fn(cells, ctx) != 0) {
            break;
        }
    }
}

/* Runs 'stmt' on *conn, or, with *conn NULL, on a reader it takes into *conn. */
static PGresult *run(pg_store *s, const store_stmt *stmt, PGconn **conn, char *err)
{
    const char **values = NULL;
    char *bufs = NULL;
    PGresult *res = NULL;
    if (text_params(stmt, &values, &bufs) != 0) {
        tt_fail(err, TT_ENOMEM, "out of memory");
    } else if (*conn == NULL) {
        res = pg_reader_exec(s, stmt->sql, stmt->nparams, values, conn, err);
    } else {
        res = pg_call(s, *conn, stmt->sql, stmt->nparams, values);
    }
    free(values);
    free(bufs);
    return res;
}

static int count_rows(pg_store *s, PGconn *conn, const store_stmt *count, int64_t *total, char *err)
{
    PGresult *res = run(s, count, &conn, err);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        return pg_fail(conn, res, "count", err);
    }
    *total = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

int pg_select(store *base, const store_stmt *select, const store_type *types, int ncols,
              const store_stmt *count, int64_t *total, store_cells_fn fn, void *ctx, char *err)
{
    pg_store *s = (pg_store *)base;
    PGconn *conn = NULL;
    PGresult *res = run(s, select, &conn, err);
    if (conn == NULL) {
        PQclear(res);
        return TT_EUNAVAILABLE; /* no connection (or no memory): 'err' says why */
    }
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg_fail(conn, res, "select", err);
    } else {
        hand_rows(res, types, ncols, fn, ctx);
        PQclear(res);
        rc = count != NULL ? count_rows(s, conn, count, total, err) : 0;
    }
    pg_reader_give_back(s, conn);
    return rc;
}

/* A taken unique key is the caller's conflict (23505), not a store failure. */
static int change_failed(PGconn *conn, PGresult *res, char *err)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (state != NULL && strcmp(state, "23505") == 0) {
        PQclear(res);
        return tt_fail(err, TT_ECONFLICT, "a unique key is taken");
    }
    return pg_fail(conn, res, "change", err);
}

int pg_change(store *base, const store_stmt *stmt, const store_type *types, int ncols,
              store_cells_fn fn, void *ctx, char *err)
{
    pg_store *s = (pg_store *)base;
    PGconn *conn = NULL;
    PGresult *res = run(s, stmt, &conn, err);
    if (conn == NULL) {
        PQclear(res);
        return TT_EUNAVAILABLE;
    }
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        rc = change_failed(conn, res, err);
    } else {
        hand_rows(res, types, ncols, fn, ctx);
        PQclear(res);
    }
    pg_reader_give_back(s, conn);
    return rc;
}
