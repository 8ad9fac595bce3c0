/* pg_call.c -- every conversation with PostgreSQL, with a deadline.
 *
 * libpq's blocking calls wait as long as the network lets them: a server that stopped
 * answering without closing (a partition, a black-holed route, a frozen host) holds the
 * calling thread for as long as TCP does, which can be forever when something in between
 * still acknowledges. So connections run in non-blocking mode and every wait here is a poll
 * bounded by a deadline and woken by store_interrupt().
 *
 * The deadline of a statement is the store's timeout plus a grace: the server's own
 * statement_timeout (set to the same timeout) speaks first when the server is there to speak,
 * and its error leaves the connection usable. Only a silent server is cut off: the socket is
 * shut down, libpq sees the connection end, and the callers' usual "the connection broke"
 * paths take over (PQfinish, reconnect on the next call). */
#include "store/pg_internal.h"

#include "os/clock.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define GRACE_MS 2000
#define MIN_CONNECT_MS 2000 /* as libpq rounds connect_timeout up to 2 s */

/* Why this thread last cut a connection; pg_fail() reports it instead of libpq's "server
 * closed the connection unexpectedly", which would be untrue. Read and cleared by pg_fail. */
static _Thread_local char cut_reason[96];

bool pg_was_cut(void)
{
    return cut_reason[0] != '\0';
}

const char *pg_take_cut_reason(char *buf, size_t len)
{
    if (cut_reason[0] == '\0') {
        return NULL;
    }
    snprintf(buf, len, "%s", cut_reason);
    cut_reason[0] = '\0';
    return buf;
}

static bool interrupted(const pg_store *s)
{
    return atomic_load(&s->interrupted);
}

/* Ends the conversation on 'conn' for 'why': libpq finds the socket closed at its next read
 * and marks the connection broken. */
static void cut(PGconn *conn, const char *why)
{
    snprintf(cut_reason, sizeof cut_reason, "%s", why);
    int fd = PQsocket(conn);
    if (fd >= 0) {
        shutdown(fd, SHUT_RDWR);
    }
    PQconsumeInput(conn);
}

/* Waits until 'fd' is readable (or writable too, with 'write'). Returns 0 when it is, or the
 * reason it will not be: a deadline passed or the store was interrupted. */
static const char *wait_fd(const pg_store *s, int fd, bool write, int64_t deadline_ms, char *why,
                           size_t len)
{
    for (;;) {
        if (interrupted(s)) {
            return "interrupted: telltale is shutting down";
        }
        int64_t left = deadline_ms - clock_mono_ms();
        if (left <= 0) {
            snprintf(why, len, "no answer from PostgreSQL within %u ms", s->timeout_ms + GRACE_MS);
            return why;
        }
        struct pollfd fds[2] = {{.fd = fd, .events = (short)(POLLIN | (write ? POLLOUT : 0))},
                                {.fd = s->interrupt_fd, .events = POLLIN}};
        int n = poll(fds, 2, left > INT32_MAX ? INT32_MAX : (int)left);
        if (n < 0 && errno != EINTR) {
            snprintf(why, len, "poll: %s", strerror(errno));
            return why;
        }
        if (n > 0 && fds[0].revents != 0) {
            return NULL;
        }
    }
}

/* Waits for 'conn' as above; on failure cuts it. True when it may go on. */
static bool wait_conn(const pg_store *s, PGconn *conn, bool write, int64_t deadline_ms)
{
    if (PQsocket(conn) < 0) {
        return false; /* libpq already dropped it */
    }
    char buf[96];
    const char *why = wait_fd(s, PQsocket(conn), write, deadline_ms, buf, sizeof buf);
    if (why != NULL) {
        cut(conn, why);
        return false;
    }
    return true;
}

static int64_t statement_deadline(const pg_store *s)
{
    return clock_mono_ms() + s->timeout_ms + GRACE_MS;
}

/* The connect_timeout the URL asked for (libpq honours it only in its blocking connect). */
static int64_t connect_budget_ms(PGconn *conn, const pg_store *s)
{
    int64_t ms = 0;
    PQconninfoOption *opts = PQconninfo(conn);
    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
        if (strcmp(o->keyword, "connect_timeout") == 0 && o->val != NULL) {
            ms = strtoll(o->val, NULL, 10) * 1000;
        }
    }
    PQconninfoFree(opts);
    if (ms <= 0) {
        return s->timeout_ms;
    }
    return ms < MIN_CONNECT_MS ? MIN_CONNECT_MS : ms;
}

