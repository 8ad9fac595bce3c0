/* lib_jsonc.c -- json-c adapter for the JSON benchmark and strictness probes.
 *
 * Never calls json_object_get() or json_object_iter_next(): jansson exports functions of
 * the same names, and the link line resolves those to jansson (see bench.h). */
#include "bench.h"

#include <json.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#define TOKENER_STRICT_FLAGS (JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8)
#define PRINT_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define ADD_FLAGS (JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY)

const char *jsonc_version(void)
{
    return json_c_version();
}

/* --- parse + walk ------------------------------------------------------------------------ */

static bool is(struct json_object *v, enum json_type t)
{
    return v != NULL && json_object_get_type(v) == t;
}

static bool is_number(struct json_object *v)
{
    return is(v, json_type_int) || is(v, json_type_double);
}

static int depth_of(struct json_object *v)
{
    int max = 0;
    if (is(v, json_type_object)) {
        struct json_object_iter it;
        json_object_object_foreachC(v, it)
        {
            int d = depth_of(it.val);
            if (d > max) {
                max = d;
            }
        }
        return max + 1;
    }
    if (is(v, json_type_array)) {
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++) {
            int d = depth_of(json_object_array_get_idx(v, i));
            if (d > max) {
                max = d;
            }
        }
        return max + 1;
    }
    return 0;
}

static int walk_event(struct json_object *ev, walk_sum *sum, char err[256])
{
    struct json_object *f[F_COUNT];
    struct json_object_iter it;
    if (!is(ev, json_type_object)) {
        snprintf(err, 256, "event is not an object");
        return -1;
    }
    json_object_object_foreachC(ev, it)
    {
        if (field_index(it.key) == F_UNKNOWN) {
            snprintf(err, 256, "unknown field '%s'", it.key);
            return -1;
        }
    }
    for (int i = 0; i < F_COUNT; i++) {
        if (!json_object_object_get_ex(ev, field_names[i], &f[i])) {
            f[i] = NULL;
        }
    }
    if (f[F_TYPE] == NULL) {
        snprintf(err, 256, "missing type");
        return -1;
    }
    static const int str_fields[] = {F_ID,   F_TYPE,   F_SOURCE, F_SESSION_ID,
                                     F_NAME, F_STATUS, F_ERROR};
    for (size_t k = 0; k < sizeof str_fields / sizeof str_fields[0]; k++) {
        int i = str_fields[k];
        if (f[i] == NULL) {
            continue;
        }
        if (!is(f[i], json_type_string)) {
            snprintf(err, 256, "%s is not a string", field_names[i]);
            return -1;
        }
        size_t len = (size_t)json_object_get_string_len(f[i]);
        if (len > field_max_len[i] ||
            (i == F_TYPE && !type_ok(json_object_get_string(f[i]), len))) {
            snprintf(err, 256, "bad %s", field_names[i]);
            return -1;
        }
        sum->str_bytes += len;
        sum->str_fields++;
    }
    if (f[F_TS] != NULL) {
        if (is(f[F_TS], json_type_string)) {
            size_t len = (size_t)json_object_get_string_len(f[F_TS]);
            if (len > field_max_len[F_TS]) {
                snprintf(err, 256, "bad ts");
                return -1;
            }
            sum->str_bytes += len;
            sum->str_fields++;
        } else if (is(f[F_TS], json_type_int) && json_object_get_int64(f[F_TS]) >= 0) {
            sum->int_sum += json_object_get_int64(f[F_TS]);
        } else {
            snprintf(err, 256, "bad ts");
            return -1;
        }
    }
    if (f[F_DURATION_MS] != NULL) {
        if (!is_number(f[F_DURATION_MS]) || json_object_get_double(f[F_DURATION_MS]) < 0) {
            snprintf(err, 256, "bad duration_ms");
            return -1;
        }
        sum->dbl_sum += json_object_get_double(f[F_DURATION_MS]);
    }
    if (f[F_BYTES] != NULL) {
        if (!is(f[F_BYTES], json_type_int) || json_object_get_int64(f[F_BYTES]) < 0) {
            snprintf(err, 256, "bad bytes");
            return -1;
        }
        sum->int_sum += json_object_get_int64(f[F_BYTES]);
    }
    if (f[F_VALUE] != NULL) {
        if (!is_number(f[F_VALUE])) {
            snprintf(err, 256, "bad value");
            return -1;
        }
        sum->dbl_sum += json_object_get_double(f[F_VALUE]);
    }
    if (f[F_ATTRS] != NULL) {
        if (!is(f[F_ATTRS], json_type_object) || depth_of(f[F_ATTRS]) > ATTRS_MAX_DEPTH) {
            snprintf(err, 256, "bad attrs");
            return -1;
        }
        /* The text is owned by the attrs object and freed with the tree. */
        size_t len = 0;
        if (json_object_to_json_string_length(f[F_ATTRS], PRINT_FLAGS, &len) == NULL) {
            snprintf(err, 256, "out of memory");
            return -1;
        }
        if (len > ATTRS_MAX_BYTES) {
            snprintf(err, 256, "attrs too large");
            return -1;
        }
        sum->attrs++;
        sum->attrs_bytes += len;
    }
    sum->events++;
    return 0;
}

