/* test_auth.c -- credentials to roles: the configured keys (exact matches only), JWTs signed
 * with the configured secret and their three roles, the apikey + "Authorization: Bearer" rules
 * of auth.h, every caller being service_role while no key is configured, and refusals that
 * never echo a key, a secret or a token. */
#include "core/auth.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#define SECRET "auth-test-jwt-secret-of-at-least-32-bytes"
#define ANON_KEY "anon-key-7f3a9c1e5b2d4f6a8c0e"
#define SERVICE_KEY "service-key-2b4d6f8a0c1e3a5c7e9b"
#define INGEST_KEY "ingest-key-5e7a9c1b3d5f7a9c1e"
#define NOW INT64_C(1764340303)
#define LATER "1764343903" /* an hour after NOW */
#define TOKEN_CAP 2048

/* ---- configurations and tokens ------------------------------------------------------------ */

/* Copies a key into a configuration field; a key that does not fit fails the test. */
static void put_key(char *dst, size_t cap, const char *key)
{
    assert_true(strlen(key) < cap);
    memcpy(dst, key, strlen(key) + 1);
}

static tt_config with_keys(const char *secret, const char *anon, const char *service)
{
    tt_config c;
    memset(&c, 0, sizeof c);
    put_key(c.jwt_secret, sizeof c.jwt_secret, secret);
    put_key(c.anon_key, sizeof c.anon_key, anon);
    put_key(c.service_key, sizeof c.service_key, service);
    return c;
}

static tt_config all_keys(void)
{
    return with_keys(SECRET, ANON_KEY, SERVICE_KEY);
}

/* Unpadded base64url of [p, p+n) into 'out', by way of OpenSSL's standard base64. */
static void b64url(const void *p, size_t n, char *out)
{
    int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    while (len > 0 && out[len - 1] == '=') {
        len--;
    }
    out[len] = '\0';
    for (char *c = out; *c != '\0'; c++) {
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    }
}

/* A token with these claims (JSON text), HS256-signed with 'secret', in 'out' (TOKEN_CAP). */
static void sign(char *out, const char *claims, const char *secret)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char h[128], c[TOKEN_CAP / 2];
    assert_true(strlen(claims) < sizeof c * 3 / 4 - 4);
    b64url(header, strlen(header), h);
    b64url(claims, strlen(claims), c);
    int n = snprintf(out, TOKEN_CAP, "%s.%s", h, c);
    assert_true(n > 0 && n + 45 < TOKEN_CAP);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)out,
                         (size_t)n, mac, &mac_len));
    out[n] = '.';
    b64url(mac, mac_len, out + n + 1);
}

/* A token for 'role' (and 'sub' unless NULL), valid for an hour from NOW. */
static void token_for(char *out, const char *role, const char *sub)
{
    char claims[256];
    int n = sub != NULL
                ? snprintf(claims, sizeof claims,
                           "{\"role\":\"%s\",\"sub\":\"%s\",\"exp\":" LATER "}", role, sub)
                : snprintf(claims, sizeof claims, "{\"role\":\"%s\",\"exp\":" LATER "}", role);
    assert_true(n > 0 && (size_t)n < sizeof claims);
    sign(out, claims, SECRET);
}

/* ---- checking results --------------------------------------------------------------------- */

/* No run of 8 characters of 'secret' appears in 'err'. */
static void assert_not_echoed(const char *err, const char *secret)
{
    size_t n = strlen(secret), e = strlen(err);
    for (size_t i = 0; i + 8 <= n; i++) {
        for (size_t j = 0; j + 8 <= e; j++) {
            if (memcmp(err + j, secret + i, 8) == 0) {
                fail_msg("'%s' echoes '%.8s'", err, secret + i);
            }
        }
    }
}

/* 'err' says 'why' and echoes none of the configured secrets nor 'presented' (may be NULL). */
static void assert_refusal(const tt_config *cfg, const char *err, const char *why,
                           const char *presented)
{
    if (strstr(err, why) == NULL) {
        fail_msg("'%s' lacks '%s'", err, why);
    }
    assert_not_echoed(err, cfg->jwt_secret);
    assert_not_echoed(err, cfg->anon_key);
    assert_not_echoed(err, cfg->service_key);
    if (presented != NULL) {
        assert_not_echoed(err, presented);
    }
}

static auth_role credential_role(const tt_config *cfg, const char *credential)
{
    auth_identity id;
    char err[TT_ERRLEN] = "";
    int rc = auth_credential(cfg, credential, NOW, &id, err);
    if (rc != 0) {
        fail_msg("credential refused (%d): %s", rc, err);
    }
    return id.role;
}

