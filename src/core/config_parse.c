/* config_parse.c -- the parsers behind the settings table: sizes, durations, addresses,
 * proxy lists, origin lists. Pure. */
#include "core/config.h"

#include "core/config_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct unit {
    const char *suffix;
    uint64_t mult;
} unit;

/* Digits followed by exactly one of 'units' (the empty suffix included when listed). */
static bool parse_with_unit(const char *s, const unit *units, size_t nunits, uint64_t *out)
{
    if (!isdigit((unsigned char)s[0])) {
        return false;
    }
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0) {
        return false;
    }
    for (size_t i = 0; i < nunits; i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            if (v > UINT64_MAX / units[i].mult) {
                return false;
            }
            *out = v * units[i].mult;
            return true;
        }
    }
    return false;
}

bool config_parse_size(const char *s, uint64_t *out)
{
    static const unit units[] = {
        {"", 1}, {"B", 1}, {"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}};
    return parse_with_unit(s, units, sizeof units / sizeof units[0], out);
}

bool config_parse_duration_ms(const char *s, uint64_t *out)
{
    static const unit units[] = {{"", 1000},   {"ms", 1},      {"s", 1000},
                                 {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    return parse_with_unit(s, units, sizeof units / sizeof units[0], out);
}

static bool parse_address(const char *s, char *host, size_t hostcap, unsigned *port_out)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || s[0] == '[' || (size_t)(colon - s) >= hostcap) {
        return false;
    }
    for (const char *p = s; p < colon; p++) {
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-') {
            return false;
        }
    }
    uint64_t port;
    if (!isdigit((unsigned char)colon[1]) || strlen(colon + 1) > 5 ||
        !config_parse_size(colon + 1, &port) ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1) || port > 65535) {
        return false;
    }
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port_out = (unsigned)port;
    return true;
}

/* "A.B.C.D" or "A.B.C.D/N" into an address (host order) and a prefix length. */
static bool parse_block(const char *s, size_t len, uint32_t *addr, uint8_t *bits)
{
    char buf[32];
    if (len == 0 || len >= sizeof buf) {
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *slash = strchr(buf, '/');
    uint64_t n = 32;
    if (slash != NULL) {
        *slash = '\0';
        if (!isdigit((unsigned char)slash[1]) || strlen(slash + 1) > 2 ||
            strspn(slash + 1, "0123456789") != strlen(slash + 1) ||
            !config_parse_size(slash + 1, &n) || n > 32) {
            return false;
        }
    }
    struct in_addr in;
    if (inet_pton(AF_INET, buf, &in) != 1) {
        return false;
    }
    *addr = ntohl(in.s_addr);
    *bits = (uint8_t)n;
    return true;
}

/* A comma-separated list of proxies, parsed whole: a refused list changes nothing. */
bool config_parse_proxies(const char *s, tt_config *cfg)
{
    uint32_t addr[CONFIG_TRUST_PROXY_MAX];
    uint8_t bits[CONFIG_TRUST_PROXY_MAX];
    int n = 0;
    while (*s != '\0') {
        size_t len = strcspn(s, ",");
        if (n == CONFIG_TRUST_PROXY_MAX || !parse_block(s, len, &addr[n], &bits[n])) {
            return false;
        }
        n++;
        s += len;
        if (*s == ',' && *++s == '\0') {
            return false; /* a trailing comma: refused whole, as any bad entry */
        }
    }
    memcpy(cfg->trust_proxy_addr, addr, (size_t)n * sizeof addr[0]);
    memcpy(cfg->trust_proxy_bits, bits, (size_t)n * sizeof bits[0]);
    cfg->trust_proxy_n = n;
    return true;
}

bool config_proxy_trusted(const tt_config *cfg, uint32_t addr)
{
    for (int i = 0; i < cfg->trust_proxy_n; i++) {
        unsigned bits = cfg->trust_proxy_bits[i];
        uint32_t mask = bits == 0 ? 0 : UINT32_MAX << (32 - bits);
        if ((addr & mask) == (cfg->trust_proxy_addr[i] & mask)) {
            return true;
        }
    }
    return false;
}

bool config_host_is_loopback(const char *host)
{
    struct in_addr in;
    return inet_pton(AF_INET, host, &in) == 1 && (ntohl(in.s_addr) >> 24) == 127;
}

bool config_parse_listen(const char *s, tt_config *cfg)
{
    return parse_address(s, cfg->listen_host, sizeof cfg->listen_host, &cfg->listen_port);
}

/* "off", or an address; a refused value changes nothing (a fuzz_config finding). */
bool config_parse_otlp_listen(const char *s, tt_config *cfg)
{
    bool off = strcmp(s, "off") == 0;
    if (!off && !parse_address(s, cfg->otlp_host, sizeof cfg->otlp_host, &cfg->otlp_port)) {
        return false;
    }
    cfg->otlp_listen = !off;
    return true;
}

/* One origin as a browser sends it (RFC 6454 §6.1): http or https, "://", a host, an optional
 * port, and nothing after. */
static bool valid_origin(const char *s, size_t n)
{
    size_t scheme = n >= 7 && strncmp(s, "http://", 7) == 0    ? 7
                    : n >= 8 && strncmp(s, "https://", 8) == 0 ? 8
                                                               : 0;
    if (scheme == 0 || n == scheme) {
        return false;
    }
    for (size_t i = scheme; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && strchr(".-:[]", s[i]) == NULL) {
            return false;
        }
    }
    return true;
}

/* "", "*", or origins separated by commas (spaces around them allowed). */
bool config_parse_origins(const char *value, tt_config *cfg)
{
    if (strlen(value) >= sizeof cfg->allow_origins) {
        return false;
    }
    if (strcmp(value, "*") != 0) {
        for (const char *p = value; *p != '\0';) {
            p += strspn(p, " ");
            size_t n = strcspn(p, ",");
            size_t m = n;
            while (m > 0 && p[m - 1] == ' ') {
                m--;
            }
            if (!valid_origin(p, m)) {
                return false;
            }
            p += n + (p[n] == ',');
        }
    }
    strcpy(cfg->allow_origins, value);
    return true;
}
