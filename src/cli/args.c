/* args.c -- flags and environment into a tt_config, for serve. */
#include "cli/cli.h"

#include "cli/options.h"
#include "core/config.h"

#include <stdlib.h>
#include <string.h>

const char *cli_getenv(const char *name)
{
    return getenv(name);
}

/* Splits "--flag=value" / "--flag value" at argv[*i]; advances *i past a separate value (one
 * that does not start with "--", as the other commands read theirs: options.h). Returns false
 * (having said why) on a malformed argument or an unknown flag: the flag is looked up before its
 * value is asked for, so "--bogus" last is unknown, not missing a value. */
static bool split_flag(int argc, char **argv, int *i, char flag[64], const char **value)
{
    const char *arg = argv[*i];
    const char *eq = strchr(arg, '=');
    size_t n = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    if (arg[0] != '-' || arg[1] == '\0') {
        if (*i > 1 && config_flag_is_bool(argv[*i - 1])) {
            /* "--demo true": the switch takes no separate value. */
            fprintf(stderr,
                    "telltale %s: unexpected argument '%s' after %s: %s is a switch and takes "
                    "no separate value; write %s, or %s=true or %s=false\n",
                    argv[0], arg, argv[*i - 1], argv[*i - 1], argv[*i - 1], argv[*i - 1],
                    argv[*i - 1]);
        } else {
            fprintf(stderr,
                    "telltale %s: unexpected argument '%s': options start with -- "
                    "(see telltale %s --help)\n",
                    argv[0], arg, argv[0]);
        }
        return false;
    }
    if (n < 64) {
        memcpy(flag, arg, n);
        flag[n] = '\0';
    }
    if (cli_help_given_value(argv[0], arg)) {
        return false;
    }
    if (n >= 64 || config_flag_form(flag) == NULL) {
        fprintf(stderr, "telltale %s: unknown option '%.*s' (telltale %s --help lists them)\n",
                argv[0], (int)(n < 64 ? n : 64), arg, argv[0]);
        return false;
    }
    *value = NULL;
    if (eq != NULL) {
        *value = eq + 1;
    } else if (!config_flag_is_bool(flag)) {
        if (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0) {
            fprintf(stderr, "telltale %s: %s needs a value: %s\n", argv[0], flag,
                    config_flag_form(flag));
            return false;
        }
        *value = argv[++*i];
    }
    return true;
}

/* Whether flags[n] was given before, after saying so. A setting given twice is a usage error
 * whatever its values ("--demo --demo=true" too): one rule for every command (options.h), with
 * no judging whether two spellings mean the same. */
static bool given_twice(const char *who, char flags[][64], int n)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(flags[i], flags[n]) == 0) {
            /* The values are not repeated: a store URL may hold a password, a key is one. */
            fprintf(stderr, "telltale %s: %s is given twice: give it once\n", who, flags[n]);
            return true;
        }
    }
    return false;
}

int cli_load_config(tt_config *cfg, int argc, char **argv, const char *usage)
{
    char err[TT_ERRLEN];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            config_print_help(stdout);
            return -1;
        }
    }
    /* Which settings the command line sets: those ignore the environment. */
    char flags[64][64];
    const char *given[65], *values[64];
    int nflags = 0;
    for (int i = 1; i < argc; i++) {
        if (nflags == 64 || !split_flag(argc, argv, &i, flags[nflags], &values[nflags]) ||
            given_twice(argv[0], flags, nflags)) {
            return EXIT_USAGE;
        }
        given[nflags] = flags[nflags];
        nflags++;
    }
    given[nflags] = NULL;
    if (config_init_except(cfg, cli_getenv, given, err) != 0) {
        fprintf(stderr, "telltale %s: %s\n", argv[0], err);
        return EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        char flag[64];
        const char *value;
        split_flag(argc, argv, &i, flag, &value);
        if (config_set_flag(cfg, flag, value, err) != 0) { /* every flag was found above */
            fprintf(stderr, "telltale %s: %s\n", argv[0], err);
            return EXIT_USAGE;
        }
    }
    if (config_validate(cfg, err) != 0) {
        fprintf(stderr, "telltale %s: %s\n", argv[0], err);
        return EXIT_USAGE;
    }
    return 0;
}
