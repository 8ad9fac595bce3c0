/* tmp_store.h -- a SQLite store in a fresh temporary directory, for the unit tests that run on a
 * real one (store, rest): the directory made and removed with all it holds, a look behind the
 * interface on a connection of its own, and the calls a test makes the same way every time.
 * Each fails the running cmocka test when the store does not answer as asked. */
#ifndef TT_TMP_STORE_H
#define TT_TMP_STORE_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tmp_store {
    char dir[64];
    char path[128]; /* the database file */
    char url[160];  /* "sqlite:" + path */
    store *st;      /* NULL until opened */
} tmp_store;

/* Makes the directory /tmp/<name>-XXXXXX and, with 'open', opens the store in it. Returns 0, or
 * -1 (why on stderr) with nothing left to remove: for a cmocka setup. */
int tmp_store_make(tmp_store *t, const char *name, bool open);
/* Closes the store (if open) and removes the directory with every file in it. */
void tmp_store_remove(tmp_store *t);

/* A cmocka setup for a fixture of 'size' bytes whose first member is a tmp_store: the fixture
 * zeroed, the store made and opened in /tmp/<name>-XXXXXX, *state set. 0, or -1 with nothing
 * left behind. */
int tmp_store_setup(void **state, size_t size, const char *name);
/* Its teardown: the store removed, the fixture freed. */
int tmp_store_teardown(void **state);

/* Runs 'sql' on a separate read-write connection (the store open or not). */
void tmp_store_exec(const tmp_store *t, const char *sql);
/* Closes the store and opens it again: what a restart of the daemon does to it. */
void tmp_store_reopen(tmp_store *t);
/* One integer from an SQL query on a separate read-only connection. */
int64_t tmp_store_int(const tmp_store *t, const char *sql);
/* Inserts 'n' events in one commit; anything but success fails the test. */
void tmp_store_insert(store *st, tt_event *const *events, size_t n);
/* One call of the persister's settle hook (store_index_sessions); returns its 'more'. */
bool tmp_store_index_slice(store *st, uint64_t now_ms, bool idle);

#endif
