/* store_pg_rest.c -- /rest/v1 plans on PostgreSQL, over the reader pool.
 *
 * telltale connects as the schema's owner, not as the caller's role: the role policy is the
 * server's (the same on both engines), and the RLS policies of migrations/postgres/0004 are
 * for clients that reach the database some other way. Parameters travel as text, each with
 * the cast rest_sql.c wrote beside its placeholder. */
#include "store/pg_internal.h"

#include "store/rest_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const rest_dialect dialect = {.postgres = true};

#define PARAM_TEXT 32 /* room for a number's text */

/* The parameters of 'sql' as libpq wants them; 'bufs' holds the numbers' text. */
static int text_params(const rest_sql *sql, const char ***values, char **bufs)
{
    *values = calloc((size_t)sql->nparams + 1, sizeof **values);
    *bufs = malloc((size_t)sql->nparams * PARAM_TEXT + 1);
    if (*values == NULL || *bufs == NULL) {
        return TT_ENOMEM;
    }
    for (int i = 0; i < sql->nparams; i++) {
        const rest_value *v = sql->params[i].v;
        char *b = *bufs + (size_t)i * PARAM_TEXT;
        if (v->is_null) {
            continue;
        }
        switch (sql->params[i].kind) {
        case REST_FLOAT:
            snprintf(b, PARAM_TEXT, "%.17g", v->d);
            break;
        case REST_BOOL:
            snprintf(b, PARAM_TEXT, "%s", v->i ? "true" : "false");
            break;
        case REST_TEXT:
        case REST_JSON:
        case REST_JSONB:
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

static void read_cell(const PGresult *res, int r, int c, rest_kind kind, rest_value *out)
{
    *out = (rest_value){.is_null = PQgetisnull(res, r, c)};
    if (out->is_null) {
        return;
    }
    const char *text = PQgetvalue(res, r, c);
    if (kind == REST_FLOAT) {
        out->d = strtod(text, NULL);
    } else if (kind == REST_BOOL) {
        out->i = text[0] == 't';
    } else if (kind == REST_TEXT || kind == REST_JSON || kind == REST_JSONB) {
        out->s = text;
    } else {
        out->i = strtoll(text, NULL, 10);
    }
}

static void hand_rows(const PGresult *res, const rest_query *ret, rest_row_fn fn, void *ctx)
{
    rest_value cells[REST_MAX_COLUMNS];
    for (int r = 0; r < PQntuples(res); r++) {
        for (int k = 0; k < ret->ncols; k++) {
            read_cell(res, r, k, ret->table->cols[ret->cols[k]].kind, &cells[k]);
        }
        if (fn(cells, ctx) != 0) {
            break;
        }
    }
}

/* Runs 'sql' on 'conn' (or, with *conn NULL, on a reader it takes into *conn). */
static PGresult *run(pg_store *s, const rest_sql *sql, PGconn **conn, char *err)
{
    const char **values = NULL;
    char *bufs = NULL;
    PGresult *res = NULL;
    if (text_params(sql, &values, &bufs) != 0) {
        tt_fail(err, TT_ENOMEM, "out of memory");
    } else if (*conn == NULL) {
        res = pg_reader_exec(s, sql->text.buf, sql->nparams, values, conn, err);
    } else {
        res = pg_call(s, *conn, sql->text.buf, sql->nparams, values);
    }
    free(values);
    free(bufs);
    return res;
}

static int count_rows(pg_store *s, PGconn *conn, const rest_query *q, int64_t *total, char *err)
{
    rest_sql sql = {0};
    if (rest_sql_count(q, &dialect, &sql) != 0) {
        rest_sql_free(&sql);
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    PGresult *res = run(s, &sql, &conn, err);
    rest_sql_free(&sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        return pg_fail(conn, res, "rest count", err);
    }
    *total = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

int pg_rest_query(store *base, const rest_query *q, rest_row_fn fn, void *ctx, int64_t *total,
                  char *err)
{
    pg_store *s = (pg_store *)base;
    rest_sql sql = {0};
    PGconn *conn = NULL;
    if (rest_sql_select(q, &dialect, &sql) != 0) {
        rest_sql_free(&sql);
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    PGresult *res = run(s, &sql, &conn, err);
    rest_sql_free(&sql);
    if (conn == NULL) {
        PQclear(res);
        return TT_EUNAVAILABLE; /* no connection: 'err' says why */
    }
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg_fail(conn, res, "rest query", err);
    } else {
        hand_rows(res, q, fn, ctx);
        PQclear(res);
        rc = q->count ? count_rows(s, conn, q, total, err) : 0;
    }
    pg_reader_give_back(s, conn);
    return rc;
}

/* A taken primary key is the client's conflict, not a store failure. */
static int insert_failed(PGconn *conn, PGresult *res, const rest_table *t, char *err)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (state != NULL && strcmp(state, "23505") == 0) {
        PQclear(res);
        return tt_fail(err, TT_ECONFLICT, "duplicate key value violates unique constraint \"%s\"",
                       t->pkey);
    }
    return pg_fail(conn, res, "rest insert", err);
}

int pg_rest_insert(store *base, const rest_insert *ins, rest_row_fn fn, void *ctx, char *err)
{
    pg_store *s = (pg_store *)base;
    rest_sql sql = {0};
    PGconn *conn = NULL;
    if (rest_sql_insert(ins, &dialect, &sql) != 0) {
        rest_sql_free(&sql);
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    PGresult *res = run(s, &sql, &conn, err);
    rest_sql_free(&sql);
    if (conn == NULL) {
        PQclear(res);
        return TT_EUNAVAILABLE;
    }
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        rc = insert_failed(conn, res, ins->table, err);
    } else {
        hand_rows(res, ins->ret, fn, ctx);
        PQclear(res);
    }
    pg_reader_give_back(s, conn);
    return rc;
}
