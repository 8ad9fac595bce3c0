/* err.c -- messages for telltale's error codes. */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *tt_strerror(int code)
{
    switch (code) {
#define TT_ERR_CASE(name, value, text)                                                             \
    case TT_E##name:                                                                               \
        return text;
        TT_ERRORS(TT_ERR_CASE)
#undef TT_ERR_CASE
    default:
        break;
    }
    if (code < 0 && code > -1000) /* a -errno */ {
        return strerror(-code);
    }
    return "unknown error";
}

int tt_fail(char *err, int code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, TT_ERRLEN, fmt, ap);
        va_end(ap);
    }
    return code;
}
