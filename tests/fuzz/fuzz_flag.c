/* fuzz_flag.c -- libFuzzer target for a flag as a PUT body gives it (flag_input_read, with its
 * rules) and its evaluation: the input is two JSON texts separated by a NUL byte, the flag and
 * an evaluation context.
 *
 * Beyond "no crash, no leak, no undefined behaviour": a refused flag says why; an accepted
 * flag evaluates, for any context, to exactly one outcome -- an error with no value, or a
 * reason whose value follows the rules of flag.h (DISABLED and DEFAULT never carry one,
 * STATIC and TARGETING_MATCH always do) -- and the same context always gets the same one. */
#include "core/flag.h"
#include "core/json_scan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static cJSON *parse(const char *s, size_t n)
{
    size_t where;
    return json_scan(s, n, 64, &where) == JSON_SCAN_OK ? cJSON_ParseWithLength(s, n) : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    size_t flag_len = nul != NULL ? (size_t)(nul - text) : size;
    cJSON *body = parse(text, flag_len);
    cJSON *context = nul != NULL ? parse(nul + 1, size - flag_len - 1) : NULL;
    flag_input in;
    char err[TT_ERRLEN] = "";
    if (body != NULL && flag_input_read(body, "fuzz.flag", &in, err) == 0) {
        flag_def f = {.key = "fuzz.flag",
                      .enabled = in.enabled,
                      .variant = in.variant,
                      .rollout_percent = in.rollout_percent,
                      .rules = in.rules};
        flag_result a, b;
        flag_evaluate(&f, context, &a);
        flag_evaluate(&f, context, &b);
        check(a.error == b.error && a.reason == b.reason && a.has_value == b.has_value);
        if (a.error == FLAG_OK) {
            check(a.reason != FLAG_DISABLED || !a.has_value);
            check(a.reason != FLAG_DEFAULT || !a.has_value);
            check(a.reason != FLAG_STATIC || a.has_value);
            check(a.reason != FLAG_TARGETING_MATCH || a.has_value);
            check(flag_reason_name(a.reason) != NULL);
        } else {
            check(!a.has_value && flag_error_name(a.error) != NULL);
        }
    } else if (body != NULL) {
        check(err[0] != '\0');
    }
    cJSON_Delete(body);
    cJSON_Delete(context);
    return 0;
}
