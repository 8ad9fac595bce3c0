/* fake_store.c -- an in-memory store engine with failures on demand, for the pipeline's tests. */
#include "fake_store.h"

#include "store/store_impl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Long enough never to trip on a loaded machine; it only turns a hang into a failure. */
#define WAIT_LIMIT_S 30

typedef struct fake_row {
    char id[EVENT_ID_MAX + 1];
    int64_t seq;
} fake_row;

typedef struct fake_dlq {
    char payload[FAKE_PAYLOAD_MAX];
    char reason[TT_ERRLEN];
    uint32_t retry_count, max_retries;
    dlq_status status;
    int64_t next_retry_ms;
} fake_dlq;

struct fake_store {
    store base; /* first: store.c dispatches through base.ops */
    pthread_mutex_t lock;
    pthread_cond_t changed; /* broadcast after every call */
    fake_mode mode;
    fake_clock *clock; /* with latency_ms: moved on by each insert */
    uint64_t latency_ms;
    uint32_t fail_first, fail_count; /* calls fail_first .. + fail_count fail transiently */
    bool refuse_poison;
    bool fail_dlq;
    int64_t next_seq;
    fake_row rows[FAKE_MAX_ROWS];
    size_t nrows;
    struct {
        size_t size;
        int rc;
    } calls[FAKE_MAX_CALLS];
    uint32_t ncalls;
    fake_dlq dlq[FAKE_MAX_ROWS];
    size_t ndlq;
};

/* A broken expectation on a pipeline thread: cmocka's failures belong to the test's thread,
 * so this one ends the test binary loudly instead. */
static void must(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fake store: %s\n", what);
        abort();
    }
}

static fake_store *fake_of(store *st)
{
    return (fake_store *)st;
}

static bool is_poison(const tt_event *ev)
{
    return ev->name != NULL && strncmp(ev->name, "poison", 6) == 0;
}

static const fake_row *find_row(const fake_store *fs, const char *id)
{
    for (size_t i = 0; i < fs->nrows; i++) {
        if (strcmp(fs->rows[i].id, id) == 0) {
            return &fs->rows[i];
        }
    }
    return NULL;
}

/* The transaction: every event stored (or skipped as a duplicate), or none. */
static void commit_all(fake_store *fs, tt_event *const *events, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (find_row(fs, events[i]->id) != NULL) {
            events[i]->seq = 0;
            continue;
        }
        must(fs->nrows < FAKE_MAX_ROWS, "more rows than FAKE_MAX_ROWS");
        fake_row *r = &fs->rows[fs->nrows++];
        snprintf(r->id, sizeof r->id, "%s", events[i]->id);
        r->seq = events[i]->seq = ++fs->next_seq;
    }
}

static int answer(fake_store *fs, tt_event *const *events, size_t n, char *err)
{
    if (fs->ncalls >= fs->fail_first && fs->ncalls - fs->fail_first < fs->fail_count) {
        return tt_fail(err, TT_EUNAVAILABLE, "fake store: failing on demand");
    }
    if (fs->mode == FAKE_DOWN) {
        return tt_fail(err, TT_EUNAVAILABLE, "fake store: down");
    }
    for (size_t i = 0; fs->refuse_poison && i < n; i++) {
        if (is_poison(events[i])) {
            return tt_fail(err, TT_EREJECTED, FAKE_REJECT_PREFIX "%s", events[i]->id);
        }
    }
    commit_all(fs, events, n);
    if (fs->mode == FAKE_LOST_ACK) {
        return tt_fail(err, TT_EUNAVAILABLE, "fake store: committed, answer lost");
    }
    return 0;
}

static int fake_insert_events(store *st, tt_event *const *events, size_t n, char *err)
{
    fake_store *fs = fake_of(st);
    pthread_mutex_lock(&fs->lock);
    if (fs->clock != NULL) {
        fake_clock_advance(fs->clock, fs->latency_ms);
    }
    int rc = answer(fs, events, n, err);
    if (rc != 0 && fs->mode != FAKE_LOST_ACK) {
        for (size_t i = 0; i < n; i++) {
            events[i]->seq = 0; /* store.h: on failure every seq is 0 */
        }
    }
    must(fs->ncalls < FAKE_MAX_CALLS, "more insert calls than FAKE_MAX_CALLS");
    fs->calls[fs->ncalls].size = n;
    fs->calls[fs->ncalls].rc = rc;
    fs->ncalls++;
    pthread_cond_broadcast(&fs->changed);
    pthread_mutex_unlock(&fs->lock);
    return rc;
}

