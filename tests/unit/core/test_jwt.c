/* test_jwt.c -- HS256 verification: tokens signed here part by part (so each case says exactly
 * what is wrong with it) and tokens signed elsewhere; every way a token can be malformed,
 * forged, tampered with, signed with another algorithm, expired or not yet valid; the claims
 * read; and messages that never echo the token. */
#include "core/jwt.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET "telltale-test-secret-of-at-least-32-bytes"
#define NOW INT64_C(1764340303)
#define HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define TOKEN_CAP (4 * JWT_MAX)

/* ---- signing tokens ------------------------------------------------------------------------ */

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Base64url without padding (RFC 4648 §5), written out rather than borrowed from OpenSSL so the
 * test's encoder and the module's decoder share nothing. 'out' has room for n * 4 / 3 + 4. */
static void b64url(const void *data, size_t n, char *out)
{
    const unsigned char *p = data;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t)p[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= p[i + 2];
        }
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        if (i + 1 < n) {
            out[o++] = b64url_alphabet[v >> 6 & 63];
        }
        if (i + 2 < n) {
            out[o++] = b64url_alphabet[v & 63];
        }
    }
    out[o] = '\0';
}

/* Writes "h64.c64.SIG" to 'out' (TOKEN_CAP bytes), SIG being the base64url HMAC-SHA256 of
 * "h64.c64" under 'secret'. The parts are signed as given, so a test can sign parts that are
 * not what they should be and reach the checks that come after the signature. */
static void sign_parts(char *out, const char *h64, const char *c64, const char *secret)
{
    int n = snprintf(out, TOKEN_CAP, "%s.%s", h64, c64);
    assert_true(n > 0 && (size_t)n + 48 < TOKEN_CAP);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)out,
                         (size_t)n, mac, &mac_len));
    assert_int_equal(mac_len, 32);
    out[n] = '.';
    b64url(mac, mac_len, out + n + 1);
}

/* A token with this header and these claims (JSON text, sent as given), signed with 'secret'. */
static void sign(char *out, const char *header, const char *claims, const char *secret)
{
    static char h64[TOKEN_CAP], c64[TOKEN_CAP];
    assert_true(strlen(header) < JWT_MAX && strlen(claims) < JWT_MAX);
    b64url(header, strlen(header), h64);
    b64url(claims, strlen(claims), c64);
    sign_parts(out, h64, c64, secret);
}

/* The base64url of 'json', for tests that assemble tokens by hand. */
static const char *enc(const char *json)
{
    static char buf[8][TOKEN_CAP / 2];
    static unsigned next;
    char *out = buf[next++ % 8];
    assert_true(strlen(json) < JWT_MAX);
    b64url(json, strlen(json), out);
    return out;
}

/* snprintf into a TOKEN_CAP buffer, which must hold the whole result. */
__attribute__((format(printf, 2, 3))) static void fmt(char *out, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(out, TOKEN_CAP, format, ap);
    va_end(ap);
    assert_true(n >= 0 && n < TOKEN_CAP);
}

/* ---- checking results -------------------------------------------------------------------- */

static void assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL) {
        fail_msg("'%s' lacks '%s'", haystack, needle);
    }
}

/* No run of 8 characters of 'token' appears in 'err'. */
static void assert_not_echoed(const char *err, const char *token)
{
    size_t n = strlen(token), e = strlen(err);
    for (size_t i = 0; i + 8 <= n && i < 4096; i++) {
        for (size_t j = 0; j + 8 <= e; j++) {
            if (memcmp(err + j, token + i, 8) == 0) {
                fail_msg("'%s' echoes the token at offset %zu", err, i);
            }
        }
    }
}

static jwt_claims verify_ok(const char *token, const char *secret, int64_t now)
{
    jwt_claims c;
    char err[TT_ERRLEN] = "";
    int rc = jwt_verify(token, secret, now, &c, err);
    if (rc != 0) {
        fail_msg("'%.120s' refused (%d): %s", token, rc, err);
    }
    return c;
}

/* jwt_verify refuses 'token' with TT_EINVAL and a message that contains 'why' but no part of
 * the token or the secret. */
static void verify_fails(const char *token, const char *secret, int64_t now, const char *why)
{
    jwt_claims c;
    char err[TT_ERRLEN] = "";
    int rc = jwt_verify(token, secret, now, &c, err);
    if (rc != TT_EINVAL) {
        fail_msg("'%.120s' gave %d, expected TT_EINVAL", token, rc);
    }
    assert_contains(err, why);
    assert_not_echoed(err, token);
    assert_not_echoed(err, secret);
}

#define NOT_JWT "not a JWT"
#define NOT_HS256 "not signed with HS256"
#define UNSIGNED "the token is unsigned: its signature is empty"
#define BAD_SIG "signature does not match"
#define BAD_CLAIM "wrong type or size"
#define NOT_OBJECT "claims are not a JSON object"
#define SIG_FORM "its signature is not an HMAC-SHA256 in base64url (43 characters)"
#define HEADER_NOT_JSON "its header is not base64url JSON: it decodes to no JSON object"

/* ---- valid tokens ------------------------------------------------------------------------ */

