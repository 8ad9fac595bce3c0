/* rest_table.c -- the /rest/v1 catalog: DESIGN §3's tables as migrations/postgres has them. */
#include "rest/rest_table.h"

#include <string.h>

#define TEXT(n, nn, lo, hi)                                                                        \
    {                                                                                              \
        .name = n, .kind = STORE_TEXT, .pg_type = "text", .not_null = nn, .min_len = lo,           \
        .max_len = hi                                                                              \
    }
#define INT8(n, nn)                                                                                \
    {                                                                                              \
        .name = n, .kind = STORE_INT, .pg_type = "bigint", .not_null = nn                          \
    }
#define TIME(n, nn, d)                                                                             \
    {                                                                                              \
        .name = n, .kind = STORE_TIME, .pg_type = "timestamp with time zone", .not_null = nn,      \
        .def = d                                                                                   \
    }

static const rest_column event_cols[] = {
    INT8("seq", true),
    TEXT("id", true, 1, 64),
    TIME("ts", true, REST_DEF_NULL),
    TIME("received_at", true, REST_DEF_NOW),
    {.name = "type", .kind = STORE_TEXT, .pg_type = "text", .not_null = true, .key_syntax = true},
    TEXT("source", false, 0, 64),
    TEXT("session_id", false, 0, 128),
    TEXT("name", false, 0, 128),
    TEXT("status", false, 0, 32),
    {.name = "duration_ms", .kind = STORE_FLOAT, .pg_type = "double precision"},
    INT8("bytes", false),
    {.name = "value", .kind = STORE_FLOAT, .pg_type = "double precision"},
    TEXT("error", false, 0, 4096),
    {.name = "attrs", .kind = STORE_JSON, .pg_type = "json"},
};

static const rest_column flag_cols[] = {
    {.name = "key", .kind = STORE_TEXT, .pg_type = "text", .not_null = true, .key_syntax = true},
    {.name = "enabled",
     .kind = STORE_BOOL,
     .pg_type = "boolean",
     .not_null = true,
     .def = REST_DEF_FALSE},
    TEXT("variant", false, 0, 64),
    {.name = "rollout_percent",
     .kind = STORE_INT,
     .pg_type = "integer",
     .not_null = true,
     .has_range = true,
     .min = 0,
     .max = 100,
     .def = REST_DEF_HUNDRED},
    TEXT("description", false, 0, 1024),
    {.name = "version",
     .kind = STORE_INT,
     .pg_type = "bigint",
     .not_null = true,
     .has_range = true,
     .min = 1,
     .max = INT64_MAX,
     .def = REST_DEF_ONE},
    TIME("updated_at", true, REST_DEF_NOW),
    {.name = "rules", .kind = STORE_JSONB, .pg_type = "jsonb"},
};

static const rest_column state_cols[] = {
    TEXT("client_id", true, 1, 128),
    TEXT("key", true, 1, 128),
    {.name = "value", .kind = STORE_JSONB, .pg_type = "jsonb", .not_null = true},
    {.name = "version",
     .kind = STORE_INT,
     .pg_type = "bigint",
     .not_null = true,
     .has_range = true,
     .min = 1,
     .max = INT64_MAX,
     .def = REST_DEF_ONE},
    TIME("updated_at", true, REST_DEF_NOW),
};

static const rest_column dlq_cols[] = {
    INT8("id", true),
    {.name = "original_payload", .kind = STORE_JSONB, .pg_type = "jsonb", .not_null = true},
    TEXT("failure_reason", true, 0, 0),
    {.name = "retry_count", .kind = STORE_INT, .pg_type = "integer", .not_null = true},
    {.name = "max_retries", .kind = STORE_INT, .pg_type = "integer", .not_null = true},
    TEXT("status", true, 0, 0),
    TIME("created_at", true, REST_DEF_NOW),
    TIME("last_retry_at", false, REST_DEF_NULL),
    TIME("next_retry_at", false, REST_DEF_NULL),
    TIME("recovered_at", false, REST_DEF_NULL),
};

#define N(a) ((int)(sizeof a / sizeof a[0]))

#define TABLE(i, n, cols_, ...)                                                                    \
    {                                                                                              \
        .id = i, .name = n, .pkey = n "_pkey", .cols = cols_, .ncols = N(cols_),                   \
        .pk = {__VA_ARGS__}, .npk = N(((int[]){__VA_ARGS__}))                                      \
    }

static const rest_table tables[] = {
    TABLE(REST_EVENTS, "monitoring_events", event_cols, 0),
    TABLE(REST_FLAGS, "feature_flags", flag_cols, 0),
    TABLE(REST_STATE, "dashboard_state", state_cols, 0, 1),
    TABLE(REST_DLQ, "dead_letter_queue", dlq_cols, 0),
};

const rest_table *rest_table_find(const char *name)
{
    for (int i = 0; i < N(tables); i++) {
        if (strcmp(tables[i].name, name) == 0) {
            return &tables[i];
        }
    }
    return NULL;
}

int rest_column_find(const rest_table *t, const char *name, size_t len)
{
    for (int i = 0; i < t->ncols; i++) {
        if (strlen(t->cols[i].name) == len && memcmp(t->cols[i].name, name, len) == 0) {
            return i;
        }
    }
    return -1;
}
