/* migrate.c -- telltale migrate: bring the store's schema up to date, then say where it is. */
#include "cli/cli.h"

#include "core/config.h"
#include "store/store.h"

#include <stdio.h>

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
    store *st = NULL;
    char err[TT_ERRLEN];
    if (store_open(cfg.store_url, &st, err) != 0) {
        fprintf(stderr, "telltale migrate: %s\n", err);
        return 1;
    }
    printf("%s store at schema version %d\n", store_kind(st), store_schema_version(st));
    store_close(st);
    return 0;
}
