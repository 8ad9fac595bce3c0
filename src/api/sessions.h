/* sessions.h -- what the two files of the session routes share (sessions.c: the list and a
 * session's row; session_timeline.c: GET /api/v1/sessions/{id}). Not for other areas. */
#ifndef TT_API_SESSIONS_H
#define TT_API_SESSIONS_H

#include "api/sql_text.h"
#include "core/json_print.h"

/* Appends "SELECT <the session columns> FROM sessions" in the engine's dialect; the rows are
 * read as sessions_column_types() and written by sessions_write(). */
void sessions_select_columns(sql_text *s);
const store_type *sessions_column_types(int *n);
void sessions_write(json_writer *w, const store_value *cells, int64_t now_ms, int64_t idle_ms);

#endif
