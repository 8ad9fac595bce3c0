/* flags_db.c -- the SQL of flags and dashboard state, one text per dialect: SQLite's "?"
 * placeholders and epoch-millisecond integers, PostgreSQL's casts, schema and timestamptz.
 * Every value is bound. */
#include "api/flags_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct dialects {
    const char *sqlite, *pg;
} dialects;

static const char *sql_of(store *st, const dialects *d)
{
    return strcmp(store_kind(st), "postgres") == 0 ? d->pg : d->sqlite;
}

#define PG_MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"
#define PG_TIME(n) "('epoch'::timestamptz + $" #n "::bigint * interval '1 millisecond')"

/* ---- flags ---- */

#define FLAG_COLS_SQLITE                                                                           \
    "key, enabled, variant, rollout_percent, description, rules, version, updated_at"
#define FLAG_COLS_PG                                                                               \
    "key, enabled, variant, rollout_percent, description, rules::text, version, " PG_MS(           \
        "updated_at")

static const store_type flag_types[] = {STORE_TEXT, STORE_BOOL, STORE_TEXT, STORE_INT,
                                        STORE_TEXT, STORE_TEXT, STORE_INT,  STORE_INT};

static char *dup_or_null(const store_value *v)
{
    return v->is_null ? NULL : strdup(v->s);
}

static int take_flag(const store_value *c, void *ctx)
{
    flag_rows *fr = ctx;
    flag_row *grown = realloc(fr->rows, (fr->n + 1) * sizeof *grown);
    if (grown == NULL) {
        return 1;
    }
    fr->rows = grown;
    flag_row *r = &fr->rows[fr->n++];
    *r = (flag_row){.enabled = c[1].i != 0,
                    .variant = dup_or_null(&c[2]),
                    .rollout_percent = (int)c[3].i,
                    .description = dup_or_null(&c[4]),
                    .rules = dup_or_null(&c[5]),
                    .version = c[6].i,
                    .updated_ms = c[7].i};
    snprintf(r->key, sizeof r->key, "%s", c[0].s);
    return 0;
}

void flag_rows_free(flag_rows *fr)
{
    for (size_t i = 0; i < fr->n; i++) {
        free(fr->rows[i].variant);
        free(fr->rows[i].description);
        free(fr->rows[i].rules);
    }
    free(fr->rows);
    *fr = (flag_rows){0};
}

static int select_flags(store *st, const store_stmt *s, flag_rows *out, char *err)
{
    *out = (flag_rows){0};
    int64_t unused;
    int rc = store_select(st, s, flag_types, 8, NULL, &unused, take_flag, out, err);
    if (rc != 0) {
        flag_rows_free(out);
    }
    return rc;
}

int flags_db_list(store *st, flag_rows *out, char err[TT_ERRLEN])
{
    static const dialects d = {
        "SELECT " FLAG_COLS_SQLITE " FROM feature_flags ORDER BY key LIMIT 1000",
        "SELECT " FLAG_COLS_PG " FROM monitoring.feature_flags ORDER BY key LIMIT 1000"};
    store_stmt s = {.sql = sql_of(st, &d)};
    return select_flags(st, &s, out, err);
}

int flags_db_get(store *st, const char *key, flag_rows *out, char err[TT_ERRLEN])
{
    static const dialects d = {"SELECT " FLAG_COLS_SQLITE " FROM feature_flags WHERE key = ?",
                               "SELECT " FLAG_COLS_PG
                               " FROM monitoring.feature_flags WHERE key = $1::text"};
    store_value k = {.s = key};
    store_param p[] = {{&k, STORE_TEXT}};
    store_stmt s = {.sql = sql_of(st, &d), .params = p, .nparams = 1};
    return select_flags(st, &s, out, err);
}

static int run_flag_change(store *st, const store_stmt *s, flag_rows *out, char *err)
{
    *out = (flag_rows){0};
    int rc = store_change(st, s, flag_types, 8, take_flag, out, err);
    if (rc != 0) {
        flag_rows_free(out);
    }
    return rc;
}