static void credential_refused(const tt_config *cfg, const char *credential, int64_t now,
                               const char *why)
{
    auth_identity id;
    char err[TT_ERRLEN] = "";
    assert_int_equal(auth_credential(cfg, credential, now, &id, err), TT_EINVAL);
    assert_int_equal(id.role, AUTH_NONE);
    assert_refusal(cfg, err, why, credential);
}

static auth_identity request_ok(const tt_config *cfg, const char *apikey, const char *authz)
{
    auth_identity id;
    char err[TT_ERRLEN] = "";
    int rc = auth_request(cfg, apikey, NULL, authz, NOW, &id, err);
    if (rc != 0) {
        fail_msg("request refused (%d): %s", rc, err);
    }
    return id;
}

static void request_refused(const tt_config *cfg, const char *apikey, const char *authz,
                            const char *why)
{
    auth_identity id;
    char err[TT_ERRLEN] = "";
    assert_int_equal(auth_request(cfg, apikey, NULL, authz, NOW, &id, err), TT_EINVAL);
    assert_int_equal(id.role, AUTH_NONE);
    assert_refusal(cfg, err, why, apikey);
    if (authz != NULL) {
        assert_refusal(cfg, err, why, authz);
    }
}

static const char *bearer(const char *token)
{
    static char buf[4][TOKEN_CAP + 16];
    static unsigned next;
    char *out = buf[next++ % 4];
    int n = snprintf(out, sizeof buf[0], "Bearer %s", token);
    assert_true(n > 0 && (size_t)n < sizeof buf[0]);
    return out;
}

#define UNKNOWN "unknown key"
#define NO_KEY "no key"
#define INVALID_TOKEN "invalid token"

/* ---- no keys configured ------------------------------------------------------------------- */

static void without_keys_every_caller_is_service_role(void **state)
{
    (void)state;
    tt_config cfg = with_keys("", "", "");
    char t[TOKEN_CAP];
    token_for(t, "anon", NULL);
    assert_false(auth_enabled(&cfg));
    assert_int_equal(credential_role(&cfg, NULL), AUTH_SERVICE);
    assert_int_equal(credential_role(&cfg, ""), AUTH_SERVICE);
    assert_int_equal(credential_role(&cfg, "anything"), AUTH_SERVICE);
    assert_int_equal(credential_role(&cfg, t), AUTH_SERVICE); /* its "anon" is not read */
    assert_int_equal(request_ok(&cfg, NULL, NULL).role, AUTH_SERVICE);
    assert_int_equal(request_ok(&cfg, "x", "Basic eDp5").role, AUTH_SERVICE);
}

static void any_one_key_enables_auth(void **state)
{
    (void)state;
    tt_config secret = with_keys(SECRET, "", ""), anon = with_keys("", ANON_KEY, "");
    tt_config service = with_keys("", "", SERVICE_KEY);
    assert_true(auth_enabled(&secret));
    assert_true(auth_enabled(&anon));
    assert_true(auth_enabled(&service));
    credential_refused(&secret, NULL, NOW, NO_KEY);
    credential_refused(&anon, "", NOW, NO_KEY);
    credential_refused(&service, "anything", NOW, UNKNOWN);
}

/* ---- keys --------------------------------------------------------------------------------- */

static void service_and_anon_keys_give_their_roles(void **state)
{
    (void)state;
    tt_config cfg = all_keys();
    auth_identity id;
    char err[TT_ERRLEN] = "";
    assert_int_equal(auth_credential(&cfg, SERVICE_KEY, NOW, &id, err), 0);
    assert_int_equal(id.role, AUTH_SERVICE);
    assert_string_equal(id.sub, "");
    assert_int_equal(id.expires_s, 0); /* a key does not expire */
    assert_int_equal(credential_role(&cfg, ANON_KEY), AUTH_ANON);
}

/* Only the whole key, byte for byte: not a prefix, an extension, another case, one byte off,
 * nor the other key's name for it. */
