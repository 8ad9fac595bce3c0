/* forwarded.c -- the client behind trusted proxies (X-Forwarded-For, walked from the right). */
#include "core/forwarded.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* The address in [s, s+len), spaces around it ignored; false if it is not dotted IPv4. */
static bool parse_ipv4(const char *s, size_t len, uint32_t *addr, char out[FORWARDED_ADDR_MAX])
{
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
        len--;
    }
    struct in_addr in;
    char buf[FORWARDED_ADDR_MAX];
    if (len == 0 || len >= sizeof buf) {
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, &in) != 1) {
        return false;
    }
    *addr = ntohl(in.s_addr);
    memcpy(out, buf, len + 1);
    return true;
}

void forwarded_client(const tt_config *cfg, const char *peer, const char *xff,
                      char out[FORWARDED_ADDR_MAX])
{
    uint32_t addr;
    struct in_addr in;
    snprintf(out, FORWARDED_ADDR_MAX, "%s", peer);
    if (inet_pton(AF_INET, peer, &in) != 1 || !config_proxy_trusted(cfg, ntohl(in.s_addr)) ||
        xff == NULL) {
        return;
    }
    size_t end = strlen(xff);
    for (;;) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',') {
            start--;
        }
        char hop[FORWARDED_ADDR_MAX];
        if (!parse_ipv4(xff + start, end - start, &addr, hop)) {
            return; /* malformed: the last trusted hop is as far as anything can be believed */
        }
        memcpy(out, hop, strlen(hop) + 1);
        if (!config_proxy_trusted(cfg, addr) || start == 0) {
            return;
        }
        end = start - 1; /* before the comma */
    }
}
