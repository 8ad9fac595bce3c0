/* state.c -- cross-session dashboard state (DESIGN §5 "Dashboard state"): a client's keys, each
 * a JSON value with a version; optimistic concurrency (If-Match on the version, If-None-Match:
 * * to create only; 412 with the current version and value when false, RFC 9110 §13); limits per value and per client; idle clients
 * expire. A change is pushed to the client's open sessions: /ws connections that sent
 * {"type":"state_subscribe","client_id":C} and Realtime channels on topic "state:C". */
#include "api/api_call.h"
#include "api/flags_db.h"
#include "api/precond.h"

#include "core/timefmt.h"
#include "os/clock.h"
#include "os/log.h"

#include <stdlib.h>
#include <string.h>

#define KEY_MAX 128 /* bytes of a state key, as of a client id (STATE_CLIENT_MAX) */

typedef struct state_args {
    char client_id[STATE_CLIENT_MAX + 1];
    char key[KEY_MAX + 1]; /* "" = the whole client */
    api_precond pre;
    cJSON *body;
    char *value;   /* the value to put, compact JSON */
    cJSON *values; /* client-level PUT: the object of keys (inside body) */
    state_limits lim;
} state_args;

static void write_entry(json_writer *w, const state_row *s)
{
    json_open_object(w);
    json_key(w, "value");
    cJSON *v = cJSON_Parse(s->value);
    if (v != NULL) {
        json_buf text = {0}; /* compact, whichever store wrote it */
        json_print_to(&text, v);
        json_raw_value(w, text.buf != NULL ? text.buf : "null", text.buf != NULL ? text.len : 4);
        free(text.buf);
        cJSON_Delete(v);
    } else {
        json_null(w);
    }
    json_member_int64(w, "version", s->version);
    char t[TIMEFMT_LEN];
    timefmt_format(s->updated_ms, t);
    json_member_string(w, "updated_at", t);
    json_close_object(w);
}

/* {"client_id":C,"state":{"key":{"value","version","updated_at"},...}} */
static void write_client(json_writer *w, const char *client_id, const state_rows *rows)
{
    json_open_object(w);
    json_member_string(w, "client_id", client_id);
    json_key(w, "state");
    json_open_object(w);
    for (size_t i = 0; i < rows->n; i++) {
        json_key(w, rows->rows[i].key);
        write_entry(w, &rows->rows[i]);
    }
    json_close_object(w);
    json_close_object(w);
}

/* ---- pushing ----
 *
 * A change is pushed as the client's whole state, read after the change. Reads run one at a
 * time, in the order the changes were heard, so the last snapshot a session gets is never older
 * than the last change; clients waiting for their read wait in a list (each once), at most
 * PUSH_PENDING_MAX of them. */

#define PUSH_PENDING_MAX 4096

struct state_push {
    uv_work_t work;
    state_push *next; /* in the list of those waiting */
    api_ctx *ctx;
    int rc;
    json_writer doc; /* {"client_id","state"} */
    char err[TT_ERRLEN];
    char client_id[STATE_CLIENT_MAX + 1];
};

static void read_client(uv_work_t *w)
{
    state_push *p = w->data;
    state_rows rows;
    if ((p->rc = state_db_get(p->ctx->st, p->client_id, NULL, &rows, p->err)) == 0) {
        write_client(&p->doc, p->client_id, &rows);
        state_rows_free(&rows);
    }
}

/* {"type":"state","client_id":C,"state":{...}} over /ws; {"client_id","state"} as Realtime's
 * broadcast payload (event "state") on topic state:C. */
static void push_doc(api_ctx *ctx, const char *client_id, const char *doc)
{
    size_t n = strlen(doc);
    char *text = malloc(n + 32);
    if (text != NULL && ctx->ws != NULL) {
        int len = snprintf(text, n + 32, "{\"type\":\"state\",%s", doc + 1);
        ws_live_push_state(ctx->ws, client_id, text, (size_t)len);
    }
    free(text);
    char topic[STATE_CLIENT_MAX + 32];
    snprintf(topic, sizeof topic, "realtime:state:%s", client_id);
    if (ctx->rt != NULL) {
        realtime_broadcast(ctx->rt, topic, "state", doc);
    }
}

static void start_next(api_ctx *ctx);

