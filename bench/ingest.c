/* ingest.c -- bench/ingest: how fast telltale acknowledges events end to end, against the raw
 * limit of its store measured in the same run.
 *
 *   bench_ingest [--store postgres://...] [--events N] [--batch N] [--connections N]
 *                [--rounds N] [--bin PATH] [--ts fixed|live]
 *
 * End to end: the real daemon (started here, port 0, on a fresh SQLite file or on the given
 * PostgreSQL database, emptied before each round) and several keep-alive connections posting
 * batches of realistic ~200-byte events; a batch counts when its 202 arrives, i.e. once it is
 * committed in the store. Raw limit, same rows: for SQLite, one prepared statement in one
 * transaction into a fresh file with the same schema, indexes and pragmas; for PostgreSQL,
 * one COPY in one transaction into the same (migrated) table. Rounds alternate the two so
 * both see the same noise; the medians and their ratio are printed. A benchmark, not a test:
 * nothing is asserted. */
#include "core/demo_gen.h"
#include "core/event_json.h"
#include "core/json_print.h"
#include "core/uuid7.h"
#include "store/migrations.h"
#include "store/pg_copy.h"
#include "store/store.h"
#include "os/clock.h"
#include "os/random.h"
#include "lib/args.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct opts {
    size_t events, batch, connections, rounds;
    const char *bin;
    const char *pg_url; /* NULL: SQLite */
    bool live;          /* --ts live: event times from the clock, not a fixed past day */
} opts;

typedef struct body {
    char *text;
    size_t len;
} body;

typedef struct worker {
    pthread_t thread;
    int port;
    body *bodies;
    size_t first, count; /* which bodies this connection posts */
    size_t acked;        /* 202s received */
    int failed;
} worker;

static void die(const char *what)
{
    fprintf(stderr, "bench_ingest: %s: %s\n", what, strerror(errno));
    exit(1);
}

#define FIXED_START_MS INT64_C(1795000000000) /* 2026-11-18, a day past by now */
#define LIVE_SPEEDUP 100                      /* --ts live: 100 ms of the demo in 1 ms */

/* N events of the demo's mix, as the daemon would store them. By default their times start on
 * a fixed day in the past (every round the same rows: to the rollups, a backfill); with 'live'
 * they start now and the demo's clock runs LIVE_SPEEDUP times faster, so that they fall in the
 * minutes a live producer's would (200,000 events span about 16 s). */
static event_batch make_events(size_t n, bool live)
{
    demo_gen g;
    demo_gen_init(&g, 42);
    event_batch b = {0};
    int64_t now = FIXED_START_MS, live_start = (int64_t)clock_now_ms();
    while (b.count < n) {
        now += 100;
        if (demo_gen_tick(&g, now, 100, &b) != 0) {
            die("out of memory");
        }
    }
    while (b.count > n) {
        event_free(b.events[--b.count]);
    }
    for (size_t i = 0; live && i < b.count; i++) {
        b.events[i]->ts_ms = live_start + (b.events[i]->ts_ms - FIXED_START_MS) / LIVE_SPEEDUP;
    }
    return b;
}

static void free_bodies(body *bodies, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(bodies[i].text);
    }
    free(bodies);
}

/* The events as JSON array bodies of 'per' events each. */
static body *make_bodies(const event_batch *b, size_t per, size_t *nbodies, double *avg_bytes)
{
    *nbodies = (b->count + per - 1) / per;
    body *bodies = calloc(*nbodies, sizeof *bodies);
    size_t total = 0;
    for (size_t i = 0; i < *nbodies; i++) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t k = i * per; k < b->count && k < (i + 1) * per; k++) {
            cJSON *obj = event_to_json(b->events[k]);
            cJSON_DeleteItemFromObject(obj, "received_at");
            cJSON_DeleteItemFromObject(obj, "id"); /* the daemon gives each a UUIDv7 */
            cJSON_AddItemToArray(arr, obj);
        }
        bodies[i].text = json_print_delete(arr, &bodies[i].len);
        total += bodies[i].len;
    }
    *avg_bytes = (double)total / (double)b->count;
    return bodies;
}

/* ---- the raw limit ---- */

static void exec_or_die(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "bench_ingest: sqlite: %s\n", msg);
        exit(1);
    }
}

