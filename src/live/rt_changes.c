/* rt_changes.c -- postgres_changes: a channel's bindings, and the committed rows of
 * monitoring.monitoring_events streamed to them in seq order.
 *
 * Rows are read back from the store after they commit, in pages on libuv's thread pool: by
 * "the tail" for every live channel, and by a channel of its own while it catches up from an
 * after_seq. Each row's "data" is rendered once, off the loop; a channel's message adds its
 * head (join_ref and topic) and the ids of its bindings that match the row.
 *
 * No gap, no duplicate. Seq order is commit order (SQLite has one writer; PostgreSQL assigns
 * seq under an advisory lock at commit), and a seq is heard of (realtime_committed) only once
 * committed, so a read issued when everything up to K is known sees every row up to K. Each
 * channel remembers the highest seq it has looked at and takes only rows above it. Reads run
 * one at a time, so when a catch-up page comes back short the channel has seen everything the
 * tail has (the tail's rows were committed before the page was read) and can go live at once.
 *
 * A binding delivers rows with seq above its start: the after_seq it asked for (a key telltale
 * reads inside each postgres_changes binding; other servers ignore it), else the highest seq
 * known when it joined. */
#include "live/rt_internal.h"

#include "core/json_print.h"
#include "core/timefmt.h"
#include "os/log.h"
#include "rest/rest_row.h"

#include <stdlib.h>
#include <string.h>

#define PAGE 500                               /* rows of one read at most ... */
#define PAGE_BYTES (256 * 1024)                /* ... and about this many bytes of rendered data */
#define IDS_MAX (RT_BINDINGS_PER_CHANNEL * 12) /* "2147483647," per binding */

/* ---- bindings ---- */

static bool is_one_of(const char *s, const char *const *list)
{
    for (; *list != NULL; list++) {
        if (strcmp(s, *list) == 0) {
            return true;
        }
    }
    return false;
}

/* An optional string member: NULL when absent or null; *bad when present and not a string. */
static const char *opt_string(const cJSON *obj, const char *name, bool *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (v == NULL || cJSON_IsNull(v)) {
        return NULL;
    }
    *bad = *bad || !cJSON_IsString(v) || strlen(v->valuestring) > CHANGE_FILTER_MAX;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A binding's id: the same subscription always gets the same id, as on a Supabase server
 * (FNV-1a of its parts; positive, never 0, since realtime-js ignores a falsy id). */
static int64_t binding_id(const char *event, const char *schema, const char *table,
                          const char *filter)
{
    uint32_t h = 2166136261u;
    const char *parts[4] = {event, schema, table ? table : "", filter ? filter : ""};
    for (int i = 0; i < 4; i++) {
        for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++) {
            h = (h ^ *p) * 16777619u;
        }
        h = (h ^ 0xff) * 16777619u; /* a separator no UTF-8 text contains */
    }
    h &= 0x7fffffff;
    return h != 0 ? h : 1;
}

/* The binding as the join reply repeats it: what the client sent, plus its id. */
static char *binding_echo(int64_t id, const char *event, const char *schema, const char *table,
                          const char *filter)
{
    json_buf b = {0};
    JSON_PUT_LIT(&b, "{\"id\":");
    json_put_number(&b, (double)id);
    JSON_PUT_LIT(&b, ",\"event\":");
    json_put_string(&b, event);
    JSON_PUT_LIT(&b, ",\"schema\":");
    json_put_string(&b, schema);
    if (table != NULL) {
        JSON_PUT_LIT(&b, ",\"table\":");
        json_put_string(&b, table);
    }
    if (filter != NULL) {
        JSON_PUT_LIT(&b, ",\"filter\":");
        json_put_string(&b, filter);
    }
    JSON_PUT_LIT(&b, "}");
    if (b.oom) {
        free(b.buf);
        return NULL;
    }
    return b.buf;
}