static void client_read(uv_work_t *w, int status)
{
    state_push *p = w->data;
    api_ctx *ctx = p->ctx;
    if (status == 0 && p->rc == 0 && p->doc.out.buf != NULL && !p->doc.out.oom) {
        push_doc(ctx, p->client_id, p->doc.out.buf);
    } else if (status == 0 && p->rc != 0) {
        log_warn("reading the dashboard state of %s: %s", p->client_id, p->err);
    }
    free(p->doc.out.buf);
    free(p);
    ctx->state_reading = false;
    start_next(ctx);
}

static void start_next(api_ctx *ctx)
{
    while (!ctx->state_reading && ctx->state_waiting != NULL && !*ctx->stopping) {
        state_push *p = ctx->state_waiting;
        ctx->state_waiting = p->next;
        ctx->state_nwaiting--;
        p->work.data = p;
        if (uv_queue_work(ctx->loop, &p->work, read_client, client_read) == 0) {
            ctx->state_reading = true;
        } else {
            free(p);
        }
    }
}

void api_state_refresh(api_ctx *ctx, const char *client_id)
{
    state_push **tail = &ctx->state_waiting;
    for (; *tail != NULL; tail = &(*tail)->next) {
        if (strcmp((*tail)->client_id, client_id) == 0) {
            return; /* already waiting: its read will see this change too */
        }
    }
    if (strlen(client_id) > STATE_CLIENT_MAX || ctx->state_nwaiting >= PUSH_PENDING_MAX) {
        log_warn("dashboard state of %.128s not pushed: %s", client_id,
                 ctx->state_nwaiting >= PUSH_PENDING_MAX ? "too many waiting" : "bad client id");
        return;
    }
    state_push *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return;
    }
    p->ctx = ctx;
    strcpy(p->client_id, client_id);
    *tail = p;
    ctx->state_nwaiting++;
    start_next(ctx);
}

/* At shutdown: the reads not started are dropped. */
void api_state_pushes_free(api_ctx *ctx)
{
    while (ctx->state_waiting != NULL) {
        state_push *p = ctx->state_waiting;
        ctx->state_waiting = p->next;
        free(p);
    }
    ctx->state_nwaiting = 0;
}

static void state_written(api_call *c)
{
    state_args *a = c->args;
    if (c->changed && !store_has_feed(c->ctx->st)) {
        api_state_refresh(c->ctx, a->client_id); /* PostgreSQL's trigger tells every instance */
    }
    cJSON_Delete(a->body);
    free(a->value);
}

/* ---- the routes ---- */

/* The client id and key from /api/v1/state/{client_id}[/{key}]. */
static state_args *new_args(http_req *r, api_ctx *ctx)
{
    static const char prefix[] = "/api/v1/state/";
    const char *rest = r->path + sizeof prefix - 1;
    const char *slash = strchr(rest, '/');
    size_t id_len = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
    const char *key = slash != NULL ? slash + 1 : "";
    if (id_len == 0 || id_len > STATE_CLIENT_MAX || strlen(key) > KEY_MAX ||
        strchr(key, '/') != NULL || (slash != NULL && key[0] == '\0')) {
        http_respond_error(r, 400, "invalid_path",
                           "the path is /api/v1/state/{client_id}[/{key}], each 1 to 128 bytes");
        return NULL;
    }
    state_args *a = calloc(1, sizeof *a);
    if (a == NULL) {
        r->retry_after = 1;
        http_respond_error(r, 503, "overloaded", "out of memory");
        return NULL;
    }
    memcpy(a->client_id, rest, id_len);
    strcpy(a->key, key);
    a->lim = (state_limits){.max_client_bytes = ctx->cfg->state_max_client,
                            .max_keys = ctx->cfg->state_max_keys};
    char why[API_WHY_LEN];
    if (!api_precond_read(r, &a->pre, why)) {
        http_respond_error(r, 400, "invalid_header", why);
        free(a);
        return NULL;
    }
    if (api_precond_any(&a->pre) && a->key[0] == '\0') { /* a whole client has no version */
        http_respond_error(r, 400, "invalid_header",
                           "If-Match and If-None-Match apply to one key: "
                           "/api/v1/state/{client_id}/{key}");
        free(a);
        return NULL;
    }
    return a;
}

static void set_etag(api_call *c, int64_t version)
{
    snprintf(c->etag, sizeof c->etag, "\"%lld\"", (long long)version);
}