static void valid_token_gives_role_sub_and_exp(void **state)
{
    (void)state;
    char t[TOKEN_CAP];
    sign(t, HS256,
         "{\"sub\":\"7b1e5c2a-user\",\"role\":\"authenticated\",\"exp\":1764343903,"
         "\"iat\":1764340303,\"aud\":\"authenticated\",\"email\":\"a@example.com\"}",
         SECRET);
    assert_true(jwt_looks_like(t));
    jwt_claims c = verify_ok(t, SECRET, NOW);
    assert_string_equal(c.role, "authenticated");
    assert_string_equal(c.sub, "7b1e5c2a-user");
    assert_int_equal(c.exp, 1764343903);
}

/* Absent claims read as "" and 0; the header needs only alg, in any order with other fields. */
static void absent_claims_read_as_empty(void **state)
{
    (void)state;
    char t[TOKEN_CAP];
    sign(t, "{\"alg\":\"HS256\"}", "{}", SECRET);
    jwt_claims c = verify_ok(t, SECRET, NOW);
    assert_string_equal(c.role, "");
    assert_string_equal(c.sub, "");
    assert_int_equal(c.exp, 0);

    sign(t, "{\"typ\":\"JWT\",\"kid\":\"k1\",\"alg\":\"HS256\"}", "{\"role\":\"anon\"}", SECRET);
    c = verify_ok(t, SECRET, NOW);
    assert_string_equal(c.role, "anon");
    assert_int_equal(c.exp, 0);
}

/* Tokens signed by other code, so the module is not only checked against this file's encoder. */
static void tokens_signed_elsewhere_are_accepted(void **state)
{
    (void)state;
    /* Made once with Python's standard library:
     *   secret = b"telltale-test-secret-of-at-least-32-bytes"
     *   header = b'{"alg":"HS256","typ":"JWT"}'
     *   claims = b'{"sub":"3f0c8b2e-5d7a-4c1e-9b6f-2a8d1e4c7b90","role":"authenticated",'
     *            b'"exp":1764343903,"iat":1764340303}'
     *   b = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode()
     *   s = b(header) + "." + b(claims)
     *   s + "." + b(hmac.new(secret, s.encode(), hashlib.sha256).digest())
     * Its claims part is 2 characters past a multiple of 4, so decoding has to pad it. */
    static const char python[] =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJzdWIiOiIzZjBjOGIyZS01ZDdhLTRjMWUtOWI2Zi0yYThkMWU0YzdiOTAiLCJyb2xlIjoiYXV0aGVudGljYXRl"
        "ZCIsImV4cCI6MTc2NDM0MzkwMywiaWF0IjoxNzY0MzQwMzAzfQ."
        "qFt7ZEWBuVkkQqrmeWGJVqaPHZA6kYtAynYke75Y_bs";
    jwt_claims c = verify_ok(python, SECRET, NOW);
    assert_string_equal(c.role, "authenticated");
    assert_string_equal(c.sub, "3f0c8b2e-5d7a-4c1e-9b6f-2a8d1e4c7b90");
    assert_int_equal(c.exp, 1764343903);
    verify_fails(python, SECRET, 1764343903 + JWT_LEEWAY_S, "expired");

    /* The anon and service_role keys of Supabase's local development stack (`supabase start`),
     * signed by Supabase with its published demo secret; claims
     * {"iss":"supabase-demo","role":"anon"|"service_role","exp":1983812996}. */
    static const char demo_secret[] = "super-secret-jwt-token-with-at-least-32-characters-long";
    static const char demo_anon[] =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9."
        "CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0";
    static const char demo_service[] =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4MzgxMjk5Nn0."
        "EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU";
    c = verify_ok(demo_anon, demo_secret, NOW);
    assert_string_equal(c.role, "anon");
    assert_string_equal(c.sub, "");
    assert_int_equal(c.exp, 1983812996);
    c = verify_ok(demo_service, demo_secret, NOW);
    assert_string_equal(c.role, "service_role");
    verify_fails(demo_anon, SECRET, NOW, BAD_SIG);

    /* This file's encoder agrees with Python's on the same input. */
    char t[TOKEN_CAP];
    sign(t, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
         "{\"sub\":\"3f0c8b2e-5d7a-4c1e-9b6f-2a8d1e4c7b90\",\"role\":\"authenticated\","
         "\"exp\":1764343903,\"iat\":1764340303}",
         SECRET);
    assert_string_equal(t, python);
}

/* ---- forged and tampered tokens ---------------------------------------------------------- */

static void wrong_secret_is_refused(void **state)
{
    (void)state;
    char t[TOKEN_CAP];
    sign(t, HS256, "{\"role\":\"service_role\"}", SECRET);
    verify_fails(t, "another-secret-of-at-least-32-bytes-long", NOW, BAD_SIG);
    verify_fails(t, "telltale-test-secret-of-at-least-32-byte", NOW, BAD_SIG); /* a prefix */
    verify_fails(t, SECRET "s", NOW, BAD_SIG);                                 /* an extension */
    verify_fails(t, "", NOW, BAD_SIG);
    verify_ok(t, SECRET, NOW);
}

