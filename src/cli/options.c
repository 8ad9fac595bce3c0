/* options.c -- the client subcommands' options, read alike (options.h). */
#include "cli/options.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return true;
        }
    }
    return false;
}

/* True if 'command' is one of the space-separated words of opt->only (NULL: every command). */
static bool belongs(const cli_option *opt, const char *command)
{
    if (opt->only == NULL || command == NULL) {
        return true;
    }
    size_t n = strlen(command);
    for (const char *p = opt->only + strspn(opt->only, " "); *p != '\0';) {
        size_t w = strcspn(p, " ");
        if (w == n && strncmp(p, command, n) == 0) {
            return true;
        }
        p += w;
        p += strspn(p, " ");
    }
    return false;
}

/* "telltale WHO: WHAT: WHO accepts --a, --b and --help", for an argument it does not take. */
static void say_accepted(const cli_options *o, const char *what)
{
    const char *sep = "";
    fprintf(stderr, "telltale %s: %s: %s accepts ", o->who, what, o->who);
    for (size_t k = 0; k < o->n; k++) {
        if (belongs(&o->table[k], o->command)) {
            fprintf(stderr, "%s%s", sep, o->table[k].name);
            sep = ", ";
        }
    }
    fprintf(stderr, "%s--help\n", sep[0] != '\0' ? " and " : "");
}

/* The option of the command spelled 'arg' up to its '=' (if any). */
static const cli_option *find(const cli_options *o, const char *arg, size_t len)
{
    for (size_t k = 0; k < o->n; k++) {
        const cli_option *opt = &o->table[k];
        if (strlen(opt->name) == len && strncmp(opt->name, arg, len) == 0 &&
            belongs(opt, o->command)) {
            return opt;
        }
    }
    return NULL;
}

int cli_option_next(const cli_options *o, int argc, char **argv, int *i, const cli_option **opt,
                    const char **value)
{
    const char *arg = argv[*i];
    if (arg[0] != '-' || arg[1] == '\0') {
        return 0;
    }
    const char *eq = strchr(arg, '=');
    size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    char what[160];
    if ((*opt = find(o, arg, len)) == NULL) {
        snprintf(what, sizeof what, "unknown option '%.*s'", (int)(len < 100 ? len : 100), arg);
        say_accepted(o, what);
        return -1;
    }
    ++*i;
    const char *name = (*opt)->name, *accepts = (*opt)->accepts;
    if (accepts == NULL && eq != NULL) {
        fprintf(stderr, "telltale %s: %s is a switch and takes no value: write %s alone\n", o->who,
                name, name);
        return -1;
    }
    *value = eq != NULL ? eq + 1 : NULL;
    if (accepts != NULL && eq == NULL && *i < argc && strncmp(argv[*i], "--", 2) != 0) {
        *value = argv[(*i)++];
    }
    if (accepts != NULL && *value == NULL) {
        fprintf(stderr, "telltale %s: %s needs a value: %s\n", o->who, name, accepts);
        return -1;
    }
    if ((*opt)->valid != NULL && !(*opt)->valid(*value)) {
        fprintf(stderr, "telltale %s: invalid %s '%.64s': expected %s\n", o->who, name, *value,
                accepts);
        return -1;
    }
    return 1;
}

int cli_option_only(const cli_options *o, int argc, char **argv, int *i, const cli_option **opt,
                    const char **value)
{
    if (*i >= argc) {
        return 0;
    }
    int got = cli_option_next(o, argc, argv, i, opt, value);
    if (got == 0) {
        char what[160];
        snprintf(what, sizeof what, "unexpected argument '%.100s'", argv[*i]);
        say_accepted(o, what);
        return -1;
    }
    return got;
}

bool cli_url_valid(const char *url)
{
    size_t n = strncasecmp(url, "http://", 7) == 0    ? 7
               : strncasecmp(url, "https://", 8) == 0 ? 8
                                                      : 0;
    if (n == 0 || url[n] == '\0' || url[n] == '/') {
        return false;
    }
    for (const char *p = url; *p != '\0'; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            return false; /* curl would refuse it as "bad/illegal format" */
        }
    }
    return true;
}
