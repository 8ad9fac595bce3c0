/* realtime.c -- the Realtime endpoint's connections: the upgrade, frames in and out, and the
 * Phoenix events every channel has (heartbeat, phx_join, phx_leave, access_token), handing
 * postgres_changes to rt_changes.c and broadcast/presence to rt_peers.c.
 *
 * What a server says, as the Supabase Realtime server says it and @supabase/realtime-js reads
 * it: every reply is a phx_reply on the topic of the push, with the push's refs, and a payload
 * {"status":"ok"|"error","response":{...}}; an error's response is {"reason":"..."}, which
 * realtime-js shows as the subscription error. A push on a topic the connection has not joined
 * gets {"reason":"unmatched topic"}. */
#include "live/rt_internal.h"

#include "core/json_print.h"
#include "live/state_access.h"
#include "os/clock.h"
#include "os/log.h"

#include <stdlib.h>
#include <string.h>

#define RT_MAX_FRAME (1024 * 1024) /* bytes of one message from a client */

/* ---- channels ---- */

static rt_channel *find_channel(rt_conn *c, const char *topic)
{
    for (rt_channel *ch = c->channels; ch != NULL; ch = ch->conn_next) {
        if (strcmp(ch->topic, topic) == 0) {
            return ch;
        }
    }
    return NULL;
}

static void unlink_channel(rt_channel *ch)
{
    realtime *rt = ch->conn->rt;
    rt_channel **link = &ch->conn->channels;
    while (*link != ch) {
        link = &(*link)->conn_next;
    }
    *link = ch->conn_next;
    ch->conn->nchannels--;
    if (ch->prev != NULL) {
        ch->prev->next = ch->next;
    } else {
        rt->channels = ch->next;
    }
    if (ch->next != NULL) {
        ch->next->prev = ch->prev;
    }
    rt->nchannels--;
}

void rt_channel_close(rt_channel *ch, bool tell)
{
    rt_presence_leave(ch);
    if (tell) {
        rt_push(ch, "phx_close", "{}");
    }
    unlink_channel(ch);
    rt_changes_release(ch);
    free(ch->presence_meta);
    free(ch);
}

static rt_channel *new_channel(rt_conn *c, const phx_msg *m)
{
    rt_channel *ch = calloc(1, sizeof *ch);
    if (ch == NULL) {
        return NULL;
    }
    realtime *rt = c->rt;
    ch->conn = c;
    ch->id = ++rt->next_channel_id;
    memcpy(ch->topic, m->topic, sizeof ch->topic);
    memcpy(ch->join_ref, m->has_join_ref ? m->join_ref : m->ref, sizeof ch->join_ref);
    ch->has_join_ref = m->has_join_ref || m->has_ref; /* a v1 client may send only a ref */
    return ch;
}

static void link_channel(rt_channel *ch)
{
    rt_conn *c = ch->conn;
    realtime *rt = c->rt;
    ch->conn_next = c->channels;
    c->channels = ch;
    c->nchannels++;
    ch->next = rt->channels;
    if (rt->channels != NULL) {
        rt->channels->prev = ch;
    }
    rt->channels = ch;
    rt->nchannels++;
}

/* Tells the channel why it goes, in a system message with status error (as a Supabase
 * server does), and closes it. */
static void close_with_error(rt_channel *ch, const char *message)
{
    json_buf b = {0};
    JSON_PUT_LIT(&b, "{\"message\":");
    json_put_string(&b, message);
    JSON_PUT_LIT(&b, ",\"status\":\"error\",\"extension\":\"system\",\"channel\":");
    json_put_string(&b, ch->topic + 9);
    JSON_PUT_LIT(&b, "}");
    if (!b.oom) {
        rt_push(ch, "system", b.buf);
    }
    free(b.buf);
    rt_channel_close(ch, true);
}