int flags_db_put(store *st, const char *key, const flag_input *in, const char *rules,
                 int64_t if_match, int64_t now_ms, flag_rows *out, bool *full, char err[TT_ERRLEN])
{
    /* Without a precondition: an upsert, refused when FLAGS_MAX other flags exist; with
     * DB_IF_ABSENT the same insert, which leaves an existing flag alone. */
#define FLAG_INSERT_SQLITE                                                                         \
    "INSERT INTO feature_flags AS f (key, enabled, variant, rollout_percent, description, "       \
    "rules, updated_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE (SELECT count(*) FROM "           \
    "feature_flags WHERE key <> ?1) < 1000 ON CONFLICT (key) DO "
#define FLAG_INSERT_PG                                                                             \
    "INSERT INTO monitoring.feature_flags AS f (key, enabled, variant, rollout_percent, "         \
    "description, rules, updated_at) SELECT $1::text, $2::boolean, $3::text, $4::integer, "       \
    "$5::text, $6::jsonb, " PG_TIME(7) " WHERE (SELECT count(*) FROM monitoring.feature_flags "   \
                                       "WHERE key <> $1::text) < 1000 ON CONFLICT (key) DO "
#define FLAG_REPLACE                                                                               \
    "UPDATE SET enabled = excluded.enabled, variant = excluded.variant, rollout_percent = "        \
    "excluded.rollout_percent, description = excluded.description, rules = excluded.rules, "       \
    "version = f.version + 1, updated_at = excluded.updated_at RETURNING "
    static const dialects upsert = {FLAG_INSERT_SQLITE FLAG_REPLACE FLAG_COLS_SQLITE,
                                    FLAG_INSERT_PG FLAG_REPLACE FLAG_COLS_PG};
    static const dialects create = {FLAG_INSERT_SQLITE "NOTHING RETURNING " FLAG_COLS_SQLITE,
                                    FLAG_INSERT_PG "NOTHING RETURNING " FLAG_COLS_PG};
    static const dialects update = {
        "UPDATE feature_flags SET enabled = ?2, variant = ?3, rollout_percent = ?4, description = "
        "?5, rules = ?6, updated_at = ?7, version = version + 1 WHERE key = ?1 AND version = ?8 "
        "RETURNING " FLAG_COLS_SQLITE,
        "UPDATE monitoring.feature_flags SET enabled = $2::boolean, variant = $3::text, "
        "rollout_percent = $4::integer, description = $5::text, rules = $6::jsonb, updated_at = "
        "" PG_TIME(7) ", version = version + 1 WHERE key = $1::text AND version = $8::bigint "
                      "RETURNING " FLAG_COLS_PG};
    store_value v[] = {{.s = key},
                       {.i = in->enabled},
                       {.is_null = in->variant == NULL, .s = in->variant},
                       {.i = in->rollout_percent},
                       {.is_null = in->description == NULL, .s = in->description},
                       {.is_null = rules == NULL, .s = rules},
                       {.i = now_ms},
                       {.i = if_match}};
    store_param p[] = {{&v[0], STORE_TEXT}, {&v[1], STORE_BOOL}, {&v[2], STORE_TEXT},
                       {&v[3], STORE_INT},  {&v[4], STORE_TEXT}, {&v[5], STORE_JSONB},
                       {&v[6], STORE_TIME}, {&v[7], STORE_INT}};
    const dialects *d = if_match > 0 ? &update : if_match == DB_IF_ABSENT ? &create : &upsert;
    store_stmt s = {.sql = sql_of(st, d), .params = p, .nparams = if_match > 0 ? 8 : 7};
    int rc = run_flag_change(st, &s, out, err);
    *full = rc == 0 && out->n == 0 && if_match == 0;
    return rc;
}

static int count_row(const store_value *c, void *ctx)
{
    (void)c;
    ++*(uint64_t *)ctx;
    return 0;
}

int flags_db_delete(store *st, const char *key, int64_t if_match, bool *deleted,
                    char err[TT_ERRLEN])
{
    static const dialects d = {
        "DELETE FROM feature_flags WHERE key = ?1 AND (?2 = 0 OR version = ?2) RETURNING version",
        "DELETE FROM monitoring.feature_flags WHERE key = $1::text AND ($2::bigint = 0 OR "
        "version = $2::bigint) RETURNING version"};
    store_value v[] = {{.s = key}, {.i = if_match > 0 ? if_match : 0}};
    store_param p[] = {{&v[0], STORE_TEXT}, {&v[1], STORE_INT}};
    store_stmt s = {.sql = sql_of(st, &d), .params = p, .nparams = 2};
    static const store_type t[] = {STORE_INT};
    uint64_t n = 0;
    int rc = store_change(st, &s, t, 1, count_row, &n, err);
    *deleted = n > 0;
    return rc;
}

