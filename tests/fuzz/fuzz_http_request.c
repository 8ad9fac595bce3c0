/* fuzz_http_request.c -- libFuzzer target for HTTP request bytes through telltale's real request
 * handling: libh2o 2.2.5 on a libuv loop with src/http (accept and the connection guard, the
 * raw framing scan, admission, bodies and their content coding, routing, answers, h2o's own
 * refusals as rewritten by the fallback filter, the lingering close), driven over a loopback
 * TCP connection to the real listener.
 *
 * Each input is what a client sends on one connection, then it shuts its side down. A small
 * routing table stands in for the areas above http: a GET route, a body route that answers
 * with the body's length, a route with a {param}, all public (no keys are configured). Beyond "no
 * crash, no leak, no undefined behaviour" it checks that whatever comes back is HTTP/1.1 responses
 * (each starting with a status line), that every pass of the loop returns (a spin becomes a
 * libFuzzer timeout), and that the server closes the connection once the client has shut its
 * side down: h2o closes on EOF, answered or not, so a connection still open after SPINS passes
 * would be one the daemon holds for nothing.
 *
 * The client's socket is closed with SO_LINGER 0 (a reset), so no connection is left in
 * TIME_WAIT: a run of hundreds of thousands of inputs would otherwise use up the ephemeral ports.
 */
#include "http/http_internal.h"
#include "os/log.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SPINS 20000 /* loop passes a connection may take to end after its client has */

static uv_loop_t loop;
static http_server *hs;
static tt_config cfg;

static void answer_get(http_req *r, void *ctx)
{
    (void)ctx;
    http_respond_static(r, 200, "application/json", (const unsigned char *)"{}", 2);
}

static void answer_body(http_req *r, void *ctx)
{
    (void)ctx;
    char *b = malloc(48);
    if (b == NULL) {
        http_respond_error(r, 503, "overloaded", "out of memory");
        return;
    }
    int n = snprintf(b, 48, "{\"len\":%zu}", r->body_len);
    http_respond(r, 202, "application/json", b, (size_t)n);
}

/* /get holds its query to the server's rule (http_args_check); the others take any. */
static const http_param get_query[] = {{"a", true}, {"b", false}, {NULL, false}};
static const http_route routes[] = {
    {"/get", HTTP_GET | HTTP_HEAD, answer_get, NULL, NULL, AUTH_PUBLIC, get_query},
    {"/body", HTTP_POST | HTTP_PUT | HTTP_PATCH, answer_body, NULL, NULL, AUTH_PUBLIC,
     HTTP_QUERY_OWN},
    {"/item/{id}", HTTP_GET | HTTP_DELETE, answer_get, NULL, NULL, AUTH_PUBLIC, HTTP_QUERY_OWN},
};

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

static int start(void)
{
    char err[TT_ERRLEN];
    log_setup(LOG_ERROR, LOG_TEXT);
    if (config_init(&cfg, no_env, err) != 0 ||
        config_set_flag(&cfg, "--listen", "127.0.0.1:0", err) != 0 ||
        config_set_flag(&cfg, "--max-body", "64KiB", err) != 0) {
        fprintf(stderr, "fuzz_http_request: %s\n", err);
        abort();
    }
    uv_loop_init(&loop);
    if (http_server_start(&loop, &cfg, NULL, NULL, &hs, err) != 0 ||
        http_server_add_routes(hs, routes, sizeof routes / sizeof routes[0]) != 0) {
        fprintf(stderr, "fuzz_http_request: %s\n", err);
        abort();
    }
    return 0;
}

/* Checks that 'out' is a run of HTTP/1.1 responses: at least, each begins with a status line. */
static void check_output(const char *out, size_t len)
{
    if (len > 0 && (len < 12 || memcmp(out, "HTTP/1.", 7) != 0)) {
        fprintf(stderr, "fuzz_http_request: the answer is not HTTP/1.x: %.*s\n",
                (int)(len < 64 ? len : 64), out);
        abort();
    }
}

/* A client socket connected to the listener (the connection waits in its backlog until the
 * loop accepts it), non-blocking. */
static int connect_client(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)http_server_port(hs))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("fuzz_http_request: connect");
        abort();
    }
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int started = -1;
    if (started < 0) {
        started = start();
    }
    int fd = connect_client();
    size_t sent = 0;
    static char out[1 << 16];
    size_t out_len = 0;
    bool eof = false, shut = false;
    for (int spin = 0; spin < SPINS && !eof; spin++) {
        if (sent < size) {
            ssize_t n = write(fd, data + sent, size - sent);
            sent += n > 0 ? (size_t)n : 0;
            if (n < 0 && errno != EAGAIN) {
                break; /* the server has reset: it closed with our bytes unread */
            }
        }
        if (sent == size && !shut) {
            shutdown(fd, SHUT_WR);
            shut = true;
        }
        uv_run(&loop, UV_RUN_NOWAIT);
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            eof = true;
        } else if (n > 0 && out_len + (size_t)n <= sizeof out) {
            memcpy(out + out_len, buf, (size_t)n);
            out_len += (size_t)n;
        }
    }
    check_output(out, out_len);
    if (shut && !eof) {
        fprintf(stderr,
                "fuzz_http_request: the server kept the connection %d loop passes after "
                "the client shut its side\n",
                SPINS);
        abort();
    }
    close(fd);
    for (int spin = 0; spin < 100; spin++) {
        uv_run(&loop, UV_RUN_NOWAIT); /* let h2o see the reset and free the connection */
    }
    return 0;
}
