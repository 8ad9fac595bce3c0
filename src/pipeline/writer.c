/* writer.c -- breaker, retries, poison isolation and dead-letter recovery around the store. */
#include "pipeline/writer.h"

#include "core/event_json.h"
#include "core/json_print.h"
#include "core/rollup.h"
#include "os/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUSEKEEPING_EVERY_MS 60000
#define RETENTION_CHUNK 10000
#define DLQ_CLAIM 100

/* The housekeeping tasks, each logged on its own: one that fails does not hide another's
 * failure, nor does one that works announce that another works again. */
typedef enum housekeeping_task {
    HK_DLQ_RECOVERY,
    HK_ROLLUP_FOLD,
    HK_RETENTION,
    HK_DLQ_RETENTION,
    HK_ROLLUP_RETENTION,
    HOUSEKEEPING_TASKS
} housekeeping_task;

static const char *const task_names[HOUSEKEEPING_TASKS] = {"dead letter recovery", "rollup fold",
                                                           "retention", "dead letter retention",
                                                           "rollup retention"};

struct writer {
    store *st;
    writer_opts opts;
    breaker br; /* the owner's; copied into stats under 'lock' */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool interrupted;       /* under 'lock' */
    writer_control control; /* under 'lock': the operator's, not applied yet */
    writer_stats stats;     /* under 'lock' */
    uint64_t last_transitions;
    uint64_t next_retention_ms;
    bool failing[HOUSEKEEPING_TASKS]; /* said once in the log until that task works again */
};

/* The writer's monotonic time, from its pipeline_clock. */
static uint64_t mono_ms(const writer *w)
{
    return pipeline_clock_mono_ms(&w->opts.clock);
}

/* A uniformly random value for the backoff's jitter. */
static uint32_t jitter(const writer *w)
{
    return pipeline_clock_random(&w->opts.clock);
}

int writer_create(store *st, const writer_opts *opts, writer **out)
{
    writer *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return TT_ENOMEM;
    }
    w->st = st;
    w->opts = *opts;
    breaker_init(&w->br, &opts->breaker, mono_ms(w));
    pthread_mutex_init(&w->lock, NULL);
    clock_cond_init(&w->wake);
    *out = w;
    return 0;
}

void writer_free(writer *w)
{
    if (w != NULL) {
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        free(w);
    }
}

