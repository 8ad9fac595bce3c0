/* media_type.h -- Content-Type values compared as RFC 9110 §8.3.1 says: the type and subtype
 * case-insensitively and exactly, parameters (";charset=utf-8") not part of the match. Pure. */
#ifndef TT_MEDIA_TYPE_H
#define TT_MEDIA_TYPE_H

#include <stdbool.h>

/* True if the media type of 'content_type' (a Content-Type field value) is 'type'
 * ("application/json"). */
bool media_type_is(const char *content_type, const char *type);

/* True if 'content_type' is in the NULL-terminated list 'types'. */
bool media_type_in(const char *content_type, const char *const *types);

/* True for the types a web page may send to any site without a CORS preflight (Fetch
 * standard, "CORS-safelisted request-header": application/x-www-form-urlencoded,
 * multipart/form-data, text/plain), and for no Content-Type at all. */
bool media_type_cors_safelisted(const char *content_type);

#endif
