/* flags.c -- telltale flags: the feature flags of a running daemon (its /api/v1/flags routes).
 * "set" changes only the fields given: it reads the flag, merges, and writes it back with
 * If-Match on the version it read, so a change made meanwhile by someone else is refused (412)
 * rather than overwritten. Answers are printed as the JSON the daemon sent. */
#include "cli/cli.h"

#include "cli/http_client.h"
#include "cli/options.h"
#include "core/flag.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: telltale flags <command> [options] [--url URL]\n"
    "\n"
    "Feature flags choose, per dashboard, what it does (dashboard.data_source = legacy,\n"
    "realtime or dual); a change reaches open dashboards at once.\n"
    "\n"
    "commands:\n"
    "  list                    every flag\n"
    "  get KEY                 one flag\n"
    "  set KEY [field options] create KEY, or change only the fields given\n"
    "  delete KEY              delete KEY\n"
    "\n"
    "field options (set):\n"
    "  --enable, --disable     the flag's 'enabled'\n"
    "  --variant V             a string-valued flag whose value is V\n"
    "  --boolean               a boolean flag (no variant)\n"
    "  --rollout N             rollout_percent, 0 to 100 (needs a targetingKey to evaluate)\n"
    "  --description TEXT      what the flag is for\n"
    "  --rules JSON            targeting rules, e.g. "
    "'[{\"attribute\":\"plan\",\"in\":[\"pro\"]}]'\n"
    "                          ('null' removes them)\n"
    "\n"
    "options:\n"
    "  --if-match VERSION      (set, delete) only if the flag is at VERSION\n"
    "  --url URL               the daemon, an http:// or https:// URL (default:\n"
    "                          TELLTALE_URL, else http:// + TELLTALE_LISTEN, else\n"
    "                          http://127.0.0.1:8080)\n"
    "Options take their value as --opt VALUE or --opt=VALUE; --help (-h) after any command\n"
    "prints this.\n"
    "The key: TELLTALE_KEY, else TELLTALE_SERVICE_KEY, else TELLTALE_INGEST_KEY (sent as apikey\n"
    "and Authorization: Bearer). TELLTALE_CACERT: the PEM file of a private CA that signed the\n"
    "daemon's certificate.\n"
    "\n"
    "exit status: 0 done, 1 the daemon refused (e.g. 412: changed meanwhile) or could not be\n"
    "reached, 2 usage error.\n";

typedef struct flags_opts {
    const char *url;
    const char *if_match;
    cJSON *fields; /* set: the fields given */
} flags_opts;

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "telltale flags: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", USAGE);
    return EXIT_USAGE;
}

