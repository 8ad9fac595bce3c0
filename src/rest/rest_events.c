/* rest_events.c -- POST /rest/v1/monitoring_events: events inserted through the ingest path,
 * with its validation (DESIGN §2), its bounded queue and its durability: the answer is 201
 * only once the events are committed to the store or to the local spool, as POST
 * /api/v1/events answers 202.
 *
 * The rows returned with return=representation are the events as accepted. Their seq is the
 * store's when the batch committed to the store itself; it is null when the batch went to
 * the spool (a remote store: PostgreSQL assigns the seq when the spool is shipped) and for an
 * event whose id was already stored (stored once, DESIGN §4.2: the row is the earlier one). */
#include "core/event_json.h"
#include "os/clock.h"
#include "rest/rest_internal.h"
#include "rest/rest_row.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An insert waiting for its events to be durable: which request, and how to answer it. */
typedef struct events_ctx {
    http_ticket ticket;
    rest_query ret;
    bool representation, count, single, strip_nulls;
} events_ctx;

/* A refusal of the ingest path as PostgREST would word its equivalent. */
static void refused(const ingest_refusal *why, rest_error *e)
{
    const char *code = why->code;
    if (strcmp(code, "too_many_events") == 0) {
        rest_fail(e, 413, "54000", "%s", why->message);
    } else if (strcmp(code, "unknown_field") == 0) {
        rest_fail(e, 400, "PGRST204", "%s", why->message);
    } else if (strcmp(code, "server_field") == 0) {
        rest_fail(e, 400, "428C9", "%s", why->message);
    } else if (why->status == 400 && why->index < 0) {
        rest_fail(e, 400, "PGRST102", "Empty or invalid json");
        snprintf(e->details, sizeof e->details, "%s", why->message);
        return;
    } else if (why->status == 400) {
        rest_fail(e, 400, "23514", "%s", why->message);
    } else {
        rest_fail(e, why->status, why->code, "%s", why->message); /* overload, shutdown */
        return;
    }
    if (why->index >= 0) {
        snprintf(e->details, sizeof e->details, "row %d: %s", why->index, code);
    }
}

static void respond_refused(http_req *r, const ingest_refusal *why)
{
    rest_error e;
    refused(why, &e);
    r->retry_after = why->retry_after_s;
    rest_respond_error(r, &e);
}

/* Parses the body as ingest does; false when it has answered. */
static bool take_events(rest_ctx *ctx, http_req *r, event_batch *batch)
{
    ingest_refusal why;
    int64_t now = (int64_t)clock_now_ms();
    if (gateway_parse_rows(ctx->gw, r->body, r->body_len, now, batch, &why) != 0) {
        respond_refused(r, &why);
        return false;
    }
    if (batch->count == 0) { /* [] inserts nothing: 201 */
        rest_rows rows = {.shape = &(rest_query){0}};
        json_put_raw(&rows.out, "[", 1);
        rest_insert_answer(r, &rows, true, false, 0);
        free(rows.out.buf);
        return false;
    }
    return true;
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

static void answer_when_durable(const ingest_job *job, void *arg);

void rest_events_post(rest_ctx *ctx, http_req *r, const rest_call *call)
{
    events_ctx *ec = calloc(1, sizeof *ec);
    event_batch batch;
    if (ec == NULL) {
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return;
    }
    ingest_refusal why;
    if (gateway_refuse_if_draining(ctx->gw, &why) != 0) { /* first, whatever else is asked */
        free(ec);
        respond_refused(r, &why);
        return;
    }
    if (!plan_answer(r, call, ec) || !take_events(ctx, r, &batch)) {
        free(ec);
        return;
    }
    if (ec->single && batch.count != 1) {
        rest_error e;
        rest_fail(&e, 406, "PGRST116", "Cannot coerce the result to a single JSON object");
        snprintf(e.details, sizeof e.details, "The result contains %zu rows", batch.count);
        event_batch_free(&batch);
        free(ec);
        rest_respond_error(r, &e);
        return;
    }
    ec->ticket = http_ticket_of(r);
    if (gateway_submit_from(ctx->gw, http_req_rate_key(r, &r->who), &batch, answer_when_durable,
                            ec, &why) != 0) {
        event_batch_free(&batch);
        free(ec);
        respond_refused(r, &why);
    }
    /* Otherwise answer_when_durable() answers, once the batch is durable. */
}

static void render_events(const ingest_job *job, const events_ctx *ctx, rest_rows *rows)
{
    store_value all[REST_MAX_COLUMNS], cells[REST_MAX_COLUMNS];
    json_put_raw(&rows->out, "[", ctx->single ? 0 : 1);
    for (size_t i = 0; i < job->batch.count; i++) {
        rest_row_event_cells(job->batch.events[i], job->store_seqs, all);
        for (int k = 0; k < ctx->ret.ncols; k++) {
            cells[k] = all[ctx->ret.cols[k]];
        }
        rest_rows_add(cells, rows);
    }
}

/* The events are durable (201), or the store could not take them. */
static void answer_when_durable(const ingest_job *job, void *arg)
{
    events_ctx *ec = arg;
    http_req *r = http_redeem(ec->ticket);
    if (r != NULL && job->result != 0) {
        ingest_refusal why;
        gateway_job_refusal(job, &why);
        respond_refused(r, &why);
    } else if (r != NULL) {
        rest_rows rows = {.shape = &ec->ret, .single = ec->single, .strip_nulls = ec->strip_nulls};
        if (ec->representation) {
            render_events(job, ec, &rows);
        }
        rest_insert_answer(r, &rows, ec->representation, ec->count, (int64_t)job->batch.count);
        free(rows.out.buf);
    }
    free(ec);
}
