/* rt_peers.c -- what Realtime clients tell each other: broadcast and presence.
 *
 * A topic is server-wide: every channel joined to "realtime:x" on this instance hears the
 * broadcasts sent on it and sees who tracks presence there. (Across instances on one
 * PostgreSQL only postgres_changes are shared; broadcast and presence stay on the instance
 * the client is connected to.)
 *
 * Broadcast: payload {"type":"broadcast","event":E,"payload":P}, sent on to the topic's other
 * channels (and the sender's own with config.broadcast.self) as event "broadcast". A binary
 * payload (vsn 2.0.0) goes on as a "user broadcast" frame to 2.0.0 clients; 1.0.0 has no
 * binary frames, so its clients do not get it.
 *
 * Presence: payload {"type":"presence","event":"track"|"untrack","payload":P}. A channel
 * tracks one state under its presence key: P plus a unique phx_ref. Changes go to every
 * presence-enabled channel on the topic as presence_diff {"joins":{K:{"metas":[...]}},
 * "leaves":{...}}; a channel that joins with presence enabled first gets presence_state
 * {K:{"metas":[...]}, ...}. */
#include "live/rt_internal.h"

#include "core/json_print.h"

#include <stdlib.h>
#include <string.h>

/* ---- broadcast ---- */

typedef struct fanout {
    ws_msg *by_vsn[3]; /* rendered on first need, indexed by phx_vsn */
} fanout;

static ws_msg *render_text(const rt_channel *from, phx_vsn vsn, const char *payload)
{
    size_t len = 0;
    char *text = phx_render(vsn, NULL, NULL, from->topic, "broadcast", payload, &len);
    ws_msg *m = text != NULL ? ws_msg_new(text, len, 0) : NULL;
    free(text);
    return m;
}

static ws_msg *render_binary(const rt_channel *from, const phx_msg *m, const char *event)
{
    size_t len = 0;
    unsigned char *frame = phx_render_user_broadcast(from->topic, event, m->raw, m->raw_len, &len);
    ws_msg *msg = frame != NULL ? ws_msg_new_binary(len) : NULL;
    if (msg != NULL) {
        memcpy(ws_msg_payload(msg), frame, len);
    }
    free(frame);
    return msg;
}

/* The message for a receiver speaking 'vsn'; NULL if it cannot have one. */
static ws_msg *message_for(fanout *f, const rt_channel *from, const phx_msg *m, phx_vsn vsn,
                           const char *payload, const char *event)
{
    if (m->raw != NULL && vsn != PHX_V2) {
        return NULL;
    }
    if (f->by_vsn[vsn] == NULL) {
        f->by_vsn[vsn] =
            m->raw != NULL ? render_binary(from, m, event) : render_text(from, vsn, payload);
    }
    return f->by_vsn[vsn];
}

int rt_broadcast(rt_channel *from, const phx_msg *m, char err[TT_ERRLEN])
{
    const cJSON *event = cJSON_GetObjectItemCaseSensitive(m->payload, "event");
    if (!cJSON_IsObject(m->payload) || !cJSON_IsString(event) || event->valuestring[0] == '\0' ||
        strlen(event->valuestring) > PHX_FIELD_MAX) {
        return tt_fail(err, TT_EINVAL,
                       "a broadcast payload is {\"type\":\"broadcast\",\"event\":E,\"payload\":P} "
                       "with E a string of 1 to 255 bytes");
    }
    char *payload = m->raw == NULL ? json_print(m->payload, NULL) : NULL;
    if (m->raw == NULL && payload == NULL) {
        return tt_fail(err, TT_ENOMEM, "out of memory");
    }
    fanout f = {{NULL}};
    for (rt_channel *ch = from->conn->rt->channels; ch != NULL; ch = ch->next) {
        if ((ch != from || from->broadcast_self) && strcmp(ch->topic, from->topic) == 0) {
            rt_send(ch->conn, message_for(&f, from, m, ch->conn->vsn, payload, event->valuestring));
        }
    }
    for (int i = 0; i < 3; i++) {
        ws_msg_unref(f.by_vsn[i]);
    }
    free(payload);
    return 0;
}

void realtime_broadcast(realtime *rt, const char *topic, const char *event, const char *payload)
{
    json_buf b = {0};
    JSON_PUT_LIT(&b, "{\"type\":\"broadcast\",\"event\":");
    json_put_string(&b, event);
    JSON_PUT_LIT(&b, ",\"payload\":");
    json_put_raw(&b, payload, strlen(payload));
    JSON_PUT_LIT(&b, "}");
    for (rt_channel *ch = rt->channels; ch != NULL && !b.oom; ch = ch->next) {
        if (strcmp(ch->topic, topic) == 0) {
            rt_push(ch, "broadcast", b.buf);
        }
    }
    free(b.buf);
}

/* ---- presence ---- */

/* {K:{"metas":[M]}} for one channel's key and meta, or {} without a meta. */
static void put_one(json_buf *b, const char *key, const char *meta)
{
    JSON_PUT_LIT(b, "{");
    if (meta != NULL) {
        json_put_string(b, key);
        JSON_PUT_LIT(b, ":{\"metas\":[");
        json_put_raw(b, meta, strlen(meta));
        JSON_PUT_LIT(b, "]}");
    }
    JSON_PUT_LIT(b, "}");
}

