/* store_sqlite_stmt.c -- statements built above the store (the /rest/v1 plans) on the embedded
 * store.
 *
 * They run on the pool's connections, never the persister's writer: a change waits for the
 * writer's transaction like any second connection (busy timeout) and commits with
 * synchronous=FULL, so its answer is as durable as an ingest's. Times are stored as epoch ms,
 * booleans as 0/1, JSON as text: exactly store_value's forms. */
#include "store/sqlite_internal.h"

#include <stdio.h>
#include <string.h>

static void bind_params(sqlite3_stmt *st, const store_stmt *stmt)
{
    for (int i = 0; i < stmt->nparams; i++) {
        const store_value *v = stmt->params[i].v;
        int col = i + 1;
        if (v->is_null) {
            sqlite3_bind_null(st, col);
            continue;
        }
        switch (stmt->params[i].type) {
        case STORE_FLOAT:
            sqlite3_bind_double(st, col, v->d);
            break;
        case STORE_TEXT:
        case STORE_JSON:
        case STORE_JSONB:
            sqlite3_bind_text(st, col, v->s, -1, SQLITE_STATIC);
            break;
        default: /* INT, BOOL, TIME */
            sqlite3_bind_int64(st, col, v->i);
            break;
        }
    }
}

static void read_cell(sqlite3_stmt *st, int col, store_type type, store_value *out)
{
    *out = (store_value){.is_null = sqlite3_column_type(st, col) == SQLITE_NULL};
    if (out->is_null) {
        return;
    }
    if (type == STORE_FLOAT) {
        out->d = sqlite3_column_double(st, col);
    } else if (type == STORE_TEXT || type == STORE_JSON || type == STORE_JSONB) {
        out->s = (const char *)sqlite3_column_text(st, col);
    } else {
        out->i = sqlite3_column_int64(st, col);
    }
}

/* Steps 'st' to its end, handing each row to 'fn' until 'fn' asks to stop. Returns SQLite's
 * last result code (SQLITE_DONE when all went well). */
static int step_rows(sqlite3_stmt *st, const store_type *types, int ncols, store_cells_fn fn,
                     void *ctx)
{
    store_value cells[STORE_MAX_CELLS];
    int rc;
    bool stopped = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int k = 0; k < ncols && k < STORE_MAX_CELLS && !stopped; k++) {
            read_cell(st, k, types[k], &cells[k]);
        }
        if (!stopped) {
            stopped = fn(cells, ctx) != 0;
        }
    }
    return rc;
}

static int prepare(sqlite3 *db, const store_stmt *stmt, sqlite3_stmt **st, char *err)
{
    int rc = sqlite3_prepare_v2(db, stmt->sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        return sqlite_fail(db, rc, "prepare", err);
    }
    bind_params(*st, stmt);
    return 0;
}

static int count_rows(sqlite3 *db, const store_stmt *count, int64_t *total, char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(db, count, &st, err);
    if (rc == 0) {
        int src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            *total = sqlite3_column_int64(st, 0);
        } else {
            rc = sqlite_fail(db, src, "count", err);
        }
    }
    sqlite3_finalize(st);
    return rc;
}

int sqlite_select(store *base, const store_stmt *select, const store_type *types, int ncols,
                  const store_stmt *count, int64_t *total, store_cells_fn fn, void *ctx, char *err)
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite3 *db = sqlite_reader_take(s, err);
    if (db == NULL) {
        return TT_EUNAVAILABLE;
    }
    sqlite3_stmt *st = NULL;
    /* One read transaction, so that the count and the rows see the same snapshot. */
    int rc = sqlite_exec(db, "BEGIN", err);
    if (rc == 0 && (rc = prepare(db, select, &st, err)) == 0) {
        int src = step_rows(st, types, ncols, fn, ctx);
        rc = src == SQLITE_DONE ? 0 : sqlite_fail(db, src, "select", err);
    }
    if (rc == 0 && count != NULL) {
        rc = count_rows(db, count, total, err);
    }
    sqlite3_finalize(st);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite_reader_give_back(s, db);
    return rc;
}

/* A taken unique key is the caller's conflict (PostgreSQL's 23505), not a store failure. */
static int change_failed(sqlite3 *db, int rc, char *err)
{
    int ext = sqlite3_extended_errcode(db);
    if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE) {
        return tt_fail(err, TT_ECONFLICT, "a unique key is taken");
    }
    return sqlite_fail(db, rc, "change", err);
}

int sqlite_change(store *base, const store_stmt *stmt, const store_type *types, int ncols,
                  store_cells_fn fn, void *ctx, char *err)
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite3 *db = sqlite_reader_take(s, err);
    if (db == NULL) {
        return TT_EUNAVAILABLE;
    }
    sqlite3_stmt *st = NULL;
    int rc = prepare(db, stmt, &st, err);
    if (rc == 0) {
        /* Every change happens at the first step, before any row is returned: a constraint
         * failure arrives before 'fn' has seen anything. */
        int src = step_rows(st, types, ncols, fn, ctx);
        rc = src == SQLITE_DONE ? 0 : change_failed(db, src, err);
    }
    sqlite3_finalize(st);
    sqlite_reader_give_back(s, db);
    return rc;
}
