/* test_config.c -- settings: defaults, environment over defaults, flags over environment,
 * DATABASE_URL as the fallback for the store, and every bad value refused with a message that
 * names the setting and its accepted form. The environment is a fake lookup, never setenv(). */
#include "core/config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the fake environment ---------------------------------------------------------------- */

/* config_getenv_fn takes no context, so the fake environment is this file's one global; each
 * test sets it through env_set() and env_clear(). */
#define ENV_MAX 16
static struct {
    const char *name, *value;
} fake_env[ENV_MAX];
static size_t fake_env_n;

static void env_clear(void)
{
    fake_env_n = 0;
}

static void env_set(const char *name, const char *value)
{
    assert_true(fake_env_n < ENV_MAX);
    fake_env[fake_env_n].name = name;
    fake_env[fake_env_n].value = value;
    fake_env_n++;
}

static const char *fake_getenv(const char *name)
{
    for (size_t i = 0; i < fake_env_n; i++) {
        if (strcmp(fake_env[i].name, name) == 0) {
            return fake_env[i].value;
        }
    }
    return NULL;
}

static int reset(void **state)
{
    (void)state;
    env_clear();
    return 0;
}

/* config_init() with the fake environment, which must be accepted. */
static tt_config init_ok(void)
{
    tt_config cfg;
    char err[TT_ERRLEN] = "";
    int rc = config_init(&cfg, fake_getenv, err);
    if (rc != 0) {
        fail_msg("config_init refused: %s", err);
    }
    return cfg;
}

static void set_flag_ok(tt_config *cfg, const char *flag, const char *value)
{
    char err[TT_ERRLEN] = "";
    int rc = config_set_flag(cfg, flag, value, err);
    if (rc != 0) {
        fail_msg("%s %s refused: %s", flag, value ? value : "(none)", err);
    }
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL) {
        fail_msg("'%s' lacks '%s'", haystack, needle);
    }
}

/* ---- the settings table, as the tests see it ----------------------------------------------- */

typedef struct setting_case {
    const char *flag;
    const char *env;
    const char *form; /* a distinctive part of the accepted form */
    const char *bad[14];
} setting_case;

static const setting_case settings[] = {
    {"--listen",
     "TELLTALE_LISTEN",
     "HOST:PORT",
     {"127.0.0.1", "127.0.0.1:", ":8080", "127.0.0.1:65536", "127.0.0.1:99999", "[::1]:8080",
      "::1:8080", "host:http", "host:-1", "host:+80", "host:123456", "ho st:80", "host_1:80", ""}},
    {"--store",
     "TELLTALE_STORE",
     "sqlite:PATH or postgres://",
     {"", "sqlite:", "telltale.db", "mysql://u@h/db", "SQLITE:x.db", "postgres:/h/db", "file:x.db",
      "sqlite", "http://h"}},
    {"--batch-size",
     "TELLTALE_BATCH_SIZE",
     "an integer from 1 to 100000",
     {"0", "100001", "-1", "1e3", "1.5", "12abc", " 5", "+5", "", "1KiB", "99999999999999999999",
      "0x10"}},
    {"--flush-ms",
     "TELLTALE_FLUSH_MS",
     "milliseconds from 0 to 10000",
     {"10001", "-1", "5ms", "x", "", "1s"}},
    {"--max-body",
     "TELLTALE_MAX_BODY",
     "a size from 1KiB to 64MiB",
     {"1023", "0", "65MiB", "67108865", "1KB", "1kib", "1K", "1.5MiB", "MiB", "-1", "", "1 MiB",
      "1GiB"}},
    {"--max-events",
     "TELLTALE_MAX_EVENTS",
     "an integer from 1 to 100000",
     {"0", "100001", "x", "", "-5"}},
    {"--queue-max",
     "TELLTALE_QUEUE_MAX",
     "an integer from 100 to 10000000",
     {"99", "10000001", "0", "", "1e6"}},
    {"--ws-max-buffer",
     "TELLTALE_WS_MAX_BUFFER",
     "a size from 64KiB to 1GiB",
     {"65535", "63KiB", "1073741825", "2GiB", "", "4MB"}},
    {"--retention",
     "TELLTALE_RETENTION",
     "a duration such as 12h, 7d or 0",
     {"3651d", "1w", "1.5d", "-1d", "7D", "", "d", "7 d", "forever"}},
    {"--shutdown-timeout",
     "TELLTALE_SHUTDOWN_TIMEOUT",
     "a duration from 0 to 1h",
     {"3601s", "61m", "2h", "x", "30 s", "", "3600001ms"}},
    {"--log",
     "TELLTALE_LOG",
     "one of error, warn, info, debug",
     {"INFO", "trace", "", "warning", "info "}},
    {"--log-format", "TELLTALE_LOG_FORMAT", "text or json", {"JSON", "logfmt", "", "text,json"}},
    {"--demo", "TELLTALE_DEMO", "true, false, yes, no, 1 or 0", {"on", "TRUE", "2", "", "y"}},
    {"--anon-read", "TELLTALE_ANON_READ", "true, false, yes, no, 1 or 0", {"on", "events", "", "2"}},
    {"--metrics-public", "TELLTALE_METRICS_PUBLIC", "true, false, yes, no, 1 or 0", {"public", "", "Yes"}},
    {"--trust-proxy",
     "TELLTALE_TRUST_PROXY",
     "IPv4 addresses or CIDR blocks",
     {"localhost", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "::1", "10.0.0.1,", ",10.0.0.1",
      "10.0.0.1,,10.0.0.2", "10.0.0.1 ", "10.0.0.0/8x", "10.0.0.0/-1", "256.0.0.1",
      "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"}},
    /* the limits against abuse (config_limits.c) */
    {"--max-connections",
     "TELLTALE_MAX_CONNECTIONS",
     "an integer from 1 to 1000000",
     {"0", "1000001", "-1", "", "1k"}},
    {"--max-connections-per-address",
     "TELLTALE_MAX_CONNECTIONS_PER_ADDRESS",
     "an integer from 1 to 1000000",
     {"0", "1000001", "x", ""}},
    {"--header-timeout",
     "TELLTALE_HEADER_TIMEOUT",
     "a duration from 100ms to 1h",
     {"99ms", "0", "61m", "", "10 s", "1w"}},
    {"--body-timeout", "TELLTALE_BODY_TIMEOUT", "a duration from 100ms to 1h", {"50ms", "2h", ""}},
    {"--body-min-rate",
     "TELLTALE_BODY_MIN_RATE",
     "bytes per second from 1 to 1GiB",
     {"0", "2GiB", "1KB/s", ""}},
    {"--idle-timeout", "TELLTALE_IDLE_TIMEOUT", "a duration from 100ms to 1h", {"0", "3601s", ""}},
    {"--ws-max-frame",
     "TELLTALE_WS_MAX_FRAME",
     "a size from 125 bytes to 64MiB",
     {"124", "65MiB", ""}},
    {"--ws-max-message",
     "TELLTALE_WS_MAX_MESSAGE",
     "a size from 125 bytes to 128MiB",
     {"100", "129MiB", ""}},
    {"--ingest-rate",
     "TELLTALE_INGEST_RATE",
     "events per second from 0 (no limit) to 10000000",
     {"-1", "10000001", "1.5", "", "100/s"}},
    {"--ingest-burst",
     "TELLTALE_INGEST_BURST",
     "events from 0 (twice --ingest-rate) to 100000000",
     {"-1", "100000001", ""}},
    {"--realtime-max-joins",
     "TELLTALE_REALTIME_MAX_JOINS",
     "an integer from 1 to 10000",
     {"0", "10001", ""}}};

