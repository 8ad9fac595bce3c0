/* config.c -- the settings table and the parsers behind it. */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum kind {
    K_JITTER,
    K_LISTEN,
    K_STORE,
    K_PATH,
    K_SECRET,
    K_UINT,
    K_SIZE,
    K_DURATION,
    K_LEVEL,
    K_FORMAT,
    K_BOOL
} kind;

typedef struct setting {
    const char *flag;
    const char *env;
    const char *alt_env; /* a second, less specific variable (DATABASE_URL) */
    const char *def;
    kind kind;
    size_t offset;     /* of the field in tt_config, for the numeric kinds, K_BOOL and K_SECRET */
    uint64_t min, max; /* K_SECRET: its length in bytes */
    const char *form;  /* the accepted form, for error messages */
    const char *help;
} setting;

#define AT(field) offsetof(tt_config, field)

static const setting settings[] = {
    {"--listen", "TELLTALE_LISTEN", NULL, "127.0.0.1:8080", K_LISTEN, 0, 0, 0,
     "HOST:PORT with an IPv4 address or host name, e.g. 127.0.0.1:8080 (port 0 picks a free one)",
     "address for HTTP and WebSocket"},
    {"--store", "TELLTALE_STORE", "DATABASE_URL", "sqlite:telltale.db", K_STORE, 0, 0, 0,
     "sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB", "where events are stored"},
    {"--batch-size", "TELLTALE_BATCH_SIZE", NULL, "1000", K_UINT, AT(batch_size), 1, 100000,
     "an integer from 1 to 100000", "events per store transaction, at most"},
    {"--flush-ms", "TELLTALE_FLUSH_MS", NULL, "5", K_UINT, AT(flush_ms), 0, 10000,
     "milliseconds from 0 to 10000", "how long a batch may wait for more events"},
    {"--max-body", "TELLTALE_MAX_BODY", NULL, "1MiB", K_SIZE, AT(max_body), 1024, 64 << 20,
     "a size from 1KiB to 64MiB, e.g. 1048576, 512KiB, 1MiB", "largest ingest request body"},
    {"--max-events", "TELLTALE_MAX_EVENTS", NULL, "10000", K_UINT, AT(max_events), 1, 100000,
     "an integer from 1 to 100000", "most events in one ingest request"},
    {"--queue-max", "TELLTALE_QUEUE_MAX", NULL, "100000", K_UINT, AT(queue_max), 100, 10000000,
     "an integer from 100 to 10000000", "events accepted but not yet stored, at most"},
    {"--queue-max-bytes", "TELLTALE_QUEUE_MAX_BYTES", NULL, "64MiB", K_SIZE, AT(queue_max_bytes),
     1 << 20, UINT64_C(1) << 34, "a size from 1MiB to 16GiB",
     "memory the accepted, not yet stored events may take"},
    {"--max-inflight-bodies", "TELLTALE_MAX_INFLIGHT_BODIES", NULL, "64MiB", K_SIZE,
     AT(inflight_body_bytes), 1 << 20, UINT64_C(1) << 34, "a size from 1MiB to 16GiB",
     "memory all request bodies being received may take together; beyond it 503"},
    {"--ws-max-buffer", "TELLTALE_WS_MAX_BUFFER", NULL, "4MiB", K_SIZE, AT(ws_max_buffer), 64 << 10,
     1 << 30, "a size from 64KiB to 1GiB",
     "bytes waiting for one WebSocket client before it is dropped as slow"},
    {"--retention", "TELLTALE_RETENTION", NULL, "7d", K_DURATION, AT(retention_ms), 0,
     UINT64_C(3650) * 86400000, "a duration such as 12h, 7d or 0 (keep forever)",
     "age after which events are deleted"},
    {"--shutdown-timeout", "TELLTALE_SHUTDOWN_TIMEOUT", NULL, "30s", K_DURATION,
     AT(shutdown_timeout_ms), 0, 3600000, "a duration from 0 to 1h, e.g. 30s",
     "time allowed for a graceful shutdown"},
    {"--store-timeout", "TELLTALE_STORE_TIMEOUT", NULL, "10s", K_DURATION, AT(store_timeout_ms),
     1000, 600000, "a duration from 1s to 10m, e.g. 10s",
     "longest wait on PostgreSQL for one statement or connection"},
    {"--spool-dir", "TELLTALE_SPOOL_DIR", NULL, "telltale-spool", K_PATH, 0, 0, 0,
     "a directory path", "local spool for a remote store"},
    {"--spool-max-bytes", "TELLTALE_SPOOL_MAX_BYTES", NULL, "1GiB", K_SIZE, AT(spool_max_bytes),
     1 << 20, UINT64_C(1) << 40, "a size from 1MiB to 1024GiB",
     "disk the spool may use; beyond it ingest gets 503"},
    {"--breaker-failures", "TELLTALE_BREAKER_FAILURES", NULL, "5", K_UINT, AT(breaker_failures), 1,
     1000, "an integer from 1 to 1000", "consecutive store failures that open the breaker"},
    {"--breaker-open-ms", "TELLTALE_BREAKER_OPEN_MS", NULL, "5000", K_UINT, AT(breaker_open_ms), 10,
     600000, "milliseconds from 10 to 600000", "how long the breaker stays open"},
    {"--breaker-half-open-probes", "TELLTALE_BREAKER_HALF_OPEN_PROBES", NULL, "1", K_UINT,
     AT(breaker_half_open_probes), 1, 16, "an integer from 1 to 16",
     "store calls let through at once to test a recovering store"},
    {"--retry-max", "TELLTALE_RETRY_MAX", NULL, "5", K_UINT, AT(retry_max), 0, 100,
     "an integer from 0 to 100", "retries of a store call that failed transiently"},
    {"--retry-base-ms", "TELLTALE_RETRY_BASE_MS", NULL, "100", K_UINT, AT(retry_base_ms), 1, 60000,
     "milliseconds from 1 to 60000", "first retry delay (exponential, with full jitter)"},
    {"--retry-cap-ms", "TELLTALE_RETRY_CAP_MS", NULL, "10000", K_UINT, AT(retry_cap_ms), 1, 600000,
     "milliseconds from 1 to 600000", "longest retry delay"},
    {"--retry-budget-ms", "TELLTALE_RETRY_BUDGET_MS", NULL, "30000", K_UINT, AT(retry_budget_ms), 0,
     3600000, "milliseconds from 0 (no budget) to 3600000",
     "time within which every retry of one write must start"},
    {"--retry-jitter", "TELLTALE_RETRY_JITTER", NULL, "full", K_JITTER, 0, 0, 0,
     "full or decorrelated", "how retry delays are spread"},
    {"--dlq-max-retries", "TELLTALE_DLQ_MAX_RETRIES", NULL, "5", K_UINT, AT(dlq_max_retries), 0,
     100, "an integer from 0 to 100", "retries of a dead letter before it is marked failed"},
    {"--dlq-retention", "TELLTALE_DLQ_RETENTION", NULL, "30d", K_DURATION, AT(dlq_retention_ms), 0,
     UINT64_C(3650) * 86400000, "a duration such as 7d or 0 (keep forever)",
     "age after which resolved dead letters are deleted"},
    {"--rollup-retention", "TELLTALE_ROLLUP_RETENTION", NULL, "90d", K_DURATION,
     AT(rollup_retention_ms), 0, UINT64_C(3650) * 86400000,
     "a duration such as 90d or 0 (keep forever)",
     "age after which hour and day rollups are deleted (minute rollups go with the events)"},
    {"--session-idle", "TELLTALE_SESSION_IDLE", NULL, "5m", K_DURATION, AT(session_idle_ms), 1000,
     UINT64_C(7) * 86400000, "a duration from 1s to 7d, e.g. 5m",
     "how long a session may be silent before it is idle"},
    {"--jwt-secret", "TELLTALE_JWT_SECRET", NULL, "", K_SECRET, AT(jwt_secret), 32, TT_SECRET_MAX,
     "a secret of 32 to 511 bytes", "HS256 secret that signs the JWTs telltale accepts"},
    {"--anon-key", "TELLTALE_ANON_KEY", NULL, "", K_SECRET, AT(anon_key), 16, TT_SECRET_MAX,
     "a key of 16 to 511 bytes", "key that grants read access (role anon)"},
    {"--service-key", "TELLTALE_SERVICE_KEY", NULL, "", K_SECRET, AT(service_key), 16,
     TT_SECRET_MAX, "a key of 16 to 511 bytes", "key that grants full access (role service_role)"},
    {"--log", "TELLTALE_LOG", NULL, "info", K_LEVEL, 0, 0, 0, "one of error, warn, info, debug",
     "log level"},
    {"--log-format", "TELLTALE_LOG_FORMAT", NULL, "text", K_FORMAT, 0, 0, 0, "text or json",
     "log line format"},
    {"--demo", "TELLTALE_DEMO", NULL, "false", K_BOOL, AT(demo), 0, 0, "true or false",
     "generate demo traffic"},
};