void writer_interrupt(writer *w)
{
    pthread_mutex_lock(&w->lock);
    w->interrupted = true;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

bool writer_sleep(writer *w, uint64_t ms)
{
    struct timespec until = clock_deadline_after(ms);
    pthread_mutex_lock(&w->lock);
    /* An operator's control ends the wait too: a retry waiting for the store must see a
     * forced-open breaker now, not at the end of a delay of up to cap_ms. */
    while (!w->interrupted && w->control == WRITER_CONTROL_NONE &&
           pthread_cond_timedwait(&w->wake, &w->lock, &until) == 0) {
    }
    bool ok = !w->interrupted;
    pthread_mutex_unlock(&w->lock);
    return ok;
}

/* Logs and publishes the breaker's state after each of its calls. */
static void breaker_changed(writer *w)
{
    if (w->br.transitions != w->last_transitions) {
        const breaker_transition *t = &w->br.last_transition;
        log_msg(t->to == BREAKER_CLOSED ? LOG_INFO : LOG_WARN, "circuit breaker %s -> %s: %s",
                breaker_state_name(t->from), breaker_state_name(t->to), t->reason);
        w->last_transitions = w->br.transitions;
    }
    pthread_mutex_lock(&w->lock);
    w->stats.breaker_state = w->br.state;
    w->stats.breaker_transitions = w->br.transitions;
    w->stats.last_transition = w->br.last_transition;
    w->stats.breaker = w->br.stats;
    pthread_mutex_unlock(&w->lock);
}

#define COUNT(field, n)                                                                            \
    do {                                                                                           \
        pthread_mutex_lock(&w->lock);                                                              \
        w->stats.field += (n);                                                                     \
        pthread_mutex_unlock(&w->lock);                                                            \
    } while (0)

void writer_control_breaker(writer *w, writer_control c)
{
    pthread_mutex_lock(&w->lock);
    w->control = c;
    pthread_cond_broadcast(&w->wake); /* a retry waiting for the store should look again */
    pthread_mutex_unlock(&w->lock);
}

/* Applies what the operator asked for, on the owner's thread (the breaker is the owner's). */
static void apply_control(writer *w)
{
    pthread_mutex_lock(&w->lock);
    writer_control c = w->control;
    w->control = WRITER_CONTROL_NONE;
    pthread_mutex_unlock(&w->lock);
    uint64_t now = mono_ms(w);
    if (c == WRITER_FORCE_OPEN) {
        breaker_force_open(&w->br, now);
    } else if (c == WRITER_DISABLE_BREAKER) {
        breaker_disable(&w->br, now);
    } else if (c == WRITER_RESET_BREAKER) {
        breaker_reset(&w->br, now);
    }
    if (c != WRITER_CONTROL_NONE) {
        breaker_changed(w);
    }
}

/* One store call through the breaker. A refusal of the data is the store working, so only
 * TT_EUNAVAILABLE counts against it. */
static int guarded_insert(writer *w, tt_event *const *events, size_t n, char *err)
{
    uint64_t ticket;
    apply_control(w);
    if (!breaker_allow(&w->br, mono_ms(w), &ticket)) {
        breaker_changed(w);
        return tt_fail(err, TT_EUNAVAILABLE, "circuit breaker %s: not calling the store",
                       breaker_state_name(w->br.state));
    }
    int rc = store_insert_events(w->st, events, n, err);
    breaker_record(&w->br, mono_ms(w), ticket, rc != TT_EUNAVAILABLE);
    breaker_changed(w);
    if (rc == TT_EUNAVAILABLE) {
        COUNT(transient_failures, 1);
        log_debug("store write failed, may be retried: %s", err);
    } else if (rc != 0) {
        COUNT(rejected_calls, 1);
    }
    return rc;
}

/* True in the states where the breaker lets no call out: retrying there would only wait.
 * A disabled breaker lets every call out, so it does not stop the retries. */
static bool breaker_refuses(breaker_state s)
{
    return s == BREAKER_OPEN || s == BREAKER_FORCED_OPEN;
}

/* Tries, and retries transient failures with backoff while the limits allow. */
static int insert_with_retries(writer *w, tt_event *const *events, size_t n, char *err)
{
    backoff bo;
    backoff_start(&bo, &w->opts.retry, mono_ms(w));
    for (;;) {
        int rc = guarded_insert(w, events, n, err);
        uint64_t delay;
        if (rc != TT_EUNAVAILABLE || breaker_refuses(w->br.state) ||
            !backoff_next(&bo, mono_ms(w), jitter(w), &delay)) {
            return rc; /* done, refused, or out of patience (an open breaker means: stop) */
        }
        COUNT(retries, 1);
        if (!writer_sleep(w, delay)) {
            return rc;
        }
    }
}

/* The event in the form producers send it: without the fields telltale assigns. */
static char *payload_of(const tt_event *ev)
{
    json_writer w = {0};
    event_write_json(&w, ev, EVENT_JSON_AS_SENT);
    if (w.out.oom) {
        free(w.out.buf);
        return NULL;
    }
    return w.out.buf;
}

static int dead_letter(writer *w, tt_event *ev, const char *reason, char *err)
{
    char *payload = payload_of(ev);
    if (payload == NULL) {
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    int rc = store_dlq_add(w->st, payload, reason, w->opts.dlq_max_retries, err);
    if (rc == 0) {
        log_warn("event %s refused by the store, put in the dead letter queue: %s", ev->id, reason);
    }
    free(payload);
    ev->seq = WRITER_DEAD_LETTERED;
    /* The dead letter queue lives in the store: if it cannot be written, the store is out. */
    return rc == 0 ? 0 : TT_EUNAVAILABLE;
}

/* Writes events[0..n): on refusal, halves until the refused events are alone. */
static int write_range(writer *w, tt_event *const *events, size_t n, writer_outcome *out, char *err)
{
    int rc = insert_with_retries(w, events, n, err);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++) {
            out->stored += events[i]->seq > 0;
            out->duplicates += events[i]->seq == 0;
        }
        return 0;
    }
    if (rc != TT_EREJECTED) {
        return TT_EUNAVAILABLE;
    }
    if (n == 1) {
        char reason[TT_ERRLEN];
        snprintf(reason, sizeof reason, "%s", err);
        rc = dead_letter(w, events[0], reason, err);
        out->dead_lettered += rc == 0;
        return rc;
    }
    size_t half = n / 2;
    rc = write_range(w, events, half, out, err);
    return rc != 0 ? rc : write_range(w, events + half, n - half, out, err);
}

