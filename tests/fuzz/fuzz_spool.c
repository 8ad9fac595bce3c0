/* fuzz_spool.c -- libFuzzer target for spool records read back from disk (issue 10, item 5).
 *
 * The spool (src/pipeline/spool.c) is an SQLite file the daemon wrote; after a crash, a full
 * disk or a hand edit its rows may hold anything SQLite can store. Input: the 13 stored columns
 * of one row (id, ts, received_at, type, source, session_id, name, status, duration_ms, bytes,
 * value, error, attrs), separated by 0x1f; a missing column is NULL. Each is bound as text, so
 * the columns' affinities turn numeric text into numbers as they would for the daemon's own
 * writes, and leave anything else as text. The row is written beside the spool's own
 * connection, then read back with spool_peek() as the shipper does. Beyond "no crash, no leak,
 * no undefined behaviour": a row read back has a type, and can be written as the JSON the API
 * answers. */
#include "core/event_json.h"
#include "core/json_print.h"
#include "pipeline/spool.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COLUMNS 13

static spool *sp;
static sqlite3 *db;
static char dir[] = "/tmp/tt-fuzz-spool-XXXXXX";

/* At exit: the spool and its directory go (files spool.db, -wal, -shm and the lock). */
static void teardown(void)
{
    sqlite3_close(db);
    spool_close(sp);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    int rc = system(cmd);
    (void)rc;
}

static void setup(void)
{
    char err[TT_ERRLEN], path[64];
    if (mkdtemp(dir) == NULL || spool_open(dir, UINT64_C(1) << 30, &sp, err) != 0) {
        fprintf(stderr, "fuzz_spool: cannot open a spool in %s: %s\n", dir, err);
        abort();
    }
    snprintf(path, sizeof path, "%s/spool.db", dir);
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        abort();
    }
    sqlite3_busy_timeout(db, 5000);
    atexit(teardown);
}

/* Writes one row from the input's columns; false when SQLite refuses it (a NOT NULL column
 * missing, a duplicate id): nothing to read back then. */
static bool write_row(const uint8_t *data, size_t size)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_exec(db, "DELETE FROM monitoring_events", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO monitoring_events (id, ts, received_at, type, source, "
                           "session_id, name, status, duration_ms, bytes, value, error, attrs) "
                           "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK) {
        abort();
    }
    size_t start = 0;
    for (int col = 1; col <= COLUMNS && start <= size; col++) {
        const uint8_t *end = memchr(data + start, 0x1f, size - start);
        size_t len = end != NULL ? (size_t)(end - (data + start)) : size - start;
        sqlite3_bind_text(st, col, (const char *)data + start, (int)len, SQLITE_TRANSIENT);
        start += len + 1;
    }
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (sp == NULL) {
        setup();
    }
    if (size > 1 << 16 || !write_row(data, size)) {
        return 0;
    }
    event_batch b;
    char err[TT_ERRLEN] = "";
    if (spool_peek(sp, 0, 4, UINT64_MAX, &b, err) != 0) {
        if (err[0] == '\0') {
            abort(); /* a refusal always says why */
        }
        return 0;
    }
    for (size_t i = 0; i < b.count; i++) {
        const tt_event *ev = b.events[i];
        if (ev->type == NULL) {
            abort(); /* NOT NULL in the table: read back as NULL would be the reader's fault */
        }
        json_writer w = {0};
        event_write_json(&w, ev, EVENT_JSON_STORED);
        free(w.out.buf);
    }
    (void)spool_bytes(&b);
    event_batch_free(&b);
    return 0;
}
