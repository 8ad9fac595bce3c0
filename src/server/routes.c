/* routes.c -- which handler serves which method and path (DESIGN §5). */
#include "server/api.h"

#include <string.h>

typedef struct route {
    const char *path;
    unsigned methods;
    route_fn fn;
} route;

static const route routes[] = {
    {"/api/v1/events", HTTP_POST, api_events_post},
    {"/api/v1/events", HTTP_GET | HTTP_HEAD, api_events_get},
    {"/api/v1/status", HTTP_GET | HTTP_HEAD, api_status},
    {"/health", HTTP_GET | HTTP_HEAD, api_health},
    {"/ready", HTTP_GET | HTTP_HEAD, api_ready},
    {"/metrics", HTTP_GET | HTTP_HEAD, api_prometheus},
    {"/api/v1/dlq", HTTP_GET | HTTP_HEAD, api_dlq_list},
    {"/api/v1/dlq", HTTP_DELETE, api_dlq_purge},
    {"/api/v1/dlq/stats", HTTP_GET | HTTP_HEAD, api_dlq_stats},
    {"/api/v1/dlq/recover", HTTP_POST, api_dlq_recover},
    {"/api/v1/dlq/{id}/retry", HTTP_POST, api_dlq_retry},
    {"/api/v1/dlq/{id}/fail", HTTP_POST, api_dlq_fail},
    {"/api/v1/breaker", HTTP_PUT, api_breaker_put},
    {"/rest/v1/{table}", ~0u, api_rest}, /* every method: api_rest answers 405 itself */
};

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

static void allowed_methods(const char *path, char *out, size_t len)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{HTTP_GET, "GET"},        {HTTP_HEAD, "HEAD"},     {HTTP_POST, "POST"},
                 {HTTP_PUT, "PUT"},        {HTTP_DELETE, "DELETE"}, {HTTP_PATCH, "PATCH"},
                 {HTTP_OPTIONS, "OPTIONS"}};
    unsigned methods = 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        char ignored[HTTP_PARAM_MAX];
        if (path_matches(routes[i].path, path, ignored, sizeof ignored)) {
            methods |= routes[i].methods;
        }
    }
    out[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (methods & names[i].bit) {
            strncat(out, out[0] ? ", " : "", len - strlen(out) - 1);
            strncat(out, names[i].name, len - strlen(out) - 1);
        }
    }
}

void api_dispatch(server *srv, http_req *r)
{
    bool path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!path_matches(routes[i].path, r->path, r->param, sizeof r->param)) {
            continue;
        }
        path_known = true;
        if (routes[i].methods & r->method) {
            routes[i].fn(srv, r);
            return;
        }
    }
    if (!path_known && (r->method & (HTTP_GET | HTTP_HEAD))) {
        api_dashboard(srv, r); /* 404 if no file is there either */
        return;
    }
    if (!path_known) {
        http_respond_error(r, 404, "not_found", "no such route");
        return;
    }
    allowed_methods(r->path, r->allow, sizeof r->allow);
    http_respond_error(r, 405, "method_not_allowed", "this route does not take that method");
}
