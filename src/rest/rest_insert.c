/* rest_insert.c -- POST /rest/v1/{table}: feature_flags and dashboard_state rows, validated here
 * against DESIGN §3's constraints (so both stores refuse the same rows with the same error) and
 * inserted in one statement on libuv's thread pool. monitoring_events go through the ingest
 * path instead (rest_events.c).
 *
 * PostgREST's reading of a body: an object is one row, an array is rows; the columns are the
 * 'columns' parameter or else every key of every row; a row without one of those keys gets
 * NULL there, or the column's default with Prefer: missing=default; columns outside the set
 * get their defaults. */
#include "core/json_scan.h"
#include "os/clock.h"
#include "os/log.h"
#include "rest/rest_internal.h"
#include "rest/rest_sql.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX_DEPTH 32

typedef struct insert_job {
    rest_ctx *ctx;
    rest_insert ins;
    rest_query ret;
    cJSON *body;         /* the values' strings point into it */
    store_value *values; /* nrows x ncols */
    char **texts;        /* values printed for text and jsonb columns, freed with the job */
    bool count;
    rest_rows rows;
    int rc;
    char err[TT_ERRLEN];
} insert_job;

static void free_job(insert_job *j)
{
    for (int i = 0; j->texts != NULL && i < j->ins.nrows * j->ins.ncols; i++) {
        free(j->texts[i]);
    }
    free(j->texts);
    free(j->values);
    cJSON_Delete(j->body);
    free(j->rows.out.buf);
    free(j);
}

/* The body as rows: an object, or an array of objects. */
static bool rest_body_rows(const http_req *r, cJSON **out, rest_error *e)
{
    size_t where = 0;
    *out = NULL;
    cJSON *body = NULL;
    json_scan_result scan =
        r->body_len > 0 ? json_scan(r->body, r->body_len, BODY_MAX_DEPTH, &where) : JSON_SCAN_OK;
    if (r->body_len == 0 || scan != JSON_SCAN_OK ||
        (body = cJSON_ParseWithLength(r->body, r->body_len)) == NULL) {
        rest_fail(e, 400, "PGRST102", "Empty or invalid json"); /* PostgREST's words */
        if (scan != JSON_SCAN_OK) {
            json_scan_explain(scan, where, e->details, sizeof e->details);
        }
        return false;
    }
    bool ok = cJSON_IsObject(body) || cJSON_IsArray(body);
    for (cJSON *row = cJSON_IsArray(body) ? body->child : NULL; ok && row != NULL;
         row = row->next) {
        ok = cJSON_IsObject(row);
    }
    if (!ok) {
        cJSON_Delete(body);
        return rest_fail(e, 400, "PGRST102", "All object keys must match");
    }
    int n = cJSON_IsArray(body) ? cJSON_GetArraySize(body) : 1;
    if (n > REST_MAX_INSERT_ROWS) {
        cJSON_Delete(body);
        return rest_fail(e, 413, "54000", "too many rows in one insert (at most %d)",
                         REST_MAX_INSERT_ROWS);
    }
    *out = body;
    return true;
}

static bool unknown_column(const rest_table *t, const char *name, rest_error *e)
{
    return rest_fail(e, 400, "PGRST204",
                     "Could not find the '%.64s' column of '%s' in the schema cache", name,
                     t->name);
}

static bool add_column(insert_job *j, int col)
{
    for (int i = 0; i < j->ins.ncols; i++) {
        if (j->ins.cols[i] == col) {
            return true;
        }
    }
    if (j->ins.ncols == REST_MAX_COLUMNS) {
        return false;
    }
    j->ins.cols[j->ins.ncols++] = col;
    return true;
}