#define NSETTINGS (sizeof settings / sizeof settings[0])

/* ---- defaults and precedence --------------------------------------------------------------- */

static void defaults_without_environment(void **state)
{
    (void)state;
    tt_config cfg = init_ok();
    assert_string_equal(cfg.listen_host, "127.0.0.1");
    assert_int_equal(cfg.listen_port, 8080);
    assert_string_equal(cfg.store_url, "sqlite:telltale.db");
    assert_int_equal(cfg.batch_size, 1000);
    assert_int_equal(cfg.flush_ms, 5);
    assert_int_equal(cfg.max_body, 1048576);
    assert_int_equal(cfg.max_events, 10000);
    assert_int_equal(cfg.queue_max, 100000);
    assert_int_equal(cfg.ws_max_buffer, 4 << 20);
    assert_int_equal(cfg.retention_ms, UINT64_C(7) * 86400000);
    assert_int_equal(cfg.shutdown_timeout_ms, 30000);
    assert_int_equal(cfg.log_level, LOG_INFO);
    assert_int_equal(cfg.log_format, LOG_TEXT);
    assert_false(cfg.demo);
}

static void environment_overrides_defaults(void **state)
{
    (void)state;
    env_set("TELLTALE_LISTEN", "0.0.0.0:0");
    env_set("TELLTALE_STORE", "sqlite:/var/lib/telltale/events.db");
    env_set("TELLTALE_BATCH_SIZE", "250");
    env_set("TELLTALE_FLUSH_MS", "0");
    env_set("TELLTALE_MAX_BODY", "512KiB");
    env_set("TELLTALE_MAX_EVENTS", "100000");
    env_set("TELLTALE_QUEUE_MAX", "100");
    env_set("TELLTALE_WS_MAX_BUFFER", "1GiB");
    env_set("TELLTALE_RETENTION", "0");
    env_set("TELLTALE_SHUTDOWN_TIMEOUT", "1h");
    env_set("TELLTALE_LOG", "debug");
    env_set("TELLTALE_LOG_FORMAT", "json");
    env_set("TELLTALE_DEMO", "true");
    tt_config cfg = init_ok();
    assert_string_equal(cfg.listen_host, "0.0.0.0");
    assert_int_equal(cfg.listen_port, 0);
    assert_string_equal(cfg.store_url, "sqlite:/var/lib/telltale/events.db");
    assert_int_equal(cfg.batch_size, 250);
    assert_int_equal(cfg.flush_ms, 0);
    assert_int_equal(cfg.max_body, 524288);
    assert_int_equal(cfg.max_events, 100000);
    assert_int_equal(cfg.queue_max, 100);
    assert_int_equal(cfg.ws_max_buffer, 1 << 30);
    assert_int_equal(cfg.retention_ms, 0);
    assert_int_equal(cfg.shutdown_timeout_ms, 3600000);
    assert_int_equal(cfg.log_level, LOG_DEBUG);
    assert_int_equal(cfg.log_format, LOG_JSON);
    assert_true(cfg.demo);
}

static void flags_override_environment(void **state)
{
    (void)state;
    env_set("TELLTALE_LISTEN", "0.0.0.0:9000");
    env_set("TELLTALE_BATCH_SIZE", "250");
    env_set("TELLTALE_RETENTION", "12h");
    env_set("TELLTALE_LOG", "error");
    env_set("TELLTALE_DEMO", "false");
    tt_config cfg = init_ok();
    set_flag_ok(&cfg, "--listen", "localhost:7000");
    set_flag_ok(&cfg, "--batch-size", "7");
    set_flag_ok(&cfg, "--retention", "30d");
    set_flag_ok(&cfg, "--log", "warn");
    set_flag_ok(&cfg, "--demo", NULL);
    assert_string_equal(cfg.listen_host, "localhost");
    assert_int_equal(cfg.listen_port, 7000);
    assert_int_equal(cfg.batch_size, 7);
    assert_int_equal(cfg.retention_ms, UINT64_C(30) * 86400000);
    assert_int_equal(cfg.log_level, LOG_WARN);
    assert_true(cfg.demo);
}

