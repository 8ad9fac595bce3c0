/* flags.c -- feature flags for operators (DESIGN §5 "Feature flags"): list, read, write with
 * optimistic concurrency (If-Match on the version, If-None-Match: * to create only; 412 when
 * false, RFC 9110 §13), delete; and the live copy
 * every /ws client (hello, {"type":"flags"}) and every Realtime channel on topic "flags" gets
 * when a flag changes. On PostgreSQL a change is heard through the change feed (every instance
 * refreshes, whoever wrote); on SQLite after this instance's own write. */
#include "api/api_call.h"
#include "api/flags_db.h"
#include "api/precond.h"

#include "core/timefmt.h"
#include "os/clock.h"
#include "os/log.h"

#include <stdlib.h>
#include <string.h>

#define FLAGS_TOPIC "realtime:flags"

/* A flag as the API and the live messages show it. */
static void write_flag(json_writer *w, const flag_row *f)
{
    json_open_object(w);
    json_member_string(w, "key", f->key);
    json_member_bool(w, "enabled", f->enabled);
    json_member_string(w, "variant", f->variant);
    json_member_number(w, "rollout_percent", f->rollout_percent);
    json_member_string(w, "description", f->description);
    json_key(w, "rules");
    cJSON *rules = f->rules != NULL ? cJSON_Parse(f->rules) : NULL;
    if (rules != NULL) {
        json_buf text = {0}; /* compact, whichever store wrote it */
        json_print_to(&text, rules);
        json_raw_value(w, text.buf != NULL ? text.buf : "null", text.buf != NULL ? text.len : 4);
        free(text.buf);
        cJSON_Delete(rules);
    } else {
        json_null(w);
    }
    json_member_int64(w, "version", f->version);
    char t[TIMEFMT_LEN];
    timefmt_format(f->updated_ms, t);
    json_member_string(w, "updated_at", t);
    json_close_object(w);
}

static void set_etag(api_call *c, int64_t version)
{
    snprintf(c->etag, sizeof c->etag, "\"%lld\"", (long long)version);
}

/* ---- the live copy ---- */

/* One read of every flag, off the loop. One runs at a time, so they finish in order. */
typedef struct flags_read {
    uv_work_t work;
    api_ctx *ctx;
    int rc;
    json_writer map; /* {"key":{flag},...} */
    char err[TT_ERRLEN];
} flags_read;

static void read_all(uv_work_t *w)
{
    flags_read *fr = w->data;
    flag_rows rows;
    if ((fr->rc = flags_db_list(fr->ctx->st, &rows, fr->err)) != 0) {
        return;
    }
    json_open_object(&fr->map);
    for (size_t i = 0; i < rows.n; i++) {
        json_key(&fr->map, rows.rows[i].key);
        write_flag(&fr->map, &rows.rows[i]);
    }
    json_close_object(&fr->map);
    flag_rows_free(&rows);
}

static void push_flags(api_ctx *ctx, const char *map)
{
    if (ctx->ws != NULL && !ws_live_set_flags(ctx->ws, map)) {
        return; /* the same flags: nothing changed for anyone */
    }
    size_t n = strlen(map);
    char *payload = malloc(n + 16);
    if (ctx->rt != NULL && payload != NULL) {
        snprintf(payload, n + 16, "{\"flags\":%s}", map);
        realtime_broadcast(ctx->rt, FLAGS_TOPIC, "flags", payload);
    }
    free(payload);
}

static void all_read(uv_work_t *w, int status)
{
    flags_read *fr = w->data;
    api_ctx *ctx = fr->ctx;
    ctx->flags_refreshing = false;
    if (status == 0 && fr->rc == 0 && fr->map.out.buf != NULL && !fr->map.out.oom) {
        push_flags(ctx, fr->map.out.buf);
    } else if (status == 0 && fr->rc != 0) {
        log_warn("reading the flags: %s", fr->err); /* the next notice or tick reads again */
    }
    free(fr->map.out.buf);
    free(fr);
    if (ctx->flags_stale && !*ctx->stopping) {
        api_flags_refresh(ctx);
    }
}

void api_flags_refresh(api_ctx *ctx)
{
    if (ctx->flags_refreshing) {
        ctx->flags_stale = true; /* read again once this read is done */
        return;
    }
    flags_read *fr = *ctx->stopping ? NULL : calloc(1, sizeof *fr);
    if (fr == NULL) {
        return;
    }
    fr->ctx = ctx;
    fr->work.data = fr;
    ctx->flags_stale = false;
    if (uv_queue_work(ctx->loop, &fr->work, read_all, all_read) == 0) {
        ctx->flags_refreshing = true;
    } else {
        free(fr);
    }
}

