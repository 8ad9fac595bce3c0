/* store_sqlite.c -- the embedded store: one SQLite file in WAL mode.
 *
 * One writer connection, used only by the persister thread, and a small pool of connections
 * for queries (and the REST and DLQ writes) from any thread: WAL lets readers run beside the
 * writer. Every connection is opened with synchronous=FULL, so a commit has reached the disk (the
 * WAL is fsynced) before the batch is acknowledged: an acknowledged event survives kill -9 and
 * power loss alike. */
#include "store/sqlite_internal.h"

#include "os/log.h"
#include "store/migrations.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int user_version(sqlite3 *db, int *out, char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1,
                                &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : sqlite_fail(db, rc, "reading the schema version", err);
}

static int apply_migration(sqlite3 *db, const migration *m, char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite_exec(db, "BEGIN IMMEDIATE", err);
    if (rc != 0) {
        return rc;
    }
    if ((rc = sqlite_exec(db, m->sql, err)) != 0) {
        goto Exit;
    }
    int src = sqlite3_prepare_v2(db,
                                 "INSERT INTO schema_migrations (version, name, applied_at) "
                                 "VALUES (?, ?, CAST(strftime('%s','now') AS INTEGER) * 1000)",
                                 -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_int(st, 1, m->version);
        sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
        src = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
    }
    if (src != SQLITE_OK) {
        rc = sqlite_fail(db, src, "recording a migration", err);
        goto Exit;
    }
    rc = sqlite_exec(db, "COMMIT", err);
Exit:
    sqlite3_finalize(st);
    if (rc != 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

/* Brings the file to the newest schema this binary knows, one transaction per migration. */
static int migrate(sqlite3 *db, int *version, char *err)
{
    int rc =
        sqlite_exec(db,
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                    "name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
                    err);
    if (rc != 0 || (rc = user_version(db, version, err)) != 0) {
        return rc;
    }
    int newest = sqlite_migrations[sqlite_migrations_count - 1].version;
    if (*version > newest) {
        return tt_fail(err, TT_ESCHEMA,
                       "the database is at schema version %d, newer than this telltale knows "
                       "(%d): use a newer telltale",
                       *version, newest);
    }
    for (size_t i = 0; i < sqlite_migrations_count; i++) {
        const migration *m = &sqlite_migrations[i];
        if (m->version > *version) {
            if ((rc = apply_migration(db, m, err)) != 0) {
                return rc;
            }
            *version = m->version;
        }
    }
    return 0;
}

static void bind_text_or_null(sqlite3_stmt *st, int col, const char *s)
{
    if (s != NULL) {
        sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_null(st, col);
    }
}

static int insert_one(sqlite_store *s, tt_event *ev)
{
    sqlite3_stmt *st = s->insert;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, ev->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ev->ts_ms);
    sqlite3_bind_int64(st, 3, ev->received_ms);
    bind_text_or_null(st, 4, ev->type);
    bind_text_or_null(st, 5, ev->source);
    bind_text_or_null(st, 6, ev->session_id);
    bind_text_or_null(st, 7, ev->name);
    bind_text_or_null(st, 8, ev->status);
    if (ev->has & EVENT_HAS_DURATION) {
        sqlite3_bind_double(st, 9, ev->duration_ms);
    } else {
        sqlite3_bind_null(st, 9);
    }
    if (ev->has & EVENT_HAS_BYTES) {
        sqlite3_bind_int64(st, 10, ev->bytes);
    } else {
        sqlite3_bind_null(st, 10);
    }
    if (ev->has & EVENT_HAS_VALUE) {
        sqlite3_bind_double(st, 11, ev->value);
    } else {
        sqlite3_bind_null(st, 11);
    }
    bind_text_or_null(st, 12, ev->error);
    bind_text_or_null(st, 13, ev->attrs);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        return rc;
    }
    ev->seq = sqlite3_changes(s->writer) == 1 ? sqlite3_last_insert_rowid(s->writer) : 0;
    return SQLITE_OK;
}