static void tampered_claims_are_refused(void **state)
{
    (void)state;
    char t[TOKEN_CAP], other[TOKEN_CAP], forged[TOKEN_CAP];
    sign(t, HS256, "{\"role\":\"anon\",\"sub\":\"u1\"}", SECRET);
    const char *sig = strrchr(t, '.') + 1;

    /* The anon token's signature on service_role claims. */
    fmt(forged, "%s.%s.%s", enc(HS256), enc("{\"role\":\"service_role\",\"sub\":\"u1\"}"), sig);
    verify_fails(forged, SECRET, NOW, BAD_SIG);

    /* One character of the claims part changed ("u1" to "u2" lies in its last characters). */
    strcpy(forged, t);
    char *last = strrchr(forged, '.') - 1;
    *last = *last == 'Q' ? 'R' : 'Q';
    verify_fails(forged, SECRET, NOW, BAD_SIG);

    /* The claims of another genuine token spliced in: each signature covers only its own. */
    sign(other, HS256, "{\"role\":\"service_role\",\"sub\":\"u1\"}", SECRET);
    const char *other_claims = strchr(other, '.') + 1;
    fmt(forged, "%s.%.*s.%s", enc(HS256), (int)(strrchr(other, '.') - other_claims), other_claims,
        sig);
    verify_fails(forged, SECRET, NOW, BAD_SIG);

    /* A header changed under the same signature. */
    fmt(forged, "%s.%s.%s", enc("{\"alg\":\"HS256\",\"typ\":\"jwt\"}"),
        enc("{\"role\":\"anon\",\"sub\":\"u1\"}"), sig);
    verify_fails(forged, SECRET, NOW, BAD_SIG);

    verify_ok(t, SECRET, NOW);
}

/* Every signature that differs from the right one by a single character, at every position
 * and with every other base64url character, is refused: including the last character, whose
 * 2 low bits carry no data (43 characters hold 258 bits for a 256-bit MAC). */
static void every_one_character_change_to_the_signature_is_refused(void **state)
{
    (void)state;
    char t[TOKEN_CAP], forged[TOKEN_CAP];
    sign(t, HS256, "{\"role\":\"anon\"}", SECRET);
    verify_ok(t, SECRET, NOW);
    size_t sig = (size_t)(strrchr(t, '.') + 1 - t), len = strlen(t);
    assert_int_equal(len - sig, 43);
    for (size_t i = sig; i < len; i++) {
        for (const char *c = b64url_alphabet; *c != '\0'; c++) {
            if (*c == t[i]) {
                continue;
            }
            strcpy(forged, t);
            forged[i] = *c;
            jwt_claims claims;
            char err[TT_ERRLEN] = "";
            if (jwt_verify(forged, SECRET, NOW, &claims, err) != TT_EINVAL) {
                fail_msg("signature character %zu changed from '%c' to '%c' is accepted", i - sig,
                         t[i], *c);
            }
            assert_contains(err, BAD_SIG);
        }
    }
}

/* The three other spellings of the signature's last character (same 4 data bits, spare bits
 * set) decode to the very same MAC; only the canonical one (spare bits zero) is accepted, so a
 * token has one signature, not four. Checked by name here; the loop above checks it too. */
static void non_canonical_last_signature_character_is_refused(void **state)
{
    (void)state;
    char t[TOKEN_CAP], forged[TOKEN_CAP];
    sign(t, HS256, "{\"role\":\"anon\"}", SECRET);
    size_t last = strlen(t) - 1;
    const char *at = strchr(b64url_alphabet, t[last]);
    assert_non_null(at);
    int six = (int)(at - b64url_alphabet);
    assert_int_equal(six & 3, 0); /* this file's encoder writes the canonical spelling */
    for (int spare = 1; spare <= 3; spare++) {
        strcpy(forged, t);
        forged[last] = b64url_alphabet[six | spare];
        verify_fails(forged, SECRET, NOW, BAD_SIG);
    }
    verify_ok(t, SECRET, NOW);
}

static void truncated_or_extended_signature_is_refused(void **state)
{
    (void)state;
    char t[TOKEN_CAP], forged[TOKEN_CAP];
    sign(t, HS256, "{\"role\":\"anon\"}", SECRET);
    size_t len = strlen(t);

    for (size_t cut = 1; cut <= 42; cut++) {
        fmt(forged, "%.*s", (int)(len - cut), t);
        verify_fails(forged, SECRET, NOW, SIG_FORM);
    }
    fmt(forged, "%.*s", (int)(len - 43), t); /* "h.c.": no signature at all */
    verify_fails(forged, SECRET, NOW, UNSIGNED);

    fmt(forged, "%sA", t);
    verify_fails(forged, SECRET, NOW, SIG_FORM);
    fmt(forged, "%sAAAA", t); /* still 32 bytes and more */
    verify_fails(forged, SECRET, NOW, SIG_FORM);
    fmt(forged, "%s%s", t, strrchr(t, '.') + 1); /* the MAC twice */
    verify_fails(forged, SECRET, NOW, SIG_FORM);

    /* A SHA-512-sized signature (86 characters). */
    fmt(forged, "%.*s%s", (int)(len - 43), t,
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    verify_fails(forged, SECRET, NOW, SIG_FORM);
}

/* ---- algorithms ---------------------------------------------------------------------------- */

static void alg_none_is_refused(void **state)
{
    (void)state;
    char t[TOKEN_CAP];
    const char *claims = enc("{\"role\":\"service_role\"}");

    /* The classic unsigned token, with its empty third part (RFC 7519 §6): judged as a JWT,
     * so the refusal says it is unsigned, not that it is no JWT. */
    fmt(t, "%s.%s.", enc("{\"alg\":\"none\",\"typ\":\"JWT\"}"), claims);
    assert_true(jwt_looks_like(t));
    verify_fails(t, SECRET, NOW,
                 "the token is not signed with HS256: its alg is \"none\", it is unsigned (RFC "
                 "7519 6)");
    /* The same with some signature, and with the right HMAC of its first two parts. */
    fmt(t, "%s.%s.AAAA", enc("{\"alg\":\"none\"}"), claims);
    verify_fails(t, SECRET, NOW, NOT_HS256);
    sign(t, "{\"alg\":\"none\"}", "{\"role\":\"service_role\"}", SECRET);
    verify_fails(t, SECRET, NOW, NOT_HS256);
    sign(t, "{\"alg\":\"None\"}", "{\"role\":\"service_role\"}", SECRET);
    verify_fails(t, SECRET, NOW, NOT_HS256);
}

/* Only the exact string "HS256" in the header's "alg" will do, even when the HMAC-SHA256 over
 * the token is right. */
static void other_algs_are_refused(void **state)
{
    (void)state;
    static const char *const headers[] = {
        "{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
        "{\"alg\":\"HS384\"}",
        "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
        "{\"alg\":\"ES256\"}",
        "{\"alg\":\"hs256\"}",
        "{\"alg\":\"HS256 \"}",
        "{\"alg\":\"HS2560\"}",
        "{\"alg\":\"HS25\"}",
        "{\"alg\":\"\"}",
        "{\"alg\":256}",
        "{\"alg\":null}",
        "{\"alg\":true}",
        "{\"alg\":[\"HS256\"]}",
        "{\"alg\":{\"name\":\"HS256\"}}",
        "{\"ALG\":\"HS256\"}",
        "{\"typ\":\"JWT\"}", /* no alg at all */
        "{}",
    };
    char t[TOKEN_CAP];
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        sign(t, headers[i], "{\"role\":\"anon\"}", SECRET);
        verify_fails(t, SECRET, NOW, NOT_HS256);
    }
    /* "alg" among the claims is not "alg" in the header. */
    sign(t, "{\"typ\":\"JWT\"}", "{\"alg\":\"HS256\",\"role\":\"anon\"}", SECRET);
    verify_fails(t, SECRET, NOW, NOT_HS256);
}

