/* access.c -- who may use which route and WebSocket endpoint: the one check, made before any
 * handler runs (DESIGN §5, "Access").
 *
 * Every routing-table row and every WebSocket endpoint states the roles it admits (a set of
 * AUTH_ROLE bits, auth.h); the caller's role comes from its credential, read here once:
 *
 *   HTTP        "apikey: K" and "Authorization: Bearer T" (auth_request: the bearer decides)
 *   WebSocket   the same headers, and the "apikey" URL parameter (browsers cannot set headers
 *               on a WebSocket) in place of an apikey header: the header wins when both are
 *               sent; beside a bearer the parameter must be valid too, as the header must
 *
 * A refusal is 401 with "WWW-Authenticate: Bearer" (RFC 6750 §3) when the caller has no valid
 * credential, 403 when its role may not do this. A credential is never written to a log or
 * into an answer. Loop thread only. */
#include "http/http_internal.h"

#include "core/forwarded.h"
#include "os/clock.h"
#include "os/log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CREDENTIAL_MAX 2048 /* bytes of an apikey or an Authorization header we look at */
#define XFF_MAX 512         /* bytes of X-Forwarded-For we look at */
#define REFUSALS_LOGGED 10  /* refusals logged a second, at most: the rest are counted */

/* A request header ('name' lower case, no colon); "" when absent or too long (a credential
 * that long is no credential of ours). */
static void custom_header(h2o_req_t *q, const char *name, char *dst, size_t len)
{
    headers_get(q, name, dst, len);
}

/* The "apikey" URL parameter of a WebSocket upgrade, %-decoded; "" when absent or longer than
 * 'len'. */
static void url_apikey(h2o_req_t *q, char *dst, size_t len)
{
    dst[0] = '\0';
    if (q->query_at == SIZE_MAX) {
        return;
    }
    const char *p = q->path.base + q->query_at + 1, *end = q->path.base + q->path.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp != NULL ? amp : end;
        if ((size_t)(stop - p) > 7 && memcmp(p, "apikey=", 7) == 0) {
            size_t o = 0;
            for (const char *c = p + 7; c < stop; c++) {
                int ch = (unsigned char)*c;
                if (ch == '%' && stop - c > 2) {
                    char hex[3] = {c[1], c[2], 0};
                    ch = (int)strtol(hex, NULL, 16);
                    c += 2;
                }
                if (o + 1 >= len) {
                    dst[0] = '\0';
                    return;
                }
                dst[o++] = (char)ch;
            }
            dst[o] = '\0';
            return;
        }
        p = stop + 1;
    }
}

/* Who sends the request 'q' carries; 0, or TT_EINVAL with 'why'. */
static int identify(const tt_config *cfg, h2o_req_t *q, bool websocket, auth_identity *who,
                    char *why)
{
    char apikey[CREDENTIAL_MAX], authorization[CREDENTIAL_MAX + 8];
    const char *from = "apikey header";
    custom_header(q, "apikey", apikey, sizeof apikey);
    custom_header(q, "authorization", authorization, sizeof authorization);
    if (websocket && apikey[0] == '\0') {
        /* the URL's apikey stands where the header would: beside a bearer it must be valid */
        url_apikey(q, apikey, sizeof apikey);
        from = "apikey parameter";
    }
    return auth_request(cfg, apikey, from, authorization, (int64_t)(clock_now_ms() / 1000), who,
                        why);
}

/* Whether the caller may use what admits 'roles'; if not, 'e' says why, in 'msg'. */
static bool admitted(const tt_config *cfg, h2o_req_t *q, bool websocket, unsigned roles,
                     auth_identity *who, http_error *e, char *msg, size_t len)
{
    char why[TT_ERRLEN] = "";
    *who = (auth_identity){.role = AUTH_NONE};
    if (roles & AUTH_PUBLIC) {
        return true; /* the credential is not even read */
    }
    if (identify(cfg, q, websocket, who, why) != 0) {
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

void access_client(const http_server *hs, h2o_req_t *q, char out[FORWARDED_ADDR_MAX])
{
    char peer[64] = "", xff[XFF_MAX] = "";
    struct sockaddr_storage ss;
    socklen_t n = q->conn->callbacks->get_peername(q->conn, (struct sockaddr *)&ss);
    if (n > 0 && ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, peer, sizeof peer);
    } else if (n > 0 && ss.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, peer, sizeof peer);
    }
    if (hs->cfg->trust_proxy_n > 0) {
        headers_get(q, "x-forwarded-for", xff, sizeof xff);
    }
    forwarded_client(hs->cfg, peer, xff, out);
}

void http_client_addr(const http_req *r, char out[FORWARDED_ADDR_MAX])
{
    access_client(r->hs, r->h2o, out);
}

/* 'in' with its control bytes written \xNN: the HTTP layer %-decodes the path, so a client could
 * put a line break or a terminal escape into the log line otherwise. Returns 'out'. */
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
static void log_refusal(http_server *hs, h2o_req_t *q, const char *what, const http_error *e)
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
    access_client(hs, q, client);
    log_info("access: %d %s from %s: %s", e->status, printable(what, path, sizeof path), client,
             e->message);
}

bool access_check_request(http_server *hs, http_req *r, http_error *e, char *msg, size_t len)
{
    const http_route *rt = router_find(hs, r);
    if (rt == NULL) {
        return true; /* 404, 405 or a dashboard file: public */
    }
    if (admitted(hs->cfg, r->h2o, false, rt->roles, &r->who, e, msg, len)) {
        return true;
    }
    log_refusal(hs, r->h2o, r->path, e);
    return false;
}

bool access_check_upgrade(http_server *hs, h2o_req_t *q, const http_ws_endpoint *ep,
                          auth_identity *who, http_error *e, char *msg, size_t len)
{
    if (admitted(hs->cfg, q, true, ep->roles, who, e, msg, len)) {
        return true;
    }
    log_refusal(hs, q, ep->path, e);
    return false;
}
