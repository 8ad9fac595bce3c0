/* store_sqlite_index.c -- SQLite's session index written behind a watermark, in slices between
 * commits (migrations/sqlite/0007). Writer thread only.
 *
 * The entries of a batch go into monitoring_events_by_session session by session, so that
 * each live session's leaf is written once per batch instead of once per commit; and the
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
 *   stage:  the (session_id, seq) of the events just committed are kept in memory, by session
 *           (sqlite_stage.h), seqs ascending, from the events in hand; only after a restart or
 *           a failed slice are they read back by seq range, a slice's worth at a time, until
 *           staging has caught up with the commits again;
 *   drain:  once a batch is due (SESSION_INDEX_BATCH_EVENTS staged, or SESSION_INDEX_BATCH_MS
 *           after the first, or at once when the queue is idle), its stage is written to the
 *           index from a cursor, one statement per session, while the other stage takes the
 *           next batch; the slice that reaches the end moves the watermark.
 *
 * Staging into a sorted TEMP table instead cost as much in all and put the commits' p99 at
 * twice that of one transaction per batch (BENCHMARKS.md, "The session index in slices").
 * Each slice is one transaction; its progress is kept only when it commits, and after a failed
 * one the stage that fills is read again from its start (restage). A restart loses the stages:
 * the events above the watermark are staged again, and the entries already written are kept
 * (INSERT OR IGNORE). An entry is written only if its event is still there (a join on seq and
 * session): one deleted while staged (retention; a client may send old timestamps) gets none,
 * and a delete trigger takes the entries of those deleted later. */
#include "store/sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The statements, in sqlite_index.stmts order. */
static const char *const stmt_sql[INDEX_STMTS] = {
    [INDEX_READ] = "SELECT (SELECT seq FROM session_index_through), "
                   "(SELECT coalesce(max(seq), 0) FROM monitoring_events)",
    [INDEX_MOVE] = "UPDATE session_index_through SET seq = max(seq, ?1)",
    /* the entries of the events in (?1, ?2] */
    [INDEX_STAGE] = "SELECT session_id, seq FROM monitoring_events WHERE seq > ?1 AND seq <= ?2 "
                    "AND session_id IS NOT NULL",
    /* the entries of session ?1 whose seqs ?2 lists (a JSON array), but those whose event is
     * gone (deleted while staged: retention; a client may send old timestamps) */
    [INDEX_WRITE] = "INSERT OR IGNORE INTO monitoring_events_by_session (session_id, seq) "
                    "SELECT ?1, e.seq FROM json_each(?2) AS j CROSS JOIN monitoring_events AS e "
                    "ON e.seq = j.value WHERE e.session_id = ?1",
};

static int prepare(sqlite_store *s, char *err)
{
    for (int i = 0; i < INDEX_STMTS; i++) {
        int rc = sqlite3_prepare_v3(s->writer, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                    &s->index.stmts[i], NULL);
        if (rc != SQLITE_OK) {
            return sqlite_fail(s->writer, rc, "prepare the session index", err);
        }
    }
    return 0;
}

/* Steps a statement that returns no row, then resets it. */
static int run(sqlite_store *s, sqlite3_stmt *st, char *err)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sqlite_fail(s->writer, rc, "the session index", err);
}

/* The statements, once per connection; then where the file stands: everything above the
 * watermark is to be staged again. */
