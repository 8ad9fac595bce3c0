/* test_stream.c -- the committed-rows engine's hand-over from catch-up to the live tail: a
 * subscriber starting behind receives every committed seq exactly once, in order, while rows
 * keep committing between its pages, while its client is slow (paced catch-up), and when the
 * ring of recent rows no longer reaches back to its cursor. A real SQLite store and a real
 * libuv loop (pages run on its pool); the client is a ws_peer whose queued bytes the test sets. */
#include "live/stream.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SEQ 20000

typedef struct fixture {
    char dir[64];
    char path[128];
    store *st;
    uv_loop_t loop;
    tt_config cfg;
    bool stopping;
    stream *s;
    int format;
    int encoded; /* encoder calls */
    /* the subscriber and what reached it */
    stream_sub sub;
    ws_peer peer;
    int64_t got[MAX_SEQ];
    size_t ngot;
    /* on the loop, between callbacks: 'commits_left' commits of 'commit_each' rows */
    uv_idle_t committer;
    size_t commit_each, commits_left;
    /* while delivering: the client "fills up" after 'slow_after' rows */
    size_t slow_after;
    int64_t seqs; /* rows committed so far */
} fixture;

static fixture *F;

static ws_msg *encode(const tt_event *ev, void *ctx)
{
    fixture *f = ctx;
    __atomic_add_fetch(&f->encoded, 1, __ATOMIC_RELAXED);
    char text[64];
    int n = snprintf(text, sizeof text, "{\"seq\":%lld}", (long long)ev->seq);
    return ws_msg_new(text, (size_t)n, ev->seq);
}

/* Commits 'n' rows to the store, then tells the engine as the composition does. */
static void commit_rows(fixture *f, size_t n, stream_mode mode)
{
    tt_event *evs[64];
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++) {
        tt_event ev = {.ts_ms = 1000, .received_ms = 1001, .type = "t", .source = "s"};
        snprintf(ev.id, sizeof ev.id, "0190c6d0-0000-7000-8000-%012lld", (long long)++f->seqs);
        evs[i] = event_clone(&ev);
    }
    char err[TT_ERRLEN] = "";
    assert_int_equal(store_insert_events(f->st, evs, n, err), 0);
    event_batch b = {evs, n, 0};
    if (f->s == NULL) {
        /* before the engine: it starts at the highest seq */
    } else if (mode == STREAM_MEMORY) {
        stream_committed_batch(f->s, &b);
    } else {
        stream_committed_seq(f->s, evs[n - 1]->seq);
    }
    for (size_t i = 0; i < n; i++) {
        event_free(evs[i]);
    }
}

static stream_mode test_mode;

static void deliver(stream_sub *sub, stream_row *row)
{
    fixture *f = F;
    assert_non_null(stream_row_encoding(f->s, row, f->format));
    if (sub != &f->sub) {
        return; /* another subscriber of the same format */
    }
    assert_true(f->ngot < MAX_SEQ);
    f->got[f->ngot++] = row->ev->seq;
    if (f->slow_after != 0 && f->ngot % f->slow_after == 0) {
        f->peer.out.bytes = f->cfg.ws_max_buffer; /* over half: catch-up pauses */
    }
}

/* Commits arrive on the loop between other callbacks, as the gateway hands them over. */
static void commit_some(uv_idle_t *h)
{
    fixture *f = h->data;
    commit_rows(f, f->commit_each, test_mode);
    if (--f->commits_left == 0) {
        uv_idle_stop(h);
    }
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/tt-stream-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "sqlite:%s/events.db", f->dir);
    char err[TT_ERRLEN] = "";
    assert_int_equal(store_open(f->path, &f->st, err), 0);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->cfg.ws_max_buffer = 64 << 10;
    F = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    stream_sub_stop(&f->sub);
    stream_free(f->s);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_loop_close(&f->loop);
    store_close(f->st);
    char p[200];
    snprintf(p, sizeof p, "%s/events.db", f->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/events.db-wal", f->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/events.db-shm", f->dir);
    unlink(p);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void start_engine(fixture *f, stream_mode mode)
{
    test_mode = mode;
    stream_opts o = {&f->loop, &f->cfg, f->st, mode, f->seqs, &f->stopping};
    assert_int_equal(stream_create(&o, &f->s), 0);
    f->format = stream_format_add(f->s, encode, f);
    assert_true(f->format >= 0);
    f->sub = (stream_sub){.format = f->format, .peer = &f->peer, .deliver = deliver};
}