/* The 'columns' parameter ("a","b" or a,b), else every key of every row. */
bool rest_insert_columns(const rest_table *t, const char *columns, const cJSON *body, bool *named,
                         rest_error *e)
{
    for (int i = 0; i < t->ncols; i++) {
        named[i] = false;
    }
    const cJSON *rows = cJSON_IsArray(body) ? body->child : body;
    for (const cJSON *row = rows; columns == NULL && row != NULL;
         row = cJSON_IsArray(body) ? row->next : NULL) {
        for (const cJSON *f = row->child; f != NULL; f = f->next) {
            int col = rest_column_find(t, f->string, strlen(f->string));
            if (col < 0) {
                return unknown_column(t, f->string, e);
            }
            named[col] = true;
        }
    }
    for (const char *p = columns; p != NULL && *p != '\0';) {
        size_t n = strcspn(p, ",");
        const char *name = p;
        size_t len = n;
        if (len >= 2 && name[0] == '"' && name[len - 1] == '"') {
            name++;
            len -= 2;
        }
        int col = rest_column_find(t, name, len);
        if (col < 0) {
            char bad[72];
            snprintf(bad, sizeof bad, "%.*s", (int)(len > 64 ? 64 : len), name);
            return unknown_column(t, bad, e);
        }
        named[col] = true;
        p += n + (p[n] == ',');
    }
    return true;
}

static void default_value(const rest_column *c, int64_t now_ms, store_value *v)
{
    static const int64_t defs[] = {
        [REST_DEF_FALSE] = 0, [REST_DEF_ONE] = 1, [REST_DEF_HUNDRED] = 100};
    *v = (store_value){.is_null = c->def == REST_DEF_NULL};
    v->i = c->def == REST_DEF_NOW ? now_ms : c->def != REST_DEF_NULL ? defs[c->def] : 0;
}

static bool bad_value(const rest_column *c, const char *text, rest_error *e)
{
    return rest_fail(e, 400, c->kind == STORE_TIME ? "22007" : "22P02",
                     "invalid input syntax for type %s: \"%.100s\"", c->pg_type, text);
}

/* A JSON value as a value of column 'c'; printed text goes to *text (the caller frees it). */
static bool json_value(const rest_column *c, const cJSON *v, store_value *out, char **text,
                       rest_error *e)
{
    *out = (store_value){.is_null = v == NULL || cJSON_IsNull(v)};
    if (out->is_null) {
        return true;
    }
    if (c->kind == STORE_JSONB || (c->kind == STORE_TEXT && !cJSON_IsString(v))) {
        out->s = *text = json_print(v, &(size_t){0});
        return *text != NULL || rest_fail(e, 503, "PGRST000", "out of memory");
    }
    if (cJSON_IsString(v)) {
        return rest_parse_value(c, v->valuestring, out, e);
    }
    double d = v->valuedouble;
    if (c->kind == STORE_BOOL && cJSON_IsBool(v)) {
        out->i = cJSON_IsTrue(v);
        return true;
    }
    if (c->kind == STORE_FLOAT && cJSON_IsNumber(v)) {
        out->d = d;
        return true;
    }
    if (c->kind == STORE_INT && cJSON_IsNumber(v) && d == floor(d) && fabs(d) < 9.2e18) {
        out->i = (int64_t)d;
        char num[32];
        snprintf(num, sizeof num, "%lld", (long long)out->i);
        return rest_parse_value(c, num, out, e); /* integer's own range */
    }
    char *shown = json_print(v, &(size_t){0});
    bad_value(c, shown != NULL ? shown : "?", e);
    free(shown);
    return false;
}

