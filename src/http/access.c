/* access.c -- who may use which route and WebSocket endpoint: the one check, made before any
 * handler runs (DESIGN §5, "Access").
 *
 * Every routing-table row and every WebSocket endpoint states the roles it admits (a set of
 * AUTH_ROLE bits, auth.h); the caller's role comes from its credential, read here once:
 *
 *   HTTP        "apikey: K" and "Authorization: Bearer T" (auth_request: the bearer decides)
 *   WebSocket   the same headers, or the "apikey" URL parameter (browsers cannot set headers
 *               on a WebSocket), the header winning when both are sent
 *
 * A refusal is 401 with "WWW-Authenticate: Bearer" (RFC 6750 §3) when the caller has no valid
 * credential, 403 when its role may not do this. A credential is never written to a log or
 * into an answer. Loop thread only. */
#include "http/http_internal.h"

#include "core/forwarded.h"
#include "os/clock.h"
#include "os/log.h"

#include <stdio.h>
#include <string.h>

#define CREDENTIAL_MAX 2048 /* bytes of an apikey or an Authorization header we look at */
#define XFF_MAX 512         /* bytes of X-Forwarded-For we look at */
#define REFUSALS_LOGGED 10  /* refusals logged a second, at most: the rest are counted */
/* A WebSocket's token expiring later than this is left alone (lws' timeouts are ints). */
#define WS_EXPIRY_HORIZON_S (INT64_C(30) * 86400)

/* The "apikey" URL parameter of a WebSocket upgrade (lws has %-decoded it), "" when absent or
 * longer than 'len'. Read fragment by fragment into a buffer for the longest credential (as
 * realtime.c reads its parameters); a parameter longer than that ends the search. */
static void url_apikey(struct lws *wsi, char *dst, size_t len)
{
    static const char name[] = "apikey=";
    char frag[CREDENTIAL_MAX + sizeof name];
    dst[0] = '\0';
    for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i) >= 0;
         i++) {
        size_t n = strlen(frag);
        if (strncmp(frag, name, sizeof name - 1) == 0 && n - (sizeof name - 1) < len) {
            memcpy(dst, frag + sizeof name - 1, n - (sizeof name - 1) + 1);
            return;
        }
    }
}

/* Who sends the request 'wsi' carries; 0, or TT_EINVAL with 'why'. */
static int identify(const tt_config *cfg, struct lws *wsi, bool websocket, auth_identity *who,
                    char *why)
{
    char apikey[CREDENTIAL_MAX], authorization[CREDENTIAL_MAX + 8];
    http_header_custom_copy(wsi, "apikey:", apikey, sizeof apikey);
    http_header_copy(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, authorization, sizeof authorization);
    if (websocket && apikey[0] == '\0' && authorization[0] == '\0') {
        url_apikey(wsi, apikey, sizeof apikey);
    }
    return auth_request(cfg, apikey, authorization, (int64_t)(clock_now_ms() / 1000), who, why);
}

/* Whether the caller may use what admits 'roles'; if not, 'e' says why, in 'msg'. */
static bool admitted(const tt_config *cfg, struct lws *wsi, bool websocket, unsigned roles,
                     auth_identity *who, http_error *e, char *msg, size_t len)
{
    char why[TT_ERRLEN] = "";
    *who = (auth_identity){.role = AUTH_NONE};
    if (roles & AUTH_PUBLIC) {
        return true; /* the credential is not even read */
    }
    if (identify(cfg, wsi, websocket, who, why) != 0) {
        *who = (auth_identity){.role = AUTH_NONE};
        snprintf(msg, len, "%s", why);
    } else if (auth_allows(cfg, roles, who->role)) {
        return true;
    } else if (who->role == AUTH_ANON && (roles & AUTH_ROLE(AUTH_ANON))) {
        snprintf(msg, len,
                 "role anon may not read: the operator has not allowed it "
                 "(TELLTALE_ANON_READ)");
    } else {
        snprintf(msg, len, "role %s may not use this", auth_role_name(who->role));
    }
    int status = auth_refusal_status(who->role);
    *e = (http_error){status, status == 401 ? "unauthorized" : "forbidden", msg, false, -1};
    return false;
}

void access_client(const http_server *hs, struct lws *wsi, char out[FORWARDED_ADDR_MAX])
{
    char peer[64] = "", xff[XFF_MAX] = "";
    if (lws_get_peer_simple(wsi, peer, sizeof peer) == NULL) {
        peer[0] = '\0';
    }
    if (hs->cfg->trust_proxy_n > 0) {
        http_header_copy(wsi, WSI_TOKEN_X_FORWARDED_FOR, xff, sizeof xff);
    }
    forwarded_client(hs->cfg, peer, xff, out);
}

void http_client_addr(const http_req *r, char out[FORWARDED_ADDR_MAX])
{
    access_client(r->hs, r->wsi, out);
}

/* 'in' with its control bytes written \xNN: lws %-decodes the path, so a client could put a
 * line break or a terminal escape into the log line otherwise. Returns 'out'. */
static const char *printable(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p != '\0' && n + 5 < cap; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '\\') {
            n += (size_t)snprintf(out + n, cap - n, "\\x%02x", *p);
        } else {
            out[n++] = (char)*p;
        }
    }
    out[n] = '\0';
    return out;
}

/* A refusal, for the operator (a scanner, a producer with an old key): what, from where, and
 * why -- never the credential. At most REFUSALS_LOGGED a second, so a flood of bad requests
 * cannot flood the log. */
static void log_refusal(http_server *hs, struct lws *wsi, const char *what, const http_error *e)
{
    uint64_t now_s = clock_mono_ms() / 1000;
    if (now_s != hs->refusals_second) {
        if (hs->refusals_dropped > 0) {
            log_info("access: %llu more refusals not logged",
                     (unsigned long long)hs->refusals_dropped);
        }
        hs->refusals_second = now_s;
        hs->refusals_logged = hs->refusals_dropped = 0;
    }
    if (hs->refusals_logged == REFUSALS_LOGGED) {
        hs->refusals_dropped++;
        return;
    }
    hs->refusals_logged++;
    char client[FORWARDED_ADDR_MAX], path[4 * HTTP_PATH_MAX];
    access_client(hs, wsi, client);
    log_info("access: %d %s from %s: %s", e->status, printable(what, path, sizeof path), client,
             e->message);
}

bool access_check_request(http_server *hs, http_req *r, http_error *e, char *msg, size_t len)
{
    const http_route *rt = router_find(hs, r);
    if (rt == NULL) {
        return true; /* 404, 405 or a dashboard file: public */
    }
    if (admitted(hs->cfg, r->wsi, false, rt->roles, &r->who, e, msg, len)) {
        return true;
    }
    log_refusal(hs, r->wsi, r->path, e);
    return false;
}

void access_expire_ws(struct lws *wsi, const auth_identity *who)
{
    if (who->expires_s == 0) {
        return; /* a key, or a token without exp */
    }
    int64_t left = who->expires_s + JWT_LEEWAY_S - (int64_t)(clock_now_ms() / 1000);
    if (left < WS_EXPIRY_HORIZON_S) {
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_REASON_BASE + 1, left > 0 ? (int)left : 1);
    }
}

bool access_check_upgrade(http_server *hs, struct lws *wsi, const http_ws_endpoint *ep,
                          auth_identity *who, http_error *e, char *msg, size_t len)
{
    if (admitted(hs->cfg, wsi, true, ep->roles, who, e, msg, len)) {
        return true;
    }
    log_refusal(hs, wsi, ep->path, e);
    return false;
}
