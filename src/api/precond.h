/* precond.h -- a request's preconditions on one versioned resource (a flag, a dashboard state
 * key), RFC 9110 §13: If-Match and If-None-Match, read once from the request and evaluated in
 * the order of §13.2.2 against the version the store holds. A version N is the entity-tag "N"
 * (the ETag the routes send). Any thread, except api_precond_read (the loop's). */
#ifndef TT_API_PRECOND_H
#define TT_API_PRECOND_H

#include "http/http.h"

#include <stdbool.h>
#include <stdint.h>

#define API_WHY_LEN 200

typedef struct api_precond {
    int64_t if_match;        /* 0: absent; -2: "*"; else the version N of "N" */
    bool none_match;         /* If-None-Match was sent */
    char if_none_match[64];  /* its value ("*", or a list of version tags) */
} api_precond;

/* The outcome of the preconditions against the resource as it is now. */
typedef enum api_verdict {
    API_PASS,         /* perform the method */
    API_NOT_MODIFIED, /* 304: If-None-Match false on GET or HEAD (§13.1.2) */
    API_FAILED        /* 412: If-Match false (§13.1.1), or If-None-Match false on any other */
} api_verdict;

/* Reads the request's If-Match and If-None-Match into 'p'. False, with 'why' saying what is
 * wrong (the caller answers 400 invalid_header), when either is not a form this server can
 * compare: If-Match takes "*" or one version's tag, compared strongly -- not an unquoted N, a
 * weak tag, a list, "0", a tag that is no version, or a malformed one; If-None-Match takes "*"
 * or a list of version tags, W/ allowed (it compares weakly). A tag this server never issues is
 * refused rather than left to fail (or pass) the comparison, so a malformed header is not
 * taken for a stale version or a write allowed. */
bool api_precond_read(const http_req *r, api_precond *p, char why[API_WHY_LEN]);

/* Whether the request carries any precondition. */
bool api_precond_any(const api_precond *p);

/* Evaluates 'p' against the resource at 'version' (0: none exists) for a safe method (GET,
 * HEAD: 'safe') or a state-changing one: If-Match first -- false when nothing exists, or for
 * "N" when N is not the version; then If-None-Match -- "*" false when the resource exists, a
 * list false when one of its tags names the version (weak comparison). */
api_verdict api_precond_eval(const api_precond *p, bool safe, int64_t version);

/* The message of a 412 for 'p' against 'version' (0: none): which condition was false and
 * why, naming the resource as 'what' ("flag 'f3'", "key 'k' of client 'c'"). */
void api_precond_why(const api_precond *p, int64_t version, const char *what,
                     char why[API_WHY_LEN]);

#endif
