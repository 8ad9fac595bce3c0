/* auth.h -- who a caller is, from the keys and JWTs it presents, and what its role may use
 * (DESIGN §5, "Access").
 *
 * With no key configured (no TELLTALE_JWT_SECRET, TELLTALE_ANON_KEY, TELLTALE_INGEST_KEY or
 * TELLTALE_SERVICE_KEY), every caller is service_role: telltale then listens on loopback only.
 * With keys, a credential is TELLTALE_SERVICE_KEY (service_role), TELLTALE_INGEST_KEY (ingest),
 * TELLTALE_ANON_KEY (anon), or an HS256 JWT signed with TELLTALE_JWT_SECRET whose "role" claim
 * is service_role, ingest, authenticated or anon. Anything else is refused. Keys are compared
 * in constant time.
 *
 * What a role may use is stated where the thing is declared (a route's row, a WebSocket
 * message type's row) as a set of roles, AUTH_ROLES_*; auth_allows() is the one rule that
 * reads it.
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
    AUTH_NONE, /* no credential */
    AUTH_ANON,
    AUTH_AUTHENTICATED,
    AUTH_SERVICE,
    AUTH_INGEST,
} auth_role;

/* Sets of roles, as a route or a message type states who may use it. */
#define AUTH_ROLE(r) (1u << (r))
/* Anyone, with no credential or a bad one: the credential is not even looked at. */
#define AUTH_PUBLIC AUTH_ROLE(AUTH_NONE)
#define AUTH_ROLES_SERVICE AUTH_ROLE(AUTH_SERVICE)
/* Readers: anon counts only when the operator allows it (TELLTALE_ANON_READ). */
#define AUTH_ROLES_READ                                                                            \
    (AUTH_ROLE(AUTH_SERVICE) | AUTH_ROLE(AUTH_AUTHENTICATED) | AUTH_ROLE(AUTH_ANON))
/* Producers of events. */
#define AUTH_ROLES_INGEST (AUTH_ROLE(AUTH_SERVICE) | AUTH_ROLE(AUTH_INGEST))
/* Readers and producers: a connection that may do either, its messages checked one by one. */
#define AUTH_ROLES_ANY (AUTH_ROLES_READ | AUTH_ROLE(AUTH_INGEST))
/* Any valid credential, whatever its role (anon too, without TELLTALE_ANON_READ): a door whose
 * rooms check their own roles, as Realtime's connection and its channels. */
#define AUTH_ANY_KEY (1u << 8)

/* Whether 'role' may use what is open to 'roles'. 0 means service_role only, so a row that
 * forgets to say is closed rather than open. AUTH_ANON in 'roles' counts only with
 * cfg->anon_read. AUTH_PUBLIC admits every role, AUTH_ANY_KEY every role but AUTH_NONE. */
bool auth_allows(const tt_config *cfg, unsigned roles, auth_role role);

/* The HTTP status of a refusal: 401 when the caller has no valid credential (AUTH_NONE), 403
 * when it has one whose role may not do this. */
int auth_refusal_status(auth_role role);

typedef struct auth_identity {
    auth_role role;
    char sub[JWT_SUB_MAX + 1]; /* the JWT's "sub", "" for keys */
    int64_t expires_s;         /* the JWT's "exp"; 0 for keys and tokens without one */
} auth_identity;

/* Whether 'who' may read and write dashboard client 'client_id''s state (DESIGN §5, "Dashboard
 * state"): service_role any client; authenticated only its own, the one its JWT's "sub" names;
 * nobody else -- the rule the table's row-level security states, applied on HTTP, /ws and
 * Realtime alike. */
bool auth_reaches_client(const auth_identity *who, const char *client_id);

/* True once any key is configured. */
bool auth_enabled(const tt_config *cfg);

/* Who presents 'credential' (a key or a JWT; NULL or "" is none). Returns 0, or TT_EINVAL
 * with 'err' saying why it is refused (never echoing it). */
int auth_credential(const tt_config *cfg, const char *credential, int64_t now_s, auth_identity *out,
                    char err[TT_ERRLEN]);

/* Who sends an HTTP request with these credentials (each NULL or "" when absent): 'apikey' from
 * where 'apikey_from' says ("apikey header", or on a WebSocket URL "apikey parameter"; NULL is
 * the header), 'authorization' the Authorization header. The bearer decides; an apikey beside
 * it must be valid too, and a refusal of either then names which one is refused: "the apikey
 * header is refused: unknown key", "the Authorization bearer token is refused: invalid token:
 * the token has expired". A lone credential's refusal is the reason alone ("unknown key"), and
 * so is that of one key sent as both (the same bytes as apikey and as bearer). */
int auth_request(const tt_config *cfg, const char *apikey, const char *apikey_from,
                 const char *authorization, int64_t now_s, auth_identity *out, char err[TT_ERRLEN]);

/* "anon", "authenticated", "service_role", "ingest" ("none" for AUTH_NONE). */
const char *auth_role_name(auth_role role);

#endif
