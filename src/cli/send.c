/* send.c -- telltale send: post events to a running daemon, from arguments or from NDJSON on
 * standard input, in batches, retrying politely when the daemon asks for it. */
#include "cli/cli.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_BYTES (512 * 1024) /* well under the daemon's default 1 MiB body limit */
#define BATCH_LINES 1000
#define MAX_ATTEMPTS 10
#define LINE_MAX_BYTES (1024 * 1024)
#define JSON "Content-Type: application/json"
#define NDJSON "Content-Type: application/x-ndjson"

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
    CURL *curl;
    char url[1100];
    char *reply;
    size_t reply_len;
    unsigned long long accepted;
} sender;

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
    sender *s = arg;
    size_t len = size * n;
    char *grown = realloc(s->reply, s->reply_len + len + 1);
    if (grown == NULL) {
        return 0;
    }
    memcpy(grown + s->reply_len, data, len);
    s->reply = grown;
    s->reply_len += len;
    s->reply[s->reply_len] = '\0';
    return len;
}

/* Posts one body; retries on 429/503 as told by Retry-After. Returns 0 or 1. */
static int post(sender *s, const char *body, size_t len, unsigned lines, const char *type)
{
    struct curl_slist *headers = curl_slist_append(NULL, type);
    curl_easy_setopt(s->curl, CURLOPT_URL, s->url);
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, s);
    int rc = 1;
    for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        s->reply_len = 0;
        CURLcode cc = curl_easy_perform(s->curl);
        long status = 0;
        curl_off_t retry = 0;
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(s->curl, CURLINFO_RETRY_AFTER, &retry);
        if (cc != CURLE_OK) {
            fprintf(stderr, "telltale send: %s: %s\n", s->url, curl_easy_strerror(cc));
            break;
        }
        if (status == 202) {
            s->accepted += lines;
            rc = 0;
            break;
        }
        if ((status == 429 || status == 503) && attempt < MAX_ATTEMPTS) {
            sleep(retry > 0 && retry < 60 ? (unsigned)retry : 1);
            continue;
        }
        fprintf(stderr, "telltale send: HTTP %ld: %s\n", status, s->reply ? s->reply : "");
        break;
    }
    curl_slist_free_all(headers);
    return rc;
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

static void default_url(char *url, size_t len)
{
    const char *u = getenv("TELLTALE_URL"), *listen = getenv("TELLTALE_LISTEN");
    if (u != NULL && u[0] != '\0') {
        snprintf(url, len, "%s", u);
    } else {
        snprintf(url, len, "http://%s", listen != NULL && listen[0] ? listen : "127.0.0.1:8080");
    }
}

int cli_send(int argc, char **argv)
{
    sender s = {0};
    char base[1024];
    default_url(base, sizeof base);
    int first = 1;
    for (; first < argc && strncmp(argv[first], "--", 2) == 0; first++) {
        if (strcmp(argv[first], "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        } else if (strcmp(argv[first], "--url") == 0 && first + 1 < argc) {
            snprintf(base, sizeof base, "%s", argv[++first]);
        } else if (strncmp(argv[first], "--url=", 6) == 0) {
            snprintf(base, sizeof base, "%s", argv[first] + 6);
        } else {
            fprintf(stderr, "telltale send: unknown option '%s'\n\n%s", argv[first], USAGE);
            return EXIT_USAGE;
        }
    }
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/') {
        base[--n] = '\0';
    }
    snprintf(s.url, sizeof s.url, "%s/api/v1/events", base);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    s.curl = curl_easy_init();
    int rc = s.curl == NULL ? 1 : first < argc ? send_args(&s, argc, argv, first) : send_stdin(&s);
    if (rc == 0) {
        printf("accepted %llu\n", s.accepted);
    }
    curl_easy_cleanup(s.curl);
    curl_global_cleanup();
    free(s.reply);
    return rc;
}
