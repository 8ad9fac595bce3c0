/* mhd_stub.c -- a stand-in HTTP edge on libmicrohttpd 0.9.75 (Debian 12), for the edge-library
 * trial of docs/ARCHITECTURE.md "Decisions" (bench/edge/trial.mjs): GET /health answers 200
 * {"status":"ok"}, POST /api/v1/events reads its body and answers 202 {"accepted":1}, anything
 * else 404. It stores nothing: it only shows how the library frames requests (pipelining behind a
 * body, a header section past 64 KiB). Not part of telltale.
 *
 * build: cc -O2 -o build/mhd_stub bench/edge/mhd_stub.c $(pkg-config --cflags --libs libmicrohttpd)
 * run:   build/mhd_stub PORT */
#include <microhttpd.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *json)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **state)
{
    (void)cls;
    (void)version;
    (void)data;
    if (*state == NULL) { /* the headers: come back with the body */
        *state = (void *)1;
        return MHD_YES;
    }
    if (*size > 0) { /* a piece of the body: taken, dropped */
        *size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") == 0 && strcmp(url, "/health") == 0) {
        return answer(c, 200, "{\"status\":\"ok\"}");
    }
    if (strcmp(method, "POST") == 0 && strcmp(url, "/api/v1/events") == 0) {
        return answer(c, 202, "{\"accepted\":1,\"duplicates\":0}");
    }
    return answer(c, 404, "{\"error\":{\"code\":\"not_found\"}}");
}

int main(int argc, char **argv)
{
    unsigned port = argc > 1 ? (unsigned)atoi(argv[1]) : 18080;
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, handle,
        NULL, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024), /* bounds the header section */
        MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "mhd_stub: cannot listen on %u\n", port);
        return 1;
    }
    printf("listening on %u\n", port);
    fflush(stdout);
    pause(); /* until a signal ends it */
    MHD_stop_daemon(d);
    return 0;
}