/* after_seq: an integer >= 0, or absent (-1). */
static int read_after_seq(const cJSON *obj, int64_t *out, char *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "after_seq");
    *out = -1;
    if (v == NULL || cJSON_IsNull(v)) {
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9e15 ||
        v->valuedouble != (double)(int64_t)v->valuedouble) {
        return tt_fail(err, TT_EINVAL, "postgres_changes: 'after_seq' must be an integer >= 0");
    }
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int check_target(const char *event, const char *schema, const char *table, bool bad,
                        char *err)
{
    static const char *const events[] = {"INSERT", "UPDATE", "DELETE", "*", NULL};
    static const char *const schemas[] = {"monitoring", "*", NULL};
    static const char *const tables[] = {"monitoring_events", "*", NULL};
    if (bad || event == NULL || schema == NULL) {
        return tt_fail(err, TT_EINVAL,
                       "postgres_changes: 'event' and 'schema' are required strings; 'table' "
                       "and 'filter' are optional strings of at most %d bytes",
                       CHANGE_FILTER_MAX);
    }
    if (!is_one_of(event, events)) {
        return tt_fail(err, TT_EINVAL, "postgres_changes: 'event' is INSERT, UPDATE, DELETE or *");
    }
    if (!is_one_of(schema, schemas) || (table != NULL && !is_one_of(table, tables))) {
        return tt_fail(err, TT_EINVAL,
                       "postgres_changes: telltale streams only monitoring.monitoring_events");
    }
    return 0;
}

static int configure_binding(rt_binding *b, const cJSON *obj, int64_t known, char *err)
{
    if (!cJSON_IsObject(obj)) {
        return tt_fail(err, TT_EINVAL, "postgres_changes: each binding must be an object");
    }
    bool bad = false;
    const char *event = opt_string(obj, "event", &bad);
    const char *schema = opt_string(obj, "schema", &bad);
    const char *table = opt_string(obj, "table", &bad);
    const char *filter = opt_string(obj, "filter", &bad);
    int rc = check_target(event, schema, table, bad, err);
    if (rc == 0 && filter != NULL) {
        char why[TT_ERRLEN];
        if ((rc = change_filter_parse(filter, &b->filter, why)) != 0) {
            return rc == TT_ENOMEM ? tt_fail(err, rc, "out of memory")
                                   : tt_fail(err, rc, "postgres_changes: filter: %s", why);
        }
        b->has_filter = true;
    }
    if (rc == 0) {
        rc = read_after_seq(obj, &b->start_seq, err);
    }
    if (rc != 0) {
        return rc;
    }
    if (b->start_seq < 0) {
        b->start_seq = known;
    }
    b->inserts = strcmp(event, "INSERT") == 0 || strcmp(event, "*") == 0;
    b->id = binding_id(event, schema, table, filter);
    b->echo = binding_echo(b->id, event, schema, table, filter);
    return b->echo != NULL ? 0 : tt_fail(err, TT_ENOMEM, "out of memory");
}