static double raw_insert(const char *path, const event_batch *b)
{
    sqlite3 *db;
    unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        die("sqlite3_open");
    }
    exec_or_die(db, "PRAGMA journal_mode=WAL");
    exec_or_die(db, "PRAGMA synchronous=FULL");
    for (size_t i = 0; i < sqlite_migrations_count; i++) {
        exec_or_die(db, sqlite_migrations[i].sql);
    }
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db,
                       "INSERT INTO monitoring_events (id, ts, received_at, type, source, "
                       "session_id, name, status, duration_ms, bytes, value, error, attrs) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING",
                       -1, &st, NULL);
    uuid7_gen ids = {0};
    char id[UUID7_LEN];
    uint64_t start = clock_mono_us();
    exec_or_die(db, "BEGIN");
    for (size_t i = 0; i < b->count; i++) {
        const tt_event *ev = b->events[i];
        uuid7_next(&ids, clock_now_ms(), random_u64(), id);
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, ev->ts_ms);
        sqlite3_bind_int64(st, 3, ev->received_ms);
        const char *texts[] = {ev->type, ev->source, ev->session_id, ev->name, ev->status};
        for (int k = 0; k < 5; k++) {
            sqlite3_bind_text(st, 4 + k, texts[k], -1, SQLITE_STATIC);
        }
        sqlite3_bind_double(st, 9, ev->duration_ms);
        sqlite3_bind_int64(st, 10, ev->bytes);
        sqlite3_bind_null(st, 11);
        sqlite3_bind_text(st, 12, ev->error, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 13, ev->attrs, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            fprintf(stderr, "bench_ingest: insert: %s\n", sqlite3_errmsg(db));
            exit(1);
        }
    }
    exec_or_die(db, "COMMIT");
    double secs = (double)(clock_mono_us() - start) / 1e6;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return (double)b->count / secs;
}

/* ---- the raw limit, PostgreSQL ---- */

static void pg_exec_or_die(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "bench_ingest: postgres: %s: %s", sql, PQerrorMessage(c));
        exit(1);
    }
    PQclear(res);
}

static PGconn *pg_connect_or_die(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench_ingest: %s", PQerrorMessage(c));
        exit(1);
    }
    return c;
}

static void pg_empty(const char *url)
{
    PGconn *c = pg_connect_or_die(url);
    pg_exec_or_die(c, "TRUNCATE monitoring.monitoring_events RESTART IDENTITY");
    PQfinish(c);
}

/* The same rows (with fresh UUIDv7 ids, as the daemon would give them) in one COPY. */
static double raw_copy(const char *url, const event_batch *b)
{
    pg_copy_buf rows = {0};
    uuid7_gen ids = {0};
    for (size_t i = 0; i < b->count; i++) {
        tt_event ev = *b->events[i];
        uuid7_next(&ids, clock_now_ms(), random_u64(), ev.id);
        pg_copy_event(&rows, &ev, -1);
    }
    pg_empty(url);
    PGconn *c = pg_connect_or_die(url);
    uint64_t start = clock_mono_us();
    pg_exec_or_die(c, "BEGIN");
    PGresult *res = PQexec(c, "COPY monitoring.monitoring_events (" PG_COPY_COLUMNS ") FROM STDIN");
    if (PQresultStatus(res) != PGRES_COPY_IN || PQputCopyData(c, rows.buf, (int)rows.len) != 1 ||
        PQputCopyEnd(c, NULL) != 1) {
        fprintf(stderr, "bench_ingest: COPY: %s", PQerrorMessage(c));
        exit(1);
    }
    PQclear(res);
    while ((res = PQgetResult(c)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            fprintf(stderr, "bench_ingest: COPY: %s", PQresultErrorMessage(res));
            exit(1);
        }
        PQclear(res);
    }
    pg_exec_or_die(c, "COMMIT");
    double secs = (double)(clock_mono_us() - start) / 1e6;
    PQfinish(c);
    free(rows.buf);
    return (double)b->count / secs;
}

/* ---- end to end ---- */

