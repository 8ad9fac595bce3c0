/* spool.c -- the spool as an SQLite store of its own, with a quota and a lock file. It is read
 * in seq order only, so it keeps none of the indexes behind the API's filters. */
#include "pipeline/spool.h"

#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct spool {
    store *st;
    int lock_fd;
    pthread_mutex_t lock; /* the store has one writer connection: appender and shipper share it */
    spool_stats stats;    /* under 'lock' */
};

static int make_dir(const char *dir, char *err)
{
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        return tt_fail(err, -errno, "cannot create the spool directory '%s': %s", dir,
                       strerror(errno));
    }
    return 0;
}

/* An advisory lock held for the daemon's life: a second daemon on the same spool would ship
 * the same events twice and race the first on releases. */
static int lock_dir(const char *dir, int *fd_out, char *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/spool.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        return tt_fail(err, -errno, "cannot open '%s': %s", path, strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return tt_fail(err, TT_EIO, "the spool in '%s' is in use by another telltale", dir);
    }
    *fd_out = fd;
    return 0;
}

int spool_open(const char *dir, uint64_t max_bytes, spool **out, char err[TT_ERRLEN])
{
    spool *sp = calloc(1, sizeof *sp);
    if (sp == NULL) {
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    sp->lock_fd = -1;
    pthread_mutex_init(&sp->lock, NULL);
    char path[4200];
    snprintf(path, sizeof path, "%s/spool.db", dir);
    store_backlog backlog = {0};
    int rc = make_dir(dir, err);
    if (rc == 0 && (rc = lock_dir(dir, &sp->lock_fd, err)) == 0 &&
        (rc = store_open_spool(path, &sp->st, err)) == 0) {
        rc = store_count(sp->st, &backlog, err);
    }
    if (rc != 0) {
        spool_close(sp);
        return rc;
    }
    sp->stats = (spool_stats){.events = backlog.events,
                              .bytes = backlog.bytes,
                              .oldest_received_ms = backlog.oldest_received_ms,
                              .max_bytes = max_bytes};
    *out = sp;
    return 0;
}

void spool_close(spool *sp)
{
    if (sp == NULL) {
        return;
    }
    store_close(sp->st);
    if (sp->lock_fd >= 0) {
        close(sp->lock_fd); /* releases the flock */
    }
    pthread_mutex_destroy(&sp->lock);
    free(sp);
}

static uint64_t bytes_of(tt_event *const *events, size_t n)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        bytes += store_event_bytes(events[i]);
    }
    return bytes;
}

int spool_append(spool *sp, tt_event *const *events, size_t n, char err[TT_ERRLEN])
{
    uint64_t bytes = bytes_of(events, n);
    pthread_mutex_lock(&sp->lock);
    int rc = 0;
    if (sp->stats.bytes + bytes > sp->stats.max_bytes) {
        rc = tt_fail(err, TT_EFULL, "the spool is full (%llu of %llu bytes)",
                     (unsigned long long)sp->stats.bytes, (unsigned long long)sp->stats.max_bytes);
    } else if ((rc = store_insert_events(sp->st, events, n, err)) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (events[i]->seq == 0) {
                continue; /* already waiting in the spool: stored once, counted once */
            }
            sp->stats.events++;
            sp->stats.bytes += store_event_bytes(events[i]);
            sp->stats.appended++;
            if (sp->stats.oldest_received_ms == 0) {
                sp->stats.oldest_received_ms = events[i]->received_ms;
            }
        }
    }
    pthread_mutex_unlock(&sp->lock);
    return rc;
}

typedef struct peek {
    event_batch *out;
    uint64_t max_bytes;
} peek;

/* Takes one row; stops the scan (nonzero) once the batch holds max_bytes. */
static int collect(const tt_event *ev, void *ctx)
{
    peek *pk = ctx;
    event_batch *b = pk->out;
    tt_event *copy = event_clone(ev);
    if (copy == NULL) {
        return TT_ENOMEM;
    }
    b->events[b->count++] = copy;
    b->bytes += copy->size;
    return b->bytes >= pk->max_bytes;
}

int spool_peek(spool *sp, int64_t after, uint32_t max, uint64_t max_bytes, event_batch *out,
               char err[TT_ERRLEN])
{
    *out = (event_batch){0};
    if ((out->events = malloc(max * sizeof *out->events)) == NULL) {
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    event_filter f = {.has_after = true, .after_seq = after, .limit = max};
    peek pk = {.out = out, .max_bytes = max_bytes};
    int rc = store_query_events(sp->st, &f, collect, &pk, err);
    if (rc != 0) {
        event_batch_free(out);
    }
    return rc;
}

static int take_oldest(const tt_event *ev, void *ctx)
{
    *(int64_t *)ctx = ev->received_ms;
    return 0;
}

uint64_t spool_bytes(const event_batch *b)
{
    return bytes_of(b->events, b->count);
}

int spool_release(spool *sp, int64_t through, uint64_t bytes, char err[TT_ERRLEN])
{
    uint64_t deleted = 0;
    int64_t oldest = 0;
    event_filter next = {.has_after = true, .after_seq = through, .limit = 1};
    pthread_mutex_lock(&sp->lock);
    int rc = store_delete_through(sp->st, through, &deleted, err);
    if (rc == 0) {
        rc = store_query_events(sp->st, &next, take_oldest, &oldest, err);
    }
    if (rc == 0) {
        sp->stats.released += deleted;
        sp->stats.events -= deleted <= sp->stats.events ? deleted : sp->stats.events;
        sp->stats.bytes -= bytes <= sp->stats.bytes ? bytes : sp->stats.bytes;
        sp->stats.oldest_received_ms = oldest;
    }
    pthread_mutex_unlock(&sp->lock);
    return rc;
}

void spool_get_stats(spool *sp, spool_stats *out)
{
    pthread_mutex_lock(&sp->lock);
    *out = sp->stats;
    pthread_mutex_unlock(&sp->lock);
}