/* Channels whose token has expired are closed. */
static void expire_tokens(realtime *rt)
{
    int64_t now_s = (int64_t)(clock_now_ms() / 1000);
    rt_channel *next;
    for (rt_channel *ch = rt->channels; ch != NULL; ch = next) {
        next = ch->next;
        if (ch->who.expires_s != 0 && now_s >= ch->who.expires_s && !ch->conn->peer.closing) {
            char message[96];
            snprintf(message, sizeof message, "Token has expired %lld seconds ago",
                     (long long)(now_s - ch->who.expires_s));
            close_with_error(ch, message);
        }
    }
}

/* ---- joining ---- */

static bool get_bool(const cJSON *obj, const char *name)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, name));
}

/* Who joins: the access_token of the join, else the connection's apikey. */
static int join_identity(rt_conn *c, const cJSON *payload, auth_identity *who, char *err)
{
    const cJSON *token = cJSON_GetObjectItemCaseSensitive(payload, "access_token");
    if (token == NULL || cJSON_IsNull(token)) {
        if (!c->has_who) {
            return tt_fail(err, TT_EINVAL, "no key: send an apikey or an access_token");
        }
        *who = c->who;
        return 0;
    }
    if (!cJSON_IsString(token)) {
        return tt_fail(err, TT_EINVAL, "'access_token' must be a string");
    }
    return auth_credential(c->rt->opts.cfg, token->valuestring, (int64_t)(clock_now_ms() / 1000),
                           who, err);
}

/* Why a valid identity may not have a channel (RT_CHANNEL_ROLES). */
static int refuse_role(const tt_config *cfg, auth_role role, char *err)
{
    return tt_fail(err, TT_EINVAL, "role %s may not join channels%s", auth_role_name(role),
                   role == AUTH_ANON && !cfg->anon_read ? " (TELLTALE_ANON_READ is off)" : "");
}

/* The channel's settings from config.broadcast and config.presence. */
static int configure_peers(rt_channel *ch, const cJSON *config, char *err)
{
    if (get_bool(config, "private")) {
        return tt_fail(err, TT_EINVAL,
                       "private channels are not supported by telltale: join with private false");
    }
    const cJSON *broadcast = cJSON_GetObjectItemCaseSensitive(config, "broadcast");
    ch->broadcast_self = get_bool(broadcast, "self");
    ch->broadcast_ack = get_bool(broadcast, "ack");
    const cJSON *presence = cJSON_GetObjectItemCaseSensitive(config, "presence");
    ch->presence_enabled = get_bool(presence, "enabled");
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(presence, "key");
    if (cJSON_IsString(key) && key->valuestring[0] != '\0') {
        if (strlen(key->valuestring) > PHX_FIELD_MAX) {
            return tt_fail(err, TT_EINVAL, "config.presence.key is longer than %d bytes",
                           PHX_FIELD_MAX);
        }
        strcpy(ch->presence_key, key->valuestring);
    } else {
        /* Supabase gives a keyless presence a unique key per channel; so does telltale. */
        snprintf(ch->presence_key, sizeof ch->presence_key, "%llu-%llu",
                 (unsigned long long)ch->conn->id, (unsigned long long)ch->id);
    }
    return 0;
}

/* Topic state:C carries client C's dashboard state, for whom auth_reaches_client() admits; 0 for
 * any other topic. */
static int check_state_topic(const char *topic, const auth_identity *who, char err[TT_ERRLEN])
{
    static const char prefix[] = "realtime:state:";
    const char *client =
        strncmp(topic, prefix, sizeof prefix - 1) == 0 ? topic + sizeof prefix - 1 : NULL;
    if (client != NULL && !auth_reaches_client(who, client)) {
        char what[TT_ERRLEN];
        snprintf(what, sizeof what, "join topic state:%.64s", client);
        state_access_refusal(who, what, err, TT_ERRLEN);
        return TT_EINVAL;
    }
    return 0;
}

