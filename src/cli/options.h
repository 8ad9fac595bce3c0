/* options.h -- how the client subcommands (send, migrate, dlq, flags) read their options, all
 * alike: "--name VALUE" or "--name=VALUE", switches without a value, --help or -h anywhere, and
 * every mistake named as typed with what the command accepts (exit status 2). serve reads its
 * settings' table instead (args.c), with the same words. */
#ifndef TT_CLI_OPTIONS_H
#define TT_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cli_option {
    const char *name;    /* "--rollout" */
    const char *accepts; /* what its value may be, said when it is missing or bad; NULL: a
                            switch, which takes no value */
    bool (*valid)(const char *value); /* NULL: any value */
    const char *only; /* the subcommands that have it, space-separated ("set delete"); NULL:
                         every one */
    const char *key;  /* for the caller: a query parameter, a JSON field */
} cli_option;

typedef struct cli_options {
    const char *who;     /* "flags set": the command, for messages ("telltale flags set: ...") */
    const char *command; /* the subcommand that picks options by 'only' ("set"); NULL: none */
    const cli_option *table;
    size_t n;
} cli_options;

#define CLI_URL_ACCEPTS "an http:// or https:// URL, e.g. http://127.0.0.1:8080"

/* True if argv[1..argc-1] holds --help or -h. Each command looks before anything else, so
 * that help is given wherever it is asked for ("telltale dlq retry --help" has no ID). */
bool cli_wants_help(int argc, char **argv);

/* Reads the option at argv[*i] (*i < argc) and advances *i past it and its value: "--name=V",
 * or "--name V" when V does not start with "--" ("--rollout --enable" is missing its value).
 * Returns 1 with *opt and *value (NULL for a switch) set; 0, leaving *i, if argv[*i] is no
 * option (it does not start with '-', or is "-"); or -1 after printing the usage error: an
 * unknown option, a missing or bad value, a value given to a switch. */
int cli_option_next(const cli_options *o, int argc, char **argv, int *i, const cli_option **opt,
                    const char **value);

/* The same for a command that takes only options from argv[*i] on: returns 1 with the next one,
 * 0 at the end of argv, or -1 after printing the usage error (an argument that is no option
 * being one: "unexpected argument 'ARG': WHO accepts ..."). */
int cli_option_only(const cli_options *o, int argc, char **argv, int *i, const cli_option **opt,
                    const char **value);

/* True if 'url' is an http:// or https:// URL with a host (the scheme in any case). */
bool cli_url_valid(const char *url);

#endif