static int sqlite_insert_events(store *base, tt_event *const *events, size_t n, char *err)
{
    sqlite_store *s = (sqlite_store *)base;
    int rc = sqlite_exec(s->writer, "BEGIN IMMEDIATE", err);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        int src = insert_one(s, events[i]);
        if (src != SQLITE_OK) {
            rc = sqlite_fail(s->writer, src, "insert", err);
        }
    }
    sqlite3_reset(s->insert);
    if (rc == 0 && s->base.keep_summaries) {
        rc = sqlite_write_summaries(s, events, n, err);
    }
    if (rc == 0) {
        rc = sqlite_exec(s->writer, "COMMIT", err);
    }
    if (rc != 0) {
        sqlite3_exec(s->writer, "ROLLBACK", NULL, NULL, NULL);
        for (size_t i = 0; i < n; i++) {
            events[i]->seq = 0;
        }
    }
    if (rc == 0) {
        sqlite_index_committed(s, events, n);
    }
    return rc;
}

static int sqlite_delete_before(store *base, int64_t before_ms, uint32_t max_rows,
                                uint64_t *deleted, char *err)
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->writer,
                                "DELETE FROM monitoring_events WHERE seq IN (SELECT seq FROM "
                                "monitoring_events WHERE ts < ? LIMIT ?)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, before_ms);
        sqlite3_bind_int64(st, 2, max_rows);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->writer);
    }
    *deleted = rc == SQLITE_OK ? (uint64_t)sqlite3_changes(s->writer) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : sqlite_fail(s->writer, rc, "delete", err);
}

/* The indexes of migrations 0001 and 0006 behind the API's filters; the session index
 * (monitoring_events_by_session) is written only by index_sessions, which a spool never runs. */
static int sqlite_drop_query_indexes(store *base, char *err)
{
    sqlite_store *s = (sqlite_store *)base;
    return sqlite_exec(s->writer,
                       "DROP INDEX IF EXISTS monitoring_events_ts;"
                       "DROP INDEX IF EXISTS monitoring_events_type;"
                       "DROP INDEX IF EXISTS monitoring_events_source;"
                       "DROP INDEX IF EXISTS monitoring_events_status;"
                       "DROP INDEX IF EXISTS monitoring_events_name",
                       err);
}

static const char *column_text(sqlite3_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st, col); /* NULL for SQL NULL */
}

static void row_to_event(sqlite3_stmt *st, tt_event *ev)
{
    *ev = (tt_event){0};
    ev->seq = sqlite3_column_int64(st, 0);
    const char *id = column_text(st, 1);
    snprintf(ev->id, sizeof ev->id, "%s", id != NULL ? id : "");
    ev->ts_ms = sqlite3_column_int64(st, 2);
    ev->received_ms = sqlite3_column_int64(st, 3);
    ev->type = column_text(st, 4);
    ev->source = column_text(st, 5);
    ev->session_id = column_text(st, 6);
    ev->name = column_text(st, 7);
    ev->status = column_text(st, 8);
    if (sqlite3_column_type(st, 9) != SQLITE_NULL) {
        ev->duration_ms = sqlite3_column_double(st, 9);
        ev->has |= EVENT_HAS_DURATION;
    }
    if (sqlite3_column_type(st, 10) != SQLITE_NULL) {
        ev->bytes = sqlite3_column_int64(st, 10);
        ev->has |= EVENT_HAS_BYTES;
    }
    if (sqlite3_column_type(st, 11) != SQLITE_NULL) {
        ev->value = sqlite3_column_double(st, 11);
        ev->has |= EVENT_HAS_VALUE;
    }
    ev->error = column_text(st, 12);
    ev->attrs = column_text(st, 13);
}

