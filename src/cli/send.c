/* send.c -- telltale send: a shipper. Posts events to a running daemon from arguments, or from
 * NDJSON on standard input in batches that go out when full (--batch-size lines, 512 KiB) or
 * when the oldest line has waited --flush-ms, so a live log reaches the dashboard live.
 *
 * Every refusal is reported with the input's own line number, and the rest is still sent: a
 * batch the daemon finds too large (413) is split in halves until it fits, or until one event is
 * too large on its own; a batch refused for one bad event (400, with the event's index) is sent
 * again without it. A summary at the end counts what was accepted, refused (by reason) and
 * retried. Only when the daemon cannot be reached, or refuses every request alike (401, 403,
 * 415, ...), does sending stop. */
#include "cli/cli.h"

#include "cli/http_client.h"
#include "cli/options.h"
#include "core/config.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH_BYTES (512 * 1024) /* well under the daemon's default 1 MiB body limit */
#define LINE_MAX_BYTES (1024 * 1024)
#define MAX_ATTEMPTS 10
#define REASONS_MAX 16
#define JSON "application/json"
#define NDJSON "application/x-ndjson"

static const char USAGE[] =
    "usage: telltale send [--url URL] [--key KEY] [--batch-size N] [--flush-ms MS] [EVENT ...]\n"
    "\n"
    "Posts events to a running telltale. Each EVENT argument is one JSON value, posted as one\n"
    "request: an object (one event), e.g. '{\"type\":\"tool_call\",\"duration_ms\":41}', or\n"
    "an array of objects (several); anything else is refused before sending. Without\n"
    "arguments, reads NDJSON (one event per line) from standard input and sends it in batches:\n"
    "a batch goes out when it has N lines (or 512 KiB), or when its first line has waited MS.\n"
    "A refused event is reported with its line number and the rest is sent; a batch the daemon\n"
    "finds too large (413) is split. At the end a summary, counting events and requests:\n"
    "'accepted' the events the daemon took (durable), 'refused' the events not taken because\n"
    "the daemon or send refused them -- all the events of a refused argument, which the daemon\n"
    "refuses whole -- each counted once under its reason (code n, ...); 'retried' the requests\n"
    "repeated after 429/503 (waiting as Retry-After says); 'requests' the HTTP requests, retries\n"
    "not included. Options may stand anywhere, as --opt VALUE or --opt=VALUE; an argument\n"
    "starting with '-' is never an event ('-' alone is refused:\n"
    "without EVENT arguments, standard input is read).\n"
    "\n"
    "options:\n"
    "  --url URL         the daemon, an http:// or https:// URL (default: TELLTALE_URL, else\n"
    "                    http:// + TELLTALE_LISTEN, else http://127.0.0.1:8080)\n"
    "  --key KEY         sent as apikey and Authorization: Bearer, 1 to 511 bytes of visible\n"
    "                    ASCII (default: TELLTALE_KEY, else TELLTALE_SERVICE_KEY, else\n"
    "                    TELLTALE_INGEST_KEY)\n"
    "  --batch-size N    lines per request, 1 to 10000 (default 1000)\n"
    "  --flush-ms MS     longest wait of a line before its batch is sent, 0 to 600000\n"
    "                    milliseconds (default 1000; 0 sends each line as it comes)\n"
    "\n"
    "SIGINT or SIGTERM: what was read is sent, then the summary (a second one ends it).\n"
    "TELLTALE_CACERT: the PEM file of a private CA that signed the daemon's certificate.\n"
    "\n"
    "exit status: 0 every event accepted (also after a SIGINT: what was read was sent), 1 some\n"
    "refused (the rest sent) or the daemon could not be reached or refused every request (what\n"
    "was sent is counted), 2 usage error.\n";

typedef struct entry {
    unsigned long line;   /* 1-based, in the input (or the argument's position) */
    unsigned long events; /* in it: 1 for a line, the array's length for an argument */
    size_t off, len;      /* in the batch buffer, the trailing newline included */
} entry;

typedef struct reason {
    char code[40];
    unsigned long long n;
} reason;

