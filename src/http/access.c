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
 * A refusal is 401 when the caller has no valid credential, 403 when its role may not do this,
 * each with the WWW-Authenticate RFC 6750 §3 gives it:
 *
 *   no credential, or an Authorization not of Bearer   Bearer
 *   a credential refused (unknown key, bad token)      Bearer error="invalid_token",
 *                                                        error_description="WHY"
 *   a role that may not (403)                          Bearer error="insufficient_scope",
 *                                                        error_description="WHY"
 *
 * A credential is never written to a log or into an answer. Loop thread only. */
#include "http/http_internal.h"

#include "core/forwarded.h"
#include "os/clock.h"
#include "os/log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CREDENTIAL_MAX 2048 /* bytes of an apikey or an Authorization header we look at */
#define XFF_MAX 512         /* bytes of X-Forwarded-For we look at */

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

/* What credential a request carries, for the challenge of its refusal. */
typedef enum presented {
    PRESENTED_NONE,         /* neither an apikey nor an Authorization */
    PRESENTED_OTHER_SCHEME, /* an Authorization that is not Bearer */
    PRESENTED_TOKEN,        /* a bearer token or an apikey */
} presented;

/* Who sends the request 'q' carries; 0, or TT_EINVAL with 'why'. '*what' says what it sent. */
static int identify(const tt_config *cfg, h2o_req_t *q, bool websocket, auth_identity *who,
                    char *why, presented *what)
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
    bool has_authorization = authorization[0] != '\0' || headers_has(q, "authorization");
    *what = has_authorization && strncasecmp(authorization, "Bearer ", 7) != 0
                ? PRESENTED_OTHER_SCHEME
            : has_authorization || apikey[0] != '\0' || headers_has(q, "apikey") ? PRESENTED_TOKEN
                                                                                 : PRESENTED_NONE;
    return auth_request(cfg, apikey, from, authorization, (int64_t)(clock_now_ms() / 1000), who,
                        why);
}

