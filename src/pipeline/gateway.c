/* gateway.c -- parse, ids, queue, and the hand-back of finished jobs to the loop thread. */
#include "pipeline/gateway.h"

#include "core/media_type.h"
#include "core/token_bucket.h"
#include "core/uuid7.h"
#include "os/clock.h"
#include "os/random.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SHUTDOWN_RETRY_S 5    /* a draining instance: try another, or this one once restarted */
#define SPOOL_FULL_RETRY_S 10 /* the spool drains as fast as the store takes it: not at once */
#define RATE_KEYS 4096        /* keys with a bucket at once (token_bucket.h: then fail open) */

struct gateway {
    gateway_opts opts;
    uuid7_gen ids;
    bool draining; /* read by gateway_parse*() on any thread: atomic (relaxed) */
    gateway_stats stats;
    /* What gateway_parse*() and gateway_count_invalid() count, on any thread: atomic
     * (relaxed), added to stats by gateway_get_stats(). */
    uint64_t parsed_invalid, parsed_too_large;
    uint64_t accepted_at_tick;
    token_table *rates; /* NULL without opts.rate */
    /* Jobs finished by the persister, to be answered on the loop thread. */
    pthread_mutex_t lock; /* guards head and tail */
    ingest_job *head, *tail;
};

static void refuse(ingest_refusal *why, int status, const char *code, int retry_after_s,
                   const char *message)
{
    why->status = status;
    why->code = code;
    why->index = -1;
    why->of_body = false;
    why->retry_after_s = retry_after_s;
    snprintf(why->message, sizeof why->message, "%s", message);
}

static bool is_draining(const gateway *gw)
{
    return __atomic_load_n(&gw->draining, __ATOMIC_RELAXED);
}

static void count(uint64_t *counter, bool yes)
{
    if (yes) {
        __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
    }
}

static int refuse_draining(ingest_refusal *why)
{
    refuse(why, 503, "shutting_down", SHUTDOWN_RETRY_S,
           "telltale is shutting down; retry elsewhere or later");
    return TT_ECLOSED;
}

int gateway_create(const gateway_opts *opts, gateway **out)
{
    gateway *gw = calloc(1, sizeof *gw);
    if (gw == NULL) {
        return TT_ENOMEM;
    }
    gw->opts = *opts;
    if (opts->rate > 0 && gw->opts.burst == 0) {
        gw->opts.burst = 2 * opts->rate;
    }
    if (opts->rate > 0 && (gw->rates = token_table_new(RATE_KEYS)) == NULL) {
        free(gw);
        return TT_ENOMEM;
    }
    pthread_mutex_init(&gw->lock, NULL);
    *out = gw;
    return 0;
}

void gateway_free(gateway *gw)
{
    if (gw == NULL) {
        return;
    }
    for (ingest_job *job = gw->head, *next; job != NULL; job = next) {
        next = job->next;
        ingest_job_free(job);
    }
    pthread_mutex_destroy(&gw->lock);
    token_table_free(gw->rates);
    free(gw);
}

/* A body the parser refused: its own status, code and index; out of memory is overload. */
static int parse_refused(gateway *gw, int rc, const ingest_error *err, ingest_refusal *why)
{
    if (rc == TT_ENOMEM) {
        refuse(why, 503, "overloaded", 1, "out of memory");
        return rc;
    }
    refuse(why, err->http_status, err->code, 0, err->message);
    why->index = err->index;
    why->of_body = true;
    count(&gw->parsed_invalid, err->http_status == 400);
    count(&gw->parsed_too_large, err->http_status == 413);
    return rc;
}

void gateway_count_invalid(gateway *gw)
{
    count(&gw->parsed_invalid, 1);
}

/* With 'empty_ok', a body without events is no events (0, an empty batch), not a refusal. */
static int parse(gateway *gw, const char *body, size_t len, ingest_format fmt, int64_t now_ms,
                 bool empty_ok, event_batch *out, ingest_refusal *why)
{
    *out = (event_batch){0};
    if (is_draining(gw)) {
        return refuse_draining(why);
    }
    ingest_error err;
    int rc = ingest_parse(body, len, fmt, now_ms, gw->opts.max_events, out, &err);
    if (rc == TT_EINVAL && empty_ok && strcmp(err.code, "empty_batch") == 0) {
        return 0;
    }
    return rc == 0 ? 0 : parse_refused(gw, rc, &err, why);
}

int gateway_parse(gateway *gw, const char *body, size_t len, ingest_format fmt, int64_t now_ms,
                  event_batch *out, ingest_refusal *why)
{
    return parse(gw, body, len, fmt, now_ms, false, out, why);
}

