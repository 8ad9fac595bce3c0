/* stream.c -- the committed-rows engine: one cursor per subscriber, catch-up pages off the
 * loop, and the hand-over to the live tail. Loop thread, but for reading pages, on the pool.
 * Why no row is lost or sent twice across the hand-over is argued in stream.h. */
#include "live/stream.h"

#include "os/log.h"

#include <stdlib.h>
#include <string.h>

#define PAGE 500                /* rows of one read at most ... */
#define PAGE_BYTES (256 * 1024) /* ... and about this many bytes of encodings */

typedef struct format {
    stream_encode_fn fn;
    void *ctx;
} format;

struct stream {
    stream_opts opts;
    format formats[STREAM_FORMATS_MAX];
    int nformats;
    stream_sub *subs;
    size_t nsubs;
    uint64_t next_sub_id;
    int64_t known; /* every row up to here is committed */
    row_ring ring; /* memory mode: recent rows, floor < seq <= known */
    /* feed mode: the tail */
    int64_t cursor;      /* rows up to here have been offered to the live subscribers */
    bool reading;        /* a read (the tail's or a catch-up's) runs: one at a time */
    bool poll;           /* read after the cursor even if nothing new is known */
    bool tail_went_last; /* the tail and the catch-ups take turns */
};

/* ---- rows and their encodings ---- */

ws_msg *stream_row_encoding(stream *s, stream_row *row, int fmt)
{
    if (row->enc[fmt] == NULL) {
        row->enc[fmt] = s->formats[fmt].fn(row->ev, s->formats[fmt].ctx);
    }
    return row->enc[fmt];
}

int stream_format_add(stream *s, stream_encode_fn fn, void *ctx)
{
    if (s->nformats == STREAM_FORMATS_MAX) {
        return TT_ENOMEM;
    }
    s->formats[s->nformats] = (format){fn, ctx};
    return s->nformats++;
}

/* ---- offering rows to a subscriber ---- */

static bool has_room(const stream_sub *sub)
{
    return sub->peer->out.bytes <= sub->s->opts.cfg->ws_max_buffer / 2;
}

static void offer(stream_sub *sub, stream_row *row)
{
    if (row->ev->seq <= sub->cursor) {
        return;
    }
    sub->cursor = row->ev->seq;
    if (!sub->peer->closing) {
        sub->deliver(sub, row);
    }
}

/* Offers rows to a catching-up subscriber while its client has room; how many it took. */
static size_t offer_paced(stream_sub *sub, stream_row *rows, size_t n)
{
    size_t taken = 0;
    for (; taken < n && !sub->peer->closing && has_room(sub); taken++) {
        offer(sub, &rows[taken]);
    }
    return taken;
}

static stream_sub *find_sub(stream *s, uint64_t id)
{
    for (stream_sub *sub = s->subs; sub != NULL; sub = sub->next) {
        if (sub->id == id) {
            return sub;
        }
    }
    return NULL;
}

/* ---- reading pages on the pool ---- */

typedef struct page {
    uv_work_t work;
    stream *s;
    uint64_t sub_id;  /* 0 for the tail */
    int64_t known;    /* s->known when the read was issued */
    unsigned formats; /* encoded on the pool: one bit per format */
    event_filter filter;
    char type[EVENT_TYPE_MAX + 1], source[EVENT_SOURCE_MAX + 1];
    char session_id[EVENT_SESSION_MAX + 1];
    size_t byte_budget; /* a page ends early once its rows' encodings pass this */
    stream_row *rows;
    size_t count, bytes;
    bool more; /* ended early: there may be more rows right after */
    bool oom;  /* a row could not be kept: the read failed */
    int rc;
    char err[TT_ERRLEN];
} page;