#define NSETTINGS (sizeof settings / sizeof settings[0])

typedef struct unit {
    const char *suffix;
    uint64_t mult;
} unit;

/* Digits followed by exactly one of 'units' (the empty suffix included when listed). */
static bool parse_with_unit(const char *s, const unit *units, size_t nunits, uint64_t *out)
{
    if (!isdigit((unsigned char)s[0])) {
        return false;
    }
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0) {
        return false;
    }
    for (size_t i = 0; i < nunits; i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            if (v > UINT64_MAX / units[i].mult) {
                return false;
            }
            *out = v * units[i].mult;
            return true;
        }
    }
    return false;
}

bool config_parse_size(const char *s, uint64_t *out)
{
    static const unit units[] = {
        {"", 1}, {"B", 1}, {"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}};
    return parse_with_unit(s, units, sizeof units / sizeof units[0], out);
}

bool config_parse_duration_ms(const char *s, uint64_t *out)
{
    static const unit units[] = {{"", 1000},   {"ms", 1},      {"s", 1000},
                                 {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    return parse_with_unit(s, units, sizeof units / sizeof units[0], out);
}

static bool parse_listen(const char *s, tt_config *cfg)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || s[0] == '[' ||
        (size_t)(colon - s) >= sizeof cfg->listen_host) {
        return false;
    }
    for (const char *p = s; p < colon; p++) {
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-') {
            return false;
        }
    }
    uint64_t port;
    if (!isdigit((unsigned char)colon[1]) || strlen(colon + 1) > 5 ||
        !config_parse_size(colon + 1, &port) ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1) || port > 65535) {
        return false;
    }
    memcpy(cfg->listen_host, s, (size_t)(colon - s));
    cfg->listen_host[colon - s] = '\0';
    cfg->listen_port = (unsigned)port;
    return true;
}

