/* flag.c -- feature flag evaluation: rules, the rollout bucket, the reason. */
#include "core/flag.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned flag_bucket(const char *key, const char *targeting_key)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(c, key, strlen(key)) != 1 || EVP_DigestUpdate(c, "/", 1) != 1 ||
        EVP_DigestUpdate(c, targeting_key, strlen(targeting_key)) != 1 ||
        EVP_DigestFinal_ex(c, digest, NULL) != 1) {
        abort(); /* only out of memory: SHA-256 itself cannot fail */
    }
    EVP_MD_CTX_free(c);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | digest[i];
    }
    return (unsigned)(v % 100);
}

/* Same JSON type and value; only strings, numbers and booleans are ever equal. */
static bool same_scalar(const cJSON *a, const cJSON *b)
{
    if (cJSON_IsString(a) && cJSON_IsString(b)) {
        return strcmp(a->valuestring, b->valuestring) == 0;
    }
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) {
        return a->valuedouble == b->valuedouble;
    }
    if (cJSON_IsBool(a) && cJSON_IsBool(b)) {
        return cJSON_IsTrue(a) == cJSON_IsTrue(b);
    }
    return false;
}

static bool rule_matches(const cJSON *rule, const cJSON *context)
{
    const cJSON *attr = cJSON_GetObjectItemCaseSensitive(rule, "attribute");
    const cJSON *have =
        context != NULL ? cJSON_GetObjectItemCaseSensitive(context, attr->valuestring) : NULL;
    if (have == NULL) {
        return false;
    }
    const cJSON *equals = cJSON_GetObjectItemCaseSensitive(rule, "equals");
    if (equals != NULL) {
        return same_scalar(have, equals);
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(rule, "in"))
    {
        if (same_scalar(have, v)) {
            return true;
        }
    }
    return false;
}

static bool any_rule_matches(const cJSON *rules, const cJSON *context)
{
    const cJSON *rule;
    cJSON_ArrayForEach(rule, rules)
    {
        if (rule_matches(rule, context)) {
            return true;
        }
    }
    return false;
}

void flag_evaluate(const flag_def *f, const cJSON *context, flag_result *out)
{
    *out = (flag_result){.error = FLAG_OK};
    const cJSON *tk =
        context != NULL ? cJSON_GetObjectItemCaseSensitive(context, "targetingKey") : NULL;
    if ((context != NULL && !cJSON_IsObject(context)) || (tk != NULL && !cJSON_IsString(tk))) {
        out->error = FLAG_INVALID_CONTEXT;
        return;
    }
    if (!f->enabled) {
        out->reason = FLAG_DISABLED;
        return;
    }
    bool has_rules = cJSON_GetArraySize(f->rules) > 0;
    if (has_rules && !any_rule_matches(f->rules, context)) {
        out->reason = FLAG_DEFAULT;
        return;
    }
    if (f->rollout_percent < 100) {
        if (tk == NULL) {
            out->error = FLAG_TARGETING_KEY_MISSING;
            return;
        }
        out->reason = FLAG_SPLIT;
        out->has_value = flag_bucket(f->key, tk->valuestring) < (unsigned)f->rollout_percent;
        return;
    }
    out->reason = has_rules ? FLAG_TARGETING_MATCH : FLAG_STATIC;
    out->has_value = true;
}

const char *flag_reason_name(flag_reason r)
{
    static const char *const names[] = {"STATIC", "TARGETING_MATCH", "SPLIT", "DISABLED",
                                        "DEFAULT"};
    return names[r];
}

const char *flag_error_name(flag_error e)
{
    return e == FLAG_TARGETING_KEY_MISSING ? "TARGETING_KEY_MISSING"
           : e == FLAG_INVALID_CONTEXT     ? "INVALID_CONTEXT"
                                           : NULL;
}

bool flag_key_valid(const char *key)
{
    size_t n = strlen(key);
    return n >= 1 && n <= FLAG_KEY_MAX &&
           strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_.:-") == n;
}

static bool is_scalar(const cJSON *v)
{
    return cJSON_IsString(v) || cJSON_IsNumber(v) || cJSON_IsBool(v);
}

