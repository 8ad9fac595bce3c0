/* rt_internal.h -- what the files of the Realtime endpoint share: realtime.c (connections,
 * frames, joins), rt_changes.c (postgres_changes: bindings, and the channel as a subscriber of
 * the committed-rows engine)
 * and rt_peers.c (broadcast and presence). Loop thread only. */
#ifndef TT_RT_INTERNAL_H
#define TT_RT_INTERNAL_H

#include "live/realtime.h"

#include "core/auth.h"
#include "core/change_filter.h"
#include "core/phoenix.h"
#include "core/token_bucket.h"
#include "live/stream.h"
#include "live/ws_peer.h"

/* Appends a string literal to a json_buf. */
#define JSON_PUT_LIT(b, lit) json_put_raw((b), "" lit, sizeof(lit) - 1)

#define RT_MSGS_PER_S 100 /* messages a connection may send, on average ... */
#define RT_MSGS_BURST 200 /* ... and at once */
#define RT_BINDINGS_PER_CHANNEL 16
#define RT_PRESENCE_META_MAX 16384 /* bytes of what one channel tracks */

/* Access (DESIGN §5): the connection takes any valid key (the endpoint's AUTH_ANY_KEY, as
 * supabase-js connects with its anon key and joins with a user's token); heartbeat needs no
 * more. phx_join and access_token need an identity (the join's access_token, else the
 * connection's apikey) in RT_CHANNEL_ROLES; broadcast, presence and phx_leave act on a channel
 * joined that way. Role ingest has no channel. */
#define RT_CHANNEL_ROLES AUTH_ROLES_READ

typedef struct rt_channel rt_channel;

/* One postgres_changes subscription of a channel. */
typedef struct rt_binding {
    int64_t id;   /* in the join reply and in the ids of every message it matches */
    bool inserts; /* event INSERT or "*" (events are never updated or deleted one by one) */
    bool has_filter;
    change_filter filter;
    int64_t start_seq; /* rows after this seq */
    char *echo;        /* the binding as the join reply repeats it, JSON text */
} rt_binding;

struct rt_channel {
    rt_channel *prev, *next; /* every channel of the server */
    rt_channel *conn_next;   /* the connection's channels */
    rt_conn *conn;
    uint64_t id; /* unique: work coming back from the pool finds its channel by it */
    char topic[PHX_FIELD_MAX + 1];
    char join_ref[PHX_FIELD_MAX + 1];
    bool has_join_ref;
    auth_identity who;
    bool broadcast_self, broadcast_ack;
    bool presence_enabled;
    char presence_key[PHX_FIELD_MAX + 1];
    char *presence_meta; /* what it tracks (a JSON object with phx_ref), NULL if nothing */
    rt_binding bindings[RT_BINDINGS_PER_CHANNEL];
    int nbindings;
    stream_sub sub; /* postgres_changes delivery (rt_changes.c): its cursor in the rows */
    /* A change message up to its ids: '[jr,null,"topic","postgres_changes",{"ids":['; set
     * while the channel is subscribed to the committed rows (its sub started). */
    char *change_head;
    size_t change_head_len;
};

struct rt_conn {
    rt_conn *prev, *next;
    uint64_t id;
    ws_peer peer; /* the connection, what is to be sent, and how it closes */
    realtime *rt;
    phx_vsn vsn;
    auth_identity who; /* from the URL's apikey or the headers, admitted by http */
    bool has_who;
    ws_rx rx;
    token_bucket rate; /* the messages it may send (within_rate) */
    rt_channel *channels;
    int nchannels;
};

struct realtime {
    realtime_opts opts;
    http_ws_endpoint endpoint;
    uint64_t slow_dropped;
    uint64_t messages_sent;
    rt_conn *conns;
    size_t nconns;
    rt_channel *channels;
    size_t nchannels;
    uint64_t next_channel_id;
    uint64_t next_presence_ref;
    int format;    /* its encoding of a row, in the engine: the message's "data" object */
    char *columns; /* the "columns" of every message, JSON (read by pool threads) */
    uint64_t messages;
    /* The message last built for a row, reused by every channel that would build the same
     * bytes (same row, head and ids): clients with identical subscriptions share it. */
    struct {
        ws_msg *msg;
        char *head;
        char ids[RT_BINDINGS_PER_CHANNEL * 12]; /* "2147483647," per binding */
    } last_change;
};

/* rt_send.c */
void rt_send(rt_conn *c, ws_msg *m); /* queues a reference; drops a client too far behind */
/* A Phoenix message in the connection's serializer: [join_ref, ref, topic, event, payload]. */
void rt_send_raw(rt_conn *c, const char *join_ref, const char *ref, const char *topic,
                 const char *event, const char *payload);
/* A server push on the channel's topic: [join_ref, null, topic, event, payload]. */
void rt_push(rt_channel *ch, const char *event, const char *payload);
/* The phx_reply to 'm': {"status":"ok"|"error","response":R}, R being JSON text. */
void rt_reply(rt_conn *c, const phx_msg *m, bool ok, const char *response);
void rt_reply_ok(rt_conn *c, const phx_msg *m); /* response {} */
/* An error reply whose response is {"reason": why}. */
void rt_reply_error(rt_conn *c, const phx_msg *m, const char *why);
/* rt_limits.c: true, the join refused with a reply naming the limit, when the connection has
 * joined TELLTALE_REALTIME_MAX_JOINS channels already. */
bool rt_join_over_limit(rt_conn *c, const phx_msg *m);

/* realtime.c */
/* Closes a channel: presence leaves, and phx_close is sent if 'tell' (its join_ref). */
void rt_channel_close(rt_channel *ch, bool tell);

/* rt_changes.c */
/* Reads config.postgres_changes ('list' may be NULL) into the channel's bindings. */
int rt_changes_configure(rt_channel *ch, const cJSON *list, char err[TT_ERRLEN]);
/* Realtime's "columns" for monitoring_events, from the catalog; a new string, NULL when OOM. */
char *rt_changes_columns(void);
/* The join reply's response: {"postgres_changes":[...]}, a new string; NULL when OOM. */
char *rt_changes_reply(const rt_channel *ch);
/* After the join reply: the system message, and rows begin (history first, if asked). */
void rt_changes_start(rt_channel *ch);
void rt_changes_release(rt_channel *ch);
/* A connection's queue drained: a catch-up that waited for room goes on. */
void rt_changes_drained(rt_conn *c);
/* The "data" of a postgres_changes message for one inserted row ('ctx' is the realtime): the
 * engine's encoder. Any thread. */
ws_msg *rt_changes_encode(const tt_event *ev, void *ctx);

/* rt_peers.c */
int rt_broadcast(rt_channel *from, const phx_msg *m, char err[TT_ERRLEN]);
int rt_presence(rt_channel *ch, const phx_msg *m, char err[TT_ERRLEN]);
/* The joiner's first view of who is there: presence_state. */
void rt_presence_state(rt_channel *ch);
/* The channel goes: what it tracked leaves. */
void rt_presence_leave(rt_channel *ch);

#endif