int rt_changes_configure(rt_channel *ch, const cJSON *list, char err[TT_ERRLEN])
{
    if (list == NULL || cJSON_IsNull(list)) {
        return 0;
    }
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > RT_BINDINGS_PER_CHANNEL) {
        return tt_fail(err, TT_EINVAL,
                       "config.postgres_changes must be an array of at most %d bindings",
                       RT_BINDINGS_PER_CHANNEL);
    }
    int64_t known = ch->conn->rt->known;
    const cJSON *obj;
    cJSON_ArrayForEach(obj, list)
    {
        int rc = configure_binding(&ch->bindings[ch->nbindings], obj, known, err);
        ch->nbindings++; /* counted even when it failed half-way: release frees what it has */
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

char *rt_changes_reply(const rt_channel *ch)
{
    json_buf b = {0};
    JSON_PUT_LIT(&b, "{\"postgres_changes\":[");
    for (int i = 0; i < ch->nbindings; i++) {
        if (i > 0) {
            JSON_PUT_LIT(&b, ",");
        }
        json_put_raw(&b, ch->bindings[i].echo, strlen(ch->bindings[i].echo));
    }
    JSON_PUT_LIT(&b, "]}");
    if (b.oom) {
        free(b.buf);
        return NULL;
    }
    return b.buf;
}

/* ---- reading rows ---- */

typedef struct rt_row {
    tt_event *ev;
    char *data; /* the message's "data" object, JSON text */
    size_t data_len;
} rt_row;

typedef struct rt_read {
    uv_work_t work;
    realtime *rt;
    uint64_t channel_id; /* 0 for the tail */
    int64_t known;       /* rt->known when the read was issued */
    event_filter filter;
    size_t byte_budget; /* a page ends early once its rows' data passes this */
    rt_row *rows;
    size_t count;
    size_t bytes;
    bool more; /* ended early: there may be more rows right after */
    bool oom;  /* a row could not be kept: the read failed */
    int rc;
    char err[TT_ERRLEN];
} rt_read;

/* PostgreSQL's short name for a column type, as Realtime's "columns" give it. */
static const char *udt_name(const char *pg_type)
{
    static const char *const names[][2] = {{"bigint", "int8"},
                                           {"integer", "int4"},
                                           {"double precision", "float8"},
                                           {"timestamp with time zone", "timestamptz"},
                                           {"boolean", "bool"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(pg_type, names[i][0]) == 0) {
            return names[i][1];
        }
    }
    return pg_type; /* text, json, jsonb */
}

char *rt_changes_columns(void)
{
    const rest_table *t = rest_table_find("monitoring_events");
    json_buf b = {0};
    JSON_PUT_LIT(&b, "[");
    for (int k = 0; k < t->ncols; k++) {
        JSON_PUT_LIT(&b, "{\"name\":");
        json_put_string(&b, t->cols[k].name);
        JSON_PUT_LIT(&b, ",\"type\":");
        json_put_string(&b, udt_name(t->cols[k].pg_type));
        json_put_raw(&b, k + 1 < t->ncols ? "}," : "}", k + 1 < t->ncols ? 2 : 1);
    }
    JSON_PUT_LIT(&b, "]");
    if (b.oom) {
        free(b.buf);
        return NULL;
    }
    return b.buf;
}

/* The row as PostgreSQL's to_json writes it: every column, null when absent. */
static void put_record(json_buf *b, const tt_event *ev)
{
    const rest_table *t = rest_table_find("monitoring_events");
    rest_value cells[REST_MAX_COLUMNS];
    rest_row_event_cells(ev, true, cells);
    JSON_PUT_LIT(b, "{");
    for (int k = 0; k < t->ncols; k++) {
        json_put_raw(b, ",", k > 0 ? 1 : 0);
        json_put_string(b, t->cols[k].name);
        JSON_PUT_LIT(b, ":");
        rest_row_put_cell(b, t->cols[k].kind, &cells[k]);
    }
    JSON_PUT_LIT(b, "}");
}

/* The "data" of a postgres_changes message for one inserted row. Any thread. */
static char *render_data(const realtime *rt, const tt_event *ev, size_t *len)
{
    char commit[TIMEFMT_LEN];
    timefmt_format(ev->received_ms, commit);
    json_buf b = {0};
    JSON_PUT_LIT(
        &b, "{\"schema\":\"monitoring\",\"table\":\"monitoring_events\",\"commit_timestamp\":");
    json_put_string(&b, commit);
    JSON_PUT_LIT(&b, ",\"type\":\"INSERT\",\"columns\":");
    json_put_raw(&b, rt->columns, strlen(rt->columns));
    JSON_PUT_LIT(&b, ",\"record\":");
    put_record(&b, ev);
    JSON_PUT_LIT(&b, ",\"errors\":null}");
    if (b.oom) {
        free(b.buf);
        return NULL;
    }
    *len = b.len;
    return b.buf;
}

static int collect_row(const tt_event *ev, void *ctx)
{
    rt_read *r = ctx;
    rt_row *row = &r->rows[r->count];
    if ((row->ev = event_clone(ev)) == NULL ||
        (row->data = render_data(r->rt, ev, &row->data_len)) == NULL) {
        event_free(row->ev);
        row->ev = NULL;
        r->oom = true;
        return TT_ENOMEM; /* stops the query */
    }
    r->count++;
    r->bytes += row->data_len;
    r->more = r->count == r->filter.limit || r->bytes >= r->byte_budget;
    return r->bytes >= r->byte_budget; /* nonzero ends the query (not an error) */
}

static void run_read(uv_work_t *w)
{
    rt_read *r = w->data;
    r->rows = calloc(r->filter.limit, sizeof *r->rows);
    if (r->rows == NULL) {
        r->rc = tt_fail(r->err, TT_ENOMEM, "out of memory");
        return;
    }
    r->rc = store_query_events(r->rt->opts.st, &r->filter, collect_row, r, r->err);
    if (r->rc == 0 && r->oom) {
        r->rc = tt_fail(r->err, TT_ENOMEM, "out of memory");
    }
}

static void free_read(rt_read *r)
{
    for (size_t i = 0; i < r->count; i++) {
        event_free(r->rows[i].ev);
        free(r->rows[i].data);
    }
    free(r->rows);
    free(r);
}

/* ---- delivering ---- */

/* The message last built while fanning out one row, reused by every channel that would build
 * the same bytes (same head, same ids): clients with identical subscriptions share it. */
typedef struct msg_cache {
    ws_msg *msg;
    const char *head;
    char ids[IDS_MAX];
} msg_cache;

/* The ids of the channel's bindings that take the row, "1,2"; false if none does. Identical
 * bindings share an id, which is named once. */
static bool matching_ids(const rt_channel *ch, const tt_event *ev, char ids[IDS_MAX])
{
    int64_t named[RT_BINDINGS_PER_CHANNEL];
    int nnamed = 0;
    size_t n = 0;
    for (int i = 0; i < ch->nbindings; i++) {
        const rt_binding *b = &ch->bindings[i];
        if (!b->inserts || ev->seq <= b->start_seq ||
            (b->has_filter && !change_filter_match(&b->filter, ev))) {
            continue;
        }
        bool seen = false;
        for (int j = 0; j < nnamed && !seen; j++) {
            seen = named[j] == b->id;
        }
        if (!seen) {
            named[nnamed++] = b->id;
            n += (size_t)snprintf(ids + n, IDS_MAX - n, "%s%lld", n > 0 ? "," : "",
                                  (long long)b->id);
        }
    }
    ids[n] = '\0';
    return n > 0;
}

static ws_msg *build_change(const rt_channel *ch, const char *ids, const rt_row *row)
{
    static const char mid[] = "],\"data\":";
    const char *tail = ch->conn->vsn == PHX_V2 ? "}]" : "}}";
    size_t ids_len = strlen(ids);
    size_t len = ch->change_head_len + ids_len + sizeof mid - 1 + row->data_len + 2;
    ws_msg *m = ws_msg_new(NULL, len, row->ev->seq);
    if (m == NULL) {
        return NULL;
    }
    unsigned char *p = ws_msg_payload(m);
    memcpy(p, ch->change_head, ch->change_head_len);
    p += ch->change_head_len;
    memcpy(p, ids, ids_len);
    p += ids_len;
    memcpy(p, mid, sizeof mid - 1);
    p += sizeof mid - 1;
    memcpy(p, row->data, row->data_len);
    memcpy(p + row->data_len, tail, 2);
    return m;
}

static void deliver(rt_channel *ch, const rt_row *row, msg_cache *cache)
{
    char ids[IDS_MAX];
    if (row->ev->seq <= ch->seq) {
        return;
    }
    ch->seq = row->ev->seq;
    if (ch->conn->peer.closing || !matching_ids(ch, row->ev, ids)) {
        return;
    }
    if (cache->msg == NULL || strcmp(cache->head, ch->change_head) != 0 ||
        strcmp(cache->ids, ids) != 0) {
        ws_msg_unref(cache->msg);
        cache->msg = build_change(ch, ids, row);
        cache->head = ch->change_head;
        memcpy(cache->ids, ids, sizeof cache->ids);
    }
    if (cache->msg == NULL) {
        log_error("out of memory: postgres_changes for seq %lld not sent", (long long)row->ev->seq);
        return;
    }
    rt_send(ch->conn, cache->msg);
    ch->conn->rt->messages++;
}

/* ---- scheduling reads, one at a time ---- */

static void read_done(uv_work_t *w, int status);

/* Starts a read of the rows after 'after'; false if it could not be started (it is tried
 * again at the next commit or tick). */
static bool issue_read(realtime *rt, uint64_t channel_id, int64_t after)
{
    rt_read *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return false;
    }
    r->rt = rt;
    r->channel_id = channel_id;
    r->known = rt->known;
    r->filter.has_after = true;
    r->filter.after_seq = after;
    r->filter.limit = PAGE;
    /* A page is fanned out at once: a burst of it must fit easily in a client's queue. */
    size_t quarter = rt->opts.cfg->ws_max_buffer / 4;
    r->byte_budget = quarter < PAGE_BYTES ? quarter : PAGE_BYTES;
    r->work.data = r;
    if (uv_queue_work(rt->opts.loop, &r->work, run_read, read_done) != 0) {
        free(r);
        return false;
    }
    rt->reading = true;
    return true;
}