typedef struct sender {
    http_client http;
    unsigned batch_size;
    uint64_t flush_ms;
    const char *unit; /* "line" or "argument" */
    char *buf;        /* the batch: lines one after another */
    size_t len;
    entry *entries;
    size_t n;
    uint64_t deadline_ms; /* when the batch goes out anyway */
    unsigned long long accepted, duplicates, refused, requests;
    reason reasons[REASONS_MAX];
    bool stopped; /* the daemon could not be reached, or refuses everything */
    size_t chunk; /* entries per request once a 413 said the batch is too large; 0: all */
} sender;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void count_reason(sender *s, const char *code)
{
    for (int i = 0; i < REASONS_MAX; i++) {
        if (s->reasons[i].n == 0 || strcmp(s->reasons[i].code, code) == 0) {
            snprintf(s->reasons[i].code, sizeof s->reasons[i].code, "%s", code);
            s->reasons[i].n++;
            return;
        }
    }
    s->reasons[REASONS_MAX - 1].n++; /* more kinds than room: counted with the last */
}

/* 'refused' counts events, as 'accepted' does: the daemon refuses a request whole, so an
 * argument holding an array of N events refused is N refused, each counted under the reason
 * ("unknown_field 2"), as N bad lines of NDJSON would be. */
static void refuse(sender *s, const entry *e, const char *code, const char *why)
{
    for (unsigned long i = 0; i < e->events; i++) {
        s->refused++;
        count_reason(s, code);
    }
    char several[48] = "";
    if (e->events != 1) {
        snprintf(several, sizeof several, " (its %lu events)", e->events);
    }
    fprintf(stderr, "telltale send: %s %lu refused%s: %s (%llu accepted so far)\n", s->unit,
            e->line, several, why, s->accepted);
}

/* The daemon's answer: {"accepted":N,"duplicates":D} or {"error":{"code","message","index"}}. */
typedef struct answer {
    double accepted, duplicates;
    long index; /* -1: none */
    char code[40];
    char message[300];
} answer;

/* Reads the answer http_client_request parsed; code and message are copied, as the next request
 * (a half sent again) replaces the client's. */
static void read_answer(const http_client *c, answer *a)
{
    *a = (answer){.index = -1};
    snprintf(a->code, sizeof a->code, "%s", c->code != NULL ? c->code : "unknown");
    snprintf(a->message, sizeof a->message, "%s", c->message != NULL ? c->message : "");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(c->answer, "error");
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(c->answer, "accepted")) != NULL &&
        cJSON_IsNumber(v)) {
        a->accepted = v->valuedouble;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(c->answer, "duplicates")) != NULL &&
        cJSON_IsNumber(v)) {
        a->duplicates = v->valuedouble;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(err, "index")) != NULL && cJSON_IsNumber(v)) {
        a->index = (long)v->valuedouble;
    }
}

static void send_range(sender *s, size_t lo, size_t hi);

/* Skips "N: " after 'word' at the start of *p; false (leaving *p) if it is not there. */
static bool skip_numbered(const char **p, const char *word)
{
    size_t n = strlen(word);
    const char *q = *p + n;
    if (strncmp(*p, word, n) != 0 || strspn(q, "0123456789") == 0) {
        return false;
    }
    q += strspn(q, "0123456789");
    if (strncmp(q, ": ", 2) != 0) {
        return false;
    }
    *p = q + 2;
    return true;
}

/* The daemon names a bad event by its place in the request ("line 1000: event 999: ..."); send
 * names it by its line of input instead, so that part goes. */
static const char *without_position(const char *message)
{
    const char *p = message;
    skip_numbered(&p, "line ");
    skip_numbered(&p, "event ");
    return p;
}

/* What to do after a refusal of entries [lo, hi) with 'status'. */
static void refused_range(sender *s, size_t lo, size_t hi, long status, const answer *a)
{
    char why[400];
    snprintf(why, sizeof why, "HTTP %ld %s: %s", status, a->code, without_position(a->message));
    if (status == 413 && hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2; /* too large together: each half on its own */
        if (s->chunk == 0 || mid - lo < s->chunk) {
            s->chunk = mid - lo; /* and the next batches go out in pieces no larger */
        }
        send_range(s, lo, mid);
        send_range(s, mid, hi);
    } else if (status == 413) {
        refuse(s, &s->entries[lo], a->code, why);
    } else if (status == 400 && a->index >= 0 && (size_t)a->index < hi - lo) {
        /* One bad event refuses its batch whole (DESIGN §2): send the others again. */
        size_t bad = lo + (size_t)a->index;
        send_range(s, lo, bad);
        refuse(s, &s->entries[bad], a->code, why);
        send_range(s, bad + 1, hi);
    } else if (status == 400 && hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        send_range(s, lo, mid);
        send_range(s, mid, hi);
    } else if (status == 400) {
        refuse(s, &s->entries[lo], a->code, why);
    } else {
        /* 401, 403, 415, or still 429/503 after every retry: the next request would fare the
         * same. Stop, and say where. */
        fprintf(stderr, "telltale send: %s; stopping at %s %lu (%llu accepted so far)\n", why,
                s->unit, s->entries[lo].line, s->accepted);
        s->stopped = true;
    }
}

