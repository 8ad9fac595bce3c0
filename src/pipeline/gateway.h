/* gateway.h -- the one way events enter the pipeline, whatever protocol brought them (HTTP,
 * /ws, /rest/v1): parse and validate, assign ids, enqueue, and answer once durable.
 *
 *   submitter ──gateway_parse*()──► batch ──gateway_submit()──► queue ──► persister
 *       ▲                                                                    │
 *       └──── done(job, ctx) on the loop thread ◄── gateway_service() ◄──────┘
 *
 * A refusal -- a bad body, a full queue, a shutdown, a store that could not commit -- is
 * described once, here (ingest_refusal: HTTP status, error code, message, Retry-After); each
 * protocol only writes it in its own shape.
 *
 * Threads: everything runs on the loop thread except gateway_jobs_done() and
 * gateway_events_committed(), which the persister's and the writer's threads call (they wake
 * the loop through the 'wake' function, whose owner then calls gateway_service() there), and
 * gateway_parse*() and gateway_count_invalid(), which any thread may call: a large body is
 * parsed on a worker thread so that the loop keeps serving (api/events.c). */
#ifndef TT_GATEWAY_H
#define TT_GATEWAY_H

#include "core/ingest.h"
#include "pipeline/queue.h"

#include <cjson/cJSON.h>
#include <pthread.h>

typedef struct gateway gateway;

/* An ingest body (POST /api/v1/events, OTLP, a /ws ingest message) this large or larger is
 * parsed on a worker thread: on the loop, a body of thousands of events would hold up every
 * other request and live client while it is parsed; a small one costs less to parse than to
 * hand over. Measured: BENCHMARKS.md, "Ingest off the loop thread". */
#define GATEWAY_PARSE_OFF_LOOP_BYTES (32u << 10)

/* Why events were not taken. Nothing of a refused request is kept, so every refusal but a bad
 * request invites a retry, after retry_after_s when it is set. */
typedef struct ingest_refusal {
    int status;       /* HTTP status: 400, 413, 429, 500, 503 */
    const char *code; /* static snake_case: "invalid_json", "overloaded", "spool_full", ... */
    char message[TT_ERRLEN];
    int index;         /* the first bad event's position, -1 when the request as a whole */
    bool of_body;      /* a refusal of the body itself (400, 413): its answer names 'index' */
    int retry_after_s; /* 0: no Retry-After */
} ingest_refusal;

/* Sees every batch whose events got their seqs from the store, before their submitters are
 * answered: how live streams learn of commits. Loop thread; the batch is only lent. */
typedef void (*gateway_commit_fn)(const event_batch *b, void *ctx);

typedef struct gateway_opts {
    job_queue *q;
    size_t max_events;       /* per request (TELLTALE_MAX_EVENTS) */
    void (*wake)(void *ctx); /* any thread: have the loop call gateway_service() soon */
    void *wake_ctx;
    gateway_commit_fn committed; /* may be NULL */
    void *committed_ctx;
    uint32_t rate;  /* events a second per key (gateway_submit_from); 0: no limit */
    uint32_t burst; /* events a key may send at once; 0: twice 'rate' */
} gateway_opts;

/* What the gateway counts, for /api/v1/status, /metrics and /ws stats. */
typedef struct gateway_stats {
    uint64_t events_accepted;       /* acknowledged as durable */
    uint64_t events_rejected;       /* refused: overload, store failure */
    uint64_t requests_invalid;      /* 400 */
    uint64_t requests_too_large;    /* 413 */
    uint64_t requests_overloaded;   /* 429 / 503 before the queue */
    uint64_t requests_failed;       /* the store could not commit */
    uint64_t requests_rate_limited; /* 429: a key over its ingest rate */
    double events_per_s;            /* accepted, over the last gateway_tick() interval */
} gateway_stats;

int gateway_create(const gateway_opts *opts, gateway **out);
/* After the last gateway_service(); jobs still waiting are freed unanswered. NULL: no-op. */
void gateway_free(gateway *gw);

/* Parses and validates an ingest body (DESIGN §2). Events get received_ms (and a missing ts)
 * from 'now_ms'. Returns 0 with *out owning the events, or TT_EINVAL/TT_ETOOBIG/TT_ENOMEM with
 * *why filled and *out empty. Counted as an invalid or too-large request when refused. */
