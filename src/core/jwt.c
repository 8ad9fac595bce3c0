/* jwt.c -- HS256 JWT verification with OpenSSL's HMAC and cJSON. */
#include "core/jwt.h"

#include "core/json_scan.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA256_LEN 32

static bool is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* Judged by its dots alone: a key of ours has none to count on, and a token that is wrong
 * anywhere else (an empty part, padding, an unsecured JWT's empty signature) is still a JWT
 * whose fault jwt_verify names. */
bool jwt_looks_like(const char *token)
{
    int dots = 0;
    for (const unsigned char *p = (const unsigned char *)token; *p != '\0'; p++) {
        if (*p <= ' ' || *p >= 0x7f) {
            return false; /* no part of a JWS has a space, control or non-ASCII byte */
        }
        dots += *p == '.';
    }
    return dots == 2;
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

/* The JSON object in base64url part [in, in+len): 0 with *out set; -1 when the part is not
 * base64url, -2 when it decodes to something other than a JSON object (or memory ran out). */
static int decode_part(const char *in, size_t len, cJSON **out)
{
    unsigned char *buf = malloc(len * 3 / 4 + 4);
    int n = buf != NULL ? b64url_decode(in, len, buf) : -1;
    bool not_b64 = buf != NULL && n < 0;
    cJSON *json = n > 0 ? cJSON_ParseWithLength((const char *)buf, (size_t)n) : NULL;
    free(buf);
    if (json != NULL && !cJSON_IsObject(json)) {
        cJSON_Delete(json);
        json = NULL;
    }
    *out = json;
    return json != NULL ? 0 : not_b64 ? -1 : -2;
}

/* 'in' cut to 32 bytes, outside printable ASCII and quotes as '?', into 'out' (33 bytes): a
 * name from a token reaches logs and a WWW-Authenticate header. Returns 'out'. */
static const char *shown_name(const char *in, char out[33])
{
    size_t n = 0;
    for (; in[n] != '\0' && n < 32; n++) {
        unsigned char c = (unsigned char)in[n];
        out[n] = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '?';
    }
    out[n] = '\0';
    return out;
}

/* Why the JSON object 'part' ("header" or "claims") is refused for a member given twice in one
 * object at any depth, into 'why', or NULL: cJSON finds the first of two, other readers the
 * last, so {"role":"anon","role":"service_role"} means nothing certain (RFC 7519 §4 lets a
 * reader refuse it; DESIGN's rule is never to settle it by the first). */
static const char *duplicate_wrong(const cJSON *part, const char *what, char *why, size_t len)
{
    const char *dup = json_duplicate_member(part);
    char name[33];
    if (dup == NULL) {
        return NULL;
    }
    snprintf(why, len, "the member '%s' is given twice in its %s: member names are unique (RFC "
             "7519 4)", shown_name(dup, name), what);
    return why;
}

/* Why the header's "crit" is refused, into 'why', or NULL when it has none: crit lists the
 * extensions a reader must understand (RFC 7515 §4.1.11), and telltale understands none, so
 * any crit -- or one that is no array of names -- refuses the token. */
static const char *crit_wrong(const cJSON *header, char *why, size_t len)
{
    const cJSON *crit = cJSON_GetObjectItemCaseSensitive(header, "crit");
    if (crit == NULL) {
        return NULL;
    }
    const cJSON *first = cJSON_IsArray(crit) ? crit->child : NULL;
    if (first == NULL || !cJSON_IsString(first)) {
        snprintf(why, len,
                 "its header's crit is not a non-empty array of names (RFC 7515 4.1.11)");
    } else {
        char name[33];
        snprintf(why, len,
                 "its header's crit names the extension '%s', which is not understood (no "
                 "extension is; RFC 7515 4.1.11)",
                 shown_name(first->valuestring, name));
    }
    return why;
}

/* Whether 'sig' has an HMAC-SHA256's length in base64url: 32 bytes are 43 characters. */
static bool signature_form(size_t sig_len)
{
    return sig_len == 43;
}

static bool signature_ok(const char *token, size_t signed_len, const char *sig, size_t sig_len,
                         const char *secret)
{
    unsigned char want[EVP_MAX_MD_SIZE], got[SHA256_LEN + 4];
    unsigned int want_len = 0;
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)token, signed_len,
             want, &want_len) == NULL ||
        want_len != SHA256_LEN) {
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
    char why_dup[TT_ERRLEN];
    if (duplicate_wrong(claims, "claims", why_dup, sizeof why_dup) != NULL) {
        return tt_fail(err, TT_EINVAL, "%s", why_dup);
    }
    const char *bad = !string_claim(claims, "role", out->role, sizeof out->role) ? "role"
                      : !string_claim(claims, "sub", out->sub, sizeof out->sub)  ? "sub"
                      : !time_claim(claims, "exp", &out->exp)                    ? "exp"
                      : !time_claim(claims, "nbf", &nbf)                         ? "nbf"
                                                                                 : NULL;
    if (bad != NULL) {
        return tt_fail(err, TT_EINVAL, "its claim '%s' has the wrong type or size (%s)", bad,
                       bad[0] == 'r'   ? "a string of at most 64 bytes"
                       : bad[0] == 's' ? "a string of at most 128 bytes"
                                       : "a number of seconds, RFC 7519 NumericDate");
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

/* Why the decoded 'header' is refused, into 'why', or NULL: a member given twice, an alg other
 * than HS256 (RFC 7519 §6's "none" above all), a crit. */
static const char *header_wrong(const cJSON *header, char *why, size_t len)
{
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(header, "alg");
    char why_alg[64] = "";
    if (duplicate_wrong(header, "header", why, len) != NULL) {
        return why;
    }
    if (alg == NULL) {
        snprintf(why_alg, sizeof why_alg, "its header has no alg");
    } else if (!cJSON_IsString(alg)) {
        snprintf(why_alg, sizeof why_alg, "its alg is not a string");
    } else if (strcmp(alg->valuestring, "HS256") != 0) {
        snprintf(why_alg, sizeof why_alg, "its alg is \"%.16s\"%s", alg->valuestring,
                 strcmp(alg->valuestring, "none") == 0 ? ", it is unsigned (RFC 7519 6)" : "");
    }
    if (why_alg[0] != '\0') {
        snprintf(why, len, "the token is not signed with HS256: %s", why_alg);
        return why;
    }
    return crit_wrong(header, why, len);
}

/* Why 'token' is no JWT by its shape (RFC 7519 §7.2 step 1: three base64url segments separated
 * by dots), or NULL. */
static const char *shape_wrong(const char *token, char *why, size_t len)
{
    static const char *const names[] = {"header", "claims", "signature"};
    size_t dots = 0;
    for (const char *p = token; *p != '\0'; p++) {
        dots += *p == '.';
    }
    if (strlen(token) > JWT_MAX) {
        snprintf(why, len, "not a JWT: longer than %d bytes", JWT_MAX);
        return why;
    }
    if (dots != 2) {
        snprintf(why, len,
                 "not a JWT: a JWT is three base64url segments separated by dots (RFC 7519 7.2), "
                 "this is %zu",
                 dots + 1);
        return why;
    }
    const char *p = token;
    for (int i = 0; i < 3; i++) {
        size_t n = strcspn(p, ".");
        if (n == 0 && i < 2) { /* an empty signature is an unsecured JWT's (RFC 7519 §6) */
            snprintf(why, len, "not a JWT: its %s is empty", names[i]);
            return why;
        }
        for (size_t k = 0; k < n; k++) {
            if (!is_b64url(p[k])) {
                snprintf(why, len,
                         "not a JWT: its %s holds a character outside unpadded base64url (RFC "
                         "7515 2)",
                         names[i]);
                return why;
            }
        }
        p += n + 1;
    }
    return NULL;
}

/* Each step of RFC 7519 §7.2 that fails says which it is: the shape, the header's base64url,
 * its JSON, a member given twice, its alg, its crit, the signature's form, the signature, the claims' base64url and JSON, a
 * member given twice, a claim's type, exp, nbf. */
int jwt_verify(const char *token, const char *secret, int64_t now_s, jwt_claims *out,
               char err[TT_ERRLEN])
{
    *out = (jwt_claims){0};
    char why[160];
    if (shape_wrong(token, why, sizeof why) != NULL) {
        return tt_fail(err, TT_EINVAL, "%s", why);
    }
    const char *dot1 = strchr(token, '.'), *dot2 = strchr(dot1 + 1, '.');
    cJSON *header = NULL;
    int part = decode_part(token, (size_t)(dot1 - token), &header);
    if (part != 0) {
        return tt_fail(err, TT_EINVAL,
                       part == -1 ? "its header is not base64url (RFC 7515 2)"
                                  : "its header is not base64url JSON: it decodes to no JSON "
                                    "object (RFC 7515 5.2)");
    }
    char why_header[TT_ERRLEN];
    const char *wrong = header_wrong(header, why_header, sizeof why_header);
    cJSON_Delete(header);
    if (wrong != NULL) {
        return tt_fail(err, TT_EINVAL, "%s", wrong);
    }
    const char *sig = dot2 + 1;
    if (sig[0] == '\0') {
        return tt_fail(err, TT_EINVAL,
                       "the token is unsigned: its signature is empty (an HMAC-SHA256 is 43 "
                       "characters of base64url)");
    }
    if (!signature_form(strlen(sig))) {
        return tt_fail(err, TT_EINVAL,
                       "its signature is not an HMAC-SHA256 in base64url (43 characters)");
    }
    if (!signature_ok(token, (size_t)(dot2 - token), sig, strlen(sig), secret)) {
        return tt_fail(err, TT_EINVAL, "the token's signature does not match");
    }
    cJSON *claims = NULL;
    part = decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1), &claims);
    int rc = part == 0    ? check_claims(claims, now_s, out, err)
             : part == -1 ? tt_fail(err, TT_EINVAL, "its claims are not base64url (RFC 7515 2)")
                          : tt_fail(err, TT_EINVAL, "the token's claims are not a JSON object");
    cJSON_Delete(claims);
    return rc;
}