static int setup(sqlite_store *s, sqlite_index_progress *p, char *err)
{
    sqlite_index_close(s); /* a setup that failed before may have prepared some */
    int rc = prepare(s, err);
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

/* Stages the entries of the next 'budget' events (by seq) into the batch that fills, read
 * back from the table. A failure leaves some staged: the caller empties that batch and stages
 * it again. */
static int stage(sqlite_store *s, sqlite_index_progress *p, int64_t budget, uint64_t now_ms,
                 char *err)
{
    int64_t to = p->newest - p->staged < budget ? p->newest : p->staged + budget;
    if (to <= p->staged) {
        return 0;
    }
    sqlite_stage *g = &s->index.stage[p->filling];
    sqlite3_stmt *st = s->index.stmts[INDEX_STAGE];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, p->staged);
    sqlite3_bind_int64(st, 2, to);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0); /* NULL: out of memory */
        if (id == NULL || !sqlite_stage_add(g, id, sqlite3_column_int64(st, 1))) {
            sqlite3_reset(st);
            return tt_fail(err, TT_ENOMEM, "out of memory");
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        return sqlite_fail(s->writer, rc, "stage the session index", err);
    }
    p->staged = to;
    p->staged_since_ms = p->staged_since_ms != 0 ? p->staged_since_ms : now_ms;
    return 0;
}

/* Whether the staged events above the last batch make a batch to write now. */
static bool batch_due(const sqlite_index *x, const sqlite_index_progress *p, uint64_t now_ms,
                      bool idle)
{
    if (p->draining || p->staged <= p->batch_through) {
        return false;
    }
    if (x->stage[p->filling].entries >= SESSION_INDEX_BATCH_EVENTS) {
        return true;
    }
    /* By time or idleness only once staging has caught up: one batch, not many small ones. */
    return p->staged == p->newest &&
           (idle || now_ms - p->staged_since_ms >= SESSION_INDEX_BATCH_MS);
}

/* Lists 'n' seqs as a JSON array in x->json; false when out of memory. */
static bool seqs_json(sqlite_index *x, const int64_t *seqs, size_t n)
{
    size_t need = 2 + n * 21;
    if (need > x->json_cap) {
        char *j = realloc(x->json, need);
        if (j == NULL) {
            return false;
        }
        x->json = j;
        x->json_cap = need;
    }
    size_t len = 0;
    x->json[len++] = '[';
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(x->json + len, need - len, i > 0 ? ",%lld" : "%lld",
                                (long long)seqs[i]);
    }
    x->json[len++] = ']';
    x->json[len] = '\0';
    return true;
}

/* Writes up to 'budget' entries of the batch being written, session by session from the
 * cursor (one statement per session: its entries go to its own leaves, in seq order); the
 * slice that reaches the batch's end moves the watermark. */
static int drain(sqlite_store *s, sqlite_index_progress *p, int64_t budget, bool *finished,
                 char *err)
{
    sqlite_index *x = &s->index;
    const sqlite_stage *g = &x->stage[!p->filling];
    sqlite3_stmt *st = x->stmts[INDEX_WRITE];
    int rc = 0;
    while (rc == 0 && budget > 0 && p->cursor_session < g->n) {
        const staged_session *ss = &g->s[p->cursor_session];
        size_t k = ss->n - p->cursor_entry;
        k = (int64_t)k > budget ? (size_t)budget : k;
        if (!seqs_json(x, ss->seqs + p->cursor_entry, k)) {
            return tt_fail(err, TT_ENOMEM, "out of memory");
        }
        sqlite3_bind_text(st, 1, ss->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, x->json, -1, SQLITE_STATIC);
        rc = run(s, st, err);
        budget -= (int64_t)k;
        p->cursor_entry += k;
        if (p->cursor_entry == ss->n) {
            p->cursor_session++;
            p->cursor_entry = 0;
        }
    }
    if (rc == 0 && p->cursor_session == g->n) {
        sqlite3_stmt *move = x->stmts[INDEX_MOVE];
        sqlite3_bind_int64(move, 1, p->batch_through);
        rc = run(s, move, err);
        p->draining = false;
        *finished = true;
    }
    return rc;
}

