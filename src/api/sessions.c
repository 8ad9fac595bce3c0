/* sessions.c -- GET /api/v1/sessions and GET /api/v1/sessions/{id}: the session tracker the
 * persister keeps as events commit (DESIGN §3, §5), never a scan of the events.
 *
 * The list, newest activity first: source, state (active | idle | ended), since / until (on
 * last_seen: RFC 3339 or epoch ms), limit (1..1000, default 100), cursor (the next_cursor of
 * the page before). Answer {"sessions":[session...],"next_cursor": string or null}.
 *
 * One session: {"session":{...},"timeline":[{"depth","parent","event"}...],"truncated"}: its
 * events (up to 'limit', 1..10000, default 1000, in commit order, then ordered by ts, seq)
 * listed depth-first: an event whose attrs.parent_span_id is the attrs.span_id of another event
 * of the session comes under it (depth one more, 'parent' its index in the timeline); any other
 * is at depth 0. Siblings keep time order. 404 not_found for an unknown session.
 *
 * A session: {"session_id","source","first_seen","last_seen","events","errors","tool_calls",
 * "p95_ms" (null without durations),"state","started_at","ended_at"} (times RFC 3339 or null);
 * state as session_state_of() (core/rollup.h), idle after TELLTALE_SESSION_IDLE. */
#include "api/api.h"

#include "api/api_call.h"
#include "api/sessions.h"
#include "api/sql_text.h"
#include "core/loghist.h"
#include "core/rollup.h"
#include "core/timefmt.h"
#include "os/clock.h"
#include "os/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX 1000
#define SESSION_COLUMNS 11

static const store_type session_types[SESSION_COLUMNS] = {
    STORE_TEXT, STORE_TEXT, STORE_INT,  STORE_INT, STORE_INT, STORE_INT,
    STORE_INT,  STORE_INT,  STORE_TEXT, STORE_INT, STORE_INT};

void sessions_select_columns(sql_text *s)
{
    sql_add(s, "SELECT session_id, source, ");
    sql_time_ms(s, "first_seen");
    sql_add(s, ", ");
    sql_time_ms(s, "last_seen");
    sql_add(s, ", events, errors, tool_calls, duration_count, latency, ");
    sql_time_ms(s, "started_at");
    sql_add(s, ", ");
    sql_time_ms(s, "ended_at");
    sql_add(s, " FROM ");
    sql_table(s, "sessions");
}

const store_type *sessions_column_types(int *n)
{
    *n = SESSION_COLUMNS;
    return session_types;
}

static void member_time(json_writer *w, const char *name, const store_value *v)
{
    char t[TIMEFMT_LEN];
    json_key(w, name);
    if (v->is_null) {
        json_null(w);
    } else {
        timefmt_format(v->i, t);
        json_string(w, t);
    }
}

void sessions_write(json_writer *w, const store_value *c, int64_t now_ms, int64_t idle_ms)
{
    json_open_object(w);
    json_member_string(w, "session_id", c[0].s);
    json_member_string(w, "source", c[1].is_null ? NULL : c[1].s);
    member_time(w, "first_seen", &c[2]);
    member_time(w, "last_seen", &c[3]);
    json_member_int64(w, "events", c[4].i);
    json_member_int64(w, "errors", c[5].i);
    json_member_int64(w, "tool_calls", c[6].i);
    loghist h = {0};
    json_key(w, "p95_ms");
    if (c[7].i > 0 && loghist_read(&h, c[8].s != NULL ? c[8].s : "{}")) {
        json_number(w, loghist_quantile(&h, 0.95));
    } else {
        json_null(w);
    }
    loghist_free(&h);
    session_state st =
        session_state_of(c[9].is_null ? SESSION_NO_TIME : c[9].i,
                         c[10].is_null ? SESSION_NO_TIME : c[10].i, c[3].i, now_ms, idle_ms);
    json_member_string(w, "state", session_state_name(st));
    member_time(w, "started_at", &c[9]);
    member_time(w, "ended_at", &c[10]);
    json_close_object(w);
}

/* ---- the list ---- */

typedef struct list_query {
    store *st;
    int64_t now_ms, idle_ms;
    char source[EVENT_SOURCE_MAX + 1];
    bool has_state, has_since, has_until, has_cursor;
    session_state state;
    int64_t since, until;
    int64_t cursor_ms;
    char cursor_id[EVENT_SESSION_MAX + 1];
    uint32_t limit, rows;
    sql_text sql;
    json_writer answer;
    char next[EVENT_SESSION_MAX + 32];
    int rc;
    char err[TT_ERRLEN];
} list_query;

static bool parse_cursor(list_query *q, const char *v)
{
    const char *colon = strchr(v, ':');
    char ms[24];
    if (colon == NULL || colon == v || (size_t)(colon - v) >= sizeof ms || colon[1] == '\0' ||
        strlen(colon + 1) > EVENT_SESSION_MAX) {
        return false;
    }
    memcpy(ms, v, (size_t)(colon - v));
    ms[colon - v] = '\0';
    snprintf(q->cursor_id, sizeof q->cursor_id, "%s", colon + 1);
    return http_parse_int(ms, 0, INT64_MAX, &q->cursor_ms);
}

