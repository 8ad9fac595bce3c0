/* http_client.h -- how the CLI talks to a running daemon: libcurl, one connection reused, and
 * polite retries when the daemon asks for them (429/503 with Retry-After). */
#ifndef TT_HTTP_CLIENT_H
#define TT_HTTP_CLIENT_H

#include <stddef.h>

struct cJSON;

#define HTTP_CLIENT_TIMEOUT_S 120 /* longest wait for one answer, connection included */
#define HTTP_CLIENT_KEY_MAX 511   /* bytes: the daemon's keys are 16 to 511 (OPERATIONS) */
#define HTTP_CLIENT_KEY_ACCEPTS                                                                    \
    "a key of the daemon's (its ingest or service key): 1 to 511 bytes of visible ASCII, "         \
    "0x21 to 0x7E"

typedef struct http_client {
    void *curl;      /* private: CURL* */
    char base[1024]; /* "http://127.0.0.1:8080", no trailing slash */
    char *reply;     /* the last answer's body, NUL-terminated ("" if none) */
    size_t reply_len;
    struct cJSON *answer; /* the last answer's body parsed, NULL if none or not JSON */
    const char *code;     /* a refusal's error document: its code and message (into 'answer'); */
    const char *message;  /* NULL when the last answer was no refusal of the API's */
    const char *header;   /* one more request header ("If-Match: \"3\""), or NULL */
    char key[HTTP_CLIENT_KEY_MAX + 1]; /* sent as apikey and Authorization: Bearer; "" none */
    unsigned retries; /* requests repeated because the daemon said 429/503, in all */
} http_client;

/* The daemon's base URL: 'flag' (--url) if given, else TELLTALE_URL if set, else http:// +
 * TELLTALE_LISTEN if set, else http://127.0.0.1:8080; without a trailing '/'. A variable set
 * but empty is a bad value, as serve reads its settings. Returns 0, or -1 after saying (after
 * 'who') which of them gave no base URL (cli_url_fault; TELLTALE_LISTEN: HOST:PORT, port 0
 * refused) and why: a usage error. */
int http_client_base(char *out, size_t len, const char *flag, const char *who);

/* The key to send: 'flag' (--key) if given, else TELLTALE_KEY, else TELLTALE_SERVICE_KEY, else
 * TELLTALE_INGEST_KEY from the environment (empty ones count as unset); *out NULL if none.
 * Returns 0, or -1 after naming (after 'who') the one that is not HTTP_CLIENT_KEY_ACCEPTS,
 * without repeating it: a usage error. *out points into 'flag' or the environment. */
int http_client_key(const char **out, const char *flag, const char *who);

/* 'key' (from http_client_key; NULL: none) goes with every request, as supabase-js sends keys:
 * an `apikey` header and `Authorization: Bearer KEY` (DESIGN §5, Access). */
int http_client_init(http_client *c, const char *base, const char *key);
void http_client_free(http_client *c);

/* Sends one request to base + 'path'; 'body' may be NULL, with the client's key. Retries up to
 * 'attempts' times in all when told 429/503, waiting as Retry-After says; gives up on a request
 * unanswered after HTTP_CLIENT_TIMEOUT_S (not retried: it may have been stored). Returns the
 * final HTTP status, or 0 when no answer came or the answer was not the API's (a success not
 * JSON nor an empty 204; any other status without the error document {"error":{"code",
 * "message"}}: the URL reaches something else), the reason printed on stderr after 'who' in one
 * line, never the foreign body. */
long http_client_request(http_client *c, const char *who, const char *method, const char *path,
                         const char *body, size_t len, const char *content_type, int attempts);

/* Says on stderr, after 'who', why the daemon refused the last request with 'status' (not 2xx,
 * not 0), in the one form every command uses: "WHO: HTTP 401 unauthorized: unknown key" -- the
 * status, then its error document's code and message (c->code, c->message: http_client_request
 * lets no other shape through). */
void http_client_say_refusal(const http_client *c, const char *who, long status);

#endif
