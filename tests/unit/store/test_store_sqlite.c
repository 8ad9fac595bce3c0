/* test_store_sqlite.c -- the SQLite store against a real file in a fresh temporary directory:
 * migrations, seq assignment, idempotent ids, queries, retention, and the schema guard. */
#include "store/store.h"

#include "store/migrations.h"
#include "tmp_store.h"

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

#define T0 INT64_C(1764340303123)

/* ---- fixture: a temporary directory per test ----------------------------------------------- */

typedef tmp_store fixture; /* the store opened by each test */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL || tmp_store_make(f, "tt-store-test", false) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    tmp_store_remove(*state);
    free(*state);
    return 0;
}

static store *open_store(fixture *f)
{
    char err[TT_ERRLEN] = "";
    store *st = NULL;
    int rc = store_open(f->url, &st, err);
    if (rc != 0) {
        fail_msg("store_open(%s): %d %s", f->url, rc, err);
    }
    return st;
}

/* ---- helpers --------------------------------------------------------------------------- */

static tt_event make(const char *id, int64_t ts, const char *type)
{
    tt_event ev = {.ts_ms = ts, .received_ms = ts + 1, .type = type};
    snprintf(ev.id, sizeof ev.id, "%s", id);
    return ev;
}

/* Inserts one event, returns its seq. */
static int64_t insert_one(store *st, tt_event ev)
{
    tt_event *p = &ev;
    tmp_store_insert(st, &p, 1);
    return ev.seq;
}

typedef struct rows {
    tt_event *ev[64];
    size_t n;
    size_t stop_after; /* 0: never */
} rows;

static int collect(const tt_event *ev, void *ctx)
{
    rows *r = ctx;
    if (r->n < 64) {
        r->ev[r->n++] = event_clone(ev);
    }
    return r->stop_after != 0 && r->n >= r->stop_after;
}

static rows query(store *st, const event_filter *f)
{
    rows r;
    memset(&r, 0, sizeof r);
    char err[TT_ERRLEN] = "";
    int rc = store_query_events(st, f, collect, &r, err);
    if (rc != 0) {
        fail_msg("query: %d %s", rc, err);
    }
    return r;
}

static void rows_free(rows *r)
{
    for (size_t i = 0; i < r->n; i++) {
        event_free(r->ev[i]);
    }
    r->n = 0;
}

/* Asserts the rows' seqs are exactly 'want' (n of them). */
static void assert_seqs(const rows *r, const int64_t *want, size_t n)
{
    if (r->n != n) {
        fail_msg("%zu rows, expected %zu", r->n, n);
    }
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r->ev[i]->seq, want[i]);
    }
}

static int64_t max_seq(store *st)
{
    int64_t v = -1;
    char err[TT_ERRLEN] = "";
    assert_int_equal(store_max_seq(st, &v, err), 0);
    return v;
}

static int64_t count_rows(store *st)
{
    event_filter all = {.limit = 1000};
    rows r = query(st, &all);
    int64_t n = (int64_t)r.n;
    rows_free(&r);
    return n;
}

static int newest_migration(void)
{
    return sqlite_migrations[sqlite_migrations_count - 1].version;
}

/* ---- opening and migrations ------------------------------------------------------------- */

static void open_creates_the_file_and_applies_migrations(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    assert_string_equal(store_kind(f->st), "sqlite");
    assert_int_equal(store_schema_version(f->st), newest_migration());
    assert_true(access(f->path, F_OK) == 0);
    assert_int_equal(tmp_store_int(f, "SELECT count(*) FROM schema_migrations"),
                     (int64_t)sqlite_migrations_count);
    assert_int_equal(tmp_store_int(f, "SELECT count(*) FROM schema_migrations "
                                      "WHERE version = 1 AND name = '0001_events'"),
                     1);
    assert_int_equal(tmp_store_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                                      "AND name IN ('monitoring_events_ts', "
                                      "'monitoring_events_type', "
                                      "'monitoring_events_source', 'monitoring_events_status', "
                                      "'monitoring_events_name')"),
                     5);
    /* The session index is a table written behind a watermark (migration 0007). */
    assert_int_equal(tmp_store_int(f, "SELECT count(*) FROM sqlite_master WHERE "
                                      "name IN ('monitoring_events_session', "
                                      "'monitoring_events_by_session', 'session_index_through')"),
                     2);
    assert_int_equal(tmp_store_int(f, "SELECT count(*) FROM session_index_through"), 1);
    /* (session_id, ts) and (type, ts) gave way to one-column indexes (migration 0006). */
    assert_int_equal(tmp_store_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                                      "AND name IN ('monitoring_events_session_ts', "
                                      "'monitoring_events_type_ts')"),
                     0);
}