/* Runs the loop until nothing is left to do, letting the client drain whenever catch-up waits
 * for it. */
static void run_until_quiet(fixture *f)
{
    for (int rounds = 0; rounds < 100000; rounds++) {
        uv_run(&f->loop, UV_RUN_DEFAULT);
        if (f->peer.out.bytes != 0) {
            f->peer.out.bytes = 0;
            stream_sub_drained(&f->sub);
            continue;
        }
        size_t before = f->ngot;
        stream_tick(f->s); /* a safety read in feed mode; retries */
        uv_run(&f->loop, UV_RUN_DEFAULT);
        if (f->ngot == before && f->peer.out.bytes == 0) {
            return;
        }
    }
    fail_msg("the engine never went quiet");
}

/* Every seq in (after, last] exactly once, in order. */
static void assert_exactly(const fixture *f, int64_t after, int64_t last)
{
    assert_int_equal(f->ngot, (size_t)(last - after));
    for (size_t i = 0; i < f->ngot; i++) {
        if (f->got[i] != after + 1 + (int64_t)i) {
            fail_msg("delivery %zu: seq %lld, expected %lld", i, (long long)f->got[i],
                     (long long)(after + 1 + (int64_t)i));
        }
    }
}

static void catch_up_while_committing(void **state, stream_mode mode, size_t slow_after,
                                      size_t rows_each, size_t commits)
{
    fixture *f = *state;
    for (int i = 0; i < 20; i++) {
        commit_rows(f, 50, mode); /* 1000 rows before the engine starts */
    }
    start_engine(f, mode);
    f->commit_each = rows_each; /* rows keep committing while it catches up ... */
    f->commits_left = commits;
    uv_idle_init(&f->loop, &f->committer);
    f->committer.data = f;
    uv_idle_start(&f->committer, commit_some);
    f->slow_after = slow_after; /* ... and its client is slow */
    stream_sub_start(f->s, &f->sub, 10);
    commit_rows(f, 7, mode); /* committed while the first page runs */
    run_until_quiet(f);
    assert_int_equal(f->commits_left, 0);
    uv_close((uv_handle_t *)&f->committer, NULL);
    /* live now: a commit reaches it at once (memory) or after one read (feed) */
    commit_rows(f, 3, mode);
    run_until_quiet(f);
    assert_exactly(f, 10, f->seqs);
}

static void test_memory_hand_over(void **state)
{
    catch_up_while_committing(state, STREAM_MEMORY, 0, 5, 60);
}

static void test_memory_paced(void **state)
{
    catch_up_while_committing(state, STREAM_MEMORY, 33, 5, 60);
}

/* More rows commit during the catch-up than the ring keeps: it reads pages again. */
static void test_memory_ring_overrun(void **state)
{
    catch_up_while_committing(state, STREAM_MEMORY, 250, 64, 100);
    fixture *f = *state;
    assert_true(f->seqs > 4096 + 1000);
}

static void test_feed_hand_over(void **state)
{
    catch_up_while_committing(state, STREAM_FEED, 0, 5, 60);
}

static void test_feed_paced(void **state)
{
    catch_up_while_committing(state, STREAM_FEED, 33, 5, 60);
}

/* A resume while a page is in flight: the page is discarded, the rows come from the new
 * cursor, none twice. */
static void test_resume_discards_stale_page(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 10; i++) {
        commit_rows(f, 50, STREAM_MEMORY);
    }
    start_engine(f, STREAM_MEMORY);
    stream_sub_start(f->s, &f->sub, 0); /* a page after 0 is in flight */
    stream_sub_resume(&f->sub, 300);
    run_until_quiet(f);
    assert_exactly(f, 300, 500);
}

/* Rows are encoded once per format, not once per subscriber or delivery. */
static void test_live_rows_encoded_once(void **state)
{
    fixture *f = *state;
    start_engine(f, STREAM_MEMORY);
    stream_sub_start(f->s, &f->sub, 0);
    ws_peer other_peer = {0};
    stream_sub other = {.format = f->format, .peer = &other_peer, .deliver = deliver};
    stream_sub_start(f->s, &other, 0);
    commit_rows(f, 10, STREAM_MEMORY);
    stream_sub_stop(&other);
    assert_int_equal(f->encoded, 10); /* two subscribers, ten rows, ten encodings */
    assert_exactly(f, 0, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_memory_hand_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_paced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_ring_overrun, setup, teardown),
        cmocka_unit_test_setup_teardown(test_feed_hand_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_feed_paced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_discards_stale_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_rows_encoded_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
