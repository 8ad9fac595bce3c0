/* state_access.c -- why a caller may not reach a dashboard client's state, in words. */
#include "live/state_access.h"

#include <stdio.h>

void state_access_refusal(const auth_identity *who, const char *what, char *out, size_t len)
{
    if (who->role != AUTH_AUTHENTICATED) {
        snprintf(out, len,
                 "role %s may not %s: only service_role, or an authenticated JWT whose sub is "
                 "the client id, reaches a client's state",
                 auth_role_name(who->role), what);
    } else if (who->sub[0] == '\0') {
        snprintf(out, len,
                 "role authenticated may %s only for its own client (the JWT's sub), and this "
                 "JWT has no sub",
                 what);
    } else {
        snprintf(out, len,
                 "role authenticated may %s only for its own client: the client id must be the "
                 "JWT's sub",
                 what);
    }
}