int writer_write(writer *w, tt_event *const *events, size_t n, writer_outcome *out,
                 char err[TT_ERRLEN])
{
    *out = (writer_outcome){0};
    int rc = write_range(w, events, n, out, err);
    if (rc == 0) {
        pthread_mutex_lock(&w->lock);
        w->stats.batches++;
        w->stats.events_stored += out->stored;
        w->stats.duplicates += out->duplicates;
        w->stats.dead_lettered += out->dead_lettered;
        pthread_mutex_unlock(&w->lock);
    }
    return rc;
}

bool writer_available(writer *w, uint64_t *retry_in_ms)
{
    apply_control(w);
    uint64_t now = mono_ms(w);
    breaker_state s = breaker_state_at(&w->br, now);
    breaker_changed(w);
    if (s == BREAKER_CLOSED || s == BREAKER_HALF_OPEN || s == BREAKER_DISABLED) {
        return true;
    }
    /* Look again soon: the breaker turns half-open on its own once open_ms has passed. */
    *retry_in_ms = w->opts.breaker.open_ms < 250 ? w->opts.breaker.open_ms : 250;
    return false;
}

/* ---- dead letters, again ---- */

typedef struct recovery {
    writer *w;
    event_batch recovered; /* committed: handed to the committed callback */
    size_t cap;
} recovery;

/* When a dead letter that has failed 'retry_count' retries is due again: exponential backoff
 * with equal jitter, [d/2, d] for d = min(cap, base * 2^retry_count). Not the write retries'
 * full jitter: that may draw 0, and a refusal is not an outage that passes in milliseconds --
 * each retry should give an operator time to fix the cause (OPERATIONS, the DLQ). */
static uint64_t next_retry_ms(writer *w, uint32_t retry_count)
{
    uint64_t d = w->opts.dlq_retry_base_ms > 0 ? w->opts.dlq_retry_base_ms : 30000;
    uint64_t cap = w->opts.dlq_retry_cap_ms > 0 ? w->opts.dlq_retry_cap_ms : 3600000;
    for (uint32_t i = 0; i < retry_count && d < cap; i++) {
        d *= 2;
    }
    d = d < cap ? d : cap;
    uint64_t delay = d / 2 + (uint64_t)jitter(w) % (d / 2 + 1);
    return pipeline_clock_now_ms(&w->opts.clock) + delay;
}

/* Parses a dead letter back into an event, keeping its id and time. */
static tt_event *event_of(const dlq_item *it, char *err)
{
    cJSON *obj = cJSON_Parse(it->payload);
    tt_event *ev = NULL;
    ingest_error ie = {0};
    if (event_from_json(obj, it->created_ms, &ev, &ie) != 0) {
        snprintf(err, TT_ERRLEN, "payload no longer valid: %.200s", ie.message);
    }
    cJSON_Delete(obj);
    return ev;
}

static int retry_one(const dlq_item *it, void *ctx)
{
    recovery *r = ctx;
    writer *w = r->w;
    char err[TT_ERRLEN] = "";
    tt_event *ev = event_of(it, err);
    int rc = ev != NULL ? guarded_insert(w, &ev, 1, err) : TT_EREJECTED;
    if (rc == TT_EUNAVAILABLE) {
        event_free(ev); /* the store is out: the lease runs out and someone claims it again */
        return 0;
    }
    char ignored[TT_ERRLEN];
    if (rc == 0) {
        store_dlq_settle(w->st, it->id, true, NULL, 0, ignored);
        COUNT(dlq_recovered, 1);
        if (event_batch_push(&r->recovered, &r->cap, ev) != 0) {
            event_free(ev); /* recovered and stored: only its broadcast is lost */
        }
        return 0;
    }
    store_dlq_settle(w->st, it->id, false, err, (int64_t)next_retry_ms(w, it->retry_count),
                     ignored);
    COUNT(dlq_retry_failures, 1);
    event_free(ev);
    return 0;
}

/* Logs the outcome 'rc' of a housekeeping task. An outage fails every task twice a second:
 * each failing task is warned of once, then at debug level until it works again (said at info);
 * a shutdown cutting a task short is not worth a warning. */
