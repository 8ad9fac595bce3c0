/* test_rest_plan.c -- /rest/v1's reading of PostgREST's grammar (server/rest_plan.c) and the SQL
 * both engines build from a plan (store/rest_sql.c): names only from the catalog, every value a
 * placeholder, the null order always spelled out. */
#include "rest/rest_plan.h"
#include "rest/rest_sql.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

static rest_query query_on(const char *table)
{
    rest_query q = {.table = rest_table_find(table)};
    assert_non_null(q.table);
    return q;
}

/* Parses 'n' name/value pairs into a query on 'table'; returns whether it was accepted. */
static bool parse(rest_query *q, rest_error *e, int n, const char *const *pairs)
{
    rest_arg args[16];
    for (int i = 0; i < n; i++) {
        args[i] = (rest_arg){pairs[2 * i], pairs[2 * i + 1]};
    }
    return rest_parse_query(args, n, q, e);
}

static void refused(const char *table, const char *name, const char *value, int status,
                    const char *code)
{
    rest_query q = query_on(table);
    rest_error e = {0};
    const char *pairs[] = {name, value};
    if (parse(&q, &e, 1, pairs)) {
        fail_msg("accepted %s=%s", name, value);
    }
    assert_int_equal(e.status, status);
    assert_string_equal(e.code, code);
}

static void select_order_filters_limit(void **state)
{
    (void)state;
    rest_query q = query_on("monitoring_events");
    rest_error e;
    const char *pairs[] = {"select", "seq,type, \"ts\"",  "type",  "eq.request", "seq",    "gte.10",
                           "order",  "ts.desc.nullslast", "limit", "5",          "offset", "2"};
    assert_true(parse(&q, &e, 6, pairs));
    assert_int_equal(q.ncols, 3);
    assert_string_equal(q.table->cols[q.cols[2]].name, "ts");
    assert_int_equal(q.nfilters, 2);
    assert_int_equal(q.filters[1].op, REST_GTE);
    assert_int_equal(q.filters[1].v.i, 10);
    assert_int_equal(q.norder, 2); /* ts, then seq: the primary key breaks ties */
    assert_true(q.order[0].desc);
    assert_false(q.order[0].nulls_first);
    assert_int_equal(q.limit, 5);
    assert_int_equal(q.offset, 2);
}

static void star_limit_cap_and_null_order(void **state)
{
    (void)state;
    rest_query q = query_on("feature_flags");
    rest_error e;
    const char *pairs[] = {"limit", "99999", "order", "variant.desc"};
    assert_true(parse(&q, &e, 2, pairs));
    assert_int_equal(q.ncols, q.table->ncols);
    assert_int_equal(q.limit, REST_MAX_ROWS);
    assert_true(q.order[0].nulls_first); /* PostgreSQL's default for DESC */
}

static void refusals_in_postgrest_words(void **state)
{
    (void)state;
    refused("monitoring_events", "select", "seq,nope", 400, "42703");
    refused("monitoring_events", "select", "seq,other(*)", 400, "PGRST100");
    refused("monitoring_events", "select", "alias:seq", 400, "PGRST100");
    refused("monitoring_events", "select", ",", 400, "PGRST100"); /* names no column */
    refused("monitoring_events", "nope", "eq.1", 400, "42703");
    refused("monitoring_events", "type", "like.x%", 400, "PGRST100");
    refused("monitoring_events", "type", "request", 400, "PGRST100");
    refused("monitoring_events", "or", "(a.eq.1)", 400, "PGRST100");
    refused("monitoring_events", "seq", "eq.abc", 400, "22P02");
    refused("monitoring_events", "seq", "eq.99999999999999999999", 400, "22003");
    refused("feature_flags", "rollout_percent", "eq.3000000000", 400, "22003");
    refused("monitoring_events", "ts", "gt.yesterday", 400, "22007");
    refused("monitoring_events", "attrs", "eq.{}", 400, "42883");
    refused("monitoring_events", "order", "attrs", 400, "42883");
    refused("monitoring_events", "order", "seq.up", 400, "PGRST100");
    refused("monitoring_events", "order", "seq.asc.desc", 400, "PGRST100");
    refused("monitoring_events", "limit", "-1", 400, "PGRST100");
    refused("monitoring_events", "offset", "1x", 400, "PGRST100");
    refused("feature_flags", "enabled", "eq.maybe", 400, "22P02");
}

static void headers(void **state)
{
    (void)state;
    rest_prefs p;
    rest_accept a;
    rest_error e;
    assert_true(rest_parse_prefs("count=exact, return=representation", &p, &e));
    assert_true(p.count && p.representation && !p.missing_default);
    assert_false(rest_parse_prefs("resolution=merge-duplicates", &p, &e));
    assert_true(rest_parse_accept("application/vnd.pgrst.object+json;nulls=stripped", &a, &e));
    assert_true(a.single && a.strip_nulls);
    assert_true(rest_parse_accept(NULL, &a, &e));
    assert_false(a.single);
    assert_false(rest_parse_accept("text/csv", &a, &e));
    assert_int_equal(e.status, 406);
    assert_true(rest_check_profile(NULL, &e));
    assert_true(rest_check_profile("monitoring", &e));
    assert_false(rest_check_profile("public", &e));
    assert_string_equal(e.code, "PGRST106");
}

static void sql_has_no_client_text(void **state)
{
    (void)state;
    rest_query q = query_on("monitoring_events");
    rest_error e;
    const char *pairs[] = {
        "select", "seq,type", "type", "eq.x'; DROP TABLE t; --", "ts", "lt.2026-01-01T00:00:00Z"};
    assert_true(parse(&q, &e, 3, pairs));
    for (int pg = 0; pg < 2; pg++) {
        rest_dialect d = {.postgres = pg == 1};
        rest_sql s = {0};
        assert_int_equal(rest_sql_select(&q, &d, &s), 0);
        assert_null(strstr(s.text.buf, "DROP"));
        assert_non_null(strstr(s.text.buf, "NULLS LAST"));
        assert_int_equal(s.nparams, 4); /* two filters, limit, offset */
        assert_string_equal(s.params[0].v->s, "x'; DROP TABLE t; --");
        assert_non_null(
            strstr(s.text.buf, pg ? "FROM monitoring.monitoring_events WHERE \"type\" = $1::text"
                                  : "FROM monitoring_events WHERE \"type\" = ?"));
        rest_sql_free(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(select_order_filters_limit),
        cmocka_unit_test(star_limit_cap_and_null_order),
        cmocka_unit_test(refusals_in_postgrest_words),
        cmocka_unit_test(headers),
        cmocka_unit_test(sql_has_no_client_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