static void file_is_in_wal_mode(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void reopening_is_a_no_op(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    int64_t seq = insert_one(f->st, make("keep", T0, "a"));
    int64_t applied = tmp_store_int(f, "SELECT sum(applied_at) FROM schema_migrations");
    store_close(f->st);
    f->st = open_store(f);
    assert_int_equal(store_schema_version(f->st), newest_migration());
    assert_int_equal(tmp_store_int(f, "SELECT count(*) FROM schema_migrations"),
                     (int64_t)sqlite_migrations_count);
    assert_int_equal(tmp_store_int(f, "SELECT sum(applied_at) FROM schema_migrations"), applied);
    assert_int_equal(count_rows(f->st), 1);
    assert_int_equal(max_seq(f->st), seq);
}

static void newer_schema_is_refused(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    store_close(f->st);
    f->st = NULL;
    tmp_store_exec(f, "INSERT INTO schema_migrations (version, name, applied_at) "
                      "VALUES (9999, '9999_from_the_future', 0)");
    store *st = (store *)1;
    char err[TT_ERRLEN] = "";
    assert_int_equal(store_open(f->url, &st, err), TT_ESCHEMA);
    assert_null(st);
    assert_non_null(strstr(err, "9999"));
    /* Nothing was touched: the future migration is still the newest row. */
    assert_int_equal(tmp_store_int(f, "SELECT max(version) FROM schema_migrations"), 9999);
}

static void bad_urls_are_refused(void **state)
{
    fixture *f = *state;
    (void)f;
    store *st = (store *)1;
    char err[TT_ERRLEN];
    assert_int_equal(store_open("mysql://h/db", &st, err), TT_EINVAL);
    assert_null(st);
    assert_int_equal(store_open("sqlite:", &st, err), TT_EINVAL);
    /* A PostgreSQL URL goes to the PostgreSQL store: nobody listens on port 1, which is an
     * outage, not a bad URL -- the store opens and its first call will try again. */
    assert_int_equal(store_open("postgres://u@127.0.0.1:1/db", &st, err), 0);
    assert_string_equal(store_kind(st), "postgres");
    int64_t seq = 0;
    assert_int_equal(store_max_seq(st, &seq, err), TT_EUNAVAILABLE);
    assert_non_null(strstr(err, "cannot connect to PostgreSQL"));
    store_close(st);
    assert_int_equal(store_open("sqlite:/nonexistent-dir-of-telltale/x.db", &st, err),
                     TT_EUNAVAILABLE);
    assert_null(st);
    store_close(NULL);
}

/* ---- inserting ------------------------------------------------------------------------ */

static void insert_assigns_increasing_seqs_in_array_order(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    tt_event a = make("a", T0, "t"), b = make("b", T0 - 5000, "t"), c = make("c", T0, "t");
    tt_event *batch[] = {&a, &b, &c};
    tmp_store_insert(f->st, batch, 3);
    assert_true(a.seq > 0);
    assert_true(b.seq > a.seq);
    assert_true(c.seq > b.seq);
    tt_event d = make("d", T0, "t");
    tt_event *next[] = {&d};
    tmp_store_insert(f->st, next, 1);
    assert_true(d.seq > c.seq);
    assert_int_equal(max_seq(f->st), d.seq);
}

static void duplicate_id_is_stored_once_with_seq_0(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    tt_event a = make("same", T0, "first"), b = make("other", T0, "t");
    tt_event *first[] = {&a, &b};
    tmp_store_insert(f->st, first, 2);
    int64_t a_seq = a.seq;
    tt_event again = make("same", T0 + 1, "second"), c = make("new", T0, "t");
    tt_event *second[] = {&again, &c};
    tmp_store_insert(f->st, second, 2);
    assert_int_equal(again.seq, 0);
    assert_true(c.seq > b.seq);
    assert_int_equal(count_rows(f->st), 3);
    /* The first write wins: the stored row is the original. */
    event_filter by_type = {.type = "first", .limit = 10};
    rows r = query(f->st, &by_type);
    assert_seqs(&r, &a_seq, 1);
    assert_string_equal(r.ev[0]->id, "same");
    rows_free(&r);
}

static void duplicate_within_one_batch_is_stored_once(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    tt_event a = make("twin", T0, "t"), b = make("twin", T0, "t");
    tt_event *batch[] = {&a, &b};
    tmp_store_insert(f->st, batch, 2);
    assert_true(a.seq > 0);
    assert_int_equal(b.seq, 0);
    assert_int_equal(count_rows(f->st), 1);
}

static void failed_insert_stores_nothing(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    int64_t before = insert_one(f->st, make("pre", T0, "t"));
    tt_event good = make("good", T0, "t"), bad = make("bad", T0, NULL); /* type is NOT NULL */
    tt_event *batch[] = {&good, &bad};
    char err[TT_ERRLEN] = "";
    assert_int_equal(store_insert_events(f->st, batch, 2, err), TT_EREJECTED);
    assert_true(strlen(err) > 0);
    assert_int_equal(good.seq, 0);
    assert_int_equal(bad.seq, 0);
    assert_int_equal(count_rows(f->st), 1);
    assert_int_equal(max_seq(f->st), before);
    /* The store is still usable afterwards. */
    assert_true(insert_one(f->st, make("after", T0, "t")) > before);
}

static void every_field_is_stored_and_read_back(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    tt_event full = {.ts_ms = T0,
                     .received_ms = T0 + 7,
                     .type = "tool_call",
                     .source = "mcp",
                     .session_id = "s-1",
                     .name = "read_file",
                     .status = "error",
                     .error = "permission denied \xe2\x98\x83",
                     .attrs = "{\"k\":[1,2]}",
                     .duration_ms = 12.345,
                     .bytes = INT64_C(9007199254740992),
                     .value = -0.5,
                     .has = EVENT_HAS_DURATION | EVENT_HAS_BYTES | EVENT_HAS_VALUE};
    strcpy(full.id, "full");
    tt_event bare = make("bare", T0 + 1, "a");
    tt_event *batch[] = {&full, &bare};
    tmp_store_insert(f->st, batch, 2);
    event_filter all = {.limit = 10};
    rows r = query(f->st, &all); /* newest first: bare, then full */
    assert_int_equal(r.n, 2);
    const tt_event *got = r.ev[1];
    assert_int_equal(got->seq, full.seq);
    assert_string_equal(got->id, "full");
    assert_int_equal(got->ts_ms, T0);
    assert_int_equal(got->received_ms, T0 + 7);
    assert_string_equal(got->type, "tool_call");
    assert_string_equal(got->source, "mcp");
    assert_string_equal(got->session_id, "s-1");
    assert_string_equal(got->name, "read_file");
    assert_string_equal(got->status, "error");
    assert_string_equal(got->error, "permission denied \xe2\x98\x83");
    assert_string_equal(got->attrs, "{\"k\":[1,2]}");
    assert_int_equal(got->has, full.has);
    assert_true(got->duration_ms == 12.345);
    assert_int_equal(got->bytes, INT64_C(9007199254740992));
    assert_true(got->value == -0.5);
    const tt_event *b = r.ev[0];
    assert_string_equal(b->id, "bare");
    assert_int_equal(b->has, 0);
    assert_null(b->source);
    assert_null(b->session_id);
    assert_null(b->name);
    assert_null(b->status);
    assert_null(b->error);
    assert_null(b->attrs);
    rows_free(&r);
}

/* ---- querying ------------------------------------------------------------------------- */

/* Six events: seqs s[0..5], alternating types and sources, ts T0 + i*1000. */
static void insert_six(store *st, int64_t s[6])
{
    static const char *const types[] = {"request", "error",   "request",
                                        "metric",  "request", "error"};
    static const char *const sources[] = {"api", "api", "worker", "api", "worker", "worker"};
    static const char *const sessions[] = {"s1", "s1", "s2", NULL, "s1", "s2"};
    static const char *const statuses[] = {"ok", "error", "ok", NULL, "timeout", "error"};
    for (int i = 0; i < 6; i++) {
        char id[8];
        snprintf(id, sizeof id, "e%d", i);
        tt_event ev = make(id, T0 + i * 1000, types[i]);
        ev.source = sources[i];
        ev.session_id = sessions[i];
        ev.status = statuses[i];
        s[i] = insert_one(st, ev);
    }
}

static void query_without_cursor_is_newest_first(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    int64_t s[6];
    insert_six(f->st, s);
    event_filter all = {.limit = 100};
    rows r = query(f->st, &all);
    int64_t want[] = {s[5], s[4], s[3], s[2], s[1], s[0]};
    assert_seqs(&r, want, 6);
    rows_free(&r);
}

static void query_after_seq_is_ascending_and_exclusive(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    int64_t s[6];
    insert_six(f->st, s);
    event_filter after = {.has_after = true, .after_seq = s[2], .limit = 100};
    rows r = query(f->st, &after);
    int64_t want[] = {s[3], s[4], s[5]};
    assert_seqs(&r, want, 3);
    rows_free(&r);
    event_filter from0 = {.has_after = true, .after_seq = 0, .limit = 100};
    r = query(f->st, &from0);
    assert_seqs(&r, s, 6);
    rows_free(&r);
    event_filter past_end = {.has_after = true, .after_seq = s[5], .limit = 100};
    r = query(f->st, &past_end);
    assert_int_equal(r.n, 0);
}

static void query_limit_cuts_from_the_right_end(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    int64_t s[6];
    insert_six(f->st, s);
    event_filter newest = {.limit = 2};
    rows r = query(f->st, &newest);
    int64_t want_newest[] = {s[5], s[4]};
    assert_seqs(&r, want_newest, 2);
    rows_free(&r);
    event_filter oldest_after = {.has_after = true, .after_seq = s[0], .limit = 2};
    r = query(f->st, &oldest_after);
    int64_t want_after[] = {s[1], s[2]};
    assert_seqs(&r, want_after, 2);
    rows_free(&r);
}

static void query_filters_by_each_column(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    int64_t s[6];
    insert_six(f->st, s);
    event_filter by_type = {.type = "request", .limit = 100};
    rows r = query(f->st, &by_type);
    int64_t want_type[] = {s[4], s[2], s[0]};
    assert_seqs(&r, want_type, 3);
    rows_free(&r);
    event_filter by_source = {.source = "worker", .limit = 100};
    r = query(f->st, &by_source);
    int64_t want_source[] = {s[5], s[4], s[2]};
    assert_seqs(&r, want_source, 3);
    rows_free(&r);
    event_filter by_session = {.session_id = "s1", .limit = 100};
    r = query(f->st, &by_session);
    int64_t want_session[] = {s[4], s[1], s[0]};
    assert_seqs(&r, want_session, 3);
    rows_free(&r);
    event_filter by_status = {.status = "error", .limit = 100};
    r = query(f->st, &by_status);
    int64_t want_status[] = {s[5], s[1]};
    assert_seqs(&r, want_status, 2);
    rows_free(&r);
    event_filter nothing = {.type = "nope", .limit = 100};
    r = query(f->st, &nothing);
    assert_int_equal(r.n, 0);
}

/* A text filter with several values is "any of" them, the single field counting as one; the
 * columns are still ANDed. */
static void query_filters_any_of(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    int64_t s[6];
    insert_six(f->st, s);
    event_filter types = {.limit = 100};
    types.any[EVENT_FILTER_TYPE].values[0] = "metric";
    types.any[EVENT_FILTER_TYPE].values[1] = "error";
    types.any[EVENT_FILTER_TYPE].n = 2;
    rows r = query(f->st, &types);
    int64_t want_types[] = {s[5], s[3], s[1]};
    assert_seqs(&r, want_types, 3);
    rows_free(&r);
    event_filter mixed = {.status = "ok", .source = "api", .limit = 100};
    mixed.any[EVENT_FILTER_STATUS].values[0] = "timeout";
    mixed.any[EVENT_FILTER_STATUS].n = 1;
    r = query(f->st, &mixed); /* (ok or timeout) and api */
    int64_t want_mixed[] = {s[0]};
    assert_seqs(&r, want_mixed, 1);
    rows_free(&r);
    const char *values[EVENT_FILTER_ANY_MAX + 1];
    assert_int_equal(event_filter_values(&mixed, EVENT_FILTER_STATUS, values), 2);
    assert_string_equal(values[0], "ok");
    assert_string_equal(values[1], "timeout");
    assert_int_equal(event_filter_values(&mixed, EVENT_FILTER_NAME, values), 0);
    assert_string_equal(event_filter_column_name(EVENT_FILTER_SESSION_ID), "session_id");
}

static void query_time_window_is_since_inclusive_until_exclusive(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    int64_t s[6];
    insert_six(f->st, s);
    event_filter window = {.has_since = true,
                           .since_ms = T0 + 1000,
                           .has_until = true,
                           .until_ms = T0 + 4000,
                           .limit = 100};
    rows r = query(f->st, &window);
    int64_t want[] = {s[3], s[2], s[1]};
    assert_seqs(&r, want, 3);
    rows_free(&r);
    event_filter since = {.has_since = true, .since_ms = T0 + 5000, .limit = 100};
    r = query(f->st, &since);
    assert_seqs(&r, &s[5], 1);
    rows_free(&r);
    event_filter until = {.has_until = true, .until_ms = T0 + 1, .limit = 100};
    r = query(f->st, &until);
    assert_seqs(&r, &s[0], 1);
    rows_free(&r);
}

static void query_filters_combine(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    int64_t s[6];
    insert_six(f->st, s);
    event_filter both = {
        .type = "error", .source = "worker", .has_after = true, .after_seq = s[0], .limit = 100};
    rows r = query(f->st, &both);
    assert_seqs(&r, &s[5], 1);
    rows_free(&r);
}

static void query_stops_when_the_callback_says_so(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    int64_t s[6];
    insert_six(f->st, s);
    rows r;
    memset(&r, 0, sizeof r);
    r.stop_after = 2;
    event_filter all = {.limit = 100};
    char err[TT_ERRLEN];
    assert_int_equal(store_query_events(f->st, &all, collect, &r, err), 0);
    int64_t want[] = {s[5], s[4]};
    assert_seqs(&r, want, 2);
    rows_free(&r);
}

/* ---- seq cursor and retention -------------------------------------------------------------- */

static void max_seq_of_an_empty_store_is_0(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    assert_int_equal(max_seq(f->st), 0);
}

static void max_seq_survives_deleting_every_row(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    int64_t s[6];
    insert_six(f->st, s);
    uint64_t deleted = 0;
    char err[TT_ERRLEN];
    assert_int_equal(store_delete_before(f->st, INT64_MAX, 1000, &deleted, err), 0);
    assert_int_equal(deleted, 6);
    assert_int_equal(count_rows(f->st), 0);
    assert_int_equal(max_seq(f->st), s[5]);
    /* A seq is never handed out twice, even after the newest rows are gone. */
    assert_true(insert_one(f->st, make("later", T0, "t")) > s[5]);
    store_close(f->st);
    f->st = open_store(f);
    assert_int_equal(max_seq(f->st), s[5] + 1);
}

static void delete_before_is_strict_on_ts(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    int64_t s[6];
    insert_six(f->st, s);
    uint64_t deleted = 99;
    char err[TT_ERRLEN];
    assert_int_equal(store_delete_before(f->st, T0 + 2000, 1000, &deleted, err), 0);
    assert_int_equal(deleted, 2); /* ts T0 and T0+1000; T0+2000 stays */
    event_filter all = {.has_after = true, .after_seq = 0, .limit = 100};
    rows r = query(f->st, &all);
    assert_seqs(&r, &s[2], 4);
    rows_free(&r);
}

static void delete_before_honours_max_rows(void **state)
{
    fixture *f = *state;
    f->st = open_store(f);
    int64_t s[6];
    insert_six(f->st, s);
    uint64_t deleted = 0;
    char err[TT_ERRLEN];
    assert_int_equal(store_delete_before(f->st, INT64_MAX, 4, &deleted, err), 0);
    assert_int_equal(deleted, 4);
    assert_int_equal(count_rows(f->st), 2);
    assert_int_equal(store_delete_before(f->st, INT64_MAX, 4, &deleted, err), 0);
    assert_int_equal(deleted, 2);
    assert_int_equal(store_delete_before(f->st, INT64_MAX, 4, &deleted, err), 0);
    assert_int_equal(deleted, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(open_creates_the_file_and_applies_migrations),
        T(file_is_in_wal_mode),
        T(reopening_is_a_no_op),
        T(newer_schema_is_refused),
        T(bad_urls_are_refused),
        T(insert_assigns_increasing_seqs_in_array_order),
        T(duplicate_id_is_stored_once_with_seq_0),
        T(duplicate_within_one_batch_is_stored_once),
        T(failed_insert_stores_nothing),
        T(every_field_is_stored_and_read_back),
        T(query_without_cursor_is_newest_first),
        T(query_after_seq_is_ascending_and_exclusive),
        T(query_limit_cuts_from_the_right_end),
        T(query_filters_by_each_column),
        T(query_filters_any_of),
        T(query_time_window_is_since_inclusive_until_exclusive),
        T(query_filters_combine),
        T(query_stops_when_the_callback_says_so),
        T(max_seq_of_an_empty_store_is_0),
        T(max_seq_survives_deleting_every_row),
        T(delete_before_is_strict_on_ts),
        T(delete_before_honours_max_rows),
    };
    return cmocka_run_group_tests_name("store_sqlite", tests, NULL, NULL);
}