/* Returns the parsed value, or NULL with 'err'; '*end' gets the offset parsing stopped at. */
static struct json_object *parse(const char *in, size_t len, int flags, size_t *end, char err[256])
{
    struct json_tokener *tok = json_tokener_new();
    if (tok == NULL) {
        snprintf(err, 256, "out of memory");
        return NULL;
    }
    json_tokener_set_flags(tok, flags);
    struct json_object *v = json_tokener_parse_ex(tok, in, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    *end = json_tokener_get_parse_end(tok);
    if (v == NULL) {
        /* 'continue' means the input ended inside a value. */
        snprintf(err, 256, "%s at byte %zu", json_tokener_error_desc(je), *end);
    }
    json_tokener_free(tok);
    return v;
}

static int parse_walk_flags(const char *body, size_t len, walk_sum *sum, char err[256], int flags)
{
    int rc = -1;
    size_t end = 0;
    struct json_object *root = parse(body, len, flags, &end, err);
    if (root == NULL) {
        goto Exit;
    }
    while (end < len &&
           (body[end] == ' ' || body[end] == '\n' || body[end] == '\r' || body[end] == '\t')) {
        end++;
    }
    if (end != len || !is(root, json_type_array)) {
        snprintf(err, 256, "not a single array");
        goto Exit;
    }
    size_t n = json_object_array_length(root);
    for (size_t i = 0; i < n; i++) {
        if (walk_event(json_object_array_get_idx(root, i), sum, err) != 0) {
            goto Exit;
        }
    }
    rc = 0;
Exit:
    json_object_put(root);
    return rc;
}

static int parse_walk(const char *body, size_t len, walk_sum *sum, char err[256])
{
    return parse_walk_flags(body, len, sum, err, 0);
}

static int parse_walk_strict(const char *body, size_t len, walk_sum *sum, char err[256])
{
    return parse_walk_flags(body, len, sum, err, TOKENER_STRICT_FLAGS);
}

/* A new tokener per message, as parse() does; telltale could keep one per connection. */
static int parse_walk_one_flags(const char *json, size_t len, walk_sum *sum, char err[256],
                                int flags)
{
    size_t end = 0;
    struct json_object *ev = parse(json, len, flags, &end, err);
    while (end < len &&
           (json[end] == ' ' || json[end] == '\n' || json[end] == '\r' || json[end] == '\t')) {
        end++;
    }
    int rc = -1;
    if (ev == NULL || end != len) {
        snprintf(err, 256, "parse error");
    } else {
        rc = walk_event(ev, sum, err);
    }
    json_object_put(ev);
    return rc;
}

static int parse_walk_one(const char *json, size_t len, walk_sum *sum, char err[256])
{
    return parse_walk_one_flags(json, len, sum, err, 0);
}

static int parse_walk_one_strict(const char *json, size_t len, walk_sum *sum, char err[256])
{
    return parse_walk_one_flags(json, len, sum, err, TOKENER_STRICT_FLAGS);
}

static size_t tree_bytes(const char *body, size_t len)
{
    char err[256];
    size_t end;
    size_t before = mallinfo2().uordblks;
    struct json_object *root = parse(body, len, 0, &end, err);
    size_t after = mallinfo2().uordblks;
    json_object_put(root);
    return after - before;
}

/* Parse and free only: how much of parse_walk is the parser itself. */
static int parse_only(const char *body, size_t len, walk_sum *sum, char err[256])
{
    size_t end = 0;
    struct json_object *root = parse(body, len, 0, &end, err);
    if (root == NULL) {
        return -1;
    }
    sum->str_fields += json_object_array_length(root);
    json_object_put(root);
    return 0;
}

const bench_lib lib_jsonc = {"json-c", parse_walk, tree_bytes, true, parse_walk_one};
const bench_lib lib_jsonc_strict = {"json-c STRICT+VALIDATE_UTF8", parse_walk_strict, tree_bytes,
                                    true, parse_walk_one_strict};
const bench_lib lib_jsonc_parse = {"json-c, parse only", parse_only, tree_bytes, false, NULL};

/* --- serialize ----------------------------------------------------------------------------- */

static void add(struct json_object *o, const char *key, struct json_object *v)
{
    json_object_object_add_ex(o, key, v, ADD_FLAGS);
}

static int serialize(const row *rows, size_t n, ser_sum *sum, emit_fn emit, void *ctx)
{
    int rc = -1;
    struct json_tokener *tok = json_tokener_new();
    if (tok == NULL) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const row *r = &rows[i];
        struct json_object *o = json_object_new_object();
        if (o == NULL) {
            goto Exit;
        }
        add(o, "seq", json_object_new_int64(r->seq));
        add(o, "id", json_object_new_string(r->id));
        if (r->ts_str != NULL) {
            add(o, "ts", json_object_new_string(r->ts_str));
        } else {
            add(o, "ts", json_object_new_int64(r->ts_ms));
        }
        add(o, "received_at", json_object_new_string(r->received_at));
        add(o, "type", json_object_new_string(r->type));
        if (r->source != NULL) {
            add(o, "source", json_object_new_string(r->source));
        }
        if (r->session_id != NULL) {
            add(o, "session_id", json_object_new_string(r->session_id));
        }
        if (r->name != NULL) {
            add(o, "name", json_object_new_string(r->name));
        }
        if (r->status != NULL) {
            add(o, "status", json_object_new_string(r->status));
        }
        if (r->has_duration) {
            add(o, "duration_ms", json_object_new_double(r->duration_ms));
        }
        if (r->has_bytes) {
            add(o, "bytes", json_object_new_int64(r->bytes));
        }
        if (r->has_value) {
            add(o, "value", json_object_new_double(r->value));
        }
        if (r->error != NULL) {
            add(o, "error", json_object_new_string(r->error));
        }
        if (r->attrs_json != NULL) {
            json_tokener_reset(tok);
            struct json_object *a =
                json_tokener_parse_ex(tok, r->attrs_json, (int)strlen(r->attrs_json));
            if (a == NULL) {
                json_object_put(o);
                goto Exit;
            }
            add(o, "attrs", a);
        }
        size_t len = 0;
        const char *s = json_object_to_json_string_length(o, PRINT_FLAGS, &len);
        if (s == NULL) {
            json_object_put(o);
            goto Exit;
        }
        if (emit != NULL) {
            emit(ctx, i, s, len);
        }
        sum->bytes += len;
        sum->events++;
        json_object_put(o); /* frees 's' too */
    }
    rc = 0;
Exit:
    json_tokener_free(tok);
    return rc;
}

