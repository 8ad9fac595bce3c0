/* auth.c -- keys and JWTs to roles. */
#include "core/auth.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

bool auth_enabled(const tt_config *cfg)
{
    return cfg->jwt_secret[0] != '\0' || cfg->anon_key[0] != '\0' || cfg->service_key[0] != '\0' ||
           cfg->ingest_key[0] != '\0';
}

bool auth_allows(const tt_config *cfg, unsigned roles, auth_role role)
{
    if (roles & AUTH_PUBLIC) {
        return true;
    }
    if (roles & AUTH_ANY_KEY) {
        return role != AUTH_NONE;
    }
    if (roles == 0) {
        roles = AUTH_ROLES_SERVICE;
    }
    if (role == AUTH_NONE || (role == AUTH_ANON && !cfg->anon_read)) {
        return false;
    }
    return (roles & AUTH_ROLE(role)) != 0;
}

int auth_refusal_status(auth_role role)
{
    return role == AUTH_NONE ? 401 : 403;
}

const char *auth_role_name(auth_role role)
{
    switch (role) {
    case AUTH_ANON:
        return "anon";
    case AUTH_AUTHENTICATED:
        return "authenticated";
    case AUTH_SERVICE:
        return "service_role";
    case AUTH_INGEST:
        return "ingest";
    default:
        return "none";
    }
}

/* Constant-time equality for a configured key ("" never matches). */
static bool key_is(const char *key, const char *credential)
{
    size_t n = strlen(key);
    return n > 0 && strlen(credential) == n && CRYPTO_memcmp(key, credential, n) == 0;
}

static int role_from_claim(const jwt_claims *c, auth_identity *out, char *err)
{
    static const struct {
        const char *name;
        auth_role role;
    } roles[] = {{"service_role", AUTH_SERVICE},
                 {"authenticated", AUTH_AUTHENTICATED},
                 {"ingest", AUTH_INGEST},
                 {"anon", AUTH_ANON}};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        if (strcmp(c->role, roles[i].name) == 0) {
            out->role = roles[i].role;
            strcpy(out->sub, c->sub);
            out->expires_s = c->exp; /* a token with "exp": 0 never gets here: it expired */
            return 0;
        }
    }
    return tt_fail(err, TT_EINVAL,
                   c->role[0]
                       ? "the token's role is not one of anon, authenticated, ingest, service_role"
                       : "the token has no role claim");
}

int auth_credential(const tt_config *cfg, const char *credential, int64_t now_s, auth_identity *out,
                    char err[TT_ERRLEN])
{
    *out = (auth_identity){.role = AUTH_NONE};
    if (!auth_enabled(cfg)) {
        out->role = AUTH_SERVICE;
        return 0;
    }
    if (credential == NULL || credential[0] == '\0') {
        return tt_fail(err, TT_EINVAL, "no key: send an apikey or a bearer token");
    }
    if (key_is(cfg->service_key, credential)) {
        out->role = AUTH_SERVICE;
        return 0;
    }
    if (key_is(cfg->ingest_key, credential)) {
        out->role = AUTH_INGEST;
        return 0;
    }
    if (key_is(cfg->anon_key, credential)) {
        out->role = AUTH_ANON;
        return 0;
    }
    if (cfg->jwt_secret[0] == '\0' || !jwt_looks_like(credential)) {
        return tt_fail(err, TT_EINVAL, "unknown key");
    }
    jwt_claims claims;
    char why[TT_ERRLEN];
    if (jwt_verify(credential, cfg->jwt_secret, now_s, &claims, why) != 0) {
        return tt_fail(err, TT_EINVAL, "invalid token: %s", why);
    }
    return role_from_claim(&claims, out, err);
}

/* Who presents 'credential', one of two a request carries: a refusal names it ('what'), so
 * the caller knows which of the two to fix. */
static int one_of_two(const tt_config *cfg, const char *credential, const char *what, int64_t now_s,
                      auth_identity *out, char *err)
{
    char why[TT_ERRLEN];
    if (auth_credential(cfg, credential, now_s, out, why) != 0) {
        *out = (auth_identity){.role = AUTH_NONE};
        return tt_fail(err, TT_EINVAL, "the %s is refused: %s", what, why);
    }
    return 0;
}

int auth_request(const tt_config *cfg, const char *apikey, const char *apikey_from,
                 const char *authorization, int64_t now_s, auth_identity *out, char err[TT_ERRLEN])
{
    *out = (auth_identity){.role = AUTH_NONE}; /* also when refused before auth_credential */
    if (!auth_enabled(cfg)) {
        return auth_credential(cfg, NULL, now_s, out, err);
    }
    const char *bearer = NULL;
    if (authorization != NULL && authorization[0] != '\0') {
        if (strncasecmp(authorization, "Bearer ", 7) != 0) {
            return tt_fail(err, TT_EINVAL, "the Authorization header must be 'Bearer TOKEN'");
        }
        bearer = authorization + 7;
    }
    bool has_apikey = apikey != NULL && apikey[0] != '\0';
    /* One key sent both ways (supabase-js and telltale's own CLI do) is one credential: its
     * refusal is the reason alone, not a verdict on "the apikey header". */
    bool same = has_apikey && bearer != NULL && strcmp(apikey, bearer) == 0;
    if (has_apikey && bearer != NULL && !same) {
        auth_identity ignored;
        int rc = one_of_two(cfg, apikey, apikey_from != NULL ? apikey_from : "apikey header", now_s,
                            &ignored, err);
        return rc != 0 ? rc
                       : one_of_two(cfg, bearer, "Authorization bearer token", now_s, out, err);
    }
    return auth_credential(cfg, bearer != NULL ? bearer : apikey, now_s, out, err);
}

bool auth_reaches_client(const auth_identity *who, const char *client_id)
{
    return who->role == AUTH_SERVICE || (who->role == AUTH_AUTHENTICATED && who->sub[0] != '\0' &&
                                         strcmp(who->sub, client_id) == 0);
}