static int configure_channel(rt_channel *ch, const cJSON *payload, char *err)
{
    if (!cJSON_IsObject(payload)) {
        return tt_fail(err, TT_EINVAL, "the join payload must be an object");
    }
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(payload, "config");
    if (config != NULL && !cJSON_IsObject(config)) {
        return tt_fail(err, TT_EINVAL, "'config' must be an object");
    }
    int rc = join_identity(ch->conn, payload, &ch->who, err);
    if (rc == 0 && !auth_allows(ch->conn->rt->opts.cfg, RT_CHANNEL_ROLES, ch->who.role)) {
        rc = refuse_role(ch->conn->rt->opts.cfg, ch->who.role, err);
    }
    if (rc == 0) {
        rc = check_state_topic(ch->topic, &ch->who, err);
    }
    if (rc == 0) {
        rc = configure_peers(ch, config, err);
    }
    if (rc == 0) {
        rc = rt_changes_configure(ch, cJSON_GetObjectItemCaseSensitive(config, "postgres_changes"),
                                  err);
    }
    return rc;
}

static void on_join(rt_conn *c, const phx_msg *m)
{
    char err[TT_ERRLEN] = "";
    rt_channel *old = find_channel(c, m->topic);
    if (old == NULL && rt_join_over_limit(c, m)) {
        return;
    }
    if (strncmp(m->topic, "realtime:", 9) != 0 || m->topic[9] == '\0') {
        rt_reply_error(c, m, "a channel topic is 'realtime:NAME'");
        return;
    }
    rt_channel *ch = new_channel(c, m);
    if (ch == NULL) {
        rt_reply_error(c, m, "out of memory");
        return;
    }
    char *response = NULL;
    if (configure_channel(ch, m->payload, err) != 0 || (response = rt_changes_reply(ch)) == NULL) {
        rt_reply_error(c, m, response == NULL && err[0] == '\0' ? "out of memory" : err);
        rt_changes_release(ch);
        free(ch);
        return;
    }
    if (old != NULL) {
        rt_channel_close(old, true); /* a rejoin replaces the old join, as Phoenix does */
    }
    link_channel(ch);
    rt_reply(c, m, true, response);
    free(response);
    rt_changes_start(ch);
    if (ch->presence_enabled) {
        rt_presence_state(ch);
    }
}

static void on_leave(rt_conn *c, rt_channel *ch, const phx_msg *m)
{
    rt_reply_ok(c, m);
    rt_channel_close(ch, true);
}

/* A new token for the channel: valid, it replaces the old one; invalid, the channel is told
 * and closed, as the Supabase server does. */
static void on_access_token(rt_conn *c, rt_channel *ch, const phx_msg *m)
{
    char err[TT_ERRLEN];
    auth_identity who;
    const cJSON *token = cJSON_GetObjectItemCaseSensitive(m->payload, "access_token");
    if (!cJSON_IsString(token)) {
        rt_reply_error(c, m, "'access_token' must be a string");
        return;
    }
    const tt_config *cfg = c->rt->opts.cfg;
    if (auth_credential(cfg, token->valuestring, (int64_t)(clock_now_ms() / 1000), &who, err) !=
            0 ||
        (!auth_allows(cfg, RT_CHANNEL_ROLES, who.role) && refuse_role(cfg, who.role, err)) ||
        check_state_topic(ch->topic, &who, err) != 0) {
        close_with_error(ch, err);
        return;
    }
    ch->who = who;
    rt_reply_ok(c, m);
}

static void on_channel_event(rt_conn *c, rt_channel *ch, const phx_msg *m)
{
    char err[TT_ERRLEN] = "";
    if (strcmp(m->event, "phx_leave") == 0) {
        on_leave(c, ch, m);
    } else if (strcmp(m->event, "access_token") == 0) {
        on_access_token(c, ch, m);
    } else if (strcmp(m->event, "broadcast") == 0) {
        if (rt_broadcast(ch, m, err) != 0) {
            rt_reply_error(c, m, err);
        } else if (ch->broadcast_ack) {
            rt_reply_ok(c, m);
        }
    } else if (strcmp(m->event, "presence") == 0) {
        if (rt_presence(ch, m, err) != 0) {
            rt_reply_error(c, m, err);
        } else {
            rt_reply_ok(c, m);
        }
    } else {
        rt_reply_error(c, m,
                       "unknown event: expected phx_leave, access_token, broadcast or presence");
    }
}