static int fake_dlq_add(store *st, const char *payload, const char *reason, uint32_t max_retries,
                        char *err)
{
    fake_store *fs = fake_of(st);
    pthread_mutex_lock(&fs->lock);
    int rc = 0;
    if (fs->mode == FAKE_DOWN || fs->fail_dlq) {
        rc = tt_fail(err, TT_EUNAVAILABLE, "fake store: dead letter queue unavailable");
    } else {
        must(fs->ndlq < FAKE_MAX_ROWS, "more dead letters than FAKE_MAX_ROWS");
        fake_dlq *d = &fs->dlq[fs->ndlq++];
        *d = (fake_dlq){.max_retries = max_retries, .status = DLQ_PENDING};
        snprintf(d->payload, sizeof d->payload, "%s", payload);
        snprintf(d->reason, sizeof d->reason, "%s", reason);
    }
    pthread_cond_broadcast(&fs->changed);
    pthread_mutex_unlock(&fs->lock);
    return rc;
}

/* Claims every pending item (due times are the writer's business, not the fake's). The
 * callback runs without the lock: it calls insert_events and settle. */
static int fake_dlq_claim(store *st, uint32_t limit, uint32_t lease_ms, dlq_item_fn fn, void *ctx,
                          char *err)
{
    (void)lease_ms;
    (void)err;
    fake_store *fs = fake_of(st);
    int64_t ids[FAKE_MAX_ROWS];
    size_t n = 0;
    pthread_mutex_lock(&fs->lock);
    for (size_t i = 0; i < fs->ndlq && n < limit; i++) {
        if (fs->dlq[i].status == DLQ_PENDING) {
            fs->dlq[i].status = DLQ_RETRYING;
            ids[n++] = (int64_t)i + 1;
        }
    }
    pthread_mutex_unlock(&fs->lock);
    for (size_t k = 0; k < n; k++) {
        pthread_mutex_lock(&fs->lock);
        fake_dlq d = fs->dlq[ids[k] - 1];
        pthread_mutex_unlock(&fs->lock);
        dlq_item it = {.id = ids[k],
                       .payload = d.payload,
                       .reason = d.reason,
                       .retry_count = d.retry_count,
                       .max_retries = d.max_retries,
                       .status = d.status,
                       .created_ms = 1000};
        if (fn(&it, ctx) != 0) {
            break;
        }
    }
    return 0;
}

static int fake_dlq_settle(store *st, int64_t id, bool recovered, const char *reason,
                           int64_t next_retry_ms, char *err)
{
    (void)err;
    fake_store *fs = fake_of(st);
    pthread_mutex_lock(&fs->lock);
    fake_dlq *d = &fs->dlq[id - 1];
    if (recovered) {
        d->status = DLQ_RECOVERED;
    } else {
        d->retry_count++;
        d->status = d->retry_count >= d->max_retries ? DLQ_FAILED : DLQ_PENDING;
        d->next_retry_ms = next_retry_ms;
        snprintf(d->reason, sizeof d->reason, "%s", reason != NULL ? reason : d->reason);
    }
    pthread_cond_broadcast(&fs->changed);
    pthread_mutex_unlock(&fs->lock);
    return 0;
}

static int fake_delete_before(store *st, int64_t before_ms, uint32_t max_rows, uint64_t *deleted,
                              char *err)
{
    (void)st, (void)before_ms, (void)max_rows, (void)err;
    *deleted = 0; /* retention is not under test here */
    return 0;
}

static int fake_dlq_purge(store *st, int64_t older_than_ms, uint64_t *deleted, char *err)
{
    (void)st, (void)older_than_ms, (void)err;
    *deleted = 0;
    return 0;
}

/* Whatever the pipeline has no business calling: a call ends the test. */
static int not_for_the_pipeline(const char *what, char *err)
{
    must(false, what);
    return tt_fail(err, TT_EINVAL, "fake store: no %s", what);
}

static int fake_query_events(store *st, const event_filter *f, store_row_fn fn, void *ctx,
                             char *err)
{
    (void)st, (void)f, (void)fn, (void)ctx;
    return not_for_the_pipeline("query_events", err);
}

static int fake_max_seq(store *st, int64_t *out, char *err)
{
    (void)st, (void)out;
    return not_for_the_pipeline("max_seq", err);
}

