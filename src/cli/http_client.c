/* http_client.c -- libcurl for the CLI. */
#include "cli/http_client.h"

#include "cli/cli.h"
#include "cli/options.h"
#include "core/config.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RETRY_AFTER_MAX_S 60

#define LISTEN_ACCEPTS "HOST:PORT of the daemon, e.g. 127.0.0.1:8080"

/* Whether TELLTALE_LISTEN names a daemon's address: HOST:PORT as serve reads it, but not port 0,
 * which to serve means "pick a free one" and to a client names nothing. If not, says so after
 * 'who'. */
static bool listen_valid(const char *who, const char *listen)
{
    char err[TT_ERRLEN] = "";
    tt_config *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL) {
        fprintf(stderr, "%s: out of memory\n", who);
        return false;
    }
    bool ok =
        config_read_setting(cfg, "--listen", NULL, cli_getenv, err) == 0 && cfg->listen_port != 0;
    if (!ok) {
        fprintf(stderr, "%s: invalid TELLTALE_LISTEN '%.200s': expected %s%s\n", who, listen,
                LISTEN_ACCEPTS,
                err[0] == '\0' ? " (port 0 names no daemon: use the port serve printed)" : "");
    }
    free(cfg);
    return ok;
}

/* Whether 'url' from 'name' (--url, TELLTALE_URL) is a base URL (CLI_URL_ACCEPTS); if not,
 * says so after 'who', without repeating a URL that holds user info (a password, maybe). */
static bool url_valid(const char *who, const char *name, const char *url)
{
    bool secret;
    const char *fault = cli_url_fault(url, &secret);
    if (fault == NULL) {
        return true;
    }
    if (secret) { /* a fault in itself, whatever else is wrong */
        fprintf(stderr, "%s: invalid %s (not repeated: it has a user or password): expected %s\n",
                who, name, CLI_URL_ACCEPTS);
    } else {
        fprintf(stderr, "%s: invalid %s '%.200s'%s%s%s: expected %s\n", who, name, url,
                fault[0] != '\0' ? " (" : "", fault, fault[0] != '\0' ? ")" : "", CLI_URL_ACCEPTS);
    }
    return false;
}

int http_client_base(char *out, size_t len, const char *flag, const char *who)
{
    /* A variable set but empty is a value, and a bad one, as serve reads its settings
     * (config.c): it is named rather than passed over for the next source. */
    const char *cacert = getenv("TELLTALE_CACERT");
    if (cacert != NULL && cacert[0] == '\0') {
        fprintf(stderr,
                "%s: invalid TELLTALE_CACERT '': expected the path of the PEM file of the private "
                "CA that signed the daemon's certificate (unset it for the system's trust store)\n",
                who);
        return -1;
    }
    const char *name = "--url", *given = flag;
    if (given == NULL && (given = getenv("TELLTALE_URL")) != NULL) {
        name = "TELLTALE_URL";
    }
    const char *listen = given == NULL ? getenv("TELLTALE_LISTEN") : NULL;
    if (listen != NULL && !listen_valid(who, listen)) {
        return -1;
    }
    if (listen != NULL) {
        snprintf(out, len, "http://%s", listen);
    } else if (given != NULL && url_valid(who, name, given)) {
        snprintf(out, len, "%s", given);
    } else if (given != NULL) {
        return -1;
    } else {
        snprintf(out, len, "http://127.0.0.1:8080");
    }
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '/') {
        out[--n] = '\0';
    }
    return 0;
}

/* A key goes into two request headers as it is: a byte outside visible ASCII would end the
 * header early (CR, LF: header injection) or be refused by the daemon (RFC 9110 §5.5 field
 * values; the daemon's keys are token68, RFC 9110 §11.2). */
static bool key_valid(const char *key)
{
    size_t n = strlen(key);
    return n > 0 && n <= HTTP_CLIENT_KEY_MAX && config_visible_ascii(key);
}