/* Posts entries [lo, hi) of the batch as one request. */
static void send_range(sender *s, size_t lo, size_t hi)
{
    if (lo >= hi || s->stopped) {
        return;
    }
    const entry *first = &s->entries[lo], *last = &s->entries[hi - 1];
    s->requests++;
    long status = http_client_request(&s->http, "telltale send", "POST", "/api/v1/events",
                                      s->buf + first->off, last->off + last->len - first->off,
                                      s->unit[0] == 'a' ? JSON : NDJSON, MAX_ATTEMPTS);
    answer a;
    read_answer(&s->http, &a);
    if (status == 202) {
        s->accepted += (unsigned long long)a.accepted;
        s->duplicates += (unsigned long long)a.duplicates;
    } else if (status == 0) {
        fprintf(stderr, "telltale send: stopping at %s %lu (%llu accepted so far)\n", s->unit,
                first->line, s->accepted);
        s->stopped = true;
    } else {
        refused_range(s, lo, hi, status, &a);
    }
}

static void flush(sender *s)
{
    for (size_t lo = 0; lo < s->n && !s->stopped;) {
        size_t hi = s->chunk == 0 || lo + s->chunk > s->n ? s->n : lo + s->chunk;
        send_range(s, lo, hi);
        lo = hi;
    }
    s->n = 0;
    s->len = 0;
}

/* Adds one line ('text', NUL-terminated at 'len', without its newline) to the batch; sends the
 * batch when it is full. */
static void add_line(sender *s, const char *text, size_t len, unsigned long line,
                     unsigned long events)
{
    if (strspn(text, " \t\r") >= len) {
        return; /* blank */
    }
    if (s->len + len + 1 > BATCH_BYTES && s->n > 0) {
        flush(s);
    }
    if (s->n == 0) {
        s->deadline_ms = now_ms() + s->flush_ms;
    }
    memcpy(s->buf + s->len, text, len);
    s->buf[s->len + len] = '\n';
    s->entries[s->n++] = (entry){.line = line, .events = events, .off = s->len, .len = len + 1};
    s->len += len + 1;
    if (s->n == s->batch_size || s->len >= BATCH_BYTES || s->flush_ms == 0) {
        flush(s);
    }
}

/* Waits for input until the batch's deadline; returns poll()'s answer (0: the deadline). */
static int wait_input(sender *s)
{
    struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
    int timeout = -1;
    if (s->n > 0) {
        uint64_t now = now_ms();
        timeout = now >= s->deadline_ms ? 0 : (int)(s->deadline_ms - now);
    }
    return poll(&p, 1, timeout);
}

/* The line being read from standard input. */
typedef struct reader {
    char *line; /* LINE_MAX_BYTES */
    size_t len;
    unsigned long lineno;
    bool too_long;
} reader;

/* The first SIGINT or SIGTERM: stop reading, send what was read, say so. (A second one ends the
 * process: the handler is reset.) */
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

static void end_line(sender *s, reader *rd)
{
    rd->line[rd->len] = '\0'; /* room kept: len < LINE_MAX_BYTES */
    if (rd->too_long) {
        refuse(s, &(entry){.line = rd->lineno, .events = 1}, "line_too_long", "longer than 1 MiB");
    } else {
        add_line(s, rd->line, rd->len, rd->lineno, 1);
    }
    rd->lineno++;
    rd->len = 0;
    rd->too_long = false;
}