/* ---- dashboard state ---- */

static const store_type state_types[] = {STORE_TEXT, STORE_TEXT, STORE_INT, STORE_INT};

static int take_state(const store_value *c, void *ctx)
{
    state_rows *sr = ctx;
    state_row *grown = realloc(sr->rows, (sr->n + 1) * sizeof *grown);
    if (grown == NULL) {
        return 1;
    }
    sr->rows = grown;
    sr->rows[sr->n++] = (state_row){
        .key = strdup(c[0].s), .value = strdup(c[1].s), .version = c[2].i, .updated_ms = c[3].i};
    return 0;
}

void state_rows_free(state_rows *sr)
{
    for (size_t i = 0; i < sr->n; i++) {
        free(sr->rows[i].key);
        free(sr->rows[i].value);
    }
    free(sr->rows);
    *sr = (state_rows){0};
}

#define STATE_COLS_SQLITE "key, value, version, updated_at"
#define STATE_COLS_PG "key, value::text, version, " PG_MS("updated_at")

int state_db_get(store *st, const char *client_id, const char *key, state_rows *out,
                 char err[TT_ERRLEN])
{
    static const dialects d = {
        "SELECT " STATE_COLS_SQLITE " FROM dashboard_state WHERE client_id = ?1 AND (?2 IS NULL "
        "OR key = ?2) ORDER BY key LIMIT 100000",
        "SELECT " STATE_COLS_PG " FROM monitoring.dashboard_state WHERE client_id = $1::text AND "
        "($2::text IS NULL OR key = $2::text) ORDER BY key LIMIT 100000"};
    store_value v[] = {{.s = client_id}, {.is_null = key == NULL, .s = key}};
    store_param p[] = {{&v[0], STORE_TEXT}, {&v[1], STORE_TEXT}};
    store_stmt s = {.sql = sql_of(st, &d), .params = p, .nparams = 2};
    *out = (state_rows){0};
    int64_t unused;
    int rc = store_select(st, &s, state_types, 4, NULL, &unused, take_state, out, err);
    if (rc != 0) {
        state_rows_free(out);
    }
    return rc;
}

/* The limits hold if the client's other keys plus this value stay within them. */
#define WITHIN_SQLITE                                                                              \
    "(SELECT count(*) FROM dashboard_state WHERE client_id = ?1 AND key <> ?2) < ?5 AND (SELECT "  \
    "coalesce(sum(length(CAST(value AS BLOB))), 0) FROM dashboard_state WHERE client_id = ?1 AND " \
    "key <> ?2) + length(CAST(?3 AS BLOB)) <= ?6"
#define WITHIN_PG                                                                                  \
    "(SELECT count(*) FROM monitoring.dashboard_state WHERE client_id = $1::text AND key <> "      \
    "$2::text) < $5::bigint AND (SELECT coalesce(sum(octet_length(value::text)), 0) FROM "         \
    "monitoring.dashboard_state WHERE client_id = $1::text AND key <> $2::text) + "                \
    "octet_length($3::text) <= $6::bigint"