int gateway_parse_rows(gateway *gw, const char *body, size_t len, int64_t now_ms, event_batch *out,
                       ingest_refusal *why)
{
    return parse(gw, body, len, INGEST_JSON, now_ms, true, out, why);
}

/* The media types read as NDJSON (DESIGN §5): one JSON value per line. The names in use for
 * it: application/x-ndjson (ndjson-spec, Elasticsearch, Loki), application/ndjson,
 * application/jsonl and application/jsonlines (jsonlines.org), application/x-jsonlines. Not
 * application/json-seq (RFC 7464): its records start with RS, another format. */
const char *const gateway_ndjson_types[] = {"application/x-ndjson",    "application/ndjson",
                                            "application/jsonl",       "application/jsonlines",
                                            "application/x-jsonlines", NULL};

/* The body's format from its Content-Type; false for a type telltale does not read. */
static bool body_format(const char *content_type, ingest_format *fmt)
{
    if (media_type_is(content_type, "application/json")) {
        *fmt = INGEST_JSON;
        return true;
    }
    if (media_type_in(content_type, gateway_ndjson_types)) {
        *fmt = INGEST_NDJSON;
        return true;
    }
    return false;
}

int gateway_parse_typed(gateway *gw, const char *content_type, const char *body, size_t len,
                        int64_t now_ms, event_batch *out, ingest_refusal *why)
{
    ingest_format fmt;
    *out = (event_batch){0};
    if (is_draining(gw)) {
        return refuse_draining(why);
    }
    if (!body_format(content_type, &fmt)) {
        count(&gw->parsed_invalid, 1);
        refuse(why, 415, "unsupported_media_type", 0,
               "send application/json (an object or an array) or NDJSON as application/x-ndjson, "
               "application/ndjson, application/jsonl, application/jsonlines or "
               "application/x-jsonlines");
        return TT_EINVAL;
    }
    return gateway_parse(gw, body, len, fmt, now_ms, out, why);
}

int gateway_parse_array(gateway *gw, const cJSON *array, int64_t now_ms, event_batch *out,
                        ingest_refusal *why)
{
    *out = (event_batch){0};
    if (is_draining(gw)) {
        return refuse_draining(why);
    }
    ingest_error err;
    int rc = ingest_from_array(array, now_ms, gw->opts.max_events, out, &err);
    return rc == 0 ? 0 : parse_refused(gw, rc, &err, why);
}

static void assign_ids(gateway *gw, event_batch *b)
{
    uint64_t now = clock_now_ms();
    for (size_t i = 0; i < b->count; i++) {
        if (b->events[i]->id[0] == '\0') {
            uuid7_next(&gw->ids, now, random_u64(), b->events[i]->id);
        }
    }
}

/* A submission the queue did not take. Events made inside the daemon (the demo: no 'done')
 * are not a producer's request and are not counted. */
static int submit_refused(gateway *gw, int rc, size_t n, bool counted, ingest_refusal *why)
{
    if (counted) {
        gw->stats.requests_overloaded++;
        gw->stats.events_rejected += n;
    }
    if (rc == TT_EFULL) {
        refuse(why, 429, "overloaded", 1,
               "too many events are waiting to be stored; retry shortly");
    } else {
        refuse(why, 503, rc == TT_ECLOSED ? "shutting_down" : "overloaded", 1, tt_strerror(rc));
    }
    return rc;
}

int gateway_submit(gateway *gw, event_batch *batch, ingest_done_fn done, void *ctx,
                   ingest_refusal *why)
{
    if (is_draining(gw)) {
        return refuse_draining(why);
    }
    ingest_job *job = calloc(1, sizeof *job);
    if (job == NULL) {
        return submit_refused(gw, TT_ENOMEM, batch->count, done != NULL, why);
    }
    assign_ids(gw, batch);
    *job = (ingest_job){.done = done, .done_ctx = ctx, .queued = true, .batch = *batch};
    int rc = queue_push(gw->opts.q, job);
    if (rc != 0) {
        free(job); /* the batch stays the caller's */
        return submit_refused(gw, rc, batch->count, done != NULL, why);
    }
    *batch = (event_batch){0};
    return 0;
}