static bool tail_wanted(const realtime *rt)
{
    return rt->nsubscribed > 0 && (rt->cursor < rt->known || rt->poll);
}

static rt_channel *channel_wanting_read(realtime *rt)
{
    for (rt_channel *ch = rt->channels; ch != NULL; ch = ch->next) {
        if (ch->catching_up && ch->wants_read && !ch->waits_for_drain && !ch->conn->peer.closing) {
            return ch;
        }
    }
    return NULL;
}

/* Starts the next read if none runs: the tail and the catch-ups take turns. */
static void next_read(realtime *rt)
{
    if (rt->reading || *rt->opts.stopping) {
        return;
    }
    if (rt->nsubscribed == 0) {
        rt->cursor = rt->known; /* nobody to tell: a later join reads what it asks for itself */
        return;
    }
    rt_channel *ch = channel_wanting_read(rt);
    bool tail_turn = tail_wanted(rt) && (ch == NULL || !rt->tail_went_last);
    if (tail_turn) {
        rt->poll = false;
        rt->tail_went_last = true;
        issue_read(rt, 0, rt->cursor);
    } else if (ch != NULL) {
        rt->tail_went_last = false;
        ch->wants_read = !issue_read(rt, ch->id, ch->seq);
    }
}

static void tail_page(realtime *rt, const rt_read *r)
{
    for (size_t i = 0; i < r->count; i++) {
        msg_cache cache = {0};
        for (rt_channel *ch = rt->channels; ch != NULL; ch = ch->next) {
            if (ch->change_head != NULL && !ch->catching_up) { /* subscribed, live */
                deliver(ch, &r->rows[i], &cache);
            }
        }
        ws_msg_unref(cache.msg);
        rt->cursor = r->rows[i].ev->seq;
    }
    if (!r->more && r->known > rt->cursor) {
        rt->cursor = r->known; /* a short page saw every row up to what was known */
    }
    rt->poll = rt->poll || r->more;
}

