/* sessions.c -- bench/sessions: what the summaries the persister keeps (DESIGN §3) buy on the
 * read side, against the scans of raw events they replace, measured in the same run.
 *
 *   bench_sessions [--events N] [--sessions N] [--rounds N] [--dir PATH]
 *                  [--store postgres://... (an empty database; migrated here) | sqlite:PATH]
 *
 * A fresh SQLite store (a temporary file in --dir, or the new file --store sqlite:PATH, kept),
 * or the given PostgreSQL database (the daemon's own code: store_open,
 * store_keep_summaries, store_insert_events in batches of 1000) is filled with N events (default
 * 1,000,000) spread over S sessions (default 10,000) and the last 24 hours: each session a
 * session_start, tool calls and model calls with durations, some errors, most of them a
 * session_end. Then, rounds alternating the two sides of each pair so both see the same noise:
 *
 *   sessions list  -- the query of GET /api/v1/sessions (the newest 100 sessions from the
 *                     sessions table, p95 decoded from each row's histogram) against the scan
 *                     it replaces: the same figures (but no p95, which only makes the scan
 *                     cheaper) grouped from monitoring_events;
 *   metrics 24h    -- the query of GET /api/v1/metrics (24 h by 10 minutes, grouped by type:
 *                     minute rows read and histograms merged) against the scan: the same
 *                     counts and errors grouped from monitoring_events (again no
 *                     percentiles).
 *
 * Medians are printed, and the ratio scan / summary. Also the time to load, with the
 * summaries written in each batch's transaction. A benchmark, not a test: nothing is
 * asserted. */
#include "core/loghist.h"
#include "os/clock.h"
#include "store/store.h"
#include "lib/args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH 1000
#define DAY_MS INT64_C(86400000)

static const char *const names[] = {"search", "read_file", "write_file", "run", "fetch"};

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_sessions: %s: %s\n", what, err);
    exit(1);
}

/* Event i of session s (of 'per' events): start, calls, end. */
static void make_event(tt_event *e, char *sid, size_t s, size_t i, size_t per, int64_t t0)
{
    static const char *const sources[] = {"kimi", "glm", "claude", "gpt"};
    uint64_t h = (s * 2654435761u) ^ (i * 40503u);
    *e = (tt_event){.ts_ms = t0 + (int64_t)((s * 8191 + i * 600) % (uint64_t)DAY_MS),
                    .session_id = sid,
                    .source = sources[s % 4]};
    snprintf(e->id, sizeof e->id, "e-%zu-%zu", s, i);
    if (i == 0) {
        e->type = "session_start";
    } else if (i == per - 1 && s % 5 != 0) {
        e->type = "session_end";
    } else {
        e->type = i % 3 == 0 ? "llm" : "tool_call";
        e->name = names[h % 5];
        e->duration_ms = 1 + (double)(h % 5000) / 10;
        e->has = EVENT_HAS_DURATION;
        e->status = h % 17 == 0 ? "error" : "ok";
    }
}

static double load(store *st, size_t nevents, size_t nsessions, int64_t t0)
{
    size_t per = nevents / nsessions;
    tt_event *evs = calloc(BATCH, sizeof *evs);
    tt_event **ptrs = calloc(BATCH, sizeof *ptrs);
    char(*sids)[32] = calloc(BATCH, sizeof *sids);
    char err[TT_ERRLEN];
    uint64_t start = clock_mono_us();
    size_t n = 0;
    /* Interleaved across sessions, as live traffic is: event i of every session, then i + 1. */
    for (size_t i = 0; i < per; i++) {
        for (size_t s = 0; s < nsessions; s++) {
            snprintf(sids[n], sizeof sids[n], "session-%05zu", s);
            make_event(&evs[n], sids[n], s, i, per, t0);
            ptrs[n] = &evs[n];
            if (++n == BATCH) {
                if (store_insert_events(st, ptrs, n, err) != 0) {
                    die("insert", err);
                }
                n = 0;
            }
        }
    }
    if (n > 0 && store_insert_events(st, ptrs, n, err) != 0) {
        die("insert", err);
    }
    free(evs);
    free(ptrs);
    free(sids);
    return (double)(clock_mono_us() - start) / 1e6;
}

