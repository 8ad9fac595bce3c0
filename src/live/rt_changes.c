/* rt_changes.c -- postgres_changes: a channel's bindings, and the committed rows of
 * monitoring.monitoring_events streamed to them in seq order.
 *
 * Each subscribed channel is one subscriber of the committed-rows engine (stream.c), which
 * reads, paces and hands over from catch-up to the live tail without gap or duplicate. Each
 * row's "data" is encoded once by the engine (off the loop for pages); a channel's message
 * adds its head (join_ref and topic) and the ids of its bindings that match the row.
 *
 * A binding delivers rows with seq above its start: the after_seq it asked for (a key telltale
 * reads inside each postgres_changes binding; other servers ignore it), else the highest seq
 * known when it joined; the channel starts at the lowest start of its bindings. */
#include "live/rt_internal.h"

#include "core/json_print.h"
#include "core/timefmt.h"
#include "os/log.h"
#include "rest/rest_row.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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
    json_put_int64(&b, id);
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
    int64_t known = stream_known(ch->conn->rt->opts.rows);
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

/* ---- encoding rows ---- */

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
    store_value cells[REST_MAX_COLUMNS];
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

ws_msg *rt_changes_encode(const tt_event *ev, void *ctx)
{
    const realtime *rt = ctx;
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
    ws_msg *m = b.oom ? NULL : ws_msg_new(b.buf, b.len, ev->seq);
    free(b.buf);
    return m;
}

/* ---- delivering ---- */

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

static ws_msg *build_change(const rt_channel *ch, const char *ids, const ws_msg *data)
{
    static const char mid[] = "],\"data\":";
    const char *tail = ch->conn->vsn == PHX_V2 ? "}]" : "}}";
    size_t ids_len = strlen(ids);
    size_t len = ch->change_head_len + ids_len + sizeof mid - 1 + data->len + 2;
    ws_msg *m = ws_msg_new(NULL, len, data->seq);
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
    memcpy(p, ws_msg_payload((ws_msg *)data), data->len);
    memcpy(p + data->len, tail, 2);
    return m;
}

/* The change message for the channel and the row: the last one built, if it has the same
 * bytes; else a new one, kept as the last. */
static ws_msg *change_message(rt_channel *ch, const char *ids, const ws_msg *data)
{
    realtime *rt = ch->conn->rt;
    ws_msg *last = rt->last_change.msg;
    if (last != NULL && last->seq == data->seq &&
        strcmp(rt->last_change.head, ch->change_head) == 0 &&
        strcmp(rt->last_change.ids, ids) == 0) {
        return last;
    }
    ws_msg_unref(last);
    free(rt->last_change.head);
    rt->last_change.msg = build_change(ch, ids, data);
    rt->last_change.head = strdup(ch->change_head);
    memcpy(rt->last_change.ids, ids, IDS_MAX);
    if (rt->last_change.head == NULL) {
        ws_msg_unref(rt->last_change.msg);
        rt->last_change.msg = NULL;
    }
    return rt->last_change.msg;
}

static rt_channel *channel_of(stream_sub *sub)
{
    return (rt_channel *)(void *)((char *)sub - offsetof(rt_channel, sub));
}

/* The engine offers a row above the channel's cursor. */
static void deliver_change(stream_sub *sub, stream_row *row)
{
    rt_channel *ch = channel_of(sub);
    realtime *rt = ch->conn->rt;
    char ids[IDS_MAX];
    if (!matching_ids(ch, row->ev, ids)) {
        return;
    }
    ws_msg *data = stream_row_encoding(rt->opts.rows, row, rt->format);
    ws_msg *m = data != NULL ? change_message(ch, ids, data) : NULL;
    if (m == NULL) {
        log_error("out of memory: postgres_changes for seq %lld not sent", (long long)row->ev->seq);
        return;
    }
    rt_send(ch->conn, m);
    rt->messages++;
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
    int64_t start = ch->bindings[0].start_seq;
    for (int i = 1; i < ch->nbindings; i++) {
        if (ch->bindings[i].start_seq < start) {
            start = ch->bindings[i].start_seq;
        }
    }
    ch->sub =
        (stream_sub){.format = rt->format, .peer = &ch->conn->peer, .deliver = deliver_change};
    stream_sub_start(rt->opts.rows, &ch->sub, start);
}

void rt_changes_release(rt_channel *ch)
{
    for (int i = 0; i < ch->nbindings; i++) {
        change_filter_free(&ch->bindings[i].filter);
        free(ch->bindings[i].echo);
    }
    ch->nbindings = 0;
    if (ch->change_head != NULL) {
        stream_sub_stop(&ch->sub); /* until release: change_head says it is subscribed */
    }
    free(ch->change_head);
    ch->change_head = NULL;
}

void rt_changes_drained(rt_conn *c)
{
    for (rt_channel *ch = c->channels; ch != NULL; ch = ch->conn_next) {
        if (ch->change_head != NULL) {
            stream_sub_drained(&ch->sub);
        }
    }
}
