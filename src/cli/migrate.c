/* migrate.c -- telltale migrate: bring the store's schema up to date, then say where it is. */
#include "cli/cli.h"

#include "core/config.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

static const char USAGE[] = "usage: telltale migrate [--store URL]\n\n"
                            "Applies the store's pending migrations, each in a transaction; "
                            "re-running is a no-op.\n\noptions:\n";

int cli_migrate(int argc, char **argv)
{
    tt_config cfg;
    int rc = cli_load_config(&cfg, argc, argv, USAGE);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    char err[TT_ERRLEN];
    int version = 0;
    if (store_migrate(cfg.store_url, &version, err) != 0) {
        fprintf(stderr, "telltale migrate: %s\n", err);
        return 1;
    }
    printf("%s store at schema version %d\n",
           strncmp(cfg.store_url, "sqlite:", 7) == 0 ? "sqlite" : "postgres", version);
    return 0;
}
