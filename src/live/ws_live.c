/* ws_live.c -- the /ws protocol over the committed-rows engine (stream.c): hello, resume,
 * subscribe filters, ingest with acks, stats, recent events, and slow consumers. Each client
 * is one subscriber of the engine; resume moves its cursor, and the engine reads what it
 * missed and hands it over to the live tail with no gap and no duplicate.
 *
 * Access (DESIGN §5): any role that may read or ingest connects; each message type states the
 * roles that may send it (the table before dispatch()). Only readers are sent events, stats and
 * flags: a producer's connection (role ingest) gets its hello, acks and pongs. */
#include "live/ws_live.h"

#include "core/json_print.h"
#include "live/state_access.h"
#include "live/stream.h"
#include "live/ws_message.h"
#include "live/ws_recent.h"
#include "live/ws_peer.h"
#include "live/ws_read.h"
#include "live/ws_text.h"
#include "os/clock.h"
#include "os/log.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define RECENT_MAX 1000

typedef struct ws_client ws_client;

struct ws_live {
    ws_live_opts opts;
    http_ws_endpoint endpoint;
    int format; /* its encoding of a row, in the engine: the event message */
    ws_client *clients;
    size_t nclients;
    uint64_t slow_dropped;
    uint64_t messages_sent;
    char *flags; /* the flags object of hello and of "flags" messages; NULL: {} */
};

struct ws_client {
    ws_client *prev, *next;
    uint64_t id;
    ws_peer peer; /* the connection, what is to be sent, and how it closes */
    ws_live *ws;
    stream_sub sub; /* its cursor in the committed rows */
    ws_filter filter;
    ws_rx rx;
    char state_client[STATE_CLIENT_MAX + 1]; /* whose dashboard state it follows; "" = none */
    auth_identity who;                       /* admitted at the upgrade (http access.c) */
    bool reader;                             /* may read: streamed events and stats */
};

/* ---- messages ---- */

static bool not_an_event(const ws_msg *m)
{
    return m->seq == 0;
}

/* ---- clients ---- */

static void close_client(ws_client *c, int code, const char *reason)
{
    ws_peer_close(&c->peer, code, reason);
}

/* Queues 'm' for 'c'; a client that has fallen too far behind is dropped instead. */
static void client_send(ws_client *c, ws_msg *m)
{
    if (!ws_peer_send(&c->peer, m, c->ws->opts.cfg->ws_max_buffer)) {
        c->ws->slow_dropped++;
        log_info("ws client %llu dropped: not reading fast enough", (unsigned long long)c->id);
    }
}

/* Sends the document 'w' holds, emptying 'w'. */
static void send_written(ws_client *c, json_writer *w)
{
    ws_msg *m = ws_msg_from_writer(w, 0);
    client_send(c, m);
    ws_msg_unref(m);
}

/* A constant message, sent as it is. */
static void send_text(ws_client *c, const char *text)
{
    ws_msg *m = ws_msg_new(text, strlen(text), 0);
    client_send(c, m);
    ws_msg_unref(m);
}

static void send_error(ws_client *c, const char *ref, const char *code, const char *message,
                       int index)
{
    ws_msg *m = ws_text_error(ref, code, message, index);
    client_send(c, m);
    ws_msg_unref(m);
}

static ws_client *find_client(ws_live *ws, uint64_t id)
{
    for (ws_client *c = ws->clients; c != NULL; c = c->next) {
        if (c->id == id) {
            return c->peer.closing ? NULL : c;
        }
    }
    return NULL;
}

/* ---- rows from the engine ---- */

static ws_client *client_of(stream_sub *sub)
{
    return (ws_client *)(void *)((char *)sub - offsetof(ws_client, sub));
}

static void deliver_event(stream_sub *sub, stream_row *row)
{
    ws_client *c = client_of(sub);
    if (!ws_filter_matches(&c->filter, row->ev)) {
        return;
    }
    ws_msg *m = stream_row_encoding(c->ws->opts.rows, row, c->ws->format);
    if (m == NULL) {
        log_error("out of memory rendering event %lld for /ws", (long long)row->ev->seq);
        return;
    }
    client_send(c, m);
}

