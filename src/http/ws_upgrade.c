/* ws_upgrade.c -- an HTTP Upgrade request: refused with telltale's JSON error, or switched to
 * a WebSocket of the endpoint at its path (ws_h2o.c) after the checks an upgrade must pass:
 * endpoint by path, Origin, the handshake, the endpoint's roles and its own check. h2o only
 * writes the 101 and hands the socket over (h2o_http1_upgrade). Loop thread only. */
#include "http/http_internal.h"

#include <h2o/http1.h>
#include <h2o/websocket.h> /* h2o_is_websocket_handshake */
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

static void refuse(h2o_req_t *q, int status, const char *code, const char *why)
{
    json_writer w = {0};
    http_write_error(&w, &(http_error){.status = status, .code = code, .message = why});
    q->res.status = status;
    q->res.reason = status == 401   ? "Unauthorized"
                    : status == 403 ? "Forbidden"
                    : status == 404 ? "Not Found"
                    : status == 503 ? "Service Unavailable"
                                    : "Bad Request";
    q->res.content_length = w.out.oom ? 0 : w.out.len;
    h2o_add_header(&q->pool, &q->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    if (status == 401) {
        h2o_add_header_by_str(&q->pool, &q->res.headers, H2O_STRLIT("www-authenticate"), 0, NULL,
                              H2O_STRLIT("Bearer"));
    }
    h2o_send_inline(q, w.out.oom ? "" : w.out.buf, w.out.oom ? 0 : w.out.len);
    free(w.out.buf);
}

static const http_ws_endpoint *endpoint_at(const http_server *hs, const char *path)
{
    for (int i = 0; i < hs->nendpoints; i++) {
        if (strcmp(hs->endpoints[i]->path, path) == 0) {
            return hs->endpoints[i];
        }
    }
    return NULL;
}

/* The 101 is written and h2o hands over the socket (NULL: the client left meanwhile). */
static void on_upgraded(void *data, h2o_socket_t *sock, size_t reqsize)
{
    ws_conn_start(data, sock, reqsize);
}

int ws_upgrade(http_server *hs, h2o_req_t *q)
{
    char path[HTTP_PATH_MAX];
    const char *key = NULL;
    if (!h2o_lcstris(q->upgrade.base, q->upgrade.len, H2O_STRLIT("websocket"))) {
        /* h2c would take the connection to HTTP/2 under our HTTP/1.1 answers */
        refuse(q, 400, "upgrade_not_supported", "only WebSocket upgrades are supported");
        return 0;
    }
    const http_ws_endpoint *ep =
        headers_path(q, path, sizeof path) == 0 ? endpoint_at(hs, path) : NULL;
    if (ep == NULL) {
        refuse(q, 404, "not_found", "no WebSocket endpoint at this path");
        return 0;
    }
    if (hs->stopping) {
        refuse(q, 503, "shutting_down", "the server is shutting down");
        return 0;
    }
    http_error e;
    char msg[TT_ERRLEN];
    if (!admit_repeats(q, &e, msg, sizeof msg)) {
        refuse(q, e.status, e.code, e.message);
        return 0;
    }
    /* A page of another site must not open a WebSocket with the user's loopback trust or
     * cookies: a browser always sends Origin on an upgrade (RFC 6455 §10.2). */
    if (!admit_origin(q, hs->cfg->allow_origins)) {
        refuse(q, 403, "origin_not_allowed",
               "this Origin may not open a WebSocket here (TELLTALE_ALLOW_ORIGINS)");
        return 0;
    }
    if (h2o_is_websocket_handshake(q, &key) != 0 || key == NULL) {
        refuse(q, 400, "invalid_websocket_handshake",
               "a WebSocket upgrade needs GET, Sec-WebSocket-Key and Sec-WebSocket-Version 13");
        return 0;
    }
    auth_identity who;
    if (!access_check_upgrade(hs, q, ep, &who, &e, msg, sizeof msg)) {
        refuse(q, e.status, e.code, e.message);
        return 0;
    }
    if (!conn_attribute(hs, q)) {
        refuse(q, 503, "too_many_connections", GUARD_TOO_MANY_FROM_ADDRESS);
        return 0;
    }
    http_ws *ws = ws_conn_new(hs, ep, q);
    if (ws == NULL) {
        refuse(q, 503, "overloaded", "out of memory");
        return 0;
    }
    const char *code = "invalid_parameter";
    char why[TT_ERRLEN] = "";
    int status = ep->check != NULL ? ep->check(ep->ctx, ws, &code, why) : 0;
    if (status != 0) {
        refuse(q, status, code, why);
        ws_conn_drop(ws);
        return 0;
    }
    /* the 101 (RFC 6455 §4.2.2): Sec-WebSocket-Accept is base64(SHA-1(key + GUID)) */
    unsigned char src[24 + 36], digest[SHA_DIGEST_LENGTH];
    char accept[32];
    memcpy(src, key, 24);
    memcpy(src + 24, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
    SHA1(src, sizeof src, digest);
    h2o_base64_encode(accept, digest, sizeof digest, 0);
    q->res.status = 101;
    q->res.reason = "Switching Protocols";
    h2o_add_header(&q->pool, &q->res.headers, H2O_TOKEN_UPGRADE, NULL, H2O_STRLIT("websocket"));
    h2o_add_header_by_str(&q->pool, &q->res.headers, H2O_STRLIT("sec-websocket-accept"), 0, NULL,
                          accept, strlen(accept));
    guard_handling(guard_of(hs, q), true); /* the WebSocket's own limits from now on */
    h2o_http1_upgrade(q, NULL, 0, on_upgraded, ws);
    ws_conn_open(ws, &who);
    return 0;
}
