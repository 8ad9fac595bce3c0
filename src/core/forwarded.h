/* forwarded.h -- which address a request comes from when it passes through proxies: the
 * X-Forwarded-For rule of --trust-proxy (DESIGN §5, OPERATIONS "Behind a reverse proxy").
 *
 * X-Forwarded-For is a comma list the proxies append to, the nearest last ("client, proxy1,
 * proxy2"). Anyone can send one, so it is believed only from a trusted proxy, and only up to
 * the first address that is not a trusted proxy, walking from the right: what lies left of that
 * was written by the client itself. nginx's real_ip_recursive works the same way.
 *
 * A hop is one of the node forms of RFC 7239 §6 with an IP address, as proxies write them:
 *
 *     198.51.100.9           IPv4
 *     198.51.100.9:1234      IPv4 and a port (1 to 5 digits, or an obfuscated "_name")
 *     2001:db8::1            IPv6 (RFC 4291 §2.2 text), bare as nginx and HAProxy write it
 *     [2001:db8::1]          IPv6 in brackets
 *     [2001:db8::1]:443      IPv6 in brackets and a port
 *
 * The port is dropped: a client is its address. IPv6 comes out as RFC 5952 text (inet_ntop:
 * lower case, "::" shortest), so one client is one key however a proxy spelt it; an
 * IPv4-mapped IPv6 address (::ffff:198.51.100.9, from a proxy's dual-stack socket) is the IPv4
 * address. --trust-proxy lists IPv4 only, so an IPv6 hop is never a trusted proxy. Spaces and
 * tabs around a hop are ignored. Anything else ("unknown", "_hidden", a zone id, garbage) is
 * unparsable. Pure. */
#ifndef TT_FORWARDED_H
#define TT_FORWARDED_H

#include "core/config.h"

#include <stdbool.h>
#include <stddef.h>

/* "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" and its NUL: INET6_ADDRSTRLEN */
#define FORWARDED_ADDR_MAX 46

/* The client's address for a connection from 'peer' (dotted IPv4) that sent 'xff' (the
 * X-Forwarded-For header, NULL or "" when absent), into 'out' (FORWARDED_ADDR_MAX: an IPv4 or
 * IPv6 address as text, or the peer as given). When the peer is not a trusted proxy or the
 * header is absent, the peer. Returns false when a hop that mattered (right of the first
 * untrusted one) is unparsable: the answer is then the last address that can be believed,
 * the proxy nearest that hop (the peer at least), as a client that cannot be told apart from
 * its proxy; true otherwise. */
bool forwarded_client(const tt_config *cfg, const char *peer, const char *xff,
                      char out[FORWARDED_ADDR_MAX]);

#endif
