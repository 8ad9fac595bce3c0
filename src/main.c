/* main.c -- the telltale binary: reads the subcommand and hands over to it. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const char USAGE[] =
    "usage: telltale <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve     run the daemon (HTTP, WebSocket, dashboard)\n"
    "  send      post events to a running daemon, from arguments or NDJSON on stdin\n"
    "  migrate   bring the store's schema up to date (--check: say what it would take)\n"
    "  dlq       the dead letter queue: list, stats, retry, recover, fail, purge\n"
    "  flags     feature flags: list, get, set, delete\n"
    "  version   print the version\n"
    "\n"
    "Run 'telltale <command> --help' for a command's options.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0) {
        return cli_serve(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "send") == 0) {
        return cli_send(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "migrate") == 0) {
        return cli_migrate(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "flags") == 0) {
        return cli_flags(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "dlq") == 0) {
        return cli_dlq(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
            puts("usage: telltale version\n\nPrints the version of this binary.");
            return 0;
        }
        if (argc > 2) {
            fprintf(stderr,
                    "telltale version: unexpected argument '%s': version takes no "
                    "options (only --help or -h)\n",
                    argv[2]);
            return EXIT_USAGE;
        }
        printf("telltale %s\n", TT_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (cmd[0] == '-') {
        fprintf(stderr,
                "telltale: '%s' is no command: options come after the command "
                "(telltale <command> [options], e.g. telltale flags --url URL list)\n\n%s",
                cmd, USAGE);
        return EXIT_USAGE;
    }
    fprintf(stderr, "telltale: unknown command '%s'\n\n%s", cmd, USAGE);
    return EXIT_USAGE;
}
