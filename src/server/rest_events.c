/* rest_events.c -- POST /rest/v1/monitoring_events: events inserted through the ingest path,
 * with its validation (DESIGN §2), its bounded queue and its durability: the answer is 201
 * only once the events are committed to the store or to the local spool, as POST
 * /api/v1/events answers 202.
 *
 * The rows returned with return=representation are the events as accepted. Their seq is the
 * store's when the batch committed to the store itself; it is null when the batch went to
 * the spool (a remote store: PostgreSQL assigns the seq when the spool is shipped) and for an
 * event whose id was already stored (stored once, DESIGN §4.2: the row is the earlier one). */
#include "server/api.h"

#include "core/event_json.h"
#include "os/clock.h"
#include "server/pg_row.h"
#include "server/rest_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The job->user of a /rest/v1 insert: how to answer it. */
typedef struct events_ctx {
    rest_query ret;
    bool representation, count, single, strip_nulls;
} events_ctx;

/* An ingest error as PostgREST would word its equivalent. */
static void ingest_failed(const ingest_error *err, rest_error *e)
{
    const char *code = err->code;
    if (strcmp(code, "too_many_events") == 0) {
        rest_fail(e, 413, "54000", "%s", err->message);
    } else if (strcmp(code, "unknown_field") == 0) {
        rest_fail(e, 400, "PGRST204", "%s", err->message);
    } else if (strcmp(code, "server_field") == 0) {
        rest_fail(e, 400, "428C9", "%s", err->message);
    } else if (err->index < 0) {
        rest_fail(e, 400, "PGRST102", "Empty or invalid json");
        snprintf(e->details, sizeof e->details, "%s", err->message);
        return;
    } else {
        rest_fail(e, 400, "23514", "%s", err->message);
    }
    if (err->index >= 0) {
        snprintf(e->details, sizeof e->details, "row %d: %s", err->index, code);
    }
}

/* Parses the body as ingest does; false when it has answered. */
static bool take_events(server *srv, http_req *r, event_batch *batch)
{
    ingest_error err;
    int64_t now = (int64_t)clock_now_ms();
    int rc =
        ingest_parse(r->body, r->body_len, INGEST_JSON, now, srv->cfg->max_events, batch, &err);
    if (rc == 0) {
        return true;
    }
    if (rc == TT_ENOMEM) {
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return false;
    }
    if (strcmp(err.code, "empty_batch") == 0) { /* [] inserts nothing: 201 */
        rest_rows rows = {.shape = &(rest_query){0}};
        json_put_raw(&rows.out, "[", 1);
        rest_insert_answer(r, &rows, true, false, 0);
        free(rows.out.buf);
        return false;
    }
    srv->counters.requests_invalid += err.http_status == 400;
    srv->counters.requests_too_large += err.http_status == 413;
    rest_error e;
    ingest_failed(&err, &e);
    rest_respond_error(r, &e);
    return false;
}

/* What was asked of the answer; false when it has answered (an error). */
static bool plan_answer(http_req *r, const rest_call *call, events_ctx *ctx)
{
    bool named[REST_MAX_COLUMNS];
    rest_error e;
    ctx->representation = call->prefs.representation;
    ctx->count = call->prefs.count;
    ctx->single = call->accept.single && call->prefs.representation;
    ctx->strip_nulls = call->accept.strip_nulls;
    if (!rest_insert_shape(r, call, &ctx->ret, &e) ||
        !rest_insert_columns(call->table, http_arg_value(r, "columns"), NULL, named, &e)) {
        rest_respond_error(r, &e);
        return false;
    }
    return true;
}

static void refuse_enqueue(server *srv, http_req *r, int rc, size_t n)
{
    rest_error e;
    srv->counters.requests_overloaded++;
    srv->counters.events_rejected += n;
    r->retry_after = 1;
    if (rc == TT_EFULL) {
        rest_fail(&e, 429, "overloaded", "too many events are waiting to be stored; retry shortly");
    } else {
        rest_fail(&e, 503, rc == TT_ECLOSED ? "shutting_down" : "overloaded", "%s",
                  tt_strerror(rc));
    }
    rest_respond_error(r, &e);
}

void rest_events_post(server *srv, http_req *r, const rest_call *call)
{
    rest_error e;
    if (srv->draining) {
        r->retry_after = 5;
        rest_fail(&e, 503, "shutting_down", "telltale is shutting down; retry elsewhere or later");
        rest_respond_error(r, &e);
        return;
    }
    events_ctx *ctx = calloc(1, sizeof *ctx);
    event_batch batch;
    if (ctx == NULL || !plan_answer(r, call, ctx) || !take_events(srv, r, &batch)) {
        free(ctx);
        return;
    }
    if (ctx->single && batch.count != 1) {
        rest_fail(&e, 406, "PGRST116", "Cannot coerce the result to a single JSON object");
        snprintf(e.details, sizeof e.details, "The result contains %zu rows", batch.count);
        event_batch_free(&batch);
        free(ctx);
        rest_respond_error(r, &e);
        return;
    }
    server_assign_ids(srv, &batch);
    size_t n = batch.count;
    int rc = server_enqueue(srv, JOB_HTTP, r->id, ctx, &batch);
    if (rc != 0) {
        event_batch_free(&batch);
        free(ctx);
        refuse_enqueue(srv, r, rc, n);
    }
    /* Otherwise rest_events_answer() answers, once the batch is durable. */
}

static void render_events(const ingest_job *job, const events_ctx *ctx, rest_rows *rows)
{
    rest_value all[REST_MAX_COLUMNS], cells[REST_MAX_COLUMNS];
    json_put_raw(&rows->out, "[", ctx->single ? 0 : 1);
    for (size_t i = 0; i < job->batch.count; i++) {
        pg_row_event_cells(job->batch.events[i], job->store_seqs, all);
        for (int k = 0; k < ctx->ret.ncols; k++) {
            cells[k] = all[ctx->ret.cols[k]];
        }
        rest_rows_add(cells, rows);
    }
}

void rest_events_answer(server *srv, ingest_job *job)
{
    events_ctx *ctx = job->user;
    job->user = NULL;
    http_req *r = http_find(srv, job->requester);
    if (r != NULL && job->result != 0) {
        rest_error e;
        int status;
        const char *code = server_refusal(job->result, &status, &r->retry_after);
        rest_fail(&e, status, code, "%s", job->err);
        rest_respond_error(r, &e);
    } else if (r != NULL) {
        rest_rows rows = {
            .shape = &ctx->ret, .single = ctx->single, .strip_nulls = ctx->strip_nulls};
        if (ctx->representation) {
            render_events(job, ctx, &rows);
        }
        rest_insert_answer(r, &rows, ctx->representation, ctx->count, (int64_t)job->batch.count);
        free(rows.out.buf);
    }
    free(ctx);
}
