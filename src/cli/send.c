/* send.c -- telltale send: post events to a running daemon, from arguments or from NDJSON on
 * standard input, in batches, retrying politely when the daemon asks for it. */
#include "cli/cli.h"

#include "cli/http_client.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_BYTES (512 * 1024) /* well under the daemon's default 1 MiB body limit */
#define BATCH_LINES 1000
#define MAX_ATTEMPTS 10
#define LINE_MAX_BYTES (1024 * 1024)
#define JSON "application/json"
#define NDJSON "application/x-ndjson"

static const char USAGE[] =
    "usage: telltale send [--url URL] [EVENT ...]\n"
    "\n"
    "Posts events to a running telltale. Each EVENT argument is one event as a JSON object,\n"
    "e.g. '{\"type\":\"tool_call\",\"name\":\"search\",\"duration_ms\":41}'. Without\n"
    "arguments, reads NDJSON (one event per line) from standard input and sends it in batches.\n"
    "\n"
    "options:\n"
    "  --url URL   the daemon (default: TELLTALE_URL, else http:// + TELLTALE_LISTEN,\n"
    "              else http://127.0.0.1:8080)\n"
    "\n"
    "exit status: 0 all events accepted, 1 the daemon refused or could not be reached,\n"
    "2 usage error.\n";

typedef struct sender {
    http_client http;
    unsigned long long accepted;
} sender;

/* Posts one body, retrying 429/503 as told. Returns 0 or 1. */
static int post(sender *s, const char *body, size_t len, unsigned lines, const char *type)
{
    long status = http_client_request(&s->http, "telltale send", "POST", "/api/v1/events", body,
                                      len, type, MAX_ATTEMPTS);
    if (status == 202) {
        s->accepted += lines;
        return 0;
    }
    if (status != 0) {
        fprintf(stderr, "telltale send: HTTP %ld: %s\n", status, s->http.reply);
    }
    return 1;
}

static int send_args(sender *s, int argc, char **argv, int first)
{
    for (int i = first; i < argc; i++) {
        if (post(s, argv[i], strlen(argv[i]), 1, JSON) != 0) {
            return 1;
        }
    }
    return 0;
}

static int send_stdin(sender *s)
{
    char *batch = malloc(BATCH_BYTES + LINE_MAX_BYTES);
    char *line = malloc(LINE_MAX_BYTES);
    size_t len = 0;
    unsigned lines = 0;
    int rc = batch && line ? 0 : 1;
    while (rc == 0 && fgets(line, LINE_MAX_BYTES, stdin) != NULL) {
        size_t n = strlen(line);
        if (n == LINE_MAX_BYTES - 1 && line[n - 1] != '\n') {
            fprintf(stderr, "telltale send: a line of standard input is longer than 1 MiB\n");
            rc = 1;
            break;
        }
        if (strspn(line, " \t\r\n") == n) {
            continue;
        }
        memcpy(batch + len, line, n);
        len += n;
        if (line[n - 1] != '\n') {
            batch[len++] = '\n';
        }
        if (++lines == BATCH_LINES || len >= BATCH_BYTES) {
            rc = post(s, batch, len, lines, NDJSON);
            len = lines = 0;
        }
    }
    if (rc == 0 && lines > 0) {
        rc = post(s, batch, len, lines, NDJSON);
    }
    free(batch);
    free(line);
    return rc;
}

int cli_send(int argc, char **argv)
{
    sender s = {0};
    const char *url = NULL;
    int first = 1;
    for (; first < argc && strncmp(argv[first], "--", 2) == 0; first++) {
        if (strcmp(argv[first], "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        } else if (strcmp(argv[first], "--url") == 0 && first + 1 < argc) {
            url = argv[++first];
        } else if (strncmp(argv[first], "--url=", 6) == 0) {
            url = argv[first] + 6;
        } else {
            fprintf(stderr, "telltale send: unknown option '%s'\n\n%s", argv[first], USAGE);
            return EXIT_USAGE;
        }
    }
    char base[1024];
    http_client_base(base, sizeof base, url);
    if (http_client_init(&s.http, base) != 0) {
        fprintf(stderr, "telltale send: out of memory\n");
        return 1;
    }
    int rc = first < argc ? send_args(&s, argc, argv, first) : send_stdin(&s);
    if (rc == 0) {
        printf("accepted %llu\n", s.accepted);
    }
    http_client_free(&s.http);
    return rc;
}
