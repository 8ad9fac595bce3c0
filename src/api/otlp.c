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

void api_otlp_post(http_req *r, void *arg)
{
    api_ctx *ctx = arg;
    otlp_signal sig = OTLP_TRACES;
    otlp_encoding enc;
    ingest_refusal why;
    char err[TT_ERRLEN];
    ProtobufCMessage *msg = NULL;
    otlp_pending *p = NULL;
    if (!otlp_signal_of_path(r->path, &sig)) {
        http_respond_error(r, 404, "not_found", "no such OTLP signal");
        return;
    }
    if (!otlp_encoding_of(r->content_type, &enc)) {
        http_respond_error(r, 415, "unsupported_media_type",
                           "OTLP/HTTP bodies are application/x-protobuf or application/json");
        return;
    }
    if (gateway_refuse_if_draining(ctx->gw, &why) != 0) {
        respond_refusal(r, &why);
        return;
    }
    int rc = otlp_decode(sig, enc, (const uint8_t *)(r->body != NULL ? r->body : ""), r->body_len,
                         &msg, err);
    if (rc != 0) {
        if (rc == TT_EINVAL) {
            gateway_count_invalid(ctx->gw);
        }
        r->retry_after = rc == TT_ENOMEM ? 1 : 0;
        http_respond_error(r, rc == TT_ENOMEM ? 503 : 400,
                           rc == TT_ENOMEM ? "overloaded" : "invalid_otlp", err);
        return;
    }
    otlp_result res;
    int64_t now = (int64_t)clock_now_ms();
    rc = otlp_to_events(sig, msg, now, ctx->cfg->max_events, &res);
    otlp_message_free(msg);
    if (rc == 0 && res.batch.count == 0) {
        respond_export(r, sig, enc, res.rejected, res.message); /* nothing to keep */
        return;
    }
    if (rc != 0 || (p = calloc(1, sizeof *p)) == NULL) {
        event_batch_free(&res.batch);
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return;
    }
    *p = (otlp_pending){http_ticket_of(r), sig, enc, res.rejected, {0}};
    memcpy(p->message, res.message, sizeof p->message);
    if (gateway_submit_from(ctx->gw, http_rate_key(r->wsi, &r->who), &res.batch,
                            answer_when_durable, p, &why) != 0) {
        event_batch_free(&res.batch);
        free(p);
        respond_refusal(r, &why);
    }
}