/* 412 {"error":{"code":"precondition_failed","message"},"current":entry|null} with the
 * current ETag: the condition that was false, and what is there now ('now', NULL: none) to
 * write on top of. */
static void precondition_failed(api_call *c, const state_args *a, const char *key,
                                const state_row *now)
{
    char what[2 * KEY_MAX + 32], why[API_WHY_LEN];
    snprintf(what, sizeof what, "key '%.64s' of client '%.64s'", key, a->client_id);
    api_precond_why(&a->pre, now != NULL ? now->version : 0, what, why);
    c->etag[0] = '\0';
    c->status = 412;
    json_open_object(&c->body);
    json_key(&c->body, "error");
    json_open_object(&c->body);
    json_member_string(&c->body, "code", "precondition_failed");
    json_member_string(&c->body, "message", why);
    json_close_object(&c->body);
    json_key(&c->body, "current");
    if (now == NULL) {
        json_null(&c->body);
    } else {
        set_etag(c, now->version);
        write_entry(&c->body, now);
    }
    json_close_object(&c->body);
}

static void get_state(api_call *c)
{
    state_args *a = c->args;
    state_rows rows;
    int rc = state_db_get(c->st, a->client_id, a->key[0] ? a->key : NULL, &rows, c->err);
    if (rc != 0) {
        api_call_store_failed(c, rc);
        return;
    }
    api_verdict v = rows.n > 0 ? api_precond_eval(&a->pre, true, rows.rows[0].version) : API_PASS;
    c->status = 200;
    if (a->key[0] == '\0') {
        write_client(&c->body, a->client_id, &rows);
    } else if (rows.n == 0) { /* preconditions are ignored where the answer is no 2xx (§13.2.1) */
        api_call_error(c, 404, "not_found", "client '%s' has no key '%s'", a->client_id, a->key);
    } else if (v == API_FAILED) {
        precondition_failed(c, a, a->key, &rows.rows[0]);
    } else {
        set_etag(c, rows.rows[0].version);
        c->status = v == API_NOT_MODIFIED ? 304 : 200;
        if (v == API_PASS) {
            write_entry(&c->body, &rows.rows[0]);
        }
    }
    state_rows_free(&rows);
}

static void limit_refused(api_call *c, const state_args *a)
{
    api_call_error(c, 413, "state_limit",
                   "client '%s' may keep at most %u keys and %llu bytes of values", a->client_id,
                   a->lim.max_keys, (unsigned long long)a->lim.max_client_bytes);
}

/* A conditional write of one key, as api_precond_write's steps see it. */
typedef struct state_write {
    api_call *c;
    const state_args *a;
    const char *key;
    const char *value; /* PUT: the value to write */
    state_rows *rows;  /* PUT: the key written */
    state_rows now;    /* the key as last read */
} state_write;

/* The key's version now (0: none) into *version; the row kept in w->now. */
static int current_version(void *arg, int64_t *version)
{
    state_write *w = arg;
    state_rows_free(&w->now);
    int rc = state_db_get(w->c->st, w->a->client_id, w->key, &w->now, w->c->err);
    *version = w->now.n > 0 ? w->now.rows[0].version : 0;
    return rc;
}

static void write_failed(void *arg, int64_t version)
{
    (void)version; /* the row read with it is w->now */
    state_write *w = arg;
    precondition_failed(w->c, w->a, w->key, w->now.n > 0 ? &w->now.rows[0] : NULL);
}

static int put_at(void *arg, int64_t version, bool *done)
{
    state_write *w = arg;
    int rc = state_db_put(w->c->st, w->a->client_id, w->key, w->value,
                          version > 0 ? version : DB_IF_ABSENT, &w->a->lim, (int64_t)clock_now_ms(),
                          w->rows, w->c->err);
    *done = rc == 0 && w->rows->n > 0;
    return rc;
}

/* The write did nothing, and the key is as it was read: the limits refused it. */
static bool put_refused(void *arg, int64_t version)
{
    (void)version;
    state_write *w = arg;
    limit_refused(w->c, w->a);
    return true;
}

/* A PUT with preconditions (api_precond_write): 0 when written, TT_ECONFLICT when answered
 * (412, or 413 when the limits refused it), or the store's error. */
