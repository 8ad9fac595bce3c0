/* test_demo_gen.c -- the demo traffic: a seed replays exactly, every event passes the same
 * validation as a producer's, and an hour of it has the mix and the rate it promises. */
#include "core/demo_gen.h"

#include "core/event_json.h"
#include "core/json_print.h"
#include "core/uuid7.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#define START INT64_C(1764340303123) /* 2025-11-28T14:31:43.123Z */
#define TICK_MS 100
#define HOUR_MS 3600000

static bool same_text(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_event(const tt_event *a, const tt_event *b)
{
    return a->ts_ms == b->ts_ms && a->received_ms == b->received_ms && a->has == b->has &&
           (!(a->has & EVENT_HAS_DURATION) || a->duration_ms == b->duration_ms) &&
           (!(a->has & EVENT_HAS_BYTES) || a->bytes == b->bytes) &&
           (!(a->has & EVENT_HAS_VALUE) || a->value == b->value) && same_text(a->type, b->type) &&
           same_text(a->source, b->source) && same_text(a->session_id, b->session_id) &&
           same_text(a->name, b->name) && same_text(a->status, b->status) &&
           same_text(a->error, b->error) && same_text(a->attrs, b->attrs) &&
           strcmp(a->id, b->id) == 0;
}

/* 'ticks' ticks of TICK_MS from START into one batch. */
static event_batch run(uint64_t seed, int ticks)
{
    demo_gen g;
    demo_gen_init(&g, seed);
    event_batch b = {0};
    for (int t = 1; t <= ticks; t++) {
        assert_int_equal(demo_gen_tick(&g, START + (int64_t)t * TICK_MS, TICK_MS, &b), 0);
    }
    return b;
}

/* Counts how many leading events two batches share. */
static size_t common_prefix(const event_batch *a, const event_batch *b)
{
    size_t n = a->count < b->count ? a->count : b->count;
    size_t i = 0;
    while (i < n && same_event(a->events[i], b->events[i])) {
        i++;
    }
    return i;
}

static void a_seed_replays_identically(void **state)
{
    (void)state;
    event_batch a = run(12345, 600), b = run(12345, 600);
    assert_true(a.count > 0);
    assert_int_equal(a.count, b.count);
    assert_int_equal(common_prefix(&a, &b), a.count);
    assert_int_equal(a.bytes, b.bytes);
    event_batch_free(&b);
    event_batch_free(&a);
}

static void different_seeds_differ(void **state)
{
    (void)state;
    event_batch a = run(1, 600), b = run(2, 600);
    assert_true(common_prefix(&a, &b) < a.count);
    event_batch_free(&b);
    event_batch_free(&a);
}

static void tick_appends_to_what_the_batch_holds(void **state)
{
    (void)state;
    event_batch b = run(7, 50);
    size_t before = b.count;
    tt_event *first = b.events[0];
    demo_gen g;
    demo_gen_init(&g, 99);
    assert_int_equal(demo_gen_tick(&g, START + 10000, 1000, &b), 0);
    assert_true(b.count > before);
    assert_ptr_equal(b.events[0], first); /* earlier events untouched */
    size_t bytes = 0;
    for (size_t i = 0; i < b.count; i++) {
        bytes += b.events[i]->size;
    }
    assert_int_equal(b.bytes, bytes);
    event_batch_free(&b);
}

static void events_carry_the_tick_time(void **state)
{
    (void)state;
    demo_gen g;
    demo_gen_init(&g, 5);
    event_batch b = {0};
    assert_int_equal(demo_gen_tick(&g, START, 1000, &b), 0);
    assert_true(b.count > 0);
    for (size_t i = 0; i < b.count; i++) {
        assert_int_equal(b.events[i]->ts_ms, START);
        assert_int_equal(b.events[i]->received_ms, START);
    }
    event_batch_free(&b);
}

/* Validates one demo event as a producer's would be: printed as the server prints it, read
 * back through event_from_json(), and compared. Ids are assigned first, as the server does
 * before anything is printed; 'received_at' is server-assigned output and not input. */
static void assert_validates(const tt_event *ev, uuid7_gen *ids, uint64_t rnd)
{
    tt_event copy = *ev;
    uuid7_next(ids, (uint64_t)ev->received_ms, rnd, copy.id);
    cJSON *obj = event_to_json(&copy);
    assert_non_null(obj);
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "received_at");
    char *text = json_print_delete(obj, NULL);
    cJSON *again = cJSON_Parse(text);
    assert_non_null(again);
    tt_event *back = NULL;
    ingest_error err;
    int rc = event_from_json(again, ev->received_ms, &back, &err);
    cJSON_Delete(again);
    if (rc != 0) {
        fail_msg("demo event refused (%s: %s): %s", err.code, err.message, text);
    }
    if (!same_event(&copy, back)) {
        fail_msg("demo event changed on the way through: %s", text);
    }
    event_free(back);
    free(text);
}