/* ---- time ---------------------------------------------------------------------------------- */

/* exp and nbf hold with JWT_LEEWAY_S of clock skew either way, exactly. */
static void exp_is_checked_at_now(void **state)
{
    (void)state;
    char t[TOKEN_CAP];
    assert_int_equal(JWT_LEEWAY_S, 30);                               /* DESIGN §5 states 30 s */
    sign(t, HS256, "{\"role\":\"anon\",\"exp\":1764340303}", SECRET); /* exp == NOW */
    verify_ok(t, SECRET, NOW - 3600);
    assert_int_equal(verify_ok(t, SECRET, NOW - 1).exp, NOW);
    verify_ok(t, SECRET, NOW);
    verify_ok(t, SECRET, NOW + JWT_LEEWAY_S - 1);
    /* now >= exp + leeway is expired */
    verify_fails(t, SECRET, NOW + JWT_LEEWAY_S, "the token has expired");
    verify_fails(t, SECRET, NOW + JWT_LEEWAY_S + 1, "the token has expired");
    verify_fails(t, SECRET, NOW + 86400 * 365, "the token has expired");

    sign(t, HS256, "{\"role\":\"anon\",\"exp\":1}", SECRET);
    verify_fails(t, SECRET, NOW, "expired");
    sign(t, HS256, "{\"role\":\"anon\",\"exp\":-1764340303}", SECRET);
    verify_fails(t, SECRET, NOW, "expired");
    sign(t, HS256, "{\"role\":\"anon\",\"exp\":4102444800}", SECRET); /* 2100 */
    assert_int_equal(verify_ok(t, SECRET, NOW).exp, INT64_C(4102444800));
}

static void absent_exp_never_expires(void **state)
{
    (void)state;
    char t[TOKEN_CAP];
    sign(t, HS256, "{\"role\":\"anon\",\"iat\":1}", SECRET);
    assert_int_equal(verify_ok(t, SECRET, NOW).exp, 0);
    verify_ok(t, SECRET, INT64_C(4102444800));
}

static void nbf_is_checked_at_now(void **state)
{
    (void)state;
    char t[TOKEN_CAP];
    sign(t, HS256, "{\"role\":\"anon\",\"nbf\":1764340303}", SECRET); /* nbf == NOW */
    verify_fails(t, SECRET, NOW - JWT_LEEWAY_S - 1, "the token is not valid yet");
    verify_fails(t, SECRET, NOW - 3600, "not valid yet");
    verify_ok(t, SECRET, NOW - JWT_LEEWAY_S);
    verify_ok(t, SECRET, NOW);
    verify_ok(t, SECRET, NOW + 1);

    /* A window: valid from nbf - leeway up to, not including, exp + leeway. */
    sign(t, HS256, "{\"role\":\"anon\",\"nbf\":1764340303,\"exp\":1764340305}", SECRET);
    verify_fails(t, SECRET, NOW - JWT_LEEWAY_S - 1, "not valid yet");
    verify_ok(t, SECRET, NOW - JWT_LEEWAY_S);
    verify_ok(t, SECRET, NOW + 2 + JWT_LEEWAY_S - 1);
    verify_fails(t, SECRET, NOW + 2 + JWT_LEEWAY_S, "expired");
}

/* An "exp" of 0 is a date (1970), not the absence of one. */
static void exp_zero_has_expired(void **state)
{
    (void)state;
    char t[TOKEN_CAP];
    sign(t, HS256, "{\"role\":\"anon\",\"exp\":0}", SECRET);
    verify_fails(t, SECRET, NOW, "the token has expired");
    sign(t, HS256, "{\"role\":\"anon\",\"nbf\":0}", SECRET);
    verify_ok(t, SECRET, NOW);
}

