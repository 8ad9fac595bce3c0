/* fuzz_http_request.c -- libFuzzer target for HTTP request bytes through telltale's real request
 * handling: libwebsockets 4.1.6 on a libuv loop with src/http (admission, framing, chunked
 * bodies, content decoding, routing, answers), driven over a socketpair instead of TCP.
 *
 * Each input is what a client sends on one connection, then it shuts its side down. A small
 * routing table stands in for the areas above http: a GET route, a body route that answers
 * with the body's length, a route with a {param}, all public (no keys are configured). Beyond "no
 * crash, no leak, no undefined behaviour" it checks that whatever comes back is HTTP/1.1 responses
 * (each starting with a status line), and that every pass of the loop returns: lws 4.1.6 can spin
 * forever inside one (the whole daemon hangs), which libFuzzer reports as a timeout. It does not
 * require the server to close once the client has: lws keeps a connection whose request line it
 * could not finish until its own 10 s timeout (found here; bounded, and the daemon keeps serving).
 */
#include "http/http_internal.h"
#include "os/log.h"

#include <errno.h>
#include <fcntl.h>
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
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int started = -1;
    if (started < 0) {
        started = start();
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        abort();
    }
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    lws_sock_file_fd_type fd = {.sockfd = sv[0]};
    if (lws_adopt_descriptor_vhost(hs->vh, LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP, fd, NULL, NULL) ==
        NULL) {
        close(sv[1]);
        return 0; /* lws closed sv[0] */
    }
    size_t sent = 0;
    static char out[1 << 16];
    size_t out_len = 0;
    bool eof = false;
    for (int spin = 0; spin < SPINS && !eof; spin++) {
        if (sent < size) {
            ssize_t n = write(sv[1], data + sent, size - sent);
            sent += n > 0 ? (size_t)n : 0;
            if (sent == size) {
                shutdown(sv[1], SHUT_WR);
            }
        } else if (size == 0 && spin == 0) {
            shutdown(sv[1], SHUT_WR);
        }
        uv_run(&loop, UV_RUN_NOWAIT);
        char buf[4096];
        ssize_t n = read(sv[1], buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            eof = true;
        } else if (n > 0 && out_len + (size_t)n <= sizeof out) {
            memcpy(out + out_len, buf, (size_t)n);
            out_len += (size_t)n;
        }
    }
    check_output(out, out_len);
    close(sv[1]);
    for (int spin = 0; spin < 100; spin++) {
        uv_run(&loop, UV_RUN_NOWAIT); /* let lws see the close and free the connection */
    }
    (void)eof; /* lws may hold a half-closed connection until its own timeout (10 s) */
    return 0;
}