static int check_rule(const cJSON *rule, int i, char *err)
{
    if (!cJSON_IsObject(rule)) {
        return tt_fail(err, TT_EINVAL, "rules[%d] must be an object", i);
    }
    const cJSON *attr = NULL, *equals = NULL, *in = NULL, *m;
    cJSON_ArrayForEach(m, rule)
    {
        if (strcmp(m->string, "attribute") == 0) {
            attr = m;
        } else if (strcmp(m->string, "equals") == 0) {
            equals = m;
        } else if (strcmp(m->string, "in") == 0) {
            in = m;
        } else {
            return tt_fail(err, TT_EINVAL,
                           "rules[%d] has an unknown member '%.40s' (attribute, equals, in)", i,
                           m->string);
        }
    }
    if (!cJSON_IsString(attr) || attr->valuestring[0] == '\0' ||
        strlen(attr->valuestring) > FLAG_ATTRIBUTE_MAX) {
        return tt_fail(err, TT_EINVAL, "rules[%d].attribute must be a string of 1 to %d bytes", i,
                       FLAG_ATTRIBUTE_MAX);
    }
    if ((equals == NULL) == (in == NULL)) {
        return tt_fail(err, TT_EINVAL, "rules[%d] needs exactly one of 'equals' and 'in'", i);
    }
    if (equals != NULL && !is_scalar(equals)) {
        return tt_fail(err, TT_EINVAL, "rules[%d].equals must be a string, number or boolean", i);
    }
    if (in != NULL) {
        int n = cJSON_GetArraySize(in);
        if (!cJSON_IsArray(in) || n < 1 || n > FLAG_MAX_IN_VALUES) {
            return tt_fail(err, TT_EINVAL, "rules[%d].in must be an array of 1 to %d values", i,
                           FLAG_MAX_IN_VALUES);
        }
        cJSON_ArrayForEach(m, in)
        {
            if (!is_scalar(m)) {
                return tt_fail(err, TT_EINVAL,
                               "rules[%d].in must hold strings, numbers or booleans", i);
            }
        }
    }
    return 0;
}

int flag_rules_check(const cJSON *rules, char err[TT_ERRLEN])
{
    if (rules == NULL || cJSON_IsNull(rules)) {
        return 0;
    }
    if (!cJSON_IsArray(rules) || cJSON_GetArraySize(rules) > FLAG_MAX_RULES) {
        return tt_fail(err, TT_EINVAL, "rules must be an array of at most %d rules",
                       FLAG_MAX_RULES);
    }
    int i = 0;
    const cJSON *rule;
    cJSON_ArrayForEach(rule, rules)
    {
        int rc = check_rule(rule, i++, err);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* A string member of at most 'max' bytes, or null/absent (*out NULL). */
static int read_text(const cJSON *v, const char *name, size_t max, const char **out, char *err)
{
    *out = NULL;
    if (v == NULL || cJSON_IsNull(v)) {
        return 0;
    }
    if (!cJSON_IsString(v) || strlen(v->valuestring) > max) {
        return tt_fail(err, TT_EINVAL, "'%s' must be a string of at most %zu bytes, or null", name,
                       max);
    }
    *out = v->valuestring;
    return 0;
}

static int read_member(const cJSON *m, const char *key, flag_input *out, char *err)
{
    const char *name = m->string;
    if (strcmp(name, "enabled") == 0) {
        if (!cJSON_IsBool(m)) {
            return tt_fail(err, TT_EINVAL, "'enabled' must be true or false");
        }
        out->enabled = cJSON_IsTrue(m);
    } else if (strcmp(name, "variant") == 0) {
        int rc = read_text(m, name, FLAG_VARIANT_MAX, &out->variant, err);
        if (rc == 0 && out->variant != NULL && out->variant[0] == '\0') {
            return tt_fail(err, TT_EINVAL, "'variant' must not be empty (null: a boolean flag)");
        }
        return rc;
    } else if (strcmp(name, "description") == 0) {
        return read_text(m, name, FLAG_DESCRIPTION_MAX, &out->description, err);
    } else if (strcmp(name, "rollout_percent") == 0) {
        /* the range first: converting a double outside int's range is undefined */
        if (!cJSON_IsNumber(m) || !(m->valuedouble >= 0 && m->valuedouble <= 100) ||
            m->valuedouble != (int)m->valuedouble) {
            return tt_fail(err, TT_EINVAL, "'rollout_percent' must be an integer from 0 to 100");
        }
        out->rollout_percent = (int)m->valuedouble;
    } else if (strcmp(name, "rules") == 0) {
        out->rules = cJSON_IsNull(m) ? NULL : m;
        return flag_rules_check(out->rules, err);
    } else if (strcmp(name, "key") == 0) {
        if (!cJSON_IsString(m) || strcmp(m->valuestring, key) != 0) {
            return tt_fail(err, TT_EINVAL, "'key' must be the flag's key, '%s'", key);
        }
    } else if (strcmp(name, "version") != 0 && strcmp(name, "updated_at") != 0) {
        return tt_fail(err, TT_EINVAL,
                       "unknown member '%.40s' (enabled, variant, rollout_percent, description, "
                       "rules)",
                       name);
    }
    return 0;
}

int flag_input_read(const cJSON *body, const char *key, flag_input *out, char err[TT_ERRLEN])
{
    *out = (flag_input){.rollout_percent = 100};
    if (!cJSON_IsObject(body)) {
        return tt_fail(err, TT_EINVAL, "the body must be a JSON object: the flag's columns");
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, body)
    {
        int rc = read_member(m, key, out, err);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}
