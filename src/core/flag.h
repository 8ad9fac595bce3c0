/* flag.h -- feature flag evaluation (DESIGN §5 "Feature flags"): who gets a flag's value, and
 * the OpenFeature reason why. Pure: no I/O, no clock; any thread.
 *
 * A flag is boolean (variant NULL: its value is true) or string-valued (its value is the
 * variant). Evaluation for a context, in this order:
 *
 *   not enabled                         -> DISABLED, no value (the caller's default)
 *   rules present and none matches      -> DEFAULT,  no value (the caller's default)
 *   rollout_percent < 100:
 *       no targeting key                -> error TARGETING_KEY_MISSING
 *       flag_bucket(key, tk) < percent  -> SPLIT, the value
 *       otherwise                       -> SPLIT, no value (the caller's default)
 *   a rule matched                      -> TARGETING_MATCH, the value
 *   otherwise                           -> STATIC, the value
 *
 * Rules (the flag's "rules" column, a JSON array, at most FLAG_MAX_RULES; any one matching is
 * a match):  {"attribute":"plan","equals":"pro"}  or  {"attribute":"plan","in":["pro","team"]}.
 * "attribute" names a top-level member of the evaluation context ("targetingKey" included);
 * values are strings, numbers or booleans, compared by JSON type and value; an attribute that
 * is absent, or an object or array, matches nothing.
 *
 * Bucket: SHA-256 (FIPS 180-4) of the UTF-8 bytes "<flag key>/<targeting key>"; the first 8
 * bytes of the digest read as an unsigned big-endian 64-bit integer, modulo 100. */
#ifndef TT_FLAG_H
#define TT_FLAG_H

#include "core/err.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define FLAG_KEY_MAX 64     /* bytes; [a-z0-9_.:-] */
#define FLAG_VARIANT_MAX 64 /* bytes */
#define FLAG_DESCRIPTION_MAX 1024
#define FLAG_MAX_RULES 32
#define FLAG_MAX_IN_VALUES 100     /* values of one "in" rule */
#define FLAG_ATTRIBUTE_MAX 128     /* bytes of a rule's attribute name */
#define FLAG_RULES_MAX_BYTES 16384 /* the rules as compact JSON */

typedef struct flag_def {
    const char *key;
    bool enabled;
    const char *variant; /* NULL: a boolean flag */
    int rollout_percent; /* 0..100 */
    const cJSON *rules;  /* an array checked by flag_rules_check(), or NULL: no rules */
} flag_def;

typedef enum flag_reason {
    FLAG_STATIC,
    FLAG_TARGETING_MATCH,
    FLAG_SPLIT,
    FLAG_DISABLED,
    FLAG_DEFAULT,
} flag_reason;

typedef enum flag_error {
    FLAG_OK,
    FLAG_TARGETING_KEY_MISSING, /* a split needs a targeting key */
    FLAG_INVALID_CONTEXT,       /* the context is not an object, or targetingKey not a string */
} flag_error;

typedef struct flag_result {
    flag_error error; /* when not FLAG_OK, nothing else is set */
    flag_reason reason;
    bool has_value; /* false: the caller's default applies */
} flag_result;

/* The rollout bucket of 'targeting_key' for flag 'key', 0..99 (see above). */
unsigned flag_bucket(const char *key, const char *targeting_key);

/* Evaluates 'f' for 'context' (a JSON object, or NULL for none). */
void flag_evaluate(const flag_def *f, const cJSON *context, flag_result *out);

/* "STATIC", "TARGETING_MATCH", "SPLIT", "DISABLED", "DEFAULT". */
const char *flag_reason_name(flag_reason r);
/* "TARGETING_KEY_MISSING", "INVALID_CONTEXT" (NULL for FLAG_OK). */
const char *flag_error_name(flag_error e);

/* True if 'key' is a flag key: 1..64 bytes of [a-z0-9_.:-]. */
bool flag_key_valid(const char *key);

/* Checks that 'rules' (NULL or JSON null: no rules) has the shape above and its limits.
 * Returns 0 or TT_EINVAL with a sentence in 'err' naming the rule and the fault. */
int flag_rules_check(const cJSON *rules, char err[TT_ERRLEN]);

/* A flag as a PUT body gives it: a JSON object with the columns' names. Fields absent get the
 * defaults (enabled false, variant null, rollout_percent 100, description null, rules null);
 * "key" must equal 'key' if given; "version" and "updated_at" are accepted and ignored (the
 * store sets them); any other member is an error. The strings point into 'body', which the
 * caller keeps (and frees) -- 'rules' too. */
typedef struct flag_input {
    bool enabled;
    const char *variant;
    int rollout_percent;
    const char *description;
    const cJSON *rules; /* NULL: none */
} flag_input;

int flag_input_read(const cJSON *body, const char *key, flag_input *out, char err[TT_ERRLEN]);

#endif
