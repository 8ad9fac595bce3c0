/* cli.h -- the subcommands of the telltale binary. Each takes its own argv (argv[0] is the
 * subcommand's name) and returns the process exit code: 0 ok, 1 runtime error, 2 usage. */
#ifndef TT_CLI_H
#define TT_CLI_H

#define EXIT_USAGE 2

int cli_serve(int argc, char **argv);
int cli_send(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_dlq(int argc, char **argv);
int cli_flags(int argc, char **argv);

/* Reads the settings of tt_config from the environment, then from argv's --flags (for
 * serve and migrate). Prints the error and returns EXIT_USAGE on a bad one; returns -1 and
 * prints 'usage' on --help; 0 otherwise. */
struct tt_config;
int cli_load_config(struct tt_config *cfg, int argc, char **argv, const char *usage);

/* getenv(), as config_getenv_fn. */
const char *cli_getenv(const char *name);

#endif