static int sqlite_query_events(store *base, const event_filter *f, store_row_fn fn, void *ctx,
                               char *err)
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite3 *db = sqlite_reader_take(s, err);
    if (db == NULL) {
        return TT_EUNAVAILABLE;
    }
    sqlite_query *q = malloc(sizeof *q); /* ~50 KiB: not for a pool thread's stack */
    if (q == NULL) {
        sqlite_reader_give_back(s, db);
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    sqlite_build_query(f, q);
    sqlite3_stmt *st = NULL;
    int rc = q->overflow ? SQLITE_TOOBIG : sqlite3_prepare_v2(db, q->sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite_bind_query(st, q);
        tt_event ev;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            row_to_event(st, &ev);
            if (fn(&ev, ctx) != 0) {
                rc = SQLITE_DONE;
                break;
            }
        }
    }
    int result = rc == SQLITE_DONE ? 0 : sqlite_fail(db, rc, "query", err);
    sqlite3_finalize(st);
    free(q);
    sqlite_reader_give_back(s, db);
    return result;
}

static void read_int(sqlite3_stmt *st, void *ctx)
{
    *(int64_t *)ctx = sqlite3_column_int64(st, 0);
}

static int sqlite_max_seq(store *base, int64_t *out, char *err)
{
    /* sqlite_sequence remembers the highest seq ever handed out, even after retention. */
    return sqlite_read_row(
        (sqlite_store *)base,
        "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'monitoring_events'), 0)", 0,
        read_int, out, "max seq", err);
}

static void sqlite_close(store *base)
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite_wal_stop(s);
    sqlite_index_close(s);
    sqlite3_finalize(s->insert);
    sqlite3_finalize(s->rollup_upsert);
    sqlite3_finalize(s->session_upsert);
    sqlite3_close(s->writer);
    for (int i = 0; i < s->nidle; i++) {
        sqlite3_close(s->idle[i]);
    }
    pthread_mutex_destroy(&s->readers_lock);
    free(s->path);
    free(s);
}

static int sqlite_delete_through(store *base, int64_t through, uint64_t *deleted, char *err)
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->writer, "DELETE FROM monitoring_events WHERE seq <= ?", -1, &st,
                                NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, through);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->writer);
    }
    *deleted = rc == SQLITE_OK ? (uint64_t)sqlite3_changes(s->writer) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : sqlite_fail(s->writer, rc, "delete", err);
}

static void read_backlog(sqlite3_stmt *st, void *ctx)
{
    store_backlog *out = ctx;
    out->events = (uint64_t)sqlite3_column_int64(st, 0);
    out->bytes = (uint64_t)sqlite3_column_int64(st, 1);
    out->oldest_received_ms = sqlite3_column_int64(st, 2);
}

static int sqlite_count(store *base, store_backlog *out, char *err)
{
    return sqlite_read_row(
        (sqlite_store *)base,
        "SELECT count(*), coalesce(sum(length(id) + length(type) + coalesce(length(source), 0) + "
        "coalesce(length(session_id), 0) + coalesce(length(name), 0) + "
        "coalesce(length(status), 0) + coalesce(length(error), 0) + "
        "coalesce(length(attrs), 0) + ?), 0), coalesce(min(received_at), 0) "
        "FROM monitoring_events",
        STORE_ROW_OVERHEAD, read_backlog, out, "count", err);
}

