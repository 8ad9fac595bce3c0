/* assets.c -- the dashboard's files from memory: found by URL path, revalidated by ETag, sent
 * gzipped to clients that take it (RFC 9110 §8.8.3, §12.5.3). */
#include "http/assets.h"

#include "http/http_internal.h"

#include <string.h>

/* The asset served at 'path', or NULL. */
static const asset *assets_find(const char *path)
{
    for (size_t i = 0; i < assets_count; i++) {
        if (strcmp(assets[i].path, path) == 0) {
            return &assets[i];
        }
    }
    return NULL;
}

bool assets_has(const char *path)
{
    return assets_find(path) != NULL;
}

/* True if Accept-Encoding allows gzip: a "gzip" token whose q is not 0. */
static bool accepts_gzip(const char *header)
{
    const char *p = header;
    while ((p = strstr(p, "gzip")) != NULL) {
        const char *after = p + 4;
        bool token_start = p == header || p[-1] == ' ' || p[-1] == ',';
        bool token_end = *after == '\0' || *after == ',' || *after == ';' || *after == ' ';
        if (token_start && token_end) {
            const char *q = strstr(after, "q=");
            const char *comma = strchr(after, ',');
            bool q_zero = q != NULL && (comma == NULL || q < comma) && q[2] == '0' &&
                          strspn(q + 3, ".0") == strcspn(q + 3, ", ;");
            return !q_zero;
        }
        p = after;
    }
    return false;
}

void assets_serve(http_req *r)
{
    const asset *a = assets_find(r->path);
    if (a == NULL) {
        http_respond_error(r, 404, "not_found", "no such route or file");
        return;
    }
    r->etag = a->etag;
    /* index.html must revalidate so a new build's module graph is picked up at once. */
    r->cache_control = "no-cache";
    if (http_etag_matches(r->if_none_match, a->etag)) {
        http_respond_static(r, 304, a->mime, NULL, 0);
        return;
    }
    if (a->gz != NULL && accepts_gzip(r->accept_encoding)) {
        r->content_encoding = "gzip";
        http_respond_static(r, 200, a->mime, a->gz, a->gz_len);
        return;
    }
    http_respond_static(r, 200, a->mime, a->data, a->len);
}