const bench_printer print_jsonc = {"json-c", serialize};

/* --- strictness probes --------------------------------------------------------------------- */

static void describe(struct json_object *v, probe_result *r)
{
    const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    char esc[96];
    cell_escape(esc, sizeof esc, s != NULL ? s : "(print failed)", s != NULL ? strlen(s) : 14);
    size_t o = (size_t)snprintf(r->text, sizeof r->text, "%s", esc);
    struct json_object *first = is(v, json_type_array) && json_object_array_length(v) > 0
                                    ? json_object_array_get_idx(v, 0)
                                    : NULL;
    if (is(first, json_type_string) && o < sizeof r->text) {
        snprintf(r->text + o, sizeof r->text - o, " len=%d", json_object_get_string_len(first));
    } else if (is(first, json_type_int) && o < sizeof r->text) {
        snprintf(r->text + o, sizeof r->text - o, " int64=%lld",
                 (long long)json_object_get_int64(first));
    } else if (is(first, json_type_double) && o < sizeof r->text) {
        snprintf(r->text + o, sizeof r->text - o, " double=%.17g", json_object_get_double(first));
    }
    struct json_object *a = NULL;
    if (is(v, json_type_object) && json_object_object_get_ex(v, "a", &a) && o < sizeof r->text) {
        snprintf(r->text + o, sizeof r->text - o, " get(a)=%g", json_object_get_double(a));
    }
}

