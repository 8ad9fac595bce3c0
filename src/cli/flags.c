/* flags.c -- telltale flags: the feature flags of a running daemon (its /api/v1/flags routes).
 * "set" changes only the fields given: it reads the flag, merges, and writes it back with
 * If-Match on the version it read, so a change made meanwhile by someone else is refused (412)
 * rather than overwritten. Answers are printed as the JSON the daemon sent. */
#include "cli/cli.h"

#include "cli/http_client.h"
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
    "  --url URL               the daemon (default: TELLTALE_URL, else http:// +\n"
    "                          TELLTALE_LISTEN, else http://127.0.0.1:8080)\n"
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

/* A field option at argv[*i]: 1 if it was one (added to 'f'), 0 if not, -1 if its value is bad
 * (*accepts then says what the option takes). */
static int read_field(int argc, char **argv, int *i, cJSON *f, const char **accepts)
{
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (strcmp(a, "--enable") == 0 || strcmp(a, "--disable") == 0) {
        cJSON_AddBoolToObject(f, "enabled", strcmp(a, "--enable") == 0);
        return 1;
    }
    if (strcmp(a, "--boolean") == 0) {
        cJSON_AddNullToObject(f, "variant");
        return 1;
    }
    if (v == NULL) {
        return 0;
    }
    if (strcmp(a, "--variant") == 0) {
        cJSON_AddStringToObject(f, "variant", v);
    } else if (strcmp(a, "--description") == 0) {
        cJSON_AddStringToObject(f, "description", v);
    } else if (strcmp(a, "--rollout") == 0) {
        if (!all_digits(v) || strlen(v) > 3 || atoi(v) > 100) {
            *accepts = "a whole percentage from 0 to 100";
            return -1;
        }
        cJSON_AddNumberToObject(f, "rollout_percent", atoi(v));
    } else if (strcmp(a, "--rules") == 0) {
        cJSON *rules = cJSON_Parse(v);
        if (rules == NULL) {
            *accepts = "a JSON array of rules, e.g. '[{\"attribute\":\"plan\",\"in\":[\"pro\"]}]', "
                       "or null";
            return -1;
        }
        cJSON_AddItemToObject(f, "rules", rules);
    } else {
        return 0;
    }
    ++*i;
    return 1;
}

static int read_options(int argc, char **argv, int i, const char *cmd, flags_opts *o)
{
    bool is_set = strcmp(cmd, "set") == 0;
    for (; i < argc; i++) {
        const char *accepts = "";
        int field = is_set ? read_field(argc, argv, &i, o->fields, &accepts) : 0;
        if (field < 0) {
            fprintf(stderr, "telltale flags: invalid %s '%s': expected %s\n", argv[i], argv[i + 1],
                    accepts);
            return EXIT_USAGE;
        }
        if (field > 0) {
            continue;
        }
        if (strcmp(argv[i], "--url") == 0 && i + 1 < argc) {
            o->url = argv[++i];
        } else if (strcmp(argv[i], "--if-match") == 0 && i + 1 < argc && all_digits(argv[i + 1]) &&
                   strcmp(cmd, "list") != 0 && strcmp(cmd, "get") != 0) {
            o->if_match = argv[++i];
        } else {
            return usage_error("unexpected argument '%s'", argv[i]);
        }
    }
    if (is_set && o->fields->child == NULL) {
        return usage_error("%s needs at least one field option (see --help)", cmd);
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
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
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
    flags_opts o = {.fields = cJSON_CreateObject()};
    int rc = o.fields == NULL ? 1 : read_options(argc, argv, list ? 2 : 3, cmd, &o);
    char base[1024], path[256], if_match[64] = "";
    http_client c;
    if (rc != 0 ||
        (http_client_base(base, sizeof base, o.url), http_client_init(&c, base, NULL)) != 0) {
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
