/* options.h -- how the client subcommands (send, migrate, dlq, flags) read their arguments, all
 * alike: options wherever they stand (before or after the subcommand and the other arguments),
 * as "--name VALUE" or "--name=VALUE", switches without a value, --help or -h anywhere, and
 * every mistake named as typed with what the command accepts (exit status 2): an unknown or
 * contradictory option, a missing or bad value, a missing, bad or extra argument. serve reads
 * its settings' table instead (args.c), with the same words. */
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
    const char *key;  /* for the caller: a query parameter, a JSON field. Two options with the
                         same key contradict each other (--enable, --disable) */
} cli_option;

/* An argument that is no option: "KEY", "ID". */
typedef struct cli_positional {
    const char *name;    /* "KEY" */
    const char *accepts; /* "1 to 64 of a-z 0-9 _ . : -" */
    bool (*valid)(const char *value);
} cli_positional;

typedef struct cli_options {
    const char *who;     /* "flags set": the command, for messages ("telltale flags set: ...") */
    const char *command; /* the subcommand that picks options by 'only' ("set"); NULL: none */
    const cli_option *table;
    size_t n;
    const cli_positional *pos; /* the arguments it needs, in order */
    size_t npos;
    bool more; /* true: any number of arguments after those (send's EVENTs) */
} cli_options;

/* One option as given: its entry in the table and its value (NULL for a switch). */
typedef struct cli_given {
    const cli_option *opt;
    const char *value;
} cli_given;

/* What cli_args_read found: the options in order, and the other arguments in order. */
typedef struct cli_args {
    cli_given *given;
    size_t ngiven;
    char **args;
    size_t nargs;
} cli_args;

#define CLI_URL_ACCEPTS                                                                            \
    "an http:// or https:// URL: a host, then a port (1 to 65535) and a path if need be, no "      \
    "user, "                                                                                       \
    "query or fragment; e.g. http://127.0.0.1:8080"
#define CLI_INT64_MAX_TEXT "9223372036854775807"

/* True, after saying so, if 'arg' is "--help=..." or "-h=...": help is a switch, and a value
 * given to it is a usage error like any switch's ("telltale WHO: --help is a switch ..."). */
bool cli_help_given_value(const char *who, const char *arg);

/* True if argv[1..argc-1] holds --help or -h. Each command looks before anything else, so
 * that help is given wherever it is asked for ("telltale dlq retry --help" has no ID). */
bool cli_wants_help(int argc, char **argv);

/* The subcommand of 'who' ("dlq"), one of the space-separated 'words': the first argument of
 * argv[1..] that is neither an option of 'table' nor an option's value, so options may stand
 * before it ("telltale dlq --url URL stats"). Returns its place in argv, or -1 after printing
 * the usage error: no subcommand, or one not in 'words'. */
int cli_subcommand(const char *who, const cli_option *table, size_t n, const char *words, int argc,
                   char **argv);

/* Reads argv[1..argc-1] but argv[skip] (the subcommand; 0 for none) into 'out': options
 * wherever they stand ("--name V" when V does not start with "--", or "--name=V"), and the
 * other arguments, which must be o->pos (and any more if o->more). Refuses, naming them as
 * typed: an unknown option, a missing or bad value, a value given to a switch, an option given
 * twice (whatever its values: which one was meant would be a guess), two options with the same
 * key, a missing, bad or unexpected argument. Returns 0, or -1 after printing the usage error. Free
 * 'out' with cli_args_free() either way. */
int cli_args_read(const cli_options *o, int argc, char **argv, int skip, cli_args *out);
void cli_args_free(cli_args *a);

/* The option named 'name' as given in 'a', or NULL if it was not given. */
const cli_given *cli_args_find(const cli_args *a, const char *name);

/* True, with *n, if 'v' is an integer from 'min' to 'max' in decimal digits only (no sign, no
 * space; leading zeros allowed). */
bool cli_integer(const char *v, unsigned long long min, unsigned long long max,
                 unsigned long long *n);

/* Whether 'url' can be the daemon's base URL (CLI_URL_ACCEPTS), as libcurl's URL parser reads
 * it (RFC 3986 §3): scheme http or https (any case), a host, a port from 1 to 65535 if any, a
 * path if any (a reverse proxy's prefix: the API's paths are appended to it), and no user
 * info, query or fragment, which would swallow or redirect the API's path. Returns NULL if it
 * can, else why not, as a phrase ("it has a query"; "" when it is no http(s) URL at all).
 * *secret is set when the URL holds user info, which may be a password: never repeat it. */
const char *cli_url_fault(const char *url, bool *secret);

#endif
