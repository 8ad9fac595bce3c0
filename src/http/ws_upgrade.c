/* ws_upgrade.c -- an HTTP Upgrade request: refused with telltale's JSON error, or switched to
 * a WebSocket of the endpoint at its path (ws_h2o.c) after the checks an upgrade must pass:
 * endpoint by path, Origin, the handshake, the endpoint's roles and its own check. h2o only
 * writes the 101 and hands the socket over (h2o_http1_upgrade). Loop thread only. */
#include "http/http_internal.h"

#include <h2o/http1.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Answers 'q' with telltale's JSON error. Headers the refusal needs beside it (WWW-Authenticate,
 * Sec-WebSocket-Version) are added to q->res.headers by the caller before. */
static void refuse(h2o_req_t *q, int status, const char *code, const char *why)
{
    json_writer w = {0};
    http_write_error(&w, &(http_error){.status = status, .code = code, .message = why});
    q->res.status = status;
    q->res.reason = http_reason_phrase(status);
    q->res.content_length = w.out.oom ? 0 : w.out.len;
    h2o_add_header(&q->pool, &q->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    h2o_send_inline(q, w.out.oom ? "" : w.out.buf, w.out.oom ? 0 : w.out.len);
    free(w.out.buf);
}

/* The headers of a 426 upgrade_required: the protocol to switch to (RFC 9110 §15.5.22) with
 * the "upgrade" connection option that must go with an Upgrade field (§7.8; a second
 * Connection line beside libh2o's keep-alive or close, which a list may be split into, §5.3)
 * and the WebSocket version this server speaks (RFC 6455 §4.2.2). */
static void add_upgrade_required_headers(h2o_req_t *q)
{
    headers_add_response(q, "upgrade", "websocket");
    headers_add_response(q, "connection", "upgrade");
    headers_add_response(q, "sec-websocket-version", "13");
}

/* Whether 'key' is base64 (RFC 4648 §4, padded) of 16 bytes: 22 characters of the alphabet
 * and "==" (RFC 6455 §4.1, item 7). */
static bool key_is_16_bytes(const char *key)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (strlen(key) != 24 || strcmp(key + 22, "==") != 0) {
        return false;
    }
    for (int i = 0; i < 22; i++) {
        if (strchr(alphabet, key[i]) == NULL) {
            return false;
        }
    }
    return true;
}

/* The opening handshake as RFC 6455 §4.2.1 wants it, which libh2o's
 * h2o_is_websocket_handshake() checks only in part (GET, Upgrade, a key of 24 bytes).
 * Returns 0 with the key in 'key' (24 characters and a NUL); 400 with 'why' naming the part
 * that is wrong; 426 for a Sec-WebSocket-Version other than 13 (§4.2.2: the caller answers
 * with "Sec-WebSocket-Version: 13"). The Upgrade field was checked before. */
static int handshake_check(const h2o_req_t *q, char key[25], char *why, size_t len)
{
    char version[16];
    bool has_version = headers_get(q, "sec-websocket-version", version, sizeof version);
    if (q->version < 0x101) {
        snprintf(why, len,
                 "a WebSocket upgrade must be HTTP/1.1 or later (RFC 6455 4.1); this "
                 "request is HTTP/1.0");
        return 400;
    }
    if (!h2o_memis(q->method.base, q->method.len, H2O_STRLIT("GET"))) {
        snprintf(why, len, "a WebSocket upgrade must be a GET (RFC 6455 4.1), not %.*s",
                 q->method.len > 16 ? 16 : (int)q->method.len, q->method.base);
        return 400;
    }
    if (!headers_has_token(q, H2O_TOKEN_CONNECTION, "upgrade")) { /* libh2o's own test, held here */
        snprintf(why, len, "a WebSocket upgrade needs 'Connection: Upgrade' (RFC 6455 4.1)");
        return 400;
    }
    if (!headers_get(q, "sec-websocket-key", key, 25) || !key_is_16_bytes(key)) {
        snprintf(why, len,
                 "a WebSocket upgrade needs Sec-WebSocket-Key: base64 of 16 bytes, 24 "
                 "characters ending in '==' (RFC 6455 4.1)");
        return 400;
    }
    if (!has_version) {
        snprintf(why, len, "a WebSocket upgrade needs Sec-WebSocket-Version: 13 (RFC 6455 4.1)");
        return 400;
    }
    if (strcmp(version, "13") != 0) {
        snprintf(why, len,
                 "this server speaks WebSocket version 13 only (Sec-WebSocket-Version: 13, RFC "
                 "6455 4.2.2)");
        return 426;
    }
    return 0;
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

bool ws_endpoint_path(const http_server *hs, const char *path)
{
    return endpoint_at(hs, path) != NULL;
}

int ws_upgrade_required(h2o_req_t *q)
{
    add_upgrade_required_headers(q);
    refuse(q, 426, "upgrade_required",
           "this path takes only a WebSocket upgrade: GET with 'Connection: Upgrade', "
           "'Upgrade: websocket', Sec-WebSocket-Key and Sec-WebSocket-Version: 13 (RFC 6455 "
           "4.1)");
    return 0;
}

/* The query of an upgrade read by the rules of any request's (http.c): its %-escapes, its
 * size, and no parameter twice -- a second ?apikey= must not be left for whoever reads which
 * one. Parameters other than the endpoint's are ignored, as Supabase Realtime ignores them
 * (clients add their own, such as log_level). False with 'e' (its message in 'msg'). */
static bool query_ok(h2o_req_t *q, http_error *e, char *msg, size_t len)
{
    http_req r = {.h2o = q};
    bool ok = admit_args(&r, e);
    for (int i = 0; ok && i < r.nargs; i++) {
        if (!headers_arg_once(&r, i, msg, len)) {
            *e = (http_error){.status = 400, .code = "invalid_parameter", .message = msg};
            ok = false;
        }
    }
    free(r.args_text);
    return ok;
}

/* The 101 is written and h2o hands over the socket (NULL: the client left meanwhile). */
static void on_upgraded(void *data, h2o_socket_t *sock, size_t reqsize)
{
    ws_conn_start(data, sock, reqsize);
}

int ws_upgrade(http_server *hs, h2o_req_t *q, const char *path)
{
    const http_ws_endpoint *ep = endpoint_at(hs, path);
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
    if (!admit_repeats(q, &e, msg, sizeof msg) || !query_ok(q, &e, msg, sizeof msg)) {
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
    char key[25];
    int status = handshake_check(q, key, msg, sizeof msg);
    if (status != 0) {
        if (status == 426) {
            add_upgrade_required_headers(q);
        } else {
            headers_add_response(q, "sec-websocket-version", "13");
        }
        refuse(q, status, status == 426 ? "upgrade_required" : "invalid_websocket_handshake", msg);
        return 0;
    }
    auth_identity who;
    char challenge[ACCESS_CHALLENGE_MAX];
    if (!access_check_upgrade(hs, q, ep, &who, &e, msg, sizeof msg, challenge)) {
        headers_add_response(q, "www-authenticate", challenge);
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
    status = ep->check != NULL ? ep->check(ep->ctx, ws, &code, why) : 0;
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