/* A page of a catching-up channel's history. Delivery stops while the connection has more
 * than half its queue to send; the rest is read again once it has drained (the channel's seq
 * says where it stopped). */
static void catchup_page(rt_channel *ch, const rt_read *r)
{
    rt_conn *c = ch->conn;
    size_t room = c->rt->opts.cfg->ws_max_buffer / 2;
    size_t done = 0;
    for (; done < r->count && !c->peer.closing && c->peer.out.bytes <= room; done++) {
        msg_cache cache = {0};
        deliver(ch, &r->rows[done], &cache);
        ws_msg_unref(cache.msg);
    }
    if (c->peer.closing) {
        return;
    }
    if (done < r->count || r->more) {
        ch->wants_read = true;
        ch->waits_for_drain = c->peer.out.bytes > room;
        return;
    }
    if (r->known > ch->seq) {
        ch->seq = r->known; /* a whole short page saw every row up to what was known */
    }
    /* Reads run one at a time, so the tail's cursor is no further than what this page saw:
     * the channel is live from here. */
    ch->catching_up = ch->wants_read = false;
}

static rt_channel *find_channel_by_id(realtime *rt, uint64_t id)
{
    for (rt_channel *ch = rt->channels; ch != NULL; ch = ch->next) {
        if (ch->id == id) {
            return ch;
        }
    }
    return NULL;
}

static void read_done(uv_work_t *w, int status)
{
    rt_read *r = w->data;
    realtime *rt = r->rt;
    rt->reading = false;
    if (status != 0 || r->rc != 0) {
        log_warn("realtime: reading committed rows failed: %s",
                 status != 0 ? uv_strerror(status) : r->err);
        rt_channel *ch = r->channel_id ? find_channel_by_id(rt, r->channel_id) : NULL;
        if (ch != NULL) {
            ch->wants_read = true; /* again at the next tick */
        }
        rt->poll = true; /* tried again at the next tick, not at once */
        free_read(r);
        return;
    }
    if (r->channel_id == 0) {
        tail_page(rt, r);
    } else {
        rt_channel *ch = find_channel_by_id(rt, r->channel_id);
        if (ch != NULL) {
            catchup_page(ch, r);
        }
    }
    free_read(r);
    next_read(rt);
}

