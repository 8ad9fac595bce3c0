/* fuzz_config.c -- libFuzzer target for configuration values: every setting's parser (sizes,
 * durations, integers, booleans, addresses, store URLs, keys, proxy and origin lists) through
 * config_set_flag, then config_validate on the result.
 *
 * Input: the first byte picks the setting, the rest is its value as a user would type it.
 * Beyond "no crash, no undefined behaviour": a value is accepted or refused with a message, and
 * a refused value leaves the setting as it was (the defaults then still validate). Settings that
 * name files (--tls-cert, --tls-key, --spool-dir) are left out: their check touches the disk. */
#include "core/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const flags[] = {
    "--listen",
    "--otlp-listen",
    "--store",
    "--batch-size",
    "--flush-ms",
    "--max-body",
    "--max-events",
    "--queue-max",
    "--queue-max-bytes",
    "--max-inflight-bodies",
    "--ws-max-buffer",
    "--retention",
    "--shutdown-timeout",
    "--store-timeout",
    "--spool-max-bytes",
    "--breaker-failures",
    "--breaker-open-ms",
    "--breaker-half-open-probes",
    "--retry-max",
    "--retry-base-ms",
    "--retry-cap-ms",
    "--retry-budget-ms",
    "--retry-jitter",
    "--dlq-max-retries",
    "--dlq-retry-base",
    "--dlq-retry-cap",
    "--dlq-retention",
    "--state-max-value",
    "--state-max-client",
    "--state-max-keys",
    "--state-retention",
    "--rollup-retention",
    "--session-idle",
    "--jwt-secret",
    "--anon-key",
    "--service-key",
    "--ingest-key",
    "--trust-proxy",
    "--allow-origins",
    "--log",
    "--log-format",
};

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    const char *flag = flags[data[0] % (sizeof flags / sizeof flags[0])];
    char *value = malloc(size);
    if (value == NULL) {
        return 0;
    }
    memcpy(value, data + 1, size - 1);
    value[size - 1] = '\0';
    static tt_config cfg, before;
    char err[TT_ERRLEN];
    if (config_init(&cfg, no_env, err) != 0) {
        abort(); /* the defaults are always valid */
    }
    before = cfg;
    if (config_set_flag(&cfg, flag, value, err) != 0) {
        if (err[0] == '\0' || memcmp(&cfg, &before, sizeof cfg) != 0) {
            abort(); /* a refusal says why and changes nothing */
        }
    } else {
        (void)config_validate(&cfg, err);
    }
    free(value);
    return 0;
}