static void take(sender *s, reader *rd, const char *chunk, ssize_t got)
{
    for (ssize_t i = 0; i < got && !s->stopped; i++) {
        if (chunk[i] == '\n') {
            end_line(s, rd);
        } else if (rd->len < LINE_MAX_BYTES - 1) {
            rd->line[rd->len++] = chunk[i];
        } else {
            rd->too_long = true;
        }
    }
}

/* After a signal: what the pipe already holds is read too (without waiting), then sent. */
static void drain(sender *s, reader *rd, char *chunk, size_t cap)
{
    struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
    ssize_t got;
    while (!s->stopped && poll(&p, 1, 0) == 1 && (p.revents & POLLIN) &&
           (got = read(STDIN_FILENO, chunk, cap)) > 0) {
        take(s, rd, chunk, got);
    }
}

static int send_stdin(sender *s)
{
    char chunk[65536];
    reader rd = {.line = malloc(LINE_MAX_BYTES), .lineno = 1};
    if (rd.line == NULL) {
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_stop, .sa_flags = SA_RESETHAND}; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (!s->stopped && !stop_signal) {
        int ready = wait_input(s);
        if (ready == 0) {
            flush(s); /* the first line of the batch has waited --flush-ms */
            continue;
        }
        if (ready < 0) {
            continue; /* a signal: the loop's condition says which */
        }
        ssize_t got = read(STDIN_FILENO, chunk, sizeof chunk);
        if (got <= 0) {
            break;
        }
        take(s, &rd, chunk, got);
    }
    if (stop_signal) {
        drain(s, &rd, chunk, sizeof chunk);
    }
    if (!s->stopped && (rd.len > 0 || rd.too_long)) {
        end_line(s, &rd);
    }
    flush(s);
    free(rd.line);
    return 0;
}

/* The events in EVENT argument 'arg' (checked by events_valid): an array's length, else 1. */
static unsigned long events_in(const char *arg)
{
    cJSON *v = cJSON_Parse(arg);
    unsigned long n = cJSON_IsArray(v) ? (unsigned long)cJSON_GetArraySize(v) : 1;
    cJSON_Delete(v);
    return n;
}

static void send_args(sender *s, int n, char **events)
{
    s->unit = "argument";
    for (int i = 0; i < n && !s->stopped; i++) {
        size_t len = strlen(events[i]);
        unsigned long count = events_in(events[i]);
        if (len >= BATCH_BYTES) {
            refuse(s, &(entry){.line = (unsigned long)i + 1, .events = count}, "body_too_large",
                   "longer than 512 KiB");
            continue;
        }
        add_line(s, events[i], len, (unsigned long)i + 1, count);
        flush(s); /* one request per argument: an argument may be an array */
    }
}

static void summary(const sender *s)
{
    printf("accepted %llu", s->accepted);
    if (s->duplicates > 0) {
        printf(" (%llu of them already stored)", s->duplicates);
    }
    printf("; refused %llu", s->refused);
    for (int i = 0; i < REASONS_MAX && s->reasons[i].n > 0; i++) {
        printf("%s%s %llu", i == 0 ? " (" : ", ", s->reasons[i].code, s->reasons[i].n);
    }
    printf("%s; retried %u; requests %llu%s%s\n", s->refused > 0 ? ")" : "", s->http.retries,
           s->requests, s->stopped ? "; stopped before the end" : "",
           stop_signal ? "; interrupted by a signal: what was read is sent" : "");
}

static bool is_batch_size(const char *v)
{
    unsigned long long n;
    return cli_integer(v, 1, 10000, &n);
}

static bool is_flush_ms(const char *v)
{
    unsigned long long n;
    return cli_integer(v, 0, 600000, &n);
}

/* --url and --key are checked where TELLTALE_URL and TELLTALE_KEY are (http_client.h), so
 * that each message names the source and a key is never repeated. */
static const cli_option options[] = {
    {"--url", CLI_URL_ACCEPTS, NULL, NULL, NULL},
    {"--key", HTTP_CLIENT_KEY_ACCEPTS, NULL, NULL, NULL},
    {"--batch-size", "an integer from 1 to 10000", is_batch_size, NULL, NULL},
    {"--flush-ms", "an integer from 0 to 600000", is_flush_ms, NULL, NULL},
};

/* Reads the options, wherever they stand, and gathers the EVENT arguments into 'events' (room
 * for argc). An event is JSON, so an argument starting with '-' is an option or a mistake, never
 * an event. Returns the number of events, or -1 on a usage error (said). */
