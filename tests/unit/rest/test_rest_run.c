/* test_rest_run.c -- /rest/v1 plans run on a real SQLite store (rest/rest_run.c): a filter on
 * session_id (=, <, <=, >, >=) reads SQLite's session index, written in slices behind a watermark
 * (store_sqlite_index.c), and the tail above it in one statement. Driven here by hand, the index
 * is held at each stage of a batch -- nothing written, part of a batch written above the
 * watermark, all written -- and each answer compared with the same filter applied to every
 * event inserted. */
#include "rest/rest_plan.h"
#include "rest/rest_sql.h"

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
#define N (2 * SESSION_INDEX_SLICE_EVENTS + 300)

static const char *const sessions[] = {"s0", "s1", "s2", "s3", "s4"};
#define SESSIONS 5

typedef struct fixture {
    tmp_store tmp;
    int64_t seqs[N];
    int session[N]; /* index into sessions, -1: none */
    int n;
} fixture;

static int setup(void **state)
{
    return tmp_store_setup(state, sizeof(fixture), "tt-rest-run");
}

static int teardown(void **state)
{
    return tmp_store_teardown(state);
}

/* N events in one commit: event i in session i % SESSIONS (none for every 7th), every third a
 * request, the rest tool calls. */
static void insert(fixture *f)
{
    static tt_event ev[N];
    static tt_event *p[N];
    for (int i = 0; i < N; i++) {
        f->session[i] = i % 7 == 6 ? -1 : i % SESSIONS;
        ev[i] = (tt_event){.ts_ms = T0 + i, .received_ms = T0 + i};
        ev[i].type = i % 3 == 0 ? "request" : "tool_call";
        ev[i].session_id = f->session[i] < 0 ? NULL : sessions[f->session[i]];
        snprintf(ev[i].id, sizeof ev[i].id, "r-%d", i);
        p[i] = &ev[i];
    }
    tmp_store_insert(f->tmp.st, p, N);
    for (int i = 0; i < N; i++) {
        f->seqs[i] = ev[i].seq;
    }
    f->n = N;
}

typedef struct seqs {
    int64_t v[N];
    int n;
} seqs;

static int collect(const store_value *cells, void *ctx)
{
    seqs *s = ctx;
    assert_true(s->n < N);
    s->v[s->n++] = cells[0].i;
    return 0;
}

/* Whether session 'have' (-1: none) passes the filter "session_id=OP.sessions[want]". */
static bool passes(int have, const char *op, int want)
{
    if (have < 0) {
        return false;
    }
    int c = strcmp(sessions[have], sessions[want]);
    return strcmp(op, "eq") == 0    ? c == 0
           : strcmp(op, "gt") == 0  ? c > 0
           : strcmp(op, "gte") == 0 ? c >= 0
           : strcmp(op, "lt") == 0  ? c < 0
                                    : c <= 0;
}

/* Runs /rest/v1/monitoring_events?select=seq&session_id=OP.S&order=seq.DIR&limit&offset, with
 * type=eq.request if 'requests', and compares it with the events inserted. */
static void expect_op(fixture *f, const char *op, int session, bool desc, bool requests, int limit,
                      int offset)
{
    char filter[32], lim[16], off[16];
    snprintf(filter, sizeof filter, "%s.%s", op, sessions[session]);
    snprintf(lim, sizeof lim, "%d", limit);
    snprintf(off, sizeof off, "%d", offset);
    rest_arg args[] = {{"select", "seq"},
                       {"session_id", filter},
                       {"limit", lim},
                       {"offset", off},
                       {"order", desc ? "seq.desc" : "seq.asc"},
                       {"type", "eq.request"}};
    rest_query q = {.table = rest_table_find("monitoring_events")};
    rest_error e;
    assert_true(rest_parse_query(args, requests ? 6 : 5, &q, &e));
    static seqs got, want;
    got.n = want.n = 0;
    int64_t total = 0;
    char err[TT_ERRLEN];
    assert_int_equal(rest_run_query(f->tmp.st, &q, collect, &got, &total, err), 0);
    int skipped = 0;
    for (int k = 0; k < f->n && want.n < limit; k++) {
        int i = desc ? f->n - 1 - k : k;
        if (passes(f->session[i], op, session) && (!requests || i % 3 == 0) &&
            skipped++ >= offset) {
            want.v[want.n++] = f->seqs[i];
        }
    }
    assert_int_equal(got.n, want.n);
    assert_memory_equal(got.v, want.v, (size_t)want.n * sizeof want.v[0]);
}

static void expect(fixture *f, int session, bool desc, bool requests, int limit, int offset)
{
    expect_op(f, "eq", session, desc, requests, limit, offset);
}

static void expect_all(fixture *f)
{
    static const char *const ranges[] = {"gt", "gte", "lt", "lte"};
    for (int r = 0; r < 4; r++) {
        expect_op(f, ranges[r], 2, false, false, N, 0);
        expect_op(f, ranges[r], 1, true, true, 20, 7);
    }
    for (int s = 0; s < SESSIONS; s++) {
        expect(f, s, false, false, N, 0);
        expect(f, s, true, false, 5, 3);
        expect(f, s, true, true, 10, 0);
        expect(f, s, false, true, 50, 100);
    }
}

static void session_filters_are_exact_at_every_stage_of_a_batch(void **state)
{
    fixture *f = *state;
    insert(f);
    expect_all(f); /* nothing staged */
    assert_false(tmp_store_index_slice(f->tmp.st, 1, false));
    expect_all(f); /* staged, nothing written */
    assert_true(tmp_store_index_slice(f->tmp.st, 1 + SESSION_INDEX_BATCH_MS, false));
    expect_all(f); /* part written, above the watermark */
    int calls = 0;
    while (tmp_store_index_slice(f->tmp.st, 2 + SESSION_INDEX_BATCH_MS, true)) {
        assert_true(++calls < 10);
        expect_all(f);
    }
    expect_all(f); /* all written, the watermark at the end */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(session_filters_are_exact_at_every_stage_of_a_batch, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("rest_run", tests, NULL, NULL);
}