/* After this instance changed a flag: on SQLite nobody else will say so. */
static void flag_written(api_call *c)
{
    if (c->changed && !store_has_feed(c->ctx->st)) {
        api_flags_refresh(c->ctx);
    }
}

/* ---- the routes ---- */

typedef struct flag_args {
    char key[FLAG_KEY_MAX + 1];
    api_precond pre;
    cJSON *body; /* PUT */
    flag_input in;
    char *rules; /* compact */
} flag_args;

static flag_args *new_args(http_req *r)
{
    flag_args *a = calloc(1, sizeof *a);
    if (a == NULL) {
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return NULL;
    }
    if (!flag_key_valid(r->param)) {
        char m[200];
        snprintf(m, sizeof m,
                 "invalid flag key '%.64s': expected 1 to 64 characters of a-z, 0-9, '_', '.', "
                 "':' and '-'",
                 r->param);
        http_respond_error(r, 400, "invalid_key", m);
        free(a);
        return NULL;
    }
    snprintf(a->key, sizeof a->key, "%.64s", r->param);
    char why[API_WHY_LEN];
    if (!api_precond_read(r, &a->pre, why)) {
        http_respond_error(r, 400, "invalid_header", why);
        free(a);
        return NULL;
    }
    return a;
}

static void list_flags(api_call *c)
{
    flag_rows rows;
    int rc = flags_db_list(c->st, &rows, c->err);
    if (rc != 0) {
        api_call_store_failed(c, rc);
        return;
    }
    json_open_object(&c->body);
    json_key(&c->body, "flags");
    json_open_array(&c->body);
    for (size_t i = 0; i < rows.n; i++) {
        write_flag(&c->body, &rows.rows[i]);
    }
    json_close_array(&c->body);
    json_close_object(&c->body);
    c->status = 200;
    flag_rows_free(&rows);
}

void api_flags_list(http_req *r, void *ctx)
{
    api_call_run(ctx, r, list_flags, NULL, NULL);
}

/* 412 with the flag's current ETag (none when absent) and the condition that was false. */
static void precondition_failed(api_call *c, const flag_args *a, int64_t version)
{
    char what[FLAG_KEY_MAX + 16], why[API_WHY_LEN];
    snprintf(what, sizeof what, "flag '%s'", a->key);
    api_precond_why(&a->pre, version, what, why);
    c->etag[0] = '\0';
    if (version > 0) {
        set_etag(c, version);
    }
    api_call_error(c, 412, "precondition_failed", "%s", why);
}

static void get_flag(api_call *c)
{
    flag_args *a = c->args;
    flag_rows rows;
    int rc = flags_db_get(c->st, a->key, &rows, c->err);
    if (rc != 0) {
        api_call_store_failed(c, rc);
        return;
    }
    if (rows.n == 0) { /* preconditions are ignored where the answer is no 2xx (§13.2.1) */
        api_call_error(c, 404, "not_found", "no flag '%s'", a->key);
        return;
    }
    set_etag(c, rows.rows[0].version);
    api_verdict v = api_precond_eval(&a->pre, true, rows.rows[0].version);
    if (v == API_FAILED) {
        precondition_failed(c, a, rows.rows[0].version);
    } else if (v == API_NOT_MODIFIED) {
        c->status = 304;
    } else {
        write_flag(&c->body, &rows.rows[0]);
        c->status = 200;
    }
    flag_rows_free(&rows);
}

void api_flag_get(http_req *r, void *ctx)
{
    flag_args *a = new_args(r);
    if (a != NULL) {
        api_call_run(ctx, r, get_flag, NULL, a);
    }
}

/* A conditional write of one flag, as api_precond_write's steps see it. */
typedef struct flag_write {
    api_call *c;
    flag_args *a;
    flag_rows *rows; /* PUT: the flag written */
} flag_write;

/* The flag's version now (0: none) into *version. */
static int current_version(void *arg, int64_t *version)
{
    flag_write *w = arg;
    flag_rows now;
    int rc = flags_db_get(w->c->st, w->a->key, &now, w->c->err);
    if (rc == 0) {
        *version = now.n > 0 ? now.rows[0].version : 0;
        flag_rows_free(&now);
    }
    return rc;
}

static void write_failed(void *arg, int64_t version)
{
    flag_write *w = arg;
    precondition_failed(w->c, w->a, version);
}

static void too_many_flags(api_call *c)
{
    api_call_error(c, 409, "too_many_flags", "the store holds %d flags, the most it may",
                   FLAGS_MAX);
}