static void the_limits_have_their_defaults_and_variables(void **state)
{
    (void)state;
    tt_config cfg = init_ok();
    assert_int_equal(cfg.max_connections, 4096);
    assert_int_equal(cfg.max_connections_per_address, 256);
    assert_int_equal(cfg.header_timeout_ms, 10000);
    assert_int_equal(cfg.body_timeout_ms, 20000);
    assert_int_equal(cfg.body_min_rate, 1024);
    assert_int_equal(cfg.idle_timeout_ms, 30000);
    assert_int_equal(cfg.ws_max_frame, 1 << 20);
    assert_int_equal(cfg.ws_max_message, 2 << 20);
    assert_int_equal(cfg.ingest_rate, 0);
    assert_int_equal(cfg.ingest_burst, 0);
    assert_int_equal(cfg.realtime_max_joins, 100);
    env_set("TELLTALE_HEADER_TIMEOUT", "500ms");
    env_set("TELLTALE_INGEST_RATE", "250");
    env_set("TELLTALE_WS_MAX_FRAME", "64KiB");
    cfg = init_ok();
    assert_int_equal(cfg.header_timeout_ms, 500);
    assert_int_equal(cfg.ingest_rate, 250);
    assert_int_equal(cfg.ws_max_frame, 65536);
    set_flag_ok(&cfg, "--ingest-rate", "10");
    set_flag_ok(&cfg, "--max-connections-per-address", "3");
    assert_int_equal(cfg.ingest_rate, 10);
    assert_int_equal(cfg.max_connections_per_address, 3);
}

static void every_setting_has_a_flag(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSETTINGS; i++) {
        tt_config cfg = init_ok();
        char err[TT_ERRLEN];
        /* A value of the wrong form is refused rather than "no such flag". */
        int rc = config_set_flag(&cfg, settings[i].flag, "\x01not a value", err);
        if (rc != TT_EINVAL) {
            fail_msg("%s: got %d", settings[i].flag, rc);
        }
    }
}

static void database_url_is_used_when_telltale_store_is_unset(void **state)
{
    (void)state;
    env_set("DATABASE_URL", "postgres://u:p@db:5432/telltale");
    tt_config cfg = init_ok();
    assert_string_equal(cfg.store_url, "postgres://u:p@db:5432/telltale");
}

static void telltale_store_wins_over_database_url(void **state)
{
    (void)state;
    env_set("DATABASE_URL", "postgres://u:p@db:5432/telltale");
    env_set("TELLTALE_STORE", "sqlite:local.db");
    tt_config cfg = init_ok();
    assert_string_equal(cfg.store_url, "sqlite:local.db");
}

static void bad_database_url_is_ignored_when_telltale_store_is_set(void **state)
{
    (void)state;
    env_set("DATABASE_URL", "mysql://not-ours");
    env_set("TELLTALE_STORE", "sqlite:local.db");
    tt_config cfg = init_ok();
    assert_string_equal(cfg.store_url, "sqlite:local.db");
}

static void bad_database_url_is_named_as_such(void **state)
{
    (void)state;
    env_set("DATABASE_URL", "mysql://u@h/db");
    tt_config cfg;
    char err[TT_ERRLEN] = "";
    assert_int_equal(config_init(&cfg, fake_getenv, err), TT_EINVAL);
    assert_contains(err, "DATABASE_URL");
    assert_contains(err, "sqlite:PATH or postgres://");
}

static void store_flag_wins_over_database_url(void **state)
{
    (void)state;
    env_set("DATABASE_URL", "postgres://u:p@db/telltale");
    tt_config cfg = init_ok();
    set_flag_ok(&cfg, "--store", "sqlite:flag.db");
    assert_string_equal(cfg.store_url, "sqlite:flag.db");
}

/* config_read_setting, as migrate reads --store: one setting, by serve's precedence, the rest
 * of the configuration untouched and the rest of the environment unread. */
static void one_setting_is_read_as_serve_reads_it(void **state)
{
    (void)state;
    tt_config cfg = {.batch_size = 7};
    char err[TT_ERRLEN] = "";
    env_set("TELLTALE_BATCH_SIZE", "0"); /* malformed, and not read */
    assert_int_equal(config_read_setting(&cfg, "--store", NULL, fake_getenv, err), 0);
    assert_string_equal(cfg.store_url, "sqlite:telltale.db");
    assert_int_equal(cfg.batch_size, 7);
    env_set("DATABASE_URL", "postgres://u:p@db/telltale");
    assert_int_equal(config_read_setting(&cfg, "--store", NULL, fake_getenv, err), 0);
    assert_string_equal(cfg.store_url, "postgres://u:p@db/telltale");
    env_clear();
    env_set("DATABASE_URL", "mysql://u:hunter2@db/x");
    assert_int_equal(config_read_setting(&cfg, "--store", NULL, fake_getenv, err), TT_EINVAL);
    assert_contains(err, "invalid DATABASE_URL: expected sqlite:PATH or postgres://");
    assert_null(strstr(err, "hunter2"));
    /* the flag wins, even over a malformed variable, and is named as serve names it */
    assert_int_equal(config_read_setting(&cfg, "--store", "sqlite:f.db", fake_getenv, err), 0);
    assert_string_equal(cfg.store_url, "sqlite:f.db");
    assert_int_equal(config_read_setting(&cfg, "--store", "sqlite:", fake_getenv, err), TT_EINVAL);
    assert_contains(err, "invalid --store (TELLTALE_STORE): expected sqlite:PATH");
    assert_int_equal(config_read_setting(&cfg, "--bogus", NULL, fake_getenv, err), TT_ENOTFOUND);
    assert_string_equal(config_flag_form("--store"),
                        "sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB");
    assert_null(config_flag_form("--bogus"));
}

