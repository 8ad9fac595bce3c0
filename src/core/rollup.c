/* rollup.c -- a batch's increments, found by key through one open-addressing table. */
#include "core/rollup.h"

#include <stdlib.h>
#include <string.h>

const char *const rollup_tier_names[ROLLUP_TIERS] = {"minute", "hour", "day"};
const int64_t rollup_tier_ms[ROLLUP_TIERS] = {60000, 3600000, 86400000};

static const char *const state_names[] = {"active", "idle", "ended"};

bool event_is_error(const tt_event *ev)
{
    return ev->error != NULL ||
           (ev->status != NULL &&
            (strcmp(ev->status, "error") == 0 || strcmp(ev->status, "timeout") == 0)) ||
           strcmp(ev->type, "error") == 0;
}

static const char *or_empty(const char *s)
{
    return s != NULL ? s : "";
}

/* FNV-1a over the strings, then the numbers. */
static uint64_t hash_str(uint64_t h, const char *s)
{
    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    }
    return (h ^ 0xff) * UINT64_C(1099511628211);
}

static uint64_t row_hash(rollup_tier tier, int64_t bucket, const tt_event *ev)
{
    uint64_t h = UINT64_C(14695981039346656037);
    h = hash_str(hash_str(hash_str(h, ev->type), or_empty(ev->source)), or_empty(ev->name));
    return (h ^ (uint64_t)bucket ^ ((uint64_t)tier << 60)) * UINT64_C(0x9E3779B97F4A7C15);
}

static bool row_is(const rollup_row *r, rollup_tier tier, int64_t bucket, const tt_event *ev)
{
    return r->tier == tier && r->bucket_ms == bucket && strcmp(r->type, ev->type) == 0 &&
           strcmp(r->source, or_empty(ev->source)) == 0 && strcmp(r->name, or_empty(ev->name)) == 0;
}

/* Keeps the table at most half full: rows + sessions < nslots / 2. */
static bool grow_slots(rollup_batch *b);

static bool ensure(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) {
        return true;
    }
    size_t ncap = *cap ? *cap * 2 : 16;
    void *grown = realloc(*arr, ncap * size);
    if (grown == NULL) {
        return false;
    }
    memset((char *)grown + *cap * size, 0, (ncap - *cap) * size);
    *arr = grown;
    *cap = ncap;
    return true;
}

static rollup_row *find_row(rollup_batch *b, rollup_tier tier, int64_t bucket, const tt_event *ev)
{
    if (!grow_slots(b)) {
        return NULL;
    }
    size_t mask = b->nslots - 1;
    for (size_t i = row_hash(tier, bucket, ev) & mask;; i = (i + 1) & mask) {
        uint32_t s = b->slots[i];
        if (s == 0) {
            if (!ensure((void **)&b->rows, &b->rows_cap, b->nrows, sizeof *b->rows)) {
                return NULL;
            }
            rollup_row *r = &b->rows[b->nrows];
            loghist keep = r->latency; /* memory from an earlier batch */
            loghist_reset(&keep);
            *r = (rollup_row){.tier = tier,
                              .bucket_ms = bucket,
                              .type = ev->type,
                              .source = or_empty(ev->source),
                              .name = or_empty(ev->name),
                              .latency = keep};
            b->slots[i] = (uint32_t)(++b->nrows * 2);
            return r;
        }
        if (s % 2 == 0 && row_is(&b->rows[s / 2 - 1], tier, bucket, ev)) {
            return &b->rows[s / 2 - 1];
        }
    }
}

static session_delta *find_session(rollup_batch *b, const char *id)
{
    if (!grow_slots(b)) {
        return NULL;
    }
    size_t mask = b->nslots - 1;
    uint64_t h = hash_str(UINT64_C(14695981039346656037), id) * UINT64_C(0x9E3779B97F4A7C15);
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint32_t s = b->slots[i];
        if (s == 0) {
            if (!ensure((void **)&b->sessions, &b->sessions_cap, b->nsessions,
                        sizeof *b->sessions)) {
                return NULL;
            }
            session_delta *d = &b->sessions[b->nsessions];
            loghist keep = d->latency;
            loghist_reset(&keep);
            *d = (session_delta){.session_id = id,
                                 .started_ms = SESSION_NO_TIME,
                                 .ended_ms = SESSION_NO_TIME,
                                 .first_ms = INT64_MAX,
                                 .last_ms = INT64_MIN,
                                 .latency = keep};
            b->slots[i] = (uint32_t)(++b->nsessions * 2 + 1);
            return d;
        }
        if (s % 2 == 1 && strcmp(b->sessions[s / 2 - 1].session_id, id) == 0) {
            return &b->sessions[s / 2 - 1];
        }
    }
}

