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
    "Options may stand anywhere, before or after the command, as --opt VALUE or --opt=VALUE;\n"
    "contradictory ones, or one given twice, are refused. --help (-h) anywhere\n"
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
    unsigned long long n;
    return cli_integer(v, min, max, &n);
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

#define DURATION_ACCEPTS "a duration such as 30d, 12h, 90m or 0"

/* Each option's key is its query parameter. */
static const cli_option options[] = {
    {"--status", "pending, retrying, recovered or failed", is_status, "list", "status"},
    {"--after-id", "an item id, an integer from 0 to " CLI_INT64_MAX_TEXT, is_after_id, "list",
     "after_id"},
    {"--limit", "an integer from 1 to 1000", is_limit, "list", "limit"},
    {"--older-than", DURATION_ACCEPTS, is_duration, "purge", "older_than"},
    {"--url", CLI_URL_ACCEPTS, NULL, NULL, NULL}, /* checked with TELLTALE_URL: http_client.h */
};
#define NOPTIONS (sizeof options / sizeof options[0])

static bool is_id(const char *v)
{
    return is_count(v, 1, INT64_MAX);
}

static const cli_positional item_id = {
    "ID", "an item's id, an integer from 1 to " CLI_INT64_MAX_TEXT ", e.g. 42", is_id};

/* The request's path from the arguments read: the id, the options as query parameters, and
 * the --url given; returns 0 or EXIT_USAGE (said). */
static int build_path(const cli_options *spec, const dlq_cmd *cmd, const cli_args *a, char *path,
                      size_t len, const char **url)
{
    snprintf(path, len, cmd->path, cmd->takes_id ? a->args[0] : "");
    for (size_t i = 0; i < a->ngiven; i++) {
        if (a->given[i].opt->key == NULL) {
            *url = a->given[i].value;
        } else {
            add_query(path, len, a->given[i].opt->key, a->given[i].value);
        }
    }
    if (strcmp(cmd->name, "purge") == 0 && cli_args_find(a, "--older-than") == NULL) {
        fprintf(stderr, "telltale %s: needs --older-than: %s\n", spec->who, DURATION_ACCEPTS);
        return EXIT_USAGE;
    }
    return 0;
}

/* Reads the command line into the request's path and 'url'; returns the command, or NULL after
 * a usage error (said). */
static const dlq_cmd *read_args(int argc, char **argv, char *path, size_t len, const char **url,
                                char who[16])
{
    int at =
        cli_subcommand("dlq", options, NOPTIONS, "list stats retry recover fail purge", argc, argv);
    const dlq_cmd *cmd = at > 0 ? find(argv[at]) : NULL;
    if (cmd == NULL) {
        return NULL;
    }
    snprintf(who, 16, "dlq %s", cmd->name);
    cli_options spec = {.who = who,
                        .command = cmd->name,
                        .table = options,
                        .n = NOPTIONS,
                        .pos = &item_id,
                        .npos = cmd->takes_id ? 1 : 0};
    cli_args a;
    int rc = cli_args_read(&spec, argc, argv, at, &a);
    rc = rc == 0 ? build_path(&spec, cmd, &a, path, len, url) : EXIT_USAGE;
    cli_args_free(&a);
    return rc == 0 ? cmd : NULL;
}

int cli_dlq(int argc, char **argv)
{
    if (cli_wants_help(argc, argv) || argc < 2) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    char path[512], who[16], http_who[32], base[1024];
    const char *url = NULL;
    const dlq_cmd *cmd = read_args(argc, argv, path, sizeof path, &url, who);
    if (cmd == NULL) {
        return EXIT_USAGE;
    }
    snprintf(http_who, sizeof http_who, "telltale %s", who);
    const char *key;
    if (http_client_base(base, sizeof base, url, http_who) != 0 ||
        http_client_key(&key, NULL, http_who) != 0) {
        return EXIT_USAGE;
    }
    http_client c;
    if (http_client_init(&c, base, key) != 0) {
        fprintf(stderr, "%s: out of memory\n", http_who);
        return 1;
    }
    long status = http_client_request(&c, http_who, cmd->method, path, NULL, 0, NULL, 3);
    if (status >= 200 && status < 300) {
        printf("%s\n", c.reply);
    } else if (status != 0) {
        http_client_say_refusal(&c, http_who, status);
    }
    http_client_free(&c);
    return status >= 200 && status < 300 ? 0 : 1;
}