static int fake_delete_through(store *st, int64_t through, uint64_t *deleted, char *err)
{
    (void)st, (void)through, (void)deleted;
    return not_for_the_pipeline("delete_through", err);
}

static int fake_count(store *st, store_backlog *out, char *err)
{
    (void)st, (void)out;
    return not_for_the_pipeline("count", err);
}

static int fake_dlq_list(store *st, int status, int64_t after_id, uint32_t limit, dlq_item_fn fn,
                         void *ctx, char *err)
{
    (void)st, (void)status, (void)after_id, (void)limit, (void)fn, (void)ctx;
    return not_for_the_pipeline("dlq_list", err);
}

static int fake_dlq_stats(store *st, dlq_stats *out, char *err)
{
    (void)st, (void)out;
    return not_for_the_pipeline("dlq_stats", err);
}

static int fake_dlq_retry_now(store *st, int64_t id, uint64_t *changed, char *err)
{
    (void)st, (void)id, (void)changed;
    return not_for_the_pipeline("dlq_retry_now", err);
}

static int fake_dlq_mark_failed(store *st, int64_t id, const char *reason, uint64_t *changed,
                                char *err)
{
    (void)st, (void)id, (void)reason, (void)changed;
    return not_for_the_pipeline("dlq_mark_failed", err);
}

static int fake_select(store *st, const store_stmt *select, const store_type *types, int ncols,
                       const store_stmt *count, int64_t *total, store_cells_fn fn, void *ctx,
                       char *err)
{
    (void)st, (void)select, (void)types, (void)ncols, (void)count, (void)total, (void)fn,
        (void)ctx;
    return not_for_the_pipeline("select", err);
}

static int fake_change(store *st, const store_stmt *stmt, const store_type *types, int ncols,
                       store_cells_fn fn, void *ctx, char *err)
{
    (void)st, (void)stmt, (void)types, (void)ncols, (void)fn, (void)ctx;
    return not_for_the_pipeline("change", err);
}

static void fake_close(store *st)
{
    fake_store *fs = fake_of(st);
    pthread_cond_destroy(&fs->changed);
    pthread_mutex_destroy(&fs->lock);
    free(fs);
}

static const store_ops fake_ops = {
    .kind = "fake",
    .close = fake_close,
    .insert_events = fake_insert_events,
    .delete_before = fake_delete_before,
    .query_events = fake_query_events,
    .max_seq = fake_max_seq,
    .delete_through = fake_delete_through,
    .count = fake_count,
    .dlq_add = fake_dlq_add,
    .dlq_claim = fake_dlq_claim,
    .dlq_settle = fake_dlq_settle,
    .dlq_list = fake_dlq_list,
    .dlq_stats = fake_dlq_stats,
    .dlq_retry_now = fake_dlq_retry_now,
    .dlq_mark_failed = fake_dlq_mark_failed,
    .dlq_purge = fake_dlq_purge,
    .select = fake_select,
    .change = fake_change,
};

fake_store *fake_store_new(void)
{
    fake_store *fs = calloc(1, sizeof *fs);
    assert_non_null(fs);
    fs->base.ops = &fake_ops;
    fs->mode = FAKE_UP;
    fs->refuse_poison = true;
    pthread_mutex_init(&fs->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&fs->changed, &attr);
    pthread_condattr_destroy(&attr);
    return fs;
}

store *fake_store_base(fake_store *fs)
{
    return &fs->base;
}

void fake_store_set_mode(fake_store *fs, fake_mode m)
{
    pthread_mutex_lock(&fs->lock);
    fs->mode = m;
    pthread_mutex_unlock(&fs->lock);
}

void fake_store_set_latency(fake_store *fs, fake_clock *fc, uint64_t ms)
{
    pthread_mutex_lock(&fs->lock);
    fs->clock = fc;
    fs->latency_ms = ms;
    pthread_mutex_unlock(&fs->lock);
}

void fake_store_fail_calls(fake_store *fs, uint32_t first, uint32_t count)
{
    pthread_mutex_lock(&fs->lock);
    fs->fail_first = first;
    fs->fail_count = count;
    pthread_mutex_unlock(&fs->lock);
}

void fake_store_fail_next(fake_store *fs, uint32_t n)
{
    pthread_mutex_lock(&fs->lock);
    fs->fail_first = fs->ncalls;
    fs->fail_count = n;
    pthread_mutex_unlock(&fs->lock);
}

