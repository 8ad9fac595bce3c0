/* test_spool.c -- the spool on a real SQLite file in a temporary directory: replay in append
 * order (FIFO by spool seq), release of what was shipped, the disk quota (TT_EFULL past
 * max_bytes with nothing written, room again after a release), a reopened spool keeping what
 * was waiting, and the lock that keeps a second opener out. */
#include "pipeline/spool.h"

#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct rig {
    char dir[64];
    spool *sp;
} rig;

static void remove_dir(const char *dir)
{
    const char *files[] = {"spool.db", "spool.db-wal", "spool.db-shm", "spool.lock"};
    char path[128];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void open_spool(rig *r, uint64_t max_bytes)
{
    char err[TT_ERRLEN] = "";
    int rc = spool_open(r->dir, max_bytes, &r->sp, err);
    if (rc != 0) {
        fail_msg("spool_open: %s", err);
    }
}

static int setup(void **state)
{
    rig *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return -1;
    }
    snprintf(r->dir, sizeof r->dir, "/tmp/tt-spool-XXXXXX");
    if (mkdtemp(r->dir) == NULL) {
        free(r);
        return -1;
    }
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    rig *r = *state;
    spool_close(r->sp);
    remove_dir(r->dir);
    free(r);
    return 0;
}

/* Event "e<nnn>", received at 5000 + n. Every one has the same size for the quota. */
static tt_event *make_event(unsigned n)
{
    tt_event proto = {
        .type = "test", .name = "spooled", .ts_ms = 1000 + n, .received_ms = 5000 + n};
    snprintf(proto.id, sizeof proto.id, "e%03u", n);
    tt_event *ev = event_clone(&proto);
    assert_non_null(ev);
    return ev;
}

/* Appends events first .. first + n - 1 in one call; returns the spool's answer. */
static int append_range(rig *r, unsigned first, unsigned n)
{
    tt_event *evs[64];
    assert_true(n <= 64);
    for (unsigned i = 0; i < n; i++) {
        evs[i] = make_event(first + i);
    }
    char err[TT_ERRLEN];
    int rc = spool_append(r->sp, evs, n, err);
    for (unsigned i = 0; i < n; i++) {
        event_free(evs[i]);
    }
    return rc;
}

/* Peeks up to 'max' and checks they are events first, first + 1, ... (n of them), with
 * increasing spool seqs. */
static void expect_peek(rig *r, uint32_t max, unsigned first, size_t n, event_batch *out)
{
    char err[TT_ERRLEN];
    assert_int_equal(spool_peek(r->sp, 0, max, UINT64_MAX, out, err), 0);
    assert_int_equal(out->count, n);
    int64_t last = 0;
    for (size_t i = 0; i < n; i++) {
        char want[16];
        snprintf(want, sizeof want, "e%03u", first + (unsigned)i);
        assert_string_equal(out->events[i]->id, want);
        assert_true(out->events[i]->seq > last);
        last = out->events[i]->seq;
    }
}

/* Releases a peeked batch, as the shipper does once the store has it. */
static void release(rig *r, event_batch *b)
{
    char err[TT_ERRLEN];
    assert_int_equal(spool_release(r->sp, b->events[b->count - 1]->seq, spool_bytes(b), err), 0);
    event_batch_free(b);
}

static spool_stats stats_of(rig *r)
{
    spool_stats s;
    spool_get_stats(r->sp, &s);
    return s;
}

