/* options.c -- the client subcommands' arguments, read alike (options.h). */
#include "cli/options.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool cli_help_given_value(const char *who, const char *arg)
{
    const char *eq = strchr(arg, '=');
    size_t len = eq != NULL ? (size_t)(eq - arg) : 0;
    if (!((len == 6 && strncmp(arg, "--help", 6) == 0) ||
          (len == 2 && strncmp(arg, "-h", 2) == 0))) {
        return false;
    }
    fprintf(stderr, "telltale %s: %.*s is a switch and takes no value: write %.*s alone\n", who,
            (int)len, arg, (int)len, arg);
    return true;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return true;
        }
    }
    return false;
}

/* True if 'word' is one of the space-separated words of 'words' (NULL: any word matches). */
static bool in_words(const char *words, const char *word)
{
    if (words == NULL || word == NULL) {
        return true;
    }
    size_t n = strlen(word);
    for (const char *p = words + strspn(words, " "); *p != '\0';) {
        size_t w = strcspn(p, " ");
        if (w == n && strncmp(p, word, n) == 0) {
            return true;
        }
        p += w;
        p += strspn(p, " ");
    }
    return false;
}

/* Prints 'words' as a list: "list, stats or purge". */
static void say_words(const char *words)
{
    const char *p = words + strspn(words, " ");
    while (*p != '\0') {
        size_t w = strcspn(p, " ");
        const char *next = p + w + strspn(p + w, " ");
        fprintf(stderr, "%.*s%s", (int)w, p,
                *next == '\0'                      ? ""
                : next[strcspn(next, " ")] == '\0' ? " or "
                                                   : ", ");
        p = next;
    }
}

/* "telltale WHO: WHAT: WHO accepts KEY, --a, --b and --help", for an argument it does not take. */
static void say_accepted(const cli_options *o, const char *what)
{
    const char *sep = "";
    fprintf(stderr, "telltale %s: %s: %s accepts ", o->who, what, o->who);
    for (size_t k = 0; k < o->npos; k++, sep = ", ") {
        fprintf(stderr, "%s%s", sep, o->pos[k].name);
    }
    for (size_t k = 0; k < o->n; k++) {
        if (in_words(o->table[k].only, o->command)) {
            fprintf(stderr, "%s%s", sep, o->table[k].name);
            sep = ", ";
        }
    }
    fprintf(stderr, "%s--help\n", sep[0] != '\0' ? " and " : "");
}

/* The option of the table spelled 'arg' up to its '=' (if any), of 'command' (NULL: any). */
static const cli_option *find(const cli_option *table, size_t n, const char *command,
                              const char *arg, size_t len)
{
    for (size_t k = 0; k < n; k++) {
        const cli_option *opt = &table[k];
        if (strlen(opt->name) == len && strncmp(opt->name, arg, len) == 0 &&
            in_words(opt->only, command)) {
            return opt;
        }
    }
    return NULL;
}

static bool is_option(const char *arg)
{
    return arg[0] == '-' && arg[1] != '\0';
}

/* Where the value of the option at argv[i] stands: argv[i + 1] when it is separate ("--url V",
 * V not starting with "--"), else 0. */
static int separate_value(const cli_option *opt, int argc, char **argv, int i)
{
    bool separate = opt != NULL && opt->accepts != NULL && strchr(argv[i], '=') == NULL &&
                    i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0;
    return separate ? i + 1 : 0;
}

int cli_subcommand(const char *who, const cli_option *table, size_t n, const char *words, int argc,
                   char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (cli_help_given_value(who, argv[i])) {
            return -1;
        }
        if (!is_option(argv[i])) {
            if (in_words(words, argv[i])) {
                return i;
            }
            fprintf(stderr, "telltale %s: unknown command '%.100s': expected ", who, argv[i]);
            say_words(words);
            fputc('\n', stderr);
            return -1;
        }
        const char *eq = strchr(argv[i], '=');
        size_t len = eq != NULL ? (size_t)(eq - argv[i]) : strlen(argv[i]);
        int v = separate_value(find(table, n, NULL, argv[i], len), argc, argv, i);
        i = v != 0 ? v : i;
    }
    fprintf(stderr, "telltale %s: needs a command: ", who);
    say_words(words);
    fprintf(stderr, " (telltale %s --help)\n", who);
    return -1;
}

