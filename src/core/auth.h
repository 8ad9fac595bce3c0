/* auth.h -- who a caller is, from the keys and JWTs it presents (DESIGN §5, "Access").
 *
 * With no key configured (no TELLTALE_JWT_SECRET, TELLTALE_ANON_KEY or TELLTALE_SERVICE_KEY),
 * every caller is service_role: telltale then listens on loopback only. With keys, a
 * credential is TELLTALE_SERVICE_KEY (service_role), TELLTALE_ANON_KEY (anon), or an HS256 JWT
 * signed with TELLTALE_JWT_SECRET whose "role" claim is service_role, authenticated or anon.
 * Anything else is refused. Keys are compared in constant time.
 *
 * HTTP callers send them as supabase-js does: "apikey: K" and "Authorization: Bearer T".
 * The bearer token decides the role; an apikey sent alongside must be valid too.
 *
 * Pure: the time comes in as an argument. */
#ifndef TT_AUTH_H
#define TT_AUTH_H

#include "core/config.h"
#include "core/jwt.h"

typedef enum auth_role {
    AUTH_NONE,
    AUTH_ANON,
    AUTH_AUTHENTICATED,
    AUTH_SERVICE,
} auth_role;

typedef struct auth_identity {
    auth_role role;
    char sub[JWT_SUB_MAX + 1]; /* the JWT's "sub", "" for keys */
    int64_t expires_s;         /* the JWT's "exp"; 0 for keys and tokens without one */
} auth_identity;

/* True once any key is configured. */
bool auth_enabled(const tt_config *cfg);

/* Who presents 'credential' (a key or a JWT; NULL or "" is none). Returns 0, or TT_EINVAL
 * with 'err' saying why it is refused (never echoing it). */
int auth_credential(const tt_config *cfg, const char *credential, int64_t now_s,
                    auth_identity *out, char err[TT_ERRLEN]);

/* Who sends an HTTP request with these headers (each NULL when absent). */
int auth_request(const tt_config *cfg, const char *apikey, const char *authorization,
                 int64_t now_s, auth_identity *out, char err[TT_ERRLEN]);

/* "anon", "authenticated", "service_role" ("none" for AUTH_NONE). */
const char *auth_role_name(auth_role role);

#endif
