/* http_error.c -- telltale's error document, {"error":{"code","message"[,"index"]}} (DESIGN §5),
 * and the reason phrase of a status line: for every refusal, by http.c's answers and by
 * conn_guard.c's raw ones alike. Pure. */
#include "http/http_internal.h"

#include "core/json_print.h"

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
    default:
        return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}
