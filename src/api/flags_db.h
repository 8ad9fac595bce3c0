/* flags_db.h -- feature flags and dashboard state in the store (tables feature_flags and
 * dashboard_state, DESIGN §3), through the store's generic statements (store_select,
 * store_change) in either dialect. Blocking: call on libuv's thread pool. Any thread. */
#ifndef TT_FLAGS_DB_H
#define TT_FLAGS_DB_H

#include "core/flag.h"
#include "store/store.h"

#define FLAGS_MAX 1000 /* flags a store holds at most: a PUT of one more is refused */
#define DB_IF_ABSENT (-1) /* an if_match of the writes below: only where no row exists yet */

typedef struct flag_row {
    char key[FLAG_KEY_MAX + 1];
    bool enabled;
    char *variant; /* NULL: boolean */
    int rollout_percent;
    char *description;
    char *rules; /* JSON array text, or NULL */
    int64_t version;
    int64_t updated_ms;
} flag_row;

typedef struct flag_rows {
    flag_row *rows; /* by key */
    size_t n;
} flag_rows;

void flag_rows_free(flag_rows *fr); /* frees what it holds; the struct itself is the caller's */

/* Every flag, by key (at most FLAGS_MAX). */
int flags_db_list(store *st, flag_rows *out, char err[TT_ERRLEN]);
/* One flag: out->n is 0 when there is none. */
int flags_db_get(store *st, const char *key, flag_rows *out, char err[TT_ERRLEN]);

/* Writes flag 'key' from 'in' (the rules as compact JSON text, or NULL). With if_match >= 1,
 * only the flag at that version is changed; DB_IF_ABSENT only creates; 0 means no
 * precondition (created or replaced). On success out->n is 1 (the row as stored, version
 * raised by one, or 1 when created); it is 0 when the precondition failed or FLAGS_MAX flags
 * exist already (*full then true; with DB_IF_ABSENT either may be why, *full false: read). */
int flags_db_put(store *st, const char *key, const flag_input *in, const char *rules,
                 int64_t if_match, int64_t now_ms, flag_rows *out, bool *full, char err[TT_ERRLEN]);

/* Deletes flag 'key' (at version if_match when >= 1). *deleted says whether it did. */
int flags_db_delete(store *st, const char *key, int64_t if_match, bool *deleted,
                    char err[TT_ERRLEN]);

/* ---- dashboard state ---- */

typedef struct state_row {
    char *key;
    char *value; /* JSON text */
    int64_t version;
    int64_t updated_ms;
} state_row;

typedef struct state_rows {
    state_row *rows; /* by key */
    size_t n;
} state_rows;

void state_rows_free(state_rows *sr);

typedef struct state_limits {
    uint64_t max_client_bytes; /* all of one client's values' JSON text */
    uint32_t max_keys;
} state_limits;

/* The client's keys (key NULL) or one key. */
int state_db_get(store *st, const char *client_id, const char *key, state_rows *out,
                 char err[TT_ERRLEN]);

/* Sets client_id/key to 'value' (JSON text). With if_match >= 1 only that version is
 * replaced; with DB_IF_ABSENT it is only created. out->n is 1 with the stored row, or 0 when the version did not match or a limit
 * would be passed (the caller reads the row to tell which). */
int state_db_put(store *st, const char *client_id, const char *key, const char *value,
                 int64_t if_match, const state_limits *lim, int64_t now_ms, state_rows *out,
                 char err[TT_ERRLEN]);

/* Deletes one key (key NULL: all of the client's keys; at version if_match when >= 1 and a key
 * is given). *deleted counts the rows. */
int state_db_delete(store *st, const char *client_id, const char *key, int64_t if_match,
                    uint64_t *deleted, char err[TT_ERRLEN]);

/* Deletes the state of every client none of whose keys changed since 'before_ms'. */
int state_db_expire(store *st, int64_t before_ms, uint64_t *deleted, char err[TT_ERRLEN]);

#endif
