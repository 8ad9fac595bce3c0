/* router.c -- which route serves which method and path: the tables the areas above registered,
 * searched in order, and the methods a path takes (for 405's Allow, RFC 9110 §15.5.6). Pure
 * look-up: answering is http.c's. */
#include "http/http_internal.h"

#include <string.h>

/* True if 'path' fits 'pattern', where a segment "{name}" stands for any one non-empty
 * segment; that segment goes to 'param'. */
static bool path_matches(const char *pattern, const char *path, char *param, size_t len)
{
    while (*pattern != '\0' && *path != '\0') {
        if (pattern[0] == '{') {
            size_t seg = strcspn(path, "/");
            if (seg == 0 || seg >= len) {
                return false;
            }
            memcpy(param, path, seg);
            param[seg] = '\0';
            path += seg;
            pattern = strchr(pattern, '}') + 1;
            continue;
        }
        if (*pattern++ != *path++) {
            return false;
        }
    }
    return *pattern == '\0' && *path == '\0';
}

/* The first route whose path fits and, unless method is 0, takes the method. */
static const http_route *find(http_server *hs, const char *path, char *param, size_t len,
                              unsigned method)
{
    for (int i = 0; i < hs->nroutes; i++) {
        const http_route *rt = hs->routes[i];
        if (path_matches(rt->path, path, param, len) && (method == 0 || rt->methods & method)) {
            return rt;
        }
    }
    return NULL;
}

static unsigned methods_of(http_server *hs, const char *path)
{
    unsigned methods = 0;
    for (int i = 0; i < hs->nroutes; i++) {
        char ignored[HTTP_PARAM_MAX];
        if (path_matches(hs->routes[i]->path, path, ignored, sizeof ignored)) {
            methods |= hs->routes[i]->methods;
        }
    }
    return methods;
}

static void allowed_methods(unsigned methods, char *out, size_t len)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{HTTP_GET, "GET"},        {HTTP_HEAD, "HEAD"},     {HTTP_POST, "POST"},
                 {HTTP_PUT, "PUT"},        {HTTP_DELETE, "DELETE"}, {HTTP_PATCH, "PATCH"},
                 {HTTP_OPTIONS, "OPTIONS"}};
    out[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (methods & names[i].bit) {
            strncat(out, out[0] ? ", " : "", len - strlen(out) - 1);
            strncat(out, names[i].name, len - strlen(out) - 1);
        }
    }
}

/* A route with its own error shape whose path, up to its first "{param}", begins 'path': a
 * protocol's refusals of paths under its prefix that no route takes (/rest/v1/a/b) are in its
 * shape too. */
static const http_route *prefix_route(http_server *hs, const char *path)
{
    for (int i = 0; i < hs->nroutes; i++) {
        const http_route *rt = hs->routes[i];
        size_t fixed = strcspn(rt->path, "{");
        if (rt->errors != NULL && fixed > 1 && strncmp(rt->path, path, fixed) == 0) {
            return rt;
        }
    }
    return NULL;
}

const http_route *router_match(http_server *hs, http_req *r)
{
    const http_route *rt = find(hs, r->path, r->param, sizeof r->param, 0);
    return rt != NULL ? rt : prefix_route(hs, r->path);
}

const http_route *router_find(http_server *hs, http_req *r)
{
    return find(hs, r->path, r->param, sizeof r->param, r->method);
}

unsigned router_methods(http_server *hs, const char *path, char *allow, size_t len)
{
    unsigned methods = methods_of(hs, path);
    allowed_methods(methods, allow, len);
    return methods;
}

int http_server_add_routes(http_server *hs, const http_route *routes, size_t n)
{
    if (n > (size_t)(HTTP_MAX_ROUTES - hs->nroutes)) {
        return TT_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        hs->routes[hs->nroutes++] = &routes[i];
    }
    return 0;
}
