/* index_slices.c -- bench/index_slices: how long the session index's work (migrations/sqlite/0007,
 * store_index_sessions) holds SQLite's writer at a time, against a plain group commit measured
 * in the same run. Acks queued behind the writer wait that long.
 *
 *   bench_index_slices [--events N] [--sessions N] [--commit N] [--dir PATH]
 *
 * A fresh SQLite store (the daemon's code: store_open, store_insert_events) gets N events
 * (default 200,000) in commits of C (default 1,000), each event in one of S sessions (default
 * 1,000, picked by a multiplicative hash), as the persister commits them; after each commit the
 * persister's settle call, store_index_sessions(idle false), is made and timed, as it runs
 * between two commits. Then the idle calls that finish the tail. Reported: the commits' median,
 * p99 and max; the index calls' total, median, p99 and max, and the count of calls that did
 * work (over 0.2 ms), p99 and max also as a ratio to the median commit. A benchmark, not a test:
 * nothing is asserted. */
#include "os/clock.h"
#include "store/store.h"
#include "lib/args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_index_slices: %s: %s\n", what, err);
    exit(1);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile of n sorted values. */
static double quantile(const double *v, size_t n, double q)
{
    return n == 0 ? 0 : v[(size_t)(q * (double)(n - 1))];
}

static void report(const char *what, double *ms, size_t n, double unit)
{
    qsort(ms, n, sizeof *ms, by_value);
    size_t working = 0;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        working += ms[i] > 0.2;
        total += ms[i];
    }
    printf("%-13s n %4zu (%3zu over 0.2 ms)  total %6.0f ms  median %6.3f ms  p99 %6.3f ms "
           "(%.2fx)  max %6.3f ms (%.2fx)\n",
           what, n, working, total, quantile(ms, n, 0.5), quantile(ms, n, 0.99),
           quantile(ms, n, 0.99) / unit, ms[n - 1], ms[n - 1] / unit);
}

/* One commit of 'c' events from number 'first' on; returns its time in ms. */
static double commit(store *st, tt_event *ev, tt_event **ptr, char (*sid)[32], size_t first,
                     size_t c, size_t sessions)
{
    for (size_t k = 0; k < c; k++) {
        size_t i = first + k;
        snprintf(sid[k], sizeof sid[k], "session-%08zx", (size_t)((i * 2654435761u) % sessions));
        ev[k] = (tt_event){.ts_ms = 1793491200000 + (int64_t)i,
                           .type = "tool_call",
                           .source = "agent",
                           .session_id = sid[k],
                           .name = "read_file",
                           .status = "ok",
                           .attrs = "{\"path\":\"/src/main.c\"}"};
        ev[k].received_ms = ev[k].ts_ms;
        snprintf(ev[k].id, sizeof ev[k].id, "0190%08zx-7000-8000-%012zx", i / 10, i);
        ptr[k] = &ev[k];
    }
    char err[TT_ERRLEN];
    uint64_t t0 = clock_mono_us();
    if (store_insert_events(st, ptr, c, err) != 0) {
        die("insert", err);
    }
    return (double)(clock_mono_us() - t0) / 1000.0;
}

/* One settle call; returns its time in ms and whether more work is waiting. */
static double index_call(store *st, bool idle, bool *more)
{
    char err[TT_ERRLEN];
    uint64_t t0 = clock_mono_us();
    if (store_index_sessions(st, clock_mono_ms(), idle, more, err) != 0) {
        die("index", err);
    }
    return (double)(clock_mono_us() - t0) / 1000.0;
}

#define USAGE "usage: bench_index_slices [--events N] [--sessions N] [--commit N] [--dir PATH]\n"

int main(int argc, char **argv)
{
    size_t n = 200000, sessions = 1000, c = 1000;
    const char *dir = "/tmp";
    args_begin("bench_index_slices", USAGE);
    for (int i = 1; i < argc; i += 2) {
        const char *opt = argv[i], *val = args_value(argc, argv, i);
        if (strcmp(opt, "--events") == 0) {
            n = args_count(opt, val, 100000000);
        } else if (strcmp(opt, "--sessions") == 0) {
            sessions = args_count(opt, val, 100000000);
        } else if (strcmp(opt, "--commit") == 0) {
            c = args_count(opt, val, 1000000);
        } else if (strcmp(opt, "--dir") == 0) {
            dir = args_dir(opt, val);
        } else {
            args_fail("unknown option %s", opt);
        }
    }
    char path[512], url[600], err[TT_ERRLEN];
    snprintf(path, sizeof path, "%s/bench-index-slices-%d.db", dir, (int)getpid());
    snprintf(url, sizeof url, "sqlite:%s", path);
    store *st = NULL;
    if (store_open(url, &st, err) != 0) {
        die("open", err);
    }
    tt_event *ev = calloc(c, sizeof *ev);
    tt_event **ptr = calloc(c, sizeof *ptr);
    char(*sid)[32] = calloc(c, sizeof *sid);
    size_t ncommits = (n + c - 1) / c, nidle = 0;
    double *commits = calloc(ncommits, sizeof *commits);
    double *calls = calloc(ncommits + 100000, sizeof *calls);
    bool more = false;
    for (size_t k = 0; k < ncommits; k++) {
        size_t m = n - k * c < c ? n - k * c : c;
        commits[k] = commit(st, ev, ptr, sid, k * c, m, sessions);
        calls[k] = index_call(st, false, &more);
    }
    do { /* the queue is quiet: the idle calls finish the tail */
        calls[ncommits + nidle++] = index_call(st, true, &more);
    } while (more && nidle < 100000);
    printf("%zu events, %zu sessions, commits of %zu; idle calls to finish: %zu\n", n, sessions, c,
           nidle);
    qsort(commits, ncommits, sizeof *commits, by_value);
    double unit = quantile(commits, ncommits, 0.5);
    report("commit", commits, ncommits, unit);
    report("index (busy)", calls, ncommits, unit);
    report("index (idle)", calls + ncommits, nidle, unit);
    store_close(st);
    free(ev);
    free(ptr);
    free(sid);
    free(commits);
    free(calls);
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(url, sizeof url, "%s%s", path, suffixes[i]);
        unlink(url);
    }
    return 0;
}