static void keys_match_exactly(void **state)
{
    (void)state;
    tt_config cfg = all_keys();
    static const char *const near[] = {
        "service-key-2b4d6f8a0c1e3a5c7e9",
        "service-key-2b4d6f8a0c1e3a5c7e9bb",
        "SERVICE-KEY-2B4D6F8A0C1E3A5C7E9B",
        "service-key-2b4d6f8a0c1e3a5c7e9c",
        "xervice-key-2b4d6f8a0c1e3a5c7e9b",
        " service-key-2b4d6f8a0c1e3a5c7e9b",
        "service-key-2b4d6f8a0c1e3a5c7e9b ",
        "anon-key-7f3a9c1e5b2d4f6a8c0",
        "anon-key-7f3a9c1e5b2d4f6a8c0e\n",
        "service_role",
        "anon",
    };
    for (size_t i = 0; i < sizeof near / sizeof near[0]; i++) {
        credential_refused(&cfg, near[i], NOW, UNKNOWN);
    }
}

/* A key left unset ("") matches nothing, not even an empty credential. */
static void unset_key_matches_nothing(void **state)
{
    (void)state;
    tt_config cfg = with_keys("", ANON_KEY, "");
    credential_refused(&cfg, "", NOW, NO_KEY);
    credential_refused(&cfg, SERVICE_KEY, NOW, UNKNOWN);
    assert_int_equal(credential_role(&cfg, ANON_KEY), AUTH_ANON);
}

/* Supabase's keys are themselves JWTs; a configured key is matched as a key first, so it
 * works even when it was not signed with TELLTALE_JWT_SECRET. */
static void configured_key_that_is_a_jwt_matches_as_a_key(void **state)
{
    (void)state;
    char foreign[TOKEN_CAP];
    sign(foreign, "{\"role\":\"anon\"}", "some-other-secret-of-at-least-32-bytes");
    tt_config cfg = with_keys(SECRET, "", foreign);
    assert_int_equal(credential_role(&cfg, foreign), AUTH_SERVICE);
}

static void longest_key_is_accepted(void **state)
{
    (void)state;
    char key[TT_SECRET_MAX + 1];
    memset(key, 'k', TT_SECRET_MAX);
    key[TT_SECRET_MAX] = '\0';
    tt_config cfg = with_keys("", key, "");
    assert_int_equal(credential_role(&cfg, key), AUTH_ANON);
    key[TT_SECRET_MAX - 1] = '\0';
    credential_refused(&cfg, key, NOW, UNKNOWN);
}

/* ---- JWTs --------------------------------------------------------------------------------- */

static void jwt_roles_map_to_identities(void **state)
{
    (void)state;
    tt_config cfg = all_keys();
    char t[TOKEN_CAP];
    auth_identity id;
    char err[TT_ERRLEN] = "";

    token_for(t, "authenticated", "user-42");
    assert_int_equal(auth_credential(&cfg, t, NOW, &id, err), 0);
    assert_int_equal(id.role, AUTH_AUTHENTICATED);
    assert_string_equal(id.sub, "user-42");
    assert_int_equal(id.expires_s, INT64_C(1764343903)); /* the token's exp, for Realtime */

    token_for(t, "service_role", NULL);
    assert_int_equal(auth_credential(&cfg, t, NOW, &id, err), 0);
    assert_int_equal(id.role, AUTH_SERVICE);
    assert_string_equal(id.sub, "");

    token_for(t, "anon", "ignored-but-kept");
    assert_int_equal(auth_credential(&cfg, t, NOW, &id, err), 0);
    assert_int_equal(id.role, AUTH_ANON);
    assert_string_equal(id.sub, "ignored-but-kept");
}

/* Roles PostgreSQL or Supabase know but telltale does not grant, other spellings, and none. */
static void other_jwt_roles_are_refused(void **state)
{
    (void)state;
    tt_config cfg = all_keys();
    static const char *const roles[] = {"postgres",      "supabase_admin", "Service_Role",
                                        "service_role ", "ANON",           "authenticated_",
                                        "none"};
    char t[TOKEN_CAP];
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        token_for(t, roles[i], NULL);
        credential_refused(&cfg, t, NOW, "not one of anon, authenticated, ingest, service_role");
    }
    sign(t, "{\"sub\":\"u1\",\"exp\":" LATER "}", SECRET);
    credential_refused(&cfg, t, NOW, "no role claim");
}