static void handle_message(rt_conn *c, const phx_msg *m)
{
    if (strcmp(m->topic, "phoenix") == 0) {
        if (strcmp(m->event, "heartbeat") == 0) {
            rt_reply_ok(c, m);
        } else {
            rt_reply_error(c, m, "the phoenix topic takes only heartbeat");
        }
        return;
    }
    if (strcmp(m->event, "phx_join") == 0) {
        on_join(c, m);
        return;
    }
    rt_channel *ch = find_channel(c, m->topic);
    if (ch == NULL) {
        rt_reply_error(c, m, "unmatched topic");
        return;
    }
    on_channel_event(c, ch, m);
}

/* A frame that is not a Phoenix message is answered on topic "phoenix" (it has no other). */
static void bad_frame(rt_conn *c, const char *why)
{
    json_buf b = {0};
    JSON_PUT_LIT(&b, "{\"status\":\"error\",\"response\":{\"reason\":");
    json_put_string(&b, why);
    JSON_PUT_LIT(&b, "}}");
    if (!b.oom) {
        rt_send_raw(c, NULL, NULL, "phoenix", "phx_reply", b.buf);
    }
    free(b.buf);
}

/* A token bucket per connection: RT_MSGS_PER_S messages a second, RT_MSGS_BURST at once.
 * A broadcast is sent on to every channel of its topic, so a flood from one client would
 * multiply; past the rate its messages are refused (and not acted on). */
static bool within_rate(rt_conn *c)
{
    return token_bucket_take(&c->rate, RT_MSGS_PER_S, RT_MSGS_BURST, 1, clock_mono_ms()) == 0;
}

static void handle_frame(rt_conn *c, bool binary)
{
    phx_msg m;
    char err[TT_ERRLEN];
    bool allowed = within_rate(c);
    if (phx_parse(c->vsn, binary, c->rx.buf, c->rx.len, &m, err) != 0) {
        bad_frame(c, allowed ? err : "too many messages: at most 100 a second per connection");
        return;
    }
    if (allowed) {
        handle_message(c, &m);
    } else {
        rt_reply_error(c, &m, "too many messages: at most 100 a second per connection");
    }
    phx_msg_free(&m);
}

/* ---- the upgrade ---- */

static int vsn_of(http_ws *wsi, phx_vsn *out)
{
    char vsn[16];
    if (!http_ws_arg(wsi, "vsn", vsn, sizeof vsn) || strcmp(vsn, "1.0.0") == 0) {
        *out = PHX_V1; /* the protocol's default, as the Phoenix server has it */
        return 0;
    }
    if (strcmp(vsn, "2.0.0") == 0) {
        *out = PHX_V2;
        return 0;
    }
    return TT_EINVAL;
}

/* ---- the endpoint's callbacks (http_ws_endpoint) ---- */

static int check_upgrade(void *ctx, http_ws *wsi, const char **code, char *why)
{
    (void)ctx;
    phx_vsn vsn;
    if (vsn_of(wsi, &vsn) != 0) {
        *code = "invalid_parameter";
        tt_fail(why, TT_EINVAL, "unsupported vsn: telltale speaks 1.0.0 and 2.0.0");
        return 400;
    }
    return 0; /* the apikey was checked by http (the endpoint's roles) */
}