/* One slice: staging, then (when a batch is due or under way) draining, in one transaction. */
static int slice(sqlite_store *s, sqlite_index_progress *p, uint64_t now_ms, bool idle,
                 bool *finished, char *err)
{
    int64_t budget = (int64_t)p->committed +
                     (idle ? 2 * SESSION_INDEX_SLICE_EVENTS : SESSION_INDEX_SLICE_EVENTS);
    int rc = sqlite_exec(s->writer, "BEGIN IMMEDIATE", err);
    rc = rc == 0 ? stage(s, p, budget, now_ms, err) : rc;
    if (rc == 0 && batch_due(&s->index, p, now_ms, idle)) {
        p->draining = true;
        p->filling = !p->filling;
        p->batch_through = p->staged;
        p->staged_since_ms = 0;
        p->cursor_session = p->cursor_entry = 0;
    }
    if (rc == 0 && p->draining) {
        rc = drain(s, p, budget, finished, err);
    }
    return rc == 0 ? sqlite_exec(s->writer, "COMMIT", err) : rc;
}

/* Empties the batch that fills: its events are read back from the table (stage) from its
 * start. */
static void restage(sqlite_index *x)
{
    sqlite_stage_clear(&x->stage[x->p.filling]);
    x->p.staged = x->p.batch_through;
    x->p.staged_since_ms = 0;
}

int sqlite_index_sessions(store *base, uint64_t now_ms, bool idle, bool *more, char *err)
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite_index *x = &s->index;
    sqlite_index_progress p = x->p; /* kept only if the slice commits */
    bool finished = false;          /* a batch was written to its end */
    *more = false;
    if (now_ms < p.retry_ms) {
        return 0;
    }
    int rc = p.ready ? 0 : setup(s, &p, err);
    if (p.staged > p.batch_through && p.staged_since_ms == 0) {
        p.staged_since_ms = now_ms; /* staged in hand since the last call */
    }
    if (rc == 0 && (p.draining || p.staged < p.newest || batch_due(x, &p, now_ms, idle))) {
        rc = slice(s, &p, now_ms, idle, &finished, err);
    }
    if (rc != 0) {
        /* Reads stay exact with a longer tail: try again later, not after every commit. The
         * batch that fills is staged again from its start (a failed slice may have staged some
         * of it twice); the one being written resumes at its cursor (INSERT OR IGNORE). */
        sqlite3_exec(s->writer, "ROLLBACK", NULL, NULL, NULL);
        restage(x);
        x->p.retry_ms = now_ms + SESSION_INDEX_BATCH_MS;
        return rc;
    }
    if (finished) {
        sqlite_stage_clear(&x->stage[!p.filling]); /* the batch just written */
    }
    p.committed = 0;
    x->p = p;
    *more = p.draining || p.staged < p.newest || batch_due(x, &p, now_ms, idle);
    return 0;
}

/* Once staging has caught up, the events just committed are staged from hand, in seq order:
 * no slice need read them back. Otherwise (before the first slice, or while a restart's or a
 * failure's backlog is read back) the slices' stage() reads them with the rest. */
void sqlite_index_committed(sqlite_store *s, tt_event *const *events, size_t n)
{
    sqlite_index *x = &s->index;
    sqlite_index_progress *p = &x->p;
    bool in_hand = p->ready && p->staged == p->newest;
    for (size_t i = 0; i < n; i++) {
        const tt_event *ev = events[i];
        if (ev->seq <= 0) {
            continue;
        }
        p->committed++;
        p->newest = ev->seq > p->newest ? ev->seq : p->newest;
        if (in_hand && ev->session_id != NULL &&
            !sqlite_stage_add(&x->stage[p->filling], ev->session_id, ev->seq)) {
            in_hand = false;
            restage(x); /* out of memory: read back later */
        }
    }
    p->staged = in_hand ? p->newest : p->staged;
}

void sqlite_index_close(sqlite_store *s)
{
    for (int i = 0; i < INDEX_STMTS; i++) {
        sqlite3_finalize(s->index.stmts[i]);
        s->index.stmts[i] = NULL;
    }
    sqlite_stage_clear(&s->index.stage[0]);
    sqlite_stage_clear(&s->index.stage[1]);
    free(s->index.json);
    s->index.json = NULL;
    s->index.json_cap = 0;
}