static pid_t start_daemon(const char *bin, const char *store_url, int *port)
{
    int fds[2];
    if (pipe(fds) != 0) {
        die("pipe");
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        execl(bin, bin, "serve", "--listen", "127.0.0.1:0", "--store", store_url, "--log", "warn",
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *err = fdopen(fds[0], "r");
    char line[512];
    *port = 0;
    while (*port == 0 && fgets(line, sizeof line, err) != NULL) {
        const char *p = strstr(line, "listening on http://");
        const char *colon = p != NULL ? strrchr(p, ':') : NULL;
        *port = colon != NULL ? atoi(colon + 1) : 0;
    }
    if (*port == 0) {
        fprintf(stderr, "bench_ingest: %s did not report its port\n", bin);
        exit(1);
    }
    /* Keep draining its stderr so it never blocks on a full pipe. */
    if (fork() == 0) {
        while (fgets(line, sizeof line, err) != NULL) {
            fputs(line, stderr);
        }
        _exit(0);
    }
    fclose(err);
    return pid;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        die("connect");
    }
    return fd;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads one response; returns its status, or -1. Bodies here are small JSON. */
static int read_response(int fd, char *buf, size_t cap)
{
    size_t have = 0;
    char *end = NULL;
    while (end == NULL) {
        ssize_t r = read(fd, buf + have, cap - 1 - have);
        if (r <= 0) {
            return -1;
        }
        have += (size_t)r;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    const char *cl = strcasestr(buf, "content-length:");
    size_t body_len = cl != NULL ? (size_t)atol(cl + 15) : 0;
    size_t need = (size_t)(end + 4 - buf) + body_len;
    while (have < need) {
        ssize_t r = read(fd, buf + have, cap - 1 - have);
        if (r <= 0) {
            return -1;
        }
        have += (size_t)r;
    }
    return atoi(buf + 9);
}

static void *post_bodies(void *arg)
{
    worker *w = arg;
    int fd = connect_to(w->port);
    char head[256], reply[4096];
    for (size_t i = w->first; i < w->first + w->count; i++) {
        const body *b = &w->bodies[i];
        int n = snprintf(head, sizeof head,
                         "POST /api/v1/events HTTP/1.1\r\nHost: bench\r\n"
                         "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                         b->len);
        if (!write_all(fd, head, (size_t)n) || !write_all(fd, b->text, b->len) ||
            read_response(fd, reply, sizeof reply) != 202) {
            w->failed++;
            break;
        }
        w->acked++;
    }
    close(fd);
    return NULL;
}

/* Events waiting in the daemon's spool, from /api/v1/status; -1 if it cannot tell. */
static long spool_backlog(int port)
{
    int fd = connect_to(port);
    static const char req[] = "GET /api/v1/status HTTP/1.1\r\nHost: bench\r\n\r\n";
    char reply[16384];
    long events = -1;
    if (write_all(fd, req, sizeof req - 1) && read_response(fd, reply, sizeof reply) == 200) {
        const char *spool = strstr(reply, "\"spool\":{");
        const char *ev = spool != NULL ? strstr(spool, "\"events\":") : NULL;
        events = ev != NULL ? atol(ev + 9) : -1;
    }
    close(fd);
    return events;
}

/* With a remote store a 202 means "in the spool": the clock stops only once the shipper has
 * put everything into the store. */
static void wait_until_shipped(int port)
{
    for (int i = 0; i < 600000 && spool_backlog(port) > 0; i++) {
        usleep(1000);
    }
}

static double end_to_end(const opts *o, const char *store_url, body *bodies, size_t nbodies,
                         size_t *acked)
{
    int port;
    if (o->pg_url != NULL) {
        pg_empty(o->pg_url);
    } else {
        unlink(store_url + 7);
    }
    pid_t pid = start_daemon(o->bin, store_url, &port);
    worker *ws = calloc(o->connections, sizeof *ws);
    size_t per = nbodies / o->connections, extra = nbodies % o->connections, next = 0;
    uint64_t start = clock_mono_us();
    for (size_t i = 0; i < o->connections; i++) {
        ws[i] = (worker){.port = port, .bodies = bodies, .first = next};
        ws[i].count = per + (i < extra);
        next += ws[i].count;
        pthread_create(&ws[i].thread, NULL, post_bodies, &ws[i]);
    }
    *acked = 0;
    for (size_t i = 0; i < o->connections; i++) {
        pthread_join(ws[i].thread, NULL);
        *acked += ws[i].acked;
        if (ws[i].failed) {
            fprintf(stderr, "bench_ingest: connection %zu stopped on a non-202 answer\n", i);
        }
    }
    if (o->pg_url != NULL) {
        wait_until_shipped(port);
    }
    double secs = (double)(clock_mono_us() - start) / 1e6;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    free(ws);
    return (double)(*acked * o->batch) / secs;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define USAGE                                                                                      \
    "usage: bench_ingest [--store postgres://...] [--events N] [--batch N] [--connections N]\n"    \
    "                    [--rounds N] [--bin PATH] [--ts fixed|live]\n"

static void parse_args(int argc, char **argv, opts *o)
{
    args_begin("bench_ingest", USAGE);
    for (int i = 1; i < argc; i += 2) {
        const char *opt = argv[i], *val = args_value(argc, argv, i);
        if (strcmp(opt, "--events") == 0) {
            o->events = args_count(opt, val, 100000000);
        } else if (strcmp(opt, "--batch") == 0) {
            o->batch = args_count(opt, val, 100000);
        } else if (strcmp(opt, "--connections") == 0) {
            o->connections = args_count(opt, val, 256);
        } else if (strcmp(opt, "--rounds") == 0) {
            o->rounds = args_count(opt, val, 32);
        } else if (strcmp(opt, "--bin") == 0) {
            o->bin = args_text(opt, val);
        } else if (strcmp(opt, "--ts") == 0) {
            if (strcmp(args_text(opt, val), "live") != 0 && strcmp(val, "fixed") != 0) {
                args_fail("%s is fixed or live, not '%s'", opt, val);
            }
            o->live = strcmp(val, "live") == 0;
        } else if (strcmp(opt, "--store") == 0) {
            if (strncmp(args_text(opt, val), "postgres://", 11) != 0 &&
                strncmp(val, "postgresql://", 13) != 0) {
                args_fail("%s takes a postgres:// URL (SQLite is the default), not '%s'", opt, val);
            }
            o->pg_url = val;
        } else {
            args_fail("unknown option %s", opt);
        }
    }
    args_bin("--bin", o->bin);
}

/* The working directory and what the daemon and the raw limit leave in it, removed at exit,
 * whatever the exit. */
static char work_dir[] = "/tmp/bench_ingest.XXXXXX";

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* At exit: the work directory and whatever the rounds left in it (databases, their WAL files,
 * the daemon's spool), depth first. */
static void remove_work_dir(void)
{
    if (nftw(work_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT) {
        fprintf(stderr, "bench_ingest: cannot remove '%s': %s\n", work_dir, strerror(errno));
    }
}

int main(int argc, char **argv)
{
    opts o = {
        .events = 200000, .batch = 100, .connections = 8, .rounds = 3, .bin = "build/telltale"};
    parse_args(argc, argv, &o);
    signal(SIGPIPE, SIG_IGN);
    const char *dir = work_dir;
    char raw_db[600], e2e_db[600];
    if (mkdtemp(work_dir) == NULL) {
        die("mkdtemp");
    }
    atexit(remove_work_dir);
    snprintf(raw_db, sizeof raw_db, "%s/raw.db", dir);
    char spool_dir[600];
    snprintf(spool_dir, sizeof spool_dir, "%s/spool", dir);
    setenv("TELLTALE_SPOOL_DIR", spool_dir, 1); /* the daemon's, with a remote store */
    snprintf(e2e_db, sizeof e2e_db, "sqlite:%s/e2e.db", dir);
    const char *store_url = o.pg_url != NULL ? o.pg_url : e2e_db;
    if (o.pg_url != NULL) {
        char err[TT_ERRLEN];
        int version;
        if (store_migrate(o.pg_url, &version, err) != 0) {
            fprintf(stderr, "bench_ingest: %s\n", err);
            return 1;
        }
    }
    event_batch events = make_events(o.events, o.live);
    size_t nbodies;
    double avg;
    body *bodies = make_bodies(&events, o.batch, &nbodies, &avg);
    printf("bench_ingest: %s, %zu events (%.0f bytes each on average), %zu per POST, %zu "
           "connection%s, %zu round%s\n",
           o.pg_url != NULL ? "postgres" : "sqlite", o.events, avg, o.batch, o.connections,
           o.connections == 1 ? "" : "s", o.rounds, o.rounds == 1 ? "" : "s");
    double raw[32], e2e[32];
    for (size_t r = 0; r < o.rounds; r++) {
        size_t acked;
        if (o.live && r > 0) { /* this round's events in this round's minutes */
            free_bodies(bodies, nbodies);
            event_batch_free(&events);
            events = make_events(o.events, true);
            bodies = make_bodies(&events, o.batch, &nbodies, &avg);
        }
        raw[r] = o.pg_url != NULL ? raw_copy(o.pg_url, &events) : raw_insert(raw_db, &events);
        e2e[r] = end_to_end(&o, store_url, bodies, nbodies, &acked);
        printf("  round %zu: raw %.0f events/s, end to end %.0f events/s (%zu of %zu POSTs "
               "acknowledged)\n",
               r + 1, raw[r], e2e[r], acked, nbodies);
    }
    double raw_med = median(raw, o.rounds), e2e_med = median(e2e, o.rounds);
    printf("raw limit (%s): %.0f events/s\n",
           o.pg_url != NULL ? "one COPY in one transaction" : "one transaction, prepared statement",
           raw_med);
    printf("end to end (HTTP, validation, group commit, fsync%s): %.0f events/s\n",
           o.pg_url != NULL ? ", spool, shipped into the store" : "", e2e_med);
    printf("ratio end to end / raw: %.3f\n", e2e_med / raw_med);
    return 0;
}
