/* test_flag.c -- flag evaluation: the bucket against values computed independently (Node's
 * crypto), its uniformity over 10,000 keys and its stickiness, every reason and error, rules
 * (equals, in, types, absent attributes), and the PUT body's checks. */
#include "core/flag.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

/* sha256("dashboard.data_source/user-1") etc., first 8 bytes big-endian mod 100, by Node:
 * crypto.createHash("sha256").update(k + "/" + t).digest().readBigUInt64BE(0) % 100n */
static void bucket_matches_an_independent_implementation(void **state)
{
    (void)state;
    assert_int_equal(flag_bucket("dashboard.data_source", "user-1"), 16);
    assert_int_equal(flag_bucket("dashboard.data_source", "user-2"), 65);
    assert_int_equal(flag_bucket("a", "b"), 61);
    assert_int_equal(flag_bucket("new-ui", "alice"), 32);
}

static int in_rollout(const char *key, int percent, int n)
{
    flag_def f = {.key = key, .enabled = true, .rollout_percent = percent};
    int on = 0;
    for (int i = 0; i < n; i++) {
        char tk[32];
        snprintf(tk, sizeof tk, "client-%d", i);
        cJSON *ctx = cJSON_CreateObject();
        cJSON_AddStringToObject(ctx, "targetingKey", tk);
        flag_result r;
        flag_evaluate(&f, ctx, &r);
        assert_int_equal(r.error, FLAG_OK);
        assert_int_equal(r.reason, FLAG_SPLIT);
        on += r.has_value;
        cJSON_Delete(ctx);
    }
    return on;
}

/* 10,000 keys: the share in the rollout is the percentage within 2 points, for several
 * percentages and flag keys; and every bucket 0..99 is about 1%. */
static void rollout_is_uniform(void **state)
{
    (void)state;
    const int percents[] = {1, 10, 25, 50, 75, 99};
    const char *keys[] = {"dashboard.data_source", "x", "new-ui"};
    for (size_t k = 0; k < 3; k++) {
        for (size_t p = 0; p < 6; p++) {
            int on = in_rollout(keys[k], percents[p], 10000);
            double share = on / 100.0;
            assert_true(share >= percents[p] - 2.0 && share <= percents[p] + 2.0);
        }
    }
    int counts[100] = {0};
    for (int i = 0; i < 10000; i++) {
        char tk[32];
        snprintf(tk, sizeof tk, "%d", i);
        counts[flag_bucket("dashboard.data_source", tk)]++;
    }
    for (int b = 0; b < 100; b++) {
        assert_true(counts[b] >= 60 && counts[b] <= 140); /* 100 expected; > 4 sigma off fails */
    }
}

/* The same key always gets the same answer, and raising the percentage only adds keys: no one
 * already in is taken out. */
static void rollout_is_sticky_and_monotonic(void **state)
{
    (void)state;
    for (int i = 0; i < 2000; i++) {
        char tk[32];
        snprintf(tk, sizeof tk, "u%d", i);
        unsigned b = flag_bucket("f", tk);
        assert_int_equal(b, flag_bucket("f", tk));
        assert_true(b < 100);
        for (int p = 0; p <= 100; p += 10) {
            flag_def f = {.key = "f", .enabled = true, .rollout_percent = p};
            cJSON *ctx = cJSON_CreateObject();
            cJSON_AddStringToObject(ctx, "targetingKey", tk);
            flag_result r;
            flag_evaluate(&f, ctx, &r);
            assert_int_equal(r.has_value, (int)b < p);
            cJSON_Delete(ctx);
        }
    }
    /* a different flag buckets the same key independently */
    int same = 0;
    for (int i = 0; i < 1000; i++) {
        char tk[32];
        snprintf(tk, sizeof tk, "u%d", i);
        same += flag_bucket("f", tk) == flag_bucket("g", tk);
    }
    assert_true(same < 50);
}

static flag_result eval(const flag_def *f, const char *context_json)
{
    cJSON *ctx = context_json != NULL ? cJSON_Parse(context_json) : NULL;
    flag_result r;
    flag_evaluate(f, ctx, &r);
    cJSON_Delete(ctx);
    return r;
}

static void reasons(void **state)
{
    (void)state;
    flag_def f = {.key = "k", .enabled = true, .rollout_percent = 100};
    flag_result r = eval(&f, NULL);
    assert_int_equal(r.reason, FLAG_STATIC);
    assert_true(r.has_value);
    f.enabled = false;
    r = eval(&f, "{\"targetingKey\":\"a\"}");
    assert_int_equal(r.reason, FLAG_DISABLED);
    assert_false(r.has_value);
    f.enabled = true;
    f.rollout_percent = 0;
    r = eval(&f, "{\"targetingKey\":\"a\"}");
    assert_int_equal(r.reason, FLAG_SPLIT);
    assert_false(r.has_value);
    r = eval(&f, "{}");
    assert_int_equal(r.error, FLAG_TARGETING_KEY_MISSING);
    r = eval(&f, "{\"targetingKey\":7}");
    assert_int_equal(r.error, FLAG_INVALID_CONTEXT);
    r = eval(&f, "[1]");
    assert_int_equal(r.error, FLAG_INVALID_CONTEXT);
    assert_string_equal(flag_reason_name(FLAG_TARGETING_MATCH), "TARGETING_MATCH");
    assert_string_equal(flag_error_name(FLAG_TARGETING_KEY_MISSING), "TARGETING_KEY_MISSING");
}

