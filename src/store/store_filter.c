/* store_filter.c -- what both engines share: the text filters of an event query, and the
 * pending part of a migration plan. Kept apart from store.c, which calls the engines, so that
 * the engines can call these without a cycle. */
#include "store/store_impl.h"

#include "store/migrations.h"

#include <stdio.h>

int store_plan_pending(store_migration_plan *plan, const struct migration *ms, size_t n,
                       char err[TT_ERRLEN])
{
    size_t len = 0;
    plan->pending[0] = '\0';
    plan->newest = n > 0 ? ms[n - 1].version : 0;
    for (size_t i = 0; i < n; i++) {
        if (ms[i].version > plan->version && len < sizeof plan->pending) {
            len += (size_t)snprintf(plan->pending + len, sizeof plan->pending - len, "%s%s",
                                    len > 0 ? ", " : "", ms[i].name);
        }
    }
    if (plan->version > plan->newest) {
        return tt_fail(err, TT_ESCHEMA,
                       "the database is at schema version %d, newer than this telltale knows "
                       "(%d): use a newer telltale",
                       plan->version, plan->newest);
    }
    return 0;
}

const char *event_filter_column_name(event_filter_column c)
{
    static const char *const names[EVENT_FILTER_COLUMNS] = {"type", "source", "session_id",
                                                            "status", "name"};
    return (unsigned)c < EVENT_FILTER_COLUMNS ? names[c] : "?";
}

int event_filter_values(const event_filter *f, event_filter_column c,
                        const char *out[EVENT_FILTER_ANY_MAX + 1])
{
    const char *single[EVENT_FILTER_COLUMNS] = {f->type, f->source, f->session_id, f->status,
                                                f->name};
    int n = 0;
    if (single[c] != NULL) {
        out[n++] = single[c];
    }
    for (int i = 0; i < f->any[c].n && i < EVENT_FILTER_ANY_MAX; i++) {
        out[n++] = f->any[c].values[i];
    }
    return n;
}
