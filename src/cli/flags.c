/* flags.c -- telltale flags: the feature flags of a running daemon (its /api/v1/flags routes).
 * "set" changes only the fields given: it reads the flag, merges, and writes it back with
 * If-Match on the version it read (or the one --if-match names), so a change made meanwhile by
 * someone else is refused (412) rather than overwritten. Answers are printed as the JSON the daemon
 * sent. */
#include "cli/cli.h"

#include "cli/http_client.h"
#include "cli/options.h"
#include "core/flag.h"
#include "core/json_scan.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
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
    "  --enable, --disable     the flag's 'enabled' (one of them)\n"
    "  --variant V             a string-valued flag whose value is V (1 to 64 bytes)\n"
    "  --boolean               a boolean flag (no variant; not with --variant)\n"
    "  --rollout N             rollout_percent, 0 to 100 (needs a targetingKey to evaluate)\n"
    "  --description TEXT      what the flag is for\n"
    "  --rules JSON            targeting rules, e.g. "
    "'[{\"attribute\":\"plan\",\"in\":[\"pro\"]}]'\n"
    "                          ('null' removes them)\n"
    "\n"
    "options:\n"
    "  --if-match VERSION      (set, delete) only if the flag is at VERSION: the whole number\n"
    "                          in its \"version\" (telltale quotes it), or * for any version\n"
    "  --url URL               the daemon, an http:// or https:// URL (default:\n"
    "                          TELLTALE_URL, else http:// + TELLTALE_LISTEN, else\n"
    "                          http://127.0.0.1:8080)\n"
    "Options may stand anywhere, before or after the command, as --opt VALUE or --opt=VALUE;\n"
    "contradictory ones, or one given twice, are refused. --help (-h) anywhere\n"
    "prints this.\n"
    "The key: TELLTALE_KEY, else TELLTALE_SERVICE_KEY, else TELLTALE_INGEST_KEY (sent as apikey\n"
    "and Authorization: Bearer). TELLTALE_CACERT: the PEM file of a private CA that signed the\n"
    "daemon's certificate.\n"
    "\n"
    "exit status: 0 done, 1 the daemon refused (e.g. 412: changed meanwhile) or could not be\n"
    "reached, 2 usage error.\n";

typedef struct flags_opts {
    const char *who; /* "telltale flags set", for messages */
    const char *key; /* NULL: list */
    const char *url;
    const char *if_match;
    cJSON *fields; /* set: the fields given */
} flags_opts;