static uint64_t one_event_bytes(void)
{
    tt_event *ev = make_event(0);
    uint64_t bytes = store_event_bytes(ev);
    event_free(ev);
    return bytes;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void new_spool_is_empty(void **state)
{
    rig *r = *state;
    open_spool(r, 1 << 20);
    event_batch b;
    expect_peek(r, 10, 0, 0, &b);
    event_batch_free(&b);
    spool_stats s = stats_of(r);
    assert_int_equal(s.events, 0);
    assert_int_equal(s.bytes, 0);
    assert_int_equal(s.oldest_received_ms, 0);
    assert_int_equal(s.max_bytes, 1 << 20);
}

/* Appends from several calls come back oldest first, 'max' at a time, across releases. */
static void replay_is_fifo_across_appends_and_releases(void **state)
{
    rig *r = *state;
    open_spool(r, 1 << 20);
    assert_int_equal(append_range(r, 0, 4), 0);
    assert_int_equal(append_range(r, 4, 3), 0);
    assert_int_equal(append_range(r, 7, 5), 0);
    event_batch b;
    expect_peek(r, 5, 0, 5, &b);
    event_batch_free(&b);
    expect_peek(r, 5, 0, 5, &b); /* a peek takes nothing away */
    release(r, &b);
    assert_int_equal(append_range(r, 12, 2), 0); /* appended after a release: still last */
    expect_peek(r, 5, 5, 5, &b);
    release(r, &b);
    expect_peek(r, 100, 10, 4, &b);
    release(r, &b);
    expect_peek(r, 100, 0, 0, &b);
    event_batch_free(&b);
    spool_stats s = stats_of(r);
    assert_int_equal(s.appended, 14);
    assert_int_equal(s.released, 14);
    assert_int_equal(s.events, 0);
    assert_int_equal(s.bytes, 0);
}

/* The spool file keeps the events' table with its seq order and the id's unique index, but
 * none of the indexes behind the API's filters (store_open_spool): a file made with them (as an
 * older telltale's spool was) loses them, and a second open finds nothing more to drop. */
static void a_spool_keeps_no_query_indexes(void **state)
{
    rig *r = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/spool.db", r->dir);
    char url[160];
    snprintf(url, sizeof url, "sqlite:%s", path);
    store *full = NULL;
    char err[TT_ERRLEN] = "";
    assert_int_equal(store_open(url, &full, err), 0); /* every index, as any store file */
    store_close(full);
    open_spool(r, 1 << 20);
    spool_close(r->sp);
    open_spool(r, 1 << 20);
    assert_int_equal(append_range(r, 0, 3), 0);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT group_concat(name, ' ') FROM sqlite_schema WHERE "
                                        "type = 'index' AND tbl_name = 'monitoring_events'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0),
                        "sqlite_autoindex_monitoring_events_1");
    sqlite3_finalize(st);
    sqlite3_close(db);
    event_batch b;
    expect_peek(r, 10, 0, 3, &b);
    event_batch_free(&b);
}

/* A peek after a seq goes on from the event after it, and sees what was appended since:
 * the shipper's reader reads ahead this way, before the store has the events it read. */
static void a_peek_after_a_seq_goes_on_from_there(void **state)
{
    rig *r = *state;
    open_spool(r, 1 << 20);
    assert_int_equal(append_range(r, 0, 3), 0);
    char err[TT_ERRLEN];
    event_batch first, next;
    assert_int_equal(spool_peek(r->sp, 0, 2, UINT64_MAX, &first, err), 0);
    assert_int_equal(first.count, 2);
    assert_int_equal(append_range(r, 3, 2), 0);
    assert_int_equal(spool_peek(r->sp, first.events[1]->seq, 10, UINT64_MAX, &next, err), 0);
    assert_int_equal(next.count, 3);
    assert_string_equal(next.events[0]->id, "e002");
    assert_string_equal(next.events[2]->id, "e004");
    assert_true(next.events[0]->seq > first.events[1]->seq);
    event_batch_free(&first);
    event_batch_free(&next);
}

/* A byte bound ends a peek at the event whose size reaches it: never an empty batch while
 * events wait, never more than the bound plus one event. */
static void a_peek_stops_at_its_byte_bound(void **state)
{
    rig *r = *state;
    open_spool(r, 1 << 20);
    assert_int_equal(append_range(r, 0, 6), 0);
    char err[TT_ERRLEN];
    event_batch b;
    assert_int_equal(spool_peek(r->sp, 0, 100, 1, &b, err), 0);
    assert_int_equal(b.count, 1); /* the first event alone passes the bound */
    size_t one = b.events[0]->size;
    assert_int_equal(b.bytes, one);
    event_batch_free(&b);
    assert_int_equal(spool_peek(r->sp, 0, 100, 2 * one + 1, &b, err), 0);
    assert_int_equal(b.count, 3); /* two stay under it, the third reaches it */
    assert_string_equal(b.events[2]->id, "e002");
    event_batch_free(&b);
    assert_int_equal(spool_peek(r->sp, 0, 100, 3 * one, &b, err), 0);
    assert_int_equal(b.count, 3); /* exactly reached at the third */
    event_batch_free(&b);
    assert_int_equal(spool_peek(r->sp, 0, 4, UINT64_MAX, &b, err), 0);
    assert_int_equal(b.count, 4); /* no byte bound: the count bound */
    event_batch_free(&b);
}

static void stats_follow_appends_and_releases(void **state)
{
    rig *r = *state;
    open_spool(r, 1 << 20);
    uint64_t one = one_event_bytes();
    assert_int_equal(append_range(r, 0, 3), 0);
    spool_stats s = stats_of(r);
    assert_int_equal(s.events, 3);
    assert_int_equal(s.bytes, 3 * one);
    assert_int_equal(s.oldest_received_ms, 5000);
    event_batch b;
    expect_peek(r, 2, 0, 2, &b);
    release(r, &b);
    s = stats_of(r);
    assert_int_equal(s.events, 1);
    assert_int_equal(s.bytes, one);
    assert_int_equal(s.oldest_received_ms, 5002); /* the oldest left */
}