/* Times that no int64_t holds are refused, not converted (which C leaves undefined); the
 * largest ones that fit are read. */
static void times_beyond_int64_are_refused(void **state)
{
    (void)state;
    static const char *const claims[] = {
        "{\"role\":\"anon\",\"exp\":1e300}",
        "{\"role\":\"anon\",\"exp\":-1e300}",
        "{\"role\":\"anon\",\"exp\":1e19}",
        "{\"role\":\"anon\",\"exp\":1e999}",
        "{\"role\":\"anon\",\"nbf\":1e300}",
        "{\"role\":\"anon\",\"nbf\":-1e300}",
        "{\"role\":\"anon\",\"nbf\":18446744073709551616}",
    };
    char t[TOKEN_CAP];
    for (size_t i = 0; i < sizeof claims / sizeof claims[0]; i++) {
        sign(t, HS256, claims[i], SECRET);
        verify_fails(t, SECRET, NOW, BAD_CLAIM);
    }
    sign(t, HS256, "{\"role\":\"anon\",\"exp\":9000000000000000000}", SECRET);
    assert_int_equal(verify_ok(t, SECRET, NOW).exp, INT64_C(9000000000000000000));
    sign(t, HS256, "{\"role\":\"anon\",\"nbf\":-9000000000000000000}", SECRET);
    verify_ok(t, SECRET, NOW);
    sign(t, HS256, "{\"role\":\"anon\",\"nbf\":9000000000000000000}", SECRET);
    verify_fails(t, SECRET, NOW, "not valid yet");
    sign(t, HS256, "{\"role\":\"anon\",\"exp\":-9000000000000000000}", SECRET);
    verify_fails(t, SECRET, NOW, "expired");
}

/* ---- claims -------------------------------------------------------------------------------- */

static void claims_of_the_wrong_type_are_refused(void **state)
{
    (void)state;
    static const char *const claims[] = {
        "{\"role\":1}",
        "{\"role\":true}",
        "{\"role\":null}",
        "{\"role\":[\"anon\"]}",
        "{\"role\":{\"name\":\"anon\"}}",
        "{\"role\":\"anon\",\"sub\":42}",
        "{\"role\":\"anon\",\"sub\":null}",
        "{\"role\":\"anon\",\"sub\":[\"u1\"]}",
        "{\"role\":\"anon\",\"exp\":\"4102444800\"}",
        "{\"role\":\"anon\",\"exp\":true}",
        "{\"role\":\"anon\",\"exp\":null}",
        "{\"role\":\"anon\",\"nbf\":\"1\"}",
        "{\"role\":\"anon\",\"nbf\":[1]}",
    };
    char t[TOKEN_CAP];
    for (size_t i = 0; i < sizeof claims / sizeof claims[0]; i++) {
        sign(t, HS256, claims[i], SECRET);
        verify_fails(t, SECRET, NOW, BAD_CLAIM);
    }
}

/* Signs claims {"role":"<role>"[,"sub":"<sub>"]}; the text is built with a checked snprintf
 * (gcc's -Wformat-truncation cannot see that the claims always fit). */
static void sign_role_sub(char *t, const char *role, const char *sub)
{
    char claims[512];
    int n = sub != NULL
                ? snprintf(claims, sizeof claims, "{\"role\":\"%s\",\"sub\":\"%s\"}", role, sub)
                : snprintf(claims, sizeof claims, "{\"role\":\"%s\"}", role);
    assert_true(n > 0 && (size_t)n < sizeof claims);
    sign(t, HS256, claims, SECRET);
}

/* "role" up to JWT_ROLE_MAX bytes and "sub" up to JWT_SUB_MAX are read whole; one more is
 * refused rather than cut. */
static void claims_too_long_are_refused(void **state)
{
    (void)state;
    char role[JWT_ROLE_MAX + 2], sub[JWT_SUB_MAX + 2], t[TOKEN_CAP];

    memset(role, 'r', JWT_ROLE_MAX);
    role[JWT_ROLE_MAX] = '\0';
    sign_role_sub(t, role, NULL);
    assert_string_equal(verify_ok(t, SECRET, NOW).role, role);
    strcat(role, "r");
    sign_role_sub(t, role, NULL);
    verify_fails(t, SECRET, NOW, BAD_CLAIM);

    memset(sub, 's', JWT_SUB_MAX);
    sub[JWT_SUB_MAX] = '\0';
    sign_role_sub(t, "anon", sub);
    assert_string_equal(verify_ok(t, SECRET, NOW).sub, sub);
    strcat(sub, "s");
    sign_role_sub(t, "anon", sub);
    verify_fails(t, SECRET, NOW, BAD_CLAIM);
}

/* Claims are read only from a JSON object; each of these is signed correctly, so the failure
 * is the claims' own. */
static void claims_that_are_not_a_json_object_are_refused(void **state)
{
    (void)state;
    static const char *const claims[] = {
        "[{\"role\":\"service_role\"}]",
        "[]",
        "\"service_role\"",
        "42",
        "null",
        "true",
        "{\"role\":\"service_role\"",
        "{role:\"service_role\"}",
        "{\"role\":'service_role'}",
        "{\"role\":\"service_role\",}",
        "service_role",
        " ",
    };
    char t[TOKEN_CAP];
    for (size_t i = 0; i < sizeof claims / sizeof claims[0]; i++) {
        sign(t, HS256, claims[i], SECRET);
        verify_fails(t, SECRET, NOW, NOT_OBJECT);
    }
    /* Base64url that does not decode: 5 characters (4n+1 can hold no whole byte). */
    sign_parts(t, enc(HS256), "eyJhb", SECRET);
    verify_fails(t, SECRET, NOW, "its claims are not base64url");
}