typedef struct sink {
    uint64_t rows;
    double check; /* something of every row, so nothing is optimised away */
    loghist h;
} sink;

static int take_session(const store_value *c, void *arg)
{
    sink *k = arg;
    k->rows++;
    loghist_reset(&k->h);
    loghist_read(&k->h, c[8].s);
    k->check += loghist_quantile(&k->h, 0.95) + (double)c[4].i;
    return 0;
}

static int take_rollup(const store_value *c, void *arg)
{
    sink *k = arg;
    k->rows++;
    loghist_read(&k->h, c[4].s); /* merged, as the route merges a bucket's rows */
    k->check += (double)c[2].i;
    return 0;
}

static int take_plain(const store_value *c, void *arg)
{
    sink *k = arg;
    k->rows++;
    k->check += (double)c[2].i;
    return 0;
}

static double timed(store *st, const char *sql, const store_param *params, int nparams,
                    const store_type *types, int ncols, store_cells_fn fn, uint64_t *rows)
{
    store_stmt stmt = {.sql = sql, .params = params, .nparams = nparams};
    sink k = {0};
    int64_t total;
    char err[TT_ERRLEN];
    uint64_t start = clock_mono_us();
    if (store_select(st, &stmt, types, ncols, NULL, &total, fn, &k, err) != 0) {
        die("query", err);
    }
    double s = (double)(clock_mono_us() - start) / 1e6;
    *rows = k.rows;
    loghist_free(&k.h);
    return s;
}

static const char SESSIONS_SQL[] =
    "SELECT session_id, source, first_seen, last_seen, events, errors, tool_calls, "
    "duration_count, latency, started_at, ended_at FROM sessions "
    "ORDER BY last_seen DESC, session_id DESC LIMIT 101";
static const char SESSIONS_SCAN[] =
    "SELECT session_id, min(source), min(ts), max(ts), count(*), "
    "sum(error IS NOT NULL OR status IN ('error', 'timeout') OR type = 'error'), "
    "sum(type = 'tool_call'), max(CASE WHEN type = 'session_start' THEN ts END), "
    "max(CASE WHEN type = 'session_end' THEN ts END) FROM monitoring_events "
    "WHERE session_id IS NOT NULL GROUP BY session_id ORDER BY max(ts) DESC, session_id DESC "
    "LIMIT 101";
static const char METRICS_SQL[] =
    "SELECT bucket, type, count, errors, latency FROM metrics_rollup WHERE tier = 'minute' "
    "AND bucket >= ? AND bucket < ? ORDER BY type, bucket LIMIT 500001";
static const char METRICS_SCAN[] =
    "SELECT ts - ts % 600000, type, count(*), sum(error IS NOT NULL OR status IN ('error', "
    "'timeout') OR type = 'error') FROM monitoring_events WHERE ts >= ? AND ts < ? "
    "GROUP BY 1, 2 ORDER BY 2, 1";

/* The same four statements for PostgreSQL: schema monitoring, times as timestamptz. */
#define PG_MS(x) "(extract(epoch FROM " x ") * 1000)::bigint"
#define PG_IS_ERROR                                                                                \
    "CASE WHEN error IS NOT NULL OR status IN ('error', 'timeout') OR type = 'error' THEN 1 "      \
    "ELSE 0 END"
static const char SESSIONS_SQL_PG[] = "SELECT session_id, source, " PG_MS("first_seen") ", " PG_MS(
    "last_seen") ", events, "
                 "errors, tool_calls, duration_count, latency::text, " PG_MS(
                     "started_at") ", " PG_MS("ended_at") " FROM monitoring.sessions ORDER BY "
                                                          "last_seen DESC, session_id DESC LIMIT "
                                                          "101";
