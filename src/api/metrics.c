/* metrics.c -- GET /api/v1/metrics: time series read from the rollups (DESIGN §3, §5).
 *
 *   since, until  RFC 3339 or epoch ms; default the last hour up to now; until - since <= 400d
 *   bucket        a duration, a whole number of minutes (1m, 5m, 1h, 1d); default by the range:
 *                 <= 6h: 1m, <= 2d: 10m, <= 31d: 1h, else 1d; at most 10000 buckets
 *   group_by      comma-separated subset of type, source, name; default none (one series)
 *   type, source, name   exact filters
 *
 * The tier read is the coarsest whose size divides the bucket (day, hour, else minute), so a
 * long range reads the hour or day rows, which outlive the events and the minute rows
 * (TELLTALE_ROLLUP_RETENTION). Buckets are aligned to the epoch (UTC); 'since' is rounded down
 * to its bucket. Only buckets holding events are listed. Per bucket: count, rate (events per
 * second of the bucket), error_rate (errors / count), p50/p95/p99 of duration_ms (null when no
 * event had one), within the relative error of core/loghist.h (1%).
 *
 * Answer: {"tier","bucket_ms","since","until","group_by":[...],"series":[{"group":{...},
 * "points":[{"t","count","errors","rate","error_rate","p50","p95","p99"}]}],"truncated"};
 * truncated when more than 1000 series would be listed. 400 invalid_parameter for a bad
 * parameter or a range holding more than 500000 rollup rows; 503 store_unavailable. */
#include "api/api.h"

#include "api/api_call.h"
#include "api/sql_text.h"
#include "core/loghist.h"
#include "core/rollup.h"
#include "core/timefmt.h"
#include "os/clock.h"
#include "os/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RANGE_MAX_MS (INT64_C(400) * 86400000)
#define BUCKETS_MAX 10000
#define ROWS_MAX 500000
#define SERIES_MAX 1000
#define MINUTE_MS 60000

static const char *const group_columns[3] = {"type", "source", "name"};

/* The bucket being summed. */
typedef struct point {
    int64_t t;
    uint64_t count, errors, duration_count;
    loghist latency;
} point;

typedef struct metrics_query {
    store *st;
    int64_t since, until, bucket_ms;
    rollup_tier tier;
    bool by[3];                         /* grouped by type, source, name */
    char filter[3][EVENT_NAME_MAX + 1]; /* type, source, name; "" = any */
    sql_text sql;
    json_writer answer;
    char group[3][EVENT_NAME_MAX + 1]; /* the current series' labels */
    bool in_series, truncated;
    uint32_t nseries;
    uint64_t rows;
    point cur;
    int rc;
    char err[TT_ERRLEN];
} metrics_query;

static int64_t default_bucket(int64_t range)
{
    return range <= 6 * 3600000              ? MINUTE_MS
           : range <= INT64_C(2) * 86400000  ? 10 * MINUTE_MS
           : range <= INT64_C(31) * 86400000 ? 3600000
                                             : 86400000;
}

static bool parse_group_by(metrics_query *q, const char *v)
{
    char copy[64];
    if (strlen(v) >= sizeof copy) {
        return false;
    }
    snprintf(copy, sizeof copy, "%s", v);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        int k = 0;
        while (k < 3 && strcmp(tok, group_columns[k]) != 0) {
            k++;
        }
        if (k == 3) {
            return false;
        }
        q->by[k] = true;
    }
    return true;
}

static bool parse_range(metrics_query *q, const http_req *r, char *msg, size_t len)
{
    const char *v;
    q->until = (int64_t)clock_now_ms();
    if (!api_time_arg(r, "until", &q->until, msg, len)) {
        return false;
    }
    q->since = q->until - 3600000;
    if (!api_time_arg(r, "since", &q->since, msg, len)) {
        return false;
    }
    if (q->since >= q->until || q->until - q->since > RANGE_MAX_MS) {
        snprintf(msg, len, "'since' must be before 'until', at most 400d before it");
        return false;
    }
    uint64_t bucket = (uint64_t)default_bucket(q->until - q->since);
    if ((v = http_arg_value(r, "bucket")) != NULL &&
        (!config_parse_duration_ms(v, &bucket) || bucket == 0 || bucket % MINUTE_MS != 0 ||
         bucket > (uint64_t)RANGE_MAX_MS)) {
        snprintf(msg, len,
                 "parameter 'bucket' must be a whole number of minutes, e.g. 1m, 5m, "
                 "1h, 1d (at most 400d)");
        return false;
    }
    q->bucket_ms = (int64_t)bucket;
    q->since -= q->since % q->bucket_ms;
    if ((q->until - q->since + q->bucket_ms - 1) / q->bucket_ms > BUCKETS_MAX) {
        snprintf(msg, len, "the range holds more than %d buckets: use a larger 'bucket'",
                 BUCKETS_MAX);
        return false;
    }
    q->tier = bucket % 86400000 == 0  ? ROLLUP_DAY
              : bucket % 3600000 == 0 ? ROLLUP_HOUR
                                      : ROLLUP_MINUTE;
    return true;
}

