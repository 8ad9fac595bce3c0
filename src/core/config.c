/* config.c -- the settings table and the parsers behind it. */
#include "core/config.h"

#include "core/config_internal.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define AT(field) CONFIG_AT(field)

typedef config_setting setting;

/* What apply() takes for a K_BOOL setting: said whole, so nobody guesses. */
#define BOOL_FORM "true, false, yes, no, 1 or 0"
#define KEY_FORM "a key of 16 to 511 bytes of visible ASCII (0x21 to 0x7E)"

static const setting settings[] = {
    {"--listen", "TELLTALE_LISTEN", NULL, "127.0.0.1:8080", K_LISTEN, 0, 0, 0,
     "HOST:PORT with an IPv4 address or a host name that has one, e.g. 127.0.0.1:8080 (port 0 "
     "picks a free one; IPv6, [::1]:8080, is not served)",
     "address for HTTP and WebSocket"},
    {"--otlp-listen", "TELLTALE_OTLP_LISTEN", NULL, "off", K_OTLP_LISTEN, 0, 0, 0,
     "off, or HOST:PORT with an IPv4 address or a host name that has one, e.g. 127.0.0.1:4318 "
     "(IPv6 is not served)",
     "a second address serving the same routes (OTLP exporters default to port 4318)"},
    {"--store", "TELLTALE_STORE", "DATABASE_URL", "sqlite:telltale.db", K_STORE, 0, 0, 0,
     "sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB", "where events are stored"},
    {"--sqlite-cache", "TELLTALE_SQLITE_CACHE", NULL, "32MiB", K_SIZE, AT(sqlite_cache_bytes),
     1 << 20, UINT64_C(1) << 34, "a size from 1MiB to 16GiB",
     "page cache of the SQLite writer: about 4KiB per concurrent session keeps commits fast"},
    {"--batch-size", "TELLTALE_BATCH_SIZE", NULL, "1000", K_UINT, AT(batch_size), 1, 100000,
     "an integer from 1 to 100000",
     "events per commit; one may exceed it by one request, which is never split"},
    {"--flush-ms", "TELLTALE_FLUSH_MS", NULL, "5", K_UINT, AT(flush_ms), 0, 10000,
     "milliseconds from 0 to 10000", "how long a batch may wait for more events"},
    {"--max-body", "TELLTALE_MAX_BODY", NULL, "1MiB", K_SIZE, AT(max_body), 1024, 64 << 20,
     "a size from 1KiB to 64MiB, e.g. 1048576, 512KiB, 1MiB",
     "largest request body, on any route: as sent, and again once decoded"},
    {"--max-events", "TELLTALE_MAX_EVENTS", NULL, "10000", K_UINT, AT(max_events), 1, 100000,
     "an integer from 1 to 100000", "most events in one ingest request"},
    {"--queue-max", "TELLTALE_QUEUE_MAX", NULL, "100000", K_UINT, AT(queue_max), 100, 10000000,
     "an integer from 100 to 10000000", "events accepted but not yet stored, at most"},
    {"--queue-max-bytes", "TELLTALE_QUEUE_MAX_BYTES", NULL, "64MiB", K_SIZE, AT(queue_max_bytes),
     1 << 20, UINT64_C(1) << 34, "a size from 1MiB to 16GiB",
     "memory the accepted, not yet stored events may take"},
    {"--max-inflight-bodies", "TELLTALE_MAX_INFLIGHT_BODIES", NULL, "64MiB", K_SIZE,
     AT(inflight_body_bytes), 1 << 20, UINT64_C(1) << 34, "a size from 1MiB to 16GiB",
     "memory all request bodies being received or decoded may take together; beyond it 503"},
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
    {"--spool-dir", "TELLTALE_SPOOL_DIR", NULL, "telltale-spool", K_PATH, AT(spool_dir), 0,
     sizeof(((tt_config *)0)->spool_dir), "a directory path", "local spool for a remote store"},
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
    {"--dlq-retry-base", "TELLTALE_DLQ_RETRY_BASE", NULL, "30s", K_DURATION, AT(dlq_retry_base_ms),
     10, 86400000, "a duration from 10ms to 1d, e.g. 30s",
     "a dead letter's first retry delay (doubling each retry, equal jitter)"},
    {"--dlq-retry-cap", "TELLTALE_DLQ_RETRY_CAP", NULL, "1h", K_DURATION, AT(dlq_retry_cap_ms), 10,
     86400000, "a duration from 10ms to 1d, e.g. 1h", "a dead letter's longest retry delay"},
    {"--dlq-retention", "TELLTALE_DLQ_RETENTION", NULL, "30d", K_DURATION, AT(dlq_retention_ms), 0,
     UINT64_C(3650) * 86400000, "a duration such as 7d or 0 (keep forever)",
     "age after which resolved dead letters are deleted"},
    {"--state-max-value", "TELLTALE_STATE_MAX_VALUE", NULL, "64KiB", K_SIZE, AT(state_max_value),
     16, 16 << 20, "a size from 16 bytes to 16MiB",
     "largest value of one dashboard state key (its JSON text)"},
    {"--state-max-client", "TELLTALE_STATE_MAX_CLIENT", NULL, "1MiB", K_SIZE, AT(state_max_client),
     16, UINT64_C(1) << 30, "a size from 16 bytes to 1GiB",
     "dashboard state one client may keep, all its values together"},
    {"--state-max-keys", "TELLTALE_STATE_MAX_KEYS", NULL, "256", K_UINT, AT(state_max_keys), 1,
     100000, "an integer from 1 to 100000", "keys of dashboard state one client may keep"},
    {"--state-retention", "TELLTALE_STATE_RETENTION", NULL, "90d", K_DURATION,
     AT(state_retention_ms), 0, UINT64_C(3650) * 86400000,
     "a duration such as 30d or 0 (keep forever)",
     "a client whose dashboard state has not changed for this long is deleted"},
    {"--rollup-retention", "TELLTALE_ROLLUP_RETENTION", NULL, "90d", K_DURATION,
     AT(rollup_retention_ms), 0, UINT64_C(3650) * 86400000,
     "a duration such as 90d or 0 (keep forever)",
     "age after which hour and day rollups are deleted (minute rollups go with the events)"},
    {"--session-idle", "TELLTALE_SESSION_IDLE", NULL, "5m", K_DURATION, AT(session_idle_ms), 1000,
     UINT64_C(7) * 86400000, "a duration from 1s to 7d, e.g. 5m",
     "how long a session may be silent before it is idle"},
    {"--jwt-secret", "TELLTALE_JWT_SECRET", NULL, "", K_SECRET, AT(jwt_secret), 32, TT_SECRET_MAX,
     "a secret of 32 to 511 bytes", "HS256 secret that signs the JWTs telltale accepts"},
    {"--anon-key", "TELLTALE_ANON_KEY", NULL, "", K_KEY, AT(anon_key), 16, TT_SECRET_MAX,
     KEY_FORM, "key of role anon, which may read only with --anon-read"},
    {"--service-key", "TELLTALE_SERVICE_KEY", NULL, "", K_KEY, AT(service_key), 16,
     TT_SECRET_MAX, KEY_FORM, "key that grants full access (role service_role)"},
    {"--ingest-key", "TELLTALE_INGEST_KEY", NULL, "", K_KEY, AT(ingest_key), 16, TT_SECRET_MAX,
     KEY_FORM,
     "key that may only send events (role ingest): the key a producer holds"},
    {"--anon-read", "TELLTALE_ANON_READ", NULL, "false", K_BOOL, AT(anon_read), 0, 0,
     BOOL_FORM, "role anon (TELLTALE_ANON_KEY) may read what authenticated reads"},
    {"--metrics-public", "TELLTALE_METRICS_PUBLIC", NULL, "false", K_BOOL, AT(metrics_public), 0, 0,
     BOOL_FORM, "GET /metrics answers without a key (for scrapers that send none)"},
    {"--tls-cert", "TELLTALE_TLS_CERT", NULL, "", K_FILE, AT(tls_cert), 0,
     sizeof(((tt_config *)0)->tls_cert), "a path to a PEM certificate (chain)",
     "serve https and wss with this certificate (with --tls-key); reread on SIGHUP"},
    {"--tls-key", "TELLTALE_TLS_KEY", NULL, "", K_FILE, AT(tls_key), 0,
     sizeof(((tt_config *)0)->tls_key), "a path to a PEM private key",
     "the private key of --tls-cert"},
    {"--trust-proxy", "TELLTALE_TRUST_PROXY", NULL, "", K_PROXIES, 0, 0, 0,
     "a comma list of at most 16 IPv4 addresses or CIDR blocks, e.g. 127.0.0.1,10.0.0.0/8",
     "proxies whose X-Forwarded-For names the client"},
    {"--allow-origins", "TELLTALE_ALLOW_ORIGINS", NULL, "", K_ORIGINS, 0, 0, 0,
     "a comma-separated list of origins such as https://app.example.com,http://localhost:3000, "
     "or *",
     "browser origins, besides telltale's own, allowed to POST, PUT, PATCH or DELETE"},
    {"--log", "TELLTALE_LOG", NULL, "info", K_LEVEL, 0, 0, 0, "one of error, warn, info, debug",
     "log level"},
    {"--log-format", "TELLTALE_LOG_FORMAT", NULL, "text", K_FORMAT, 0, 0, 0, "text or json",
     "log line format"},
    {"--demo", "TELLTALE_DEMO", NULL, "false", K_BOOL, AT(demo), 0, 0, BOOL_FORM,
     "generate demo traffic"},
};