int gateway_submit_from(gateway *gw, const char *key, event_batch *batch, ingest_done_fn done,
                        void *ctx, ingest_refusal *why)
{
    uint64_t wait_ms = 0;
    if (gw->rates != NULL && !is_draining(gw)) {
        wait_ms = token_table_take(gw->rates, key, gw->opts.rate, gw->opts.burst, batch->count,
                                   clock_mono_ms());
    }
    if (wait_ms == 0) {
        size_t n = batch->count;
        int rc = gateway_submit(gw, batch, done, ctx, why);
        if (rc != 0 && gw->rates != NULL && !is_draining(gw)) {
            token_table_refund(gw->rates, key, gw->opts.burst, n); /* not ingested: not spent */
        }
        return rc;
    }
    gw->stats.requests_rate_limited++;
    gw->stats.events_rejected += batch->count;
    char msg[TT_ERRLEN];
    int retry_s = (int)((wait_ms + 999) / 1000);
    /* Whose the limit is, as http_rate_key() said: without keys a client is its address. */
    const char *whose = strncmp(key, "addr:", 5) == 0  ? "this client address"
                        : strncmp(key, "sub:", 4) == 0 ? "this token's sub"
                                                       : "this key";
    snprintf(msg, sizeof msg,
             "over the ingest rate of %s (%u events a second, bursts of %u: "
             "TELLTALE_INGEST_RATE, TELLTALE_INGEST_BURST); retry in %d s",
             whose, gw->opts.rate, gw->opts.burst, retry_s);
    refuse(why, 429, "rate_limited", retry_s, msg);
    return TT_EFULL;
}

void gateway_job_refusal(const ingest_job *job, ingest_refusal *why)
{
    switch (job->result) {
    case TT_EFULL:
        refuse(why, 503, "spool_full", SPOOL_FULL_RETRY_S, job->err);
        break;
    case TT_ENOMEM:
        refuse(why, 503, "overloaded", 1, job->err);
        break;
    case TT_EUNAVAILABLE:
        refuse(why, 503, "store_unavailable", 1, job->err);
        break;
    default:
        refuse(why, 500, "store_failed", 1, job->err);
        break;
    }
}

void gateway_drain(gateway *gw)
{
    __atomic_store_n(&gw->draining, true, __ATOMIC_RELAXED);
}

int gateway_refuse_if_draining(const gateway *gw, ingest_refusal *why)
{
    return is_draining(gw) ? refuse_draining(why) : 0;
}

bool gateway_draining(const gateway *gw)
{
    return is_draining(gw);
}

/* One finished job: live streams hear of its commit, then its submitter is answered. */
static void answer_job(gateway *gw, ingest_job *job)
{
    size_t n = job->batch.count;
    if (job->store_seqs && job->result == 0 && gw->opts.committed != NULL) {
        gw->opts.committed(&job->batch, gw->opts.committed_ctx);
    }
    if (job->queued) {
        if (job->result == 0) {
            gw->stats.events_accepted += n;
        } else {
            gw->stats.events_rejected += n;
            gw->stats.requests_failed += job->done != NULL;
        }
        if (job->done != NULL) {
            job->done(job, job->done_ctx);
        }
        queue_release(gw->opts.q, job->batch.count, job->batch.bytes);
    }
    ingest_job_free(job);
}

void gateway_service(gateway *gw)
{
    pthread_mutex_lock(&gw->lock);
    ingest_job *jobs = gw->head;
    gw->head = gw->tail = NULL;
    pthread_mutex_unlock(&gw->lock);
    while (jobs != NULL) {
        ingest_job *next = jobs->next;
        answer_job(gw, jobs);
        jobs = next;
    }
}

void gateway_tick(gateway *gw, uint64_t elapsed_ms)
{
    uint64_t accepted = gw->stats.events_accepted;
    if (elapsed_ms > 0) {
        gw->stats.events_per_s =
            (double)(accepted - gw->accepted_at_tick) * 1000.0 / (double)elapsed_ms;
    }
    gw->accepted_at_tick = accepted;
}

void gateway_get_stats(const gateway *gw, gateway_stats *out)
{
    *out = gw->stats;
    out->requests_invalid += __atomic_load_n(&gw->parsed_invalid, __ATOMIC_RELAXED);
    out->requests_too_large += __atomic_load_n(&gw->parsed_too_large, __ATOMIC_RELAXED);
}

void gateway_jobs_done(ingest_job *jobs, void *arg)
{
    gateway *gw = arg;
    ingest_job *tail = jobs;
    while (tail->next != NULL) {
        tail = tail->next;
    }
    pthread_mutex_lock(&gw->lock);
    if (gw->tail != NULL) {
        gw->tail->next = jobs;
    } else {
        gw->head = jobs;
    }
    gw->tail = tail;
    pthread_mutex_unlock(&gw->lock);
    gw->opts.wake(gw->opts.wake_ctx);
}

void gateway_events_committed(event_batch *b, void *arg)
{
    ingest_job *job = calloc(1, sizeof *job);
    if (job == NULL) {
        event_batch_free(b); /* live clients miss them; they are stored, and resume finds them */
        return;
    }
    job->store_seqs = true;
    job->batch = *b;
    *b = (event_batch){0};
    gateway_jobs_done(job, arg);
}
