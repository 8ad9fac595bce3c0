/* sql_text.h -- a statement for store_select() written once for both engines: text appended
 * piece by piece, values bound as parameters (never pasted), placeholders and time columns in
 * the engine's dialect ("?" and epoch milliseconds for SQLite; "$n" with a cast, timestamptz
 * and schema "monitoring" for PostgreSQL). Used by the summary routes (metrics.c, sessions.c).
 * Pure; any thread. */
#ifndef TT_SQL_TEXT_H
#define TT_SQL_TEXT_H

#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

#define SQL_TEXT_MAX 2048
#define SQL_PARAMS_MAX 16

typedef struct sql_text {
    bool pg;
    bool overflow; /* text or parameters ran out of room: do not run it */
    char sql[SQL_TEXT_MAX];
    size_t len;
    int nparams;
    store_value values[SQL_PARAMS_MAX];
    store_param params[SQL_PARAMS_MAX];
} sql_text;

void sql_init(sql_text *q, const store *st);
void sql_add(sql_text *q, const char *text);
/* A table of schema monitoring: "monitoring.NAME" on PostgreSQL, NAME on SQLite. */
void sql_table(sql_text *q, const char *name);
/* A time column as epoch milliseconds (a bigint). */
void sql_time_ms(sql_text *q, const char *column);
/* Placeholders bound to a value: an integer, a text (borrowed until the statement has run),
 * a time (epoch ms, compared with a time column). */
void sql_int(sql_text *q, int64_t v);
void sql_str(sql_text *q, const char *s);
void sql_time(sql_text *q, int64_t ms);
/* The statement, for store_select(). */
store_stmt sql_stmt(const sql_text *q);

/* An RFC 3339 time or epoch milliseconds, as the query parameters of DESIGN §5 take them. */
bool api_parse_time(const char *s, int64_t *out_ms);

#endif
