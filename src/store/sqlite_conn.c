/* sqlite_conn.c -- the embedded store's connections: opening one (busy timeout,
 * synchronous=FULL, no checkpoint of its own), the pool of connections any thread may take, and
 * what a failure means (worth a retry, or the data's fault). Shared by the events, DLQ and REST
 * parts. */
#include "store/sqlite_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000
#define BUSY_STEP_MS 10

/* Transient conditions a retry can outlive; anything else is the data's fault. */
static int classify(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
        return TT_EUNAVAILABLE;
    default:
        return TT_EREJECTED;
    }
}

int sqlite_fail(sqlite3 *db, int rc, const char *what, char *err)
{
    return tt_fail(err, classify(rc), "sqlite %s: %s", what,
                   db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

int sqlite_exec(sqlite3 *db, const char *sql, char *err)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sqlite_fail(db, rc, "exec", err);
}

int sqlite_check_directory(const char *path, char *err)
{
    char dir[4096]; /* PATH_MAX on Linux */
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof dir, ".");
    } else {
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    }
    if (access(dir, W_OK | X_OK) == 0) {
        return 0;
    }
    int e = errno;
    return tt_fail(err, TT_EUNAVAILABLE, "cannot create sqlite file '%s': directory '%s' %s", path,
                   dir,
                   e == ENOENT   ? "does not exist"
                   : e == EACCES ? "is not writable by this user"
                                 : strerror(e));
}

/* TELLTALE_SQLITE_TRACE=FILE, a diagnostic: every statement any connection runs is appended
 * to FILE, its text as prepared (placeholders, not values) followed by a record separator
 * (0x1e) and a newline, in one write(2), so that threads never interleave. The query plan test
 * reads it to EXPLAIN every statement the daemon ran. Unset: no trace, no cost. */
static int trace_fd = -1;
static pthread_once_t trace_once = PTHREAD_ONCE_INIT;

static void trace_open(void)
{
    const char *file = getenv("TELLTALE_SQLITE_TRACE");
    if (file != NULL && file[0] != '\0') {
        trace_fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    }
}

static int trace_stmt(unsigned kind, void *ctx, void *p, void *x)
{
    (void)ctx;
    (void)x;
    const char *sql = kind == SQLITE_TRACE_STMT ? sqlite3_sql((sqlite3_stmt *)p) : NULL;
    size_t len = sql != NULL ? strlen(sql) : 0;
    char *rec = len > 0 ? malloc(len + 2) : NULL;
    if (rec != NULL) {
        memcpy(rec, sql, len);
        rec[len] = '\x1e';
        rec[len + 1] = '\n';
        ssize_t n = write(trace_fd, rec, len + 2);
        (void)n; /* a diagnostic: a short write loses a record, nothing else */
        free(rec);
    }
    return 0;
}

/* SQLite's busy handler: called with the number of times it was called for this lock; true
 * (after a short sleep) to try the lock again. Like sqlite3_busy_timeout, but interruptible. */
static int busy_wait(void *arg, int count)
{
    const sqlite_store *s = arg;
    if (atomic_load(&s->interrupted) || count >= BUSY_TIMEOUT_MS / BUSY_STEP_MS) {
        return 0;
    }
    sqlite3_sleep(BUSY_STEP_MS);
    return 1;
}

void sqlite_interrupt(store *st)
{
    atomic_store(&((sqlite_store *)st)->interrupted, true);
}

int sqlite_open_conn(sqlite_store *s, int flags, sqlite3 **out, char *err)
{
    const char *path = s->path;
    pthread_once(&trace_once, trace_open);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        int code = sqlite_check_directory(path, err);
        if (code == 0) {
            code = tt_fail(err, TT_EUNAVAILABLE, "cannot open sqlite file '%s': %s", path,
                           db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        }
        sqlite3_close(db);
        return code;
    }
    sqlite3_busy_handler(db, busy_wait, s);
    if (trace_fd >= 0) {
        sqlite3_trace_v2(db, SQLITE_TRACE_STMT, trace_stmt, NULL);
    }
    /* Every connection may write (the persister; REST and DLQ writes from the pool): each
     * commit is fsynced before it is acknowledged. */
    /* Checkpoints are the writer's policy (store_sqlite_wal.c), never a side effect of
     * whichever connection commits past 1000 WAL pages. */
    if ((rc = sqlite_exec(db, "PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0", err)) != 0) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

sqlite3 *sqlite_reader_take(sqlite_store *s, char *err)
{
    sqlite3 *db = NULL;
    pthread_mutex_lock(&s->readers_lock);
    if (s->nidle > 0) {
        db = s->idle[--s->nidle];
    }
    pthread_mutex_unlock(&s->readers_lock);
    if (db == NULL && sqlite_open_conn(s, SQLITE_OPEN_READWRITE, &db, err) != 0) {
        return NULL;
    }
    return db;
}

void sqlite_reader_give_back(sqlite_store *s, sqlite3 *db)
{
    pthread_mutex_lock(&s->readers_lock);
    if (s->nidle < READERS_MAX) {
        s->idle[s->nidle++] = db;
        db = NULL;
    }
    pthread_mutex_unlock(&s->readers_lock);
    sqlite3_close(db); /* beyond the pool's size: let it go */
}

int sqlite_read_row(sqlite_store *s, const char *sql, int64_t param, sqlite_row_fn read, void *ctx,
                    const char *what, char *err)
{
    sqlite3 *db = sqlite_reader_take(s, err);
    if (db == NULL) {
        return TT_EUNAVAILABLE;
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && sqlite3_bind_parameter_count(st) > 0) {
        sqlite3_bind_int64(st, 1, param);
    }
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        read(st, ctx);
        rc = SQLITE_OK;
    }
    int result = rc == SQLITE_OK ? 0 : sqlite_fail(db, rc, what, err);
    sqlite3_finalize(st);
    sqlite_reader_give_back(s, db);
    return result;
}
