/* dlq.c -- the dead letter queue for operators (DESIGN §5): list, stats, retry one,
 * recover all, mark failed, purge by age. The recovery worker does the retrying; these only
 * schedule it, so a retry's outcome shows in the list a moment later. */
#include "api/api.h"

#include "api/api_call.h"

#include "core/config.h"
#include "core/timefmt.h"
#include "os/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 100
#define LIST_MAX 1000

typedef struct dlq_args {
    int status; /* < 0: any */
    int64_t id, after_id;
    uint32_t limit;
    uint64_t older_than_ms;
} dlq_args;

static bool parse_id(const char *s, int64_t *out)
{
    return s != NULL && http_parse_int(s, 1, INT64_MAX, out);
}

/* Work on the dead letter queue, run on the thread pool: it sets *status and writes the answer
 * into 'body', or leaves 'body' empty for an error it wrote into 'err'. */
typedef void (*dlq_work_fn)(store *st, void *arg, int *status, json_writer *body, char *err);

typedef struct dlq_call {
    store *st;
    dlq_work_fn fn;
    void *args;
    int status;
    json_writer body;
    char err[TT_ERRLEN];
} dlq_call;

static void run_dlq_work(void *arg)
{
    dlq_call *c = arg;
    c->status = 500;
    c->fn(c->st, c->args, &c->status, &c->body, c->err);
}

/* The work's answer; a store that failed is 503 store_unavailable with Retry-After. */
static void answer_dlq_work(http_req *r, void *arg)
{
    dlq_call *c = arg;
    if (r != NULL && c->body.out.buf != NULL) {
        http_respond_written(r, c->status, &c->body);
    } else if (r != NULL && c->status >= 500) {
        log_warn("%s: %s", r->path, c->err);
        r->retry_after = 1;
        http_respond_error(r, 503, "store_unavailable",
                           "the store could not be reached; retry shortly");
    } else if (r != NULL) {
        http_respond_error(r, c->status, c->status == 404 ? "not_found" : "invalid_parameter",
                           c->err);
    }
    free(c->body.out.buf);
    free(c->args);
    free(c);
}

/* Runs 'fn' off the loop and answers 'r' with its result. Takes 'args'. */
static void defer(const api_ctx *ctx, http_req *r, dlq_work_fn fn, void *args)
{
    dlq_call *c = calloc(1, sizeof *c);
    if (c == NULL) {
        free(args);
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return;
    }
    *c = (dlq_call){.st = ctx->st, .fn = fn, .args = args};
    if (http_defer(r, run_dlq_work, answer_dlq_work, c) != 0) {
        free(args);
        free(c);
    }
}

static dlq_args *new_args(http_req *r)
{
    dlq_args *a = calloc(1, sizeof *a);
    if (a == NULL) {
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
    }
    return a;
}

static void write_time(json_writer *w, const char *name, int64_t ms)
{
    char t[TIMEFMT_LEN];
    json_key(w, name);
    if (ms <= 0) {
        json_null(w);
        return;
    }
    timefmt_format(ms, t);
    json_string(w, t);
}

/* The stored payload, re-written compactly (PostgreSQL's jsonb text has spaces); null if it
 * does not parse. A tree is needed here: the text is the store's, not ours. */
static void write_payload(json_writer *w, const char *payload)
{
    cJSON *tree = cJSON_Parse(payload);
    json_key(w, "payload");
    if (tree == NULL) {
        json_null(w);
        return;
    }
    json_buf text = {0};
    json_print_to(&text, tree);
    cJSON_Delete(tree);
    w->out.oom = w->out.oom || text.oom;
    json_raw_value(w, text.buf != NULL ? text.buf : "null", text.buf != NULL ? text.len : 4);
    free(text.buf);
}

typedef struct listing {
    json_writer *w;
    int64_t last_id;
} listing;

static int write_item(const dlq_item *it, void *ctx)
{
    listing *l = ctx;
    json_writer *w = l->w;
    json_open_object(w);
    json_member_int64(w, "id", it->id);
    json_member_string(w, "status", dlq_status_name(it->status));
    json_member_int64(w, "retry_count", it->retry_count);
    json_member_int64(w, "max_retries", it->max_retries);
    json_member_string(w, "failure_reason", it->reason);
    write_time(w, "created_at", it->created_ms);
    write_time(w, "last_retry_at", it->last_retry_ms);
    write_time(w, "next_retry_at", it->next_retry_ms);
    write_time(w, "recovered_at", it->recovered_ms);
    write_payload(w, it->payload);
    json_close_object(w);
    l->last_id = it->id;
    return 0;
}

static void list_work(store *st, void *arg, int *status, json_writer *body, char *err)
{
    dlq_args *a = arg;
    json_writer w = {0};
    listing l = {.w = &w, .last_id = a->after_id};
    json_open_object(&w);
    json_key(&w, "items");
    json_open_array(&w);
    if (store_dlq_list(st, a->status, a->after_id, a->limit, write_item, &l, err) != 0) {
        free(w.out.buf);
        return;
    }
    json_close_array(&w);
    json_member_int64(&w, "next_after_id", l.last_id);
    json_close_object(&w);
    *status = 200;
    *body = w;
}