static int collect_row(const tt_event *ev, void *ctx)
{
    page *p = ctx;
    stream_row *row = &p->rows[p->count];
    if ((row->ev = event_clone(ev)) == NULL) {
        p->oom = true;
        return TT_ENOMEM; /* stops the query */
    }
    p->count++;
    for (int f = 0; f < p->s->nformats; f++) {
        if (p->formats & (1u << f)) {
            row->enc[f] = p->s->formats[f].fn(ev, p->s->formats[f].ctx);
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
    page *p = w->data;
    p->rows = calloc(p->filter.limit, sizeof *p->rows);
    if (p->rows == NULL) {
        p->rc = tt_fail(p->err, TT_ENOMEM, "out of memory");
        return;
    }
    p->rc = store_query_events(p->s->opts.st, &p->filter, collect_row, p, p->err);
    if (p->rc == 0 && p->oom) {
        p->rc = tt_fail(p->err, TT_ENOMEM, "out of memory");
    }
}

static void free_page(page *p)
{
    for (size_t i = 0; i < p->count; i++) {
        stream_row_clear(&p->rows[i]);
    }
    free(p->rows);
    free(p);
}

static void copy_narrowing(page *p, const stream_sub *sub)
{
    snprintf(p->type, sizeof p->type, "%s", sub->type != NULL ? sub->type : "");
    snprintf(p->source, sizeof p->source, "%s", sub->source != NULL ? sub->source : "");
    snprintf(p->session_id, sizeof p->session_id, "%s",
             sub->session_id != NULL ? sub->session_id : "");
    p->filter.type = p->type[0] ? p->type : NULL;
    p->filter.source = p->source[0] ? p->source : NULL;
    p->filter.session_id = p->session_id[0] ? p->session_id : NULL;
}

/* The formats the live subscribers take: a tail page is encoded in each. */
static unsigned live_formats(const stream *s)
{
    unsigned formats = 0;
    for (const stream_sub *sub = s->subs; sub != NULL; sub = sub->next) {
        formats |= sub->catching_up ? 0 : 1u << sub->format;
    }
    return formats;
}

static void page_done(uv_work_t *w, int status);

/* Starts a read of the rows after 'after', for 'sub' (NULL: the tail); false if it could not
 * be started. */
static bool issue_page(stream *s, stream_sub *sub, int64_t after)
{
    page *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return false;
    }
    p->s = s;
    p->sub_id = sub != NULL ? sub->id : 0;
    p->known = s->known;
    p->formats = sub != NULL ? 1u << sub->format : live_formats(s);
    p->filter.has_after = true;
    p->filter.after_seq = after;
    p->filter.limit = PAGE;
    if (sub != NULL) {
        copy_narrowing(p, sub);
    }
    /* A page is offered at once: a burst of it must fit easily in a client's queue. */
    size_t quarter = s->opts.cfg->ws_max_buffer / 4;
    p->byte_budget = quarter < PAGE_BYTES ? quarter : PAGE_BYTES;
    p->work.data = p;
    if (uv_queue_work(s->opts.loop, &p->work, read_page, page_done) != 0) {
        free(p);
        return false;
    }
    if (sub != NULL) {
        sub->reading = true;
    }
    return true;
}

/* ---- memory mode ---- */

/* Replays the ring above the cursor while the client has room; false if it ran out of room. */
static bool replay_ring(stream_sub *sub)
{
    stream *s = sub->s;
    for (size_t i = 0; i < s->ring.count && !sub->peer->closing; i++) {
        stream_row *row = row_ring_at(&s->ring, i);
        if (row->ev->seq > sub->cursor && !has_room(sub)) {
            return false;
        }
        offer(sub, row);
    }
    return true;
}

/* Moves a subscriber on towards the live tail: from the ring, or a page from the store. */
static void memory_advance(stream_sub *sub)
{
    stream *s = sub->s;
    if (sub->reading || sub->peer->closing) {
        return;
    }
    sub->catching_up = sub->cursor < s->known;
    if (!sub->catching_up) {
        return;
    }
    if (s->ring.floor <= sub->cursor) {
        sub->waits_for_drain = !replay_ring(sub);
        sub->catching_up = sub->waits_for_drain;
        return;
    }
    if (!has_room(sub)) {
        sub->waits_for_drain = true;
    } else if (!*s->opts.stopping) {
        sub->wants_read = !issue_page(s, sub, sub->cursor);
    }
}

static void memory_page(stream_sub *sub, page *p)
{
    if (sub->stale) {
        sub->stale = false;
        memory_advance(sub);
        return;
    }
    size_t taken = offer_paced(sub, p->rows, p->count);
    if (sub->peer->closing) {
        return;
    }
    if (taken < p->count) {
        sub->waits_for_drain = true; /* the rest is read again from the cursor */
        return;
    }
    if (!p->more && p->known > sub->cursor) {
        sub->cursor = p->known; /* a short page saw every row up to what was known */
    }
    memory_advance(sub);
}

void stream_committed_batch(stream *s, const event_batch *b)
{
    for (size_t i = 0; i < b->count; i++) {
        const tt_event *ev = b->events[i];
        if (ev->seq <= s->known) {
            continue; /* a duplicate (seq 0): it was delivered when first stored */
        }
        stream_row *row = s->subs != NULL ? row_ring_push(&s->ring, ev) : NULL;
        s->known = ev->seq;
        if (row == NULL) {
            if (s->subs != NULL) {
                log_error("out of memory keeping event %lld for live clients", (long long)ev->seq);
            }
            row_ring_reset(&s->ring,
                           s->known); /* catch-ups read what the ring lacks from the store */
            continue;
        }
        for (stream_sub *sub = s->subs; sub != NULL; sub = sub->next) {
            if (!sub->catching_up) {
                offer(sub, row);
            }
        }
    }
}

/* ---- feed mode: reads one at a time ---- */

static bool tail_wanted(const stream *s)
{
    return s->nsubs > 0 && (s->cursor < s->known || s->poll);
}

static stream_sub *sub_wanting_read(stream *s)
{
    for (stream_sub *sub = s->subs; sub != NULL; sub = sub->next) {
        if (sub->catching_up && sub->wants_read && !sub->waits_for_drain && !sub->peer->closing) {
            return sub;
        }
    }
    return NULL;
}

/* Starts the next read if none runs: the tail and the catch-ups take turns. */
static void next_read(stream *s)
{
    if (s->reading || *s->opts.stopping) {
        return;
    }
    if (s->nsubs == 0) {
        s->cursor = s->known; /* nobody to tell: a later subscriber reads what it asks for */
        return;
    }
    stream_sub *sub = sub_wanting_read(s);
    if (tail_wanted(s) && (sub == NULL || !s->tail_went_last)) {
        s->poll = false;
        s->tail_went_last = true;
        s->reading = issue_page(s, NULL, s->cursor);
        s->poll = !s->reading;
    } else if (sub != NULL) {
        s->tail_went_last = false;
        s->reading = issue_page(s, sub, sub->cursor);
        sub->wants_read = !s->reading;
    }
}

static void tail_page(stream *s, page *p)
{
    for (size_t i = 0; i < p->count; i++) {
        stream_sub *next;
        for (stream_sub *sub = s->subs; sub != NULL; sub = next) {
            next = sub->next;
            if (!sub->catching_up) {
                offer(sub, &p->rows[i]);
            }
        }
        s->cursor = p->rows[i].ev->seq;
    }
    if (!p->more && p->known > s->cursor) {
        s->cursor = p->known; /* a short page saw every row up to what was known */
    }
    s->poll = s->poll || p->more;
}

static void feed_catchup_page(stream_sub *sub, page *p)
{
    stream *s = sub->s;
    if (sub->stale) {
        sub->stale = false;
        sub->catching_up = sub->wants_read = sub->cursor < s->cursor;
        return;
    }
    size_t taken = offer_paced(sub, p->rows, p->count);
    if (sub->peer->closing) {
        return;
    }
    if (taken < p->count || p->more) {
        sub->wants_read = true;
        sub->waits_for_drain = !has_room(sub);
        return;
    }
    if (p->known > sub->cursor) {
        sub->cursor = p->known; /* a whole short page saw every row up to what was known */
    }
    /* Reads run one at a time, so the tail's cursor is no further than what this page saw. */
    sub->catching_up = sub->wants_read = false;
}

void stream_committed_seq(stream *s, int64_t seq)
{
    if (s == NULL || seq <= s->known) {
        return;
    }
    s->known = seq;
    next_read(s);
}

/* ---- a page is back ---- */

static void page_failed(stream *s, stream_sub *sub, const char *why)
{
    log_warn("reading committed rows failed: %s", why);
    s->poll = s->opts.mode == STREAM_FEED; /* tried again at the next tick, not at once */
    if (sub == NULL) {
        return;
    }
    sub->wants_read = true;
    sub->stale = false;
    if (sub->failed != NULL) {
        sub->failed(sub, why);
    }
}

static void page_done(uv_work_t *w, int status)
{
    page *p = w->data;
    stream *s = p->s;
    stream_sub *sub = p->sub_id != 0 ? find_sub(s, p->sub_id) : NULL;
    bool feed = s->opts.mode == STREAM_FEED;
    if (feed) {
        s->reading = false;
    }
    if (sub != NULL) {
        sub->reading = false;
    }
    if (status != 0 || p->rc != 0) {
        page_failed(s, sub, status != 0 ? uv_strerror(status) : p->err);
        free_page(p);
        return;
    }
    if (p->sub_id == 0) {
        tail_page(s, p);
    } else if (sub != NULL && feed) {
        feed_catchup_page(sub, p);
    } else if (sub != NULL) {
        memory_page(sub, p);
    }
    free_page(p);
    if (feed) {
        next_read(s);
    }
}

/* ---- subscribers ---- */

static void sub_move(stream_sub *sub, int64_t after)
{
    stream *s = sub->s;
    sub->cursor = after;
    sub->waits_for_drain = sub->wants_read = false;
    if (sub->reading) {
        sub->stale = true; /* it reads from the old cursor: start over when it is back */
        sub->catching_up = true;
    } else if (s->opts.mode == STREAM_MEMORY) {
        memory_advance(sub);
    } else {
        sub->catching_up = sub->wants_read = sub->cursor < s->cursor;
        next_read(s);
    }
}

void stream_sub_start(stream *s, stream_sub *sub, int64_t after)
{
    sub->s = s;
    sub->id = ++s->next_sub_id;
    sub->prev = NULL;
    sub->next = s->subs;
    if (s->subs != NULL) {
        s->subs->prev = sub;
    }
    s->subs = sub;
    s->nsubs++;
    sub->reading = sub->stale = false;
    sub_move(sub, after);
}

void stream_sub_resume(stream_sub *sub, int64_t after)
{
    if (sub->s != NULL) {
        sub_move(sub, after);
    }
}

void stream_sub_drained(stream_sub *sub)
{
    if (sub->s == NULL || !sub->waits_for_drain) {
        return;
    }
    sub->waits_for_drain = false;
    if (sub->s->opts.mode == STREAM_MEMORY) {
        memory_advance(sub);
    } else {
        next_read(sub->s);
    }
}

void stream_sub_stop(stream_sub *sub)
{
    stream *s = sub->s;
    if (s == NULL) {
        return;
    }
    if (sub->prev != NULL) {
        sub->prev->next = sub->next;
    } else {
        s->subs = sub->next;
    }
    if (sub->next != NULL) {
        sub->next->prev = sub->prev;
    }
    s->nsubs--;
    sub->s = NULL;
    if (s->subs == NULL) {
        row_ring_reset(&s->ring, s->known);
    }
}

/* ---- the engine ---- */

void stream_tick(stream *s)
{
    if (s == NULL) {
        return;
    }
    if (s->opts.mode == STREAM_FEED) {
        /* A notification may have been missed (a dropped LISTEN connection is resynced, but
         * the safety costs one indexed read a second), and a failed read is retried. */
        s->poll = s->nsubs > 0;
        next_read(s);
        return;
    }
    stream_sub *next;
    for (stream_sub *sub = s->subs; sub != NULL; sub = next) {
        next = sub->next;
        if (sub->wants_read && !sub->reading) {
            sub->wants_read = false;
            memory_advance(sub);
        }
    }
}

int64_t stream_known(const stream *s)
{
    return s->known;
}

int64_t stream_delivered(const stream *s)
{
    return s->opts.mode == STREAM_FEED ? s->cursor : s->known;
}

int stream_create(const stream_opts *opts, stream **out)
{
    stream *s = calloc(1, sizeof *s);
    if (s == NULL || row_ring_init(&s->ring, opts->start_seq) != 0) {
        free(s);
        return TT_ENOMEM;
    }
    s->opts = *opts;
    s->known = s->cursor = opts->start_seq;
    *out = s;
    return 0;
}

void stream_free(stream *s)
{
    if (s == NULL) {
        return;
    }
    row_ring_free(&s->ring);
    free(s);
}