static void catchup_failed(stream_sub *sub, const char *why)
{
    (void)why;
    close_client(client_of(sub), 1011, "store unavailable");
}

/* ---- messages from the client ---- */

static void on_resume(ws_client *c, ws_parsed *parsed)
{
    const cJSON *msg = parsed->msg;
    const cJSON *after = cJSON_GetObjectItemCaseSensitive(msg, "after_seq");
    if (!cJSON_IsNumber(after) || after->valuedouble < 0 ||
        after->valuedouble != (double)(int64_t)after->valuedouble) {
        send_error(c, NULL, "invalid_message", "'after_seq' must be an integer >= 0", -1);
        return;
    }
    msg_ring_filter(&c->peer.out, not_an_event); /* a resume re-reads events */
    stream_sub_resume(&c->sub, (int64_t)after->valuedouble);
}

static void on_subscribe(ws_client *c, ws_parsed *parsed)
{
    const cJSON *msg = parsed->msg;
    char why[128];
    if (!ws_message_filter(msg, &c->filter, why, sizeof why)) {
        send_error(c, NULL, "invalid_message", why, -1);
    }
}

/* The ref of an ingest, as JSON text to echo back; NULL (with an error sent) if unusable. */
static char *take_ref(ws_client *c, const cJSON *msg, bool *ok)
{
    char *text = ws_message_ref(msg, ok);
    if (!*ok) {
        send_error(c, NULL, "invalid_message",
                   "'ref' must be a number or a string of at most 128 bytes", -1);
    }
    return text;
}

/* A /ws ingest waiting for its answer: which client, and the ref to echo. */
typedef struct pending_ingest {
    ws_live *ws;
    uint64_t client_id;
    char *ref;
} pending_ingest;

static void send_refusal(ws_client *c, const char *ref, const ingest_refusal *why)
{
    send_error(c, ref, why->code, why->message, why->index);
}

/* The ingest is durable, or was refused: ack or error, if the client is still there. */
static void ingest_done(const ingest_job *job, void *ctx)
{
    pending_ingest *p = ctx;
    ws_client *c = find_client(p->ws, p->client_id);
    if (c != NULL && job->result != 0) {
        ingest_refusal why;
        gateway_job_refusal(job, &why);
        send_refusal(c, p->ref, &why);
    } else if (c != NULL) {
        ws_msg *m = ws_text_ack(p->ref, job->batch.count, job->duplicates);
        client_send(c, m);
        ws_msg_unref(m);
    }
    free(p->ref);
    free(p);
}

/* The events were read with the message (ws_parsed_read(), maybe on the pool). */
static void on_ingest(ws_client *c, ws_parsed *parsed)
{
    bool ref_ok;
    char *ref = take_ref(c, parsed->msg, &ref_ok);
    if (!ref_ok) {
        return;
    }
    pending_ingest *p = malloc(sizeof *p);
    if (p == NULL) {
        send_error(c, ref, "overloaded", "out of memory", -1);
        free(ref);
        return;
    }
    *p = (pending_ingest){c->ws, c->id, ref};
    if (parsed->rc != 0 ||
        gateway_submit_from(c->ws->opts.gw, http_ws_rate_key(c->peer.ws, &c->who), &parsed->batch,
                            ingest_done, p, &parsed->refusal) != 0) {
        send_refusal(c, ref, &parsed->refusal);
        free(ref);
        free(p);
    }
    /* Otherwise ingest_done() answers, once the batch is durable. */
}

/* A one-off answer on its way from the pool: to which client. */
typedef struct pending_reply {
    ws_live *ws;
    uint64_t client_id;
} pending_reply;

static void recent_done(ws_msg *reply, const char *why, void *ctx)
{
    pending_reply *p = ctx;
    ws_client *c = find_client(p->ws, p->client_id);
    if (c != NULL && reply == NULL) {
        log_warn("ws query failed: %s", why);
        send_error(c, NULL, "store_unavailable", "the query could not be run", -1);
    } else if (c != NULL) {
        client_send(c, reply);
    }
    free(p);
}

