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
 * value. Values are bound, never pasted. */
#include "store/sqlite_internal.h"

#include <stdio.h>
#include <string.h>

#define EVENT_COLUMNS                                                                              \
    "seq, id, ts, received_at, type, source, session_id, name, status, duration_ms, bytes, "       \
    "value, error, attrs"

/* Which multi-valued column becomes the arms: the one with the fewest rows per value first. */
static const event_filter_column by_selectivity[EVENT_FILTER_COLUMNS] = {
    EVENT_FILTER_SESSION_ID, EVENT_FILTER_NAME, EVENT_FILTER_SOURCE, EVENT_FILTER_TYPE,
    EVENT_FILTER_STATUS};

/* The column of the arms, or -1 for one plain SELECT (no text filter, or one with a single
 * value, whose index the planner reads). Values repeated count once. */
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
 * wrote (an arm's "column = ?"), -1 for none. */
static void put_select(sqlite_query *q, const event_filter *f, int skip)
{
    put(q, "SELECT " EVENT_COLUMNS " FROM monitoring_events WHERE 1=1");
    if (f->has_after) {
        put(q, " AND seq > ?");
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
        put_select(q, f, -1);
    }
    for (int i = 0; column >= 0 && i < n; i++) {
        put(q, i > 0 ? " UNION ALL " : "");
        put_select(q, f, column);
        put(q, " AND ");
        put(q, event_filter_column_name((event_filter_column)column));
        put(q, " = ?");
        bind_text(q, values[i]);
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