static void headers_that_are_not_a_json_object_are_refused(void **state)
{
    (void)state;
    static const char *const headers[] = {
        "[{\"alg\":\"HS256\"}]", "[\"HS256\"]",     "\"HS256\"", "256", "null",
        "{\"alg\":\"HS256\"",    "{alg:\"HS256\"}", "HS256",
    };
    char t[TOKEN_CAP];
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        sign(t, headers[i], "{\"role\":\"anon\"}", SECRET);
        verify_fails(t, SECRET, NOW, HEADER_NOT_JSON);
    }
    sign_parts(t, "eyJhb", enc("{\"role\":\"anon\"}"), SECRET);
    verify_fails(t, SECRET, NOW, "its header is not base64url (RFC 7515 2)");
}

/* Each step of RFC 7519 §7.2 that fails says which it is, and no two steps share a message:
 * a client that sent "abc.def.ghi" hears its header is no JSON, not that it is not HS256. */
static void each_step_has_its_own_message(void **state)
{
    (void)state;
    char t[TOKEN_CAP], bad[TOKEN_CAP];
    const char *claims = enc("{\"role\":\"anon\"}");
    char claims_copy[TOKEN_CAP];
    fmt(claims_copy, "%s", claims);
    sign(t, HS256, "{\"role\":\"anon\"}", SECRET);
    const char *sig = strrchr(t, '.') + 1;
    /* The form: three segments, none empty, each base64url; then the header, then its alg. */
    verify_fails("abc.def", SECRET, NOW,
                 "not a JWT: a JWT is three base64url segments separated by dots (RFC 7519 7.2), "
                 "this is 2");
    fmt(bad, "%s.%s", t, "x");
    verify_fails(bad, SECRET, NOW, "this is 4");
    fmt(bad, "%s..%s", enc(HS256), sig);
    verify_fails(bad, SECRET, NOW, "not a JWT: its claims is empty");
    fmt(bad, "%s.%s.%s", enc(HS256), claims_copy, "a+b");
    verify_fails(bad, SECRET, NOW,
                 "not a JWT: its signature holds a character outside unpadded base64url");
    verify_fails("abc.def.ghi", SECRET, NOW, HEADER_NOT_JSON);
    static const struct {
        const char *header, *says;
    } headers[] = {
        {"{\"typ\":\"JWT\"}", "the token is not signed with HS256: its header has no alg"},
        {"{\"alg\":\"RS256\"}", "the token is not signed with HS256: its alg is \"RS256\""},
        {"{\"alg\":7}", "the token is not signed with HS256: its alg is not a string"},
    };
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        sign(bad, headers[i].header, "{\"role\":\"anon\"}", SECRET);
        verify_fails(bad, SECRET, NOW, headers[i].says);
    }
    /* The signature: its form, then its value. */
    fmt(bad, "%.*s", (int)strlen(t) - 1, t);
    verify_fails(bad, SECRET, NOW, SIG_FORM);
    verify_fails(t, "another-secret-of-at-least-32-bytes-long", NOW,
                 "the token's signature does not match");
    /* The claims: base64url, JSON, each claim by name, then exp and nbf. */
    static const struct {
        const char *claims, *says;
    } claims_cases[] = {
        {"[1]", "the token's claims are not a JSON object"},
        {"{\"role\":1}", "its claim 'role' has the wrong type or size"},
        {"{\"sub\":[]}", "its claim 'sub' has the wrong type or size"},
        {"{\"exp\":\"soon\"}", "its claim 'exp' has the wrong type or size (a number of seconds"},
        {"{\"nbf\":true}", "its claim 'nbf' has the wrong type or size"},
        {"{\"exp\":1}", "the token has expired"},
        {"{\"nbf\":99999999999}", "the token is not valid yet"},
    };
    for (size_t i = 0; i < sizeof claims_cases / sizeof claims_cases[0]; i++) {
        sign(bad, HS256, claims_cases[i].claims, SECRET);
        verify_fails(bad, SECRET, NOW, claims_cases[i].says);
    }
    char big[JWT_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    verify_fails(big, SECRET, NOW, "not a JWT: longer than 8192 bytes");
}

/* ---- shape --------------------------------------------------------------------------------- */

