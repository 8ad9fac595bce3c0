/* rest_row.h -- rows as PostgreSQL's to_json writes them, whichever the store: the one JSON
 * form of /rest/v1's answers and of Realtime's postgres_changes records (DESIGN §5).
 * Timestamps "2026-11-28T17:56:01.123+00:00", numbers as numbers, booleans, JSON as JSON
 * (jsonb re-printed compactly, as the engines spell it differently), absent values null.
 * Pure; any thread. */
#ifndef TT_REST_ROW_H
#define TT_REST_ROW_H

#include "core/event.h"
#include "core/json_print.h"
#include "rest/rest_table.h"

/* Writes one value of a column of 'kind'. */
void rest_row_put_cell(json_buf *out, store_type kind, const store_value *v);

/* The event as the cells of monitoring_events, in the catalog's column order; its seq is
 * null unless 'seq_known' (and positive). The cells point into 'ev'. */
void rest_row_event_cells(const tt_event *ev, bool seq_known, store_value cells[REST_MAX_COLUMNS]);

#endif