static bool all_digits(const char *s)
{
    return s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

static bool is_rollout(const char *v)
{
    return all_digits(v) && strlen(v) <= 3 && atoi(v) <= 100;
}

static bool is_rules(const char *v)
{
    cJSON *rules = cJSON_Parse(v);
    bool ok = rules != NULL;
    cJSON_Delete(rules);
    return ok;
}

static bool is_version(const char *v)
{
    return all_digits(v) && strlen(v) <= 20;
}

/* The field options (of set) carry the flag's field as their key. */
static const cli_option options[] = {
    {"--enable", NULL, NULL, "set", "enabled"},
    {"--disable", NULL, NULL, "set", "enabled"},
    {"--boolean", NULL, NULL, "set", "variant"},
    {"--variant", "a variant name, e.g. dual", NULL, "set", "variant"},
    {"--rollout", "a whole percentage from 0 to 100", is_rollout, "set", "rollout_percent"},
    {"--description", "a text saying what the flag is for", NULL, "set", "description"},
    {"--rules",
     "a JSON array of rules, e.g. '[{\"attribute\":\"plan\",\"in\":[\"pro\"]}]', or null", is_rules,
     "set", "rules"},
    {"--if-match", "a flag version, the whole number in its \"version\"", is_version, "set delete",
     NULL},
    {"--url", CLI_URL_ACCEPTS, cli_url_valid, NULL, NULL},
};

/* Adds what a field option sets to 'f' (its value already checked). */
static void add_field(cJSON *f, const cli_option *opt, const char *v)
{
    if (strcmp(opt->name, "--boolean") == 0) {
        cJSON_AddNullToObject(f, opt->key);
    } else if (opt->accepts == NULL) {
        cJSON_AddBoolToObject(f, opt->key, strcmp(opt->name, "--enable") == 0);
    } else if (strcmp(opt->name, "--rollout") == 0) {
        cJSON_AddNumberToObject(f, opt->key, atoi(v));
    } else if (strcmp(opt->name, "--rules") == 0) {
        cJSON_AddItemToObject(f, opt->key, cJSON_Parse(v));
    } else {
        cJSON_AddStringToObject(f, opt->key, v);
    }
}

static int read_options(int argc, char **argv, int i, const cli_options *spec, flags_opts *o)
{
    const cli_option *opt;
    const char *v;
    int got;
    while ((got = cli_option_only(spec, argc, argv, &i, &opt, &v)) > 0) {
        if (strcmp(opt->name, "--url") == 0) {
            o->url = v;
        } else if (strcmp(opt->name, "--if-match") == 0) {
            o->if_match = v;
        } else {
            add_field(o->fields, opt, v);
        }
    }
    if (got < 0) {
        return EXIT_USAGE;
    }
    if (strcmp(spec->command, "set") == 0 && o->fields->child == NULL) {
        return usage_error("%s needs at least one field option (see --help)", spec->command);
    }
    return 0;
}

static long request(http_client *c, const char *method, const char *path, const char *body)
{
    return http_client_request(c, "telltale flags", method, path, body,
                               body != NULL ? strlen(body) : 0,
                               body != NULL ? "application/json" : NULL, 3);
}

/* set: the current flag (or a new one) with the fields given, written back conditionally. */
static long set_flag(http_client *c, const char *path, flags_opts *o, char *if_match_header)
{
    long status = o->if_match != NULL ? 404 : request(c, "GET", path, NULL);
    cJSON *flag = status == 200 ? cJSON_Parse(c->reply) : cJSON_CreateObject();
    if (status != 200 && status != 404) {
        cJSON_Delete(flag);
        return status;
    }
    if (flag == NULL) {
        fprintf(stderr, "telltale flags set: the daemon's answer is not JSON\n");
        return 0;
    }
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(flag, "version");
    if (o->if_match != NULL) {
        snprintf(if_match_header, 64, "If-Match: \"%s\"", o->if_match);
    } else if (cJSON_IsNumber(version)) {
        snprintf(if_match_header, 64, "If-Match: \"%.0f\"", version->valuedouble);
    }
    c->header = if_match_header[0] != '\0' ? if_match_header : NULL;
    for (cJSON *f = o->fields->child; f != NULL; f = f->next) {
        cJSON_DeleteItemFromObjectCaseSensitive(flag, f->string);
        cJSON_AddItemToObject(flag, f->string, cJSON_Duplicate(f, true));
    }
    char *body = cJSON_PrintUnformatted(flag);
    cJSON_Delete(flag);
    status = body != NULL ? request(c, "PUT", path, body) : 0;
    free(body);
    return status;
}

int cli_flags(int argc, char **argv)
{
    if (cli_wants_help(argc, argv) || argc < 2) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const char *cmd = argv[1];
    bool list = strcmp(cmd, "list") == 0;
    if (!list && strcmp(cmd, "get") && strcmp(cmd, "set") && strcmp(cmd, "delete")) {
        return usage_error("unknown command '%s'", cmd);
    }
    if (!list && (argc < 3 || !flag_key_valid(argv[2]))) {
        return usage_error("%s needs a flag KEY: 1 to 64 of a-z 0-9 _ . : -", cmd);
    }
    char who[16];
    snprintf(who, sizeof who, "flags %s", cmd);
    cli_options spec = {who, cmd, options, sizeof options / sizeof options[0]};
    flags_opts o = {.fields = cJSON_CreateObject()};
    int rc = o.fields == NULL ? 1 : read_options(argc, argv, list ? 2 : 3, &spec, &o);
    char base[1024], path[256], if_match[64] = "";
    if (rc == 0 && http_client_base(base, sizeof base, o.url, "telltale flags") != 0) {
        rc = EXIT_USAGE;
    }
    http_client c;
    if (rc != 0 || http_client_init(&c, base, NULL) != 0) {
        cJSON_Delete(o.fields);
        return rc != 0 ? rc : 1;
    }
    snprintf(path, sizeof path, "/api/v1/flags%s%s", list ? "" : "/", list ? "" : argv[2]);
    long status;
    if (strcmp(cmd, "set") == 0) {
        status = set_flag(&c, path, &o, if_match);
    } else {
        if (o.if_match != NULL) {
            snprintf(if_match, sizeof if_match, "If-Match: \"%s\"", o.if_match);
            c.header = if_match;
        }
        status = request(&c, strcmp(cmd, "delete") == 0 ? "DELETE" : "GET", path, NULL);
    }
    if (status >= 200 && status < 300) {
        printf("%s\n", status == 204 ? "{\"deleted\":true}" : c.reply);
    } else if (status != 0) {
        fprintf(stderr, "telltale flags %s: HTTP %ld: %s\n", cmd, status, c.reply);
    }
    http_client_free(&c);
    cJSON_Delete(o.fields);
    return status >= 200 && status < 300 ? 0 : 1;
}
