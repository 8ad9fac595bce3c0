/* fuzz_forwarded.c -- libFuzzer target for the client address behind trusted proxies: the
 * X-Forwarded-For header (network input) and the --trust-proxy list (configuration input).
 *
 * Input: the first line is a --trust-proxy value, the second the peer, the rest the header.
 * Beyond "no crash, no undefined behaviour": the answer behind a trusted peer is always a
 * NUL-terminated IPv4 or IPv6 address, the peer or one the header holds (IPv6 and IPv4-mapped
 * ones rewritten as text of their own, so only an IPv4 answer the header spells alike is
 * looked up in it); an untrusted peer is always the answer, and said to be parsed; a refused
 * --trust-proxy list leaves no proxy trusted. */
#include "core/forwarded.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

/* Splits off the text up to the next '\n' (or the end), NUL-terminating it in place. */
static char *line(char **cursor)
{
    char *start = *cursor, *nl = strchr(start, '\n');
    if (nl != NULL) {
        *nl = '\0';
        *cursor = nl + 1;
    } else {
        *cursor = start + strlen(start);
    }
    return start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    char *cursor = text;
    const char *proxies = line(&cursor), *peer = line(&cursor), *xff = cursor;
    tt_config cfg;
    char err[TT_ERRLEN];
    memset(&cfg, 0, sizeof cfg);
    if (config_set_flag(&cfg, "--trust-proxy", proxies, err) != 0) {
        check(cfg.trust_proxy_n == 0);
    }
    check(cfg.trust_proxy_n >= 0 && cfg.trust_proxy_n <= CONFIG_TRUST_PROXY_MAX);
    char out[FORWARDED_ADDR_MAX];
    bool parsed = forwarded_client(&cfg, peer, xff, out);
    check(memchr(out, '\0', sizeof out) != NULL);
    struct in_addr in;
    unsigned char in6[16];
    bool peer_ok = inet_pton(AF_INET, peer, &in) == 1;
    if (!peer_ok || !config_proxy_trusted(&cfg, ntohl(in.s_addr))) {
        check(strncmp(out, peer, sizeof out - 1) == 0); /* the peer itself, as far as it fits */
        check(parsed);
    } else if (inet_pton(AF_INET, out, &in) == 1) {
        check(strcmp(out, peer) == 0 || strstr(xff, out) != NULL ||
              strchr(xff, ':') != NULL); /* ::ffff:a00:1 is 10.0.0.1 */
    } else {
        check(inet_pton(AF_INET6, out, in6) == 1 && strchr(xff, ':') != NULL);
    }
    free(text);
    return 0;
}
