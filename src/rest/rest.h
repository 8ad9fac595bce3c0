/* rest.h -- /rest/v1/{table}: the PostgREST subset the official supabase-js client uses
 * (DESIGN §5, "REST"): reads with filters, order, limits and counts, and inserts, on both
 * stores, under telltale's role policy. Loop thread. */
#ifndef TT_REST_H
#define TT_REST_H

#include "core/config.h"
#include "http/http_server.h"
#include "pipeline/gateway.h"
#include "store/store.h"

/* What /rest/v1 works with; it must outlive the server. */
typedef struct rest_ctx {
    const tt_config *cfg; /* keys, for who the caller is */
    store *st;            /* reads, and inserts other than events */
    gateway *gw;          /* event inserts take the ingest path */
    /* Told, on the loop thread, after an insert into feature_flags ("flags") or
     * dashboard_state ("state:<client_id>", per client) committed; NULL: nobody. */
    void (*changed)(const char *what, void *arg);
    void *changed_arg;
    http_route routes[2]; /* private: OPTIONS (public), the other methods */
} rest_ctx;

/* Adds the /rest/v1 routes, with PostgREST's error shape on every answer from them. */
int rest_add_routes(http_server *hs, rest_ctx *ctx);

#endif
