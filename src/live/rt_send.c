/* rt_send.c -- what the Realtime endpoint sends: messages queued on a connection (a client too
 * far behind is dropped), server pushes on a channel's topic, and replies to a client's push.
 * Loop thread. */
#include "live/rt_internal.h"

#include "core/json_print.h"
#include "os/log.h"

#include <stdlib.h>
#include <string.h>

void rt_send(rt_conn *c, ws_msg *m)
{
    realtime *rt = c->rt;
    if (!ws_peer_send(&c->peer, m, rt->opts.cfg->ws_max_buffer)) {
        rt->slow_dropped++;
        log_info("realtime client %llu dropped: not reading fast enough",
                 (unsigned long long)c->id);
    }
}

/* Queues 'text' (taken) as a message. */
static void rt_send_text(rt_conn *c, char *text, size_t len)
{
    ws_msg *m = text != NULL ? ws_msg_new(text, len, 0) : NULL;
    free(text);
    if (m == NULL) {
        ws_peer_close(&c->peer, 1011, "out of memory");
        return;
    }
    rt_send(c, m);
    ws_msg_unref(m);
}

void rt_send_raw(rt_conn *c, const char *join_ref, const char *ref, const char *topic,
                 const char *event, const char *payload)
{
    size_t len = 0;
    char *text = phx_render(c->vsn, join_ref, ref, topic, event, payload, &len);
    rt_send_text(c, text, len);
}

void rt_push(rt_channel *ch, const char *event, const char *payload)
{
    rt_send_raw(ch->conn, ch->has_join_ref ? ch->join_ref : NULL, NULL, ch->topic, event, payload);
}

/* {"status":S,"response":R} as the reply to 'm'; 'response' is JSON text. */
void rt_reply(rt_conn *c, const phx_msg *m, bool ok, const char *response)
{
    json_buf b = {0};
    if (ok) {
        JSON_PUT_LIT(&b, "{\"status\":\"ok\",\"response\":");
    } else {
        JSON_PUT_LIT(&b, "{\"status\":\"error\",\"response\":");
    }
    json_put_raw(&b, response, strlen(response));
    JSON_PUT_LIT(&b, "}");
    if (!b.oom) {
        rt_send_raw(c, m->has_join_ref ? m->join_ref : NULL, m->has_ref ? m->ref : NULL, m->topic,
                    "phx_reply", b.buf);
    }
    free(b.buf);
}

void rt_reply_ok(rt_conn *c, const phx_msg *m)
{
    rt_reply(c, m, true, "{}");
}

/* An error reply whose response is {"reason": why}. */
void rt_reply_error(rt_conn *c, const phx_msg *m, const char *why)
{
    json_buf b = {0};
    JSON_PUT_LIT(&b, "{\"reason\":");
    json_put_string(&b, why);
    JSON_PUT_LIT(&b, "}");
    if (!b.oom) {
        rt_reply(c, m, false, b.buf);
    }
    free(b.buf);
}
