/* migrations.h -- the numbered SQL files of migrations/, embedded at build time. */
#ifndef TT_MIGRATIONS_H
#define TT_MIGRATIONS_H

#include <stddef.h>

typedef struct migration {
    int version;      /* NNNN of NNNN_name.sql */
    const char *name; /* "0001_events" */
    const char *sql;
} migration;

/* In version order, generated from migrations/sqlite/. */
extern const migration sqlite_migrations[];
extern const size_t sqlite_migrations_count;

/* In version order, generated from migrations/postgres/. */
extern const migration postgres_migrations[];
extern const size_t postgres_migrations_count;

#endif
