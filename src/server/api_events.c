/* api_events.c -- POST /api/v1/events (ingest) and GET /api/v1/events (query). */
#include "server/api.h"

#include "core/event_json.h"
#include "core/json_print.h"
#include "core/timefmt.h"
#include "os/clock.h"
#include "os/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define QUERY_LIMIT_DEFAULT 100
#define QUERY_LIMIT_MAX 10000

/* The body's format from its Content-Type; false for a type telltale does not read.
 * application/x-www-form-urlencoded is read as JSON because it is what `curl -d` sends. */
static bool body_format(const char *content_type, ingest_format *fmt)
{
    size_t n = strcspn(content_type, ";");
    while (n > 0 && isspace((unsigned char)content_type[n - 1])) {
        n--;
    }
    if (n == 0 || (n == 16 && strncasecmp(content_type, "application/json", n) == 0) ||
        (n == 10 && strncasecmp(content_type, "text/plain", n) == 0) ||
        (n == 33 && strncasecmp(content_type, "application/x-www-form-urlencoded", n) == 0)) {
        *fmt = INGEST_JSON;
        return true;
    }
    if ((n == 20 && strncasecmp(content_type, "application/x-ndjson", n) == 0) ||
        (n == 20 && strncasecmp(content_type, "application/jsonlines", n) == 0) ||
        (n == 18 && strncasecmp(content_type, "application/ndjson", n) == 0)) {
        *fmt = INGEST_NDJSON;
        return true;
    }
    return false;
}

void api_events_post(server *srv, http_req *r)
{
    if (srv->draining) {
        r->retry_after = 5;
        http_respond_error(r, 503, "shutting_down",
                           "telltale is shutting down; retry elsewhere or later");
        return;
    }
    ingest_format fmt;
    if (!body_format(r->content_type, &fmt)) {
        srv->counters.requests_invalid++;
        http_respond_error(r, 415, "unsupported_media_type",
                           "send application/json (an object or an array) or application/x-ndjson");
        return;
    }
    event_batch batch;
    ingest_error err;
    int64_t now = (int64_t)clock_now_ms();
    int rc = ingest_parse(r->body, r->body_len, fmt, now, srv->cfg->max_events, &batch, &err);
    if (rc == TT_ENOMEM) {
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return;
    }
    if (rc != 0) {
        srv->counters.requests_invalid += err.http_status == 400;
        srv->counters.requests_too_large += err.http_status == 413;
        http_respond_error_at(r, err.http_status, err.code, err.message, err.index);
        return;
    }
    server_assign_ids(srv, &batch);
    size_t n = batch.count;
    rc = server_enqueue(srv, JOB_HTTP, r->id, NULL, &batch);
    if (rc != 0) {
        event_batch_free(&batch);
        srv->counters.requests_overloaded++;
        srv->counters.events_rejected += n;
        r->retry_after = 1;
        if (rc == TT_EFULL) {
            http_respond_error(r, 429, "overloaded",
                               "too many events are waiting to be stored; retry shortly");
        } else {
            http_respond_error(r, 503, rc == TT_ECLOSED ? "shutting_down" : "overloaded",
                               tt_strerror(rc));
        }
    }
    /* Otherwise the answer comes in api_events_answer(), once the batch has committed. */
}

void api_events_answer(server *srv, ingest_job *job)
{
    if (job->user != NULL) {
        rest_events_answer(srv, job); /* a /rest/v1 insert */
        return;
    }
    size_t n = job->batch.count;
    http_req *r = http_find(srv, job->requester);
    if (r == NULL) {
        return; /* the client left; its events are stored all the same */
    }
    if (job->result != 0) {
        int status;
        const char *code = server_refusal(job->result, &status, &r->retry_after);
        http_respond_error(r, status, code, job->err);
        return;
    }
    cJSON *body = cJSON_CreateObject();
    cJSON_AddNumberToObject(body, "accepted", (double)n);
    cJSON_AddNumberToObject(body, "duplicates", job->duplicates);
    http_respond_json(r, 202, body);
}

/* A query in flight on libuv's thread pool. The request is referred to by id only: its
 * client may leave before the answer is ready. */
typedef struct events_query {
    uv_work_t work;
    server *srv;
    uint64_t req_id;
    event_filter filter;
    char type[EVENT_TYPE_MAX + 1], source[EVENT_SOURCE_MAX + 1];
    char session_id[EVENT_SESSION_MAX + 1], status[EVENT_STATUS_MAX + 1];
    cJSON *events;
    int64_t max_seq;
    int rc;
    char err[TT_ERRLEN];
    char *json; /* the answer, made on the worker thread */
    size_t json_len;
} events_query;

static bool parse_int64(const char *s, int64_t *out)
{
    if (s[0] < '0' || s[0] > '9' || strlen(s) > 18) {
        return false;
    }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *out = v;
    return true;
}

