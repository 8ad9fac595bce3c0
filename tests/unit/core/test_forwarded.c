/* test_forwarded.c -- the client behind --trust-proxy: X-Forwarded-For believed only from a
 * trusted peer and only up to the first untrusted hop from the right; IPv4, IPv6, IPv4:port
 * and [IPv6]:port hops (RFC 7239 §6); malformed hops and spoofed entries left of it change
 * nothing. */
#include "core/forwarded.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

static tt_config proxies(const char *list)
{
    tt_config cfg;
    char err[TT_ERRLEN];
    memset(&cfg, 0, sizeof cfg);
    assert_int_equal(config_set_flag(&cfg, "--trust-proxy", list, err), 0);
    return cfg;
}

static void client_is(const tt_config *cfg, const char *peer, const char *xff, const char *want)
{
    char out[FORWARDED_ADDR_MAX];
    forwarded_client(cfg, peer, xff, out);
    if (strcmp(out, want) != 0) {
        fail_msg("peer %s, X-Forwarded-For '%s': got %s, want %s", peer, xff ? xff : "(none)", out,
                 want);
    }
}

static void untrusted_peer_is_the_client(void **state)
{
    (void)state;
    tt_config none = proxies(""), lo = proxies("127.0.0.1");
    client_is(&none, "203.0.113.9", "198.51.100.1", "203.0.113.9");
    client_is(&none, "127.0.0.1", "198.51.100.1", "127.0.0.1");
    client_is(&lo, "10.0.0.5", "198.51.100.1", "10.0.0.5");
}

static void trusted_peer_names_the_client(void **state)
{
    (void)state;
    tt_config cfg = proxies("127.0.0.1,10.0.0.0/8");
    client_is(&cfg, "127.0.0.1", NULL, "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "198.51.100.1", "198.51.100.1");
    client_is(&cfg, "127.0.0.1", " 198.51.100.1 ", "198.51.100.1");
    /* A chain of trusted proxies is walked through. */
    client_is(&cfg, "127.0.0.1", "198.51.100.1, 10.1.2.3", "198.51.100.1");
    client_is(&cfg, "127.0.0.1", "198.51.100.1,10.1.2.3,10.9.9.9", "198.51.100.1");
    /* What the client wrote itself, left of the first untrusted hop, is not believed. */
    client_is(&cfg, "127.0.0.1", "6.6.6.6, 198.51.100.1, 10.1.2.3", "198.51.100.1");
    /* Every hop trusted: the leftmost. */
    client_is(&cfg, "127.0.0.1", "10.0.0.1, 10.0.0.2", "10.0.0.1");
}

static void malformed_hops_stop_the_walk(void **state)
{
    (void)state;
    tt_config cfg = proxies("127.0.0.1,10.0.0.0/8");
    client_is(&cfg, "127.0.0.1", "not-an-address", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "198.51.100.1, garbage, 10.1.2.3", "10.1.2.3");
    client_is(&cfg, "127.0.0.1", "198.51.100.1,", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", ",", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "1234567890123456789", "127.0.0.1");
    /* RFC 7239 §6 forms without an address, and near misses of the address forms. */
    client_is(&cfg, "127.0.0.1", "unknown", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "_hidden", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "198.51.100.1:", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "198.51.100.1:65536", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "198.51.100.1:123456", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "198.51.100.1:_", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "198.51.100.1:80:80", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "[198.51.100.1]", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "[198.51.100.1]:80", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "[2001:db8::1", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "[2001:db8::1]443", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "[2001:db8::1]:", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "[2001:db8::1]:x", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "2001:db8::1:443:", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "fe80::1%eth0", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "[]", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "[ 2001:db8::1 ]", "127.0.0.1");
}

/* The node forms of RFC 7239 §6, as proxies write them into X-Forwarded-For: the port goes,
 * IPv6 comes out in RFC 5952's form, and the walk goes on through trusted hops with ports. */
static void ports_and_ipv6_name_the_client(void **state)
{
    (void)state;
    tt_config cfg = proxies("127.0.0.1,10.0.0.0/8");
    client_is(&cfg, "127.0.0.1", "198.51.100.9:1234", "198.51.100.9");
    client_is(&cfg, "127.0.0.1", "198.51.100.9:_obf-port.1", "198.51.100.9");
    client_is(&cfg, "127.0.0.1", "198.51.100.9:65535", "198.51.100.9");
    client_is(&cfg, "127.0.0.1", "2001:db8::1", "2001:db8::1");
    client_is(&cfg, "127.0.0.1", " 2001:DB8:0:0:0:0:0:1 ", "2001:db8::1");
    client_is(&cfg, "127.0.0.1", "[2001:db8::1]", "2001:db8::1");
    client_is(&cfg, "127.0.0.1", "[2001:db8::1]:443", "2001:db8::1");
    client_is(&cfg, "127.0.0.1", "[2001:db8::1]:_x", "2001:db8::1");
    client_is(&cfg, "127.0.0.1", "::1", "::1");
    /* IPv4-mapped (a proxy's dual-stack socket) is the IPv4 client, trusted or not as one. */
    client_is(&cfg, "127.0.0.1", "::ffff:198.51.100.9", "198.51.100.9");
    client_is(&cfg, "127.0.0.1", "[::ffff:198.51.100.9]:80", "198.51.100.9");
    client_is(&cfg, "127.0.0.1", "198.51.100.9, ::ffff:10.1.2.3", "198.51.100.9");
    /* Trusted hops with ports are walked through; an IPv6 hop is never a trusted proxy. */
    client_is(&cfg, "127.0.0.1", "6.6.6.6, [2001:db8::1]:443, 10.1.2.3:80", "2001:db8::1");
    client_is(&cfg, "127.0.0.1", "2001:db8::1, 198.51.100.9:1234, 10.1.2.3", "198.51.100.9");
    client_is(&cfg, "127.0.0.1", "6.6.6.6, 2001:db8::2", "2001:db8::2");
    /* The longest IPv6 text fits. */
    client_is(&cfg, "127.0.0.1", "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
              "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

/* false when a hop that mattered could not be read (the caller may warn), true otherwise. */
static void says_when_a_hop_is_unparsable(void **state)
{
    (void)state;
    tt_config cfg = proxies("127.0.0.1,10.0.0.0/8");
    char out[FORWARDED_ADDR_MAX];
    assert_true(forwarded_client(&cfg, "127.0.0.1", NULL, out));
    assert_true(forwarded_client(&cfg, "127.0.0.1", "", out));
    assert_true(forwarded_client(&cfg, "127.0.0.1", "[2001:db8::1]:443", out));
    assert_true(forwarded_client(&cfg, "127.0.0.1", "garbage, 198.51.100.1", out));
    assert_true(forwarded_client(&cfg, "203.0.113.9", "garbage", out)); /* not believed anyway */
    assert_false(forwarded_client(&cfg, "127.0.0.1", "unknown", out));
    assert_false(forwarded_client(&cfg, "127.0.0.1", "198.51.100.1, garbage, 10.1.2.3", out));
    assert_string_equal(out, "10.1.2.3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(untrusted_peer_is_the_client),
        cmocka_unit_test(trusted_peer_names_the_client),
        cmocka_unit_test(malformed_hops_stop_the_walk),
        cmocka_unit_test(ports_and_ipv6_name_the_client),
        cmocka_unit_test(says_when_a_hop_is_unparsable),
    };
    return cmocka_run_group_tests_name("forwarded", tests, NULL, NULL);
}