static bool parse_args(metrics_query *q, const http_req *r, char *msg, size_t len)
{
    const char *v; /* each parameter given once, not empty: the route's query (api.c) */
    if (!parse_range(q, r, msg, len)) {
        return false;
    }
    if ((v = http_arg_value(r, "group_by")) != NULL) {
        if (!api_list_check("group_by", v, msg, len)) {
            return false;
        }
        if (!parse_group_by(q, v)) {
            snprintf(msg, len, "parameter 'group_by' must list some of type, source, name");
            return false;
        }
    }
    for (int k = 0; k < 3; k++) {
        if ((v = http_arg_value(r, group_columns[k])) != NULL) {
            if (v[0] == '\0' || strlen(v) > EVENT_NAME_MAX) {
                snprintf(msg, len, "parameter '%s' must be 1 to %d bytes", group_columns[k],
                         EVENT_NAME_MAX);
                return false;
            }
            snprintf(q->filter[k], sizeof q->filter[k], "%s", v);
        }
    }
    return true;
}

static void build_sql(metrics_query *q)
{
    sql_text *s = &q->sql;
    sql_init(s, q->st);
    sql_add(s, "SELECT ");
    sql_time_ms(s, "bucket");
    sql_add(s, ", type, source, name, count, errors, duration_count, latency FROM ");
    /* Both stores fold hour and day rows from the minutes after the fact (store.h,
     * store_fold_summaries); the view adds the minutes not folded yet, so reads stay exact. */
    sql_table(s, "metrics_rollup_exact");
    sql_add(s, " WHERE tier = ");
    sql_str(s, rollup_tier_names[q->tier]);
    sql_add(s, " AND bucket >= ");
    sql_time(s, q->since);
    sql_add(s, " AND bucket < ");
    sql_time(s, q->until);
    for (int k = 0; k < 3; k++) {
        if (q->filter[k][0] != '\0') {
            sql_add(s, " AND ");
            sql_add(s, group_columns[k]);
            sql_add(s, " = ");
            sql_str(s, q->filter[k]);
        }
    }
    sql_add(s, " ORDER BY ");
    for (int k = 0; k < 3; k++) {
        if (q->by[k]) {
            sql_add(s, group_columns[k]);
            sql_add(s, ", ");
        }
    }
    sql_add(s, "bucket LIMIT ");
    sql_int(s, ROWS_MAX + 1);
}

static void write_quantile(json_writer *w, const char *name, const point *p, double qv)
{
    json_key(w, name);
    if (p->duration_count > 0) {
        json_number(w, loghist_quantile(&p->latency, qv));
    } else {
        json_null(w);
    }
}

static void flush_point(metrics_query *q)
{
    point *p = &q->cur;
    if (p->count == 0 || q->truncated) {
        return;
    }
    json_writer *w = &q->answer;
    char t[TIMEFMT_LEN];
    timefmt_format(p->t, t);
    json_open_object(w);
    json_member_string(w, "t", t);
    json_member_int64(w, "count", p->count);
    json_member_int64(w, "errors", p->errors);
    json_member_number(w, "rate", (double)p->count * 1000.0 / (double)q->bucket_ms);
    json_member_number(w, "error_rate", (double)p->errors / (double)p->count);
    write_quantile(w, "p50", p, 0.50);
    write_quantile(w, "p95", p, 0.95);
    write_quantile(w, "p99", p, 0.99);
    json_close_object(w);
    p->count = p->errors = p->duration_count = 0;
    loghist_reset(&p->latency);
}

static void close_series(metrics_query *q)
{
    if (q->in_series) {
        json_close_array(&q->answer);
        json_close_object(&q->answer);
        q->in_series = false;
    }
}

