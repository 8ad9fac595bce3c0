/* session_timeline.c -- GET /api/v1/sessions/{id}: the session's row and its events as a
 * timeline nested by attrs.span_id / attrs.parent_span_id (the shape is in sessions.c). */
#include "api/api.h"

#include "api/api_call.h"
#include "api/sessions.h"
#include "core/event_json.h"
#include "os/clock.h"
#include "os/log.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMELINE_LIMIT_DEFAULT 1000
#define TIMELINE_LIMIT_MAX 10000
#define TIMELINE_BYTES_MAX (16u << 20) /* events held for one answer, at most */

typedef struct node {
    tt_event *ev;
    char *span_id, *parent_span_id; /* from attrs, or NULL */
    int parent, first_child, next_sibling, child_iter, depth, out;
} node;

typedef struct timeline_query {
    store *st;
    char id[EVENT_SESSION_MAX + 1];
    int64_t now_ms, idle_ms;
    uint32_t limit;
    bool found, truncated;
    size_t bytes;
    node *nodes;
    size_t n;
    sql_text sql;
    json_writer answer;
    int rc;
    char err[TT_ERRLEN];
} timeline_query;

/* {id}: the HTTP layer has percent-decoded the path already (so an id holding "/" cannot be
 * named in it); false if it is too long for a session id. */
static bool take_id(const char *param, char *out, size_t cap)
{
    size_t n = strlen(param);
    if (n == 0 || n >= cap) {
        return false;
    }
    memcpy(out, param, n + 1);
    return true;
}

static int session_row(const store_value *c, void *arg)
{
    timeline_query *q = arg;
    q->found = true;
    json_key(&q->answer, "session");
    sessions_write(&q->answer, c, q->now_ms, q->idle_ms);
    return 0;
}

static int take_event(const tt_event *ev, void *arg)
{
    timeline_query *q = arg;
    if (q->n == q->limit || q->bytes > TIMELINE_BYTES_MAX) {
        q->truncated = true;
        return 1;
    }
    tt_event *copy = event_clone(ev);
    if (copy == NULL) {
        return TT_ENOMEM;
    }
    q->nodes[q->n++] = (node){.ev = copy, .parent = -1, .first_child = -1, .next_sibling = -1};
    q->bytes += copy->size;
    return 0;
}

