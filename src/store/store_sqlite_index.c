/* store_sqlite_index.c -- SQLite's session index written behind a watermark, in slices between
 * commits (migrations/sqlite/0007). Writer thread only.
 *
 * The entries of a batch go into monitoring_events_by_session sorted by (session_id, seq), so
 * that each live session's leaf is written once per batch instead of once per commit; and the
 * watermark session_index_through.seq moves to the batch's last seq in the transaction that
 * writes its last entries. Reads take the entries at or below the watermark and the events
 * above it (the tail) by seq range, in one statement: an entry written above the watermark is
 * not read until the watermark covers it, so a batch may be written over many transactions.
 *
 * Written in one transaction, a batch of 50,000 events held the writer 60-150 ms (0.3 s under
 * the end-to-end load) while acks queued behind it. So the work is cut in slices, one per
 * writer turn, each about SESSION_INDEX_SLICE_EVENTS events more than the turn just committed:
 *
 *   seq  ...  indexed  ]  batch being written  ]  next batch, staging  ]  not staged yet
 *              watermark ^         batch_through ^                staged ^       newest ^
 *
 *   stage:  the events committed since the last slice are copied, (session_id, seq) only, into
 *           a TEMP table of the writer's connection (memory, never in the WAL), whose primary
 *           key sorts them by (session_id, seq) as they come;
 *   drain:  once a batch is due (SESSION_INDEX_BATCH_EVENTS staged, or SESSION_INDEX_BATCH_MS
 *           after the first, or at once when the queue is idle), its staging table goes to the
 *           index a slice at a time, in (session_id, seq) order from a cursor, while the other
 *           staging table takes the next batch; the slice that reaches the end moves the
 *           watermark and empties the drained table.
 *
 * Each slice is one transaction over both databases (main and temp), so a failure undoes its
 * staging and its draining together (and the progress below is kept only when it commits). A
 * restart loses the staging tables: the events above the watermark are staged again, and the
 * entries already written are kept (INSERT OR IGNORE). An event deleted while staged
 * (retention; a client may send old timestamps) leaves its staging table by a TEMP trigger, so
 * no entry outlives its event. */
#include "store/sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The staging tables, one filling while the other drains (a drained one is emptied at once,
 * not row by row), and the trigger that keeps deleted events out of them. */
static const char *const setup_sql =
    "PRAGMA temp_store=MEMORY;"
    "CREATE TEMP TABLE IF NOT EXISTS session_index_staging0 (session_id TEXT NOT NULL, "
    "seq INTEGER NOT NULL, PRIMARY KEY (session_id, seq)) WITHOUT ROWID;"
    "CREATE TEMP TABLE IF NOT EXISTS session_index_staging1 (session_id TEXT NOT NULL, "
    "seq INTEGER NOT NULL, PRIMARY KEY (session_id, seq)) WITHOUT ROWID;"
    "DELETE FROM temp.session_index_staging0;"
    "DELETE FROM temp.session_index_staging1;"
    "CREATE TEMP TRIGGER IF NOT EXISTS session_index_staging_delete AFTER DELETE ON "
    "main.monitoring_events WHEN old.session_id IS NOT NULL BEGIN "
    "DELETE FROM session_index_staging0 WHERE session_id = old.session_id AND seq = old.seq; "
    "DELETE FROM session_index_staging1 WHERE session_id = old.session_id AND seq = old.seq; "
    "END";

/* The statements, in sqlite_index.stmts order; %d is a staging table's number (a NULL entry:
 * the one before it for table 1). A cursor (?1, ?2) is the last entry of the batch written,
 * ('', -1) before any. */
static const char *const stmt_sql[INDEX_STMTS] = {
    [INDEX_READ] = "SELECT (SELECT seq FROM session_index_through), "
                   "(SELECT coalesce(max(seq), 0) FROM monitoring_events)",
    [INDEX_MOVE] = "UPDATE session_index_through SET seq = max(seq, ?1)",
    /* the events in (?1, ?2] */
    [INDEX_STAGE] = "INSERT INTO temp.session_index_staging%d (session_id, seq) SELECT "
                    "session_id, seq FROM main.monitoring_events WHERE seq > ?1 AND seq <= ?2 "
                    "AND session_id IS NOT NULL",
    /* the ?3-th entry after the cursor, counting from 0: where this slice ends */
    [INDEX_BOUND] = "SELECT session_id, seq FROM temp.session_index_staging%d WHERE "
                    "(session_id, seq) > (?1, ?2) ORDER BY session_id, seq LIMIT 1 OFFSET ?3",
    /* the entries after the cursor up to (?3, ?4); to the end */
    [INDEX_WRITE] = "INSERT OR IGNORE INTO main.monitoring_events_by_session (session_id, seq) "
                    "SELECT session_id, seq FROM temp.session_index_staging%d WHERE "
                    "(session_id, seq) > (?1, ?2) AND (session_id, seq) <= (?3, ?4) "
                    "ORDER BY session_id, seq",
    [INDEX_WRITE_REST] = "INSERT OR IGNORE INTO main.monitoring_events_by_session (session_id, "
                         "seq) SELECT session_id, seq FROM temp.session_index_staging%d WHERE "
                         "(session_id, seq) > (?1, ?2) ORDER BY session_id, seq",
    [INDEX_CLEAR] = "DELETE FROM temp.session_index_staging%d",
};