static void rules_match_by_equals_and_in(void **state)
{
    (void)state;
    cJSON *rules = cJSON_Parse("[{\"attribute\":\"plan\",\"in\":[\"pro\",\"team\"]},"
                               "{\"attribute\":\"beta\",\"equals\":true},"
                               "{\"attribute\":\"tier\",\"equals\":3}]");
    char err[TT_ERRLEN];
    assert_int_equal(flag_rules_check(rules, err), 0);
    flag_def f = {.key = "k", .enabled = true, .rollout_percent = 100, .rules = rules};
    assert_int_equal(eval(&f, "{\"plan\":\"pro\"}").reason, FLAG_TARGETING_MATCH);
    assert_int_equal(eval(&f, "{\"plan\":\"team\"}").reason, FLAG_TARGETING_MATCH);
    assert_int_equal(eval(&f, "{\"beta\":true}").reason, FLAG_TARGETING_MATCH);
    assert_int_equal(eval(&f, "{\"tier\":3}").reason, FLAG_TARGETING_MATCH);
    flag_result r = eval(&f, "{\"plan\":\"free\"}");
    assert_int_equal(r.reason, FLAG_DEFAULT);
    assert_false(r.has_value);
    assert_int_equal(eval(&f, "{\"tier\":\"3\"}").reason, FLAG_DEFAULT); /* type counts */
    assert_int_equal(eval(&f, "{\"beta\":\"true\"}").reason, FLAG_DEFAULT);
    assert_int_equal(eval(&f, "{\"plan\":[\"pro\"]}").reason, FLAG_DEFAULT);
    assert_int_equal(eval(&f, NULL).reason, FLAG_DEFAULT);
    /* matched, then split */
    f.rollout_percent = 50;
    r = eval(&f, "{\"plan\":\"pro\",\"targetingKey\":\"user-1\"}");
    assert_int_equal(r.reason, FLAG_SPLIT);
    assert_int_equal(r.has_value, flag_bucket("k", "user-1") < 50);
    cJSON_Delete(rules);
}

static void rules_shape_is_checked(void **state)
{
    (void)state;
    const char *bad[] = {
        "{}",
        "[1]",
        "[{\"attribute\":\"a\"}]",
        "[{\"attribute\":\"a\",\"equals\":1,\"in\":[1]}]",
        "[{\"attribute\":\"\",\"equals\":1}]",
        "[{\"attribute\":\"a\",\"equals\":{}}]",
        "[{\"attribute\":\"a\",\"in\":[]}]",
        "[{\"attribute\":\"a\",\"in\":[[1]]}]",
        "[{\"attribute\":\"a\",\"equals\":1,\"op\":\"x\"}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *rules = cJSON_Parse(bad[i]);
        char err[TT_ERRLEN] = "";
        assert_int_equal(flag_rules_check(rules, err), TT_EINVAL);
        assert_true(strlen(err) > 0);
        cJSON_Delete(rules);
    }
    char many[4096] = "[";
    for (int i = 0; i <= FLAG_MAX_RULES; i++) {
        strcat(many,
               i ? ",{\"attribute\":\"a\",\"equals\":1}" : "{\"attribute\":\"a\",\"equals\":1}");
    }
    strcat(many, "]");
    cJSON *rules = cJSON_Parse(many);
    char err[TT_ERRLEN];
    assert_int_equal(flag_rules_check(rules, err), TT_EINVAL);
    cJSON_Delete(rules);
}

static void put_body_is_read(void **state)
{
    (void)state;
    char err[TT_ERRLEN];
    flag_input in;
    cJSON *b = cJSON_Parse("{\"enabled\":true,\"variant\":\"dual\",\"rollout_percent\":100}");
    assert_int_equal(flag_input_read(b, "dashboard.data_source", &in, err), 0);
    assert_true(in.enabled);
    assert_string_equal(in.variant, "dual");
    assert_int_equal(in.rollout_percent, 100);
    assert_null(in.rules);
    cJSON_Delete(b);
    b = cJSON_Parse("{}");
    assert_int_equal(flag_input_read(b, "k", &in, err), 0);
    assert_false(in.enabled);
    assert_null(in.variant);
    assert_int_equal(in.rollout_percent, 100);
    cJSON_Delete(b);
    const char *bad[] = {"[]",
                         "{\"enabled\":1}",
                         "{\"rollout_percent\":101}",
                         "{\"rollout_percent\":1.5}",
                         "{\"rollout_percent\":5e120}",
                         "{\"rollout_percent\":-1e300}",
                         "{\"variant\":\"\"}",
                         "{\"variant\":3}",
                         "{\"key\":\"other\"}",
                         "{\"colour\":\"red\"}",
                         "{\"rules\":[1]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b = cJSON_Parse(bad[i]);
        assert_int_equal(flag_input_read(b, "k", &in, err), TT_EINVAL);
        cJSON_Delete(b);
    }
    assert_true(flag_key_valid("dashboard.data_source"));
    assert_false(flag_key_valid("Upper"));
    assert_false(flag_key_valid(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bucket_matches_an_independent_implementation),
        cmocka_unit_test(rollout_is_uniform),
        cmocka_unit_test(rollout_is_sticky_and_monotonic),
        cmocka_unit_test(reasons),
        cmocka_unit_test(rules_match_by_equals_and_in),
        cmocka_unit_test(rules_shape_is_checked),
        cmocka_unit_test(put_body_is_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