static bool parse_time(const char *s, int64_t *out)
{
    return timefmt_parse(s, strlen(s), out) || parse_int64(s, out);
}

/* Copies a text filter; false (with a message) if it is empty or too long. */
static bool take_text(const http_req *r, const char *name, char *dst, size_t cap,
                      const char **field, char *msg, size_t msglen)
{
    const char *v = http_arg_value(r, name);
    if (v == NULL) {
        return true;
    }
    if (v[0] == '\0' || strlen(v) >= cap) {
        snprintf(msg, msglen, "parameter '%s' must be 1 to %zu bytes", name, cap - 1);
        return false;
    }
    memcpy(dst, v, strlen(v) + 1);
    *field = dst;
    return true;
}

static bool parse_filter(const http_req *r, events_query *q, char *msg, size_t len)
{
    static const char *const known[] = {"after_seq",  "since",  "until", "type", "source",
                                        "session_id", "status", "limit", NULL};
    const char *unknown = http_unknown_arg(r, known);
    const char *v;
    event_filter *f = &q->filter;
    f->limit = QUERY_LIMIT_DEFAULT;
    if (unknown != NULL) {
        snprintf(msg, len,
                 "unknown parameter '%.64s' (allowed: after_seq, since, until, type, "
                 "source, session_id, status, limit)",
                 unknown);
        return false;
    }
    if ((v = http_arg_value(r, "after_seq")) != NULL &&
        !(f->has_after = parse_int64(v, &f->after_seq))) {
        snprintf(msg, len, "parameter 'after_seq' must be an integer >= 0");
        return false;
    }
    if (((v = http_arg_value(r, "since")) != NULL &&
         !(f->has_since = parse_time(v, &f->since_ms))) ||
        ((v = http_arg_value(r, "until")) != NULL &&
         !(f->has_until = parse_time(v, &f->until_ms)))) {
        snprintf(msg, len,
                 "parameters 'since' and 'until' must be RFC 3339 times or epoch milliseconds");
        return false;
    }
    int64_t limit;
    if ((v = http_arg_value(r, "limit")) != NULL) {
        if (!parse_int64(v, &limit) || limit < 1 || limit > QUERY_LIMIT_MAX) {
            snprintf(msg, len, "parameter 'limit' must be an integer from 1 to %d",
                     QUERY_LIMIT_MAX);
            return false;
        }
        f->limit = (uint32_t)limit;
    }
    return take_text(r, "type", q->type, sizeof q->type, &f->type, msg, len) &&
           take_text(r, "source", q->source, sizeof q->source, &f->source, msg, len) &&
           take_text(r, "session_id", q->session_id, sizeof q->session_id, &f->session_id, msg,
                     len) &&
           take_text(r, "status", q->status, sizeof q->status, &f->status, msg, len);
}

static int collect_row(const tt_event *ev, void *ctx)
{
    events_query *q = ctx;
    cJSON *obj = event_to_json(ev);
    if (obj == NULL) {
        return TT_ENOMEM;
    }
    cJSON_AddItemToArray(q->events, obj);
    if (ev->seq > q->max_seq) {
        q->max_seq = ev->seq;
    }
    return 0;
}

static void run_query(uv_work_t *work)
{
    events_query *q = work->data;
    cJSON *root = cJSON_CreateObject();
    q->events = cJSON_AddArrayToObject(root, "events");
    q->max_seq = q->filter.has_after ? q->filter.after_seq : 0;
    q->rc = q->events != NULL ? store_query_events(q->srv->st, &q->filter, collect_row, q, q->err)
                              : TT_ENOMEM;
    if (q->rc == 0 && q->filter.has_after) {
        cJSON_AddNumberToObject(root, "next_after_seq", (double)q->max_seq);
    }
    if (q->rc == 0 && (q->json = json_print(root, &q->json_len)) == NULL) {
        q->rc = TT_ENOMEM;
    }
    cJSON_Delete(root);
}

static void query_done(uv_work_t *work, int status)
{
    events_query *q = work->data;
    http_req *r = http_find(q->srv, q->req_id);
    if (r != NULL && status == 0 && q->rc == 0) {
        http_respond(r, 200, "application/json", q->json, q->json_len);
        q->json = NULL;
    } else if (r != NULL) {
        log_warn("events query failed: %s", q->rc != 0 ? q->err : uv_strerror(status));
        r->retry_after = 1;
        http_respond_error(r, 503, "store_unavailable",
                           "the query could not be run; retry shortly");
    }
    if (r != NULL) {
        lws_cancel_service(q->srv->ctx); /* have lws arm what the answer set up */
    }
    free(q->json);
    free(q);
}

void api_events_get(server *srv, http_req *r)
{
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
    q->srv = srv;
    q->req_id = r->id;
    q->work.data = q;
    http_answer_later(r);
    if (uv_queue_work(srv->loop, &q->work, run_query, query_done) != 0) {
        free(q);
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "cannot schedule the query");
    }
}
