/* args.h -- the C benches' command line: every value is checked before anything starts, and a
 * bad one exits 2 with a message naming the option and the bench's usage (the Node benches'
 * counterpart is options.mjs). Options are "--name value"; --help or -h prints the usage on
 * standard output and exits 0.
 *
 *   args_begin("bench_x", USAGE);
 *   for (int i = 1; i < argc; i += 2) {
 *       const char *opt = argv[i], *val = args_value(argc, argv, i);
 *       if (strcmp(opt, "--events") == 0) n = args_count(opt, val, 1000000);
 *       else args_fail("unknown option %s", opt);
 *   }
 */
#ifndef TT_BENCH_ARGS_H
#define TT_BENCH_ARGS_H

#include <stddef.h>

/* The bench's name (the prefix of every message) and its usage text, kept for the calls below. */
void args_begin(const char *name, const char *usage);

/* argv[i + 1], the value of the option at argv[i], or NULL when it is the last; first, an
 * argv[i] of --help or -h prints the usage and exits 0. The readers below refuse NULL with
 * "--x needs a value" (after the option is known: an unknown one is named as such). */
const char *args_value(int argc, char **argv, int i);

/* Any text. */
const char *args_text(const char *option, const char *value);

/* "name: MESSAGE" and the usage on standard error; exit 2. */
_Noreturn __attribute__((format(printf, 1, 2))) void args_fail(const char *fmt, ...);

/* A count: decimal digits only, from 1 to 'max'. */
size_t args_count(const char *option, const char *value, size_t max);

/* An existing directory. */
const char *args_dir(const char *option, const char *value);

/* An executable regular file (access(X_OK) alone lets a directory through). */
const char *args_bin(const char *option, const char *value);

#endif
