/* dlq.c -- telltale dlq: the dead letter queue of a running daemon, for operators. Each
 * command is one request to the daemon's /api/v1/dlq routes; the answer is printed as the
 * JSON the daemon sent, so it can be piped into jq. */
#include "cli/cli.h"

#include "cli/http_client.h"
#include "cli/options.h"
#include "core/config.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: telltale dlq <command> [--url URL]\n"
    "\n"
    "The dead letter queue holds events the store refused for themselves (not an outage),\n"
    "with the store's error; a recovery worker retries them with backoff.\n"
    "\n"
    "commands:\n"
    "  list [--status S] [--after-id N] [--limit N]\n"
    "                       items by id (S: pending, retrying, recovered, failed)\n"
    "  stats                totals, average retries, age of the oldest unresolved item\n"
    "  retry ID             retry item ID at once (a failed item gets one more attempt)\n"
    "  recover              retry every pending and failed item at once\n"
    "  fail ID              give up on item ID\n"
    "  purge --older-than D delete resolved items created more than D ago (e.g. 30d)\n"
    "\n"
    "options:\n"
    "  --url URL   the daemon, an http:// or https:// URL (default: TELLTALE_URL, else\n"
    "              http:// + TELLTALE_LISTEN, else http://127.0.0.1:8080)\n"
    "Options take their value as --opt VALUE or --opt=VALUE; --help (-h) after any command\n"
    "prints this.\n"
    "The key: TELLTALE_KEY, else TELLTALE_SERVICE_KEY, else TELLTALE_INGEST_KEY (sent as apikey\n"
    "and Authorization: Bearer). TELLTALE_CACERT: the PEM file of a private CA that signed the\n"
    "daemon's certificate.\n"
    "\n"
    "exit status: 0 done, 1 the daemon refused or could not be reached, 2 usage error.\n";

typedef struct dlq_cmd {
    const char *name;
    const char *method;
    const char *path; /* %s: the id */
    bool takes_id;
} dlq_cmd;

static const dlq_cmd commands[] = {
    {"list", "GET", "/api/v1/dlq", false},
    {"stats", "GET", "/api/v1/dlq/stats", false},
    {"retry", "POST", "/api/v1/dlq/%s/retry", true},
    {"recover", "POST", "/api/v1/dlq/recover", false},
    {"fail", "POST", "/api/v1/dlq/%s/fail", true},
    {"purge", "DELETE", "/api/v1/dlq", false},
};

/* Appends "name=value" to the query string in 'path'. */
static void add_query(char *path, size_t len, const char *name, const char *value)
{
    size_t n = strlen(path);
    snprintf(path + n, len - n, "%c%s=%s", strchr(path, '?') ? '&' : '?', name, value);
}

static int usage_error(const char *what)
{
    fprintf(stderr, "telltale dlq: %s\n\n%s", what, USAGE);
    return EXIT_USAGE;
}

static const dlq_cmd *find(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].name, name) == 0) {
            return &commands[i];
        }
    }
    return NULL;
}

static bool is_status(const char *v)
{
    dlq_status s;
    return dlq_status_parse(v, &s);
}

static bool is_count(const char *v, unsigned long long min, unsigned long long max)
{
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    return v[0] >= '0' && v[0] <= '9' && *end == '\0' && n >= min && n <= max;
}

static bool is_after_id(const char *v)
{
    return is_count(v, 0, INT64_MAX);
}

static bool is_limit(const char *v)
{
    return is_count(v, 1, 1000);
}

static bool is_duration(const char *v)
{
    uint64_t ms;
    return strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789") == strlen(v) &&
           config_parse_duration_ms(v, &ms);
}

/* Each option's key is its query parameter. */
static const cli_option options[] = {
    {"--status", "pending, retrying, recovered or failed", is_status, "list", "status"},
    {"--after-id", "an item id, an integer >= 0", is_after_id, "list", "after_id"},
    {"--limit", "an integer from 1 to 1000", is_limit, "list", "limit"},
    {"--older-than", "a duration such as 30d, 12h, 90m or 0", is_duration, "purge", "older_than"},
    {"--url", CLI_URL_ACCEPTS, cli_url_valid, NULL, NULL},
};

/* Reads the options after the command into the query and 'url'; returns 0 or EXIT_USAGE,
 * having named the option as typed and what it accepts. */
static int read_options(int argc, char **argv, int i, const dlq_cmd *cmd, char *path, size_t len,
                        const char **url)
{
    char who[16];
    snprintf(who, sizeof who, "dlq %s", cmd->name);
    cli_options spec = {who, cmd->name, options, sizeof options / sizeof options[0]};
    const cli_option *o;
    const char *value;
    int got;
    while ((got = cli_option_only(&spec, argc, argv, &i, &o, &value)) > 0) {
        if (o->key == NULL) {
            *url = value;
        } else {
            add_query(path, len, o->key, value);
        }
    }
    if (got < 0) {
        return EXIT_USAGE;
    }
    if (strcmp(cmd->name, "purge") == 0 && strstr(path, "older_than=") == NULL) {
        return usage_error("purge needs --older-than, e.g. --older-than 30d");
    }
    return 0;
}

int cli_dlq(int argc, char **argv)
{
    if (cli_wants_help(argc, argv) || argc < 2) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const dlq_cmd *cmd = find(argv[1]);
    if (cmd == NULL) {
        fprintf(stderr,
                "telltale dlq: unknown command '%s': expected list, stats, retry, recover, fail "
                "or purge\n",
                argv[1]);
        return EXIT_USAGE;
    }
    int i = 2;
    char path[512];
    if (cmd->takes_id) {
        if (i >= argc || strspn(argv[i], "0123456789") != strlen(argv[i]) || argv[i][0] == '\0') {
            fprintf(stderr,
                    "telltale dlq %s: give the item's id, a positive integer, e.g. telltale "
                    "dlq %s 42\n",
                    cmd->name, cmd->name);
            return EXIT_USAGE;
        }
        snprintf(path, sizeof path, cmd->path, argv[i++]);
    } else {
        snprintf(path, sizeof path, "%s", cmd->path);
    }
    const char *url = NULL;
    int rc = read_options(argc, argv, i, cmd, path, sizeof path, &url);
    if (rc != 0) {
        return rc;
    }
    char base[1024];
    if (http_client_base(base, sizeof base, url, "telltale dlq") != 0) {
        return EXIT_USAGE;
    }
    http_client c;
    if (http_client_init(&c, base, NULL) != 0) {
        fprintf(stderr, "telltale dlq: out of memory\n");
        return 1;
    }
    long status = http_client_request(&c, "telltale dlq", cmd->method, path, NULL, 0, NULL, 3);
    if (status >= 200 && status < 300) {
        printf("%s\n", c.reply);
    } else if (status != 0) {
        fprintf(stderr, "telltale dlq %s: HTTP %ld: %s\n", cmd->name, status, c.reply);
    }
    http_client_free(&c);
    return status >= 200 && status < 300 ? 0 : 1;
}