/* ---- bad values ------------------------------------------------------------------------ */

static void bad_environment_values_name_the_variable_and_the_form(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSETTINGS; i++) {
        for (size_t k = 0; k < sizeof settings[i].bad / sizeof settings[i].bad[0]; k++) {
            const char *bad = settings[i].bad[k];
            if (bad == NULL) {
                break;
            }
            env_clear();
            env_set(settings[i].env, bad);
            tt_config cfg;
            char err[TT_ERRLEN] = "";
            int rc = config_init(&cfg, fake_getenv, err);
            if (rc != TT_EINVAL) {
                fail_msg("%s='%s' accepted", settings[i].env, bad);
            }
            char *named = NULL;
            /* Store URLs may hold passwords: their values are never repeated. */
            bool secret = strcmp(settings[i].env, "TELLTALE_STORE") == 0;
            assert_true(secret ? asprintf(&named, "invalid %s:", settings[i].env) > 0
                               : asprintf(&named, "invalid %s '%s'", settings[i].env, bad) > 0);
            assert_contains(err, named);
            assert_contains(err, settings[i].form);
            free(named);
        }
    }
}

static void bad_flag_values_name_the_flag_the_variable_and_the_form(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSETTINGS; i++) {
        for (size_t k = 0; k < sizeof settings[i].bad / sizeof settings[i].bad[0]; k++) {
            const char *bad = settings[i].bad[k];
            if (bad == NULL) {
                break;
            }
            tt_config cfg = init_ok();
            char err[TT_ERRLEN] = "";
            int rc = config_set_flag(&cfg, settings[i].flag, bad, err);
            if (rc != TT_EINVAL) {
                fail_msg("%s '%s' accepted", settings[i].flag, bad);
            }
            char *named = NULL;
            bool secret = strcmp(settings[i].env, "TELLTALE_STORE") == 0;
            assert_true(
                secret ? asprintf(&named, "invalid %s (%s):", settings[i].flag, settings[i].env) > 0
                       : asprintf(&named, "invalid %s (%s) '%s'", settings[i].flag, settings[i].env,
                                  bad) > 0);
            assert_contains(err, named);
            assert_contains(err, settings[i].form);
            free(named);
        }
    }
}

static void long_bad_values_do_not_crowd_out_the_form(void **state)
{
    (void)state;
    char value[300];
    memset(value, '9', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    for (size_t i = 0; i < NSETTINGS; i++) {
        tt_config cfg = init_ok();
        char err[TT_ERRLEN] = "";
        assert_int_equal(config_set_flag(&cfg, settings[i].flag, value, err), TT_EINVAL);
        assert_contains(err, settings[i].env);
        assert_contains(err, settings[i].form);
        assert_true(strlen(err) < TT_ERRLEN - 1); /* nothing was cut */
    }
}

static void unknown_flag_is_not_found(void **state)
{
    (void)state;
    tt_config cfg = init_ok();
    char err[TT_ERRLEN];
    assert_int_equal(config_set_flag(&cfg, "--colour", "blue", err), TT_ENOTFOUND);
    assert_int_equal(config_set_flag(&cfg, "listen", "h:1", err), TT_ENOTFOUND);
    assert_int_equal(config_set_flag(&cfg, "TELLTALE_LISTEN", "h:1", err), TT_ENOTFOUND);
}

static void valued_flag_without_a_value_is_refused(void **state)
{
    (void)state;
    tt_config cfg = init_ok();
    char err[TT_ERRLEN] = "";
    assert_int_equal(config_set_flag(&cfg, "--listen", NULL, err), TT_EINVAL);
    assert_contains(err, "--listen (TELLTALE_LISTEN)");
    assert_string_equal(cfg.listen_host, "127.0.0.1");
}

/* ---- forms -------------------------------------------------------------------------------- */

static void listen_accepts_host_and_port(void **state)
{
    (void)state;
    static const struct {
        const char *text, *host;
        unsigned port;
    } ok[] = {{"127.0.0.1:8080", "127.0.0.1", 8080},
              {"0.0.0.0:0", "0.0.0.0", 0},
              {"localhost:65535", "localhost", 65535},
              {"my-host.example.com:443", "my-host.example.com", 443},
              {"h:1", "h", 1},
              {"LOCALHOST:80", "LOCALHOST", 80}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        tt_config cfg = init_ok();
        set_flag_ok(&cfg, "--listen", ok[i].text);
        assert_string_equal(cfg.listen_host, ok[i].host);
        assert_int_equal(cfg.listen_port, ok[i].port);
    }
}

/* --otlp-listen: off by default; an address like --listen's; "off" turns it off again. */
static void otlp_listen_is_off_or_an_address(void **state)
{
    (void)state;
    tt_config cfg = init_ok();
    assert_false(cfg.otlp_listen);
    set_flag_ok(&cfg, "--otlp-listen", "127.0.0.1:4318");
    assert_true(cfg.otlp_listen);
    assert_string_equal(cfg.otlp_host, "127.0.0.1");
    assert_int_equal(cfg.otlp_port, 4318);
    assert_string_equal(cfg.listen_host, "127.0.0.1"); /* --listen untouched */
    assert_int_equal(cfg.listen_port, 8080);
    set_flag_ok(&cfg, "--otlp-listen", "off");
    assert_false(cfg.otlp_listen);
    char err[TT_ERRLEN];
    assert_int_equal(config_set_flag(&cfg, "--otlp-listen", "4318", err), TT_EINVAL);
    assert_non_null(strstr(err, "TELLTALE_OTLP_LISTEN"));
    /* a refused address leaves the second listener off (fuzz_config's crash input) */
    assert_int_equal(config_set_flag(&cfg, "--otlp-listen", "1.0.0.1:", err), TT_EINVAL);
    assert_false(cfg.otlp_listen);
}

static void listen_host_has_a_length_limit(void **state)
{
    (void)state;
    char text[300];
    memset(text, 'h', 255);
    strcpy(text + 255, ":80");
    tt_config cfg = init_ok();
    set_flag_ok(&cfg, "--listen", text);
    assert_int_equal(strlen(cfg.listen_host), 255);
    memset(text, 'h', 256);
    strcpy(text + 256, ":80");
    char err[TT_ERRLEN];
    assert_int_equal(config_set_flag(&cfg, "--listen", text, err), TT_EINVAL);
}

static void store_accepts_sqlite_and_postgres_urls(void **state)
{
    (void)state;
    static const char *const ok[] = {"sqlite:telltale.db", "sqlite:/abs/path/t.db",
                                     "sqlite::memory:", "postgres://user:pass@host:5432/db",
                                     "postgresql://user@host/db?sslmode=require"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        tt_config cfg = init_ok();
        set_flag_ok(&cfg, "--store", ok[i]);
        assert_string_equal(cfg.store_url, ok[i]);
    }
}

static void store_url_has_a_length_limit(void **state)
{
    (void)state;
    char url[1100];
    strcpy(url, "sqlite:");
    memset(url + 7, 'p', 1016);
    url[1023] = '\0'; /* 1023 characters: fits with its NUL */
    tt_config cfg = init_ok();
    set_flag_ok(&cfg, "--store", url);
    assert_int_equal(strlen(cfg.store_url), 1023);
    memset(url + 7, 'p', 1017);
    url[1024] = '\0';
    char err[TT_ERRLEN];
    assert_int_equal(config_set_flag(&cfg, "--store", url, err), TT_EINVAL);
}

static void size_forms(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t v;
    } ok[] = {{"1048576", 1048576},
              {"512KiB", 524288},
              {"1MiB", 1048576},
              {"2GiB", UINT64_C(2) << 30},
              {"0", 0},
              {"7B", 7},
              {"18446744073709551615", UINT64_MAX},
              {"17179869183GiB", UINT64_C(17179869183) << 30}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 12345;
        if (!config_parse_size(ok[i].text, &v)) {
            fail_msg("size '%s' refused", ok[i].text);
        }
        assert_int_equal(v, ok[i].v);
    }
    static const char *const bad[] = {"",
                                      "KiB",
                                      "1 KiB",
                                      " 1",
                                      "+1",
                                      "-1",
                                      "1kib",
                                      "1KB",
                                      "1K",
                                      "1M",
                                      "1.5MiB",
                                      "1MiB ",
                                      "18446744073709551616",
                                      "17179869184GiB",
                                      "1TiB",
                                      "1e3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 12345;
        if (config_parse_size(bad[i], &v)) {
            fail_msg("size '%s' accepted as %llu", bad[i], (unsigned long long)v);
        }
    }
}

