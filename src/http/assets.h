/* assets.h -- the dashboard's files, embedded at build time by scripts/embed.mjs from
 * web/assets.json, served from memory. */
#ifndef TT_HTTP_ASSETS_H
#define TT_HTTP_ASSETS_H

#include <stddef.h>

typedef struct asset {
    const char *path; /* URL path: "/", "/app.js", "/vendor/uPlot.esm.js" */
    const char *mime;
    const char *etag; /* quoted, strong */
    const unsigned char *data;
    size_t len;
    const unsigned char *gz; /* gzip copy, or NULL when it would not be smaller */
    size_t gz_len;
} asset;

extern const asset assets[];
extern const size_t assets_count;

#endif
