/* err.h -- telltale's one error vocabulary: negative codes, a message for each. */
#ifndef TT_ERR_H
#define TT_ERR_H

/* Room for the human detail that goes with an error code ("field 'bytes' must be ..."). */
#define TT_ERRLEN 256

/* Every fallible function returns 0 or one of these; system-call wrappers may also return
 * -errno, which tt_strerror() understands too: the codes start at -1001 so the two never meet. */
#define TT_ERRORS(X)                                                                               \
    X(NOMEM, -1001, "out of memory")                                                               \
    X(IO, -1002, "I/O error")                                                                      \
    X(INVAL, -1003, "invalid input")                                                               \
    X(UNAVAILABLE, -1004, "store unavailable")                                                     \
    X(REJECTED, -1005, "rejected by store")                                                        \
    X(FULL, -1006, "queue full")                                                                   \
    X(TOOBIG, -1007, "too large")                                                                  \
    X(NOTFOUND, -1008, "not found")                                                                \
    X(SCHEMA, -1009, "schema version mismatch")                                                    \
    X(CLOSED, -1010, "shutting down")                                                              \
    X(CONFLICT, -1011, "already exists")

enum {
#define TT_ERR_ENUM(name, value, text) TT_E##name = (value),
    TT_ERRORS(TT_ERR_ENUM)
#undef TT_ERR_ENUM
};

/* A static message for 'code': one of the TT_E* codes or a -errno value. */
const char *tt_strerror(int code);

/* Formats into 'err' (which may be NULL) like snprintf; returns 'code' so that a caller can
 * write `return tt_fail(err, TT_EINVAL, "bad %s", name);`. */
int tt_fail(char *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