static void on_recent(ws_client *c, ws_parsed *parsed)
{
    const cJSON *msg = parsed->msg;
    const cJSON *limit = cJSON_GetObjectItemCaseSensitive(msg, "limit");
    double n = limit == NULL ? 100 : cJSON_IsNumber(limit) ? limit->valuedouble : -1;
    if (n < 1 || n > RECENT_MAX || n != (double)(int)n) {
        send_error(c, NULL, "invalid_message", "'limit' must be an integer from 1 to 1000", -1);
        return;
    }
    event_filter f = {.type = c->filter.type[0] ? c->filter.type : NULL,
                      .source = c->filter.source[0] ? c->filter.source : NULL,
                      .session_id = c->filter.session_id[0] ? c->filter.session_id : NULL,
                      .limit = (uint32_t)n};
    pending_reply *p = malloc(sizeof *p);
    if (p != NULL) {
        *p = (pending_reply){c->ws, c->id};
    }
    if (p == NULL || ws_recent_start(c->ws->opts.loop, c->ws->opts.st, &f, recent_done, p) != 0) {
        free(p);
        send_error(c, NULL, "overloaded", "out of memory", -1);
    }
}

/* {"type":"stats",...}: what the daemon counts, for the dashboard's header. */
static void write_stats(json_writer *w, const ws_live *ws)
{
    gateway_stats gs;
    gateway_get_stats(ws->opts.gw, &gs);
    json_open_object(w);
    json_member_string(w, "type", "stats");
    json_member_int64(w, "server_seq", stream_known(ws->opts.rows));
    json_member_int64(w, "accepted_total", gs.events_accepted);
    json_member_int64(w, "rejected_total", gs.events_rejected);
    json_member_number(w, "events_per_s", gs.events_per_s);
    json_member_int64(w, "queue_depth", queue_waiting(ws->opts.q));
    json_member_int64(w, "ws_clients", ws->nclients);
    json_member_number(w, "uptime_s",
                       (double)(clock_mono_ms() - ws->opts.started_mono_ms) / 1000.0);
    json_close_object(w);
}

/* {"type":"state_subscribe","client_id":C}: this connection gets C's dashboard state changes
 * ({"type":"state",...}); answered {"type":"state_subscribed","client_id":C}. */
static void on_state_subscribe(ws_client *c, ws_parsed *parsed)
{
    const cJSON *msg = parsed->msg;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "client_id");
    if (!cJSON_IsString(id) || id->valuestring[0] == '\0' ||
        strlen(id->valuestring) > STATE_CLIENT_MAX) {
        send_error(c, NULL, "invalid_message", "'client_id' must be a string of 1 to 128 bytes",
                   -1);
        return;
    }
    if (!auth_reaches_client(&c->who, id->valuestring)) {
        bool ok;
        char *ref = ws_message_ref(msg, &ok), m[TT_ERRLEN];
        state_access_refusal(&c->who, "send 'state_subscribe'", m, sizeof m);
        send_error(c, ref, "forbidden", m, -1);
        free(ref);
        return;
    }
    strcpy(c->state_client, id->valuestring);
    ws_msg *m = ws_text_state_subscribed(c->state_client);
    client_send(c, m);
    ws_msg_unref(m);
}

static void on_get_stats(ws_client *c, ws_parsed *parsed)
{
    (void)parsed;
    json_writer w = {0};
    write_stats(&w, c->ws);
    send_written(c, &w);
}

static void on_ping(ws_client *c, ws_parsed *parsed)
{
    (void)parsed;
    send_text(c, "{\"type\":\"pong\"}");
}

/* Each message type, and the roles that may send it (core/auth.h). */
static const struct {
    const char *type;
    unsigned roles;
    void (*fn)(ws_client *c, ws_parsed *parsed);
} messages[] = {
    {"resume", AUTH_ROLES_READ, on_resume},
    {"subscribe", AUTH_ROLES_READ, on_subscribe},
    {"ingest", AUTH_ROLES_INGEST, on_ingest},
    {"get_stats", AUTH_ROLES_READ, on_get_stats},
    {"get_recent_events", AUTH_ROLES_READ, on_recent},
    {"ping", AUTH_ROLES_ANY, on_ping},
    {"state_subscribe", AUTH_ROLES_READ, on_state_subscribe},
};

