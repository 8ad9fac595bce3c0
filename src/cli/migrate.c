/* migrate.c -- telltale migrate: bring the store's schema up to date (or, with --check, say what
 * that would take without changing anything), then say where it is. It reads only its own
 * options: the store, and --check. */
#include "cli/cli.h"

#include "cli/options.h"
#include "core/config.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: telltale migrate [--store URL] [--check]\n"
    "\n"
    "Applies the store's pending migrations, each in one transaction (all or nothing);\n"
    "re-running is a no-op. On PostgreSQL it first checks that this role may do what the\n"
    "pending migrations do; when it may not, it changes nothing and prints the statements\n"
    "(CREATE ROLE, GRANT) for a more privileged role to run first (docs/OPERATIONS.md).\n"
    "\n"
    "options:\n"
    "  --store URL   sqlite:PATH or postgres://... (default: TELLTALE_STORE, else\n"
    "                DATABASE_URL, else sqlite:telltale.db)\n"
    "  --check       report the schema version, the pending migrations and the missing\n"
    "                privileges; change nothing\n"
    "\n"
    "exit status: 0 the schema is current (with --check: nothing to do), 1 migrations pending\n"
    "(--check), privileges missing, the store newer than this telltale or the store failed,\n"
    "2 usage error (a malformed store URL\n"
    "too, named by where it came from: --store, TELLTALE_STORE or DATABASE_URL).\n";

/* Reads --store and --check, then the store's URL as serve reads it (the flag, else
 * TELLTALE_STORE, else DATABASE_URL, else the default) into 'cfg'; returns 0, or EXIT_USAGE
 * having named the option or the variable. */
static int read_args(int argc, char **argv, tt_config *cfg, bool *check)
{
    const cli_option options[] = {
        {"--store", config_flag_form("--store"), NULL, NULL, NULL},
        {"--check", NULL, NULL, NULL, NULL},
    };
    cli_options spec = {
        .who = "migrate", .table = options, .n = sizeof options / sizeof options[0]};
    cli_args a;
    int got = cli_args_read(&spec, argc, argv, 0, &a);
    const cli_given *given = cli_args_find(&a, "--store");
    const char *store_flag = given != NULL ? given->value : NULL;
    *check = cli_args_find(&a, "--check") != NULL;
    cli_args_free(&a);
    if (got < 0) {
        return EXIT_USAGE;
    }
    char err[TT_ERRLEN];
    if (config_read_setting(cfg, "--store", store_flag, cli_getenv, err) != 0) {
        fprintf(stderr, "telltale migrate: %s\n", err);
        return EXIT_USAGE;
    }
    return 0;
}

/* Who may run the statements of store_migration_plan.missing (PostgreSQL 15, CREATE ROLE and
 * GRANT): not the migrating role, which lacked them. */
#define WHO_MAY_GRANT                                                                              \
    "a superuser (CREATE ROLE also works for a role with CREATEROLE, GRANT ... ON DATABASE for "   \
    "the database's owner)"

static void report(const store_migration_plan *p)
{
    if (p->version < 0) {
        printf("schema version unknown (this role cannot read it); this telltale's newest is %d\n",
               p->newest);
    } else {
        printf("schema version %d; this telltale's newest is %d\n", p->version, p->newest);
    }
    printf("pending: %s\n", p->pending[0] != '\0' ? p->pending : "none");
    if (p->missing[0] != '\0') {
        printf("missing privileges: run these as %s, then telltale migrate:\n%s", WHO_MAY_GRANT,
               p->missing);
    } else {
        printf("missing privileges: none\n");
    }
}

int cli_migrate(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(USAGE, stdout);
        return 0;
    }
    tt_config cfg = {0};
    bool check = false;
    int rc = read_args(argc, argv, &cfg, &check);
    if (rc != 0) {
        return rc;
    }
    const char *url = cfg.store_url;
    char err[TT_ERRLEN];
    store_migration_plan plan;
    rc = store_migrate_plan(url, !check, &plan, err);
    if (rc != 0 && plan.missing[0] != '\0') {
        fprintf(stderr,
                "telltale migrate: this role lacks privileges the pending migrations need "
                "(%s); nothing was changed. Run these as %s, then telltale migrate again:\n%s",
                plan.pending, WHO_MAY_GRANT, plan.missing);
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "telltale migrate: %s\n", err);
        return 1;
    }
    if (check) {
        report(&plan);
        return plan.pending[0] == '\0' && plan.missing[0] == '\0' ? 0 : 1;
    }
    printf("%s store at schema version %d\n",
           strncmp(url, "sqlite:", 7) == 0 ? "sqlite" : "postgres", plan.version);
    return 0;
}