/* What a slice found: where the drain stops (owned; NULL with 'last'). */
typedef struct slice_end {
    char *session;
    int64_t seq;
    bool last; /* the batch is written: the watermark moved */
} slice_end;

static int prepare(sqlite_store *s, char *err)
{
    for (int i = 0; i < INDEX_STMTS; i++) {
        int table = stmt_sql[i] != NULL ? 0 : 1;
        char sql[512];
        snprintf(sql, sizeof sql, stmt_sql[i - table], table);
        int rc = sqlite3_prepare_v3(s->writer, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                    &s->index.stmts[i], NULL);
        if (rc != SQLITE_OK) {
            return sqlite_fail(s->writer, rc, "prepare the session index", err);
        }
    }
    return 0;
}

/* Steps a statement that returns no row, then resets it; *changes (may be NULL) gets the rows
 * it changed. */
static int run(sqlite_store *s, sqlite3_stmt *st, int64_t *changes, char *err)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        return sqlite_fail(s->writer, rc, "the session index", err);
    }
    if (changes != NULL) {
        *changes = sqlite3_changes(s->writer);
    }
    return 0;
}

/* The statement 'which' of the staging table 'table', reset, with the cursor bound to ?1, ?2. */
static sqlite3_stmt *with_cursor(sqlite_store *s, int which, int table)
{
    const sqlite_index *x = &s->index;
    sqlite3_stmt *st = x->stmts[which + table];
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, x->cursor != NULL ? x->cursor : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, x->cursor != NULL ? x->p.cursor_seq : -1);
    return st;
}

/* The staging tables, the trigger and the statements, once per connection; then where the file
 * stands: everything above the watermark is to be staged again. */
static int setup(sqlite_store *s, sqlite_index_progress *p, char *err)
{
    sqlite_index_close(s); /* a setup that failed before may have prepared some */
    int rc = sqlite_exec(s->writer, setup_sql, err);
    rc = rc == 0 ? prepare(s, err) : rc;
    sqlite3_stmt *st = s->index.stmts[INDEX_READ];
    if (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        p->staged = p->batch_through = sqlite3_column_int64(st, 0);
        p->newest = sqlite3_column_int64(st, 1);
        p->ready = true;
    } else if (rc == 0) {
        rc = sqlite_fail(s->writer, sqlite3_errcode(s->writer), "read the watermark", err);
    }
    if (st != NULL) {
        sqlite3_reset(st);
    }
    return rc;
}

/* Copies the next 'budget' events' entries (by seq) to the staging table that fills. */
static int stage(sqlite_store *s, sqlite_index_progress *p, int64_t budget, uint64_t now_ms,
                 char *err)
{
    int64_t to = p->newest - p->staged < budget ? p->newest : p->staged + budget;
    int64_t rows = 0;
    if (to <= p->staged) {
        return 0;
    }
    sqlite3_stmt *st = s->index.stmts[INDEX_STAGE + p->filling];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, p->staged);
    sqlite3_bind_int64(st, 2, to);
    int rc = run(s, st, &rows, err);
    if (rc == 0) {
        p->staged = to;
        p->staged_rows += rows;
        p->staged_since_ms = p->staged_since_ms != 0 ? p->staged_since_ms : now_ms;
    }
    return rc;
}

/* Whether the staged events above the last batch make a batch to write now. */
static bool batch_due(const sqlite_index_progress *p, uint64_t now_ms, bool idle)
{
    if (p->draining || p->staged <= p->batch_through) {
        return false;
    }
    if (p->staged_rows >= SESSION_INDEX_BATCH_EVENTS) {
        return true;
    }
    /* By time or idleness only once staging has caught up: one batch, not many small ones. */
    return p->staged == p->newest &&
           (idle || now_ms - p->staged_since_ms >= SESSION_INDEX_BATCH_MS);
}

