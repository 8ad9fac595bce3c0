/* state_access.h -- why a caller may not reach a dashboard client's state, in words: the
 * refusal of auth_reaches_client() (core/auth.h) that /ws's state_subscribe and Realtime's
 * state:C topics give, so that each says its real reason. Pure; any thread. */
#ifndef TT_STATE_ACCESS_H
#define TT_STATE_ACCESS_H

#include "core/auth.h"

#include <stddef.h>

/* Writes into 'out' why 'who' may not do 'what' ("send 'state_subscribe'", "join topic
 * state:C") for a client whose state auth_reaches_client() does not give it:
 *   a role that reaches no client's state   "role anon may not WHAT: only service_role, or
 *                                            an authenticated JWT whose sub is the client id,
 *                                            reaches a client's state"
 *   an authenticated JWT without a sub      "role authenticated may WHAT only for its own
 *                                            client (the JWT's sub), and this JWT has no sub"
 *   an authenticated JWT, another client    "role authenticated may WHAT only for its own
 *                                            client: the client id must be the JWT's sub" */
void state_access_refusal(const auth_identity *who, const char *what, char *out, size_t len);

#endif