#define NMAIN (sizeof settings / sizeof settings[0])
#define NSETTINGS (NMAIN + config_limit_nsettings)

/* The i-th setting of both tables: the main one, then the limits (config_limits.c). */
static const setting *setting_at(size_t i)
{
    return i < NMAIN ? &settings[i] : &config_limit_settings[i - NMAIN];
}

static bool is_pg_url(const char *s)
{
    return strncmp(s, "postgres://", 11) == 0 || strncmp(s, "postgresql://", 13) == 0;
}

static bool parse_store(const char *s, tt_config *cfg)
{
    bool sqlite = strncmp(s, "sqlite:", 7) == 0 && s[7] != '\0';
    char why[TT_ERRLEN];
    bool pg = is_pg_url(s) && !config_pg_url_wrong(s, why, sizeof why);
    if ((!sqlite && !pg) || strlen(s) >= sizeof cfg->store_url) {
        return false;
    }
    strcpy(cfg->store_url, s);
    return true;
}

bool config_visible_ascii(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e) {
            return false;
        }
    }
    return true;
}

/* The values of the enumerated kinds, each at the index it stands for (a log_level, a
 * log_format, retry_decorrelated, and for a bool its truth in the low bit). The parser and
 * --help both read them, so the help lists exactly what is accepted. */