int gateway_parse(gateway *gw, const char *body, size_t len, ingest_format fmt, int64_t now_ms,
                  event_batch *out, ingest_refusal *why);
/* The same for a JSON body of rows to insert (/rest/v1): an empty body or an empty array is
 * no events -- 0 with an empty batch -- as PostgREST inserts nothing and answers 201. */
int gateway_parse_rows(gateway *gw, const char *body, size_t len, int64_t now_ms, event_batch *out,
                       ingest_refusal *why);
/* The media types read as NDJSON, NULL-terminated (gateway.c says why these). */
extern const char *const gateway_ndjson_types[];

/* The same, the format read from an HTTP Content-Type (RFC 9110 §8.3.1: type and subtype
 * exact and case-insensitive, parameters ignored): application/json as JSON, the types of
 * gateway_ndjson_types as NDJSON. Any other type, or none, is refused with 415
 * unsupported_media_type. */
int gateway_parse_typed(gateway *gw, const char *content_type, const char *body, size_t len,
                        int64_t now_ms, event_batch *out, ingest_refusal *why);
/* The same for events already parsed as a JSON array (a /ws ingest message). */
int gateway_parse_array(gateway *gw, const cJSON *array, int64_t now_ms, event_batch *out,
                        ingest_refusal *why);

/* Counts a body refused by a protocol that decodes its own (OTLP): requests_invalid, as if
 * gateway_parse() had refused it. */
void gateway_count_invalid(gateway *gw);

/* Gives each event without an id a fresh UUIDv7 and queues the batch. On success the batch is
 * the gateway's (emptied) and 'done' (which may be NULL for events made inside the daemon) will
 * be called once, on the loop thread, with 'ctx'. On failure -- TT_EFULL (429), TT_ECLOSED (a
 * shutdown: 503), TT_ENOMEM (503) -- *why is filled, 'done' is never called, and the batch is
 * still the caller's. */
int gateway_submit(gateway *gw, event_batch *batch, ingest_done_fn done, void *ctx,
                   ingest_refusal *why);

/* The same, for a producer: 'key' names whose rate the batch counts against (a role, a JWT's
 * sub, a client address: http_rate_key()). Over the rate (opts.rate events a second, a burst of
 * opts.burst, core/token_bucket.h) it fails with TT_EFULL: 429 rate_limited, and Retry-After
 * the seconds until the batch would be admitted (429: RFC 6585 §4; Retry-After: RFC 9110 §10.2.3).
 */
int gateway_submit_from(gateway *gw, const char *key, event_batch *batch, ingest_done_fn done,
                        void *ctx, ingest_refusal *why);

/* Why a finished job was not committed (job->result != 0): a full spool (retry in a while), a
 * store out of reach (retry shortly), or a store failure. */
void gateway_job_refusal(const ingest_job *job, ingest_refusal *why);

/* TT_ECLOSED with the shutdown's refusal in *why once gateway_drain() was called, else 0: for
 * a protocol that checks other things first and must answer a shutdown before them. */
int gateway_refuse_if_draining(const gateway *gw, ingest_refusal *why);

/* Refuses every later submission with 503 shutting_down (DESIGN §4.6). */
void gateway_drain(gateway *gw);
bool gateway_draining(const gateway *gw);

/* Answers the jobs the persister has finished (and passes committed batches to 'committed').
 * Loop thread, after 'wake'. */
void gateway_service(gateway *gw);

/* Once a second or so: updates events_per_s over the 'elapsed_ms' since the last tick. */
void gateway_tick(gateway *gw, uint64_t elapsed_ms);

void gateway_get_stats(const gateway *gw, gateway_stats *out);

/* Hands finished jobs back: a persister_done_fn. Any thread. */
void gateway_jobs_done(ingest_job *jobs, void *gw);

/* Hands back events the store committed on its own schedule (shipped from the spool,
 * recovered dead letters), for the 'committed' observer: a writer_committed_fn. Takes the
 * batch. Any thread. */
void gateway_events_committed(event_batch *b, void *gw);

#endif
