/* media_type.c -- comparing Content-Type values (RFC 9110 §8.3.1). */
#include "core/media_type.h"

#include <string.h>
#include <strings.h>

/* The type/subtype part of 'content_type': its start in *start, its length returned. */
static size_t essence(const char *content_type, const char **start)
{
    while (*content_type == ' ' || *content_type == '\t') {
        content_type++;
    }
    size_t n = strcspn(content_type, ";");
    while (n > 0 && (content_type[n - 1] == ' ' || content_type[n - 1] == '\t')) {
        n--;
    }
    *start = content_type;
    return n;
}

bool media_type_is(const char *content_type, const char *type)
{
    const char *s;
    size_t n = essence(content_type, &s);
    return n == strlen(type) && strncasecmp(s, type, n) == 0;
}

bool media_type_in(const char *content_type, const char *const *types)
{
    for (; *types != NULL; types++) {
        if (media_type_is(content_type, *types)) {
            return true;
        }
    }
    return false;
}

bool media_type_cors_safelisted(const char *content_type)
{
    static const char *const safelisted[] = {"application/x-www-form-urlencoded",
                                             "multipart/form-data", "text/plain", NULL};
    const char *s;
    return essence(content_type, &s) == 0 || media_type_in(content_type, safelisted);
}