void fake_store_fail_dlq(fake_store *fs, bool fail)
{
    pthread_mutex_lock(&fs->lock);
    fs->fail_dlq = fail;
    pthread_mutex_unlock(&fs->lock);
}

void fake_store_refuse_poison(fake_store *fs, bool refuse)
{
    pthread_mutex_lock(&fs->lock);
    fs->refuse_poison = refuse;
    pthread_mutex_unlock(&fs->lock);
}

uint32_t fake_store_insert_calls(fake_store *fs)
{
    pthread_mutex_lock(&fs->lock);
    uint32_t n = fs->ncalls;
    pthread_mutex_unlock(&fs->lock);
    return n;
}

size_t fake_store_call_size(fake_store *fs, uint32_t i)
{
    pthread_mutex_lock(&fs->lock);
    assert_true(i < fs->ncalls);
    size_t n = fs->calls[i].size;
    pthread_mutex_unlock(&fs->lock);
    return n;
}

int fake_store_call_rc(fake_store *fs, uint32_t i)
{
    pthread_mutex_lock(&fs->lock);
    assert_true(i < fs->ncalls);
    int rc = fs->calls[i].rc;
    pthread_mutex_unlock(&fs->lock);
    return rc;
}

size_t fake_store_rows(fake_store *fs)
{
    pthread_mutex_lock(&fs->lock);
    size_t n = fs->nrows;
    pthread_mutex_unlock(&fs->lock);
    return n;
}

int64_t fake_store_row(fake_store *fs, size_t i, char *id)
{
    pthread_mutex_lock(&fs->lock);
    assert_true(i < fs->nrows);
    snprintf(id, EVENT_ID_MAX + 1, "%s", fs->rows[i].id);
    int64_t seq = fs->rows[i].seq;
    pthread_mutex_unlock(&fs->lock);
    return seq;
}

size_t fake_store_rows_with_id(fake_store *fs, const char *id)
{
    size_t n = 0;
    pthread_mutex_lock(&fs->lock);
    for (size_t i = 0; i < fs->nrows; i++) {
        n += strcmp(fs->rows[i].id, id) == 0;
    }
    pthread_mutex_unlock(&fs->lock);
    return n;
}

size_t fake_store_dlq_count(fake_store *fs)
{
    pthread_mutex_lock(&fs->lock);
    size_t n = fs->ndlq;
    pthread_mutex_unlock(&fs->lock);
    return n;
}

void fake_store_dlq_item(fake_store *fs, size_t i, char *payload, char *reason)
{
    pthread_mutex_lock(&fs->lock);
    assert_true(i < fs->ndlq);
    snprintf(payload, FAKE_PAYLOAD_MAX, "%s", fs->dlq[i].payload);
    snprintf(reason, TT_ERRLEN, "%s", fs->dlq[i].reason);
    pthread_mutex_unlock(&fs->lock);
}

dlq_status fake_store_dlq_status(fake_store *fs, size_t i)
{
    pthread_mutex_lock(&fs->lock);
    assert_true(i < fs->ndlq);
    dlq_status s = fs->dlq[i].status;
    pthread_mutex_unlock(&fs->lock);
    return s;
}

/* Waits until *count (read under the lock) reaches 'n', or fails after WAIT_LIMIT_S. */
static void wait_until(fake_store *fs, const size_t *count, size_t n, const char *what)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += WAIT_LIMIT_S;
    pthread_mutex_lock(&fs->lock);
    int rc = 0;
    while (*count < n && rc == 0) {
        rc = pthread_cond_timedwait(&fs->changed, &fs->lock, &until);
    }
    size_t got = *count;
    pthread_mutex_unlock(&fs->lock);
    if (got < n) {
        fail_msg("waited in vain for %zu %s (have %zu)", n, what, got);
    }
}

void fake_store_wait_rows(fake_store *fs, size_t n)
{
    wait_until(fs, &fs->nrows, n, "rows");
}

void fake_store_wait_calls(fake_store *fs, uint32_t n)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += WAIT_LIMIT_S;
    pthread_mutex_lock(&fs->lock);
    int rc = 0;
    while (fs->ncalls < n && rc == 0) {
        rc = pthread_cond_timedwait(&fs->changed, &fs->lock, &until);
    }
    uint32_t got = fs->ncalls;
    pthread_mutex_unlock(&fs->lock);
    if (got < n) {
        fail_msg("waited in vain for %u insert calls (have %u)", n, got);
    }
}
