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

#define API_NONE_MATCH_MAX 16 /* version tags in an If-None-Match: 63 bytes hold 16 ("1",) */

typedef struct api_precond {
    int64_t if_match;                          /* 0: absent; -2: "*"; else the version N of "N" */
    int64_t if_none_match[API_NONE_MATCH_MAX]; /* the versions it names; -2: "*" */
    size_t none_match_n;                       /* how many; 0: If-None-Match absent */
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

#define API_COND_TRIES 3 /* evaluations of a conditional write when others write in between */

/* The steps of one conditional write (a PUT or a DELETE) on a resource, for api_precond_write;
 * each is given 'arg'. */
typedef struct api_cond_steps {
    /* The resource's version now (0: none) into *version. Returns 0 or a negative TT_E* code. */
    int (*read_version)(void *arg, int64_t *version);
    /* Writes only if the resource is still at 'version' (0: only if none exists); *done true
     * when it wrote, or answered for itself. Returns 0 or a negative TT_E* code. */
    int (*write_at)(void *arg, int64_t version, bool *done);
    /* After a write at 'version' did nothing, the resource read again still at 'version':
     * whether a limit refused it (answered then); if not, it is tried again. NULL: never. */
    bool (*refused)(void *arg, int64_t version);
    /* Answers 412: a precondition was false against 'version', or the resource changed at
     * every try (the client reads again). */
    void (*failed)(void *arg, int64_t version);
    void *arg;
} api_cond_steps;

/* A state-changing request under 'p': reads the version, evaluates 'p' against it, and writes
 * conditionally on that very version, so a change in between makes it write nothing; it is
 * then evaluated again, API_COND_TRIES times in all. Every answer is a step's; returns 0, or
 * the negative TT_E* code of a read or write that failed (the caller answers). */
int api_precond_write(const api_precond *p, const api_cond_steps *s);

#endif
