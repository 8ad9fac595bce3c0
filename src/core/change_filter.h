/* change_filter.h -- the row filter of a Realtime postgres_changes binding, as supabase-js
 * writes it: "column=op.value", op one of eq, neq, lt, lte, gt, gte, or in with
 * "column=in.(v1,v2,...)". A value holding , ( ) " \ or edge spaces comes "quoted" with \" and
 * \\ escapes, as realtime-js's filter builder writes it; one condition per filter (a bare comma
 * outside in.(...) is refused). Columns are those of monitoring.monitoring_events except attrs.
 * As in SQL, an absent (NULL) field matches no comparison. Pure; any thread. */
#ifndef TT_CHANGE_FILTER_H
#define TT_CHANGE_FILTER_H

#include "core/err.h"
#include "core/event.h"

#include <stdbool.h>

#define CHANGE_FILTER_MAX 1024   /* bytes of a filter */
#define CHANGE_FILTER_IN_MAX 100 /* values of an in.(...) list */

typedef struct change_filter {
    int column; /* private from here on */
    int op;
    int nvalues;
    char *text[CHANGE_FILTER_IN_MAX]; /* owned copies */
    double number[CHANGE_FILTER_IN_MAX];
} change_filter;

/* Parses 'spec'; on success *out owns copies of the values (free with change_filter_free()).
 * Returns 0, TT_EINVAL with 'err' naming the problem, or TT_ENOMEM. */
int change_filter_parse(const char *spec, change_filter *out, char err[TT_ERRLEN]);
void change_filter_free(change_filter *f);

bool change_filter_match(const change_filter *f, const tt_event *ev);

#endif