static void duration_forms(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t ms;
    } ok[] = {{"500ms", 500},  {"30s", 30000},    {"5m", 300000},
              {"2h", 7200000}, {"7d", 604800000}, {"30", 30000},
              {"0", 0},        {"0ms", 0},        {"18446744073709551615ms", UINT64_MAX}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 12345;
        if (!config_parse_duration_ms(ok[i].text, &v)) {
            fail_msg("duration '%s' refused", ok[i].text);
        }
        assert_int_equal(v, ok[i].ms);
    }
    static const char *const bad[] = {"",
                                      "s",
                                      "ms",
                                      "1w",
                                      "1.5s",
                                      "-1s",
                                      "+1s",
                                      "1 s",
                                      " 1s",
                                      "1S",
                                      "1M",
                                      "1H",
                                      "1min",
                                      "1sec",
                                      "18446744073709551615",
                                      "213503982335d",
                                      "1ms5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 12345;
        if (config_parse_duration_ms(bad[i], &v)) {
            fail_msg("duration '%s' accepted as %llu", bad[i], (unsigned long long)v);
        }
    }
}

static void range_edges_are_inclusive(void **state)
{
    (void)state;
    tt_config cfg = init_ok();
    set_flag_ok(&cfg, "--batch-size", "1");
    assert_int_equal(cfg.batch_size, 1);
    set_flag_ok(&cfg, "--batch-size", "100000");
    assert_int_equal(cfg.batch_size, 100000);
    set_flag_ok(&cfg, "--flush-ms", "10000");
    assert_int_equal(cfg.flush_ms, 10000);
    set_flag_ok(&cfg, "--max-body", "1KiB");
    assert_int_equal(cfg.max_body, 1024);
    set_flag_ok(&cfg, "--max-body", "64MiB");
    assert_int_equal(cfg.max_body, 64 << 20);
    set_flag_ok(&cfg, "--queue-max", "10000000");
    assert_int_equal(cfg.queue_max, 10000000);
    set_flag_ok(&cfg, "--ws-max-buffer", "64KiB");
    assert_int_equal(cfg.ws_max_buffer, 64 << 10);
    set_flag_ok(&cfg, "--retention", "3650d");
    assert_int_equal(cfg.retention_ms, UINT64_C(3650) * 86400000);
    set_flag_ok(&cfg, "--shutdown-timeout", "3600s");
    assert_int_equal(cfg.shutdown_timeout_ms, 3600000);
    set_flag_ok(&cfg, "--shutdown-timeout", "0");
    assert_int_equal(cfg.shutdown_timeout_ms, 0);
}