/* A type the client's role may not send is answered {"type":"error","error":{"code":
 * "forbidden"}}, with the message's ref when it has a usable one. */
static void dispatch(ws_client *c, ws_parsed *parsed)
{
    const cJSON *msg = parsed->msg;
    const char *type = cJSON_GetObjectItemCaseSensitive(msg, "type")->valuestring;
    for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++) {
        if (strcmp(type, messages[i].type) != 0) {
            continue;
        }
        if (auth_allows(c->ws->opts.cfg, messages[i].roles, c->who.role)) {
            messages[i].fn(c, parsed);
            return;
        }
        bool ok;
        char *ref = ws_message_ref(msg, &ok), m[160];
        snprintf(m, sizeof m, "role %s may not send '%s'", auth_role_name(c->who.role), type);
        send_error(c, ref, "forbidden", m, -1);
        free(ref);
        return;
    }
    send_error(c, NULL, "unknown_message",
               "known types: resume, subscribe, ingest, get_stats, get_recent_events, ping, "
               "state_subscribe",
               -1);
}

static void handle_parsed(ws_client *c, ws_parsed *parsed)
{
    if (parsed->msg == NULL) {
        send_error(c, NULL, parsed->code, parsed->why, -1);
    } else {
        dispatch(c, parsed);
    }
}

/* A message read on the pool (ws_read.c): the connection may read again. */
static void read_off_loop(void *ws, uint64_t client_id, ws_parsed *parsed)
{
    ws_client *c = find_client(ws, client_id);
    if (c != NULL) {
        http_ws_pause(c->peer.ws, false);
        handle_parsed(c, parsed);
    }
}

/* The whole message in c->rx, read now or on the pool. */
static void handle_message(ws_client *c)
{
    bool ingests = auth_allows(c->ws->opts.cfg, AUTH_ROLES_INGEST, c->who.role);
    ws_parsed parsed;
    if (ws_read(c->ws->opts.loop, &c->rx, ingests ? c->ws->opts.gw : NULL, &parsed,
                read_off_loop, c->ws, c->id) == 1) {
        http_ws_pause(c->peer.ws, true);
        return;
    }
    handle_parsed(c, &parsed);
    ws_parsed_free(&parsed);
}

/* ---- the endpoint's callbacks (http_ws_endpoint) ---- */

static int on_open(void *ctx, http_ws *wsi, const auth_identity *who, void **conn)
{
    ws_live *ws = ctx;
    ws_client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return -1;
    }
    c->who = *who;
    c->reader = auth_allows(ws->opts.cfg, AUTH_ROLES_READ, who->role);
    c->id = http_server_next_id(ws->opts.hs);
    c->peer.ws = wsi;
    c->ws = ws;
    c->next = ws->clients;
    if (ws->clients != NULL) {
        ws->clients->prev = c;
    }
    ws->clients = c;
    ws->nclients++;
    *conn = c;
    ws_msg *hello = ws_text_hello(stream_known(ws->opts.rows), c->reader ? ws->flags : NULL);
    client_send(c, hello);
    ws_msg_unref(hello);
    c->sub = (stream_sub){.format = ws->format,
                          .peer = &c->peer,
                          .deliver = deliver_event,
                          .failed = catchup_failed,
                          .type = c->filter.type,
                          .source = c->filter.source,
                          .session_id = c->filter.session_id};
    if (c->reader) {
        stream_sub_start(ws->opts.rows, &c->sub, stream_known(ws->opts.rows));
    }
    return 0;
}

static int on_receive(void *conn, http_ws *wsi, const void *in, size_t len)
{
    ws_client *c = conn;
    if (c->peer.closing) {
        return 0;
    }
    if (http_ws_binary(wsi)) {
        http_ws_set_close(wsi, 1003, "text only"); /* unsupported data */
        return -1;
    }
    /* an ingest of a full body, plus its envelope */
    size_t limit = c->ws->opts.cfg->max_body + 4096;
    int whole = ws_rx_add(wsi, &c->rx, in, len, limit);
    if (whole == 1) {
        handle_message(c);
    }
    return whole < 0 ? -1 : 0;
}

