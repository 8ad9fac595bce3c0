/* store_sqlite_rest.c -- /rest/v1 plans on the embedded store.
 *
 * Reads and inserts use the pool's connections, never the persister's writer: an insert waits
 * for the writer's transaction like any second connection (busy timeout), and commits with
 * synchronous=FULL, so a 201 is as durable as a 202. Times are stored as epoch ms, booleans
 * as 0/1, JSON as text: exactly rest_value's forms. */
#include "store/sqlite_internal.h"

#include "store/rest_sql.h"

#include <stdio.h>
#include <string.h>

static const rest_dialect dialect = {.postgres = false};

static void bind_params(sqlite3_stmt *st, const rest_sql *sql)
{
    for (int i = 0; i < sql->nparams; i++) {
        const rest_value *v = sql->params[i].v;
        int col = i + 1;
        if (v->is_null) {
            sqlite3_bind_null(st, col);
            continue;
        }
        switch (sql->params[i].kind) {
        case REST_FLOAT:
            sqlite3_bind_double(st, col, v->d);
            break;
        case REST_TEXT:
        case REST_JSON:
        case REST_JSONB:
            sqlite3_bind_text(st, col, v->s, -1, SQLITE_STATIC);
            break;
        default: /* INT, BOOL, TIME */
            sqlite3_bind_int64(st, col, v->i);
            break;
        }
    }
}

static void read_cell(sqlite3_stmt *st, int col, rest_kind kind, rest_value *out)
{
    *out = (rest_value){.is_null = sqlite3_column_type(st, col) == SQLITE_NULL};
    if (out->is_null) {
        return;
    }
    if (kind == REST_FLOAT) {
        out->d = sqlite3_column_double(st, col);
    } else if (kind == REST_TEXT || kind == REST_JSON || kind == REST_JSONB) {
        out->s = (const char *)sqlite3_column_text(st, col);
    } else {
        out->i = sqlite3_column_int64(st, col);
    }
}

/* Steps 'st' to its end, handing each row to 'fn' as the columns of 'ret' until 'fn' asks to
 * stop. Returns SQLite's last result code (SQLITE_DONE when all went well). */
static int step_rows(sqlite3_stmt *st, const rest_query *ret, rest_row_fn fn, void *ctx)
{
    rest_value cells[REST_MAX_COLUMNS];
    int rc;
    bool stopped = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int k = 0; k < ret->ncols && !stopped; k++) {
            read_cell(st, k, ret->table->cols[ret->cols[k]].kind, &cells[k]);
        }
        if (!stopped) {
            stopped = fn(cells, ctx) != 0;
        }
    }
    return rc;
}

static int prepare(sqlite3 *db, const rest_sql *sql, sqlite3_stmt **st, char *err)
{
    int rc = sqlite3_prepare_v2(db, sql->text.buf, -1, st, NULL);
    if (rc != SQLITE_OK) {
        return sqlite_fail(db, rc, "rest prepare", err);
    }
    bind_params(*st, sql);
    return 0;
}

static int count_rows(sqlite3 *db, const rest_query *q, int64_t *total, char *err)
{
    rest_sql sql = {0};
    sqlite3_stmt *st = NULL;
    int rc = rest_sql_count(q, &dialect, &sql);
    if (rc == 0 && (rc = prepare(db, &sql, &st, err)) == 0) {
        int src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            *total = sqlite3_column_int64(st, 0);
        } else {
            rc = sqlite_fail(db, src, "rest count", err);
        }
    } else if (rc == TT_ENOMEM) {
        tt_fail(err, rc, "out of memory");
    }
    sqlite3_finalize(st);
    rest_sql_free(&sql);
    return rc;
}

int sqlite_rest_query(store *base, const rest_query *q, rest_row_fn fn, void *ctx, int64_t *total,
                      char *err)
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite3 *db = sqlite_reader_take(s, err);
    if (db == NULL) {
        return TT_EUNAVAILABLE;
    }
    rest_sql sql = {0};
    sqlite3_stmt *st = NULL;
    /* One read transaction, so that the count and the rows see the same snapshot. */
    int rc = sqlite_exec(db, "BEGIN", err);
    if (rc == 0 && (rc = rest_sql_select(q, &dialect, &sql)) != 0) {
        tt_fail(err, rc, "out of memory");
    }
    if (rc == 0 && (rc = prepare(db, &sql, &st, err)) == 0) {
        int src = step_rows(st, q, fn, ctx);
        rc = src == SQLITE_DONE ? 0 : sqlite_fail(db, src, "rest query", err);
    }
    if (rc == 0 && q->count) {
        rc = count_rows(db, q, total, err);
    }
    sqlite3_finalize(st);
    rest_sql_free(&sql);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite_reader_give_back(s, db);
    return rc;
}

/* A taken primary key is the client's conflict (PostgreSQL's 23505), not a store failure. */
static int insert_failed(sqlite3 *db, const rest_table *t, int rc, char *err)
{
    int ext = sqlite3_extended_errcode(db);
    if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE) {
        return tt_fail(err, TT_ECONFLICT, "duplicate key value violates unique constraint \"%s\"",
                       t->pkey);
    }
    return sqlite_fail(db, rc, "rest insert", err);
}

int sqlite_rest_insert(store *base, const rest_insert *ins, rest_row_fn fn, void *ctx, char *err)
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite3 *db = sqlite_reader_take(s, err);
    if (db == NULL) {
        return TT_EUNAVAILABLE;
    }
    rest_sql sql = {0};
    sqlite3_stmt *st = NULL;
    int rc = rest_sql_insert(ins, &dialect, &sql);
    if (rc != 0) {
        tt_fail(err, rc, "out of memory");
    }
    if (rc == 0 && (rc = prepare(db, &sql, &st, err)) == 0) {
        /* Every change happens at the first step, before any row is returned: a constraint
         * failure arrives before 'fn' has seen anything. */
        int src = step_rows(st, ins->ret, fn, ctx);
        rc = src == SQLITE_DONE ? 0 : insert_failed(db, ins->table, src, err);
    }
    sqlite3_finalize(st);
    rest_sql_free(&sql);
    sqlite_reader_give_back(s, db);
    return rc;
}
