/* fuzz_jwt.c -- libFuzzer target for JSON Web Tokens (RFC 7519) as clients present them.
 *
 * Input: a token. It is verified against a fixed secret at a fixed time. Beyond "no crash, no
 * undefined behaviour": a token is accepted only with a role claim that fits its buffer, and a
 * refusal always says why (never echoing the token). */
#include "core/jwt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *token = malloc(size + 1);
    if (token == NULL) {
        return 0;
    }
    memcpy(token, data, size);
    token[size] = '\0';
    jwt_claims claims;
    char err[TT_ERRLEN] = "";
    (void)jwt_looks_like(token);
    int rc = jwt_verify(token, "a-fuzzing-secret-of-at-least-32-bytes!!", 1767225600, &claims, err);
    if (rc == 0 && strlen(claims.role) > JWT_ROLE_MAX) {
        abort();
    }
    size_t len = strlen(token); /* the token as a C string: up to its first NUL */
    if (rc != 0 && (err[0] == '\0' || (len > 8 && strstr(err, token) != NULL))) {
        abort();
    }
    free(token);
    return 0;
}
