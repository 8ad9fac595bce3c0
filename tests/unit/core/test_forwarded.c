/* test_forwarded.c -- the client behind --trust-proxy: X-Forwarded-For believed only from a
 * trusted peer and only up to the first untrusted hop from the right; malformed hops and
 * spoofed entries left of it change nothing. */
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
    client_is(&cfg, "127.0.0.1", "2001:db8::1", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "198.51.100.1:4711", "127.0.0.1");
    client_is(&cfg, "127.0.0.1", "1234567890123456789", "127.0.0.1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(untrusted_peer_is_the_client),
        cmocka_unit_test(trusted_peer_names_the_client),
        cmocka_unit_test(malformed_hops_stop_the_walk),
    };
    return cmocka_run_group_tests_name("forwarded", tests, NULL, NULL);
}
