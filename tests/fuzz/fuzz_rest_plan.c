/* fuzz_rest_plan.c -- libFuzzer target for /rest/v1's reading of a query string (the PostgREST
 * grammar of server/rest_plan.c) and the SQL built from what it accepts (store/rest_sql.c).
 *
 * Input: the first byte picks the table; the rest is "name=value" pairs split at '&' (already
 * %-decoded, as http.c hands them over). Beyond "no crash, no leak, no undefined behaviour":
 * a refusal is a PostgREST error (4xx status, a code, a message); an accepted plan stays within
 * its limits; and the SQL of either dialect holds no client text: no byte of it between
 * single quotes but the fixed fragments', and exactly one placeholder per bound value. */
#include "rest/rest_plan.h"
#include "rest/rest_sql.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 40 /* more than the plan accepts, so its own limit is exercised */

static const char *const TABLES[] = {"monitoring_events", "feature_flags", "dashboard_state",
                                     "dead_letter_queue"};

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

/* Splits 'text' (modified) into args at '&' and the first '='; returns how many. */
static int split_args(char *text, rest_arg *args)
{
    int n = 0;
    for (char *part = text; part != NULL && n < MAX_ARGS;) {
        char *amp = strchr(part, '&');
        if (amp != NULL) {
            *amp = '\0';
        }
        char *eq = strchr(part, '=');
        if (eq != NULL) {
            *eq = '\0';
        }
        args[n++] = (rest_arg){part, eq != NULL ? eq + 1 : ""};
        part = amp != NULL ? amp + 1 : NULL;
    }
    return n;
}

/* The SQL's placeholders: "?" (SQLite) or "$n" (PostgreSQL), outside the fixed literals. */
static int count_placeholders(const char *sql, bool postgres)
{
    int n = 0;
    bool in_literal = false;
    for (const char *p = sql; *p != '\0'; p++) {
        if (*p == '\'') {
            in_literal = !in_literal;
        } else if (!in_literal && *p == (postgres ? '$' : '?')) {
            n++;
        }
    }
    check(!in_literal);
    return n;
}

static void check_sql(const rest_query *q, bool postgres)
{
    rest_dialect d = {.postgres = postgres};
    rest_sql sql = {0};
    if (rest_sql_select(q, &d, &sql) == 0 && !sql.oom) {
        check(count_placeholders(sql.text.buf, postgres) == sql.nparams);
        check(strstr(sql.text.buf, "'epoch'") != NULL || strchr(sql.text.buf, '\'') == NULL);
    }
    rest_sql_free(&sql);
    rest_sql count = {0};
    if (q->count && rest_sql_count(q, &d, &count) == 0 && !count.oom) {
        check(count_placeholders(count.text.buf, postgres) == count.nparams);
    }
    rest_sql_free(&count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    char *text = malloc(size);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    rest_arg args[MAX_ARGS];
    int nargs = split_args(text, args);
    rest_query q = {.table = rest_table_find(TABLES[data[0] % 4])};
    check(q.table != NULL);
    rest_error e = {0};
    if (!rest_parse_query(args, nargs, &q, &e)) {
        check(e.status >= 400 && e.status < 500 && e.code != NULL && e.message[0] != '\0');
    } else {
        check(q.ncols >= 1 && q.ncols <= REST_MAX_COLUMNS);
        check(q.nfilters >= 0 && q.nfilters <= REST_MAX_FILTERS);
        check(q.limit >= 0 && q.limit <= REST_MAX_ROWS && q.offset >= 0);
        check_sql(&q, false);
        check_sql(&q, true);
    }
    free(text);
    return 0;
}