/* Reads the option at argv[*i] into 'g' and advances *i past it and its value; false after
 * printing the usage error. */
static bool read_option(const cli_options *o, int argc, char **argv, int *i, cli_given *g)
{
    const char *arg = argv[*i];
    const char *eq = strchr(arg, '=');
    size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    const cli_option *opt = find(o->table, o->n, o->command, arg, len);
    if (opt == NULL && cli_help_given_value(o->who, arg)) {
        return false;
    }
    if (opt == NULL) {
        char what[160];
        snprintf(what, sizeof what, "unknown option '%.*s'", (int)(len < 100 ? len : 100), arg);
        say_accepted(o, what);
        return false;
    }
    int v = separate_value(opt, argc, argv, *i);
    *g = (cli_given){opt, v != 0 ? argv[v] : eq != NULL ? eq + 1 : NULL};
    *i = v != 0 ? v + 1 : *i + 1;
    if (opt->accepts == NULL && eq != NULL) {
        fprintf(stderr, "telltale %s: %s is a switch and takes no value: write %s alone\n", o->who,
                opt->name, opt->name);
        return false;
    }
    if (opt->accepts != NULL && g->value == NULL) {
        fprintf(stderr, "telltale %s: %s needs a value: %s\n", o->who, opt->name, opt->accepts);
        return false;
    }
    if (opt->valid != NULL && !opt->valid(g->value)) {
        fprintf(stderr, "telltale %s: invalid %s '%.64s': expected %s\n", o->who, opt->name,
                g->value, opt->accepts);
        return false;
    }
    return true;
}

/* An option given twice is a usage error whatever its values, even alike ("--limit 5 --limit
 * 05"): one rule for every command (serve too, args.c), and no judging whether two spellings mean
 * the same. Two options that set the same thing contradict each other. */
static bool consistent(const cli_options *o, const cli_args *a)
{
    for (size_t j = 1; j < a->ngiven; j++) {
        for (size_t i = 0; i < j; i++) {
            const cli_given *x = &a->given[i], *y = &a->given[j];
            if (x->opt == y->opt) {
                /* The values are not repeated: --store may hold a password, --key is one. */
                fprintf(stderr, "telltale %s: %s is given twice: give it once\n", o->who,
                        x->opt->name);
                return false;
            }
            if (x->opt->key != NULL && y->opt->key != NULL &&
                strcmp(x->opt->key, y->opt->key) == 0) {
                fprintf(stderr, "telltale %s: %s and %s contradict each other: give one of them\n",
                        o->who, x->opt->name, y->opt->name);
                return false;
            }
        }
    }
    return true;
}

/* The arguments that are no options against o->pos: each there and valid, and no more. */
static bool positional(const cli_options *o, const cli_args *a)
{
    for (size_t k = 0; k < o->npos; k++) {
        const cli_positional *p = &o->pos[k];
        if (k >= a->nargs) {
            fprintf(stderr, "telltale %s: needs %s %s: %s\n", o->who,
                    strchr("AEIOU", p->name[0]) != NULL ? "an" : "a", p->name, p->accepts);
            return false;
        }
        if (p->valid != NULL && !p->valid(a->args[k])) {
            fprintf(stderr, "telltale %s: invalid %s '%.64s': expected %s\n", o->who, p->name,
                    a->args[k], p->accepts);
            return false;
        }
    }
    if (!o->more && a->nargs > o->npos) {
        char what[160];
        snprintf(what, sizeof what, "unexpected argument '%.100s'", a->args[o->npos]);
        say_accepted(o, what);
        return false;
    }
    return true;
}

