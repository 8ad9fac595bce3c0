/* otlp.c -- POST /v1/traces, /v1/logs, /v1/metrics: OTLP/HTTP (OTLP specification 1.5.0,
 * "OTLP/HTTP"), protobuf or JSON, into the gateway like every other ingest (DESIGN §5 "OTLP").
 *
 * Answers are in the request's encoding: 200 with an Export<Signal>ServiceResponse once the
 * events are durable (partial_success when items were refused or cut), and every error as a
 * google.rpc.Status -- 400 bad data, 413 too large, 415 another content type, 429 or 503 with
 * Retry-After under back-pressure (OTLP's retryable statuses: never 500 for what a retry may
 * fix). */
#include "api/api.h"

#include "os/clock.h"
#include "os/log.h"
#include "otlp/otlp.h"

#include <stdlib.h>
#include <string.h>

/* A request waiting for its events to be durable. */
typedef struct otlp_pending {
    http_ticket ticket;
    otlp_signal sig;
    otlp_encoding enc;
    uint64_t rejected;
    char message[OTLP_MESSAGE_MAX];
} otlp_pending;

static otlp_encoding encoding_of(const http_req *r)
{
    otlp_encoding enc;
    return otlp_encoding_of(r->content_type, &enc) ? enc : OTLP_JSON;
}

/* The OTLP routes' error writer: a google.rpc.Status in the request's encoding (JSON when it
 * has none telltale reads). */
void api_otlp_error(http_req *r, const http_error *e)
{
    otlp_encoding enc = encoding_of(r);
    size_t len = 0;
    uint8_t *body = otlp_encode_status(enc, otlp_rpc_code(e->status), e->message, &len);
    if (body == NULL) {
        r->retry_after = 1;
        http_respond_static(r, 503, "text/plain", (const unsigned char *)"out of memory\n", 14);
        return;
    }
    http_respond(r, e->status, otlp_content_type(enc), (char *)body, len);
}

static void respond_export(http_req *r, otlp_signal sig, otlp_encoding enc, uint64_t rejected,
                           const char *message)
{
    size_t len = 0;
    uint8_t *body = otlp_encode_response(sig, enc, rejected, message, &len);
    if (body == NULL) {
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return;
    }
    http_respond(r, 200, otlp_content_type(enc), (char *)body, len);
}

/* A refusal in OTLP's terms: what a retry may fix is 429 or 503 with Retry-After. */
static void respond_refusal(http_req *r, const ingest_refusal *why)
{
    int status = why->status == 500 ? 503 : why->status;
    r->retry_after = why->retry_after_s;
    if ((status == 429 || status == 503) && r->retry_after <= 0) {
        r->retry_after = 1;
    }
    http_respond_error(r, status, why->code, why->message);
}

static void answer_when_durable(const ingest_job *job, void *arg)
{
    otlp_pending *p = arg;
    http_req *r = http_redeem(p->ticket);
    if (r != NULL && job->result != 0) {
        ingest_refusal why;
        gateway_job_refusal(job, &why);
        respond_refusal(r, &why);
    } else if (r != NULL) {
        respond_export(r, p->sig, p->enc, p->rejected, p->message);
    }
    free(p);
}

/* A body read into events: on the loop when small, on a worker thread when large (parsing it
 * on the loop would hold up every other client, as for POST /api/v1/events). */
typedef struct otlp_read {
    api_ctx *ctx;
    otlp_signal sig;
    otlp_encoding enc;
    const uint8_t *body; /* the request's (held by http_defer() while on a worker) */
    size_t len;
    int64_t now_ms;
    int rc; /* 0, TT_EINVAL (400, 'err' says why), TT_ENOMEM */
    char err[TT_ERRLEN];
    otlp_result res;
} otlp_read;

static void read_body(void *arg)
{
    otlp_read *rd = arg;
    ProtobufCMessage *msg = NULL;
    rd->rc = otlp_decode(rd->sig, rd->enc, rd->body, rd->len, &msg, rd->err);
    if (rd->rc == TT_EINVAL) {
        gateway_count_invalid(rd->ctx->gw);
    }
    if (rd->rc == 0) {
        rd->rc = otlp_to_events(rd->sig, msg, rd->now_ms, rd->ctx->cfg->max_events, &rd->res);
        otlp_message_free(msg);
    }
}

/* Answers a body that could not be read or had nothing to keep; else queues its events, to be
 * answered once durable. */
static void submit(http_req *r, otlp_read *rd)
{
    ingest_refusal why;
    otlp_pending *p = NULL;
    if (rd->rc == 0 && rd->res.batch.count == 0) {
        respond_export(r, rd->sig, rd->enc, rd->res.rejected, rd->res.message);
        return; /* nothing to keep */
    }
    if (rd->rc != 0 || (p = calloc(1, sizeof *p)) == NULL) {
        bool bad = rd->rc == TT_EINVAL;
        r->retry_after = bad ? 0 : 1;
        http_respond_error(r, bad ? 400 : 503, bad ? "invalid_otlp" : "overloaded",
                           bad ? rd->err : "out of memory");
        return;
    }
    *p = (otlp_pending){http_ticket_of(r), rd->sig, rd->enc, rd->res.rejected, {0}};
    memcpy(p->message, rd->res.message, sizeof p->message);
    if (gateway_submit_from(rd->ctx->gw, http_req_rate_key(r, &r->who), &rd->res.batch,
                            answer_when_durable, p, &why) != 0) {
        free(p);
        respond_refusal(r, &why);
    }
}

/* After a worker read the body. A client that left meanwhile has nothing stored. */
static void read_on_worker(http_req *r, void *arg)
{
    otlp_read *rd = arg;
    if (r != NULL) {
        submit(r, rd);
    }
    event_batch_free(&rd->res.batch);
    free(rd);
}

void api_otlp_post(http_req *r, void *arg)
{
    otlp_read rd = {.ctx = arg,
                    .body = (const uint8_t *)(r->body != NULL ? r->body : ""),
                    .len = r->body_len,
                    .now_ms = (int64_t)clock_now_ms()};
    ingest_refusal why;
    if (!otlp_signal_of_path(r->path, &rd.sig)) {
        http_respond_error(r, 404, "not_found", "no such OTLP signal");
        return;
    }
    if (!otlp_encoding_of(r->content_type, &rd.enc)) {
        http_respond_error(r, 415, "unsupported_media_type",
                           "OTLP/HTTP bodies are application/x-protobuf or application/json");
        return;
    }
    if (gateway_refuse_if_draining(rd.ctx->gw, &why) != 0) {
        respond_refusal(r, &why);
        return;
    }
    if (rd.len < GATEWAY_PARSE_OFF_LOOP_BYTES) {
        read_body(&rd);
        submit(r, &rd);
        event_batch_free(&rd.res.batch);
        return;
    }
    otlp_read *on_worker = malloc(sizeof *on_worker);
    if (on_worker == NULL) {
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return;
    }
    *on_worker = rd;
    if (http_defer(r, read_body, read_on_worker, on_worker) != 0) {
        free(on_worker);
    }
}
