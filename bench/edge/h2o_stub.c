/* h2o_stub.c -- a stand-in HTTP edge on libh2o 2.2.5 (Debian 12's libh2o-dev, the libuv
 * flavour), for the edge-library trial of docs/ARCHITECTURE.md "Decisions"
 * (bench/edge/trial.mjs): GET /health answers 200 {"status":"ok"}, POST /api/v1/events answers
 * 202 {"accepted":1} once h2o has read its body, anything else 404. It stores nothing: it only
 * shows how the library frames requests (pipelining behind a body, a header section past 64
 * KiB). Not part of telltale. After h2o's own examples/libh2o/simple.c.
 *
 * build: cc -O2 -o build/h2o_stub bench/edge/h2o_stub.c $(pkg-config --cflags --libs libh2o) -luv
 * run:   build/h2o_stub PORT */
#define H2O_USE_LIBUV 1
#include <h2o.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static h2o_globalconf_t config;
static h2o_context_t ctx;
static h2o_accept_ctx_t accept_ctx;

static int answer(h2o_req_t *req, int status, const char *reason, const char *json)
{
    req->res.status = status;
    req->res.reason = reason;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    req->res.content_length = strlen(json);
    h2o_send_inline(req, json, strlen(json));
    return 0;
}

static int on_health(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
        return -1;
    }
    return answer(req, 200, "OK", "{\"status\":\"ok\"}");
}

static int on_events(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        return -1;
    }
    return answer(req, 202, "Accepted", "{\"accepted\":1}");
}

static void route(h2o_hostconf_t *host, const char *path, int (*fn)(h2o_handler_t *, h2o_req_t *))
{
    h2o_pathconf_t *pathconf = h2o_config_register_path(host, path, 0);
    h2o_handler_t *h = h2o_create_handler(pathconf, sizeof *h);
    h->on_req = fn;
}

static void on_accept(uv_stream_t *listener, int status)
{
    if (status != 0) {
        return;
    }
    uv_tcp_t *conn = h2o_mem_alloc(sizeof *conn);
    uv_tcp_init(listener->loop, conn);
    if (uv_accept(listener, (uv_stream_t *)conn) != 0) {
        uv_close((uv_handle_t *)conn, (uv_close_cb)free);
        return;
    }
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)conn, (uv_close_cb)free);
    h2o_accept(&accept_ctx, sock);
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 18392;
    h2o_config_init(&config);
    h2o_hostconf_t *host = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    route(host, "/health", on_health);
    route(host, "/api/v1/events", on_events);
    uv_loop_t *loop = uv_default_loop();
    h2o_context_init(&ctx, loop, &config);
    accept_ctx.ctx = &ctx;
    accept_ctx.hosts = config.hosts;
    static uv_tcp_t listener;
    struct sockaddr_in addr;
    uv_tcp_init(loop, &listener);
    uv_ip4_addr("127.0.0.1", port, &addr);
    if (uv_tcp_bind(&listener, (struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)&listener, 128, on_accept) != 0) {
        fprintf(stderr, "cannot listen on %d\n", port);
        return 1;
    }
    fprintf(stderr, "listening on %d\n", port);
    return uv_run(loop, UV_RUN_DEFAULT);
}