static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const formats[] = {"text", "json", NULL};
static const char *const jitters[] = {"full", "decorrelated", NULL};
static const char *const bools[] = {"false", "true", "0", "1", "no", "yes", NULL};

/* The NULL-terminated values of 'kind', or NULL if its values are not a list of words. */
static const char *const *words_of(config_kind kind)
{
    return kind == K_LEVEL    ? levels
           : kind == K_FORMAT ? formats
           : kind == K_JITTER ? jitters
           : kind == K_BOOL   ? bools
                              : NULL;
}

static bool parse_word(const char *s, const char *const *words, int *out)
{
    for (int i = 0; words[i] != NULL; i++) {
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
    char *base = (char *)cfg;
    uint64_t v;
    int w;
    switch (st->kind) {
    case K_LISTEN:
        return config_parse_listen(value, cfg);
    case K_OTLP_LISTEN:
        return config_parse_otlp_listen(value, cfg);
    case K_STORE:
        return parse_store(value, cfg);
    case K_ORIGINS:
        return config_parse_origins(value, cfg);
    case K_PATH:
    case K_FILE: /* a file setting may be "" (unset); a directory may not */
        if ((st->kind == K_PATH && value[0] == '\0') || strlen(value) >= st->max) {
            return false;
        }
        strcpy(base + st->offset, value);
        return true;
    case K_PROXIES:
        return config_parse_proxies(value, cfg);
    case K_KEY:
        if (value[0] != '\0' && !config_visible_ascii(value)) {
            return false; /* a key goes in an apikey or Authorization header */
        }
        /* fall through */
    case K_SECRET:
        /* Empty means unset (the default); otherwise the length must fit. */
        if (value[0] != '\0' && (strlen(value) < st->min || strlen(value) > st->max)) {
            return false;
        }
        strcpy(base + st->offset, value);
        return true;
    case K_JITTER:
        if (!parse_word(value, jitters, &w)) {
            return false;
        }
        cfg->retry_decorrelated = w == 1;
        return true;
    case K_LEVEL:
        if (!parse_word(value, levels, &w)) {
            return false;
        }
        cfg->log_level = (log_level)w;
        return true;
    case K_FORMAT:
        if (!parse_word(value, formats, &w)) {
            return false;
        }
        cfg->log_format = (log_format)w;
        return true;
    case K_BOOL:
        if (!parse_word(value, bools, &w)) {
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
    char why[TT_ERRLEN / 2];
    if (st->kind == K_STORE && is_pg_url(value) && config_pg_url_wrong(value, why, sizeof why)) {
        /* A store URL may hold a password: never repeated, nor libpq's words that would. */
        return tt_fail(err, TT_EINVAL, "invalid %s: expected %s (%s)", where, st->form, why);
    }
    if (st->kind == K_STORE || st->kind == K_SECRET || st->kind == K_KEY) {
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

/* Sets 'st' to its default, then to its variable's value unless 'skip_env' (its flag will
 * set it). */
static int init_setting(const setting *st, config_getenv_fn getenv_fn, bool skip_env,
                        tt_config *cfg, char *err)
{
    if (!apply(st, st->def, cfg)) {
        return tt_fail(err, TT_EINVAL, "bad built-in default for %s", st->env);
    }
    const char *env = st->env;
    const char *value = skip_env ? NULL : getenv_fn(env);
    if (!skip_env && value == NULL && st->alt_env != NULL) {
        env = st->alt_env;
        value = getenv_fn(env);
    }
    if (value != NULL && !apply(st, value, cfg)) {
        return invalid(env, value, st, err);
    }
    return 0;
}

int config_init_except(tt_config *cfg, config_getenv_fn getenv_fn, const char *const *flags,
                       char err[TT_ERRLEN])
{
    *cfg = (tt_config){0};
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting *st = setting_at(i);
        int rc = init_setting(st, getenv_fn, listed(st->flag, flags), cfg, err);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int config_init(tt_config *cfg, config_getenv_fn getenv_fn, char err[TT_ERRLEN])
{
    return config_init_except(cfg, getenv_fn, NULL, err);
}

/* Two secrets set to the same value: a key would grant two roles, and a key that is the JWT
 * secret would let its holder sign tokens of any role. Returns 0 or TT_EINVAL with 'err'
 * naming both settings (never the value). */
static int secrets_distinct(const tt_config *cfg, char err[TT_ERRLEN])
{
    const struct {
        const char *name;
        const char *value;
    } secrets[] = {{"TELLTALE_SERVICE_KEY", cfg->service_key},
                   {"TELLTALE_INGEST_KEY", cfg->ingest_key},
                   {"TELLTALE_ANON_KEY", cfg->anon_key},
                   {"TELLTALE_JWT_SECRET", cfg->jwt_secret}};
    size_t n = sizeof secrets / sizeof secrets[0];
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            if (secrets[i].value[0] != '\0' && strcmp(secrets[i].value, secrets[j].value) == 0) {
                return tt_fail(err, TT_EINVAL,
                               "%s and %s are the same secret: each role needs a key of its "
                               "own, and no key may be the JWT secret (its holder could sign "
                               "tokens of any role)",
                               secrets[i].name, secrets[j].name);
            }
        }
    }
    return 0;
}

int config_validate(const tt_config *cfg, char err[TT_ERRLEN])
{
    if (secrets_distinct(cfg, err) != 0) {
        return TT_EINVAL;
    }
    if (cfg->retry_cap_ms < cfg->retry_base_ms) {
        return tt_fail(err, TT_EINVAL,
                       "TELLTALE_RETRY_CAP_MS (%u) must not be below TELLTALE_RETRY_BASE_MS (%u)",
                       cfg->retry_cap_ms, cfg->retry_base_ms);
    }
    if (cfg->dlq_retry_cap_ms < cfg->dlq_retry_base_ms) {
        return tt_fail(err, TT_EINVAL,
                       "TELLTALE_DLQ_RETRY_CAP must not be below TELLTALE_DLQ_RETRY_BASE");
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
    if ((cfg->tls_cert[0] == '\0') != (cfg->tls_key[0] == '\0')) {
        return tt_fail(err, TT_EINVAL,
                       "TELLTALE_TLS_CERT (--tls-cert) and TELLTALE_TLS_KEY (--tls-key) go "
                       "together: set both for https, or neither");
    }
    return 0;
}

static const setting *find_flag(const char *flag)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (strcmp(setting_at(i)->flag, flag) == 0) {
            return setting_at(i);
        }
    }
    return NULL;
}

bool config_flag_is_bool(const char *flag)
{
    const setting *st = find_flag(flag);
    return st != NULL && st->kind == K_BOOL;
}

const char *config_flag_form(const char *flag)
{
    const setting *st = find_flag(flag);
    return st != NULL ? st->form : NULL;
}

const char *const *config_flag_values(const char *flag)
{
    const setting *st = find_flag(flag);
    return st != NULL ? words_of(st->kind) : NULL;
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
        char where[160]; /* both names whole, however long (the limits have long ones) */
        snprintf(where, sizeof where, "%s (%s)", st->flag, st->env);
        return invalid(where, value, st, err);
    }
    return 0;
}

int config_read_setting(tt_config *cfg, const char *flag, const char *value,
                        config_getenv_fn getenv_fn, char err[TT_ERRLEN])
{
    const setting *st = find_flag(flag);
    if (st == NULL) {
        return TT_ENOTFOUND;
    }
    int rc = init_setting(st, getenv_fn, value != NULL, cfg, err);
    return rc == 0 && value != NULL ? config_set_flag(cfg, flag, value, err) : rc;
}

/* "(FORM; default D)" for 'st': an enumerated kind lists its values as the parser reads them,
 * a switch says it is one, any other kind gives the form its errors name (a unit, a range). */
static void print_accepts(FILE *out, const setting *st)
{
    const char *const *words = words_of(st->kind);
    fputs(st->kind == K_BOOL ? " (a switch, or one of: "
          : words != NULL    ? " (one of: "
                             : " (",
          out);
    for (size_t i = 0; words != NULL && words[i] != NULL; i++) {
        fprintf(out, "%s%s", i > 0 ? ", " : "", words[i]);
    }
    fprintf(out, "%s; default %s)\n", words != NULL ? "" : st->form,
            st->def[0] != '\0' ? st->def : "none");
}

void config_print_help(FILE *out)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting *st = setting_at(i);
        fprintf(out, "  %-20s %-26s %s", st->flag, st->env, st->help);
        print_accepts(out, st);
    }
    fprintf(out, "  %-20s %-26s %s\n", "", "DATABASE_URL",
            "used for --store if TELLTALE_STORE is unset");
}