static void durations_take_every_unit_in_settings(void **state)
{
    (void)state;
    tt_config cfg = init_ok();
    set_flag_ok(&cfg, "--shutdown-timeout", "500ms");
    assert_int_equal(cfg.shutdown_timeout_ms, 500);
    set_flag_ok(&cfg, "--shutdown-timeout", "45");
    assert_int_equal(cfg.shutdown_timeout_ms, 45000);
    set_flag_ok(&cfg, "--shutdown-timeout", "5m");
    assert_int_equal(cfg.shutdown_timeout_ms, 300000);
    set_flag_ok(&cfg, "--retention", "2h");
    assert_int_equal(cfg.retention_ms, 7200000);
}

/* The resilience settings of issue 4: each reaches its field, and a bad value names it. */
static void resilience_settings(void **state)
{
    (void)state;
    tt_config cfg = init_ok();
    assert_false(cfg.retry_decorrelated);
    assert_int_equal(cfg.retry_budget_ms, 30000);
    assert_int_equal(cfg.spool_max_bytes, 1u << 30);
    assert_string_equal(cfg.spool_dir, "telltale-spool");
    set_flag_ok(&cfg, "--retry-jitter", "decorrelated");
    set_flag_ok(&cfg, "--retry-budget-ms", "0");
    set_flag_ok(&cfg, "--breaker-failures", "3");
    set_flag_ok(&cfg, "--breaker-open-ms", "250");
    set_flag_ok(&cfg, "--breaker-half-open-probes", "2");
    set_flag_ok(&cfg, "--dlq-retention", "12h");
    set_flag_ok(&cfg, "--spool-dir", "/var/lib/telltale/spool");
    assert_true(cfg.retry_decorrelated);
    assert_int_equal(cfg.retry_budget_ms, 0);
    assert_int_equal(cfg.breaker_failures, 3);
    assert_int_equal(cfg.breaker_open_ms, 250);
    assert_int_equal(cfg.breaker_half_open_probes, 2);
    assert_int_equal(cfg.dlq_retention_ms, 12 * 3600000ull);
    assert_string_equal(cfg.spool_dir, "/var/lib/telltale/spool");
    char err[TT_ERRLEN] = "";
    assert_int_equal(config_set_flag(&cfg, "--retry-jitter", "wobbly", err), TT_EINVAL);
    assert_contains(err, "TELLTALE_RETRY_JITTER");
    assert_int_equal(config_set_flag(&cfg, "--breaker-half-open-probes", "17", err), TT_EINVAL);
    assert_int_equal(config_set_flag(&cfg, "--spool-dir", "", err), TT_EINVAL);
    cfg = init_ok();
    set_flag_ok(&cfg, "--retry-base-ms", "500");
    set_flag_ok(&cfg, "--retry-cap-ms", "100");
    assert_int_equal(config_validate(&cfg, err), TT_EINVAL);
    assert_contains(err, "TELLTALE_RETRY_CAP_MS");
}

static void log_words(void **state)
{
    (void)state;
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    static const log_level want[] = {LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG};
    for (size_t i = 0; i < 4; i++) {
        tt_config cfg = init_ok();
        set_flag_ok(&cfg, "--log", levels[i]);
        assert_int_equal(cfg.log_level, want[i]);
    }
    tt_config cfg = init_ok();
    set_flag_ok(&cfg, "--log-format", "json");
    assert_int_equal(cfg.log_format, LOG_JSON);
    set_flag_ok(&cfg, "--log-format", "text");
    assert_int_equal(cfg.log_format, LOG_TEXT);
}

static void demo_is_a_boolean_flag(void **state)
{
    (void)state;
    assert_true(config_flag_is_bool("--demo"));
    assert_false(config_flag_is_bool("--listen"));
    assert_false(config_flag_is_bool("--store"));
    assert_false(config_flag_is_bool("--nope"));
    tt_config cfg = init_ok();
    assert_false(cfg.demo);
    set_flag_ok(&cfg, "--demo", NULL); /* present without a value: true */
    assert_true(cfg.demo);
    set_flag_ok(&cfg, "--demo", "false");
    assert_false(cfg.demo);
}

static void demo_environment_words(void **state)
{
    (void)state;
    static const char *const yes[] = {"true", "1", "yes"};
    static const char *const no[] = {"false", "0", "no"};
    for (size_t i = 0; i < 3; i++) {
        env_clear();
        env_set("TELLTALE_DEMO", yes[i]);
        assert_true(init_ok().demo);
        env_clear();
        env_set("TELLTALE_DEMO", no[i]);
        assert_false(init_ok().demo);
    }
}

static void help_lists_every_flag_variable_and_default(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    config_print_help(f);
    fclose(f);
    for (size_t i = 0; i < NSETTINGS; i++) {
        assert_contains(text, settings[i].flag);
        assert_contains(text, settings[i].env);
    }
    assert_contains(text, "DATABASE_URL");
    assert_contains(text, "; default 127.0.0.1:8080)");
    assert_contains(text, "; default sqlite:telltale.db)");
    assert_contains(text, "; default 7d)");
    assert_contains(text, "log level (one of: error, warn, info, debug; default info)");
    free(text);
}

/* What the help line of a setting must say it accepts, from the table the parser reads (through
 * config_flag_values and config_flag_form): an enumerated setting's values as the parser takes
 * them, "one of: a, b; default ", any other's form (its unit, range or syntax), "(FORM; default ".
 */
