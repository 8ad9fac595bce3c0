/* rest.c -- /rest/v1/{table}: the PostgREST subset the official supabase-js client
 * uses (DESIGN §5, "REST"). This file is the door: CORS, methods, profiles, media types, who
 * the caller is and what its role may do; rest_query.c reads, rest_insert.c inserts.
 *
 * The role policy is telltale's own, the same on both stores (PostgreSQL's RLS policies are
 * for clients that reach the database directly):
 *
 *   table               service_role   authenticated             anon
 *   monitoring_events   read, insert   read                      read
 *   feature_flags       read, insert   read                      read
 *   dashboard_state     read, insert   read, insert its own      -
 *                                      (client_id = JWT sub)
 *   dead_letter_queue   read           -                         -
 *
 * Refusals are PostgreSQL's 42501, 401 for anon and 403 for authenticated, as PostgREST
 * answers them. Before any of this, the route's roles were checked (access.c): no valid
 * credential is 401 PGRST301; role ingest, or anon without TELLTALE_ANON_READ, 403 42501. */
#include "rest/rest.h"

#include "rest/rest_internal.h"

#include <stdio.h>
#include <string.h>

#define METHODS "GET, HEAD, POST, OPTIONS"
#define ALLOW_HEADERS                                                                              \
    "authorization, x-client-info, apikey, content-type, x-retry-count, traceparent, "             \
    "tracestate, baggage, prefer, accept, accept-profile, content-profile, range, range-unit"

/* A preflight, or a plain OPTIONS: what the path takes, and from whom. */
static void preflight(http_req *r)
{
    rest_add_cors(r);
    http_add_header(r, "access-control-allow-methods:", METHODS);
    http_add_header(r, "access-control-allow-headers:", ALLOW_HEADERS);
    http_add_header(r, "access-control-max-age:", "86400");
    snprintf(r->allow, sizeof r->allow, "%s", METHODS);
    http_respond_static(r, 200, "text/plain", (const unsigned char *)"", 0);
}

static bool denied(const rest_call *c, rest_error *e)
{
    return rest_fail(e, c->who.role == AUTH_AUTHENTICATED ? 403 : 401, "42501",
                     "permission denied for table %s", c->table->name);
}

/* Whether the caller's role may read (or, with 'write', insert into) the table. */
static bool allowed(const rest_call *c, bool write, rest_error *e)
{
    rest_table_id t = c->table->id;
    if (c->who.role == AUTH_SERVICE) {
        if (write && t == REST_DLQ) {
            rest_fail(e, 405, "25006", "cannot execute INSERT in a read-only transaction");
            snprintf(e->details, sizeof e->details,
                     "dead_letter_queue is read-only through /rest/v1");
            snprintf(e->hint, sizeof e->hint, "use /api/v1/dlq to retry, fail or purge items");
            return false;
        }
        return true;
    }
    bool reader = t == REST_EVENTS || t == REST_FLAGS;
    bool own_state = t == REST_STATE && c->who.role == AUTH_AUTHENTICATED;
    if ((!write && (reader || own_state)) || (write && own_state)) {
        return true;
    }
    return denied(c, e);
}

/* Method, headers, table, caller: all that can be known before the store is asked. */
static bool read_call(rest_ctx *ctx, http_req *r, rest_call *c, rest_error *e)
{
    char accept[256], prefer[256], profile[64];
    bool get = r->method & (HTTP_GET | HTTP_HEAD);
    (void)ctx;
    c->who = r->who; /* checked against the route's roles before the handler ran */
    (void)http_req_header(r, "accept", accept, sizeof accept); /* absent: "" */
    (void)http_req_header(r, "prefer", prefer, sizeof prefer);
    (void)http_req_header(r, get ? "accept-profile" : "content-profile", profile, sizeof profile);
    if (!rest_check_profile(profile, e) || !rest_parse_accept(accept, &c->accept, e) ||
        !rest_parse_prefs(prefer, &c->prefs, e)) {
        return false;
    }
    if ((c->table = rest_table_find(r->param)) == NULL) {
        rest_fail(e, 404, "PGRST205",
                  "Could not find the table 'monitoring.%.64s' in the schema "
                  "cache",
                  r->param);
        return false;
    }
    return allowed(c, !get, e);
}

static void serve(http_req *r, void *arg)
{
    rest_ctx *ctx = arg;
    if (r->method == HTTP_OPTIONS) {
        preflight(r);
        return;
    }
    if (!(r->method & (HTTP_GET | HTTP_HEAD | HTTP_POST))) {
        rest_error e;
        rest_fail(&e, 405, "PGRST117", "Unsupported HTTP method: telltale's /rest/v1 takes %s",
                  METHODS);
        snprintf(r->allow, sizeof r->allow, "%s", METHODS);
        rest_respond_error(r, &e);
        return;
    }
    rest_call call = {0};
    rest_error e = {0};
    if (!read_call(ctx, r, &call, &e)) {
        if (e.status != 0) {
            rest_respond_error(r, &e);
        }
        return;
    }
    if (r->method == HTTP_POST && call.table->id == REST_EVENTS) {
        rest_events_post(ctx, r, &call); /* events take the ingest path */
    } else if (r->method == HTTP_POST) {
        rest_post(ctx, r, &call);
    } else {
        rest_get(ctx, r, &call);
    }
}

/* What the HTTP layer refuses on /rest/v1 itself (413, 411, 414, 503 ...), in PostgREST's
 * shape, which supabase-js reads. */
static void write_http_error(http_req *r, const http_error *he)
{
    /* The route's access check, in PostgREST's codes: a bad or missing credential (PGRST301),
     * a role with no grant here (42501). */
    const char *code = strcmp(he->code, "unauthorized") == 0 ? "PGRST301"
                       : strcmp(he->code, "forbidden") == 0  ? "42501"
                                                             : he->code;
    rest_error e = {.status = he->status, .code = code};
    snprintf(e.message, sizeof e.message, "%s", he->message);
    rest_respond_error(r, &e);
}

int rest_add_routes(http_server *hs, rest_ctx *ctx)
{
    /* Every method: serve() answers 405 itself, in PostgREST's words. A preflight carries no
     * credential (browsers send none), so OPTIONS is public; the rest is for readers, and
     * allowed() above narrows it table by table. Role ingest has nothing here: producers post
     * to /api/v1/events. The query is PostgREST's, read by rest_plan.c. */
    http_route route = {.path = "/rest/v1/{table}",
                        .fn = serve,
                        .ctx = ctx,
                        .errors = write_http_error,
                        .query = HTTP_QUERY_OWN};
    route.methods = HTTP_OPTIONS;
    route.roles = AUTH_PUBLIC;
    ctx->routes[0] = route;
    route.methods = HTTP_ANY_METHOD & ~(unsigned)HTTP_OPTIONS;
    route.roles = AUTH_ROLES_READ;
    ctx->routes[1] = route;
    return http_server_add_routes(hs, ctx->routes, 2);
}
