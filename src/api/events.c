/* events.c -- POST /api/v1/events (ingest) and GET /api/v1/events (query). */
#include "api/api.h"

#include "api/api_call.h"
#include "api/sql_text.h"

#include "core/event_json.h"
#include "core/json_print.h"
#include "core/timefmt.h"
#include "os/clock.h"
#include "os/log.h"

#include <stdlib.h>
#include <string.h>

#define QUERY_LIMIT_DEFAULT 100
#define QUERY_LIMIT_MAX 10000

/* A request waiting for its events to be durable. */
static void answer_when_durable(const ingest_job *job, void *arg)
{
    http_ticket *ticket = arg;
    http_req *r = http_redeem(*ticket);
    free(ticket);
    if (r == NULL) {
        return; /* the client left; its events are stored all the same */
    }
    if (job->result != 0) {
        ingest_refusal why;
        gateway_job_refusal(job, &why);
        r->retry_after = why.retry_after_s;
        http_respond_error(r, why.status, why.code, why.message);
        return;
    }
    json_writer w = {0};
    json_open_object(&w);
    json_member_int64(&w, "accepted", job->batch.count);
    json_member_int64(&w, "duplicates", job->duplicates);
    json_close_object(&w);
    http_respond_written(r, 202, &w);
}

/* Queues a parsed batch; answer_when_durable() answers once it is durable. Else answers the
 * refusal at once. */
static void submit(http_req *r, api_ctx *ctx, event_batch *batch)
{
    ingest_refusal why;
    http_ticket *ticket = malloc(sizeof *ticket);
    if (ticket == NULL) {
        event_batch_free(batch);
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return;
    }
    *ticket = http_ticket_of(r);
    if (gateway_submit_from(ctx->gw, http_req_rate_key(r, &r->who), batch, answer_when_durable,
                            ticket, &why) != 0) {
        event_batch_free(batch);
        free(ticket);
        r->retry_after = why.retry_after_s;
        http_respond_error(r, why.status, why.code, why.message);
    }
}

static void respond_refusal(http_req *r, const ingest_refusal *why)
{
    r->retry_after = why->retry_after_s;
    if (why->of_body) {
        http_respond_error_at(r, why->status, why->code, why->message, why->index);
    } else {
        http_respond_error(r, why->status, why->code, why->message);
    }
}

/* A body parsed on a worker thread (http_defer: the loop serves others meanwhile). */
typedef struct parse_job {
    api_ctx *ctx;
    char content_type[sizeof ((http_req *)0)->content_type];
    const char *body; /* the request's, held by http_defer() while it is parsed */
    size_t len;
    int64_t now_ms;
    int rc;
    event_batch batch;
    ingest_refusal why;
} parse_job;

static void parse_on_worker(void *arg)
{
    parse_job *j = arg;
    j->rc = gateway_parse_typed(j->ctx->gw, j->content_type, j->body, j->len, j->now_ms, &j->batch,
                                &j->why);
}

/* The client may have left while its body was parsed: then nothing of it is stored, as nothing
 * could be acknowledged. */
static void parsed(http_req *r, void *arg)
{
    parse_job *j = arg;
    if (r != NULL && j->rc == 0) {
        submit(r, j->ctx, &j->batch);
    } else if (r != NULL) {
        respond_refusal(r, &j->why);
    }
    event_batch_free(&j->batch);
    free(j);
}

void api_events_post(http_req *r, void *arg)
{
    api_ctx *ctx = arg;
    int64_t now = (int64_t)clock_now_ms();
    if (r->body_len >= GATEWAY_PARSE_OFF_LOOP_BYTES) {
        parse_job *j = malloc(sizeof *j);
        if (j == NULL) {
            r->retry_after = 1;
            http_respond_error(r, 503, "overloaded", "out of memory");
            return;
        }
        *j = (parse_job){.ctx = ctx, .body = r->body, .len = r->body_len, .now_ms = now};
        memcpy(j->content_type, r->content_type, sizeof j->content_type);
        if (http_defer(r, parse_on_worker, parsed, j) != 0) {
            free(j);
        }
        return;
    }
    ingest_refusal why;
    event_batch batch = {0};
    if (gateway_parse_typed(ctx->gw, r->content_type, r->body, r->body_len, now, &batch, &why) != 0) {
        respond_refusal(r, &why);
        return;
    }
    submit(r, ctx, &batch);
}

/* A query in flight on libuv's thread pool. The request is referred to by id only: its
 * client may leave before the answer is ready. */