static void accepts_text(const char *flag, char *want, size_t cap)
{
    const char *const *values = config_flag_values(flag);
    if (values == NULL) {
        snprintf(want, cap, "(%s; default ", config_flag_form(flag));
        return;
    }
    size_t n = (size_t)snprintf(want, cap, "one of: ");
    for (size_t v = 0; values[v] != NULL; v++) {
        n += (size_t)snprintf(want + n, cap - n, "%s%s", v > 0 ? ", " : "", values[v]);
        tt_config cfg = {0}; /* each value listed is one the parser takes */
        char err[TT_ERRLEN];
        assert_int_equal(config_set_flag(&cfg, flag, values[v], err), 0);
    }
    snprintf(want + n, cap - n, "; default ");
}

/* Every setting's help line (each line of config_print_help that starts with a flag) says what
 * it accepts and its default; the enumerated ones list their values. */
static void help_says_what_each_setting_accepts(void **state)
{
    (void)state;
    char *text = NULL, want[512];
    size_t len = 0, lines = 0, enumerated = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    config_print_help(f);
    fclose(f);
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char flag[64];
        if (sscanf(line, "  %63s", flag) != 1 || strncmp(flag, "--", 2) != 0) {
            continue; /* DATABASE_URL's line, which is a variable of --store */
        }
        assert_non_null(config_flag_form(flag)); /* a flag of the table */
        accepts_text(flag, want, sizeof want);
        if (strstr(line, want) == NULL) {
            fail_msg("help line of %s does not say '%s': %s", flag, want, line);
        }
        lines++;
        enumerated += config_flag_values(flag) != NULL;
    }
    assert_true(lines >= NSETTINGS); /* the tests' own list is a part of the table */
    assert_true(enumerated >= 4);    /* --log, --log-format, --retry-jitter and the switches */
    free(text);
}

static void enumerated_settings_are_known(void **state)
{
    (void)state;
    const char *const *v = config_flag_values("--log");
    assert_non_null(v);
    assert_string_equal(v[0], "error");
    assert_non_null(config_flag_values("--log-format"));
    assert_non_null(config_flag_values("--retry-jitter"));
    assert_non_null(config_flag_values("--demo"));
    assert_null(config_flag_values("--listen"));
    assert_null(config_flag_values("--batch-size"));
    assert_null(config_flag_values("--bogus"));
}

/* The queue refuses any job larger than itself, even when empty: a queue smaller than the
 * largest request allowed would answer such requests 429 forever. */
static void queue_smaller_than_one_request_is_refused(void **state)
{
    (void)state;
    env_set("TELLTALE_QUEUE_MAX", "100");
    tt_config cfg;
    char err[TT_ERRLEN] = "";
    assert_int_equal(config_init(&cfg, fake_getenv, err), 0);
    assert_int_equal(config_validate(&cfg, err), TT_EINVAL);
    assert_contains(err, "TELLTALE_MAX_EVENTS");
    assert_contains(err, "TELLTALE_QUEUE_MAX");
    env_set("TELLTALE_MAX_EVENTS", "100");
    assert_int_equal(config_init(&cfg, fake_getenv, err), 0);
    assert_int_equal(config_validate(&cfg, err), 0);
}

/* Role ingest's key is a secret like the others: its length is checked, it is never echoed. */
static void ingest_key_is_a_secret(void **state)
{
    (void)state;
    env_set("TELLTALE_INGEST_KEY", "short-key");
    tt_config cfg;
    char err[TT_ERRLEN] = "";
    assert_int_equal(config_init(&cfg, fake_getenv, err), TT_EINVAL);
    assert_contains(err, "TELLTALE_INGEST_KEY");
    assert_contains(err, "a key of 16 to 511 bytes");
    assert_null(strstr(err, "short-key"));
    env_clear();
    env_set("TELLTALE_INGEST_KEY", "a-producer-key-of-24-byt");
    cfg = init_ok();
    assert_string_equal(cfg.ingest_key, "a-producer-key-of-24-byt");
    set_flag_ok(&cfg, "--ingest-key", "");
    assert_string_equal(cfg.ingest_key, "");
}

/* The access switches default to closed. */
static void access_switches_default_to_closed(void **state)
{
    (void)state;
    tt_config cfg = init_ok();
    assert_false(cfg.anon_read);
    assert_false(cfg.metrics_public);
    assert_int_equal(cfg.trust_proxy_n, 0);
    assert_string_equal(cfg.tls_cert, "");
    assert_true(config_flag_is_bool("--anon-read"));
    assert_true(config_flag_is_bool("--metrics-public"));
    set_flag_ok(&cfg, "--anon-read", NULL);
    set_flag_ok(&cfg, "--metrics-public", "true");
    assert_true(cfg.anon_read && cfg.metrics_public);
}

/* TLS takes a certificate and its key together, or neither. */
static void tls_cert_and_key_go_together(void **state)
{
    (void)state;
    char err[TT_ERRLEN] = "";
    env_set("TELLTALE_TLS_CERT", "/etc/telltale/cert.pem");
    tt_config cfg = init_ok();
    assert_int_equal(config_validate(&cfg, err), TT_EINVAL);
    assert_contains(err, "TELLTALE_TLS_CERT (--tls-cert)");
    assert_contains(err, "TELLTALE_TLS_KEY (--tls-key)");
    set_flag_ok(&cfg, "--tls-key", "/etc/telltale/key.pem");
    assert_int_equal(config_validate(&cfg, err), 0);
    assert_string_equal(cfg.tls_key, "/etc/telltale/key.pem");
    set_flag_ok(&cfg, "--tls-cert", "");
    assert_int_equal(config_validate(&cfg, err), TT_EINVAL);
    char longer[1100];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(config_set_flag(&cfg, "--tls-cert", longer, err), TT_EINVAL);
    assert_contains(err, "--tls-cert (TELLTALE_TLS_CERT)");
}