static void open_series(metrics_query *q, const store_value *cells)
{
    close_series(q);
    if (++q->nseries > SERIES_MAX) {
        q->truncated = true;
        return;
    }
    json_writer *w = &q->answer;
    json_open_object(w);
    json_key(w, "group");
    json_open_object(w);
    for (int k = 0; k < 3; k++) {
        snprintf(q->group[k], sizeof q->group[k], "%s", q->by[k] ? cells[1 + k].s : "");
        if (q->by[k]) {
            json_member_string(w, group_columns[k], q->group[k]);
        }
    }
    json_close_object(w);
    json_key(w, "points");
    json_open_array(w);
    q->in_series = true;
}

static bool same_group(const metrics_query *q, const store_value *cells)
{
    for (int k = 0; k < 3; k++) {
        if (q->by[k] && strcmp(q->group[k], cells[1 + k].s) != 0) {
            return false;
        }
    }
    return true;
}

static int take_row(const store_value *cells, void *arg)
{
    metrics_query *q = arg;
    if (++q->rows > ROWS_MAX) {
        return 1;
    }
    int64_t t = cells[0].i - cells[0].i % q->bucket_ms;
    if (!q->in_series || !same_group(q, cells)) {
        flush_point(q);
        open_series(q, cells);
    } else if (t != q->cur.t) {
        flush_point(q);
    }
    point *p = &q->cur;
    p->t = t;
    p->count += (uint64_t)cells[4].i;
    p->errors += (uint64_t)cells[5].i;
    p->duration_count += (uint64_t)cells[6].i;
    loghist_read(&p->latency, cells[7].s != NULL ? cells[7].s : "{}");
    return q->answer.out.oom || p->latency.oom ? 1 : 0;
}

static void write_head(metrics_query *q)
{
    json_writer *w = &q->answer;
    char since[TIMEFMT_LEN], until[TIMEFMT_LEN];
    timefmt_format(q->since, since);
    timefmt_format(q->until, until);
    json_open_object(w);
    json_member_string(w, "tier", rollup_tier_names[q->tier]);
    json_member_int64(w, "bucket_ms", q->bucket_ms);
    json_member_string(w, "since", since);
    json_member_string(w, "until", until);
    json_key(w, "group_by");
    json_open_array(w);
    for (int k = 0; k < 3; k++) {
        if (q->by[k]) {
            json_string(w, group_columns[k]);
        }
    }
    json_close_array(w);
    json_key(w, "series");
    json_open_array(w);
}

static void run_metrics(void *arg)
{
    metrics_query *q = arg;
    static const store_type types[] = {STORE_INT, STORE_TEXT, STORE_TEXT, STORE_TEXT,
                                       STORE_INT, STORE_INT,  STORE_INT,  STORE_TEXT};
    build_sql(q);
    write_head(q);
    store_stmt stmt = sql_stmt(&q->sql);
    int64_t total;
    q->rc = q->sql.overflow
                ? tt_fail(q->err, TT_EINVAL, "query too long")
                : store_select(q->st, &stmt, types, 8, NULL, &total, take_row, q, q->err);
    flush_point(q);
    close_series(q);
    json_close_array(&q->answer);
    json_member_bool(&q->answer, "truncated", q->truncated);
    json_close_object(&q->answer);
    if (q->rc == 0 && (q->answer.out.oom || q->cur.latency.oom)) {
        q->rc = tt_fail(q->err, TT_ENOMEM, "out of memory");
    }
}

static void metrics_done(http_req *r, void *arg)
{
    metrics_query *q = arg;
    if (r != NULL && q->rows > ROWS_MAX) {
        http_respond_error(r, 400, "invalid_parameter",
                           "the range holds too many rollup rows: narrow it, filter it, or use a "
                           "larger 'bucket'");
    } else if (r != NULL && q->rc == 0) {
        http_respond_written(r, 200, &q->answer);
    } else if (r != NULL) {
        log_warn("metrics query failed: %s", q->err);
        r->retry_after = 1;
        http_respond_error(r, 503, "store_unavailable",
                           "the query could not be run; retry shortly");
    }
    loghist_free(&q->cur.latency);
    free(q->answer.out.buf);
    free(q);
}

void api_metrics_get(http_req *r, void *arg)
{
    api_ctx *ctx = arg;
    metrics_query *q = calloc(1, sizeof *q);
    char msg[TT_ERRLEN];
    if (q == NULL) {
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return;
    }
    if (!parse_args(q, r, msg, sizeof msg)) {
        free(q);
        http_respond_error(r, 400, "invalid_parameter", msg);
        return;
    }
    q->st = ctx->st;
    if (http_defer(r, run_metrics, metrics_done, q) != 0) {
        free(q);
    }
}