static bool parse_store(const char *s, tt_config *cfg)
{
    bool sqlite = strncmp(s, "sqlite:", 7) == 0 && s[7] != '\0';
    bool pg = strncmp(s, "postgres://", 11) == 0 || strncmp(s, "postgresql://", 13) == 0;
    if ((!sqlite && !pg) || strlen(s) >= sizeof cfg->store_url) {
        return false;
    }
    strcpy(cfg->store_url, s);
    return true;
}

static bool parse_word(const char *s, const char *const *words, int n, int *out)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(s, words[i]) == 0) {
            *out = i;
            return true;
        }
    }
    return false;
}

static bool parse_number(const setting *st, const char *value, uint64_t *v)
{
    bool ok;
    switch (st->kind) {
    case K_SIZE:
        ok = config_parse_size(value, v);
        break;
    case K_DURATION:
        ok = config_parse_duration_ms(value, v);
        break;
    default:
        ok = isdigit((unsigned char)value[0]) && strspn(value, "0123456789") == strlen(value) &&
             config_parse_size(value, v);
        break;
    }
    return ok && *v >= st->min && *v <= st->max;
}

static bool apply(const setting *st, const char *value, tt_config *cfg)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    static const char *const formats[] = {"text", "json"};
    static const char *const jitters[] = {"full", "decorrelated"};
    static const char *const bools[] = {"false", "true", "0", "1", "no", "yes"};
    char *base = (char *)cfg;
    uint64_t v;
    int w;
    switch (st->kind) {
    case K_LISTEN:
        return parse_listen(value, cfg);
    case K_STORE:
        return parse_store(value, cfg);
    case K_PATH:
        if (value[0] == '\0' || strlen(value) >= sizeof cfg->spool_dir) {
            return false;
        }
        strcpy(cfg->spool_dir, value);
        return true;
    case K_SECRET:
        /* Empty means unset (the default); otherwise the length must fit. */
        if (value[0] != '\0' && (strlen(value) < st->min || strlen(value) > st->max)) {
            return false;
        }
        strcpy(base + st->offset, value);
        return true;
    case K_JITTER:
        if (!parse_word(value, jitters, 2, &w)) {
            return false;
        }
        cfg->retry_decorrelated = w == 1;
        return true;
    case K_LEVEL:
        if (!parse_word(value, levels, 4, &w)) {
            return false;
        }
        cfg->log_level = (log_level)w;
        return true;
    case K_FORMAT:
        if (!parse_word(value, formats, 2, &w)) {
            return false;
        }
        cfg->log_format = (log_format)w;
        return true;
    case K_BOOL:
        if (!parse_word(value, bools, 6, &w)) {
            return false;
        }
        *(bool *)(base + st->offset) = w % 2 == 1;
        return true;
    case K_UINT:
        if (!parse_number(st, value, &v)) {
            return false;
        }
        *(uint32_t *)(base + st->offset) = (uint32_t)v;
        return true;
    case K_SIZE:
    case K_DURATION:
        if (!parse_number(st, value, &v)) {
            return false;
        }
        *(uint64_t *)(base + st->offset) = v;
        return true;
    }
    return false;
}

