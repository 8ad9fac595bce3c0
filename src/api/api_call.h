/* api_call.h -- a request's store work on libuv's thread pool, answered on the loop: the
 * pattern of the flags, OFREP and state routes. The work sets a status and writes a JSON body
 * (or leaves it empty to answer 'status' with 'code' and 'err'); a store that failed is 503
 * store_unavailable with Retry-After. Loop thread, except 'work'. */
#ifndef TT_API_CALL_H
#define TT_API_CALL_H

#include "api/api.h"

typedef struct api_call api_call;

typedef void (*api_work_fn)(api_call *c);  /* pool thread */
typedef void (*api_after_fn)(api_call *c); /* loop thread, once answered (or the client gone) */

struct api_call {
    api_ctx *ctx;
    store *st;
    api_work_fn work;
    api_after_fn after; /* may be NULL */
    void *args;         /* freed with the call by free() */
    /* set by 'work' */
    int status;
    json_writer body;
    const char *code;  /* with an empty body: the error code */
    char etag[48];     /* "" = none; else sent as ETag (with its quotes) */
    bool store_failed; /* 503 */
    bool changed;      /* for 'after': something was written */
    char err[TT_ERRLEN];
};

/* Runs 'work' for 'r' off the loop, answers, then calls 'after'. Takes 'args' (freed even on
 * error). */
void api_call_run(api_ctx *ctx, http_req *r, api_work_fn work, api_after_fn after, void *args);

/* Work helpers: the store's failure, and an error answer. */
void api_call_store_failed(api_call *c, int rc);
void api_call_error(api_call *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));


/* Time query parameter 'name' into *out_ms when given (unchanged when not); false, with 'msg'
 * saying what it takes, when api_parse_time() refuses it. */
bool api_time_arg(const http_req *r, const char *name, int64_t *out_ms, char *msg, size_t len);

/* Checks the comma-separated list 'v' of parameter 'name': false, with a message naming the
 * parameter, when an entry is empty ("type,,name", "type,") or given twice ("name,name") --
 * a repeat is a mistake to say, not one to merge silently. */
bool api_list_check(const char *name, const char *v, char *msg, size_t len);

/* Parses the request body as JSON (strict: json_scan first); NULL with a 400 answered:
 * invalid_json for text that is not one JSON value, invalid_body for a member given twice in
 * any object of it ("member 'X' is given twice"), which no route can read one way only. */
cJSON *api_body_json(http_req *r);

/* The first member of object 'body' whose name is not in the NULL-terminated 'known', or NULL:
 * every JSON body route refuses one (400, naming it) rather than ignore what the caller meant. */
const char *api_unknown_member(const cJSON *body, const char *const *known);

/* For a POST that takes no body: true when there is none (or only spaces), or it is {}; else
 * answers 400 (invalid_json, or invalid_body naming the first member) and returns false. */
bool api_body_none(http_req *r);

#endif
