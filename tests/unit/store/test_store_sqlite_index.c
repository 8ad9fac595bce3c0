/* test_store_sqlite_index.c -- SQLite's session index written in slices behind a watermark
 * (store_sqlite_index.c, migrations/sqlite/0007), through the store's interface: a batch is
 * written over several calls, and between them every read by session is exact (each event
 * once, in seq order, limits and after_seq exact); an event deleted while staged leaves no
 * entry; a restart in the middle of a batch finishes it. */
#include "store/store.h"

#include "tmp_store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 INT64_C(1764340303123)
#define SESSIONS 8
/* More than three slices' worth of events in one commit. */
#define N (3 * SESSION_INDEX_SLICE_EVENTS + 500)
#define SEQS_MAX (N + 100)

static const char *const sessions[SESSIONS] = {"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"};

typedef struct fixture {
    tmp_store tmp;
    int64_t seqs[SEQS_MAX]; /* every event inserted, in seq order */
    const char *session[SEQS_MAX];
    int n;
} fixture;

static int setup(void **state)
{
    return tmp_store_setup(state, sizeof(fixture), "tt-index-test");
}

static int teardown(void **state)
{
    return tmp_store_teardown(state);
}

static int64_t watermark(const fixture *f)
{
    return tmp_store_int(&f->tmp, "SELECT seq FROM session_index_through");
}

static int64_t entries(const fixture *f)
{
    return tmp_store_int(&f->tmp, "SELECT count(*) FROM monitoring_events_by_session");
}

/* The watermark at the newest event, and an entry for each event in a session. */
static void expect_all_indexed(const fixture *f)
{
    assert_int_equal(watermark(f), f->seqs[f->n - 1]);
    assert_int_equal(entries(f),
                     tmp_store_int(&f->tmp, "SELECT count(*) FROM monitoring_events WHERE "
                                            "session_id IS NOT NULL"));
}

/* Inserts 'n' events in one commit, event i in session i % SESSIONS (none for every 9th), with
 * timestamps from 'ts' on. */
static void insert(fixture *f, int n, int64_t ts)
{
    tt_event *ev = calloc((size_t)n, sizeof *ev);
    tt_event **p = calloc((size_t)n, sizeof *p);
    for (int i = 0; i < n; i++) {
        ev[i] = (tt_event){.ts_ms = ts + i, .received_ms = ts + i};
        ev[i].type = (f->n + i) % 3 == 0 ? "request" : "tool_call";
        ev[i].session_id = i % 9 == 8 ? NULL : sessions[i % SESSIONS];
        snprintf(ev[i].id, sizeof ev[i].id, "e-%d", f->n + i);
        p[i] = &ev[i];
    }
    tmp_store_insert(f->tmp.st, p, (size_t)n);
    for (int i = 0; i < n; i++) {
        assert_true(ev[i].seq > 0);
        f->seqs[f->n] = ev[i].seq;
        f->session[f->n++] = ev[i].session_id;
    }
    free(ev);
    free(p);
}

typedef struct seqs {
    int64_t v[SEQS_MAX];
    int n;
} seqs;

static int collect(const tt_event *ev, void *ctx)
{
    seqs *s = ctx;
    assert_true(s->n < SEQS_MAX);
    s->v[s->n++] = ev->seq;
    return 0;
}

/* Compares the read of 'filter' with the events of 'session' it should return: seqs after
 * 'after' (with has_after, ascending), newest first otherwise; at most 'limit'; requests only
 * if 'requests' (another filter besides the session's, in both parts of the statement). */
static void expect_typed(fixture *f, const char *session, bool has_after, int64_t after,
                         uint32_t limit, bool requests)
{
    static seqs got, want;
    got.n = want.n = 0;
    event_filter filter = {.session_id = session,
                           .type = requests ? "request" : NULL,
                           .has_after = has_after,
                           .after_seq = after,
                           .limit = limit};
    char err[TT_ERRLEN];
    assert_int_equal(store_query_events(f->tmp.st, &filter, collect, &got, err), 0);
    for (int k = 0; k < f->n && want.n < (int)limit; k++) {
        int i = has_after ? k : f->n - 1 - k;
        bool match = f->session[i] != NULL && strcmp(f->session[i], session) == 0 &&
                     (!requests || i % 3 == 0);
        if (match && (!has_after || f->seqs[i] > after)) {
            want.v[want.n++] = f->seqs[i];
        }
    }
    assert_int_equal(got.n, want.n);
    assert_memory_equal(got.v, want.v, (size_t)want.n * sizeof want.v[0]);
}

static void expect_read(fixture *f, const char *session, bool has_after, int64_t after,
                        uint32_t limit)
{
    expect_typed(f, session, has_after, after, limit, false);
}

