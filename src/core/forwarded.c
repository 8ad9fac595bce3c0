/* forwarded.c -- the client behind trusted proxies (X-Forwarded-For, walked from the right). */
#include "core/forwarded.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* A hop's address, parsed. */
typedef struct hop {
    bool v4;       /* else IPv6 */
    uint32_t addr; /* IPv4, host order */
    char text[FORWARDED_ADDR_MAX];
} hop;

/* Whether [s, s+len) is a node-port of RFC 7239 §6: 1*5DIGIT up to 65535, or an obfport,
 * "_" 1*(ALPHA / DIGIT / "." / "_" / "-"). */
static bool is_port(const char *s, size_t len)
{
    if (len >= 2 && s[0] == '_') {
        for (size_t i = 1; i < len; i++) {
            if (!isalnum((unsigned char)s[i]) && strchr("._-", s[i]) == NULL) {
                return false;
            }
        }
        return true;
    }
    unsigned long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i])) {
            return false;
        }
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    return len >= 1 && len <= 5 && v <= 65535;
}

/* The address in [s, s+len) (no port, no brackets) as IPv4 or IPv6 into 'h'; false if it is
 * neither. An IPv4-mapped IPv6 address is its IPv4 address. */
static bool parse_ip(const char *s, size_t len, hop *h)
{
    char buf[FORWARDED_ADDR_MAX];
    unsigned char in6[16];
    struct in_addr in;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (len == 0 || len >= sizeof buf) {
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, &in) == 1) {
        *h = (hop){.v4 = true, .addr = ntohl(in.s_addr)};
        memcpy(h->text, buf, len + 1);
        return true;
    }
    if (inet_pton(AF_INET6, buf, in6) != 1) {
        return false;
    }
    if (memcmp(in6, mapped, sizeof mapped) == 0) {
        memcpy(&in.s_addr, in6 + 12, 4);
        *h = (hop){.v4 = true, .addr = ntohl(in.s_addr)};
        return inet_ntop(AF_INET, &in, h->text, sizeof h->text) != NULL;
    }
    *h = (hop){.v4 = false};
    return inet_ntop(AF_INET6, in6, h->text, sizeof h->text) != NULL;
}

/* The hop in [s, s+len), in one of the node forms of forwarded.h, spaces around it ignored;
 * false if it is none of them. */
static bool parse_hop(const char *s, size_t len, hop *h)
{
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
        len--;
    }
    if (len > 0 && s[0] == '[') { /* [IPv6] or [IPv6]:port */
        const char *close = memchr(s, ']', len);
        size_t rest = close != NULL ? len - (size_t)(close - s) - 1 : 0;
        if (close == NULL || (rest > 0 && (close[1] != ':' || !is_port(close + 2, rest - 1)))) {
            return false;
        }
        size_t n = (size_t)(close - s) - 1;
        return memchr(s + 1, ':', n) != NULL && parse_ip(s + 1, n, h); /* IPv6 text only */
    }
    const char *colon = memchr(s, ':', len);
    if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) == NULL) {
        /* one colon: IPv4:port (IPv6 text has two at least) */
        return is_port(colon + 1, len - (size_t)(colon - s) - 1) &&
               parse_ip(s, (size_t)(colon - s), h) && h->v4;
    }
    return parse_ip(s, len, h);
}

bool forwarded_client(const tt_config *cfg, const char *peer, const char *xff,
                      char out[FORWARDED_ADDR_MAX])
{
    struct in_addr in;
    snprintf(out, FORWARDED_ADDR_MAX, "%s", peer);
    if (inet_pton(AF_INET, peer, &in) != 1 || !config_proxy_trusted(cfg, ntohl(in.s_addr)) ||
        xff == NULL || xff[0] == '\0') {
        return true;
    }
    size_t end = strlen(xff);
    for (;;) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',') {
            start--;
        }
        hop h;
        if (!parse_hop(xff + start, end - start, &h)) {
            return false; /* the last trusted hop is as far as anything can be believed */
        }
        memcpy(out, h.text, strlen(h.text) + 1);
        if (!h.v4 || !config_proxy_trusted(cfg, h.addr) || start == 0) {
            return true;
        }
        end = start - 1; /* before the comma */
    }
}