static void jwt_failures_are_refused_with_the_reason(void **state)
{
    (void)state;
    tt_config cfg = all_keys();
    char t[TOKEN_CAP];
    sign(t, "{\"role\":\"service_role\"}", "wrong-secret-of-at-least-32-bytes-long");
    credential_refused(&cfg, t, NOW, "signature does not match");
    token_for(t, "service_role", NULL);
    credential_refused(&cfg, t, INT64_C(1764343903) + JWT_LEEWAY_S, "expired");
    assert_int_equal(credential_role(&cfg, t), AUTH_SERVICE);
    /* An unsecured JWT (RFC 7519 §6: alg none, empty signature) is a JWT refused as unsigned,
     * not an unknown key; so is one of HS256 without its signature. */
    credential_refused(&cfg, "eyJhbGciOiJub25lIn0.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.", NOW,
                       "invalid token: the token is not signed with HS256: its alg is \"none\", "
                       "it is unsigned");
    credential_refused(&cfg, "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.", NOW,
                       "invalid token: the token is unsigned: its signature is empty");
    credential_refused(&cfg, "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.sig=", NOW,
                       "invalid token: not a JWT: its signature holds a character outside");
}

/* Without TELLTALE_JWT_SECRET no JWT is accepted, whatever it says, and an empty secret is
 * never used to verify one. */
static void jwt_without_a_configured_secret_is_unknown(void **state)
{
    (void)state;
    tt_config cfg = with_keys("", ANON_KEY, SERVICE_KEY);
    char t[TOKEN_CAP];
    sign(t, "{\"role\":\"service_role\"}", "");
    credential_refused(&cfg, t, NOW, UNKNOWN);
    token_for(t, "service_role", NULL);
    credential_refused(&cfg, t, NOW, UNKNOWN);
}

/* ---- HTTP requests ------------------------------------------------------------------------ */

/* supabase-js sends both headers; the bearer token decides the role. */
static void bearer_decides_the_role(void **state)
{
    (void)state;
    tt_config cfg = all_keys();
    char t[TOKEN_CAP];
    token_for(t, "authenticated", "user-7");
    auth_identity id = request_ok(&cfg, ANON_KEY, bearer(t));
    assert_int_equal(id.role, AUTH_AUTHENTICATED);
    assert_string_equal(id.sub, "user-7");
    assert_int_equal(request_ok(&cfg, ANON_KEY, bearer(SERVICE_KEY)).role, AUTH_SERVICE);
    assert_int_equal(request_ok(&cfg, SERVICE_KEY, bearer(ANON_KEY)).role, AUTH_ANON);
    assert_int_equal(request_ok(&cfg, ANON_KEY, bearer(ANON_KEY)).role, AUTH_ANON);
}

static void either_header_alone_is_enough(void **state)
{
    (void)state;
    tt_config cfg = all_keys();
    assert_int_equal(request_ok(&cfg, SERVICE_KEY, NULL).role, AUTH_SERVICE);
    assert_int_equal(request_ok(&cfg, ANON_KEY, "").role, AUTH_ANON); /* empty is absent */
    assert_int_equal(request_ok(&cfg, NULL, bearer(SERVICE_KEY)).role, AUTH_SERVICE);
    assert_int_equal(request_ok(&cfg, "", bearer(ANON_KEY)).role, AUTH_ANON);
    request_refused(&cfg, NULL, NULL, NO_KEY);
    request_refused(&cfg, "", "", NO_KEY);
}

/* An apikey sent alongside a bearer token must be valid too: a good token does not excuse a
 * bad key, nor a good key a bad token. */
static void apikey_beside_a_bearer_must_be_valid(void **state)
{
    (void)state;
    tt_config cfg = all_keys();
    char good[TOKEN_CAP], expired[TOKEN_CAP];
    token_for(good, "service_role", NULL);
    sign(expired, "{\"role\":\"anon\",\"exp\":1}", SECRET);
    request_refused(&cfg, "not-a-key", bearer(good), UNKNOWN);
    request_refused(&cfg, expired, bearer(good), "expired");
    request_refused(&cfg, ANON_KEY, bearer(expired), "expired");
    request_refused(&cfg, ANON_KEY, bearer("not-a-key"), UNKNOWN);
}

/* 'err' of a request whose apikey comes from 'from', exactly. */
static void request_refused_as(const tt_config *cfg, const char *apikey, const char *from,
                               const char *authz, const char *says)
{
    auth_identity id;
    char err[TT_ERRLEN] = "";
    assert_int_equal(auth_request(cfg, apikey, from, authz, NOW, &id, err), TT_EINVAL);
    assert_int_equal(id.role, AUTH_NONE);
    assert_string_equal(err, says);
    assert_refusal(cfg, err, says, apikey);
}

/* With two credentials, a refusal names the one refused: "unknown key" alone would leave the
 * caller guessing which of its two to fix. A lone credential's refusal needs no name. */