static int by_time(const void *a, const void *b)
{
    const tt_event *x = ((const node *)a)->ev, *y = ((const node *)b)->ev;
    if (x->ts_ms != y->ts_ms) {
        return x->ts_ms < y->ts_ms ? -1 : 1;
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static char *member_text(const cJSON *attrs, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(attrs, name);
    return cJSON_IsString(v) && v->valuestring[0] != '\0' ? strdup(v->valuestring) : NULL;
}

static void read_spans(timeline_query *q)
{
    for (size_t i = 0; i < q->n; i++) {
        node *nd = &q->nodes[i];
        cJSON *attrs = nd->ev->attrs != NULL ? cJSON_Parse(nd->ev->attrs) : NULL;
        nd->span_id = member_text(attrs, "span_id");
        nd->parent_span_id = member_text(attrs, "parent_span_id");
        cJSON_Delete(attrs);
    }
}

/* The events with a span_id, by span_id and then time: where a parent is looked up. */
typedef struct span_index {
    const node *nodes;
    int *order; /* indexes into nodes */
    size_t n;
} span_index;

/* qsort has no context argument: the array being sorted, per thread (the pool runs several
 * timelines at once). */
static _Thread_local const node *sort_nodes;

static int by_span(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    int c = strcmp(sort_nodes[x].span_id, sort_nodes[y].span_id);
    return c != 0 ? c : (x > y) - (x < y);
}

/* The earliest event whose span_id is 'span', or -1. */
static int find_span(const span_index *ix, const char *span)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(ix->nodes[ix->order[mid]].span_id, span) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < ix->n && strcmp(ix->nodes[ix->order[lo]].span_id, span) == 0 ? ix->order[lo] : -1;
}

/* Parents, with every cycle broken (the node that closes it becomes a root), then each
 * parent's children in time order. */
static bool link_spans(timeline_query *q)
{
    span_index ix = {.nodes = q->nodes, .order = malloc((q->n + 1) * sizeof(int))};
    if (ix.order == NULL) {
        return false;
    }
    for (size_t i = 0; i < q->n; i++) {
        if (q->nodes[i].span_id != NULL) {
            ix.order[ix.n++] = (int)i;
        }
    }
    sort_nodes = q->nodes;
    qsort(ix.order, ix.n, sizeof *ix.order, by_span);
    for (size_t i = 0; i < q->n; i++) {
        node *nd = &q->nodes[i];
        int p = nd->parent_span_id != NULL ? find_span(&ix, nd->parent_span_id) : -1;
        nd->parent = p == (int)i ? -1 : p;
    }
    free(ix.order);
    for (size_t i = 0; i < q->n; i++) {
        size_t steps = 0;
        for (int p = q->nodes[i].parent; p >= 0 && steps <= q->n; p = q->nodes[p].parent) {
            steps++;
        }
        if (steps > q->n) {
            q->nodes[i].parent = -1;
        }
    }
    for (size_t i = q->n; i-- > 0;) {
        int p = q->nodes[i].parent;
        if (p >= 0) {
            q->nodes[i].next_sibling = q->nodes[p].first_child;
            q->nodes[p].first_child = (int)i;
        }
    }
    return true;
}

static void emit(timeline_query *q, int i, int *out)
{
    node *nd = &q->nodes[i];
    json_writer *w = &q->answer;
    nd->out = (*out)++;
    nd->child_iter = nd->first_child;
    json_open_object(w);
    json_member_int64(w, "depth", nd->depth);
    json_key(w, "parent");
    if (nd->parent >= 0) {
        json_int64(w, q->nodes[nd->parent].out);
    } else {
        json_null(w);
    }
    json_key(w, "event");
    event_write_json(w, nd->ev, EVENT_JSON_STORED);
    json_close_object(w);
}

/* Depth first, without recursion: 'stack' holds the path from the root. */
static void write_timeline(timeline_query *q, int *stack)
{
    int out = 0;
    for (size_t r = 0; r < q->n; r++) {
        if (q->nodes[r].parent >= 0) {
            continue;
        }
        int sp = 0;
        q->nodes[r].depth = 0;
        emit(q, (int)r, &out);
        stack[sp++] = (int)r;
        while (sp > 0) {
            node *top = &q->nodes[stack[sp - 1]];
            int c = top->child_iter;
            if (c < 0) {
                sp--;
                continue;
            }
            top->child_iter = q->nodes[c].next_sibling;
            q->nodes[c].depth = top->depth + 1;
            emit(q, c, &out);
            stack[sp++] = c;
        }
    }
}

static int load(timeline_query *q)
{
    int n;
    const store_type *types = sessions_column_types(&n);
    sql_init(&q->sql, q->st);
    sessions_select_columns(&q->sql);
    sql_add(&q->sql, " WHERE session_id = ");
    sql_str(&q->sql, q->id);
    store_stmt stmt = sql_stmt(&q->sql);
    int64_t total;
    int rc = store_select(q->st, &stmt, types, n, NULL, &total, session_row, q, q->err);
    if (rc != 0 || !q->found) {
        return rc;
    }
    q->nodes = calloc(q->limit, sizeof *q->nodes);
    if (q->nodes == NULL) {
        return tt_fail(q->err, TT_ENOMEM, "out of memory");
    }
    event_filter f = {.has_after = true, .session_id = q->id, .limit = q->limit + 1};
    return store_query_events(q->st, &f, take_event, q, q->err);
}

static void run_timeline(void *arg)
{
    timeline_query *q = arg;
    json_writer *w = &q->answer;
    json_open_object(w);
    q->rc = load(q);
    if (q->rc != 0 || !q->found) {
        return;
    }
    qsort(q->nodes, q->n, sizeof *q->nodes, by_time);
    read_spans(q);
    int *stack = link_spans(q) ? malloc((q->n + 1) * sizeof *stack) : NULL;
    json_key(w, "timeline");
    json_open_array(w);
    if (stack != NULL) {
        write_timeline(q, stack);
    }
    free(stack);
    json_close_array(w);
    json_member_bool(w, "truncated", q->truncated);
    json_close_object(w);
    if (stack == NULL || w->out.oom) {
        q->rc = tt_fail(q->err, TT_ENOMEM, "out of memory");
    }
}

static void timeline_free(timeline_query *q)
{
    for (size_t i = 0; i < q->n; i++) {
        event_free(q->nodes[i].ev);
        free(q->nodes[i].span_id);
        free(q->nodes[i].parent_span_id);
    }
    free(q->nodes);
    free(q->answer.out.buf);
    free(q);
}

static void timeline_done(http_req *r, void *arg)
{
    timeline_query *q = arg;
    if (r != NULL && q->rc == 0 && !q->found) {
        http_respond_error(r, 404, "not_found", "no such session");
    } else if (r != NULL && q->rc == 0) {
        http_respond_written(r, 200, &q->answer);
    } else if (r != NULL) {
        log_warn("session query failed: %s", q->err);
        r->retry_after = 1;
        http_respond_error(r, 503, "store_unavailable",
                           "the query could not be run; retry shortly");
    }
    timeline_free(q);
}

void api_session_get(http_req *r, void *arg)
{
    api_ctx *ctx = arg;
    char msg[TT_ERRLEN];
    timeline_query *q = NULL;
    int64_t limit = TIMELINE_LIMIT_DEFAULT;
    if (!http_int_arg(r, "limit", 1, TIMELINE_LIMIT_MAX, &limit, msg, sizeof msg)) {
        http_respond_error(r, 400, "invalid_parameter", msg);
        return;
    }
    if ((q = calloc(1, sizeof *q)) == NULL) {
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return;
    }
    if (!take_id(r->param, q->id, sizeof q->id)) {
        free(q);
        http_respond_error(r, 400, "invalid_parameter", "a session id is 1 to 128 bytes");
        return;
    }
    q->st = ctx->st;
    q->limit = (uint32_t)limit;
    q->now_ms = (int64_t)clock_now_ms();
    q->idle_ms = (int64_t)ctx->cfg->session_idle_ms;
    if (http_defer(r, run_timeline, timeline_done, q) != 0) {
        free(q);
    }
}