/* An event already waiting is stored (and counted) once. */
static void appending_a_waiting_event_again_is_a_no_op(void **state)
{
    rig *r = *state;
    open_spool(r, 1 << 20);
    assert_int_equal(append_range(r, 0, 3), 0);
    assert_int_equal(append_range(r, 1, 3), 0); /* e001, e002 again, and e003 */
    event_batch b;
    expect_peek(r, 100, 0, 4, &b);
    event_batch_free(&b);
    assert_int_equal(stats_of(r).events, 4);
    assert_int_equal(stats_of(r).appended, 4);
}

/* Past the quota a whole append is refused and nothing of it is written; a release makes
 * room again. */
static void quota_refuses_then_release_makes_room(void **state)
{
    rig *r = *state;
    uint64_t one = one_event_bytes();
    open_spool(r, 5 * one);
    assert_int_equal(append_range(r, 0, 3), 0);
    assert_int_equal(append_range(r, 3, 3), TT_EFULL); /* 6 > 5 */
    assert_int_equal(append_range(r, 3, 2), 0);        /* exactly full */
    assert_int_equal(append_range(r, 5, 1), TT_EFULL);
    spool_stats s = stats_of(r);
    assert_int_equal(s.events, 5);
    assert_int_equal(s.bytes, 5 * one);
    event_batch b;
    expect_peek(r, 100, 0, 5, &b); /* the refused appends left no trace */
    event_batch_free(&b);

    expect_peek(r, 2, 0, 2, &b);
    release(r, &b);
    assert_int_equal(append_range(r, 5, 3), TT_EFULL); /* 2 free, 3 asked */
    assert_int_equal(append_range(r, 5, 2), 0);
    expect_peek(r, 100, 2, 5, &b);
    event_batch_free(&b);
}

static void quota_message_says_full(void **state)
{
    rig *r = *state;
    open_spool(r, 10);
    tt_event *ev = make_event(0);
    char err[TT_ERRLEN] = "";
    assert_int_equal(spool_append(r->sp, &ev, 1, err), TT_EFULL);
    assert_non_null(strstr(err, "the spool is full"));
    event_free(ev);
}

/* What waited when the spool was closed is there, in order, when it is opened again; the
 * quota counts it. */
static void reopened_spool_keeps_its_backlog(void **state)
{
    rig *r = *state;
    uint64_t one = one_event_bytes();
    open_spool(r, 4 * one);
    assert_int_equal(append_range(r, 0, 3), 0);
    spool_close(r->sp);
    r->sp = NULL;
    open_spool(r, 4 * one);
    spool_stats s = stats_of(r);
    assert_int_equal(s.events, 3);
    assert_int_equal(s.bytes, 3 * one);
    assert_int_equal(s.oldest_received_ms, 5000);
    assert_int_equal(append_range(r, 3, 2), TT_EFULL);
    assert_int_equal(append_range(r, 3, 1), 0);
    event_batch b;
    expect_peek(r, 100, 0, 4, &b);
    event_batch_free(&b);
}

static void a_second_opener_is_refused(void **state)
{
    rig *r = *state;
    open_spool(r, 1 << 20);
    spool *other = NULL;
    char err[TT_ERRLEN] = "";
    assert_int_equal(spool_open(r->dir, 1 << 20, &other, err), TT_EIO);
    assert_null(other);
    assert_non_null(strstr(err, "in use by another telltale"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(new_spool_is_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(replay_is_fifo_across_appends_and_releases, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_spool_keeps_no_query_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(a_peek_after_a_seq_goes_on_from_there, setup, teardown),
        cmocka_unit_test_setup_teardown(a_peek_stops_at_its_byte_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(stats_follow_appends_and_releases, setup, teardown),
        cmocka_unit_test_setup_teardown(appending_a_waiting_event_again_is_a_no_op, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(quota_refuses_then_release_makes_room, setup, teardown),
        cmocka_unit_test_setup_teardown(quota_message_says_full, setup, teardown),
        cmocka_unit_test_setup_teardown(reopened_spool_keeps_its_backlog, setup, teardown),
        cmocka_unit_test_setup_teardown(a_second_opener_is_refused, setup, teardown),
    };
    return cmocka_run_group_tests_name("spool", tests, NULL, NULL);
}