int state_db_put(store *st, const char *client_id, const char *key, const char *value,
                 int64_t if_match, const state_limits *lim, int64_t now_ms, state_rows *out,
                 char err[TT_ERRLEN])
{
#define STATE_INSERT_SQLITE                                                                        \
    "INSERT INTO dashboard_state AS s (client_id, key, value, updated_at) SELECT ?1, ?2, "        \
    "json(?3), ?4 WHERE " WITHIN_SQLITE " ON CONFLICT (client_id, key) DO "
#define STATE_INSERT_PG                                                                            \
    "INSERT INTO monitoring.dashboard_state AS s (client_id, key, value, updated_at) SELECT "     \
    "$1::text, $2::text, $3::text::jsonb, " PG_TIME(4) " WHERE " WITHIN_PG " ON CONFLICT "        \
                                                       "(client_id, key) DO "
#define STATE_REPLACE                                                                              \
    "UPDATE SET value = excluded.value, version = s.version + 1, updated_at = "                    \
    "excluded.updated_at RETURNING "
    static const dialects upsert = {STATE_INSERT_SQLITE STATE_REPLACE STATE_COLS_SQLITE,
                                    STATE_INSERT_PG STATE_REPLACE STATE_COLS_PG};
    static const dialects create = {STATE_INSERT_SQLITE "NOTHING RETURNING " STATE_COLS_SQLITE,
                                    STATE_INSERT_PG "NOTHING RETURNING " STATE_COLS_PG};
    static const dialects update = {
        "UPDATE dashboard_state SET value = json(?3), version = version + 1, updated_at = ?4 WHERE "
        "client_id = ?1 AND key = ?2 AND version = ?7 AND " WITHIN_SQLITE
        " RETURNING " STATE_COLS_SQLITE,
        "UPDATE monitoring.dashboard_state SET value = $3::text::jsonb, version = version + 1, "
        "updated_at = " PG_TIME(4) " WHERE client_id = $1::text AND key = $2::text AND version = "
                                   "$7::bigint AND " WITHIN_PG " RETURNING " STATE_COLS_PG};
    store_value v[] = {{.s = client_id},     {.s = key},
                       {.s = value},         {.i = now_ms},
                       {.i = lim->max_keys}, {.i = (int64_t)lim->max_client_bytes},
                       {.i = if_match}};
    store_param p[] = {{&v[0], STORE_TEXT}, {&v[1], STORE_TEXT}, {&v[2], STORE_TEXT},
                       {&v[3], STORE_TIME}, {&v[4], STORE_INT},  {&v[5], STORE_INT},
                       {&v[6], STORE_INT}};
    const dialects *d = if_match > 0 ? &update : if_match == DB_IF_ABSENT ? &create : &upsert;
    store_stmt s = {.sql = sql_of(st, d), .params = p, .nparams = if_match > 0 ? 7 : 6};
    *out = (state_rows){0};
    int rc = store_change(st, &s, state_types, 4, take_state, out, err);
    if (rc != 0) {
        state_rows_free(out);
    }
    return rc;
}

int state_db_delete(store *st, const char *client_id, const char *key, int64_t if_match,
                    uint64_t *deleted, char err[TT_ERRLEN])
{
    static const dialects d = {
        "DELETE FROM dashboard_state WHERE client_id = ?1 AND (?2 IS NULL OR key = ?2) AND (?3 = "
        "0 OR version = ?3) RETURNING version",
        "DELETE FROM monitoring.dashboard_state WHERE client_id = $1::text AND ($2::text IS NULL "
        "OR key = $2::text) AND ($3::bigint = 0 OR version = $3::bigint) RETURNING version"};
    store_value v[] = {{.s = client_id}, {.is_null = key == NULL, .s = key}, {.i = if_match}};
    store_param p[] = {{&v[0], STORE_TEXT}, {&v[1], STORE_TEXT}, {&v[2], STORE_INT}};
    store_stmt s = {.sql = sql_of(st, &d), .params = p, .nparams = 3};
    static const store_type t[] = {STORE_INT};
    *deleted = 0;
    return store_change(st, &s, t, 1, count_row, deleted, err);
}

int state_db_expire(store *st, int64_t before_ms, uint64_t *deleted, char err[TT_ERRLEN])
{
    static const dialects d = {
        "DELETE FROM dashboard_state WHERE client_id IN (SELECT client_id FROM dashboard_state "
        "GROUP BY client_id HAVING max(updated_at) < ?1) RETURNING version",
        "DELETE FROM monitoring.dashboard_state WHERE client_id IN (SELECT client_id FROM "
        "monitoring.dashboard_state GROUP BY client_id HAVING max(updated_at) < " PG_TIME(
            1) ") RETURNING version"};
    store_value v[] = {{.i = before_ms}};
    store_param p[] = {{&v[0], STORE_TIME}};
    store_stmt s = {.sql = sql_of(st, &d), .params = p, .nparams = 1};
    static const store_type t[] = {STORE_INT};
    *deleted = 0;
    return store_change(st, &s, t, 1, count_row, deleted, err);
}