int http_client_key(const char **out, const char *flag, const char *who)
{
    /* The key given, else the environment's: TELLTALE_KEY, else the operator's key, else a
     * producer's, as the daemon itself reads them (DESIGN §5, Access); empty ones are unset. */
    const char *from_env[] = {"TELLTALE_KEY", "TELLTALE_SERVICE_KEY", "TELLTALE_INGEST_KEY"};
    const char *name = "--key", *key = flag;
    for (size_t i = 0; key == NULL && i < sizeof from_env / sizeof from_env[0]; i++) {
        const char *v = getenv(from_env[i]);
        key = v != NULL && v[0] != '\0' ? v : NULL;
        name = from_env[i];
    }
    if (key != NULL && !key_valid(key)) {
        /* Never repeated: it is a secret, and its bytes may be what is wrong. */
        fprintf(stderr, "%s: invalid %s (not repeated): expected %s\n", who, name,
                HTTP_CLIENT_KEY_ACCEPTS);
        return -1;
    }
    *out = key;
    return 0;
}

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
    http_client *c = arg;
    size_t len = size * n;
    char *grown = realloc(c->reply, c->reply_len + len + 1);
    if (grown == NULL) {
        return 0;
    }
    memcpy(grown + c->reply_len, data, len);
    c->reply = grown;
    c->reply_len += len;
    c->reply[c->reply_len] = '\0';
    return len;
}

int http_client_init(http_client *c, const char *base, const char *key)
{
    memset(c, 0, sizeof *c);
    snprintf(c->base, sizeof c->base, "%s", base);
    snprintf(c->key, sizeof c->key, "%s", key != NULL ? key : "");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    c->curl = curl_easy_init();
    c->reply = calloc(1, 1);
    return c->curl != NULL && c->reply != NULL ? 0 : -1;
}

void http_client_free(http_client *c)
{
    curl_easy_cleanup(c->curl);
    curl_global_cleanup();
    cJSON_Delete(c->answer);
    free(c->reply);
    memset(c, 0, sizeof *c);
}

/* What the user can do about a failure of libcurl that TLS on one side only, or a certificate,
 * explains; "" for any other. 'url' is the request's, 'cacert' TELLTALE_CACERT (or NULL). */
static const char *tls_hint(CURLcode cc, const char *url, const char *cacert)
{
    bool https = strncmp(url, "https:", 6) == 0;
    if (cc == CURLE_SSL_CACERT_BADFILE) {
        return " (the file TELLTALE_CACERT names cannot be read as PEM certificates)";
    }
    if (cc == CURLE_PEER_FAILED_VERIFICATION) {
        return cacert == NULL
                   ? " (a certificate from a private CA: set TELLTALE_CACERT to its PEM file)"
                   : " (the daemon's certificate is not signed by the CA of TELLTALE_CACERT, or "
                     "does not name the URL's host among its subject alternative names)";
    }
    if (!https && (cc == CURLE_GOT_NOTHING || cc == CURLE_RECV_ERROR)) {
        return " (a daemon serving TLS, with --tls-cert, closes a plain request: the URL then "
               "starts with https://)";
    }
    if (https && cc == CURLE_SSL_CONNECT_ERROR) {
        return " (a daemon without --tls-cert serves plain HTTP: the URL then starts with "
               "http://)";
    }
    return "";
}

/* Keeps the error document of the last answer, {"error":{"code":"...","message":"..."}} with both
 * strings (DESIGN, Errors), in c->code and c->message; NULL if the answer has none. */
static void keep_error_document(http_client *c)
{
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(c->answer, "error");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(err, "message");
    bool found = cJSON_IsObject(c->answer) && cJSON_IsObject(err) && cJSON_IsString(code) &&
                 cJSON_IsString(message);
    c->code = found ? code->valuestring : NULL;
    c->message = found ? message->valuestring : NULL;
}

/* Parses the last answer, once, into c->answer (and its error document, if any), in place of
 * the one before; none if no answer came (status 0). */
static void parse_answer(http_client *c, long status)
{
    cJSON_Delete(c->answer);
    c->answer =
        status == 0 || c->reply_len == 0 ? NULL : cJSON_ParseWithLength(c->reply, c->reply_len);
    keep_error_document(c);
}

