/* config.h -- every setting of telltale serve: name, flag, environment variable, default,
 * accepted form; precedence flag > environment > default (DESIGN §5).
 *
 * Pure: the environment comes in as a lookup function, so tests need no setenv(). */
#ifndef TT_CONFIG_H
#define TT_CONFIG_H

#include "core/err.h"
#include "os/log.h" /* log_level, log_format: the logger's, read from the configuration */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define TT_SECRET_MAX 511         /* bytes of a key or of the JWT secret */
#define CONFIG_TRUST_PROXY_MAX 16 /* addresses or blocks in --trust-proxy */

typedef struct tt_config {
    char listen_host[256];
    unsigned listen_port; /* 0: pick a free port */
    char otlp_host[256];  /* a second address (--otlp-listen), when otlp_listen */
    unsigned otlp_port;   /* 0: pick a free port */
    bool otlp_listen;
    char store_url[1024];         /* "sqlite:PATH" or "postgres://..." */
    uint32_t batch_size;          /* events per commit; whole requests: may exceed by one */
    uint32_t flush_ms;            /* how long a batch may wait to fill */
    uint64_t max_body;            /* bytes of an ingest request body */
    uint32_t max_events;          /* events in one ingest request */
    uint32_t queue_max;           /* events accepted but not yet committed */
    uint64_t queue_max_bytes;     /* ... and the memory they take */
    uint64_t inflight_body_bytes; /* request bodies being received or parsed, all together */
    uint64_t ws_max_buffer;       /* bytes queued for one WebSocket client before it is dropped */
    uint64_t retention_ms;        /* events older than this are deleted; 0 keeps them forever */
    uint64_t shutdown_timeout_ms;
    uint64_t store_timeout_ms; /* one PostgreSQL statement or connection, at most */
    uint64_t sqlite_cache_bytes; /* the SQLite writer's page cache */
    char spool_dir[1024];      /* local spool, used when the store is remote */
    uint64_t spool_max_bytes;
    uint32_t breaker_failures; /* consecutive failures that open the breaker */
    uint32_t breaker_open_ms;
    uint32_t breaker_half_open_probes;
    uint32_t retry_max; /* retries of one store call; 0: none */
    uint32_t retry_base_ms;
    uint32_t retry_cap_ms;
    uint32_t retry_budget_ms; /* time within which every retry of one write must start */
    bool retry_decorrelated;  /* decorrelated jitter instead of full jitter */
    uint32_t dlq_max_retries;
    uint64_t dlq_retry_base_ms; /* a dead letter's retry n waits [d/2, d], d = min(cap, base*2^n) */
    uint64_t dlq_retry_cap_ms;
    uint64_t dlq_retention_ms;          /* resolved dead letters older than this are deleted */
    uint64_t state_max_value;           /* bytes of one dashboard state value (JSON text) */
    uint64_t state_max_client;          /* bytes of one client's dashboard state, all keys */
    uint32_t state_max_keys;            /* keys of one client's dashboard state */
    uint64_t state_retention_ms;        /* idle clients' state is deleted after this; 0: never */
    uint64_t rollup_retention_ms;       /* hour and day rollups older than this are deleted */
    uint64_t session_idle_ms;           /* a session silent this long is idle */
    char jwt_secret[TT_SECRET_MAX + 1]; /* "" = none; HS256 JWTs are accepted with it */
    char anon_key[TT_SECRET_MAX + 1];   /* "" = none */
    char service_key[TT_SECRET_MAX + 1];
    char ingest_key[TT_SECRET_MAX + 1]; /* "" = none; grants role ingest */
    bool anon_read;      /* role anon may read what authenticated reads (default: nothing) */
    bool metrics_public; /* GET /metrics without a key */
    char tls_cert[1024]; /* PEM certificate chain; "" = plain HTTP */
    char tls_key[1024];  /* PEM private key; set together with tls_cert */
    /* Proxies whose X-Forwarded-For is believed: IPv4 addresses or CIDR blocks. */
    uint32_t trust_proxy_addr[CONFIG_TRUST_PROXY_MAX]; /* host order */
    uint8_t trust_proxy_bits[CONFIG_TRUST_PROXY_MAX];  /* prefix length, 0..32 */
    int trust_proxy_n;
    log_level log_level;
    log_format log_format;
    bool demo; /* generate demo traffic */
    /* Browser origins allowed to change state besides telltale's own: "" none, "*" any, or
     * "https://a.example,http://localhost:3000" (DESIGN §5, "The HTTP edge"). */
    char allow_origins[1024];
    /* Limits against abuse (config_limits.c; DESIGN §5, "Limits"). */
    uint32_t max_connections;             /* open connections, all clients together */
    uint32_t max_connections_per_address; /* ... from one client address */
    uint64_t header_timeout_ms;           /* to receive a request's header section */
    uint64_t body_timeout_ms;             /* a body's time, plus 1 s per body_min_rate bytes */
    uint64_t body_min_rate;               /* bytes per second a slow body must keep up */
    uint64_t idle_timeout_ms;             /* a keep-alive connection between requests */
    uint64_t ws_max_frame;                /* bytes of one WebSocket frame from a client */
    uint64_t ws_max_message;              /* ... of one message (its frames together) */
    uint32_t ingest_rate;                 /* events per second per key; 0: no limit */
    uint32_t ingest_burst;                /* events a key may send at once */
    uint32_t realtime_max_joins;          /* channels one Realtime connection may join */
} tt_config;