static void housekeeping_outcome(writer *w, housekeeping_task task, int rc, const char *err)
{
    const char *what = task_names[task];
    if (rc == 0) {
        if (w->failing[task]) {
            log_info("%s works again", what);
            w->failing[task] = false;
        }
        return;
    }
    pthread_mutex_lock(&w->lock);
    bool stopping = w->interrupted;
    pthread_mutex_unlock(&w->lock);
    if (stopping || w->failing[task]) {
        log_debug("%s: %s", what, err);
    } else {
        log_warn("%s: %s (said once: until it works again, its failures are logged at debug "
                 "level)",
                 what, err);
        w->failing[task] = true;
    }
}

static void recover_dead_letters(writer *w)
{
    if (breaker_state_at(&w->br, mono_ms(w)) != BREAKER_CLOSED) {
        return; /* no store, no recovery: retries would only burn the items' attempts */
    }
    recovery r = {.w = w};
    char err[TT_ERRLEN];
    int rc = store_dlq_claim(w->st, DLQ_CLAIM, w->opts.dlq_lease_ms, retry_one, &r, err);
    housekeeping_outcome(w, HK_DLQ_RECOVERY, rc, err);
    if (r.recovered.count > 0 && w->opts.committed != NULL) {
        w->opts.committed(&r.recovered, w->opts.ctx);
    } else {
        event_batch_free(&r.recovered);
    }
}

/* Minute rollups and sessions go with the events; hour and day rollups are kept for the
 * rollup retention, so that long charts outlive the raw events. */
static void expire_summaries(writer *w, uint64_t now)
{
    uint64_t events = w->opts.retention_ms, rollups = w->opts.rollup_retention_ms, deleted = 0;
    store_expiry e = {.max_rows = RETENTION_CHUNK};
    if (events > 0 && events < now) {
        e.tier_before_ms[ROLLUP_MINUTE] = e.sessions_before_ms = (int64_t)(now - events);
    }
    if (rollups > 0 && rollups < now) {
        e.tier_before_ms[ROLLUP_HOUR] = e.tier_before_ms[ROLLUP_DAY] = (int64_t)(now - rollups);
    }
    char err[TT_ERRLEN];
    int rc = store_expire_summaries(w->st, &e, &deleted, err);
    housekeeping_outcome(w, HK_ROLLUP_RETENTION, rc, err);
}

static void apply_retention(writer *w)
{
    uint64_t now = pipeline_clock_now_ms(&w->opts.clock), deleted = 0, purged = 0;
    char err[TT_ERRLEN];
    if (w->opts.retention_ms > 0) {
        int rc = store_delete_before(w->st, (int64_t)(now - w->opts.retention_ms), RETENTION_CHUNK,
                                     &deleted, err);
        housekeeping_outcome(w, HK_RETENTION, rc, err);
    }
    if (w->opts.dlq_retention_ms > 0) {
        int rc = store_dlq_purge(w->st, (int64_t)w->opts.dlq_retention_ms, &purged, err);
        housekeeping_outcome(w, HK_DLQ_RETENTION, rc, err);
    }
    expire_summaries(w, now);
    COUNT(retention_deleted, deleted);
    COUNT(dlq_purged, purged);
    /* A full chunk means more is due: come back soon. */
    w->next_retention_ms = mono_ms(w) + (deleted == RETENTION_CHUNK ? 0 : HOUSEKEEPING_EVERY_MS);
}

/* Hour and day rollups from the closed minutes, where the store folds them (store.h): cheap
 * when no minute has closed since the last call, so every round of housekeeping asks. */
static void fold_summaries(writer *w)
{
    if (breaker_state_at(&w->br, mono_ms(w)) != BREAKER_CLOSED) {
        return;
    }
    char err[TT_ERRLEN];
    int rc = store_fold_summaries(w->st, (int64_t)pipeline_clock_now_ms(&w->opts.clock), err);
    housekeeping_outcome(w, HK_ROLLUP_FOLD, rc, err);
}

void writer_housekeeping(writer *w)
{
    apply_control(w);
    recover_dead_letters(w);
    fold_summaries(w);
    if (mono_ms(w) >= w->next_retention_ms &&
        breaker_state_at(&w->br, mono_ms(w)) == BREAKER_CLOSED) {
        apply_retention(w);
    }
}

void writer_get_stats(writer *w, writer_stats *out)
{
    pthread_mutex_lock(&w->lock);
    *out = w->stats;
    pthread_mutex_unlock(&w->lock);
}