static bool all_digits(const char *s)
{
    return s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

static bool is_rollout(const char *v)
{
    return all_digits(v) && strlen(v) <= 3 && atoi(v) <= 100;
}

/* Scanned as the daemon scans a body: cJSON alone would round an integer beyond 2^53-1, and
 * the request (printed from the parsed rules) would carry the rounded one without a word. */
static bool is_rules(const char *v)
{
    char err[TT_ERRLEN];
    cJSON *rules = json_scan(v, strlen(v), 64, NULL) == JSON_SCAN_OK ? cJSON_Parse(v) : NULL;
    bool ok = rules != NULL && flag_rules_check(rules, err) == 0;
    cJSON_Delete(rules);
    return ok;
}

/* Not empty: the daemon refuses "" (a boolean flag's variant is null: --boolean). */
static bool is_variant(const char *v)
{
    return v[0] != '\0' && strlen(v) <= FLAG_VARIANT_MAX;
}

static bool is_description(const char *v)
{
    return strlen(v) <= FLAG_DESCRIPTION_MAX;
}

/* A version as the flag's "version" shows it (1, 2, ...; no leading zero, a tag the daemon
 * never issues), which the request quotes as its entity-tag; or *, any version. */
static bool is_version(const char *v)
{
    unsigned long long n;
    return strcmp(v, "*") == 0 || (v[0] != '0' && cli_integer(v, 1, INT64_MAX, &n));
}

/* The field options (of set) carry the flag's field as their key. */
static const cli_option options[] = {
    {"--enable", NULL, NULL, "set", "enabled"},
    {"--disable", NULL, NULL, "set", "enabled"},
    {"--boolean", NULL, NULL, "set", "variant"},
    {"--variant", "a variant name of 1 to 64 bytes, e.g. dual", is_variant, "set", "variant"},
    {"--rollout", "a whole percentage from 0 to 100", is_rollout, "set", "rollout_percent"},
    {"--description", "a text of at most 1024 bytes saying what the flag is for", is_description,
     "set", "description"},
    {"--rules",
     "a JSON array of rules, e.g. '[{\"attribute\":\"plan\",\"in\":[\"pro\"]}]', or null; an "
     "integer beyond ±9007199254740991 goes as a string (I-JSON, RFC 7493 §2.2)",
     is_rules, "set", "rules"},
    {"--if-match",
     "a flag's version, the integer in its \"version\" (1 to " CLI_INT64_MAX_TEXT
     ", without quotes), or *",
     is_version, "set delete", NULL},
    {"--url", CLI_URL_ACCEPTS, NULL, NULL, NULL}, /* checked with TELLTALE_URL: http_client.h */
};
#define NOPTIONS (sizeof options / sizeof options[0])

static const cli_positional flag_key = {"KEY", "1 to 64 of a-z 0-9 _ . : -", flag_key_valid};

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

/* The options read into 'o'; returns 0, or EXIT_USAGE (said) for set without a field. */
static int take_options(const cli_options *spec, const cli_args *a, flags_opts *o)
{
    for (size_t i = 0; i < a->ngiven; i++) {
        const cli_option *opt = a->given[i].opt;
        if (strcmp(opt->name, "--url") == 0) {
            o->url = a->given[i].value;
        } else if (strcmp(opt->name, "--if-match") == 0) {
            o->if_match = a->given[i].value;
        } else {
            add_field(o->fields, opt, a->given[i].value);
        }
    }
    if (strcmp(spec->command, "set") == 0 && o->fields->child == NULL) {
        fprintf(stderr, "telltale flags set: needs at least one field option: --enable, --disable, "
                        "--boolean, --variant, --rollout, --description or --rules\n");
        return EXIT_USAGE;
    }
    return 0;
}

/* "If-Match: \"3\"" for --if-match 3 (a version is its entity-tag in quotes), "If-Match: *". */
static void if_match_header(char out[64], const char *version)
{
    snprintf(out, 64, strcmp(version, "*") == 0 ? "If-Match: %s" : "If-Match: \"%s\"", version);
}

static long request(http_client *c, const flags_opts *o, const char *method, const char *path,
                    const char *body)
{
    return http_client_request(c, o->who, method, path, body, body != NULL ? strlen(body) : 0,
                               body != NULL ? "application/json" : NULL, 3);
}

/* set: the current flag (or a new one) with the fields given, written back conditionally: on
 * the version --if-match names, else on the version read. */
static long set_flag(http_client *c, const char *path, flags_opts *o, char *if_match)
{
    long status = request(c, o, "GET", path, NULL);
    cJSON *flag = status == 200 ? cJSON_Parse(c->reply) : cJSON_CreateObject();
    if (status != 200 && status != 404) {
        cJSON_Delete(flag);
        return status;
    }
    if (flag == NULL) {
        fprintf(stderr, "%s: the daemon's answer is not JSON\n", o->who);
        return 0;
    }
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(flag, "version");
    char read[32];
    if (o->if_match == NULL && cJSON_IsNumber(version)) {
        snprintf(read, sizeof read, "%.0f", version->valuedouble);
        o->if_match = read;
    }
    if (o->if_match != NULL) {
        if_match_header(if_match, o->if_match);
    }
    c->header = if_match[0] != '\0' ? if_match : NULL;
    for (cJSON *f = o->fields->child; f != NULL; f = f->next) {
        cJSON_DeleteItemFromObjectCaseSensitive(flag, f->string);
        cJSON_AddItemToObject(flag, f->string, cJSON_Duplicate(f, true));
    }
    char *body = cJSON_PrintUnformatted(flag);
    cJSON_Delete(flag);
    status = body != NULL ? request(c, o, "PUT", path, body) : 0;
    free(body);
    return status;
}

/* Reads the command line into 'o'; returns the subcommand's place in argv, or -1 after a usage
 * error (said). */
static int read_args(int argc, char **argv, flags_opts *o, char who[16])
{
    int at = cli_subcommand("flags", options, NOPTIONS, "list get set delete", argc, argv);
    if (at < 0) {
        return -1;
    }
    const char *cmd = argv[at];
    snprintf(who, 16, "flags %s", cmd);
    cli_options spec = {.who = who,
                        .command = cmd,
                        .table = options,
                        .n = NOPTIONS,
                        .pos = &flag_key,
                        .npos = strcmp(cmd, "list") != 0 ? 1 : 0};
    cli_args a;
    int rc = cli_args_read(&spec, argc, argv, at, &a);
    rc = rc == 0 ? take_options(&spec, &a, o) : EXIT_USAGE;
    o->key = rc == 0 && spec.npos > 0 ? a.args[0] : NULL;
    cli_args_free(&a);
    return rc == 0 ? at : -1;
}

int cli_flags(int argc, char **argv)
{
    if (cli_wants_help(argc, argv) || argc < 2) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    flags_opts o = {.fields = cJSON_CreateObject()};
    char who[16] = "flags", http_who[32], base[1024], path[256], if_match[64] = "";
    int at = o.fields != NULL ? read_args(argc, argv, &o, who) : -1;
    snprintf(http_who, sizeof http_who, "telltale %s", who);
    o.who = http_who;
    const char *key = NULL;
    int rc = at < 0 || http_client_base(base, sizeof base, o.url, http_who) != 0 ||
                     http_client_key(&key, NULL, http_who) != 0
                 ? EXIT_USAGE
                 : 0;
    http_client c;
    if (rc != 0 || http_client_init(&c, base, key) != 0) {
        cJSON_Delete(o.fields);
        return rc != 0 ? rc : 1;
    }
    const char *cmd = argv[at];
    snprintf(path, sizeof path, "/api/v1/flags%s%s", o.key != NULL ? "/" : "",
             o.key != NULL ? o.key : "");
    long status;
    if (strcmp(cmd, "set") == 0) {
        status = set_flag(&c, path, &o, if_match);
    } else {
        if (o.if_match != NULL) {
            if_match_header(if_match, o.if_match);
            c.header = if_match;
        }
        status = request(&c, &o, strcmp(cmd, "delete") == 0 ? "DELETE" : "GET", path, NULL);
    }
    if (status >= 200 && status < 300) {
        printf("%s\n", status == 204 ? "{\"deleted\":true}" : c.reply);
    } else if (status != 0) {
        http_client_say_refusal(&c, http_who, status);
    }
    http_client_free(&c);
    cJSON_Delete(o.fields);
    return status >= 200 && status < 300 ? 0 : 1;
}