/* ---- the channel's life ---- */

/* '[jr,null,"topic","postgres_changes",{"ids":[' (or the vsn 1.0.0 object's beginning). */
static int make_head(rt_channel *ch)
{
    json_buf b = {0};
    bool v2 = ch->conn->vsn == PHX_V2;
    if (v2) {
        JSON_PUT_LIT(&b, "[");
    } else {
        JSON_PUT_LIT(&b, "{\"join_ref\":");
    }
    if (ch->has_join_ref) {
        json_put_string(&b, ch->join_ref);
    } else {
        JSON_PUT_LIT(&b, "null");
    }
    if (v2) {
        JSON_PUT_LIT(&b, ",null,");
    } else {
        JSON_PUT_LIT(&b, ",\"ref\":null,\"topic\":");
    }
    json_put_string(&b, ch->topic);
    if (v2) {
        JSON_PUT_LIT(&b, ",\"postgres_changes\",{\"ids\":[");
    } else {
        JSON_PUT_LIT(&b, ",\"event\":\"postgres_changes\",\"payload\":{\"ids\":[");
    }
    if (b.oom) {
        free(b.buf);
        return TT_ENOMEM;
    }
    ch->change_head = b.buf;
    ch->change_head_len = b.len;
    return 0;
}

static void send_subscribed(rt_channel *ch)
{
    json_buf b = {0};
    JSON_PUT_LIT(&b, "{\"channel\":");
    json_put_string(&b, ch->topic + 9); /* after "realtime:" */
    JSON_PUT_LIT(&b, ",\"extension\":\"postgres_changes\",\"message\":\"Subscribed to PostgreSQL\","
                     "\"status\":\"ok\"}");
    if (!b.oom) {
        rt_push(ch, "system", b.buf);
    }
    free(b.buf);
}

void rt_changes_start(rt_channel *ch)
{
    if (ch->nbindings == 0) {
        return;
    }
    realtime *rt = ch->conn->rt;
    if (make_head(ch) != 0) {
        rt_push(ch, "system",
                "{\"extension\":\"postgres_changes\",\"message\":\"out of memory\","
                "\"status\":\"error\"}");
        return;
    }
    send_subscribed(ch);
    rt->nsubscribed++; /* until release: change_head says it is subscribed */
    ch->seq = ch->bindings[0].start_seq;
    for (int i = 1; i < ch->nbindings; i++) {
        if (ch->bindings[i].start_seq < ch->seq) {
            ch->seq = ch->bindings[i].start_seq;
        }
    }
    ch->catching_up = ch->wants_read = ch->seq < rt->cursor;
    next_read(rt);
}

void rt_changes_release(rt_channel *ch)
{
    for (int i = 0; i < ch->nbindings; i++) {
        change_filter_free(&ch->bindings[i].filter);
        free(ch->bindings[i].echo);
    }
    ch->nbindings = 0;
    if (ch->change_head != NULL) {
        ch->conn->rt->nsubscribed--;
    }
    free(ch->change_head);
    ch->change_head = NULL;
}

void rt_changes_drained(rt_conn *c)
{
    bool any = false;
    for (rt_channel *ch = c->channels; ch != NULL; ch = ch->conn_next) {
        any = any || ch->waits_for_drain;
        ch->waits_for_drain = false;
    }
    if (any) {
        next_read(c->rt);
    }
}

/* ---- from the server ---- */

void realtime_committed(realtime *rt, int64_t seq)
{
    if (rt == NULL || seq <= rt->known) {
        return;
    }
    rt->known = seq;
    next_read(rt);
}

void rt_changes_tick(realtime *rt)
{
    /* A notification may have been missed (a dropped LISTEN connection is resynced, but the
     * safety costs one indexed read a second), and a failed read is retried. */
    rt->poll = rt->nsubscribed > 0;
    next_read(rt);
}
