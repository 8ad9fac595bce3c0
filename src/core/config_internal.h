/* config_internal.h -- what the files of the settings table share: a setting's row, its
 * kinds, and the parsers of the kinds that fill several fields. Not for other modules. */
#ifndef TT_CONFIG_INTERNAL_H
#define TT_CONFIG_INTERNAL_H

#include "core/config.h"

#include <stddef.h>

typedef enum config_kind {
    K_JITTER,
    K_LISTEN,
    K_OTLP_LISTEN,
    K_STORE,
    K_PATH,
    K_FILE,
    K_PROXIES,
    K_SECRET, /* a secret of min to max bytes; "" = none */
    K_KEY,    /* a K_SECRET sent in a header: visible ASCII only (RFC 9110 §5.5, §11.2) */
    K_UINT,
    K_SIZE,
    K_DURATION,
    K_LEVEL,
    K_FORMAT,
    K_BOOL,
    K_ORIGINS
} config_kind;

typedef struct config_setting {
    const char *flag;
    const char *env;
    const char *alt_env; /* a second, less specific variable (DATABASE_URL) */
    const char *def;
    config_kind kind;
    size_t offset;     /* of the field in tt_config, for the numeric kinds, K_BOOL, K_SECRET, K_PATH
                          and K_FILE */
    uint64_t min, max; /* K_SECRET: its length in bytes */
    const char *form;  /* the accepted form, for error messages */
    const char *help;
} config_setting;

#define CONFIG_AT(field) offsetof(tt_config, field)

/* config_limits.c: the limits against abuse (DESIGN §5, "Limits"), after the main table. */
extern const config_setting config_limit_settings[];
extern const size_t config_limit_nsettings;

/* config_pg_url.c: true, with 'why' (never repeating the URL, which may hold a password), if
 * libpq could not connect with the PostgreSQL URL 'url' as written. */
bool config_pg_url_wrong(const char *url, char *why, size_t len);

/* config_parse.c; each returns false, changing nothing, on a malformed value. */
bool config_parse_listen(const char *s, tt_config *cfg);
bool config_parse_otlp_listen(const char *s, tt_config *cfg); /* "off" or HOST:PORT */
bool config_parse_proxies(const char *s, tt_config *cfg);     /* --trust-proxy */
bool config_parse_origins(const char *value, tt_config *cfg); /* --allow-origins */

#endif
