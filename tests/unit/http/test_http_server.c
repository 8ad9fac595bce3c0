/* test_http_server.c -- the two places where http_server.c relies on libh2o 2.2.5's insides
 * rather than its API, held to what they assume, so that a different libh2o fails here and not
 * as a daemon that never exits:
 *   - h2o_context_t.queue points at a struct whose first member is the uv_async_t h2o's
 *     context keeps referenced (lib/common/multithread.c); http_server_stop() unrefs it;
 *   - after http_server_stop() the loop returns with connections in each state (idle before
 *     any request, mid-header, idle after an answer on keep-alive), every client sees the
 *     connection end, and after http_server_free() the loop closes with no handle left.
 * The raw framing scan (admit_raw_framing, h2o's socket input) and the upgrade hand-over are
 * held by tests/integration: hostile-http "both Content-Length and Transfer-Encoding → 400
 * conflicting_framing" and hostile-ws "frames sent in the same write as the handshake". */
#include "http/http_internal.h"
#include "os/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void answer(http_req *r, void *ctx)
{
    (void)ctx;
    http_respond_static(r, 200, "application/json", (const unsigned char *)"{}", 2);
}

static const http_route routes[] = {
    {"/get", HTTP_GET, answer, NULL, NULL, AUTH_PUBLIC, NULL},
};

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

typedef struct fixture {
    uv_loop_t loop;
    tt_config cfg;
    http_server *hs;
} fixture;

static void start(fixture *f)
{
    char err[TT_ERRLEN];
    log_setup(LOG_ERROR, LOG_TEXT);
    assert_int_equal(config_init(&f->cfg, no_env, err), 0);
    assert_int_equal(config_set_flag(&f->cfg, "--listen", "127.0.0.1:0", err), 0);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(http_server_start(&f->loop, &f->cfg, NULL, NULL, &f->hs, err), 0);
    assert_int_equal(http_server_add_routes(f->hs, routes, 1), 0);
}

static int client(fixture *f)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)http_server_port(f->hs))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* Runs the loop until 'fd' has 'want' bytes or more to read (kept in 'buf'), or ends. */
static size_t run_until_read(fixture *f, int fd, char *buf, size_t cap, size_t want)
{
    size_t have = 0;
    for (int spin = 0; spin < 1000000 && have < want; spin++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        ssize_t n = read(fd, buf + have, cap - have);
        if (n == 0) {
            break;
        }
        have += n > 0 ? (size_t)n : 0;
        if (n < 0 && errno == EAGAIN) {
            usleep(100);
        }
    }
    return have;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_http_server: uv_run did not return after http_server_stop "
                              "(h2o's context holds the loop: its layout changed?)\n";
    ssize_t n = write(2, msg, sizeof msg - 1);
    (void)n;
    _exit(1);
}

static void test_queue_is_a_uv_async(void **state)
{
    (void)state;
    fixture f;
    start(&f);
    const uv_handle_t *h = (const uv_handle_t *)f.hs->h2o_ctx.queue;
    assert_non_null(h);
    assert_int_equal(uv_handle_get_type(h), UV_ASYNC);
    assert_ptr_equal(uv_handle_get_loop(h), &f.loop);
    assert_true(uv_has_ref(h)); /* what holds the loop open, until http_server_stop() */
    http_server_stop(f.hs);
    assert_false(uv_has_ref(h));
    uv_run(&f.loop, UV_RUN_DEFAULT);
    http_server_free(f.hs);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f.loop), 0);
}

static void test_stop_ends_the_loop(void **state)
{
    (void)state;
    fixture f;
    start(&f);
    char buf[4096];
    int idle = client(&f), partial = client(&f), kept = client(&f);
    const char get[] = "GET /get HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(write(partial, "GET /get HTTP/1.1\r\nHo", 21), 21);
    assert_int_equal(write(kept, get, sizeof get - 1), (ssize_t)(sizeof get - 1));
    size_t n = run_until_read(&f, kept, buf, sizeof buf - 1, 12);
    assert_true(n >= 12);
    assert_memory_equal(buf, "HTTP/1.1 200", 12);
    for (int spin = 0; spin < 1000; spin++) {
        uv_run(&f.loop, UV_RUN_NOWAIT); /* the idle and partial connections accepted */
    }

    signal(SIGALRM, on_alarm);
    alarm(60); /* not a timing: a backstop against a hang (the loop returns at once) */
    http_server_stop(f.hs);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    alarm(0);
    int fds[] = {idle, partial, kept};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        ssize_t r;
        do {
            r = read(fds[i], buf, sizeof buf);
        } while (r > 0);
        assert_true(r == 0 || (r < 0 && errno != EAGAIN)); /* ended, not still open */
        close(fds[i]);
    }
    http_server_free(f.hs);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f.loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_is_a_uv_async),
        cmocka_unit_test(test_stop_ends_the_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
