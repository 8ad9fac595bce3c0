/* jwt.c -- HS256 JWT verification with OpenSSL's HMAC and cJSON. */
#include "core/jwt.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#define SHA256_LEN 32

static bool is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

bool jwt_looks_like(const char *token)
{
    int dots = 0;
    size_t run = 0;
    for (const char *p = token; *p != '\0'; p++) {
        if (*p == '.') {
            if (run == 0) {
                return false;
            }
            dots++;
            run = 0;
        } else if (is_b64url(*p)) {
            run++;
        } else {
            return false;
        }
    }
    return dots == 2 && run > 0;
}

/* Decodes 'len' bytes of unpadded base64url into 'out' (room for len * 3 / 4 + 3 bytes);
 * returns the decoded length or -1. */
static int b64url_decode(const char *in, size_t len, unsigned char *out)
{
    if (len % 4 == 1) {
        return -1;
    }
    size_t padded = (len + 3) / 4 * 4;
    char *std = malloc(padded + 1);
    if (std == NULL) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        std[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    }
    memset(std + len, '=', padded - len);
    int n = EVP_DecodeBlock(out, (const unsigned char *)std, (int)padded);
    free(std);
    return n < 0 ? -1 : n - (int)(padded - len); /* EVP_DecodeBlock counts the padding */
}

/* The JSON object in base64url part [in, in+len), or NULL. */
static cJSON *decode_part(const char *in, size_t len)
{
    unsigned char *buf = malloc(len * 3 / 4 + 4);
    int n = buf != NULL ? b64url_decode(in, len, buf) : -1;
    cJSON *json = n > 0 ? cJSON_ParseWithLength((const char *)buf, (size_t)n) : NULL;
    free(buf);
    if (json != NULL && !cJSON_IsObject(json)) {
        cJSON_Delete(json);
        json = NULL;
    }
    return json;
}

static bool signature_ok(const char *token, size_t signed_len, const char *sig, size_t sig_len,
                         const char *secret)
{
    unsigned char want[EVP_MAX_MD_SIZE], got[SHA256_LEN + 4];
    unsigned int want_len = 0;
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)token, signed_len,
             want, &want_len) == NULL ||
        want_len != SHA256_LEN || sig_len != 43) { /* 32 bytes are 43 base64url characters */
        return false;
    }
    /* The last of the 43 characters carries 4 bits of the MAC and 2 spare bits, which the
     * decoder ignores: only the character with those bits zero is the signature, or four
     * spellings of one signature would all pass. */
    return strchr("AEIMQUYcgkosw048", sig[sig_len - 1]) != NULL &&
           b64url_decode(sig, sig_len, got) == SHA256_LEN &&
           CRYPTO_memcmp(want, got, SHA256_LEN) == 0;
}

/* Copies string claim 'name' into 'dst' (cap bytes with the NUL); absent is "". */
static bool string_claim(const cJSON *claims, const char *name, char *dst, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
    dst[0] = '\0';
    if (v == NULL) {
        return true;
    }
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap) {
        return false;
    }
    strcpy(dst, v->valuestring);
    return true;
}

/* Reads numeric claim 'name' into *out (0 when absent). */
static bool time_claim(const cJSON *claims, const char *name, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
    *out = 0;
    if (v == NULL) {
        return true;
    }
    /* Converting a double beyond int64_t is undefined (x86 gives INT64_MIN, so "nbf": 1e300
     * would pass as long past); no real date is that far. */
    if (!cJSON_IsNumber(v) || !(v->valuedouble > -9.2e18 && v->valuedouble < 9.2e18)) {
        return false;
    }
    *out = (int64_t)v->valuedouble;
    return true;
}

static int check_claims(const cJSON *claims, int64_t now_s, jwt_claims *out, char *err)
{
    int64_t nbf;
    if (!string_claim(claims, "role", out->role, sizeof out->role) ||
        !string_claim(claims, "sub", out->sub, sizeof out->sub) ||
        !time_claim(claims, "exp", &out->exp) || !time_claim(claims, "nbf", &nbf)) {
        return tt_fail(err, TT_EINVAL,
                       "a claim (role, sub, exp or nbf) has the wrong type or size");
    }
    /* Present, not non-zero: "exp": 0 expired in 1970. */
    bool has_exp = cJSON_GetObjectItemCaseSensitive(claims, "exp") != NULL;
    if (has_exp && now_s >= out->exp + JWT_LEEWAY_S) {
        return tt_fail(err, TT_EINVAL, "the token has expired");
    }
    if (nbf != 0 && now_s < nbf - JWT_LEEWAY_S) {
        return tt_fail(err, TT_EINVAL, "the token is not valid yet");
    }
    return 0;
}

int jwt_verify(const char *token, const char *secret, int64_t now_s, jwt_claims *out,
               char err[TT_ERRLEN])
{
    *out = (jwt_claims){0};
    size_t len = strlen(token);
    if (len > JWT_MAX || !jwt_looks_like(token)) {
        return tt_fail(err, TT_EINVAL, "not a JWT");
    }
    const char *dot1 = strchr(token, '.'), *dot2 = strchr(dot1 + 1, '.');
    cJSON *header = decode_part(token, (size_t)(dot1 - token));
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(header, "alg");
    bool hs256 = cJSON_IsString(alg) && strcmp(alg->valuestring, "HS256") == 0;
    cJSON_Delete(header);
    if (!hs256) {
        return tt_fail(err, TT_EINVAL, "the token is not signed with HS256");
    }
    if (!signature_ok(token, (size_t)(dot2 - token), dot2 + 1, strlen(dot2 + 1), secret)) {
        return tt_fail(err, TT_EINVAL, "the token's signature does not match");
    }
    cJSON *claims = decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    int rc = claims != NULL ? check_claims(claims, now_s, out, err)
                            : tt_fail(err, TT_EINVAL, "the token's claims are not a JSON object");
    cJSON_Delete(claims);
    return rc;
}