int cli_args_read(const cli_options *o, int argc, char **argv, int skip, cli_args *out)
{
    *out = (cli_args){.given = calloc((size_t)argc, sizeof *out->given),
                      .args = calloc((size_t)argc, sizeof *out->args)};
    if (out->given == NULL || out->args == NULL) {
        fprintf(stderr, "telltale %s: out of memory\n", o->who);
        return -1;
    }
    for (int i = 1; i < argc;) {
        if (i == skip) {
            i++;
        } else if (!is_option(argv[i])) {
            out->args[out->nargs++] = argv[i++];
        } else if (!read_option(o, argc, argv, &i, &out->given[out->ngiven])) {
            return -1;
        } else {
            out->ngiven++;
        }
    }
    return consistent(o, out) && positional(o, out) ? 0 : -1;
}

void cli_args_free(cli_args *a)
{
    free(a->given);
    free(a->args);
    *a = (cli_args){0};
}

const cli_given *cli_args_find(const cli_args *a, const char *name)
{
    for (size_t i = 0; i < a->ngiven; i++) {
        if (strcmp(a->given[i].opt->name, name) == 0) {
            return &a->given[i];
        }
    }
    return NULL;
}

bool cli_integer(const char *v, unsigned long long min, unsigned long long max,
                 unsigned long long *n)
{
    char *end;
    errno = 0;
    unsigned long long got = strtoull(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno == ERANGE || got < min || got > max) {
        return false;
    }
    *n = got;
    return true;
}

/* Whether libcurl finds 'part' in 'h' (an empty one counts: "http://@host" has user ""). */
static bool has_part(CURLU *h, CURLUPart part)
{
    char *v = NULL;
    bool has = curl_url_get(h, part, &v, 0) == CURLUE_OK;
    curl_free(v);
    return has;
}

/* The fault of a URL libcurl has parsed into 'h', or NULL. */
static const char *parsed_fault(CURLU *h, const char *url)
{
    char *scheme = NULL, *port = NULL;
    curl_url_get(h, CURLUPART_SCHEME, &scheme, 0);
    bool http =
        scheme != NULL && (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0);
    bool port_zero = curl_url_get(h, CURLUPART_PORT, &port, 0) == CURLUE_OK && atoi(port) == 0;
    curl_free(scheme);
    curl_free(port);
    bool user = has_part(h, CURLUPART_USER) || has_part(h, CURLUPART_PASSWORD);
    return !http                          ? ""
           : !has_part(h, CURLUPART_HOST) ? "it has no host"
           : port_zero                    ? "its port is 0"
           : user                         ? "it has a user or password"
           : has_part(h, CURLUPART_QUERY) ? "it has a query"
           /* "http://h#" has an empty fragment that libcurl 7.88 does not report */
           : has_part(h, CURLUPART_FRAGMENT) || strchr(url, '#') ? "it has a fragment"
                                                                 : NULL;
}

const char *cli_url_fault(const char *url, bool *secret)
{
    /* User info (RFC 3986 §3.2.1) ends at an '@' before the authority ends: whatever else is
     * wrong, such a URL is not repeated. */
    const char *authority = strstr(url, "://") != NULL ? strstr(url, "://") + 3 : url;
    *secret = memchr(authority, '@', strcspn(authority, "/?#")) != NULL;
    size_t n = strncasecmp(url, "http://", 7) == 0    ? 7
               : strncasecmp(url, "https://", 8) == 0 ? 8
                                                      : 0;
    if (n == 0) {
        return ""; /* libcurl also takes "http:/h" and guesses a scheme for "h:80" */
    }
    if (url[n] == '\0' || url[n] == '/' || url[n] == ':') {
        return "it has no host"; /* libcurl takes "http:///h" for "http://h" */
    }
    CURLU *h = curl_url();
    if (h == NULL) {
        return "out of memory";
    }
    CURLUcode rc = curl_url_set(h, CURLUPART_URL, url, 0);
    const char *fault = rc == CURLUE_OK                ? parsed_fault(h, url)
                        : rc == CURLUE_BAD_PORT_NUMBER ? "its port is not a number from 1 to 65535"
                        : rc == CURLUE_NO_HOST         ? "it has no host"
                                                       : curl_url_strerror(rc);
    curl_url_cleanup(h);
    return fault;
}