/* Sends presence_diff to the presence-enabled channels on the topic, 'skip' excepted. */
static void send_diff(rt_channel *on, const rt_channel *skip, const char *joined, const char *left)
{
    json_buf b = {0};
    JSON_PUT_LIT(&b, "{\"joins\":");
    put_one(&b, on->presence_key, joined);
    JSON_PUT_LIT(&b, ",\"leaves\":");
    put_one(&b, on->presence_key, left);
    JSON_PUT_LIT(&b, "}");
    if (b.oom) {
        free(b.buf);
        return;
    }
    for (rt_channel *ch = on->conn->rt->channels; ch != NULL; ch = ch->next) {
        if (ch != skip && ch->presence_enabled && strcmp(ch->topic, on->topic) == 0) {
            rt_push(ch, "presence_diff", b.buf);
        }
    }
    free(b.buf);
}

/* What 'ch' tracks from now: the user's payload plus a phx_ref no other meta has. */
static char *make_meta(rt_channel *ch, const cJSON *user, char *err)
{
    cJSON *meta = user != NULL ? cJSON_Duplicate(user, true) : cJSON_CreateObject();
    char ref[32];
    snprintf(ref, sizeof ref, "tt%llu", (unsigned long long)++ch->conn->rt->next_presence_ref);
    if (meta != NULL) {
        cJSON_DeleteItemFromObjectCaseSensitive(meta, "phx_ref"); /* the server's to give */
    }
    if (meta == NULL || cJSON_AddStringToObject(meta, "phx_ref", ref) == NULL) {
        cJSON_Delete(meta);
        tt_fail(err, TT_ENOMEM, "out of memory");
        return NULL;
    }
    size_t len = 0;
    char *text = json_print_delete(meta, &len);
    if (text != NULL && len > RT_PRESENCE_META_MAX) {
        free(text);
        tt_fail(err, TT_EINVAL, "a presence state is at most %d bytes of JSON",
                RT_PRESENCE_META_MAX);
        return NULL;
    }
    if (text == NULL) {
        tt_fail(err, TT_ENOMEM, "out of memory");
    }
    return text;
}

static int track(rt_channel *ch, const cJSON *user, char *err)
{
    if (user != NULL && !cJSON_IsObject(user)) {
        return tt_fail(err, TT_EINVAL, "track: the presence payload must be an object");
    }
    char *meta = make_meta(ch, user, err);
    if (meta == NULL) {
        return TT_EINVAL;
    }
    char *old = ch->presence_meta;
    ch->presence_meta = meta;
    send_diff(ch, NULL, meta, old); /* a new track replaces the old: both in one diff */
    free(old);
    return 0;
}

/* What 'ch' tracked leaves: every presence-enabled channel on the topic but 'skip' hears it. */
static void drop_meta(rt_channel *ch, const rt_channel *skip)
{
    if (ch->presence_meta == NULL) {
        return;
    }
    char *old = ch->presence_meta;
    ch->presence_meta = NULL;
    send_diff(ch, skip, NULL, old);
    free(old);
}

int rt_presence(rt_channel *ch, const phx_msg *m, char err[TT_ERRLEN])
{
    const cJSON *event = cJSON_GetObjectItemCaseSensitive(m->payload, "event");
    if (!cJSON_IsString(event)) {
        return tt_fail(err, TT_EINVAL,
                       "a presence payload is {\"type\":\"presence\",\"event\":\"track\"|"
                       "\"untrack\",\"payload\":{...}}");
    }
    if (strcmp(event->valuestring, "track") == 0) {
        return track(ch, cJSON_GetObjectItemCaseSensitive(m->payload, "payload"), err);
    }
    if (strcmp(event->valuestring, "untrack") == 0) {
        drop_meta(ch, NULL);
        return 0;
    }
    return tt_fail(err, TT_EINVAL, "presence events are track and untrack");
}

/* Adds every meta tracked under 'key' on the topic to 'b', comma-separated. */
static void put_metas_of(json_buf *b, const rt_channel *on, const char *key)
{
    bool first = true;
    for (const rt_channel *ch = on->conn->rt->channels; ch != NULL; ch = ch->next) {
        if (ch->presence_meta != NULL && strcmp(ch->topic, on->topic) == 0 &&
            strcmp(ch->presence_key, key) == 0) {
            json_put_raw(b, first ? "" : ",", first ? 0 : 1);
            json_put_raw(b, ch->presence_meta, strlen(ch->presence_meta));
            first = false;
        }
    }
}

/* True if a channel before 'ch' in the list tracks under the same key on the same topic. */
static bool key_seen_before(const rt_channel *ch)
{
    for (const rt_channel *p = ch->prev; p != NULL; p = p->prev) {
        if (p->presence_meta != NULL && strcmp(p->topic, ch->topic) == 0 &&
            strcmp(p->presence_key, ch->presence_key) == 0) {
            return true;
        }
    }
    return false;
}

void rt_presence_state(rt_channel *ch)
{
    json_buf b = {0};
    bool first = true;
    JSON_PUT_LIT(&b, "{");
    for (const rt_channel *p = ch->conn->rt->channels; p != NULL; p = p->next) {
        if (p->presence_meta == NULL || strcmp(p->topic, ch->topic) != 0 || key_seen_before(p)) {
            continue;
        }
        json_put_raw(&b, first ? "" : ",", first ? 0 : 1);
        json_put_string(&b, p->presence_key);
        JSON_PUT_LIT(&b, ":{\"metas\":[");
        put_metas_of(&b, ch, p->presence_key);
        JSON_PUT_LIT(&b, "]}");
        first = false;
    }
    JSON_PUT_LIT(&b, "}");
    if (!b.oom) {
        rt_push(ch, "presence_state", b.buf);
    }
    free(b.buf);
}

void rt_presence_leave(rt_channel *ch)
{
    drop_meta(ch, ch); /* the channel itself is going */
}
