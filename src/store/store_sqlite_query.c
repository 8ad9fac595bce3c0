/* store_sqlite_query.c -- the embedded store's events query (GET /api/v1/events, a session's
 * timeline, /ws resume), shaped so that SQLite's plan is index-backed (issue 13; tested by
 * tests/integration/query-plans.test.mjs).
 *
 * Every secondary index of monitoring_events is one column (migrations/sqlite/0006): SQLite
 * appends the rowid (seq) to each entry, so "column = ?" comes out in seq order and
 * "ORDER BY seq LIMIT n" stops after n rows, without a sort. "column IN (a, b)" cannot come
 * out in seq order from one index: SQLite either sorts every matching row or walks the whole
 * table by seq. So when no text filter has a single value and one has several, the query is a
 * UNION ALL of one arm per value of that column, each reading its index in seq order; SQLite
 * merges the arms (MERGE (UNION ALL)) and stops at the limit: at most 'limit' rows read per
 * value. Values are bound, never pasted.
 *
 * The session is the exception (migrations/sqlite/0007): its index is the table
 * monitoring_events_by_session, written by the persister in sorted batches up to the
 * watermark session_index_through.seq, not with each commit. A filter on session_id always
 * makes arms, two per session: the indexed part (the entries of (session_id, seq) at or below
 * the watermark, in seq order, joined to the events by seq; a batch is written in slices, so
 * entries above it may exist and are not read) and the tail (the events above the watermark, read
 * by seq range -- NOT INDEXED, since the tail is short and SQLite cannot know it -- and filtered by
 * session). One statement reads both, so one snapshot: the watermark and the entries it covers move
 * in one transaction, and no event is read twice or missed. */
#include "store/sqlite_internal.h"

#include <stdio.h>
#include <string.h>

#define EVENT_COLUMNS                                                                              \
    "seq, id, ts, received_at, type, source, session_id, name, status, duration_ms, bytes, "       \
    "value, error, attrs"
/* The same, read through the session index (b) joined to the events (e). */
#define INDEXED_COLUMNS                                                                            \
    "b.seq AS seq, e.id, e.ts, e.received_at, e.type, e.source, e.session_id, e.name, e.status, "  \
    "e.duration_ms, e.bytes, e.value, e.error, e.attrs"

/* How one SELECT reads the events. */
typedef enum select_form {
    FROM_EVENTS,        /* the table, by whichever index the planner picks */
    FROM_SESSION_INDEX, /* a session's entries up to the watermark, then their events */
    FROM_SESSION_TAIL,  /* the events above the watermark */
} select_form;

/* Which multi-valued column becomes the arms: the one with the fewest rows per value first. */
static const event_filter_column by_selectivity[EVENT_FILTER_COLUMNS] = {
    EVENT_FILTER_SESSION_ID, EVENT_FILTER_NAME, EVENT_FILTER_SOURCE, EVENT_FILTER_TYPE,
    EVENT_FILTER_STATUS};

/* The column of the arms, or -1 for one plain SELECT (no text filter, or one with a single
 * value, whose index the planner reads). Values repeated count once. A session filter makes
 * arms even with one value: its index is not one the planner knows (above). */
static int arms_column(const event_filter *f, const char *values[EVENT_FILTER_ANY_MAX + 1],
                       int *nvalues)
{
    int chosen = -1;
    for (int k = 0; k < EVENT_FILTER_COLUMNS; k++) {
        const char *v[EVENT_FILTER_ANY_MAX + 1];
        event_filter_column c = by_selectivity[k];
        int n = event_filter_values(f, c, v), distinct = 0;
        for (int i = 0; i < n; i++) {
            bool seen = false;
            for (int j = 0; j < distinct && !seen; j++) {
                seen = strcmp(v[j], v[i]) == 0;
            }
            if (!seen) {
                v[distinct++] = v[i];
            }
        }
        if (distinct >= 1 && c == EVENT_FILTER_SESSION_ID) {
            *nvalues = distinct;
            memcpy(values, v, (size_t)distinct * sizeof *v);
            return (int)c;
        }
        if (distinct == 1) {
            return -1;
        }
        if (distinct > 1 && chosen < 0) {
            chosen = (int)c;
            *nvalues = distinct;
            memcpy(values, v, (size_t)distinct * sizeof *v);
        }
    }
    return chosen;
}