static int on_open(void *ctx, http_ws *wsi, const auth_identity *who, void **conn)
{
    realtime *rt = ctx;
    rt_conn *c = calloc(1, sizeof *c);
    if (c == NULL || vsn_of(wsi, &c->vsn) != 0) {
        free(c);
        return -1;
    }
    c->who = *who;
    c->has_who = who->role != AUTH_NONE;
    c->id = http_server_next_id(rt->opts.hs);
    c->peer.ws = wsi;
    token_bucket_init(&c->rate, RT_MSGS_BURST, clock_mono_ms());
    c->rt = rt;
    c->next = rt->conns;
    if (rt->conns != NULL) {
        rt->conns->prev = c;
    }
    rt->conns = c;
    rt->nconns++;
    *conn = c;
    return 0;
}

static int on_receive(void *conn, http_ws *wsi, const void *in, size_t len)
{
    rt_conn *c = conn;
    if (c->peer.closing) {
        return 0;
    }
    int whole = ws_rx_add(wsi, &c->rx, in, len, RT_MAX_FRAME);
    if (whole == 1) {
        handle_frame(c, http_ws_binary(wsi));
        ws_rx_clear(&c->rx);
    }
    return whole < 0 ? -1 : 0;
}

static int on_writable(void *conn)
{
    rt_conn *c = conn;
    if (c->peer.closing) {
        return 0;
    }
    if (ws_peer_flush(&c->peer, &c->rt->messages_sent) != 0) {
        return -1;
    }
    if (c->peer.out.bytes <= c->rt->opts.cfg->ws_max_buffer / 2) {
        rt_changes_drained(c);
    }
    return 0;
}

static int on_timer(void *conn)
{
    return ws_peer_on_timer(&((rt_conn *)conn)->peer);
}

static void on_close(void *conn)
{
    rt_conn *c = conn;
    c->peer.closing = true; /* nothing more is queued for it while its channels go */
    while (c->channels != NULL) {
        rt_channel_close(c->channels, false);
    }
    realtime *rt = c->rt;
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        rt->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    rt->nconns--;
    msg_ring_free(&c->peer.out);
    ws_rx_clear(&c->rx);
    free(c);
}

/* ---- the endpoint ---- */

int realtime_create(const realtime_opts *opts, realtime **out)
{
    realtime *rt = calloc(1, sizeof *rt);
    if (rt == NULL) {
        return TT_ENOMEM;
    }
    rt->opts = *opts;
    rt->endpoint = (http_ws_endpoint){.path = REALTIME_PATH,
                                      .ctx = rt,
                                      .roles = AUTH_ANY_KEY, /* channels check theirs */
                                      .check = check_upgrade,
                                      .on_open = on_open,
                                      .on_receive = on_receive,
                                      .on_writable = on_writable,
                                      .on_timer = on_timer,
                                      .on_close = on_close};
    if ((rt->columns = rt_changes_columns()) == NULL ||
        (rt->format = stream_format_add(opts->rows, rt_changes_encode, rt)) < 0) {
        free(rt->columns);
        free(rt);
        return TT_ENOMEM;
    }
    *out = rt;
    return 0;
}

void realtime_free(realtime *rt)
{
    if (rt != NULL) {
        free(rt->columns);
        ws_msg_unref(rt->last_change.msg);
        free(rt->last_change.head);
    }
    free(rt);
}

void realtime_close_all(realtime *rt, int code, const char *reason)
{
    for (rt_conn *c = rt != NULL ? rt->conns : NULL; c != NULL; c = c->next) {
        ws_peer_close(&c->peer, code, reason);
    }
}

void realtime_tick(realtime *rt)
{
    if (rt != NULL) {
        expire_tokens(rt);
    }
}

void realtime_get_stats(const realtime *rt, realtime_stats *out)
{
    *out = (realtime_stats){0};
    if (rt != NULL) {
        out->connections = rt->nconns;
        out->channels = rt->nchannels;
        out->delivered_seq = stream_delivered(rt->opts.rows);
        out->messages = rt->messages;
        out->slow_dropped = rt->slow_dropped;
        out->messages_sent = rt->messages_sent;
    }
}

const http_ws_endpoint *realtime_endpoint(realtime *rt)
{
    return &rt->endpoint;
}