/* Why the answer with 'status' is not one of the API's, or NULL if it is. The API answers a
 * success with JSON (or no body with 204) and anything else with its error document; the
 * dashboard's HTML, a proxy's page, another server's 404 or an empty 501 mean the URL reaches
 * something that is not the API (another server, a wrong port or path prefix). */
static const char *foreign_answer(const http_client *c, long status)
{
    bool success = status >= 200 && status < 300;
    if (status == 204 && c->reply_len == 0) {
        return NULL;
    }
    return c->reply_len == 0                ? "an empty body"
           : c->answer == NULL              ? "not JSON"
           : !success && c->message == NULL ? "JSON without its error document "
                                              "{\"error\":{\"code\",\"message\"}}"
                                            : NULL;
}

/* Whether the answer is one of the API's; if not, says so after 'who' in one line, without its
 * body (a foreign page is no message for the user), and it is never taken for the daemon's. */
static bool is_api_answer(const http_client *c, long status, const char *who, const char *url)
{
    const char *why = foreign_answer(c, status);
    if (why != NULL) {
        fprintf(stderr,
                "%s: %s answered HTTP %ld with something that is not telltale's API (%s): "
                "is the URL (--url, TELLTALE_URL) the daemon's?\n",
                who, url, status, why);
    }
    return why == NULL;
}

long http_client_request(http_client *c, const char *who, const char *method, const char *path,
                         const char *body, size_t len, const char *content_type, int attempts)
{
    char url[2048];
    snprintf(url, sizeof url, "%s%s", c->base, path);
    struct curl_slist *headers = NULL;
    char h[600];
    if (content_type != NULL) {
        snprintf(h, sizeof h, "Content-Type: %s", content_type);
        headers = curl_slist_append(headers, h);
    }
    if (c->key[0] != '\0') {
        snprintf(h, sizeof h, "apikey: %s", c->key);
        headers = curl_slist_append(headers, h);
        snprintf(h, sizeof h, "Authorization: Bearer %s", c->key);
        headers = curl_slist_append(headers, h);
    }
    if (c->header != NULL) {
        struct curl_slist *more = curl_slist_append(headers, c->header);
        headers = more != NULL ? more : headers;
    }
    CURL *curl = c->curl;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    /* A daemon with a certificate from a private CA: TELLTALE_CACERT names the CA's PEM file
     * (as curl's --cacert); else the system's trust store. */
    const char *cacert = getenv("TELLTALE_CACERT"); /* not empty: http_client_base */
    if (cacert != NULL) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, cacert);
    }
    /* A daemon that accepted the connection and never answers must not hold the CLI forever;
     * an answer waits at most for durability, far less than this. Not retried: a retry could
     * store twice an event without an id. */
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)HTTP_CLIENT_TIMEOUT_S);
    if (body != NULL || strcmp(method, "POST") == 0) {
        /* A POST always says its length, even 0: the daemon refuses one that does not (411). */
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body != NULL ? body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, body != NULL ? (long)len : 0L);
    }
    long status = 0;
    for (int attempt = 1; attempt <= attempts; attempt++) {
        c->reply_len = 0;
        c->reply[0] = '\0';
        char detail[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);
        CURLcode cc = curl_easy_perform(curl);
        curl_off_t retry = 0;
        status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &retry);
        if (cc != CURLE_OK) {
            fprintf(stderr, "%s: %s: %s%s%s%s\n", who, url, curl_easy_strerror(cc),
                    detail[0] != '\0' ? ": " : "", detail, tls_hint(cc, url, cacert));
            status = 0;
            break;
        }
        if ((status != 429 && status != 503) || attempt == attempts) {
            break;
        }
        c->retries++;
        sleep(retry <= 0 ? 1 : retry > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : (unsigned)retry);
    }
    curl_slist_free_all(headers);
    parse_answer(c, status);
    return status != 0 && !is_api_answer(c, status, who, url) ? 0 : status;
}

void http_client_say_refusal(const http_client *c, const char *who, long status)
{
    fprintf(stderr, "%s: HTTP %ld %s: %s\n", who, status, c->code, c->message);
}