/* DESIGN §3's constraints, worded as PostgreSQL words their violations. */
static bool check_value(const rest_table *t, const rest_column *c, const store_value *v,
                        rest_error *e)
{
    if (v->is_null) {
        return !c->not_null ||
               rest_fail(e, 400, "23502",
                         "null value in column \"%s\" of relation \"%s\" violates not-null "
                         "constraint",
                         c->name, t->name);
    }
    size_t len = v->s != NULL && c->kind == STORE_TEXT ? strlen(v->s) : 0;
    bool ok =
        !(c->kind == STORE_TEXT && c->max_len > 0 && (len < c->min_len || len > c->max_len)) &&
        !(c->has_range && (v->i < c->min || v->i > c->max)) &&
        !(c->key_syntax && (len == 0 || len > 64 ||
                            strspn(v->s, "abcdefghijklmnopqrstuvwxyz0123456789_.:-") != len));
    return ok || rest_fail(e, 400, "23514",
                           "new row for relation \"%s\" violates check constraint \"%s_%s_check\"",
                           t->name, t->name, c->name);
}

/* Row 'r' of the body into the job's values. */
static bool take_row(insert_job *j, const cJSON *row, int r, const bool *named,
                     bool missing_default, int64_t now_ms, rest_error *e)
{
    const rest_table *t = j->ins.table;
    for (int k = 0; k < j->ins.ncols; k++) {
        const rest_column *c = &t->cols[j->ins.cols[k]];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, c->name);
        store_value *out = &j->values[r * j->ins.ncols + k];
        if (!named[j->ins.cols[k]] || (v == NULL && missing_default)) {
            default_value(c, now_ms, out);
        } else if (!json_value(c, v, out, &j->texts[r * j->ins.ncols + k], e)) {
            return false;
        }
        if (!check_value(t, c, out, e)) {
            return false;
        }
    }
    return true;
}

/* An authenticated caller inserts its own dashboard state only (RLS's WITH CHECK). */
static bool own_rows(const rest_call *call, const insert_job *j, rest_error *e)
{
    if (call->who.role != AUTH_AUTHENTICATED) {
        return true;
    }
    int col = rest_column_find(j->ins.table, "client_id", 9);
    for (int r = 0; r < j->ins.nrows; r++) {
        for (int k = 0; k < j->ins.ncols; k++) {
            const store_value *v = &j->values[r * j->ins.ncols + k];
            if (j->ins.cols[k] == col && (v->is_null || strcmp(v->s, call->who.sub) != 0)) {
                return rest_fail(e, 403, "42501",
                                 "new row violates row-level security policy for table \"%s\"",
                                 j->ins.table->name);
            }
        }
    }
    return true;
}

static bool take_rows(insert_job *j, const rest_call *call, const bool *named, rest_error *e)
{
    const rest_table *t = call->table;
    for (int col = 0; col < t->ncols; col++) {
        add_column(j, col); /* every column, with its default where the body has nothing */
    }
    size_t cells = (size_t)j->ins.nrows * (size_t)j->ins.ncols + 1;
    j->values = calloc(cells, sizeof *j->values);
    j->texts = calloc(cells, sizeof *j->texts);
    if (j->values == NULL || j->texts == NULL) {
        return rest_fail(e, 503, "PGRST000", "out of memory");
    }
    int64_t now = (int64_t)clock_now_ms();
    const cJSON *row = cJSON_IsArray(j->body) ? j->body->child : j->body;
    for (int r = 0; r < j->ins.nrows; r++, row = row->next) {
        if (!take_row(j, row, r, named, call->prefs.missing_default, now, e)) {
            return false;
        }
    }
    j->ins.values = j->values;
    return own_rows(call, j, e);
}

static void insert_rows(void *arg)
{
    insert_job *j = arg;
    if (!j->rows.single) {
        json_put_raw(&j->rows.out, "[", 1);
    }
    j->rc = rest_run_insert(j->ctx->st, &j->ins, rest_rows_add, &j->rows, j->err);
}

static void answer_failure(http_req *r, insert_job *j)
{
    rest_error e;
    if (j->rc == TT_ECONFLICT) {
        rest_fail(&e, 409, "23505", "%s", j->err);
    } else if (j->rc == TT_EUNAVAILABLE || j->rc == TT_ENOMEM) {
        log_warn("%s: %s", r->path, j->err);
        r->retry_after = 1;
        rest_fail(&e, 503, "PGRST000", "the store could not be reached; retry shortly");
    } else {
        rest_fail(&e, 400, "23514", "%s", j->err);
    }
    rest_respond_error(r, &e);
}

