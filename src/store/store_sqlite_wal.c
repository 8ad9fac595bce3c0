/* store_sqlite_wal.c -- the embedded store's WAL checkpoint policy: checkpoints off the commit
 * path (https://sqlite.org/wal.html §"Checkpointing", sqlite3_wal_hook,
 * sqlite3_wal_checkpoint_v2).
 *
 * SQLite's default runs a checkpoint inside the COMMIT that takes the WAL past 1000 pages: the
 * writer copies the WAL into the database file and fsyncs it before the batch is acknowledged.
 * With many concurrent sessions a commit writes more than 1000 pages, so that was every commit
 * (BENCHMARKS.md, "SQLite physical design"). Here no connection checkpoints by itself
 * (wal_autocheckpoint=0, sqlite_conn.c); after each of the writer's commits its WAL hook looks
 * at the WAL's size in pages:
 *   - at WAL_CHECKPOINT_PAGES or more it wakes the checkpointer thread, which runs a PASSIVE
 *     checkpoint on its own connection while the writer goes on committing;
 *   - at WAL_HARD_PAGES or more (the checkpointer fell behind, or a reader holds old frames) the
 *     writer runs a PASSIVE checkpoint itself before its next batch: the bound on the WAL's size,
 *     paid by ingest as backpressure.
 * When a checkpoint has copied every frame and no reader still needs them, the next write starts
 * the WAL over from its beginning; journal_size_limit then truncates the file to
 * WAL_KEEP_BYTES. Durability is unchanged: a commit is acknowledged once its WAL frames are
 * fsynced (synchronous=FULL); a checkpoint only moves committed pages. */
#include "store/sqlite_internal.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define WAL_CHECKPOINT_PAGES 4096 /* 16 MiB of 4 KiB pages: wake the checkpointer */
#define WAL_HARD_PAGES 65536      /* 256 MiB: the writer checkpoints itself */
#define WAL_KEEP_BYTES "67108864" /* the WAL file is cut back to 64 MiB once restarted */

struct sqlite_wal {
    sqlite3 *db; /* the checkpointer's own connection */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool due, stop;
};

static void *checkpointer(void *arg)
{
    sqlite_wal *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->due && !w->stop) {
            pthread_cond_wait(&w->wake, &w->lock);
        }
        if (w->stop) {
            break;
        }
        w->due = false;
        pthread_mutex_unlock(&w->lock);
        /* A failure (SQLITE_BUSY while another checkpoint runs) leaves the frames for the
         * next one; the hard limit bounds the WAL whatever happens here. */
        sqlite3_wal_checkpoint_v2(w->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* The writer's WAL hook: runs on the writer's thread after each of its commits, with the WAL's
 * size in frames (pages). */
static int wal_hook(void *arg, sqlite3 *db, const char *schema, int pages)
{
    sqlite_wal *w = arg;
    if (pages >= WAL_HARD_PAGES) {
        sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    } else if (pages >= WAL_CHECKPOINT_PAGES) {
        pthread_mutex_lock(&w->lock);
        w->due = true;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
    }
    return SQLITE_OK;
}

int sqlite_wal_start(sqlite_store *s, char *err)
{
    sqlite_wal *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    int rc = sqlite_exec(s->writer, "PRAGMA journal_size_limit=" WAL_KEEP_BYTES, err);
    if (rc == 0) {
        rc = sqlite_open_conn(s, SQLITE_OPEN_READWRITE, &w->db, err);
    }
    if (rc != 0) {
        free(w);
        return rc;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (pthread_create(&w->thread, NULL, checkpointer, w) != 0) {
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        sqlite3_close(w->db);
        free(w);
        return tt_fail(err, TT_ENOMEM, "cannot start the checkpoint thread");
    }
    s->wal = w;
    sqlite3_wal_hook(s->writer, wal_hook, w);
    return 0;
}

void sqlite_wal_stop(sqlite_store *s)
{
    sqlite_wal *w = s->wal;
    if (w == NULL) {
        return;
    }
    sqlite3_wal_hook(s->writer, NULL, NULL);
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    sqlite3_close(w->db);
    free(w);
    s->wal = NULL;
}