static void shapes_that_are_not_a_jwt_are_refused(void **state)
{
    (void)state;
    char t[TOKEN_CAP], h[TOKEN_CAP], c[TOKEN_CAP], bad[TOKEN_CAP];
    sign(t, HS256, "{\"role\":\"anon\"}", SECRET);
    const char *dot1 = strchr(t, '.'), *dot2 = strrchr(t, '.');
    fmt(h, "%.*s", (int)(dot1 - t), t);
    fmt(c, "%.*s", (int)(dot2 - dot1 - 1), dot1 + 1);
    const char *s = dot2 + 1;

    static const char *const fixed[] = {"", ".", "..", "...", "a", "a.b", "a.b.c.d", "not-a-jwt"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        verify_fails(fixed[i], SECRET, NOW, NOT_JWT);
    }

    /* Two parts, four parts, and each part empty in turn. */
    fmt(bad, "%s.%s", h, c);
    verify_fails(bad, SECRET, NOW, NOT_JWT);
    fmt(bad, "%s.%s.%s.%s", h, c, s, s);
    verify_fails(bad, SECRET, NOW, NOT_JWT);
    fmt(bad, "%s.%s.%s.", h, c, s);
    verify_fails(bad, SECRET, NOW, NOT_JWT);
    fmt(bad, ".%s.%s", c, s);
    verify_fails(bad, SECRET, NOW, NOT_JWT);
    fmt(bad, "%s..%s", h, s);
    verify_fails(bad, SECRET, NOW, NOT_JWT);
    fmt(bad, "%s.%s.", h, c); /* HS256 with no signature: a JWT, unsigned */
    verify_fails(bad, SECRET, NOW, UNSIGNED);
    fmt(bad, "%s.%s..%s", h, c, s);
    verify_fails(bad, SECRET, NOW, NOT_JWT);

    /* Characters outside base64url, anywhere: standard base64's '+' and '/', padding, space,
     * newline, and a byte beyond ASCII. */
    static const char outsiders[] = {'+', '/', '=', ' ', '\n', '\t', '*', '%', '\x80', '\xff'};
    size_t len = strlen(t);
    size_t spots[] = {0, (size_t)(dot1 - t) - 1, (size_t)(dot1 - t) + 1, len - 1};
    for (size_t i = 0; i < sizeof outsiders; i++) {
        for (size_t j = 0; j < sizeof spots / sizeof spots[0]; j++) {
            strcpy(bad, t);
            bad[spots[j]] = outsiders[i];
            verify_fails(bad, SECRET, NOW, NOT_JWT);
        }
    }

    /* Padding, even where it is what standard base64 would put: the 32-byte signature is 43
     * characters, so "=" after it is correct padding; so is "==" after a claims part of 22
     * bytes of JSON, 30 characters. */
    fmt(bad, "%s=", t);
    verify_fails(bad, SECRET, NOW, NOT_JWT);
    sign(t, HS256, "{\"role\":\"anon\",\"x\":12}", SECRET);
    verify_ok(t, SECRET, NOW);
    dot2 = strrchr(t, '.');
    assert_int_equal(dot2 - strchr(t, '.') - 1, 30);
    fmt(bad, "%.*s==%s", (int)(dot2 - t), t, dot2);
    verify_fails(bad, SECRET, NOW, NOT_JWT);
}

/* A claims part of 'n' bytes of JSON gives a token of this many characters. */
static size_t token_with_claims_of(char *t, size_t n)
{
    char claims[JWT_MAX];
    assert_true(n >= 32 && n < sizeof claims);
    int head = snprintf(claims, sizeof claims, "{\"role\":\"anon\",\"pad\":\"");
    memset(claims + head, 'p', n - (size_t)head - 2);
    memcpy(claims + n - 2, "\"}", 3);
    sign(t, HS256, claims, SECRET);
    return strlen(t);
}

/* Tokens of exactly JWT_MAX characters are looked at; one character more is not. */
static void token_length_limit(void **state)
{
    (void)state;
    char t[TOKEN_CAP];
    bool at_max = false, over_max = false;
    for (size_t n = 5900; n < 6200 && !(at_max && over_max); n++) {
        size_t len = token_with_claims_of(t, n);
        if (len == JWT_MAX) {
            at_max = true;
            assert_string_equal(verify_ok(t, SECRET, NOW).role, "anon");
        } else if (len == JWT_MAX + 1) {
            over_max = true;
            verify_fails(t, SECRET, NOW, NOT_JWT);
        }
    }
    assert_true(at_max);
    assert_true(over_max);

    /* A megabyte of base64url in three parts. */
    size_t big = 1 << 20;
    char *huge = malloc(big + 1);
    assert_non_null(huge);
    memset(huge, 'A', big);
    huge[100] = '.';
    huge[200] = '.';
    huge[big] = '\0';
    verify_fails(huge, SECRET, NOW, NOT_JWT);
    free(huge);
}

/* ---- jwt_looks_like ------------------------------------------------------------------------ */

static void looks_like_tells_jwts_from_other_keys(void **state)
{
    (void)state;
    char t[TOKEN_CAP];
    sign(t, HS256, "{\"role\":\"anon\"}", SECRET);
    assert_true(jwt_looks_like(t));
    assert_true(jwt_looks_like("a.b.c"));
    assert_true(jwt_looks_like("A-_.z09.-_"));
    /* A token that fails verification still looks like one: a caller can tell "a JWT that
     * failed" from "some other kind of key". */
    assert_true(jwt_looks_like("eyJhbGciOiJub25lIn0.e30.AAAA"));
    /* Any three-part compact JWS is judged as a JWT, whatever its parts hold, so that
     * jwt_verify names the fault: an unsecured JWT's empty signature (RFC 7519 §6), an empty
     * header or claims, padding or standard base64. */
    static const char *const jwts[] = {
        "eyJhbGciOiJub25lIn0.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.",
        "a.b.",
        ".b.c",
        "a..c",
        "..",
        "a.b.c=",
        "a=.b.c",
        "a+b.c.d",
        "a/b.c.d",
    };
    for (size_t i = 0; i < sizeof jwts / sizeof jwts[0]; i++) {
        if (!jwt_looks_like(jwts[i])) {
            fail_msg("'%s' does not look like a JWT", jwts[i]);
        }
    }

    static const char *const not_jwts[] = {
        "",
        "a",
        "a.b",
        "a.b.c.d",
        "...",
        "a b.c.d",
        " a.b.c",
        "a.b.c ",
        "a.b.c\n",
        "sb_secret_0123456789abcdef", /* a key, not a JWT */
        "anon-key-0123456789abcdef",
        "Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
    };
    for (size_t i = 0; i < sizeof not_jwts / sizeof not_jwts[0]; i++) {
        if (jwt_looks_like(not_jwts[i])) {
            fail_msg("'%s' looks like a JWT", not_jwts[i]);
        }
    }
}