static int put_conditional(api_call *c, const state_args *a, const char *key, const char *value,
                           state_rows *rows)
{
    state_write w = {.c = c, .a = a, .key = key, .value = value, .rows = rows};
    api_cond_steps steps = {current_version, put_at, put_refused, write_failed, &w};
    int rc = api_precond_write(&a->pre, &steps);
    state_rows_free(&w.now);
    return rc != 0 ? rc : rows->n > 0 ? 0 : TT_ECONFLICT;
}

static int put_one(api_call *c, const state_args *a, const char *key, const char *value,
                   state_rows *rows)
{
    int rc;
    if (api_precond_any(&a->pre)) {
        rc = put_conditional(c, a, key, value, rows);
    } else {
        rc = state_db_put(c->st, a->client_id, key, value, 0, &a->lim, (int64_t)clock_now_ms(),
                          rows, c->err);
        if (rc == 0 && rows->n == 0) {
            limit_refused(c, a);
            rc = TT_ECONFLICT;
        }
    }
    if (rc != 0 && rc != TT_ECONFLICT) {
        api_call_store_failed(c, rc);
    } else if (rc == 0) {
        c->changed = true;
    }
    return rc;
}

static void put_state(api_call *c)
{
    state_args *a = c->args;
    state_rows rows = {0};
    if (a->key[0] != '\0') {
        if (put_one(c, a, a->key, a->value, &rows) == 0) {
            set_etag(c, rows.rows[0].version);
            write_entry(&c->body, &rows.rows[0]);
            c->status = rows.rows[0].version == 1 ? 201 : 200;
        }
        state_rows_free(&rows);
        return;
    }
    /* The whole client: each key of the object in turn (not one transaction); stops at the
     * first refused. */
    for (const cJSON *m = a->values->child; m != NULL; m = m->next) {
        char *text = json_print(m, NULL);
        int rc = text == NULL ? TT_ENOMEM : put_one(c, a, m->string, text, &rows);
        free(text);
        state_rows_free(&rows);
        if (rc != 0) {
            return;
        }
    }
    get_state(c);
}

/* Whether 'v', the value of 'key', is within the value limit 'max' (bytes as JSON), answering
 * 400 or 413 if not; *len (when not NULL) is its size as JSON. */
static bool value_ok(http_req *r, state_args *a, const cJSON *v, const char *key, size_t max,
                     size_t *len_out)
{
    if (key[0] == '\0' || strlen(key) > KEY_MAX) {
        http_respond_error(r, 400, "invalid_key", "a state key is 1 to 128 bytes");
        return false;
    }
    size_t len = 0;
    char *text = json_print(v, &len);
    if (text == NULL || len > max) {
        char m[160];
        snprintf(m, sizeof m, "the value of '%.64s' is longer than %zu bytes as JSON", key, max);
        http_respond_error(r, text == NULL ? 503 : 413, "state_limit", m);
        free(text);
        return false;
    }
    if (len_out != NULL) {
        *len_out = len;
    }
    if (a->key[0] != '\0') {
        a->value = text;
    } else {
        free(text);
    }
    return true;
}

/* Whether a whole client's 'value' can be written: an object of keys, each value within 'max'
 * bytes, and -- before any key is written, so that a write that cannot fit writes nothing --
 * no more keys than a client may keep, nor more bytes of values (413 state_limit, as a key
 * beyond the limit is). Keys already kept can still stop the write at a later key. */
static bool client_value_ok(http_req *r, state_args *a, const cJSON *value, size_t max)
{
    if (!cJSON_IsObject(value)) {
        http_respond_error(r, 400, "invalid_body",
                           "for a whole client the value is an object of keys: {\"value\": "
                           "{KEY: <any JSON>, ...}}");
        return false;
    }
    char m[TT_ERRLEN];
    int keys = cJSON_GetArraySize(value);
    if (keys > (int)a->lim.max_keys) {
        snprintf(m, sizeof m, "the value names %d keys: client '%s' may keep at most %u keys", keys,
                 a->client_id, a->lim.max_keys);
        http_respond_error(r, 413, "state_limit", m);
        return false;
    }
    uint64_t bytes = 0;
    for (const cJSON *k = value->child; k != NULL; k = k->next) {
        size_t len = 0;
        if (!value_ok(r, a, k, k->string, max, &len)) {
            return false;
        }
        bytes += len;
    }
    if (bytes > a->lim.max_client_bytes) {
        snprintf(m, sizeof m,
                 "the values are %llu bytes as JSON: client '%s' may keep at most %llu bytes of "
                 "values",
                 (unsigned long long)bytes, a->client_id,
                 (unsigned long long)a->lim.max_client_bytes);
        http_respond_error(r, 413, "state_limit", m);
        return false;
    }
    return true;
}

