/* ws_recent.c -- /ws's get_recent_events, read on libuv's thread pool. Loop thread, but for
 * the reading, on the pool. */
#include "live/ws_recent.h"

#include "core/event_json.h"

#include <stdlib.h>
#include <string.h>

typedef struct recent_query {
    uv_work_t work;
    store *st;
    ws_recent_fn done;
    void *ctx;
    event_filter filter;
    char type[EVENT_TYPE_MAX + 1], source[EVENT_SOURCE_MAX + 1];
    char session_id[EVENT_SESSION_MAX + 1];
    tt_event **rows; /* newest first */
    size_t count;
    ws_msg *reply; /* the whole answer */
    int rc;
    char err[TT_ERRLEN];
} recent_query;

static int collect_recent(const tt_event *ev, void *ctx)
{
    recent_query *q = ctx;
    tt_event *copy = event_clone(ev);
    if (copy == NULL) {
        return TT_ENOMEM;
    }
    q->rows[q->count++] = copy;
    return 0;
}

/* {"type":"recent_events","items":[...]}, oldest first (rows come newest first). */
static ws_msg *recent_reply(recent_query *q)
{
    json_writer w = {0};
    json_open_object(&w);
    json_key(&w, "items");
    json_open_array(&w);
    for (size_t i = q->count; i > 0; i--) {
        event_write_json(&w, q->rows[i - 1], EVENT_JSON_STORED);
    }
    json_close_array(&w);
    json_member_string(&w, "type", "recent_events");
    json_close_object(&w);
    return ws_msg_from_writer(&w, 0);
}

static void read_recent(uv_work_t *work)
{
    recent_query *q = work->data;
    q->rows = malloc(q->filter.limit * sizeof *q->rows);
    q->rc = q->rows == NULL ? tt_fail(q->err, TT_ENOMEM, "out of memory")
                            : store_query_events(q->st, &q->filter, collect_recent, q, q->err);
    if (q->rc == 0 && (q->reply = recent_reply(q)) == NULL) {
        q->rc = tt_fail(q->err, TT_ENOMEM, "out of memory");
    }
}

static void recent_read(uv_work_t *work, int status)
{
    recent_query *q = work->data;
    bool ok = status == 0 && q->rc == 0;
    q->done(ok ? q->reply : NULL, status != 0 ? uv_strerror(status) : q->err, q->ctx);
    while (q->count > 0) {
        event_free(q->rows[--q->count]);
    }
    ws_msg_unref(q->reply);
    free(q->rows);
    free(q);
}

static void copy_string(char *dst, size_t cap, const char *src, const char **field)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
    *field = dst[0] != '\0' ? dst : NULL;
}

int ws_recent_start(uv_loop_t *loop, store *st, const event_filter *f, ws_recent_fn done, void *ctx)
{
    recent_query *q = calloc(1, sizeof *q);
    if (q == NULL) {
        return TT_ENOMEM;
    }
    *q = (recent_query){.st = st, .done = done, .ctx = ctx, .filter = {.limit = f->limit}};
    copy_string(q->type, sizeof q->type, f->type, &q->filter.type);
    copy_string(q->source, sizeof q->source, f->source, &q->filter.source);
    copy_string(q->session_id, sizeof q->session_id, f->session_id, &q->filter.session_id);
    q->work.data = q;
    if (uv_queue_work(loop, &q->work, read_recent, recent_read) != 0) {
        free(q);
        return TT_ENOMEM;
    }
    return 0;
}