static void a_refusal_beside_another_credential_names_it(void **state)
{
    (void)state;
    tt_config cfg = all_keys();
    char good[TOKEN_CAP], expired[TOKEN_CAP];
    token_for(good, "service_role", NULL);
    sign(expired, "{\"role\":\"anon\",\"exp\":1}", SECRET);
    request_refused_as(&cfg, "not-a-key", NULL, bearer(good),
                       "the apikey header is refused: unknown key");
    request_refused_as(&cfg, "not-a-key", "apikey header", bearer(good),
                       "the apikey header is refused: unknown key");
    request_refused_as(&cfg, "not-a-key", "apikey parameter", bearer(good),
                       "the apikey parameter is refused: unknown key");
    request_refused_as(&cfg, expired, "apikey header", bearer(good),
                       "the apikey header is refused: invalid token: the token has expired");
    request_refused_as(&cfg, ANON_KEY, "apikey header", bearer("not-a-key"),
                       "the Authorization bearer token is refused: unknown key");
    request_refused_as(&cfg, ANON_KEY, "apikey parameter", bearer(expired),
                       "the Authorization bearer token is refused: invalid token: the token has "
                       "expired");
    /* both bad: the apikey is judged first */
    request_refused_as(&cfg, "not-a-key", "apikey header", bearer("not-a-key-either"),
                       "the apikey header is refused: unknown key");
    /* one credential: its reason alone */
    request_refused_as(&cfg, "not-a-key", "apikey header", NULL, "unknown key");
    request_refused_as(&cfg, NULL, "apikey header", bearer("not-a-key"), "unknown key");
    /* one key sent both ways (supabase-js, telltale's CLI): one credential, its reason alone */
    request_refused_as(&cfg, "not-a-key", "apikey header", bearer("not-a-key"), "unknown key");
    request_refused_as(&cfg, expired, "apikey parameter", bearer(expired),
                       "invalid token: the token has expired");
    assert_int_equal(request_ok(&cfg, SERVICE_KEY, bearer(SERVICE_KEY)).role, AUTH_SERVICE);
}

static void authorization_must_be_bearer(void **state)
{
    (void)state;
    tt_config cfg = all_keys();
    request_refused(&cfg, ANON_KEY, "Basic YW5vbjpzZWNyZXQ=", "must be 'Bearer TOKEN'");
    request_refused(&cfg, ANON_KEY, SERVICE_KEY, "must be 'Bearer TOKEN'");
    request_refused(&cfg, ANON_KEY, "Bearer", "must be 'Bearer TOKEN'");
    request_refused(&cfg, ANON_KEY, "Bearer:" SERVICE_KEY, "must be 'Bearer TOKEN'");
    /* The scheme is case-insensitive (RFC 9110 §11.1); the token after one space is taken as
     * is, so an empty or space-led token is no key. */
    assert_int_equal(request_ok(&cfg, NULL, "bearer " SERVICE_KEY).role, AUTH_SERVICE);
    assert_int_equal(request_ok(&cfg, NULL, "BEARER " SERVICE_KEY).role, AUTH_SERVICE);
    request_refused(&cfg, ANON_KEY, "Bearer ", NO_KEY);
    request_refused(&cfg, NULL, "Bearer  " SERVICE_KEY, UNKNOWN);
}

/* ---- ingest ------------------------------------------------------------------------------- */

static void ingest_key_and_claim_give_role_ingest(void **state)
{
    (void)state;
    tt_config cfg = all_keys();
    put_key(cfg.ingest_key, sizeof cfg.ingest_key, INGEST_KEY);
    assert_int_equal(credential_role(&cfg, INGEST_KEY), AUTH_INGEST);
    char t[TOKEN_CAP];
    token_for(t, "ingest", "producer-1");
    assert_int_equal(credential_role(&cfg, t), AUTH_INGEST);
    /* An ingest key alone enables auth: nobody else is anybody then. */
    tt_config only = with_keys("", "", "");
    put_key(only.ingest_key, sizeof only.ingest_key, INGEST_KEY);
    assert_true(auth_enabled(&only));
    credential_refused(&only, SERVICE_KEY, NOW, UNKNOWN);
    credential_refused(&only, "ingest-key-5e7a9c1b3d5f7a9c1", NOW, UNKNOWN); /* a prefix */
}

/* ---- policy: auth_allows over every role and every set ---------------------------------- */

