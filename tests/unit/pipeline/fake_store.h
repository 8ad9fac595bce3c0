/* fake_store.h -- a store_ops engine for the pipeline's unit tests: events and dead letters in
 * memory, failures on demand, and a record of every call, so a test can say exactly what
 * reached the store and in which order.
 *
 * What it models of a real store: an insert is one transaction (all events or none), an id
 * already stored is skipped with seq 0 (DESIGN §4.2), seqs grow by one per new row. What it
 * lets a test arrange: refuse the data (TT_EREJECTED) of every event whose name starts with
 * "poison", as long as poison is refused; fail calls transiently (TT_EUNAVAILABLE); or commit
 * and still report TT_EUNAVAILABLE (the answer lost on the way back, as a remote store may).
 *
 * Threads: every function may be called from any thread; the store's calls and the test's
 * look at one lock. fake_store_wait_* wait on a condition variable, signalled on every call. */
#ifndef TT_FAKE_STORE_H
#define TT_FAKE_STORE_H

#include "fake_clock.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fake_store fake_store;

#define FAKE_MAX_ROWS 512
#define FAKE_MAX_CALLS 512
#define FAKE_PAYLOAD_MAX 1024 /* a dead letter's payload, as kept and as copied out */

/* How insert_events answers. */
typedef enum fake_mode {
    FAKE_UP,       /* commits, refusing poison */
    FAKE_DOWN,     /* TT_EUNAVAILABLE, nothing stored */
    FAKE_LOST_ACK, /* commits, then answers TT_EUNAVAILABLE */
} fake_mode;

/* A new, empty, FAKE_UP store; the test owns it and frees it with store_close(). */
fake_store *fake_store_new(void);
store *fake_store_base(fake_store *fs); /* the same object, as the store.h interface sees it */

void fake_store_set_mode(fake_store *fs, fake_mode m);
/* Insert calls number first .. first + count - 1 (0-based, counting every call since the
 * store was made) fail with TT_EUNAVAILABLE, whatever the mode; UINT32_MAX: from then on. */
void fake_store_fail_calls(fake_store *fs, uint32_t first, uint32_t count);
/* The next 'n' insert calls fail with TT_EUNAVAILABLE. */
void fake_store_fail_next(fake_store *fs, uint32_t n);
/* Each insert call takes 'ms' of 'fc''s time (a slow store); NULL stops that. */
void fake_store_set_latency(fake_store *fs, fake_clock *fc, uint64_t ms);
/* Whether dlq_add fails (TT_EUNAVAILABLE) while the inserts work. */
void fake_store_fail_dlq(fake_store *fs, bool fail);
/* Whether events named "poison..." are refused (they are, from the start). */
void fake_store_refuse_poison(fake_store *fs, bool refuse);

/* The store's error for a refused call: "poison event <id>", the first poison id in the call. */
#define FAKE_REJECT_PREFIX "poison event "

/* ---- what happened (copied out under the lock) ---- */

uint32_t fake_store_insert_calls(fake_store *fs);
/* The number of events in insert call 'i' (0-based), and what it answered. */
size_t fake_store_call_size(fake_store *fs, uint32_t i);
int fake_store_call_rc(fake_store *fs, uint32_t i);

size_t fake_store_rows(fake_store *fs);
/* Row 'i' in commit order: its id into 'id' (EVENT_ID_MAX + 1 bytes); returns its seq. */
int64_t fake_store_row(fake_store *fs, size_t i, char *id);
/* How many rows carry 'id': 0 or 1 for a correct pipeline. */
size_t fake_store_rows_with_id(fake_store *fs, const char *id);

size_t fake_store_dlq_count(fake_store *fs);
/* Dead letter 'i' in the order added: copies its payload (FAKE_PAYLOAD_MAX bytes) and its
 * reason (TT_ERRLEN bytes). */
void fake_store_dlq_item(fake_store *fs, size_t i, char *payload, char *reason);
dlq_status fake_store_dlq_status(fake_store *fs, size_t i);

/* Waits until at least 'n' rows / insert calls; fails the test after a generous safety limit
 * (a hang guard, not a timing assertion). */
void fake_store_wait_rows(fake_store *fs, size_t n);
void fake_store_wait_calls(fake_store *fs, uint32_t n);

#endif