static void every_event_validates(void **state)
{
    (void)state;
    demo_gen g;
    demo_gen_init(&g, 42);
    uuid7_gen ids = {0};
    uint64_t n = 0;
    for (int t = 1; t <= 20 * 60 * 1000 / TICK_MS; t++) { /* 20 simulated minutes */
        event_batch b = {0};
        assert_int_equal(demo_gen_tick(&g, START + (int64_t)t * TICK_MS, TICK_MS, &b), 0);
        for (size_t i = 0; i < b.count; i++) {
            assert_validates(b.events[i], &ids, n++ * 0x9e3779b97f4a7c15ULL);
        }
        event_batch_free(&b);
    }
    assert_true(n > 10000);
}

typedef struct mix {
    uint64_t total;
    uint64_t session_start, tool_call, connection, session_end, other;
    uint64_t errors, timeouts;
    uint64_t per_minute[60];
} mix;

static void count_hour(uint64_t seed, mix *m)
{
    demo_gen g;
    demo_gen_init(&g, seed);
    memset(m, 0, sizeof *m);
    for (int t = 1; t <= HOUR_MS / TICK_MS; t++) {
        event_batch b = {0};
        int64_t now = START + (int64_t)t * TICK_MS;
        assert_int_equal(demo_gen_tick(&g, now, TICK_MS, &b), 0);
        for (size_t i = 0; i < b.count; i++) {
            const tt_event *ev = b.events[i];
            m->total++;
            m->per_minute[(t - 1) * TICK_MS / 60000]++;
            if (strcmp(ev->type, "session_start") == 0) {
                m->session_start++;
            } else if (strcmp(ev->type, "tool_call") == 0) {
                m->tool_call++;
            } else if (strcmp(ev->type, "connection") == 0) {
                m->connection++;
            } else if (strcmp(ev->type, "session_end") == 0) {
                m->session_end++;
            } else {
                m->other++;
            }
            m->errors += ev->status != NULL && strcmp(ev->status, "error") == 0;
            m->timeouts += ev->status != NULL && strcmp(ev->status, "timeout") == 0;
        }
        event_batch_free(&b);
    }
}

static void an_hour_has_the_whole_mix(void **state)
{
    (void)state;
    mix m;
    count_hour(2024, &m);
    assert_true(m.session_start > 0);
    assert_true(m.tool_call > 0);
    assert_true(m.connection > 0);
    assert_true(m.session_end > 0);
    assert_int_equal(m.other, 0);
    /* Sessions end only after they start, at most DEMO_SESSIONS at a time. */
    assert_true(m.session_end <= m.session_start);
    assert_true(m.session_start - m.session_end <= DEMO_SESSIONS);
    /* Mostly tool calls, some upstream traffic, errors and timeouts present but rare. */
    assert_true(m.tool_call > m.connection);
    assert_true(m.errors > 0 && m.errors < m.total / 10);
    assert_true(m.timeouts > 0 && m.timeouts < m.total / 10);
}

static void rate_stays_in_a_sane_band(void **state)
{
    (void)state;
    mix m;
    count_hour(77, &m);
    /* 40/s on average, swelling between 20/s and 60/s: the hour and every minute stay there. */
    double per_second = (double)m.total / 3600.0;
    assert_true(per_second >= 35 && per_second <= 45);
    for (int i = 0; i < 60; i++) {
        if (m.per_minute[i] < 20 * 60 - 1 || m.per_minute[i] > 60 * 60 + 1) {
            fail_msg("minute %d had %llu events", i, (unsigned long long)m.per_minute[i]);
        }
    }
}

static void sessions_start_before_their_events(void **state)
{
    (void)state;
    event_batch b = run(31337, 5 * 60 * 1000 / TICK_MS);
    /* Every session_id seen on a tool call or an end was started earlier in the stream. */
    char started[256][24];
    size_t nstarted = 0;
    for (size_t i = 0; i < b.count; i++) {
        const tt_event *ev = b.events[i];
        if (ev->session_id == NULL) {
            assert_string_equal(ev->type, "connection");
            continue;
        }
        if (strcmp(ev->type, "session_start") == 0) {
            assert_true(nstarted < 256);
            strcpy(started[nstarted++], ev->session_id);
            continue;
        }
        bool known = false;
        for (size_t k = 0; k < nstarted && !known; k++) {
            known = strcmp(started[k], ev->session_id) == 0;
        }
        if (!known) {
            fail_msg("event %zu (%s) of unstarted session %s", i, ev->type, ev->session_id);
        }
    }
    event_batch_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_seed_replays_identically),
        cmocka_unit_test(different_seeds_differ),
        cmocka_unit_test(tick_appends_to_what_the_batch_holds),
        cmocka_unit_test(events_carry_the_tick_time),
        cmocka_unit_test(every_event_validates),
        cmocka_unit_test(an_hour_has_the_whole_mix),
        cmocka_unit_test(rate_stays_in_a_sane_band),
        cmocka_unit_test(sessions_start_before_their_events),
    };
    return cmocka_run_group_tests_name("demo_gen", tests, NULL, NULL);
}
