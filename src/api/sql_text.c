/* sql_text.c -- see sql_text.h. */
#include "api/sql_text.h"

#include "core/timefmt.h"
#include "http/http.h"

#include <stdio.h>
#include <string.h>

void sql_init(sql_text *q, const store *st)
{
    memset(q, 0, sizeof *q);
    q->pg = strcmp(store_kind(st), "postgres") == 0;
}

void sql_add(sql_text *q, const char *text)
{
    size_t n = strlen(text);
    if (q->len + n >= sizeof q->sql) {
        q->overflow = true;
        return;
    }
    memcpy(q->sql + q->len, text, n + 1);
    q->len += n;
}

void sql_table(sql_text *q, const char *name)
{
    if (q->pg) {
        sql_add(q, "monitoring.");
    }
    sql_add(q, name);
}

void sql_time_ms(sql_text *q, const char *column)
{
    if (q->pg) {
        sql_add(q, "(extract(epoch FROM ");
        sql_add(q, column);
        sql_add(q, ") * 1000)::bigint");
    } else {
        sql_add(q, column);
    }
}

/* Binds 'v' and writes its placeholder, wrapped in 'pg_form' on PostgreSQL ("%s" stands for
 * "$n"). */
static void placeholder(sql_text *q, store_value v, store_type type, const char *pg_form)
{
    if (q->nparams == SQL_PARAMS_MAX) {
        q->overflow = true;
        return;
    }
    q->values[q->nparams] = v;
    q->params[q->nparams] = (store_param){.v = &q->values[q->nparams], .type = type};
    q->nparams++;
    if (!q->pg) {
        sql_add(q, "?");
        return;
    }
    char n[16], text[96];
    snprintf(n, sizeof n, "$%d", q->nparams);
    snprintf(text, sizeof text, pg_form, n);
    sql_add(q, text);
}

void sql_int(sql_text *q, int64_t v)
{
    placeholder(q, (store_value){.i = v}, STORE_INT, "%s::bigint");
}

void sql_str(sql_text *q, const char *s)
{
    placeholder(q, (store_value){.s = s}, STORE_TEXT, "%s::text");
}

void sql_time(sql_text *q, int64_t ms)
{
    placeholder(q, (store_value){.i = ms}, STORE_INT, "to_timestamp(%s::bigint / 1000.0)");
}

store_stmt sql_stmt(const sql_text *q)
{
    /* The params point into q->values, which do not move with q. */
    return (store_stmt){.sql = q->sql, .params = q->params, .nparams = q->nparams};
}

bool api_parse_time(const char *s, int64_t *out_ms)
{
    return timefmt_parse(s, strlen(s), out_ms) || http_parse_int(s, 0, INT64_MAX, out_ms);
}