/* Where this slice ends: the 'budget'-th entry after the cursor, or the batch's end. */
static int find_end(sqlite_store *s, int table, int64_t budget, slice_end *end, char *err)
{
    sqlite3_stmt *st = with_cursor(s, INDEX_BOUND, table);
    sqlite3_bind_int64(st, 3, budget - 1);
    int rc = sqlite3_step(st);
    end->last = rc == SQLITE_DONE;
    if (rc == SQLITE_ROW) {
        end->seq = sqlite3_column_int64(st, 1);
        if ((end->session = strdup((const char *)sqlite3_column_text(st, 0))) == NULL) {
            sqlite3_reset(st);
            return tt_fail(err, TT_ENOMEM, "out of memory");
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sqlite_fail(s->writer, rc, "slice end", err);
}

/* Writes the entries after the cursor up to the slice's end; the last slice of a batch moves
 * the watermark and empties the drained staging table. */
static int drain(sqlite_store *s, const sqlite_index_progress *p, int64_t budget, slice_end *end,
                 char *err)
{
    int table = !p->filling;
    int rc = find_end(s, table, budget, end, err);
    if (rc != 0) {
        return rc;
    }
    sqlite3_stmt *st = with_cursor(s, end->last ? INDEX_WRITE_REST : INDEX_WRITE, table);
    if (!end->last) { /* two statements: with "?3 IS NULL OR" the end would not bound the SEARCH */
        sqlite3_bind_text(st, 3, end->session, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, end->seq);
    }
    rc = run(s, st, NULL, err);
    if (rc == 0 && end->last) {
        st = s->index.stmts[INDEX_MOVE];
        sqlite3_bind_int64(st, 1, p->batch_through);
        rc = run(s, st, NULL, err);
        rc = rc == 0 ? run(s, s->index.stmts[INDEX_CLEAR + table], NULL, err) : rc;
    }
    return rc;
}

/* One slice: staging, then (when a batch is due or under way) draining, in one transaction. */
static int slice(sqlite_store *s, sqlite_index_progress *p, uint64_t now_ms, bool idle,
                 slice_end *end, char *err)
{
    int64_t budget = (int64_t)p->committed +
                     (idle ? 2 * SESSION_INDEX_SLICE_EVENTS : SESSION_INDEX_SLICE_EVENTS);
    int rc = sqlite_exec(s->writer, "BEGIN IMMEDIATE", err);
    rc = rc == 0 ? stage(s, p, budget, now_ms, err) : rc;
    if (rc == 0 && batch_due(p, now_ms, idle)) {
        p->draining = true;
        p->filling = !p->filling;
        p->batch_through = p->staged;
        p->staged_rows = 0;
        p->staged_since_ms = 0;
    }
    if (rc == 0 && p->draining) {
        rc = drain(s, p, budget, end, err);
    }
    return rc == 0 ? sqlite_exec(s->writer, "COMMIT", err) : rc;
}

int sqlite_index_sessions(store *base, uint64_t now_ms, bool idle, bool *more, char *err)
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite_index *x = &s->index;
    sqlite_index_progress p = x->p; /* kept only if the slice commits */
    slice_end end = {0};
    *more = false;
    if (now_ms < p.retry_ms) {
        return 0;
    }
    int rc = p.ready ? 0 : setup(s, &p, err);
    if (rc == 0 && (p.draining || p.staged < p.newest || batch_due(&p, now_ms, idle))) {
        rc = slice(s, &p, now_ms, idle, &end, err);
    }
    if (rc != 0) {
        /* Reads stay exact with a longer tail: try again later, not after every commit. */
        sqlite3_exec(s->writer, "ROLLBACK", NULL, NULL, NULL);
        free(end.session);
        x->p.retry_ms = now_ms + SESSION_INDEX_BATCH_MS;
        return rc;
    }
    if (p.draining && (end.session != NULL || end.last)) {
        free(x->cursor);
        x->cursor = end.session; /* NULL after the last slice */
        p.cursor_seq = end.seq;
        p.draining = !end.last;
    }
    p.committed = 0;
    x->p = p;
    *more = p.draining || p.staged < p.newest || batch_due(&p, now_ms, idle);
    return 0;
}

void sqlite_index_committed(sqlite_store *s, tt_event *const *events, size_t n)
{
    sqlite_index_progress *p = &s->index.p;
    for (size_t i = 0; i < n; i++) {
        if (events[i]->seq > 0) {
            p->committed++;
            p->newest = events[i]->seq > p->newest ? events[i]->seq : p->newest;
        }
    }
}

void sqlite_index_close(sqlite_store *s)
{
    for (int i = 0; i < INDEX_STMTS; i++) {
        sqlite3_finalize(s->index.stmts[i]);
        s->index.stmts[i] = NULL;
    }
    free(s->index.cursor);
    s->index.cursor = NULL;
}
