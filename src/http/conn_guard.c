/* conn_guard.c -- the limits against abuse the server counts (DESIGN §5, "Limits") and the key
 * an ingest rate counts against.
 *
 * SPIKE (branch h2o-edge): on libwebsockets this file also counted connections (in total and
 * per client address) and timed each phase of a request with lws timers. On libh2o 2.2.5 the
 * header and body phases are bounded by h2o's own request timeout (http1.req_timeout, set in
 * http_server.c) and the connection counts are not carried over yet (docs/h2o-spike.md).
 * Loop thread only. */
#include "http/http_internal.h"

#include <stdio.h>
#include <string.h>

static const char *const limit_names[HTTP_LIMIT_N] = {
    [HTTP_LIMIT_CONNECTIONS_TOTAL] = "connections_total",
    [HTTP_LIMIT_CONNECTIONS_PER_ADDRESS] = "connections_per_address",
    [HTTP_LIMIT_HEADER_TIMEOUT] = "header_timeout",
    [HTTP_LIMIT_BODY_PROGRESS] = "body_progress",
    [HTTP_LIMIT_IDLE] = "idle",
    [HTTP_LIMIT_WS_FRAME] = "ws_frame",
    [HTTP_LIMIT_WS_MESSAGE] = "ws_message",
    [HTTP_LIMIT_REALTIME_JOINS] = "realtime_joins",
};

const char *http_limit_name(http_limit k)
{
    return k < HTTP_LIMIT_N ? limit_names[k] : "";
}

void http_server_count_limit(http_server *hs, http_limit k)
{
    if (k < HTTP_LIMIT_N) {
        hs->limit_counts[k]++;
    }
}

uint64_t http_server_limit_count(const http_server *hs, http_limit k)
{
    return k < HTTP_LIMIT_N ? hs->limit_counts[k] : 0;
}

const char *http_req_rate_key(http_req *r, const auth_identity *who)
{
    if (who->sub[0] != '\0') {
        snprintf(r->rate_key, sizeof r->rate_key, "sub:%s", who->sub);
    } else if (auth_enabled(r->hs->cfg)) {
        snprintf(r->rate_key, sizeof r->rate_key, "role:%s", auth_role_name(who->role));
    } else {
        char addr[FORWARDED_ADDR_MAX];
        access_client(r->hs, r->h2o, addr);
        snprintf(r->rate_key, sizeof r->rate_key, "addr:%s", addr);
    }
    return r->rate_key;
}
