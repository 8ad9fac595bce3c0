/* tmp_store.c -- a SQLite store in a fresh temporary directory, for unit tests (tmp_store.h). */
#include "tmp_store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int tmp_store_make(tmp_store *t, const char *name, bool open)
{
    *t = (tmp_store){0};
    snprintf(t->dir, sizeof t->dir, "/tmp/%s-XXXXXX", name);
    if (mkdtemp(t->dir) == NULL) {
        return -1;
    }
    snprintf(t->path, sizeof t->path, "%s/events.db", t->dir);
    snprintf(t->url, sizeof t->url, "sqlite:%s", t->path);
    char err[TT_ERRLEN];
    if (open && store_open(t->url, &t->st, err) != 0) {
        fprintf(stderr, "store_open: %s\n", err);
        tmp_store_remove(t);
        return -1;
    }
    return 0;
}

void tmp_store_remove(tmp_store *t)
{
    store_close(t->st);
    t->st = NULL;
    DIR *d = opendir(t->dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                char p[512];
                snprintf(p, sizeof p, "%s/%s", t->dir, e->d_name);
                unlink(p);
            }
        }
        closedir(d);
    }
    rmdir(t->dir);
}

int64_t tmp_store_int(const tmp_store *t, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(t->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

void tmp_store_insert(store *st, tt_event *const *events, size_t n)
{
    char err[TT_ERRLEN] = "";
    int rc = store_insert_events(st, events, n, err);
    if (rc != 0) {
        fail_msg("insert: %d %s", rc, err);
    }
}

bool tmp_store_index_slice(store *st, uint64_t now_ms, bool idle)
{
    char err[TT_ERRLEN];
    bool more = true;
    assert_int_equal(store_index_sessions(st, now_ms, idle, &more, err), 0);
    return more;
}

int tmp_store_setup(void **state, size_t size, const char *name)
{
    tmp_store *t = calloc(1, size);
    if (t == NULL || tmp_store_make(t, name, true) != 0) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

int tmp_store_teardown(void **state)
{
    tmp_store_remove(*state);
    free(*state);
    return 0;
}

void tmp_store_exec(const tmp_store *t, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    assert_int_equal(sqlite3_open(t->path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fail_msg("%s: %s", sql, msg);
    }
    sqlite3_close(db);
}

void tmp_store_reopen(tmp_store *t)
{
    char err[TT_ERRLEN] = "";
    store_close(t->st);
    t->st = NULL;
    if (store_open(t->url, &t->st, err) != 0) {
        fail_msg("store_open: %s", err);
    }
}