static void state_put(http_req *r, api_ctx *ctx, state_args *a)
{
    static const char *const members[] = {"value", NULL};
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(a->body, "value");
    const char *unknown = api_unknown_member(a->body, members);
    if (unknown != NULL) {
        char m[TT_ERRLEN];
        snprintf(m, sizeof m, "unknown member '%.64s': the body is {\"value\": <any JSON>}",
                 unknown);
        http_respond_error(r, 400, "invalid_body", m);
        goto Fail;
    }
    if (!cJSON_IsObject(a->body) || value == NULL || cJSON_GetArraySize(a->body) != 1) {
        http_respond_error(r, 400, "invalid_body", "the body is {\"value\": <any JSON>}");
        goto Fail;
    }
    if (a->key[0] == '\0') {
        if (!client_value_ok(r, a, value, ctx->cfg->state_max_value)) {
            goto Fail;
        }
        a->values = (cJSON *)value;
    } else if (!value_ok(r, a, value, a->key, ctx->cfg->state_max_value, NULL)) {
        goto Fail;
    }
    api_call_run(ctx, r, put_state, state_written, a);
    return;
Fail:
    cJSON_Delete(a->body);
    free(a->value);
    free(a);
}

/* Deletes the key at 'version' (0: whichever; the whole client when no key), answering 204,
 * or 404 for a key there is none of; false when the key was not at 'version' (any more). */
static bool delete_at(api_call *c, const state_args *a, int64_t version)
{
    uint64_t deleted = 0;
    int rc =
        state_db_delete(c->st, a->client_id, a->key[0] ? a->key : NULL, version, &deleted, c->err);
    if (rc != 0) {
        api_call_store_failed(c, rc);
    } else if (deleted > 0 || a->key[0] == '\0') {
        c->changed = deleted > 0;
        c->status = 204;
    } else if (version == 0) {
        api_call_error(c, 404, "not_found", "client '%s' has no key '%s'", a->client_id, a->key);
    }
    return rc != 0 || deleted > 0 || a->key[0] == '\0' || version == 0;
}

/* Deletes the key if still at 'version'. None there is 404: only If-None-Match was sent
 * (If-Match is false on a missing key, §13.1.1). */
static int delete_step(void *arg, int64_t version, bool *done)
{
    state_write *w = arg;
    if (version == 0) {
        api_call_error(w->c, 404, "not_found", "client '%s' has no key '%s'", w->a->client_id,
                       w->key);
    }
    *done = version == 0 || delete_at(w->c, w->a, version);
    return 0;
}

/* A DELETE with preconditions (one key) deletes only the version they were evaluated against
 * (api_precond_write). */
static void delete_state(api_call *c)
{
    state_args *a = c->args;
    if (!api_precond_any(&a->pre)) {
        delete_at(c, a, 0);
        return;
    }
    state_write w = {.c = c, .a = a, .key = a->key};
    api_cond_steps steps = {current_version, delete_step, NULL, write_failed, &w};
    int rc = api_precond_write(&a->pre, &steps);
    state_rows_free(&w.now);
    if (rc != 0) {
        api_call_store_failed(c, rc);
    }
}

void api_state(http_req *r, void *arg)
{
    api_ctx *ctx = arg;
    state_args *a = new_args(r, ctx);
    if (a == NULL) {
        return;
    }
    if (!auth_reaches_client(&r->who, a->client_id)) {
        free(a);
        static const char why[] = "only service_role, or an authenticated JWT whose sub is this "
                                  "client id, reaches this state";
        http_challenge_scope(r, why);
        http_respond_error(r, 403, "forbidden", why);
        return;
    }
    if (r->method == HTTP_PUT) {
        if ((a->body = api_body_json(r)) == NULL) {
            free(a);
            return;
        }
        state_put(r, ctx, a);
    } else if (r->method == HTTP_DELETE) {
        api_call_run(ctx, r, delete_state, state_written, a);
    } else {
        api_call_run(ctx, r, get_state, NULL, a);
    }
}