/* Trusted proxies: addresses and blocks, matched by prefix, at their edges. */
static void trust_proxy_matches_addresses_and_blocks(void **state)
{
    (void)state;
    env_set("TELLTALE_TRUST_PROXY", "127.0.0.1,10.0.0.0/8,192.168.1.128/25,0.0.0.0/32");
    tt_config cfg = init_ok();
    assert_int_equal(cfg.trust_proxy_n, 4);
    assert_true(config_proxy_trusted(&cfg, 0x7f000001));
    assert_false(config_proxy_trusted(&cfg, 0x7f000002));
    assert_true(config_proxy_trusted(&cfg, 0x0a000000));
    assert_true(config_proxy_trusted(&cfg, 0x0affffff));
    assert_false(config_proxy_trusted(&cfg, 0x0b000000));
    assert_false(config_proxy_trusted(&cfg, 0x09ffffff));
    assert_true(config_proxy_trusted(&cfg, 0xc0a80180));
    assert_true(config_proxy_trusted(&cfg, 0xc0a801ff));
    assert_false(config_proxy_trusted(&cfg, 0xc0a8017f));
    set_flag_ok(&cfg, "--trust-proxy", "0.0.0.0/0");
    assert_true(config_proxy_trusted(&cfg, 0xdeadbeef)); /* everyone: the operator said so */
    set_flag_ok(&cfg, "--trust-proxy", "");
    assert_int_equal(cfg.trust_proxy_n, 0);
    assert_false(config_proxy_trusted(&cfg, 0x7f000001));
    /* A refused list trusts nothing, not the part before the fault (found by fuzz_forwarded). */
    char err[TT_ERRLEN];
    assert_int_equal(config_set_flag(&cfg, "--trust-proxy", "127.0.0.1,", err), TT_EINVAL);
    assert_int_equal(cfg.trust_proxy_n, 0);
    assert_int_equal(config_set_flag(&cfg, "--trust-proxy", "127.0.0.1,nope", err), TT_EINVAL);
    assert_int_equal(cfg.trust_proxy_n, 0);
}

static void loopback_hosts(void **state)
{
    (void)state;
    assert_true(config_host_is_loopback("127.0.0.1"));
    assert_true(config_host_is_loopback("127.255.0.9"));
    assert_false(config_host_is_loopback("0.0.0.0"));
    assert_false(config_host_is_loopback("128.0.0.1"));
    assert_false(config_host_is_loopback("localhost")); /* names are resolved first */
}

/* A store URL may carry a password; an error about it must not repeat it. */
static void bad_store_url_is_not_echoed(void **state)
{
    (void)state;
    env_set("DATABASE_URL", "postgress://user:hunter2@db/x");
    tt_config cfg;
    char err[TT_ERRLEN] = "";
    assert_int_equal(config_init(&cfg, fake_getenv, err), TT_EINVAL);
    assert_contains(err, "DATABASE_URL");
    assert_null(strstr(err, "hunter2"));
}

#define T(f) cmocka_unit_test_setup(f, reset)

/* --allow-origins: none by default, "*", or browser origins (RFC 6454 §6.1) separated by commas;
 * anything else (a path, a scheme other than http/https, an empty item) stops start-up. */
static void allow_origins_are_origins(void **state)
{
    (void)state;
    tt_config cfg = init_ok();
    assert_string_equal(cfg.allow_origins, "");
    const char *good[] = {"*",
                          "https://app.example.com",
                          "http://localhost:3000",
                          "https://a.example, http://127.0.0.1:8080",
                          "http://[::1]:8080",
                          ""};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        set_flag_ok(&cfg, "--allow-origins", good[i]);
        assert_string_equal(cfg.allow_origins, good[i]);
    }
    const char *bad[] = {"app.example.com",
                         "ftp://a.example",
                         "https://a.example/path",
                         "https://",
                         "https://a.example,,http://b",
                         "null",
                         "*,https://a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[TT_ERRLEN] = "";
        if (config_set_flag(&cfg, "--allow-origins", bad[i], err) != TT_EINVAL) {
            fail_msg("'%s' accepted", bad[i]);
        }
        assert_contains(err, "--allow-origins");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(allow_origins_are_origins),
        T(defaults_without_environment),
        T(environment_overrides_defaults),
        T(flags_override_environment),
        T(the_limits_have_their_defaults_and_variables),
        T(every_setting_has_a_flag),
        T(database_url_is_used_when_telltale_store_is_unset),
        T(telltale_store_wins_over_database_url),
        T(bad_database_url_is_ignored_when_telltale_store_is_set),
        T(bad_database_url_is_named_as_such),
        T(store_flag_wins_over_database_url),
        T(one_setting_is_read_as_serve_reads_it),
        T(bad_environment_values_name_the_variable_and_the_form),
        T(bad_flag_values_name_the_flag_the_variable_and_the_form),
        T(long_bad_values_do_not_crowd_out_the_form),
        T(unknown_flag_is_not_found),
        T(valued_flag_without_a_value_is_refused),
        T(listen_accepts_host_and_port),
        T(listen_host_has_a_length_limit),
        T(otlp_listen_is_off_or_an_address),
        T(store_accepts_sqlite_and_postgres_urls),
        T(store_url_has_a_length_limit),
        T(size_forms),
        T(duration_forms),
        T(range_edges_are_inclusive),
        T(durations_take_every_unit_in_settings),
        T(log_words),
        T(resilience_settings),
        T(demo_is_a_boolean_flag),
        T(demo_environment_words),
        T(help_lists_every_flag_variable_and_default),
        T(help_says_what_each_setting_accepts),
        T(enumerated_settings_are_known),
        T(queue_smaller_than_one_request_is_refused),
        T(bad_store_url_is_not_echoed),
        T(ingest_key_is_a_secret),
        T(access_switches_default_to_closed),
        T(tls_cert_and_key_go_together),
        T(trust_proxy_matches_addresses_and_blocks),
        T(loopback_hosts),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