/* Looks up an environment variable; returns NULL when unset. */
typedef const char *(*config_getenv_fn)(const char *name);

/* Fills 'cfg' with the defaults, then applies the environment through 'getenv_fn'.
 * Returns 0, or TT_EINVAL with 'err' naming the variable, the bad value and the accepted form. */
int config_init(tt_config *cfg, config_getenv_fn getenv_fn, char err[TT_ERRLEN]);

/* The same, except that settings whose flag is in 'flags' (a NULL-terminated list of the
 * flags given on the command line) skip the environment: the flag will set them, and a flag
 * wins even over a malformed variable. */
int config_init_except(tt_config *cfg, config_getenv_fn getenv_fn, const char *const *flags,
                       char err[TT_ERRLEN]);

/* Reads the one setting whose flag is 'flag' as serve reads it -- 'value' (the flag's value;
 * NULL when the flag is not given), else its environment variable, else its default -- into
 * 'cfg', leaving the rest of 'cfg' as it was. For commands that take one of serve's settings
 * (migrate: --store). Returns 0, TT_ENOTFOUND if no setting has that flag, or TT_EINVAL with
 * 'err' naming the flag or the variable that gave the bad value, as config_init does. */
int config_read_setting(tt_config *cfg, const char *flag, const char *value,
                        config_getenv_fn getenv_fn, char err[TT_ERRLEN]);

/* Checks what no single setting can: combinations. Returns 0 or TT_EINVAL with 'err'. Call it
 * once every setting is applied. */
int config_validate(const tt_config *cfg, char err[TT_ERRLEN]);

/* Applies the command-line flag 'flag' ("--listen") with 'value'. Returns 0, TT_ENOTFOUND if
 * no setting has that flag, or TT_EINVAL with 'err' as above. Boolean flags take value NULL. */
int config_set_flag(tt_config *cfg, const char *flag, const char *value, char err[TT_ERRLEN]);

/* Whether every byte of 's' is visible ASCII (0x21 to 0x7E): what a key may hold, since it
 * travels in an apikey or Authorization header (RFC 9110 §5.5; token68, §11.2). */
bool config_visible_ascii(const char *s);

/* True if 'flag' is a boolean setting's flag (it takes no value). */
bool config_flag_is_bool(const char *flag);

/* The form the value of flag 'flag' takes, for messages ("HOST:PORT with ..."); NULL if no
 * setting has that flag. */
const char *config_flag_form(const char *flag);

/* The values flag 'flag' accepts when they are a list of words (--log, --log-format,
 * --retry-jitter, a boolean's): a NULL-terminated array, as the parser reads them; NULL for a
 * setting of another kind or no setting. */
const char *const *config_flag_values(const char *flag);

/* True if 'addr' (IPv4, host order) is one of cfg's trusted proxies. */
bool config_proxy_trusted(const tt_config *cfg, uint32_t addr);

/* True if 'host' is a numeric IPv4 loopback address (127.0.0.0/8). */
bool config_host_is_loopback(const char *host);

/* Writes one line per setting for --help: flag, variable, meaning, then what it accepts (the
 * values of an enumerated one, "a switch" for a boolean, else the form its errors name: unit
 * and range) and its default. */
void config_print_help(FILE *out);

/* Parsers shared with the CLI; each returns false on a malformed or out-of-range value. */
bool config_parse_size(const char *s, uint64_t *out); /* "1048576", "512KiB", "1MiB", "2GiB" */
bool config_parse_duration_ms(const char *s,
                              uint64_t *out); /* "500ms", "30s", "5m", "2h", "7d"; bare = s */

#endif