static void policy_sets_admit_their_roles(void **state)
{
    (void)state;
    tt_config cfg = all_keys(), open = all_keys();
    open.anon_read = true;
    static const struct {
        unsigned roles;
        const char *admitted; /* N A U S I: none, anon, authenticated, service, ingest */
        const char *admitted_anon_read;
    } rows[] = {
        {AUTH_PUBLIC, "NAUSI", "NAUSI"},
        {0, "...S.", "...S."}, /* unstated: service_role only */
        {AUTH_ROLES_SERVICE, "...S.", "...S."},
        {AUTH_ROLES_READ, "..US.", ".AUS."},
        {AUTH_ROLES_INGEST, "...SI", "...SI"},
        {AUTH_ROLES_ANY, "..USI", ".AUSI"},
        {AUTH_ANY_KEY, ".AUSI", ".AUSI"},
    };
    static const auth_role roles[] = {AUTH_NONE, AUTH_ANON, AUTH_AUTHENTICATED, AUTH_SERVICE,
                                      AUTH_INGEST};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        for (size_t j = 0; j < 5; j++) {
            bool want = rows[i].admitted[j] != '.';
            bool want_open = rows[i].admitted_anon_read[j] != '.';
            if (auth_allows(&cfg, rows[i].roles, roles[j]) != want ||
                auth_allows(&open, rows[i].roles, roles[j]) != want_open) {
                fail_msg("row %zu, role %s", i, auth_role_name(roles[j]));
            }
        }
    }
    assert_int_equal(auth_refusal_status(AUTH_NONE), 401);
    assert_int_equal(auth_refusal_status(AUTH_ANON), 403);
    assert_int_equal(auth_refusal_status(AUTH_INGEST), 403);
}

/* ---- names -------------------------------------------------------------------------------- */

static void role_names_are_postgres_roles(void **state)
{
    (void)state;
    assert_string_equal(auth_role_name(AUTH_ANON), "anon");
    assert_string_equal(auth_role_name(AUTH_AUTHENTICATED), "authenticated");
    assert_string_equal(auth_role_name(AUTH_SERVICE), "service_role");
    assert_string_equal(auth_role_name(AUTH_INGEST), "ingest");
    assert_string_equal(auth_role_name(AUTH_NONE), "none");
    assert_string_equal(auth_role_name((auth_role)99), "none");
}

/* A client's dashboard state: service_role any; authenticated only the client its sub names;
 * no other role, whatever sub it carries. */
static void a_client_state_is_reached_by_its_own_sub_only(void **state)
{
    (void)state;
    auth_identity who = {.role = AUTH_SERVICE};
    assert_true(auth_reaches_client(&who, "u1"));
    who = (auth_identity){.role = AUTH_AUTHENTICATED, .sub = "u1"};
    assert_true(auth_reaches_client(&who, "u1"));
    assert_false(auth_reaches_client(&who, "u2"));
    who = (auth_identity){.role = AUTH_ANON, .sub = "u1"};
    assert_false(auth_reaches_client(&who, "u1"));
    who = (auth_identity){.role = AUTH_INGEST, .sub = "u1"};
    assert_false(auth_reaches_client(&who, "u1"));
    who = (auth_identity){.role = AUTH_AUTHENTICATED, .sub = ""};
    assert_false(auth_reaches_client(&who, ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_client_state_is_reached_by_its_own_sub_only),
        cmocka_unit_test(without_keys_every_caller_is_service_role),
        cmocka_unit_test(any_one_key_enables_auth),
        cmocka_unit_test(service_and_anon_keys_give_their_roles),
        cmocka_unit_test(keys_match_exactly),
        cmocka_unit_test(unset_key_matches_nothing),
        cmocka_unit_test(configured_key_that_is_a_jwt_matches_as_a_key),
        cmocka_unit_test(longest_key_is_accepted),
        cmocka_unit_test(jwt_roles_map_to_identities),
        cmocka_unit_test(other_jwt_roles_are_refused),
        cmocka_unit_test(jwt_failures_are_refused_with_the_reason),
        cmocka_unit_test(jwt_without_a_configured_secret_is_unknown),
        cmocka_unit_test(bearer_decides_the_role),
        cmocka_unit_test(either_header_alone_is_enough),
        cmocka_unit_test(apikey_beside_a_bearer_must_be_valid),
        cmocka_unit_test(a_refusal_beside_another_credential_names_it),
        cmocka_unit_test(authorization_must_be_bearer),
        cmocka_unit_test(ingest_key_and_claim_give_role_ingest),
        cmocka_unit_test(policy_sets_admit_their_roles),
        cmocka_unit_test(role_names_are_postgres_roles),
    };
    return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