/* The integer a PRAGMA reads back; 0 if it cannot be read. */
static int64_t pragma_value(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

static uint64_t sqlite_set_cache(store *base, uint64_t bytes)
{
    sqlite_store *s = (sqlite_store *)base;
    char sql[64], err[TT_ERRLEN];
    snprintf(sql, sizeof sql, "PRAGMA cache_size=-%llu", (unsigned long long)(bytes >> 10));
    if (sqlite_exec(s->writer, sql, err) != 0) {
        log_warn("sqlite: the page cache stays at its default: %s", err); /* only slower */
    }
    int64_t size = pragma_value(s->writer, "PRAGMA cache_size"); /* < 0: KiB, else pages */
    return size < 0 ? (uint64_t)-size << 10
                    : (uint64_t)size * (uint64_t)pragma_value(s->writer, "PRAGMA page_size");
}

static const store_ops sqlite_ops = {
    .kind = "sqlite",
    .close = sqlite_close,
    .set_cache = sqlite_set_cache,
    .interrupt = sqlite_interrupt,
    .insert_events = sqlite_insert_events,
    .delete_before = sqlite_delete_before,
    .query_events = sqlite_query_events,
    .max_seq = sqlite_max_seq,
    .delete_through = sqlite_delete_through,
    .count = sqlite_count,
    .dlq_add = sqlite_dlq_add,
    .dlq_claim = sqlite_dlq_claim,
    .dlq_settle = sqlite_dlq_settle,
    .dlq_list = sqlite_dlq_list,
    .dlq_stats = sqlite_dlq_stats,
    .dlq_retry_now = sqlite_dlq_retry_now,
    .dlq_mark_failed = sqlite_dlq_mark_failed,
    .dlq_purge = sqlite_dlq_purge,
    .select = sqlite_select,
    .change = sqlite_change,
    .expire_summaries = sqlite_expire_summaries,
    .fold_summaries = sqlite_fold_summaries,
    .drop_query_indexes = sqlite_drop_query_indexes,
    .index_sessions = sqlite_index_sessions,
};

static int setup_writer(sqlite_store *s, char *err)
{
    int rc = sqlite_open_conn(s, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &s->writer, err);
    if (rc != 0) {
        return rc;
    }
    if ((rc = sqlite_exec(s->writer, "PRAGMA journal_mode=WAL", err)) != 0 ||
        (rc = sqlite_wal_start(s, err)) != 0 ||
        (rc = sqlite_register_summary_functions(s->writer, err)) != 0 ||
        (rc = migrate(s->writer, &s->base.schema_version, err)) != 0 ||
        (rc = sqlite_summaries_open(s, err)) != 0) {
        return rc;
    }
    int src = sqlite3_prepare_v3(
        s->writer,
        "INSERT INTO monitoring_events (id, ts, received_at, type, source, session_id, name, "
        "status, duration_ms, bytes, value, error, attrs) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        -1, SQLITE_PREPARE_PERSISTENT, &s->insert, NULL);
    return src == SQLITE_OK ? 0 : sqlite_fail(s->writer, src, "prepare insert", err);
}

int store_sqlite_open(const char *path, store **out, char *err)
{
    sqlite_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->path = strdup(path)) == NULL) {
        free(s);
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    s->base.ops = &sqlite_ops;
    pthread_mutex_init(&s->readers_lock, NULL);
    int rc = setup_writer(s, err);
    if (rc != 0) {
        sqlite_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

/* The version of an existing file, opened read-only: a check changes nothing, not even by
 * creating the file. */
static int read_version(const char *path, int *version, char *err)
{
    sqlite3 *db = NULL;
    *version = 0;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_CANTOPEN) {
        sqlite3_close(db);
        return sqlite_check_directory(path, err); /* no file yet: version 0, if it can be made */
    }
    if (rc == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'",
                                -1, &st, NULL);
        bool exists = rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
        rc = exists ? (user_version(db, version, err) == 0 ? SQLITE_OK : SQLITE_ERROR) : rc;
    }
    int out = rc == SQLITE_OK ? 0 : sqlite_fail(db, rc, "reading the schema version", err);
    sqlite3_close(db);
    return out;
}

int store_sqlite_migrate(const char *path, bool apply, store_migration_plan *plan, char *err)
{
    int rc = read_version(path, &plan->version, err);
    if (rc == 0) {
        rc = store_plan_pending(plan, sqlite_migrations, sqlite_migrations_count, err);
    }
    if (rc == 0 && apply) {
        store *st = NULL;
        if ((rc = store_sqlite_open(path, &st, err)) == 0) { /* opening migrates */
            plan->version = st->schema_version;
            plan->pending[0] = '\0';
            sqlite_close(st);
        }
    }
    return rc;
}
