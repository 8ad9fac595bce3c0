/* rest_query.c -- GET /rest/v1/{table}: the plan is made on the loop thread, run and rendered
 * on libuv's thread pool, answered on the loop thread if the client is still there.
 *
 * Rows are rendered as PostgreSQL's to_json writes them, whichever the store (rest_row.h). */
#include "os/log.h"
#include "rest/rest_row.h"
#include "rest/rest_internal.h"
#include "rest/rest_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct get_job {
    rest_ctx *ctx;
    rest_query q;
    bool single;
    rest_arg args[HTTP_MAX_ARGS];
    char *args_text; /* the strings of args[] and of q's filter values: the job's own */
    char sub[JWT_SUB_MAX + 1];
    rest_rows rows;
    int64_t total;
    int rc;
    char err[TT_ERRLEN];
} get_job;

static void read_rows(void *arg)
{
    get_job *j = arg;
    j->rows.shape = &j->q;
    if (!j->rows.single) {
        json_put_raw(&j->rows.out, "[", 1);
    }
    j->rc = rest_run_query(j->ctx->st, &j->q, rest_rows_add, &j->rows, &j->total, j->err);
}

static void answer_failure(http_req *r, const get_job *j)
{
    rest_error e;
    log_warn("%s: %s", r->path, j->err);
    if (j->rc == TT_EUNAVAILABLE || j->rc == TT_ENOMEM) {
        r->retry_after = 1;
        rest_fail(&e, 503, "PGRST000", "the store could not be reached; retry shortly");
    } else {
        rest_fail(&e, 500, "XX000", "the store failed the query");
    }
    rest_respond_error(r, &e);
}

static void free_job(get_job *j)
{
    free(j->rows.out.buf);
    free(j->args_text);
    free(j);
}

static void answer_rows(http_req *r, void *arg)
{
    get_job *j = arg;
    if (r != NULL && j->rc != 0) {
        answer_failure(r, j);
    } else if (r != NULL) {
        char range[64], total[24] = "*";
        if (j->total >= 0) {
            snprintf(total, sizeof total, "%lld", (long long)j->total);
        }
        if (j->rows.n > 0) {
            snprintf(range, sizeof range, "%lld-%lld/%s", (long long)j->q.offset,
                     (long long)(j->q.offset + j->rows.n - 1), total);
        } else {
            snprintf(range, sizeof range, "*/%s", total);
        }
        rest_rows_answer(r, 200, &j->rows, range);
    }
    free_job(j);
}

/* Copies the request's parameters into the job, which may outlive the request. */
static bool copy_args(const http_req *r, get_job *j)
{
    size_t total = 0;
    for (int i = 0; i < r->nargs; i++) {
        total += strlen(r->args[i].name) + strlen(r->args[i].value) + 2;
    }
    if ((j->args_text = malloc(total + 1)) == NULL) {
        return false;
    }
    char *p = j->args_text;
    for (int i = 0; i < r->nargs; i++) {
        size_t n = strlen(r->args[i].name) + 1, v = strlen(r->args[i].value) + 1;
        j->args[i] = (rest_arg){memcpy(p, r->args[i].name, n), memcpy(p + n, r->args[i].value, v)};
        p += n + v;
    }
    return true;
}

/* An authenticated caller sees only its own dashboard state. */
static void own_rows_only(const rest_call *call, get_job *j)
{
    if (call->table->id != REST_STATE || call->who.role != AUTH_AUTHENTICATED) {
        return;
    }
    snprintf(j->sub, sizeof j->sub, "%s", call->who.sub);
    j->q.filters[j->q.nfilters++] = (rest_filter){
        .col = rest_column_find(call->table, "client_id", 9), .op = REST_EQ, .v = {.s = j->sub}};
}

void rest_get(rest_ctx *ctx, http_req *r, const rest_call *call)
{
    get_job *j = calloc(1, sizeof *j);
    if (j == NULL || !copy_args(r, j)) {
        free(j);
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return;
    }
    j->ctx = ctx;
    j->q.table = call->table;
    j->q.count = call->prefs.count;
    j->rows.single = call->accept.single;
    j->rows.strip_nulls = call->accept.strip_nulls;
    rest_error e;
    if (!rest_parse_query(j->args, r->nargs, &j->q, &e)) {
        free(j->args_text);
        free(j);
        rest_respond_error(r, &e);
        return;
    }
    own_rows_only(call, j);
    if (http_defer(r, read_rows, answer_rows, j) != 0) {
        free_job(j);
    }
}