static bool parse_list(list_query *q, const http_req *r, char *msg, size_t len)
{
    const char *v; /* each parameter given once, not empty: the route's query (api.c) */
    int64_t limit = LIST_LIMIT_DEFAULT;
    if ((v = http_arg_value(r, "source")) != NULL) {
        if (v[0] == '\0' || strlen(v) > EVENT_SOURCE_MAX) {
            snprintf(msg, len, "parameter 'source' must be 1 to %d bytes", EVENT_SOURCE_MAX);
            return false;
        }
        snprintf(q->source, sizeof q->source, "%s", v);
    }
    if ((v = http_arg_value(r, "state")) != NULL &&
        !(q->has_state = session_state_parse(v, &q->state))) {
        snprintf(msg, len, "parameter 'state' must be active, idle or ended");
        return false;
    }
    q->has_since = http_arg_value(r, "since") != NULL;
    q->has_until = http_arg_value(r, "until") != NULL;
    if (!api_time_arg(r, "since", &q->since, msg, len) ||
        !api_time_arg(r, "until", &q->until, msg, len) ||
        !http_int_arg(r, "limit", 1, LIST_LIMIT_MAX, &limit, msg, len)) {
        return false;
    }
    if ((v = http_arg_value(r, "cursor")) != NULL && !(q->has_cursor = parse_cursor(q, v))) {
        snprintf(msg, len, "parameter 'cursor' must be a next_cursor this route gave");
        return false;
    }
    q->limit = (uint32_t)limit;
    return true;
}

#define ENDED "(ended_at IS NOT NULL AND (started_at IS NULL OR ended_at >= started_at))"

static void where_state(list_query *q)
{
    sql_text *s = &q->sql;
    if (q->state == SESSION_ENDED) {
        sql_add(s, " AND " ENDED);
        return;
    }
    sql_add(s, " AND NOT " ENDED " AND last_seen ");
    sql_add(s, q->state == SESSION_IDLE ? "< " : ">= ");
    sql_time(s, q->now_ms - q->idle_ms);
}

static void build_list(list_query *q)
{
    sql_text *s = &q->sql;
    sql_init(s, q->st);
    sessions_select_columns(s);
    sql_add(s, " WHERE 1 = 1");
    if (q->source[0] != '\0') {
        sql_add(s, " AND source = ");
        sql_str(s, q->source);
    }
    if (q->has_state) {
        where_state(q);
    }
    if (q->has_since) {
        sql_add(s, " AND last_seen >= ");
        sql_time(s, q->since);
    }
    if (q->has_until) {
        sql_add(s, " AND last_seen < ");
        sql_time(s, q->until);
    }
    if (q->has_cursor) {
        sql_add(s, " AND (last_seen < ");
        sql_time(s, q->cursor_ms);
        sql_add(s, " OR (last_seen = ");
        sql_time(s, q->cursor_ms);
        sql_add(s, " AND session_id < ");
        sql_str(s, q->cursor_id);
        sql_add(s, "))");
    }
    sql_add(s, " ORDER BY last_seen DESC, session_id DESC LIMIT ");
    sql_int(s, (int64_t)q->limit + 1);
}

static int list_row(const store_value *c, void *arg)
{
    list_query *q = arg;
    if (++q->rows > q->limit) {
        return 1; /* there is a next page; the cursor is the row before */
    }
    sessions_write(&q->answer, c, q->now_ms, q->idle_ms);
    snprintf(q->next, sizeof q->next, "%lld:%s", (long long)c[3].i, c[0].s);
    return q->answer.out.oom ? 1 : 0;
}

static void run_list(void *arg)
{
    list_query *q = arg;
    json_writer *w = &q->answer;
    build_list(q);
    json_open_object(w);
    json_key(w, "sessions");
    json_open_array(w);
    store_stmt stmt = sql_stmt(&q->sql);
    int64_t total;
    q->rc = q->sql.overflow ? tt_fail(q->err, TT_EINVAL, "query too long")
                            : store_select(q->st, &stmt, session_types, SESSION_COLUMNS, NULL,
                                           &total, list_row, q, q->err);
    json_close_array(w);
    json_key(w, "next_cursor");
    if (q->rows > q->limit) {
        json_string(w, q->next);
    } else {
        json_null(w);
    }
    json_close_object(w);
    if (q->rc == 0 && w->out.oom) {
        q->rc = tt_fail(q->err, TT_ENOMEM, "out of memory");
    }
}

static void list_done(http_req *r, void *arg)
{
    list_query *q = arg;
    if (r != NULL && q->rc == 0) {
        http_respond_written(r, 200, &q->answer);
    } else if (r != NULL) {
        log_warn("sessions query failed: %s", q->err);
        r->retry_after = 1;
        http_respond_error(r, 503, "store_unavailable",
                           "the query could not be run; retry shortly");
    }
    free(q->answer.out.buf);
    free(q);
}

void api_sessions_list(http_req *r, void *arg)
{
    api_ctx *ctx = arg;
    list_query *q = calloc(1, sizeof *q);
    char msg[TT_ERRLEN];
    if (q == NULL) {
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return;
    }
    if (!parse_list(q, r, msg, sizeof msg)) {
        free(q);
        http_respond_error(r, 400, "invalid_parameter", msg);
        return;
    }
    q->st = ctx->st;
    q->now_ms = (int64_t)clock_now_ms();
    q->idle_ms = (int64_t)ctx->cfg->session_idle_ms;
    if (http_defer(r, run_list, list_done, q) != 0) {
        free(q);
    }
}