static int read_options(sender *s, int argc, char **argv, const char **url, const char **key,
                        char **events)
{
    cli_options spec = {
        .who = "send", .table = options, .n = sizeof options / sizeof options[0], .more = true};
    cli_args a;
    int n = cli_args_read(&spec, argc, argv, 0, &a) == 0 ? (int)a.nargs : -1;
    for (int i = 0; i < n; i++) {
        if (strcmp(a.args[i], "-") == 0) {
            fprintf(stderr, "telltale send: unexpected argument '-': an EVENT is a JSON object or "
                            "array; without EVENT arguments send reads standard input\n");
            n = -1;
            break;
        }
        events[i] = a.args[i];
    }
    unsigned long long batch = 1000, flush_ms = s->flush_ms;
    for (size_t i = 0; n >= 0 && i < a.ngiven; i++) {
        const char *v = a.given[i].value, *name = a.given[i].opt->name;
        if (strcmp(name, "--url") == 0) {
            *url = v;
        } else if (strcmp(name, "--key") == 0) {
            *key = v;
        } else { /* the table has checked its range */
            cli_integer(v, 0, ULLONG_MAX, strcmp(name, "--batch-size") == 0 ? &batch : &flush_ms);
        }
    }
    cli_args_free(&a);
    s->batch_size = (unsigned)batch;
    s->flush_ms = flush_ms;
    return n;
}

/* Why EVENT argument 'arg' is not what POST /api/v1/events takes as application/json (one
 * object, or a non-empty array of objects: DESIGN §2), or NULL. */
static const char *event_fault(const char *arg)
{
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithOpts(arg, &end, 0);
    bool objects = cJSON_IsObject(v) || (cJSON_IsArray(v) && v->child != NULL);
    for (const cJSON *e = cJSON_IsArray(v) ? v->child : NULL; e != NULL; e = e->next) {
        objects = objects && cJSON_IsObject(e);
    }
    bool json = v != NULL, more = json && end[strspn(end, " \t\r\n")] != '\0';
    cJSON_Delete(v);
    return !json      ? "is not JSON"
           : more     ? "holds more than one JSON value"
           : !objects ? "is neither a JSON object nor an array of objects"
                      : NULL;
}

/* Each EVENT argument checked before any is sent; false after a usage error naming the first
 * bad one. NDJSON's place is standard input, where it is read line by line. */
static bool events_valid(int n, char **events)
{
    for (int i = 0; i < n; i++) {
        const char *fault = event_fault(events[i]);
        if (fault != NULL) {
            fprintf(
                stderr,
                "telltale send: argument %d %s: an EVENT is one JSON object, or an array of one or "
                "more objects; NDJSON (one event per line) goes on standard input (a pipe, or "
                "telltale send < FILE)\n",
                i + 1, fault);
            return false;
        }
    }
    return true;
}

int cli_send(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(USAGE, stdout);
        return 0;
    }
    sender s = {.flush_ms = 1000, .unit = "line"};
    const char *url = NULL, *key = NULL;
    char base[1024];
    char **events = calloc((size_t)argc, sizeof *events);
    if (events == NULL) {
        fprintf(stderr, "telltale send: out of memory\n");
        return 1;
    }
    int nevents = read_options(&s, argc, argv, &url, &key, events);
    if (nevents < 0 || !events_valid(nevents, events) ||
        http_client_base(base, sizeof base, url, "telltale send") != 0 ||
        http_client_key(&key, key, "telltale send") != 0) {
        free(events);
        return EXIT_USAGE;
    }
    s.buf = malloc(BATCH_BYTES + LINE_MAX_BYTES + 1);
    s.entries = calloc(s.batch_size, sizeof *s.entries);
    if (s.buf == NULL || s.entries == NULL || http_client_init(&s.http, base, key) != 0) {
        fprintf(stderr, "telltale send: out of memory\n");
        free(s.buf);
        free(s.entries);
        free(events);
        return 1;
    }
    if (nevents > 0) {
        send_args(&s, nevents, events);
    } else {
        send_stdin(&s);
    }
    summary(&s);
    http_client_free(&s.http);
    free(s.buf);
    free(s.entries);
    free(events);
    return s.refused == 0 && !s.stopped ? 0 : 1;
}
