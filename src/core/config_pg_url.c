/* config_pg_url.c -- whether a PostgreSQL store URL is one libpq can connect with, checked at
 * start-up (a usage error, exit 2) rather than at the first connection, where libpq's message
 * would repeat the URL and its password into the log. The URL is read by libpq itself
 * (PQconninfoParse: the URI form of PostgreSQL 15 docs §34.1.1.2); what it leaves to connect
 * time -- the port's range and sslmode's words -- is checked here as libpq will check it. */
#include "core/config_internal.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 'msg' into 'why' with every copy of 'url' in it written "the URL", and no final newline. */
static void without_url(const char *msg, const char *url, char *why, size_t len)
{
    size_t n = 0, ulen = strlen(url);
    why[0] = '\0';
    while (*msg != '\0' && n + 1 < len) {
        if (ulen > 0 && strncmp(msg, url, ulen) == 0) {
            n += (size_t)snprintf(why + n, len - n, "the URL");
            n = n < len ? n : len - 1;
            msg += ulen;
        } else {
            why[n++] = *msg++;
            why[n] = '\0';
        }
    }
    while (n > 0 && (why[n - 1] == '\n' || why[n - 1] == ' ')) {
        why[--n] = '\0';
    }
}

/* Whether every entry of a comma-separated port list (one per host) is empty (libpq's
 * default) or a number from 1 to 65535. */
static bool ports_valid(const char *ports)
{
    for (const char *p = ports;; p++) {
        size_t n = strcspn(p, ",");
        char digits[8] = "";
        if (n > 0 && (n > 5 || strspn(p, "0123456789") < n)) {
            return false;
        }
        memcpy(digits, p, n);
        long v = n > 0 ? strtol(digits, NULL, 10) : 1;
        if (v < 1 || v > 65535) {
            return false;
        }
        p += n;
        if (*p == '\0') {
            return true;
        }
    }
}

static bool sslmode_valid(const char *mode)
{
    static const char *const modes[] = {"disable", "allow",     "prefer",
                                        "require", "verify-ca", "verify-full"};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (strcmp(mode, modes[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Whether a URL that names a user ("USER[:PASSWORD]@") names a host after it too, or in a
 * host= parameter: "postgres://u:pw@/db" is a host left out, which libpq would quietly take
 * as its local socket. 'rest' is what follows "scheme://". */
static bool host_named(const char *rest)
{
    size_t authority = strcspn(rest, "/?");
    const char *at = memchr(rest, '@', authority);
    if (at == NULL) {
        return true; /* "postgres:///db": libpq's defaults, asked for as such */
    }
    const char *host = at + 1;
    size_t n = (size_t)(rest + authority - host);
    const char *query = strchr(rest, '?');
    return (n > 0 && host[0] != ':') ||
           (query != NULL && (strstr(query, "?host=") != NULL || strstr(query, "&host=") != NULL));
}

bool config_pg_url_wrong(const char *url, char *why, size_t len)
{
    const char *rest = strstr(url, "://");
    if (rest == NULL || !host_named(rest + 3)) {
        snprintf(why, len, "a user is named but no host after the '@'");
        return true;
    }
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &err);
    if (opts == NULL) {
        without_url(err != NULL ? err : "out of memory", url, why, len);
        PQfreemem(err);
        return true;
    }
    why[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword != NULL && why[0] == '\0'; o++) {
        if (o->val == NULL) {
            continue;
        }
        if (strcmp(o->keyword, "port") == 0 && !ports_valid(o->val)) {
            snprintf(why, len, "the port is no number from 1 to 65535");
        } else if (strcmp(o->keyword, "sslmode") == 0 && !sslmode_valid(o->val)) {
            snprintf(why, len,
                     "sslmode is disable, allow, prefer, require, verify-ca or verify-full");
        }
    }
    PQconninfoFree(opts);
    return why[0] != '\0';
}
