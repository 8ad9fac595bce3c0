/* jwt.h -- checking the HS256 JSON Web Tokens that Supabase clients carry (RFC 7519).
 *
 *   base64url(header) "." base64url(claims) "." base64url(HMAC-SHA256(secret, first two parts))
 *
 * Only what telltale needs: the header must say alg HS256 (anything else, "none" above all,
 * is refused), the signature must match, "exp" and "nbf" (seconds, RFC 7519 §4.1.4-5) must hold
 * at 'now_s' give or take JWT_LEEWAY_S, for clocks that differ a little between the issuer and
 * telltale (RFC 7519 allows "some small leeway"; PostgREST takes 30 s too).
 * The claims telltale reads are "role" and "sub". Pure: the caller passes the time. */
#ifndef TT_JWT_H
#define TT_JWT_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JWT_MAX 8192    /* bytes of a token we are willing to look at */
#define JWT_ROLE_MAX 64 /* bytes of the role claim */
#define JWT_SUB_MAX 128 /* bytes of the sub claim */
#define JWT_LEEWAY_S 30 /* seconds of clock skew allowed on exp and nbf */

typedef struct jwt_claims {
    char role[JWT_ROLE_MAX + 1]; /* "" when absent */
    char sub[JWT_SUB_MAX + 1];   /* "" when absent */
    int64_t exp;                 /* 0 when absent */
} jwt_claims;

/* True if 'token' has a compact JWS's shape (RFC 7515 §7.1): two dots, so three parts, and no
 * space, control or non-ASCII byte -- whatever the parts hold, an empty one included (an
 * unsecured JWT's signature is empty, RFC 7519 §6). A caller can then tell "a JWT that failed"
 * (jwt_verify says why) from "some other kind of key". */
bool jwt_looks_like(const char *token);

/* Verifies 'token' against 'secret' at 'now_s' (Unix seconds) and fills *out. Returns 0, or
 * TT_EINVAL with 'err' saying what is wrong (never echoing the token). */
int jwt_verify(const char *token, const char *secret, int64_t now_s, jwt_claims *out,
               char err[TT_ERRLEN]);

#endif
