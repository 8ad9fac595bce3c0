/* http_error.c -- telltale's error document, {"error":{"code","message"[,"index"]}} (DESIGN §5):
 * written for every refusal, by http.c's answers and by conn_guard.c's raw ones alike. Pure. */
#include "http/http_internal.h"

#include "core/json_print.h"

void http_write_error(json_writer *w, const http_error *e)
{
    json_open_object(w);
    json_key(w, "error");
    json_open_object(w);
    json_member_string(w, "code", e->code);
    json_member_string(w, "message", e->message);
    if (e->with_index && e->index >= 0) {
        json_member_number(w, "index", e->index);
    } else if (e->with_index) {
        json_key(w, "index");
        json_null(w);
    }
    json_close_object(w);
    json_close_object(w);
}
