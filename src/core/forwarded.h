/* forwarded.h -- which address a request comes from when it passes through proxies: the
 * X-Forwarded-For rule of --trust-proxy (DESIGN §5, OPERATIONS "Exposing telltale safely").
 *
 * X-Forwarded-For is a comma list the proxies append to, the nearest last ("client, proxy1,
 * proxy2"). Anyone can send one, so it is believed only from a trusted proxy, and only up to
 * the first address that is not a trusted proxy, walking from the right: what lies left of that
 * was written by the client itself. nginx's real_ip_recursive works the same way. IPv4 only,
 * as telltale listens on IPv4. Pure. */
#ifndef TT_FORWARDED_H
#define TT_FORWARDED_H

#include "core/config.h"

#include <stddef.h>

#define FORWARDED_ADDR_MAX 16 /* "255.255.255.255" and its NUL */

/* The client's address for a connection from 'peer' (dotted IPv4) that sent 'xff' (the
 * X-Forwarded-For header, NULL or "" when absent), into 'out' (FORWARDED_ADDR_MAX). When the
 * peer is not a trusted proxy, or the header is absent or malformed at the first hop that
 * matters, the answer is the last address that can be believed (the peer at least). */
void forwarded_client(const tt_config *cfg, const char *peer, const char *xff,
                      char out[FORWARDED_ADDR_MAX]);

#endif