typedef struct events_query {
    store *st;
    event_filter filter;
    char pool[EVENT_FILTER_COLUMNS * EVENT_FILTER_ANY_MAX * (EVENT_NAME_MAX + 1)]; /* the values */
    size_t pooled;
    json_writer answer; /* made on the worker thread */
    int64_t max_seq;
    int rc;
    char err[TT_ERRLEN];
} events_query;

/* Takes every value of the text filter 'c' ("?type=a&type=b" means type a or b); false (with a
 * message) if one is empty or too long, or there are too many. */
static bool take_texts(const http_req *r, events_query *q, event_filter_column c, size_t cap,
                       char *msg, size_t msglen)
{
    const char *name = event_filter_column_name(c);
    for (int i = 0; i < r->nargs; i++) {
        const char *v = r->args[i].value != NULL ? r->args[i].value : "";
        size_t n = strlen(v);
        if (strcmp(r->args[i].name, name) != 0) {
            continue;
        }
        if (n == 0 || n > cap) {
            snprintf(msg, msglen, "parameter '%s' must be 1 to %zu bytes", name, cap);
            return false;
        }
        if (q->filter.any[c].n == EVENT_FILTER_ANY_MAX) {
            snprintf(msg, msglen, "parameter '%s' may be repeated at most %d times", name,
                     EVENT_FILTER_ANY_MAX);
            return false;
        }
        char *dst = q->pool + q->pooled;
        memcpy(dst, v, n + 1);
        q->pooled += n + 1;
        q->filter.any[c].values[q->filter.any[c].n++] = dst;
    }
    return true;
}

static bool parse_filter(const http_req *r, events_query *q, char *msg, size_t len)
{
    static const size_t caps[EVENT_FILTER_COLUMNS] = {
        EVENT_TYPE_MAX, EVENT_SOURCE_MAX, EVENT_SESSION_MAX, EVENT_STATUS_MAX, EVENT_NAME_MAX};
    event_filter *f = &q->filter;
    int64_t limit = QUERY_LIMIT_DEFAULT;
    f->has_after = http_arg_value(r, "after_seq") != NULL;
    f->has_since = http_arg_value(r, "since") != NULL;
    f->has_until = http_arg_value(r, "until") != NULL;
    if (!http_int_arg(r, "after_seq", 0, INT64_MAX, &f->after_seq, msg, len) ||
        !api_time_arg(r, "since", &f->since_ms, msg, len) ||
        !api_time_arg(r, "until", &f->until_ms, msg, len) ||
        !http_int_arg(r, "limit", 1, QUERY_LIMIT_MAX, &limit, msg, len)) {
        return false;
    }
    f->limit = (uint32_t)limit;
    for (int c = 0; c < EVENT_FILTER_COLUMNS; c++) {
        if (!take_texts(r, q, (event_filter_column)c, caps[c], msg, len)) {
            return false;
        }
    }
    return true;
}

static int collect_row(const tt_event *ev, void *ctx)
{
    events_query *q = ctx;
    event_write_json(&q->answer, ev, EVENT_JSON_STORED);
    if (q->answer.out.oom) {
        return TT_ENOMEM;
    }
    if (ev->seq > q->max_seq) {
        q->max_seq = ev->seq;
    }
    return 0;
}

static void run_query(void *arg)
{
    events_query *q = arg;
    json_writer *w = &q->answer;
    q->max_seq = q->filter.has_after ? q->filter.after_seq : 0;
    json_open_object(w);
    json_key(w, "events");
    json_open_array(w);
    q->rc = store_query_events(q->st, &q->filter, collect_row, q, q->err);
    json_close_array(w);
    if (q->filter.has_after) {
        json_member_int64(w, "next_after_seq", q->max_seq);
    }
    json_close_object(w);
    if (q->rc == 0 && w->out.oom) {
        q->rc = tt_fail(q->err, TT_ENOMEM, "out of memory");
    }
}

static void query_done(http_req *r, void *arg)
{
    events_query *q = arg;
    if (r != NULL && q->rc == 0) {
        http_respond_written(r, 200, &q->answer);
    } else if (r != NULL) {
        log_warn("events query failed: %s", q->err);
        r->retry_after = 1;
        http_respond_error(r, 503, "store_unavailable",
                           "the query could not be run; retry shortly");
    }
    free(q->answer.out.buf);
    free(q);
}

void api_events_get(http_req *r, void *arg)
{
    api_ctx *ctx = arg;
    events_query *q = calloc(1, sizeof *q);
    char msg[TT_ERRLEN];
    if (q == NULL) {
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return;
    }
    if (!parse_filter(r, q, msg, sizeof msg)) {
        free(q);
        http_respond_error(r, 400, "invalid_parameter", msg);
        return;
    }
    q->st = ctx->st;
    if (http_defer(r, run_query, query_done, q) != 0) {
        free(q);
    }
}