/* Tags in slots: a row k (0-based) is 2(k+1), a session k is 2(k+1)+1; 0 is free. */
static bool grow_slots(rollup_batch *b)
{
    if ((b->nrows + b->nsessions + 1) * 2 < b->nslots) {
        return true;
    }
    size_t n = b->nslots ? b->nslots * 2 : 256;
    uint32_t *slots = calloc(n, sizeof *slots);
    if (slots == NULL) {
        return false;
    }
    free(b->slots);
    b->slots = slots;
    b->nslots = n;
    size_t mask = n - 1;
    for (size_t k = 0; k < b->nrows; k++) {
        const rollup_row *r = &b->rows[k];
        tt_event key = {.type = r->type, .source = r->source, .name = r->name};
        size_t i = row_hash(r->tier, r->bucket_ms, &key) & mask;
        while (slots[i] != 0) {
            i = (i + 1) & mask;
        }
        slots[i] = (uint32_t)((k + 1) * 2);
    }
    for (size_t k = 0; k < b->nsessions; k++) {
        uint64_t h = hash_str(UINT64_C(14695981039346656037), b->sessions[k].session_id) *
                     UINT64_C(0x9E3779B97F4A7C15);
        size_t i = h & mask;
        while (slots[i] != 0) {
            i = (i + 1) & mask;
        }
        slots[i] = (uint32_t)((k + 1) * 2 + 1);
    }
    return true;
}

static void add_to_row(rollup_row *r, const tt_event *ev, bool error, int32_t bucket)
{
    r->count++;
    r->errors += error;
    r->bytes += (ev->has & EVENT_HAS_BYTES) ? (uint64_t)ev->bytes : 0;
    if (ev->has & EVENT_HAS_DURATION) {
        double d = ev->duration_ms;
        r->duration_min = r->duration_count == 0 || d < r->duration_min ? d : r->duration_min;
        r->duration_max = r->duration_count == 0 || d > r->duration_max ? d : r->duration_max;
        r->duration_count++;
        r->duration_sum += d;
        loghist_add_at(&r->latency, bucket, 1);
    }
}

static void add_to_session(session_delta *d, const tt_event *ev, bool error, int32_t bucket)
{
    d->source = d->source != NULL ? d->source : ev->source;
    d->first_ms = ev->ts_ms < d->first_ms ? ev->ts_ms : d->first_ms;
    d->last_ms = ev->ts_ms > d->last_ms ? ev->ts_ms : d->last_ms;
    d->events++;
    d->errors += error;
    d->tool_calls += strcmp(ev->type, "tool_call") == 0;
    if (strcmp(ev->type, "session_start") == 0 && ev->ts_ms > d->started_ms) {
        d->started_ms = ev->ts_ms;
    }
    if (strcmp(ev->type, "session_end") == 0 && ev->ts_ms > d->ended_ms) {
        d->ended_ms = ev->ts_ms;
    }
    if (ev->has & EVENT_HAS_DURATION) {
        d->duration_count++;
        loghist_add_at(&d->latency, bucket, 1);
    }
}

void rollup_batch_add(rollup_batch *b, const tt_event *ev)
{
    bool error = event_is_error(ev);
    int32_t lat = (ev->has & EVENT_HAS_DURATION) ? loghist_bucket_of(ev->duration_ms) : 0;
    int tiers = b->folds && ev->ts_ms >= b->folded_ms ? ROLLUP_MINUTE + 1 : ROLLUP_TIERS;
    for (int t = 0; t < tiers; t++) {
        int64_t size = rollup_tier_ms[t];
        int64_t bucket = ev->ts_ms - ev->ts_ms % size; /* ts >= 0 (DESIGN §2) */
        rollup_row *r = find_row(b, (rollup_tier)t, bucket, ev);
        if (r == NULL) {
            b->oom = true;
            return;
        }
        add_to_row(r, ev, error, lat);
        b->oom |= r->latency.oom;
    }
    if (ev->session_id != NULL && ev->session_id[0] != '\0') { /* "" names no session */
        session_delta *d = find_session(b, ev->session_id);
        if (d == NULL) {
            b->oom = true;
            return;
        }
        add_to_session(d, ev, error, lat);
        b->oom |= d->latency.oom;
    }
}

void rollup_batch_add_stored(rollup_batch *b, tt_event *const *events, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (events[i]->seq > 0) {
            rollup_batch_add(b, events[i]);
        }
    }
}

void rollup_batch_reset(rollup_batch *b)
{
    b->nrows = b->nsessions = 0;
    b->oom = b->folds = false;
    if (b->slots != NULL) {
        memset(b->slots, 0, b->nslots * sizeof *b->slots);
    }
}

void rollup_batch_free(rollup_batch *b)
{
    for (size_t i = 0; i < b->rows_cap; i++) {
        loghist_free(&b->rows[i].latency);
    }
    for (size_t i = 0; i < b->sessions_cap; i++) {
        loghist_free(&b->sessions[i].latency);
    }
    free(b->rows);
    free(b->sessions);
    free(b->slots);
    *b = (rollup_batch){0};
}

session_state session_state_of(int64_t started_ms, int64_t ended_ms, int64_t last_ms,
                               int64_t now_ms, int64_t idle_ms)
{
    if (ended_ms != SESSION_NO_TIME && ended_ms >= started_ms) {
        return SESSION_ENDED;
    }
    return now_ms - last_ms > idle_ms ? SESSION_IDLE : SESSION_ACTIVE;
}

const char *session_state_name(session_state s)
{
    return state_names[s];
}

bool session_state_parse(const char *s, session_state *out)
{
    for (int i = 0; i < 3; i++) {
        if (strcmp(s, state_names[i]) == 0) {
            *out = (session_state)i;
            return true;
        }
    }
    return false;
}