static const char SESSIONS_SCAN_PG[] = "SELECT session_id, min(source), " PG_MS(
    "min(ts)") ", " PG_MS("max(ts)") ", count(*), "
                                     "sum(" PG_IS_ERROR
                                     "), sum(CASE WHEN type = 'tool_call' THEN 1 ELSE 0 "
                                     "END), " PG_MS("max(CASE WHEN type = 'session_start' THEN ts "
                                                    "END)") ", " PG_MS(
                                         "max(CASE WHEN type = "
                                         "'session_end' THEN ts "
                                         "END)") " FROM "
                                                 "monitoring.monitoring_events WHERE session_id IS "
                                                 "NOT NULL GROUP BY session_id "
                                                 "ORDER BY max(ts) DESC, session_id DESC LIMIT 101";
static const char METRICS_SQL_PG[] = "SELECT " PG_MS(
    "bucket") ", type, count, errors, latency::text FROM monitoring.metrics_rollup "
              "WHERE tier = 'minute' AND bucket >= to_timestamp($1::bigint / 1000.0) AND bucket < "
              "to_timestamp($2::bigint / 1000.0) ORDER BY type, bucket LIMIT 500001";
static const char METRICS_SCAN_PG[] = "SELECT " PG_MS(
    "ts") " / 600000 * 600000, type, count(*), sum(" PG_IS_ERROR ") FROM "
          "monitoring.monitoring_events WHERE ts >= to_timestamp($1::bigint / 1000.0) AND ts < "
          "to_timestamp($2::bigint / 1000.0) GROUP BY 1, 2 ORDER BY 2, 1";

static double median(double *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        for (size_t k = i; k > 0 && v[k] < v[k - 1]; k--) {
            double t = v[k];
            v[k] = v[k - 1];
            v[k - 1] = t;
        }
    }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct opts {
    size_t events, sessions, rounds;
    const char *dir;
    const char *url; /* --store; NULL: a temporary SQLite file in 'dir' */
} opts;

#define USAGE                                                                                      \
    "usage: bench_sessions [--events N] [--sessions N (<= N/2)] [--rounds 1..100] [--dir PATH]\n"  \
    "                      [--store postgres://... | sqlite:PATH (a new file, kept)]\n"

static bool is_postgres(const char *url)
{
    return strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
}

static const char *parse_store(const char *option, const char *url)
{
    if (strncmp(url, "sqlite:", 7) == 0 && url[7] != '\0') {
        if (access(url + 7, F_OK) == 0) {
            args_fail("%s %s: the file exists; give a new one", option, url);
        }
    } else if (!is_postgres(url)) {
        args_fail("%s takes a postgres:// URL or sqlite:PATH, not '%s'", option, url);
    }
    return url;
}

static void parse_args(int argc, char **argv, opts *o)
{
    args_begin("bench_sessions", USAGE);
    for (int i = 1; i < argc; i += 2) {
        const char *opt = argv[i], *val = args_value(argc, argv, i);
        if (strcmp(opt, "--events") == 0) {
            o->events = args_count(opt, val, 100000000);
        } else if (strcmp(opt, "--sessions") == 0) {
            o->sessions = args_count(opt, val, 50000000);
        } else if (strcmp(opt, "--rounds") == 0) {
            o->rounds = args_count(opt, val, 100);
        } else if (strcmp(opt, "--dir") == 0) {
            o->dir = args_dir(opt, val);
        } else if (strcmp(opt, "--store") == 0) {
            o->url = parse_store(opt, args_text(opt, val));
        } else {
            args_fail("unknown option %s", opt);
        }
    }
    if (o->sessions > o->events / 2) {
        args_fail("--sessions takes at most half of --events (%zu), not %zu", o->events / 2,
                    o->sessions);
    }
}