/* Every session newest first, in full and cut; and from five cursors on, ascending; and its
 * requests only. */
static void expect_reads(fixture *f)
{
    for (int s = 0; s < SESSIONS; s++) {
        expect_typed(f, sessions[s], false, 0, SEQS_MAX, true);
        expect_typed(f, sessions[s], true, f->seqs[f->n / 3], 40, true);
        expect_read(f, sessions[s], false, 0, SEQS_MAX);
        expect_read(f, sessions[s], false, 0, 7);
        for (int k = 0; k < 5; k++) {
            expect_read(f, sessions[s], true, k == 0 ? 0 : f->seqs[k * f->n / 5], 300);
        }
    }
}

static void a_batch_is_written_in_slices_and_reads_stay_exact(void **state)
{
    fixture *f = *state;
    insert(f, N, T0);
    /* Staged, not due: neither idle, nor the batch's size, nor its time. */
    assert_false(tmp_store_index_slice(f->tmp.st, 1, false));
    assert_int_equal(watermark(f), 0);
    assert_int_equal(entries(f), 0);
    expect_reads(f);
    /* Due by time: the first slice writes SESSION_INDEX_SLICE_EVENTS entries (nothing was
     * committed since the last call), above the watermark, which stays. */
    assert_true(tmp_store_index_slice(f->tmp.st, 1 + SESSION_INDEX_BATCH_MS, false));
    assert_int_equal(watermark(f), 0);
    assert_int_equal(entries(f), SESSION_INDEX_SLICE_EVENTS);
    expect_reads(f);
    /* A commit in between: its events are staged for the next batch; the slice grows by them. */
    insert(f, 50, T0 + N);
    assert_true(tmp_store_index_slice(f->tmp.st, 2 + SESSION_INDEX_BATCH_MS, false));
    assert_int_equal(entries(f), 2 * SESSION_INDEX_SLICE_EVENTS + 50);
    assert_int_equal(watermark(f), 0);
    expect_reads(f);
    int calls = 0;
    while (tmp_store_index_slice(f->tmp.st, 3 + SESSION_INDEX_BATCH_MS, true)) {
        assert_true(++calls < 10);
        expect_reads(f);
    }
    expect_all_indexed(f);
    expect_reads(f);
}

/* Retention (or any delete) of an event staged but not yet written: no entry is written for it;
 * and one written above the watermark goes with its event (the table's trigger). */
static void an_event_deleted_while_staged_leaves_no_entry(void **state)
{
    fixture *f = *state;
    insert(f, N, T0);
    assert_false(tmp_store_index_slice(f->tmp.st, 1, false));
    assert_true(tmp_store_index_slice(f->tmp.st, 1 + SESSION_INDEX_BATCH_MS, false));
    char err[TT_ERRLEN];
    uint64_t deleted = 0;
    assert_int_equal(store_delete_before(f->tmp.st, T0 + N / 2, N, &deleted, err), 0);
    assert_int_equal(deleted, N / 2);
    int calls = 0;
    while (tmp_store_index_slice(f->tmp.st, 2 + SESSION_INDEX_BATCH_MS, true)) {
        assert_true(++calls < 10);
    }
    expect_all_indexed(f);
    assert_int_equal(tmp_store_int(&f->tmp,
                                   "SELECT count(*) FROM monitoring_events_by_session AS b WHERE "
                                   "NOT EXISTS (SELECT 1 FROM monitoring_events AS e WHERE "
                                   "e.seq = b.seq AND e.session_id = b.session_id)"),
                     0);
}

/* A restart loses the staged entries, not the written ones: the batch is staged again and
 * finished, each entry once. */
static void a_restart_mid_batch_finishes_it(void **state)
{
    fixture *f = *state;
    insert(f, N, T0);
    assert_false(tmp_store_index_slice(f->tmp.st, 1, false));
    assert_true(tmp_store_index_slice(f->tmp.st, 1 + SESSION_INDEX_BATCH_MS, false));
    assert_int_equal(entries(f), SESSION_INDEX_SLICE_EVENTS);
    tmp_store_reopen(&f->tmp);
    expect_reads(f);
    int calls = 0;
    while (tmp_store_index_slice(f->tmp.st, 1, true)) {
        assert_true(++calls < 10);
        expect_reads(f);
    }
    expect_all_indexed(f);
    expect_reads(f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(a_batch_is_written_in_slices_and_reads_stay_exact),
        T(an_event_deleted_while_staged_leaves_no_entry),
        T(a_restart_mid_batch_finishes_it),
    };
    return cmocka_run_group_tests_name("store_sqlite_index", tests, NULL, NULL);
}
