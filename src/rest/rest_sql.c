/* rest_sql.c -- SQL text for /rest/v1 plans, shared by both engines. */
#include "rest/rest_sql.h"

#include "core/err.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_text(rest_sql *s, const char *text)
{
    json_put_raw(&s->text, text, strlen(text));
}

static void put_name(rest_sql *s, const char *name)
{
    put_text(s, "\"");
    put_text(s, name); /* the catalog's own name: no quote in it */
    put_text(s, "\"");
}

/* A placeholder for 'v', read as 'kind'. */
static void put_param(rest_sql *s, const rest_dialect *d, const store_value *v, store_type kind)
{
    if (s->nparams == s->cap) {
        int cap = s->cap > 0 ? s->cap * 2 : 16;
        store_param *p = realloc(s->params, (size_t)cap * sizeof *p);
        if (p == NULL) {
            s->oom = true;
            return;
        }
        s->params = p;
        s->cap = cap;
    }
    s->params[s->nparams++] = (store_param){v, kind};
    if (!d->postgres) {
        put_text(s, "?");
        return;
    }
    static const char *const casts[] = {
        [STORE_INT] = "::bigint",  [STORE_FLOAT] = "::double precision",
        [STORE_TEXT] = "::text",   [STORE_BOOL] = "::boolean",
        [STORE_TIME] = "::bigint", [STORE_JSON] = "::json",
        [STORE_JSONB] = "::jsonb"};
    char n[24];
    snprintf(n, sizeof n, "$%d%s", s->nparams, casts[kind]);
    if (kind == STORE_TIME) { /* NULL too: NULL arithmetic is a NULL timestamptz */
        put_text(s, "('epoch'::timestamptz + ");
        put_text(s, n);
        put_text(s, " * interval '1 millisecond')");
        return;
    }
    put_text(s, n);
}

static void put_table(rest_sql *s, const rest_dialect *d, const rest_table *t)
{
    put_text(s, d->postgres ? "monitoring." : "");
    put_text(s, t->name);
}

/* A column as the engine should hand it back: times as epoch ms, JSON and booleans as text
 * PostgreSQL-side. */
static void put_read(rest_sql *s, const rest_dialect *d, const rest_column *c)
{
    if (d->postgres && c->kind == STORE_TIME) {
        put_text(s, "(extract(epoch FROM ");
        put_name(s, c->name);
        put_text(s, ") * 1000)::bigint");
    } else if (d->postgres && (c->kind == STORE_JSON || c->kind == STORE_JSONB)) {
        put_name(s, c->name);
        put_text(s, "::text");
    } else {
        put_name(s, c->name);
    }
}

static void put_columns(rest_sql *s, const rest_dialect *d, const rest_query *q)
{
    for (int i = 0; i < q->ncols; i++) {
        put_text(s, i > 0 ? ", " : "");
        put_read(s, d, &q->table->cols[q->cols[i]]);
    }
}

static const char *const ops[] = {[REST_EQ] = " = ",   [REST_NEQ] = " <> ", [REST_GT] = " > ",
                                  [REST_GTE] = " >= ", [REST_LT] = " < ",   [REST_LTE] = " <= "};

/* "session_id OP ?" on SQLite's events, OP one of = < <= > >=: the session index is a table
 * written in batches up to a watermark, the events above it not yet in it
 * (migrations/sqlite/0007), so the seqs are those of its entries at or below the watermark (a
 * batch is written in slices: entries above it may exist; IN would count a seq found twice
 * once, but the bound keeps the two parts disjoint, as the API's statement needs,
 * store_sqlite_query.c), a SEARCH of its key, and those of the tail, read by seq range, in the
 * statement's one snapshot. The planner cannot use an index it does not know for
 * "session_id OP ?". (<> reads nearly everything: it stays a plain condition, as on a type.) */
static void put_session(rest_sql *s, const rest_dialect *d, const rest_filter *f)
{
    put_text(s, "\"seq\" IN (SELECT seq FROM monitoring_events_by_session WHERE session_id");
    put_text(s, ops[f->op]);
    put_param(s, d, &f->v, STORE_TEXT);
    put_text(s, " AND seq <= " SESSION_INDEX_WATERMARK);
    put_text(s, " UNION ALL SELECT seq " SESSION_INDEX_TAIL " AND session_id");
    put_text(s, ops[f->op]);
    put_param(s, d, &f->v, STORE_TEXT);
    put_text(s, ")");
}

static void put_where(rest_sql *s, const rest_dialect *d, const rest_query *q)
{
    for (int i = 0; i < q->nfilters; i++) {
        const rest_filter *f = &q->filters[i];
        const rest_column *c = &q->table->cols[f->col];
        put_text(s, i == 0 ? " WHERE " : " AND ");
        if (!d->postgres && q->table->id == REST_EVENTS && f->op != REST_NEQ &&
            strcmp(c->name, "session_id") == 0) {
            put_session(s, d, f);
            continue;
        }
        put_name(s, c->name);
        put_text(s, ops[f->op]);
        put_param(s, d, &f->v, c->kind);
    }
}

int rest_sql_select(const rest_query *q, const rest_dialect *d, rest_sql *s)
{
    put_text(s, "SELECT ");
    put_columns(s, d, q);
    put_text(s, " FROM ");
    put_table(s, d, q->table);
    put_where(s, d, q);
    for (int i = 0; i < q->norder; i++) {
        const rest_order *o = &q->order[i];
        put_text(s, i == 0 ? " ORDER BY " : ", ");
        put_name(s, q->table->cols[o->col].name);
        put_text(s, o->desc ? " DESC" : " ASC");
        put_text(s, o->nulls_first ? " NULLS FIRST" : " NULLS LAST");
    }
    s->limit = (store_value){.i = q->limit};
    s->offset = (store_value){.i = q->offset};
    put_text(s, " LIMIT ");
    put_param(s, d, &s->limit, STORE_INT);
    put_text(s, " OFFSET ");
    put_param(s, d, &s->offset, STORE_INT);
    return s->oom || s->text.oom ? TT_ENOMEM : 0;
}

int rest_sql_count(const rest_query *q, const rest_dialect *d, rest_sql *s)
{
    put_text(s, "SELECT count(*) FROM ");
    put_table(s, d, q->table);
    put_where(s, d, q);
    return s->oom || s->text.oom ? TT_ENOMEM : 0;
}

int rest_sql_insert(const rest_insert *ins, const rest_dialect *d, rest_sql *s)
{
    const rest_table *t = ins->table;
    put_text(s, "INSERT INTO ");
    put_table(s, d, t);
    put_text(s, " (");
    for (int c = 0; c < ins->ncols; c++) {
        put_text(s, c > 0 ? ", " : "");
        put_name(s, t->cols[ins->cols[c]].name);
    }
    put_text(s, ") VALUES ");
    for (int r = 0; r < ins->nrows; r++) {
        put_text(s, r > 0 ? ", (" : "(");
        for (int c = 0; c < ins->ncols; c++) {
            put_text(s, c > 0 ? ", " : "");
            put_param(s, d, &ins->values[r * ins->ncols + c], t->cols[ins->cols[c]].kind);
        }
        put_text(s, ")");
    }
    if (ins->ret != NULL && ins->ret->ncols > 0) {
        put_text(s, " RETURNING ");
        put_columns(s, d, ins->ret);
    }
    return s->oom || s->text.oom ? TT_ENOMEM : 0;
}

void rest_sql_free(rest_sql *s)
{
    free(s->text.buf);
    free(s->params);
    *s = (rest_sql){0};
}