void access_challenge(const char *error, const char *why, char out[ACCESS_CHALLENGE_MAX])
{
    if (error == NULL) {
        snprintf(out, ACCESS_CHALLENGE_MAX, "Bearer");
        return;
    }
    int n = snprintf(out, ACCESS_CHALLENGE_MAX, "Bearer error=\"%s\", error_description=\"", error);
    size_t o = n > 0 && n < ACCESS_CHALLENGE_MAX ? (size_t)n : 0;
    for (const unsigned char *p = (const unsigned char *)why; *p != '\0'; p++) {
        if (o + 2 >= ACCESS_CHALLENGE_MAX) {
            break; /* room for the closing quote */
        }
        if (*p >= 0x20 && *p <= 0x7e && *p != '"' && *p != '\\') {
            out[o++] = (char)*p;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* Whether the caller may use what admits 'roles'; if not, 'e' says why, in 'msg', and
 * 'challenge' is its WWW-Authenticate. */
static bool admitted(const tt_config *cfg, h2o_req_t *q, bool websocket, unsigned roles,
                     auth_identity *who, http_error *e, char *msg, size_t len,
                     char challenge[ACCESS_CHALLENGE_MAX])
{
    char why[TT_ERRLEN] = "";
    presented what = PRESENTED_NONE;
    *who = (auth_identity){.role = AUTH_NONE};
    if (roles & AUTH_PUBLIC) {
        return true; /* the credential is not even read */
    }
    const char *error = "insufficient_scope";
    if (identify(cfg, q, websocket, who, why, &what) != 0) {
        *who = (auth_identity){.role = AUTH_NONE};
        snprintf(msg, len, "%s", why);
        error = what == PRESENTED_TOKEN ? "invalid_token" : NULL;
    } else if (auth_allows(cfg, roles, who->role)) {
        return true;
    } else if (who->role == AUTH_ANON && (roles & AUTH_ROLE(AUTH_ANON))) {
        snprintf(msg, len,
                 "role anon may not read: the operator has not allowed it "
                 "(TELLTALE_ANON_READ)");
    } else {
        snprintf(msg, len, "role %s may not use this", auth_role_name(who->role));
    }
    access_challenge(error, msg, challenge);
    int status = auth_refusal_status(who->role);
    *e = (http_error){status, status == 401 ? "unauthorized" : "forbidden", msg, false, -1};
    return false;
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

/* An X-Forwarded-For hop that could not be read leaves the client counted as its proxy: said
 * once per server (a proxy that writes such values writes them on every request), with the
 * header as sent, its control bytes escaped. Loop thread only. */
static void warn_unreadable_forwarded(http_server *hs, const char *xff)
{
    if (!hs->forwarded_warned) {
        char shown[160];
        hs->forwarded_warned = true;
        log_warn("access: X-Forwarded-For '%s' names no address telltale can read (\"Behind a "
                 "reverse proxy\" in OPERATIONS lists the forms): such clients are counted as "
                 "their proxy; said once",
                 printable(xff, shown, sizeof shown));
    }
}

void access_client(http_server *hs, h2o_req_t *q, char out[FORWARDED_ADDR_MAX])
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
    if (!forwarded_client(hs->cfg, peer, xff, out)) {
        warn_unreadable_forwarded(hs, xff);
    }
}

void http_client_addr(const http_req *r, char out[FORWARDED_ADDR_MAX])
{
    access_client(r->hs, r->h2o, out);
}

bool access_log_take(access_log_window *w, uint64_t now_ms)
{
    if (w->used == ACCESS_LOG_LINES) {
        if (now_ms - w->at_ms[w->oldest] < ACCESS_LOG_WINDOW_MS) {
            return false;
        }
        w->at_ms[w->oldest] = now_ms;
        w->oldest = (w->oldest + 1) % ACCESS_LOG_LINES;
        return true;
    }
    w->at_ms[(w->oldest + w->used++) % ACCESS_LOG_LINES] = now_ms;
    return true;
}

/* Writes the count of refusals left out, and starts it again. */
static void write_dropped(access_log_window *w)
{
    log_info("access: %llu more refusals not logged", (unsigned long long)w->dropped);
    w->dropped = 0;
}

/* Writes the count of refusals left out, if any, taking a line of the window for it; false
 * when the window has no room yet. */
static bool log_dropped(access_log_window *w, uint64_t now_ms)
{
    if (w->dropped == 0) {
        return true;
    }
    if (!access_log_take(w, now_ms)) {
        return false;
    }
    write_dropped(w);
    return true;
}

static void refusal_flush_due(uv_timer_t *t);

/* Arms the timer for when the oldest line leaves the window: the count is written then, not
 * only before the next refusal, which after a burst may never come. */
static void arm_refusal_flush(http_server *hs, uint64_t now_ms)
{
    access_log_window *w = &hs->refusal_log;
    if (hs->stopping) {
        return; /* the timer is closed (http_server_stop) */
    }
    uint64_t free_at = w->at_ms[w->oldest] + ACCESS_LOG_WINDOW_MS;
    uv_timer_start(&hs->refusal_flush, refusal_flush_due, free_at > now_ms ? free_at - now_ms : 0,
                   0);
}

static void refusal_flush_due(uv_timer_t *t)
{
    http_server *hs = t->data;
    uint64_t now_ms = clock_mono_ms();
    if (!log_dropped(&hs->refusal_log, now_ms)) {
        arm_refusal_flush(hs, now_ms);
    }
}

void access_log_stop(http_server *hs)
{
    access_log_window *w = &hs->refusal_log;
    if (w->dropped > 0) { /* the last burst's size, with no window to wait for */
        write_dropped(w);
    }
}

/* A refusal, for the operator (a scanner, a producer with an old key): what, from where, and
 * why -- never the credential. At most ACCESS_LOG_LINES in any ACCESS_LOG_WINDOW_MS; the count
 * of those left out is written as soon as the window has room again (a timer), or before the
 * next refusal's line, so a flood of bad requests cannot flood the log and a burst's size is
 * known without waiting for the next. */
static void log_refusal(http_server *hs, h2o_req_t *q, const char *what, const http_error *e)
{
    access_log_window *w = &hs->refusal_log;
    uint64_t now_ms = clock_mono_ms();
    if (!log_dropped(w, now_ms) || !access_log_take(w, now_ms)) {
        if (w->dropped++ == 0) {
            arm_refusal_flush(hs, now_ms);
        }
        return;
    }
    char client[FORWARDED_ADDR_MAX], path[4 * HTTP_PATH_MAX];
    access_client(hs, q, client);
    log_info("access: %d %s from %s: %s", e->status, printable(what, path, sizeof path), client,
             e->message);
}

bool access_check_request(http_server *hs, http_req *r, http_error *e, char *msg, size_t len)
{
    const http_route *rt = router_find(hs, r);
    char challenge[ACCESS_CHALLENGE_MAX];
    if (rt == NULL) {
        return true; /* 404, 405 or a dashboard file: public */
    }
    if (admitted(hs->cfg, r->h2o, false, rt->roles, &r->who, e, msg, len, challenge)) {
        return true;
    }
    http_add_header(r, "www-authenticate:", challenge);
    log_refusal(hs, r->h2o, r->path, e);
    return false;
}

bool access_check_upgrade(http_server *hs, h2o_req_t *q, const http_ws_endpoint *ep,
                          auth_identity *who, http_error *e, char *msg, size_t len,
                          char challenge[ACCESS_CHALLENGE_MAX])
{
    if (admitted(hs->cfg, q, true, ep->roles, who, e, msg, len, challenge)) {
        return true;
    }
    log_refusal(hs, q, ep->path, e);
    return false;
}

void http_challenge_scope(http_req *r, const char *why)
{
    for (int i = 0; i < r->nextra; i++) {
        if (strcmp(r->extra[i].name, "www-authenticate:") == 0) {
            return; /* once: the route's access check has added its own */
        }
    }
    char challenge[ACCESS_CHALLENGE_MAX];
    access_challenge("insufficient_scope", why, challenge);
    http_add_header(r, "www-authenticate:", challenge);
}
