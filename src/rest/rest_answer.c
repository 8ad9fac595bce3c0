/* rest_answer.c -- how /rest/v1 answers, whatever it did: PostgREST's error body, the CORS
 * headers of every answer, and rows rendered as PostgreSQL's to_json writes them (rendering
 * runs on any thread; answering on the loop thread). */
#include "rest/rest_internal.h"

#include "rest/rest_row.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rest_add_cors(http_req *r)
{
    for (int i = 0; i < r->nextra; i++) {
        if (strcmp(r->extra[i].name, "access-control-allow-origin:") == 0) {
            return;
        }
    }
    http_add_header(r, "access-control-allow-origin:", "*");
    http_add_header(r, "access-control-expose-headers:", "Content-Range, Content-Profile");
}

/* A refusal for the caller's role or for rows its token does not reach (42501: 401 for anon,
 * 403 otherwise, as PostgREST answers) carries insufficient_scope's challenge (RFC 6750 §3.1),
 * once: http_challenge_scope adds none where the route's access check has added its own. */
void rest_respond_error(http_req *r, const rest_error *e)
{
    if (strcmp(e->code, "42501") == 0) {
        http_challenge_scope(r, e->message);
    }
    json_writer w = {0};
    json_open_object(&w);
    json_member_string(&w, "code", e->code);
    json_member_string(&w, "message", e->message);
    json_member_string(&w, "details", e->details[0] != '\0' ? e->details : NULL);
    json_member_string(&w, "hint", e->hint[0] != '\0' ? e->hint : NULL);
    json_close_object(&w);
    rest_add_cors(r);
    http_respond_written(r, e->status, &w);
}

int rest_rows_add(const store_value *cells, void *ctx)
{
    rest_rows *rows = ctx;
    const rest_query *shape = rows->shape;
    if (rows->n++ > 0 && rows->single) {
        return 0; /* counted, not rendered: the answer will be 406 */
    }
    json_put_raw(&rows->out, rows->n > 1 ? ",{" : "{", rows->n > 1 ? 2 : 1);
    bool first = true;
    for (int k = 0; k < shape->ncols; k++) {
        const rest_column *c = &shape->table->cols[shape->cols[k]];
        if (cells[k].is_null && rows->strip_nulls) {
            continue;
        }
        json_put_raw(&rows->out, ",", first ? 0 : 1);
        first = false;
        json_put_string(&rows->out, c->name);
        json_put_raw(&rows->out, ":", 1);
        rest_row_put_cell(&rows->out, c->kind, &cells[k]);
    }
    json_put_raw(&rows->out, "}", 1);
    return rows->out.oom ? TT_ENOMEM : 0;
}

void rest_rows_answer(http_req *r, int status, rest_rows *rows, const char *range)
{
    if (rows->single && rows->n != 1) {
        rest_error e;
        rest_fail(&e, 406, "PGRST116", "Cannot coerce the result to a single JSON object");
        snprintf(e.details, sizeof e.details, "The result contains %lld rows", (long long)rows->n);
        free(rows->out.buf);
        rows->out = (json_buf){0};
        rest_respond_error(r, &e);
        return;
    }
    if (!rows->single) {
        json_put_raw(&rows->out, "]", 1);
    }
    if (rows->out.oom) {
        free(rows->out.buf);
        rows->out = (json_buf){0};
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return;
    }
    rest_add_cors(r);
    if (range != NULL) {
        http_add_header(r, "content-range:", range);
    }
    http_respond(r, status,
                 rows->single ? "application/vnd.pgrst.object+json; charset=utf-8"
                              : "application/json; charset=utf-8",
                 rows->out.buf, rows->out.len);
    rows->out = (json_buf){0};
}

void rest_insert_answer(http_req *r, rest_rows *rows, bool representation, bool count, int64_t n)
{
    char range[32] = "*/*";
    if (count) {
        snprintf(range, sizeof range, "*/%lld", (long long)n);
    }
    if (representation) {
        rest_rows_answer(r, 201, rows, range);
        return;
    }
    rest_add_cors(r);
    http_add_header(r, "content-range:", range);
    http_respond_static(r, 201, "application/json; charset=utf-8", (const unsigned char *)"", 0);
}