static int put_at(void *arg, int64_t version, bool *done)
{
    flag_write *w = arg;
    bool full = false;
    int rc = flags_db_put(w->c->st, w->a->key, &w->a->in, w->a->rules,
                          version > 0 ? version : DB_IF_ABSENT, (int64_t)clock_now_ms(), w->rows,
                          &full, w->c->err);
    *done = rc == 0 && w->rows->n > 0;
    return rc;
}

/* A create that wrote nothing, and still no flag exists: the store is full. */
static bool put_refused(void *arg, int64_t version)
{
    flag_write *w = arg;
    if (version == 0) {
        too_many_flags(w->c);
    }
    return version == 0;
}

/* A PUT with preconditions (api_precond_write). Answers as put_flag. */
static void put_conditional(api_call *c, flag_args *a, flag_rows *rows)
{
    flag_write w = {.c = c, .a = a, .rows = rows};
    api_cond_steps steps = {current_version, put_at, put_refused, write_failed, &w};
    int rc = api_precond_write(&a->pre, &steps);
    if (rc != 0) {
        api_call_store_failed(c, rc);
    }
}

static void put_flag(api_call *c)
{
    flag_args *a = c->args;
    flag_rows rows = {0};
    bool full = false;
    if (api_precond_any(&a->pre)) {
        put_conditional(c, a, &rows);
    } else {
        int rc = flags_db_put(c->st, a->key, &a->in, a->rules, 0, (int64_t)clock_now_ms(), &rows,
                              &full, c->err);
        if (rc != 0) {
            api_call_store_failed(c, rc);
        } else if (full) {
            too_many_flags(c);
        }
    }
    if (rows.n > 0) {
        c->changed = true;
        set_etag(c, rows.rows[0].version);
        write_flag(&c->body, &rows.rows[0]);
        c->status = rows.rows[0].version == 1 ? 201 : 200;
    }
    flag_rows_free(&rows);
}

static void free_put_args(flag_args *a)
{
    cJSON_Delete(a->body);
    free(a->rules);
}

static void flag_put_done(api_call *c)
{
    free_put_args(c->args);
    flag_written(c);
}

void api_flag_put(http_req *r, void *ctx)
{
    flag_args *a = new_args(r);
    if (a == NULL || (a->body = api_body_json(r)) == NULL) {
        free(a);
        return;
    }
    char err[TT_ERRLEN];
    if (flag_input_read(a->body, a->key, &a->in, err) != 0) {
        http_respond_error(r, 400, "invalid_flag", err);
        free_put_args(a);
        free(a);
        return;
    }
    size_t len = 0;
    if (a->in.rules != NULL &&
        ((a->rules = json_print(a->in.rules, &len)) == NULL || len > FLAG_RULES_MAX_BYTES)) {
        http_respond_error(r, a->rules == NULL ? 503 : 400, "invalid_flag",
                           "the rules are longer than 16384 bytes as JSON");
        free_put_args(a);
        free(a);
        return;
    }
    api_call_run(ctx, r, put_flag, flag_put_done, a);
}

/* Deletes the flag at 'version' (0: whichever), answering 204, or 404 when there is none;
 * false when the flag was not at 'version' (any more). */
static bool delete_at(api_call *c, const flag_args *a, int64_t version)
{
    bool deleted = false;
    int rc = flags_db_delete(c->st, a->key, version, &deleted, c->err);
    if (rc != 0) {
        api_call_store_failed(c, rc);
    } else if (deleted) {
        c->changed = true;
        c->status = 204;
    } else if (version == 0) {
        api_call_error(c, 404, "not_found", "no flag '%s'", a->key);
    }
    return rc != 0 || deleted || version == 0;
}

/* Deletes the flag if still at 'version'. None there is 404: only If-None-Match was sent
 * (If-Match is false on a missing flag, §13.1.1). */
static int delete_step(void *arg, int64_t version, bool *done)
{
    flag_write *w = arg;
    if (version == 0) {
        api_call_error(w->c, 404, "not_found", "no flag '%s'", w->a->key);
    }
    *done = version == 0 || delete_at(w->c, w->a, version);
    return 0;
}

/* A DELETE with preconditions deletes only the version they were evaluated against
 * (api_precond_write). */
static void delete_flag(api_call *c)
{
    flag_args *a = c->args;
    if (!api_precond_any(&a->pre)) {
        delete_at(c, a, 0);
        return;
    }
    flag_write w = {.c = c, .a = a};
    api_cond_steps steps = {current_version, delete_step, NULL, write_failed, &w};
    int rc = api_precond_write(&a->pre, &steps);
    if (rc != 0) {
        api_call_store_failed(c, rc);
    }
}

void api_flag_delete(http_req *r, void *ctx)
{
    flag_args *a = new_args(r);
    if (a != NULL) {
        api_call_run(ctx, r, delete_flag, flag_written, a);
    }
}
