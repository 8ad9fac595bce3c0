/* state_expire.c -- dashboard state's retention (DESIGN §5 "Dashboard state"): the keys of a
 * client none of whose keys changed within TELLTALE_STATE_RETENTION are deleted, on a libuv
 * worker, one pass at a time. Loop thread only. */
#include "api/api.h"
#include "api/flags_db.h"

#include "os/clock.h"
#include "os/log.h"

#include <stdlib.h>

typedef struct expiry {
    uv_work_t work;
    api_ctx *ctx;
    int rc;
    uint64_t deleted;
    char err[TT_ERRLEN];
} expiry;

static void expire(uv_work_t *w)
{
    expiry *e = w->data;
    int64_t before = (int64_t)clock_now_ms() - (int64_t)e->ctx->cfg->state_retention_ms;
    e->rc = state_db_expire(e->ctx->st, before, &e->deleted, e->err);
}

static void expired(uv_work_t *w, int status)
{
    expiry *e = w->data;
    e->ctx->state_expiring = false;
    if (status == 0 && e->rc != 0) {
        log_warn("deleting idle dashboard state: %s", e->err);
    } else if (status == 0 && e->deleted > 0) {
        log_info("deleted %llu dashboard state keys of idle clients",
                 (unsigned long long)e->deleted);
    }
    free(e);
}

void api_state_expire(api_ctx *ctx)
{
    if (ctx->cfg->state_retention_ms == 0 || ctx->state_expiring || *ctx->stopping) {
        return;
    }
    expiry *e = calloc(1, sizeof *e);
    if (e == NULL) {
        return;
    }
    e->ctx = ctx;
    e->work.data = e;
    if (uv_queue_work(ctx->loop, &e->work, expire, expired) == 0) {
        ctx->state_expiring = true;
    } else {
        free(e);
    }
}