static void tell_state(const rest_ctx *ctx, const cJSON *row)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(row, "client_id");
    char what[160];
    if (cJSON_IsString(id) && strlen(id->valuestring) < sizeof what - 6) {
        snprintf(what, sizeof what, "state:%s", id->valuestring);
        ctx->changed(what, ctx->changed_arg);
    }
}

/* Who is told of a committed insert of flags or dashboard state (the live pushes). */
static void tell_changed(const insert_job *j)
{
    const rest_ctx *ctx = j->ctx;
    if (ctx->changed == NULL || j->rc != 0) {
        return;
    }
    if (strcmp(j->ins.table->name, "feature_flags") == 0) {
        ctx->changed("flags", ctx->changed_arg);
    } else if (strcmp(j->ins.table->name, "dashboard_state") == 0 && cJSON_IsArray(j->body)) {
        const cJSON *row;
        cJSON_ArrayForEach(row, j->body)
        {
            tell_state(ctx, row);
        }
    } else if (strcmp(j->ins.table->name, "dashboard_state") == 0) {
        tell_state(ctx, j->body);
    }
}

static void answer_insert(http_req *r, void *arg)
{
    insert_job *j = arg;
    tell_changed(j);
    if (r != NULL && j->rc != 0) {
        answer_failure(r, j);
    } else if (r != NULL) {
        rest_insert_answer(r, &j->rows, j->ret.ncols > 0, j->count, j->ins.nrows);
    }
    free_job(j);
}

bool rest_insert_shape(const http_req *r, const rest_call *call, rest_query *ret, rest_error *e)
{
    *ret = (rest_query){.table = call->table};
    return !call->prefs.representation || rest_parse_select(http_arg_value(r, "select"), ret, e);
}

static bool plan_insert(insert_job *j, const http_req *r, const rest_call *call, rest_error *e)
{
    bool named[REST_MAX_COLUMNS];
    j->ins.table = call->table;
    j->ins.ret = &j->ret;
    j->count = call->prefs.count;
    j->rows = (rest_rows){.shape = &j->ret,
                          .single = call->accept.single && call->prefs.representation,
                          .strip_nulls = call->accept.strip_nulls};
    if (!rest_insert_shape(r, call, &j->ret, e) || !rest_body_rows(r, &j->body, e) ||
        !rest_insert_columns(call->table, http_arg_value(r, "columns"), j->body, named, e)) {
        return false;
    }
    j->ins.nrows = cJSON_IsArray(j->body) ? cJSON_GetArraySize(j->body) : 1;
    if (j->rows.single && j->ins.nrows != 1) {
        rest_fail(e, 406, "PGRST116", "Cannot coerce the result to a single JSON object");
        snprintf(e->details, sizeof e->details, "The result contains %d rows", j->ins.nrows);
        return false;
    }
    return take_rows(j, call, named, e);
}

void rest_post(rest_ctx *ctx, http_req *r, const rest_call *call)
{
    insert_job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return;
    }
    j->ctx = ctx;
    rest_error e;
    if (!plan_insert(j, r, call, &e)) {
        free_job(j);
        rest_respond_error(r, &e);
        return;
    }
    if (j->ins.nrows == 0) { /* nothing to insert: PostgREST answers 201 all the same */
        free_job(j);
        rest_rows rows = {.shape = &(rest_query){.table = call->table}};
        json_put_raw(&rows.out, "[", 1);
        rest_insert_answer(r, &rows, call->prefs.representation, call->prefs.count, 0);
        free(rows.out.buf);
        return;
    }
    if (http_defer(r, insert_rows, answer_insert, j) != 0) {
        free_job(j);
    }
}