int pg_connect(const pg_store *s, const char *const *keys, const char *const *values, PGconn **out,
               char *err)
{
    PGconn *conn = PQconnectStartParams(keys, values, 1);
    if (conn == NULL) {
        return tt_fail(err, TT_ENOMEM, "out of memory connecting to PostgreSQL");
    }
    /* A server that answers and refuses (a password, a database, a role) says so with a
     * SQLSTATE: verbose messages carry it ("FATAL:  28P01: ..."), for pg_login_refused(). */
    PQsetErrorVerbosity(conn, PQERRORS_VERBOSE);
    int64_t deadline = clock_mono_ms() + connect_budget_ms(conn, s);
    char buf[96];
    const char *why = NULL;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (PQstatus(conn) != CONNECTION_BAD &&
           (st == PGRES_POLLING_READING || st == PGRES_POLLING_WRITING)) {
        /* The socket may change between attempts (another address, another host). */
        why = wait_fd(s, PQsocket(conn), st == PGRES_POLLING_WRITING, deadline, buf, sizeof buf);
        if (why != NULL) {
            break;
        }
        st = PQconnectPoll(conn);
    }
    if (why == NULL && PQstatus(conn) == CONNECTION_OK && PQsetnonblocking(conn, 1) != 0) {
        why = "cannot make the connection non-blocking";
    }
    bool failed = why != NULL || PQstatus(conn) != CONNECTION_OK;
    __atomic_store_n((bool *)&s->unreachable, failed, __ATOMIC_RELAXED);
    if (failed) {
        const char *msg = why != NULL ? why : PQerrorMessage(conn);
        tt_fail(err, TT_EUNAVAILABLE, "cannot connect to PostgreSQL: %.*s", (int)strcspn(msg, "\n"),
                msg);
        PQfinish(conn);
        return TT_EUNAVAILABLE;
    }
    *out = conn;
    return 0;
}

/* Flushes what libpq holds for the server. */
static bool flush_all(const pg_store *s, PGconn *conn, int64_t deadline)
{
    int r;
    while ((r = PQflush(conn)) == 1) {
        if (!wait_conn(s, conn, true, deadline)) {
            return false;
        }
        if (PQconsumeInput(conn) == 0) { /* the server may answer while we write */
            return false;
        }
    }
    return r == 0;
}

static PGresult *pg_next_result(const pg_store *s, PGconn *conn, int64_t deadline)
{
    while (PQisBusy(conn) && PQstatus(conn) == CONNECTION_OK) {
        if (!wait_conn(s, conn, false, deadline) || PQconsumeInput(conn) == 0) {
            break; /* PQgetResult now reports the broken connection */
        }
    }
    return PQgetResult(conn);
}

/* Like PQexec's end: the first error, else the last result; stops at the start of a COPY. */
static PGresult *collect(const pg_store *s, PGconn *conn, int64_t deadline)
{
    PGresult *kept = NULL, *res;
    while ((res = pg_next_result(s, conn, deadline)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (kept == NULL || PQresultStatus(kept) != PGRES_FATAL_ERROR) {
            PQclear(kept);
            kept = res;
        } else {
            PQclear(res);
        }
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {
            break;
        }
    }
    return kept;
}

PGresult *pg_call(const pg_store *s, PGconn *conn, const char *sql, int nparams,
                  const char *const *params)
{
    cut_reason[0] = '\0';
    int64_t deadline = statement_deadline(s);
    int sent = nparams == 0 ? PQsendQuery(conn, sql)
                            : PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (sent == 0 || !flush_all(s, conn, deadline)) {
        return NULL; /* PQerrorMessage says why */
    }
    return collect(s, conn, deadline);
}

PGresult *pg_copy_in(const pg_store *s, PGconn *conn, const char *data, size_t len)
{
    int64_t deadline = statement_deadline(s);
    int r;
    while ((r = PQputCopyData(conn, data, (int)len)) == 0) {
        if (!wait_conn(s, conn, true, deadline) || PQflush(conn) < 0) {
            return NULL;
        }
    }
    while (r == 1 && (r = PQputCopyEnd(conn, NULL)) == 0) {
        if (!wait_conn(s, conn, true, deadline) || PQflush(conn) < 0) {
            return NULL;
        }
    }
    if (r != 1 || !flush_all(s, conn, deadline)) {
        return NULL;
    }
    return collect(s, conn, deadline);
}
