/* timefmt.h -- RFC 3339 timestamps <-> epoch milliseconds. Pure; any thread. */
#ifndef TT_TIMEFMT_H
#define TT_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" plus NUL. */
#define TIMEFMT_LEN 25

/* Parses an RFC 3339 date-time ("2026-11-28T14:31:43.123Z", "...+02:00"; 'T'/'t'/' ' between
 * date and time; any number of fraction digits, kept to the millisecond) into epoch ms.
 * Returns false if 's' is not exactly such a timestamp or lies before 1970. */
bool timefmt_parse(const char *s, size_t len, int64_t *out_ms);

/* Writes 'ms' (0 .. 9999-12-31) as "YYYY-MM-DDTHH:MM:SS.mmmZ" into 'out'. */
void timefmt_format(int64_t ms, char out[TIMEFMT_LEN]);

/* Writes 'ms' as PostgreSQL's to_json() writes a timestamptz in UTC, which PostgREST and
 * Supabase Realtime pass on: "YYYY-MM-DDTHH:MM:SS[.f]+00:00", the fraction without trailing
 * zeros and left out when zero ("...:05.12+00:00", "...:05+00:00"). */
#define TIMEFMT_PG_LEN 30
void timefmt_format_pg(int64_t ms, char out[TIMEFMT_PG_LEN]);

#endif
