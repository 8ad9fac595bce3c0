/* rt_limits.c -- the limit on Realtime joins (DESIGN §5, "Limits"): one connection may have
 * joined at most TELLTALE_REALTIME_MAX_JOINS channels at once; a join beyond it is refused
 * with a phx_reply error naming the limit, and counted. A rejoin of a joined topic replaces
 * the old join and is not counted against it. Loop thread. */
#include "live/rt_internal.h"

#include <stdio.h>

bool rt_join_over_limit(rt_conn *c, const phx_msg *m)
{
    uint32_t max = c->rt->opts.cfg->realtime_max_joins;
    if ((uint32_t)c->nchannels < max) {
        return false;
    }
    http_server_count_limit(c->rt->opts.hs, HTTP_LIMIT_REALTIME_JOINS);
    char why[128];
    snprintf(why, sizeof why,
             "too many channels on this connection: at most %u (TELLTALE_REALTIME_MAX_JOINS)", max);
    rt_reply_error(c, m, why);
    return true;
}
