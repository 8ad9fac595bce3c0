/* assets.c -- finding an embedded file by its URL path. */
#include "server/assets.h"

#include <string.h>

const asset *assets_find(const char *path)
{
    for (size_t i = 0; i < assets_count; i++) {
        if (strcmp(assets[i].path, path) == 0) {
            return &assets[i];
        }
    }
    return NULL;
}