static int invalid(const char *where, const char *value, const setting *st, char *err)
{
    if (st->kind == K_STORE || st->kind == K_SECRET) {
        /* A store URL may hold a password, a key is one: never repeat them. */
        return tt_fail(err, TT_EINVAL, "invalid %s: expected %s", where, st->form);
    }
    return tt_fail(err, TT_EINVAL, "invalid %s '%.64s': expected %s", where, value, st->form);
}

static bool listed(const char *flag, const char *const *flags)
{
    for (; flags != NULL && *flags != NULL; flags++) {
        if (strcmp(*flags, flag) == 0) {
            return true;
        }
    }
    return false;
}

int config_init_except(tt_config *cfg, config_getenv_fn getenv_fn, const char *const *flags,
                       char err[TT_ERRLEN])
{
    *cfg = (tt_config){0};
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting *st = &settings[i];
        if (!apply(st, st->def, cfg)) {
            return tt_fail(err, TT_EINVAL, "bad built-in default for %s", st->env);
        }
        if (listed(st->flag, flags)) {
            continue;
        }
        const char *env = st->env;
        const char *value = getenv_fn(env);
        if (value == NULL && st->alt_env != NULL) {
            env = st->alt_env;
            value = getenv_fn(env);
        }
        if (value != NULL && !apply(st, value, cfg)) {
            return invalid(env, value, st, err);
        }
    }
    return 0;
}

int config_init(tt_config *cfg, config_getenv_fn getenv_fn, char err[TT_ERRLEN])
{
    return config_init_except(cfg, getenv_fn, NULL, err);
}

int config_validate(const tt_config *cfg, char err[TT_ERRLEN])
{
    if (cfg->retry_cap_ms < cfg->retry_base_ms) {
        return tt_fail(err, TT_EINVAL,
                       "TELLTALE_RETRY_CAP_MS (%u) must not be below TELLTALE_RETRY_BASE_MS (%u)",
                       cfg->retry_cap_ms, cfg->retry_base_ms);
    }
    if (cfg->max_body > cfg->inflight_body_bytes) {
        return tt_fail(err, TT_EINVAL,
                       "TELLTALE_MAX_BODY must not exceed TELLTALE_MAX_INFLIGHT_BODIES: a body "
                       "that large could never be received");
    }
    if (cfg->max_events > cfg->queue_max) {
        /* The queue refuses any request larger than itself, even when empty. */
        return tt_fail(err, TT_EINVAL,
                       "TELLTALE_MAX_EVENTS (%u) must not exceed TELLTALE_QUEUE_MAX (%u): a "
                       "request that large could never be queued",
                       cfg->max_events, cfg->queue_max);
    }
    return 0;
}

static const setting *find_flag(const char *flag)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (strcmp(settings[i].flag, flag) == 0) {
            return &settings[i];
        }
    }
    return NULL;
}

bool config_flag_is_bool(const char *flag)
{
    const setting *st = find_flag(flag);
    return st != NULL && st->kind == K_BOOL;
}

int config_set_flag(tt_config *cfg, const char *flag, const char *value, char err[TT_ERRLEN])
{
    const setting *st = find_flag(flag);
    if (st == NULL) {
        return TT_ENOTFOUND;
    }
    if (value == NULL) {
        value = st->kind == K_BOOL ? "true" : "";
    }
    if (!apply(st, value, cfg)) {
        char where[64];
        snprintf(where, sizeof where, "%s (%s)", st->flag, st->env);
        return invalid(where, value, st, err);
    }
    return 0;
}

void config_print_help(FILE *out)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting *st = &settings[i];
        fprintf(out, "  %-20s %-26s %s (default %s)\n", st->flag, st->env, st->help, st->def);
    }
    fprintf(out, "  %-20s %-26s %s\n", "", "DATABASE_URL",
            "used for --store if TELLTALE_STORE is unset");
}