int main(int argc, char **argv)
{
    opts o = {.events = 1000000, .sessions = 10000, .rounds = 5, .dir = "/tmp"};
    parse_args(argc, argv, &o);
    size_t nevents = o.events, nsessions = o.sessions, rounds = o.rounds;
    char path[512], url[600], err[TT_ERRLEN];
    snprintf(path, sizeof path, "%s/bench-sessions-%d.db", o.dir, (int)getpid());
    snprintf(url, sizeof url, "sqlite:%s", path);
    bool pg = o.url != NULL && is_postgres(o.url);
    store *st = NULL;
    int version;
    if ((pg && store_migrate(o.url, &version, err) != 0) ||
        store_open(o.url != NULL ? o.url : url, &st, err) != 0) {
        die("open", err);
    }
    const char *sessions_sql = pg ? SESSIONS_SQL_PG : SESSIONS_SQL;
    const char *sessions_scan = pg ? SESSIONS_SCAN_PG : SESSIONS_SCAN;
    const char *metrics_sql = pg ? METRICS_SQL_PG : METRICS_SQL;
    const char *metrics_scan = pg ? METRICS_SCAN_PG : METRICS_SCAN;
    store_keep_summaries(st, true);
    int64_t t0 = (int64_t)clock_now_ms() - DAY_MS;
    printf("bench_sessions: %s, %zu events in %zu sessions over 24 h, %zu rounds\n", store_kind(st),
           nevents, nsessions, rounds);
    printf("load (batches of %d, summaries in each batch's transaction): %.1f s\n", BATCH,
           load(st, nevents, nsessions, t0));
    static const store_type s_types[] = {STORE_TEXT, STORE_TEXT, STORE_INT, STORE_INT,
                                         STORE_INT,  STORE_INT,  STORE_INT, STORE_INT,
                                         STORE_TEXT, STORE_INT,  STORE_INT};
    static const store_type m_types[] = {STORE_INT, STORE_TEXT, STORE_INT, STORE_INT, STORE_TEXT};
    store_value since = {.i = t0}, until = {.i = t0 + DAY_MS};
    store_param range[] = {{&since, STORE_INT}, {&until, STORE_INT}};
    double *t[4];
    uint64_t rows[4];
    for (int k = 0; k < 4; k++) {
        t[k] = calloc(rounds, sizeof *t[k]);
    }
    for (size_t r = 0; r < rounds; r++) {
        bool flip = r % 2;
        t[flip][r] = flip ? timed(st, sessions_scan, NULL, 0, s_types, 9, take_plain, &rows[1])
                          : timed(st, sessions_sql, NULL, 0, s_types, 11, take_session, &rows[0]);
        t[!flip][r] = !flip ? timed(st, sessions_scan, NULL, 0, s_types, 9, take_plain, &rows[1])
                            : timed(st, sessions_sql, NULL, 0, s_types, 11, take_session, &rows[0]);
        t[2 + flip][r] = flip ? timed(st, metrics_scan, range, 2, m_types, 4, take_plain, &rows[3])
                              : timed(st, metrics_sql, range, 2, m_types, 5, take_rollup, &rows[2]);
        t[2 + !flip][r] = !flip
                              ? timed(st, metrics_scan, range, 2, m_types, 4, take_plain, &rows[3])
                              : timed(st, metrics_sql, range, 2, m_types, 5, take_rollup, &rows[2]);
    }
    static const char *const what[] = {"sessions list (sessions table)", "sessions list (scan)",
                                       "metrics 24h/10m by type (rollups)", "metrics (scan)"};
    double med[4];
    for (int k = 0; k < 4; k++) {
        med[k] = median(t[k], rounds);
        printf("%-36s %9.2f ms  (%llu rows read)\n", what[k], med[k] * 1e3,
               (unsigned long long)rows[k]);
        free(t[k]);
    }
    printf("ratio scan / sessions table: %.0f\n", med[1] / med[0]);
    printf("ratio scan / rollups: %.1f\n", med[3] / med[2]);
    store_close(st);
    unlink(path);
    snprintf(url, sizeof url, "%s-wal", path);
    unlink(url);
    snprintf(url, sizeof url, "%s-shm", path);
    unlink(url);
    return 0;
}
