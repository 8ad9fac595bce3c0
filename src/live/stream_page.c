/* stream_page.c -- a read of committed rows on the pool, for the engine (stream.c). */
#include "live/stream_page.h"

#include <stdio.h>
#include <stdlib.h>

stream_page *stream_page_new(void)
{
    return calloc(1, sizeof(stream_page));
}

static int collect_row(const tt_event *ev, void *ctx)
{
    stream_page *p = ctx;
    stream_row *row = &p->rows[p->count];
    if ((row->ev = event_clone(ev)) == NULL) {
        p->oom = true;
        return TT_ENOMEM; /* stops the query */
    }
    p->count++;
    for (int f = 0; f < STREAM_FORMATS_MAX; f++) {
        if (p->formats & (1u << f)) {
            row->enc[f] = p->encoders[f].fn(ev, p->encoders[f].ctx);
            p->oom = p->oom || row->enc[f] == NULL;
            p->bytes += row->enc[f] != NULL ? row->enc[f]->len : 0;
        }
    }
    if (p->oom) {
        return TT_ENOMEM;
    }
    p->more = p->count == p->filter.limit || p->bytes >= p->byte_budget;
    return p->bytes >= p->byte_budget; /* nonzero ends the query (not an error) */
}

static void read_page(uv_work_t *w)
{
    stream_page *p = w->data;
    p->rows = calloc(p->filter.limit, sizeof *p->rows);
    if (p->rows == NULL) {
        p->rc = tt_fail(p->err, TT_ENOMEM, "out of memory");
        return;
    }
    p->rc = store_query_events(p->st, &p->filter, collect_row, p, p->err);
    if (p->rc == 0 && p->oom) {
        p->rc = tt_fail(p->err, TT_ENOMEM, "out of memory");
    }
}

void stream_page_narrow(stream_page *p, const char *type, const char *source,
                        const char *session_id)
{
    snprintf(p->type, sizeof p->type, "%s", type != NULL ? type : "");
    snprintf(p->source, sizeof p->source, "%s", source != NULL ? source : "");
    snprintf(p->session_id, sizeof p->session_id, "%s", session_id != NULL ? session_id : "");
    p->filter.type = p->type[0] ? p->type : NULL;
    p->filter.source = p->source[0] ? p->source : NULL;
    p->filter.session_id = p->session_id[0] ? p->session_id : NULL;
}

int stream_page_start(uv_loop_t *loop, stream_page *p, uv_after_work_cb done)
{
    p->work.data = p;
    return uv_queue_work(loop, &p->work, read_page, done);
}

void stream_page_free(stream_page *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->count; i++) {
        stream_row_clear(&p->rows[i]);
    }
    free(p->rows);
    free(p);
}