void api_dlq_list(http_req *r, void *ctx)
{
    const char *v;
    char problem[TT_ERRLEN] = "";
    dlq_status s = DLQ_PENDING;
    int64_t n = LIST_DEFAULT, after_id = 0;
    if ((v = http_arg_value(r, "status")) != NULL && !dlq_status_parse(v, &s)) {
        snprintf(problem, sizeof problem,
                 "parameter 'status' must be pending, retrying, recovered or failed");
    } else if (!http_int_arg(r, "after_id", 0, INT64_MAX, &after_id, problem, sizeof problem) ||
               !http_int_arg(r, "limit", 1, LIST_MAX, &n, problem, sizeof problem)) {
        /* said in 'problem' */
    }
    if (problem[0] != '\0') {
        http_respond_error(r, 400, "invalid_parameter", problem);
        return;
    }
    dlq_args *a = new_args(r);
    if (a == NULL) {
        return;
    }
    a->status = http_arg_value(r, "status") != NULL ? (int)s : -1;
    a->after_id = after_id;
    a->limit = (uint32_t)n;
    defer(ctx, r, list_work, a);
}

static void stats_work(store *st, void *arg, int *status, json_writer *body, char *err)
{
    (void)arg;
    dlq_stats s;
    if (store_dlq_stats(st, &s, err) != 0) {
        return;
    }
    json_open_object(body);
    json_member_int64(body, "total_pending", s.pending);
    json_member_int64(body, "total_recovered", s.recovered);
    json_member_int64(body, "total_failed", s.failed);
    json_member_number(body, "avg_retry_count", s.avg_retry_count);
    json_member_number(body, "oldest_pending_age_hours", s.oldest_pending_age_hours);
    json_close_object(body);
    *status = 200;
}

void api_dlq_stats(http_req *r, void *ctx)
{
    dlq_args *a = new_args(r);
    if (a != NULL) {
        defer(ctx, r, stats_work, a);
    }
}

/* Answers {"<what>": n}, or 404 when 'id' named nothing that could change. */
static void count_answer(int64_t id, uint64_t n, const char *what, int *status, json_writer *body,
                         char *err)
{
    if (id != 0 && n == 0) {
        *status = 404;
        snprintf(err, TT_ERRLEN, "no dead letter %lld in a state that allows this", (long long)id);
        return;
    }
    json_open_object(body);
    json_member_int64(body, what, n);
    json_close_object(body);
    *status = 202;
}

static void retry_work(store *st, void *arg, int *status, json_writer *body, char *err)
{
    dlq_args *a = arg;
    uint64_t n;
    if (store_dlq_retry_now(st, a->id, &n, err) == 0) {
        count_answer(a->id, n, "scheduled", status, body, err);
    }
}

/* The {id} of a route, as a dead letter id; answers 400 itself when it is not one. */
static dlq_args *args_with_id(http_req *r)
{
    int64_t id;
    if (!api_body_none(r)) {
        return NULL;
    }
    if (!parse_id(r->param, &id)) {
        char m[TT_ERRLEN];
        snprintf(m, sizeof m, "the id must be an integer from 1 to %lld", (long long)INT64_MAX);
        http_respond_error(r, 400, "invalid_parameter", m);
        return NULL;
    }
    dlq_args *a = new_args(r);
    if (a != NULL) {
        a->id = id;
    }
    return a;
}

void api_dlq_retry(http_req *r, void *ctx)
{
    dlq_args *a = args_with_id(r);
    if (a != NULL) {
        defer(ctx, r, retry_work, a);
    }
}

void api_dlq_recover(http_req *r, void *ctx)
{
    /* id 0: every pending and failed item */
    dlq_args *a = api_body_none(r) ? new_args(r) : NULL;
    if (a != NULL) {
        defer(ctx, r, retry_work, a);
    }
}

static void fail_work(store *st, void *arg, int *status, json_writer *body, char *err)
{
    dlq_args *a = arg;
    uint64_t n;
    if (store_dlq_mark_failed(st, a->id, "marked failed by an operator", &n, err) == 0) {
        count_answer(a->id, n, "failed", status, body, err);
        *status = *status == 202 ? 200 : *status;
    }
}

void api_dlq_fail(http_req *r, void *ctx)
{
    dlq_args *a = args_with_id(r);
    if (a != NULL) {
        defer(ctx, r, fail_work, a);
    }
}

static void purge_work(store *st, void *arg, int *status, json_writer *body, char *err)
{
    dlq_args *a = arg;
    uint64_t n;
    if (store_dlq_purge(st, (int64_t)a->older_than_ms, &n, err) == 0) {
        json_open_object(body);
        json_member_int64(body, "deleted", n);
        json_close_object(body);
        *status = 200;
    }
}

void api_dlq_purge(http_req *r, void *ctx)
{
    const char *v = http_arg_value(r, "older_than");
    uint64_t ms;
    if (v == NULL || !config_parse_duration_ms(v, &ms)) {
        http_respond_error(r, 400, "invalid_parameter",
                           "give 'older_than' as a duration such as 30d, 12h or 0 (every resolved "
                           "item); unresolved items are never purged");
        return;
    }
    dlq_args *a = new_args(r);
    if (a != NULL) {
        a->older_than_ms = ms;
        defer(ctx, r, purge_work, a);
    }
}