/* RFC 7515 §4.1.11: a crit naming an extension the reader does not understand refuses the
 * token, and telltale understands none; a crit that is no array of names is malformed. Each is
 * signed correctly, with role service_role, so only the crit refuses it. */
static void crit_is_refused(void **state)
{
    (void)state;
    char tok[TOKEN_CAP];
    const char *claims = "{\"role\":\"service_role\"}";
    sign(tok, "{\"alg\":\"HS256\",\"crit\":[\"foo\"],\"foo\":1}", claims, SECRET);
    verify_fails(tok, SECRET, NOW, "crit names the extension 'foo'");
    sign(tok, "{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":true}", claims, SECRET);
    verify_fails(tok, SECRET, NOW, "crit names the extension 'b64'");
    static const char *const malformed[] = {
        "{\"alg\":\"HS256\",\"crit\":[]}",       "{\"alg\":\"HS256\",\"crit\":\"foo\"}",
        "{\"alg\":\"HS256\",\"crit\":[1]}",      "{\"alg\":\"HS256\",\"crit\":null}",
        "{\"alg\":\"HS256\",\"crit\":{\"a\":1}}",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        sign(tok, malformed[i], claims, SECRET);
        verify_fails(tok, SECRET, NOW, "crit is not a non-empty array of names");
    }
    /* A name that is no printable ASCII is shown with '?' in its place. */
    sign(tok, "{\"alg\":\"HS256\",\"crit\":[\"a\\n\\\"b\"]}", claims, SECRET);
    verify_fails(tok, SECRET, NOW, "extension 'a??b'");
}

/* A member given twice in the header or the claims, at any depth, is refused naming it, never
 * settled by the first (cJSON's lookup) or the last: {"role":"anon","role":"service_role"}
 * would otherwise be anon here and service_role elsewhere. */
static void duplicate_members_are_refused(void **state)
{
    (void)state;
    char tok[TOKEN_CAP];
    sign(tok, HS256, "{\"role\":\"anon\",\"role\":\"service_role\"}", SECRET);
    verify_fails(tok, SECRET, NOW, "the member 'role' is given twice in its claims");
    sign(tok, HS256, "{\"role\":\"service_role\",\"role\":\"anon\"}", SECRET);
    verify_fails(tok, SECRET, NOW, "the member 'role' is given twice in its claims");
    sign(tok, HS256, "{\"role\":\"anon\",\"app\":{\"x\":1,\"x\":2}}", SECRET);
    verify_fails(tok, SECRET, NOW, "the member 'x' is given twice in its claims");
    sign(tok, "{\"alg\":\"none\",\"alg\":\"HS256\"}", "{\"role\":\"anon\"}", SECRET);
    verify_fails(tok, SECRET, NOW, "the member 'alg' is given twice in its header");
    sign(tok, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"typ\":\"JWT\"}", "{\"role\":\"anon\"}",
         SECRET);
    verify_fails(tok, SECRET, NOW, "the member 'typ' is given twice in its header");
    /* The same name in two different objects is no duplicate. */
    sign(tok, HS256, "{\"role\":\"anon\",\"a\":{\"role\":1}}", SECRET);
    assert_string_equal(verify_ok(tok, SECRET, NOW).role, "anon");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_token_gives_role_sub_and_exp),
        cmocka_unit_test(absent_claims_read_as_empty),
        cmocka_unit_test(tokens_signed_elsewhere_are_accepted),
        cmocka_unit_test(wrong_secret_is_refused),
        cmocka_unit_test(tampered_claims_are_refused),
        cmocka_unit_test(every_one_character_change_to_the_signature_is_refused),
        cmocka_unit_test(non_canonical_last_signature_character_is_refused),
        cmocka_unit_test(truncated_or_extended_signature_is_refused),
        cmocka_unit_test(alg_none_is_refused),
        cmocka_unit_test(other_algs_are_refused),
        cmocka_unit_test(exp_is_checked_at_now),
        cmocka_unit_test(absent_exp_never_expires),
        cmocka_unit_test(nbf_is_checked_at_now),
        cmocka_unit_test(exp_zero_has_expired),
        cmocka_unit_test(times_beyond_int64_are_refused),
        cmocka_unit_test(claims_of_the_wrong_type_are_refused),
        cmocka_unit_test(claims_too_long_are_refused),
        cmocka_unit_test(claims_that_are_not_a_json_object_are_refused),
        cmocka_unit_test(headers_that_are_not_a_json_object_are_refused),
        cmocka_unit_test(each_step_has_its_own_message),
        cmocka_unit_test(shapes_that_are_not_a_jwt_are_refused),
        cmocka_unit_test(token_length_limit),
        cmocka_unit_test(looks_like_tells_jwts_from_other_keys),
        cmocka_unit_test(crit_is_refused),
        cmocka_unit_test(duplicate_members_are_refused),
    };
    return cmocka_run_group_tests_name("jwt", tests, NULL, NULL);
}