static void put(sqlite_query *q, const char *text)
{
    size_t n = strlen(text);
    if (q->len + n + 1 > sizeof q->sql) {
        q->overflow = true;
        return;
    }
    memcpy(q->sql + q->len, text, n + 1);
    q->len += n;
}

static void bind_int(sqlite_query *q, int64_t v)
{
    if (q->nbinds < SQLITE_QUERY_BINDS) {
        q->binds[q->nbinds++] = (sqlite_bind){.i = v};
    } else {
        q->overflow = true;
    }
}

static void bind_text(sqlite_query *q, const char *s)
{
    if (q->nbinds < SQLITE_QUERY_BINDS) {
        q->binds[q->nbinds++] = (sqlite_bind){.s = s};
    } else {
        q->overflow = true;
    }
}

/* One SELECT of the events with every filter; 'skip' is the column whose condition the caller
 * writes (an arm's "column = ?"), -1 for none. */
static void put_select(sqlite_query *q, const event_filter *f, int skip, select_form form)
{
    if (form == FROM_SESSION_INDEX) {
        /* CROSS JOIN: the entries drive, in (session_id, seq) order, so seq order. Entries above
         * the watermark (a batch being written in slices) are the tail's, read below. */
        put(q, "SELECT " INDEXED_COLUMNS " FROM monitoring_events_by_session AS b "
               "CROSS JOIN monitoring_events AS e ON e.seq = b.seq "
               "WHERE b.seq <= " SESSION_INDEX_WATERMARK);
    } else if (form == FROM_SESSION_TAIL) {
        put(q, "SELECT " EVENT_COLUMNS " " SESSION_INDEX_TAIL);
    } else {
        put(q, "SELECT " EVENT_COLUMNS " FROM monitoring_events WHERE 1=1");
    }
    if (f->has_after) {
        put(q, form == FROM_SESSION_INDEX ? " AND b.seq > ?" : " AND seq > ?");
        bind_int(q, f->after_seq);
    }
    if (f->has_since) {
        put(q, " AND ts >= ?");
        bind_int(q, f->since_ms);
    }
    if (f->has_until) {
        put(q, " AND ts < ?");
        bind_int(q, f->until_ms);
    }
    for (int c = 0; c < EVENT_FILTER_COLUMNS; c++) {
        const char *values[EVENT_FILTER_ANY_MAX + 1];
        int n = c == skip ? 0 : event_filter_values(f, (event_filter_column)c, values);
        for (int i = 0; i < n; i++) {
            put(q, i == 0 ? " AND " : ", ");
            if (i == 0) {
                put(q, event_filter_column_name((event_filter_column)c));
                put(q, " IN (");
            }
            put(q, "?");
            bind_text(q, values[i]);
        }
        if (n > 0) {
            put(q, ")");
        }
    }
}

void sqlite_build_query(const event_filter *f, sqlite_query *q)
{
    q->len = 0;
    q->sql[0] = '\0';
    q->nbinds = 0;
    q->overflow = false;
    const char *values[EVENT_FILTER_ANY_MAX + 1];
    int n = 0;
    int column = arms_column(f, values, &n);
    if (column < 0) {
        put_select(q, f, -1, FROM_EVENTS);
    }
    bool session = column == EVENT_FILTER_SESSION_ID;
    for (int i = 0; column >= 0 && i < n; i++) {
        put(q, i > 0 ? " UNION ALL " : "");
        put_select(q, f, column, session ? FROM_SESSION_INDEX : FROM_EVENTS);
        put(q, session ? " AND b." : " AND ");
        put(q, event_filter_column_name((event_filter_column)column));
        put(q, " = ?");
        bind_text(q, values[i]);
        if (session) {
            put(q, " UNION ALL ");
            put_select(q, f, column, FROM_SESSION_TAIL);
            put(q, " AND session_id = ?");
            bind_text(q, values[i]);
        }
    }
    put(q, f->has_after ? " ORDER BY seq ASC LIMIT ?" : " ORDER BY seq DESC LIMIT ?");
    bind_int(q, f->limit);
}

void sqlite_bind_query(sqlite3_stmt *st, const sqlite_query *q)
{
    for (int i = 0; i < q->nbinds; i++) {
        if (q->binds[i].s != NULL) {
            sqlite3_bind_text(st, i + 1, q->binds[i].s, -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_int64(st, i + 1, q->binds[i].i);
        }
    }
}