static void probe_parse_flags(const char *in, size_t len, probe_result *r, int flags)
{
    char err[256];
    size_t end = 0;
    struct json_object *v = parse(in, len, flags, &end, err);
    /* A valid 'null' parses to a NULL object with no error. */
    if (v == NULL && strncmp(err, "success", 7) != 0) {
        r->accepted = false;
        snprintf(r->text, sizeof r->text, "error: %.140s", err);
        return;
    }
    r->accepted = true;
    describe(v, r);
    json_object_put(v);
    size_t o = strlen(r->text);
    if (end < len && o < sizeof r->text) {
        snprintf(r->text + o, sizeof r->text - o, " (stopped at byte %zu of %zu)", end, len);
    }
}

static void probe_parse(const char *in, size_t len, probe_result *r)
{
    probe_parse_flags(in, len, r, 0);
}

static void probe_parse_strict(const char *in, size_t len, probe_result *r)
{
    probe_parse_flags(in, len, r, TOKENER_STRICT_FLAGS);
}

static int accepts_flags(const char *in, size_t len, int flags)
{
    char err[256];
    size_t end;
    struct json_object *v = parse(in, len, flags, &end, err);
    int ok = v != NULL;
    json_object_put(v);
    return ok;
}

static int accepts(const char *in, size_t len)
{
    return accepts_flags(in, len, 0);
}

static int accepts_strict(const char *in, size_t len)
{
    return accepts_flags(in, len, TOKENER_STRICT_FLAGS);
}

static void print_item(struct json_object *v, probe_result *r)
{
    if (v == NULL) {
        r->accepted = false;
        snprintf(r->text, sizeof r->text, "refused (constructor returned NULL)");
        return;
    }
    size_t len = 0;
    const char *s = json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN, &len);
    r->accepted = s != NULL;
    cell_escape(r->text, sizeof r->text, s != NULL ? s : "(print failed)", s != NULL ? len : 14);
    json_object_put(v);
}

static void print_string(const char *s, size_t len, probe_result *r)
{
    print_item(json_object_new_string_len(s, (int)len), r);
}

static void print_double(double d, probe_result *r)
{
    print_item(json_object_new_double(d), r);
}

static void print_int(int64_t v, probe_result *r)
{
    print_item(json_object_new_int64(v), r);
}

const probe_lib probe_jsonc = {"json-c",     probe_parse,  accepts,
                               print_string, print_double, print_int};
const probe_lib probe_jsonc_strict = {"json-c STRICT+VALIDATE_UTF8",
                                      probe_parse_strict,
                                      accepts_strict,
                                      print_string,
                                      print_double,
                                      print_int};
