/* sqlite_stage.h -- a batch of the session index's entries staged in memory, by session
 * (store_sqlite_index.c). Writer thread only. */
#ifndef TT_SQLITE_STAGE_H
#define TT_SQLITE_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One session's entries, its seqs in the order staged (ascending). */
typedef struct staged_session {
    char *id;
    int64_t *seqs;
    size_t n, cap;
} staged_session;

/* The sessions in the order first staged, and a hash of their ids to find them. */
typedef struct sqlite_stage {
    staged_session *s;
    size_t n, cap;
    uint32_t *slots; /* index + 1 into s; 0: empty */
    size_t nslots;   /* a power of 2, more than twice n */
    int64_t entries;
} sqlite_stage;

/* Adds (id, seq); returns false when out of memory (what was staged before stays). */
bool sqlite_stage_add(sqlite_stage *g, const char *id, int64_t seq);
/* Frees what 'g' holds and leaves it empty. */
void sqlite_stage_clear(sqlite_stage *g);

#endif
