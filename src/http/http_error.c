/* http_error.c -- telltale's error document, {"error":{"code","message"[,"index"]}} (DESIGN §5),
 * the reason phrase of a status line, the security headers every answer carries, and a whole
 * answer written without h2o: for every refusal, by http.c's answers, early.c's and
 * conn_guard.c's raw ones alike. Pure but for the clock (Date). */
#include "http/http_internal.h"

#include "core/json_print.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Every response carries these; the dashboard has no inline script or style. connect-src allows
 * https: so that the dashboard's Realtime path can be pointed at a real Supabase project. */
static const char *const security_headers[][2] = {
    {"content-security-policy",
     "default-src 'self'; connect-src 'self' https: ws: wss:; img-src 'self' data:; "
     "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
     "form-action 'self'"},
    {"x-content-type-options", "nosniff"},
    {"referrer-policy", "no-referrer"},
};

void http_security_headers(h2o_req_t *q)
{
    for (size_t i = 0; i < sizeof security_headers / sizeof security_headers[0]; i++) {
        const char *name = security_headers[i][0], *value = security_headers[i][1];
        if (h2o_find_header_by_str(&q->res.headers, name, strlen(name), -1) == -1) {
            headers_add_response(q, name, value);
        }
    }
}

bool http_raw_header(char *out, size_t cap, size_t *at, const char *name, const char *value)
{
    size_t n = strlen(name);
    n -= n > 0 && name[n - 1] == ':';
    int w = value == NULL ? 0 : snprintf(out + *at, cap - *at, "%.*s: %s\r\n", (int)n, name, value);
    if (w < 0 || (size_t)w >= cap - *at) {
        return false;
    }
    *at += (size_t)w;
    return true;
}

bool http_raw_head(char *out, size_t cap, size_t *at, int status)
{
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
    int w = snprintf(out, cap, "HTTP/1.1 %d %s\r\n", status, http_reason_phrase(status));
    if (w < 0 || (size_t)w >= cap) {
        return false;
    }
    *at = (size_t)w;
    bool ok = http_raw_header(out, cap, at, "date", date) &&
              http_raw_header(out, cap, at, "server", "telltale") &&
              http_raw_header(out, cap, at, "connection", "close");
    for (size_t i = 0; ok && i < sizeof security_headers / sizeof security_headers[0]; i++) {
        ok = http_raw_header(out, cap, at, security_headers[i][0], security_headers[i][1]);
    }
    return ok;
}

size_t http_raw_end(char *out, size_t cap, size_t at, const void *body, size_t len)
{
    if (at > cap || cap - at < 2 + len) {
        return 0;
    }
    memcpy(out + at, "\r\n", 2);
    if (len > 0) {
        memcpy(out + at + 2, body, len);
    }
    return at + 2 + len;
}

size_t http_raw_error(const http_error *e, char *out, size_t cap)
{
    json_writer w = {0};
    http_write_error(&w, e);
    char length[32];
    snprintf(length, sizeof length, "%zu", w.out.len);
    size_t at = 0, len = 0;
    if (!w.out.oom && http_raw_head(out, cap, &at, e->status) &&
        http_raw_header(out, cap, &at, "content-type", "application/json") &&
        http_raw_header(out, cap, &at, "content-length", length)) {
        len = http_raw_end(out, cap, at, w.out.buf, w.out.len);
    }
    free(w.out.buf);
    return len;
}

void http_write_error(json_writer *w, const http_error *e)
{
    json_open_object(w);
    json_key(w, "error");
    json_open_object(w);
    json_member_string(w, "code", e->code);
    json_member_string(w, "message", e->message);
    if (e->with_index && e->index >= 0) {
        json_member_number(w, "index", e->index);
    } else if (e->with_index) {
        json_key(w, "index");
        json_null(w);
    }
    json_close_object(w);
    json_close_object(w);
}

const char *http_reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 426:
        return "Upgrade Required";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}