static int on_writable(void *conn)
{
    ws_client *c = conn;
    if (c->peer.closing) {
        return 0;
    }
    if (ws_peer_flush(&c->peer, &c->ws->messages_sent) != 0) {
        return -1;
    }
    if (c->peer.out.bytes <= c->ws->opts.cfg->ws_max_buffer / 2) {
        stream_sub_drained(&c->sub);
    }
    return 0;
}

static int on_timer(void *conn)
{
    return ws_peer_on_timer(&((ws_client *)conn)->peer);
}

static void on_close(void *conn)
{
    ws_client *c = conn;
    ws_live *ws = c->ws;
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        ws->clients = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    ws->nclients--;
    stream_sub_stop(&c->sub);
    msg_ring_free(&c->peer.out);
    ws_rx_clear(&c->rx);
    free(c);
}

/* ---- from the rest of the server ---- */

void ws_live_tick(ws_live *ws)
{
    if (ws->clients == NULL) {
        return;
    }
    json_writer w = {0};
    write_stats(&w, ws);
    ws_msg *m = ws_msg_from_writer(&w, 0);
    for (ws_client *c = ws->clients; c != NULL && m != NULL; c = c->next) {
        client_send(c, c->reader ? m : NULL); /* NULL: nothing (ws_peer_send) */
    }
    ws_msg_unref(m);
}

void ws_live_close_all(ws_live *ws, int code, const char *reason)
{
    for (ws_client *c = ws->clients; c != NULL; c = c->next) {
        close_client(c, code, reason);
    }
}

void ws_live_get_stats(const ws_live *ws, ws_live_stats *out)
{
    *out = (ws_live_stats){.clients = ws->nclients,
                           .last_seq = stream_known(ws->opts.rows),
                           .slow_dropped = ws->slow_dropped,
                           .messages_sent = ws->messages_sent};
}

int ws_live_create(const ws_live_opts *opts, ws_live **out)
{
    ws_live *ws = calloc(1, sizeof *ws);
    if (ws == NULL) {
        return TT_ENOMEM;
    }
    ws->opts = *opts;
    if ((ws->format = stream_format_add(opts->rows, ws_text_event, NULL)) < 0) {
        free(ws);
        return TT_ENOMEM;
    }
    ws->endpoint = (http_ws_endpoint){.path = "/ws",
                                      .ctx = ws,
                                      .roles = AUTH_ROLES_ANY,
                                      .on_open = on_open,
                                      .on_receive = on_receive,
                                      .on_writable = on_writable,
                                      .on_timer = on_timer,
                                      .on_close = on_close};
    *out = ws;
    return 0;
}

void ws_live_free(ws_live *ws)
{
    if (ws != NULL) {
        free(ws->flags);
    }
    free(ws);
}

const http_ws_endpoint *ws_live_endpoint(ws_live *ws)
{
    return &ws->endpoint;
}

bool ws_live_set_flags(ws_live *ws, const char *flags)
{
    if (ws->flags != NULL && strcmp(ws->flags, flags) == 0) {
        return false;
    }
    char *copy = strdup(flags);
    if (copy == NULL) {
        return false;
    }
    free(ws->flags);
    ws->flags = copy;
    ws_msg *m = ws_text_flags(flags);
    for (ws_client *c = ws->clients; c != NULL && m != NULL; c = c->next) {
        if (c->reader) {
            client_send(c, m);
        }
    }
    ws_msg_unref(m);
    return true;
}

void ws_live_push_state(ws_live *ws, const char *client_id, const char *msg, size_t len)
{
    ws_msg *m = NULL;
    for (ws_client *c = ws->clients; c != NULL; c = c->next) {
        if (strcmp(c->state_client, client_id) == 0 &&
            (m != NULL || (m = ws_msg_new(msg, len, 0)) != NULL)) {
            client_send(c, m);
        }
    }
    ws_msg_unref(m);
}
