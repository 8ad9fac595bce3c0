/* lib_jansson.c -- jansson adapter for the JSON benchmark and strictness probes, and the
 * independent checker of every printer's output. */
#include "bench.h"

#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

const char *jansson_version(void)
{
    return jansson_version_str();
}

/* --- parse + walk ------------------------------------------------------------------------ */

static int depth_of(json_t *v)
{
    int max = 0;
    if (json_is_object(v)) {
        const char *key;
        json_t *c;
        json_object_foreach(v, key, c)
        {
            int d = depth_of(c);
            if (d > max) {
                max = d;
            }
        }
        return max + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            int d = depth_of(c);
            if (d > max) {
                max = d;
            }
        }
        return max + 1;
    }
    return 0;
}

static int walk_event(json_t *ev, walk_sum *sum, char err[256])
{
    json_t *f[F_COUNT];
    const char *key;
    json_t *val;
    if (!json_is_object(ev)) {
        snprintf(err, 256, "event is not an object");
        return -1;
    }
    json_object_foreach(ev, key, val)
    {
        if (field_index(key) == F_UNKNOWN) {
            snprintf(err, 256, "unknown field '%s'", key);
            return -1;
        }
    }
    for (int i = 0; i < F_COUNT; i++) {
        f[i] = json_object_get(ev, field_names[i]);
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
        if (!json_is_string(f[i])) {
            snprintf(err, 256, "%s is not a string", field_names[i]);
            return -1;
        }
        size_t len = json_string_length(f[i]);
        if (len > field_max_len[i] || (i == F_TYPE && !type_ok(json_string_value(f[i]), len))) {
            snprintf(err, 256, "bad %s", field_names[i]);
            return -1;
        }
        sum->str_bytes += len;
        sum->str_fields++;
    }
    if (f[F_TS] != NULL) {
        if (json_is_string(f[F_TS])) {
            size_t len = json_string_length(f[F_TS]);
            if (len > field_max_len[F_TS]) {
                snprintf(err, 256, "bad ts");
                return -1;
            }
            sum->str_bytes += len;
            sum->str_fields++;
        } else if (json_is_integer(f[F_TS]) && json_integer_value(f[F_TS]) >= 0) {
            sum->int_sum += json_integer_value(f[F_TS]);
        } else {
            snprintf(err, 256, "bad ts");
            return -1;
        }
    }
    if (f[F_DURATION_MS] != NULL) {
        if (!json_is_number(f[F_DURATION_MS]) || json_number_value(f[F_DURATION_MS]) < 0) {
            snprintf(err, 256, "bad duration_ms");
            return -1;
        }
        sum->dbl_sum += json_number_value(f[F_DURATION_MS]);
    }
    if (f[F_BYTES] != NULL) {
        if (!json_is_integer(f[F_BYTES]) || json_integer_value(f[F_BYTES]) < 0) {
            snprintf(err, 256, "bad bytes");
            return -1;
        }
        sum->int_sum += json_integer_value(f[F_BYTES]);
    }
    if (f[F_VALUE] != NULL) {
        if (!json_is_number(f[F_VALUE])) {
            snprintf(err, 256, "bad value");
            return -1;
        }
        sum->dbl_sum += json_number_value(f[F_VALUE]);
    }
    if (f[F_ATTRS] != NULL) {
        if (!json_is_object(f[F_ATTRS]) || depth_of(f[F_ATTRS]) > ATTRS_MAX_DEPTH) {
            snprintf(err, 256, "bad attrs");
            return -1;
        }
        char *text = json_dumps(f[F_ATTRS], JSON_COMPACT);
        if (text == NULL) {
            snprintf(err, 256, "out of memory");
            return -1;
        }
        size_t len = strlen(text);
        free(text);
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

static int parse_walk_flags(const char *body, size_t len, walk_sum *sum, char err[256],
                            size_t flags)
{
    int rc = -1;
    json_error_t je;
    json_t *root = json_loadb(body, len, flags, &je);
    if (root == NULL) {
        snprintf(err, 256, "parse error: %s at byte %d", je.text, je.position);
        goto Exit;
    }
    if (!json_is_array(root)) {
        snprintf(err, 256, "not an array");
        goto Exit;
    }
    size_t i;
    json_t *ev;
    json_array_foreach(root, i, ev)
    {
        if (walk_event(ev, sum, err) != 0) {
            goto Exit;
        }
    }
    rc = 0;
Exit:
    json_decref(root);
    return rc;
}

static int parse_walk(const char *body, size_t len, walk_sum *sum, char err[256])
{
    return parse_walk_flags(body, len, sum, err, 0);
}

static int parse_walk_nodup(const char *body, size_t len, walk_sum *sum, char err[256])
{
    return parse_walk_flags(body, len, sum, err, JSON_REJECT_DUPLICATES);
}

static int parse_walk_one_flags(const char *json, size_t len, walk_sum *sum, char err[256],
                                size_t flags)
{
    json_error_t je;
    json_t *ev = json_loadb(json, len, flags, &je);
    if (ev == NULL) {
        snprintf(err, 256, "parse error: %.140s", je.text);
        return -1;
    }
    int rc = walk_event(ev, sum, err);
    json_decref(ev);
    return rc;
}

static int parse_walk_one(const char *json, size_t len, walk_sum *sum, char err[256])
{
    return parse_walk_one_flags(json, len, sum, err, 0);
}

static int parse_walk_one_nodup(const char *json, size_t len, walk_sum *sum, char err[256])
{
    return parse_walk_one_flags(json, len, sum, err, JSON_REJECT_DUPLICATES);
}

static size_t tree_bytes(const char *body, size_t len)
{
    json_error_t je;
    size_t before = mallinfo2().uordblks;
    json_t *root = json_loadb(body, len, 0, &je);
    size_t after = mallinfo2().uordblks;
    json_decref(root);
    return after - before;
}

/* Parse and free only: how much of parse_walk is the parser itself. */
static int parse_only(const char *body, size_t len, walk_sum *sum, char err[256])
{
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    if (root == NULL) {
        snprintf(err, 256, "parse error: %.140s", je.text);
        return -1;
    }
    sum->str_fields += json_array_size(root);
    json_decref(root);
    return 0;
}

const bench_lib lib_jansson = {"jansson", parse_walk, tree_bytes, true, parse_walk_one};
const bench_lib lib_jansson_nodup = {"jansson REJECT_DUPLICATES", parse_walk_nodup, tree_bytes,
                                     true, parse_walk_one_nodup};
const bench_lib lib_jansson_parse = {"jansson, parse only", parse_only, tree_bytes, false, NULL};

/* --- serialize ----------------------------------------------------------------------------- */

/* Keys are literals, so the *_nocheck setters skip a pointless UTF-8 check of each key;
 * values go through json_string(), which does check, as code fed by a store would. */
static int serialize(const row *rows, size_t n, ser_sum *sum, emit_fn emit, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        const row *r = &rows[i];
        json_t *o = json_object();
        if (o == NULL) {
            return -1;
        }
        json_object_set_new_nocheck(o, "seq", json_integer(r->seq));
        json_object_set_new_nocheck(o, "id", json_string(r->id));
        if (r->ts_str != NULL) {
            json_object_set_new_nocheck(o, "ts", json_string(r->ts_str));
        } else {
            json_object_set_new_nocheck(o, "ts", json_integer(r->ts_ms));
        }
        json_object_set_new_nocheck(o, "received_at", json_string(r->received_at));
        json_object_set_new_nocheck(o, "type", json_string(r->type));
        if (r->source != NULL) {
            json_object_set_new_nocheck(o, "source", json_string(r->source));
        }
        if (r->session_id != NULL) {
            json_object_set_new_nocheck(o, "session_id", json_string(r->session_id));
        }
        if (r->name != NULL) {
            json_object_set_new_nocheck(o, "name", json_string(r->name));
        }
        if (r->status != NULL) {
            json_object_set_new_nocheck(o, "status", json_string(r->status));
        }
        if (r->has_duration) {
            json_object_set_new_nocheck(o, "duration_ms", json_real(r->duration_ms));
        }
        if (r->has_bytes) {
            json_object_set_new_nocheck(o, "bytes", json_integer(r->bytes));
        }
        if (r->has_value) {
            json_object_set_new_nocheck(o, "value", json_real(r->value));
        }
        if (r->error != NULL) {
            json_object_set_new_nocheck(o, "error", json_string(r->error));
        }
        if (r->attrs_json != NULL) {
            json_error_t je;
            json_t *a = json_loadb(r->attrs_json, strlen(r->attrs_json), 0, &je);
            if (a == NULL) {
                json_decref(o);
                return -1;
            }
            json_object_set_new_nocheck(o, "attrs", a);
        }
        char *s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (s == NULL) {
            return -1;
        }
        size_t len = strlen(s);
        if (emit != NULL) {
            emit(ctx, i, s, len);
        }
        sum->bytes += len;
        sum->events++;
        free(s);
    }
    return 0;
}

const bench_printer print_jansson = {"jansson", serialize};

/* --- output checker -------------------------------------------------------------------------- */

/* Equal as JSON values, with numbers compared by value: printers differ on whether 12.0
 * comes out as 12 or 12.0, which is not a difference a reader can see. */
static bool same_value(json_t *a, json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        return json_number_value(a) == json_number_value(b);
    }
    if (json_is_object(a) && json_is_object(b)) {
        const char *key;
        json_t *va;
        if (json_object_size(a) != json_object_size(b)) {
            return false;
        }
        json_object_foreach(a, key, va)
        {
            json_t *vb = json_object_get(b, key);
            if (vb == NULL || !same_value(va, vb)) {
                return false;
            }
        }
        return true;
    }
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b)) {
            return false;
        }
        for (size_t i = 0; i < json_array_size(a); i++) {
            if (!same_value(json_array_get(a, i), json_array_get(b, i))) {
                return false;
            }
        }
        return true;
    }
    return json_equal(a, b);
}

static bool str_is(json_t *o, const char *key, const char *want, size_t *nkeys)
{
    json_t *v = json_object_get(o, key);
    if (want == NULL) {
        return v == NULL;
    }
    (*nkeys)++;
    return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

static bool num_is(json_t *o, const char *key, bool present, double want, size_t *nkeys)
{
    json_t *v = json_object_get(o, key);
    if (!present) {
        return v == NULL;
    }
    (*nkeys)++;
    return json_is_number(v) && json_number_value(v) == want;
}

int jansson_check_event(const char *json, size_t len, const row *r, char err[256])
{
    int rc = -1;
    size_t nkeys = 0;
    json_error_t je;
    json_t *want_attrs = NULL;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (o == NULL || !json_is_object(o)) {
        snprintf(err, 256, "output is not a JSON object: %s", o == NULL ? je.text : "");
        goto Exit;
    }
    bool ok = num_is(o, "seq", true, (double)r->seq, &nkeys) && str_is(o, "id", r->id, &nkeys) &&
              str_is(o, "received_at", r->received_at, &nkeys) &&
              str_is(o, "type", r->type, &nkeys) && str_is(o, "source", r->source, &nkeys) &&
              str_is(o, "session_id", r->session_id, &nkeys) &&
              str_is(o, "name", r->name, &nkeys) && str_is(o, "status", r->status, &nkeys) &&
              str_is(o, "error", r->error, &nkeys) &&
              num_is(o, "duration_ms", r->has_duration, r->duration_ms, &nkeys) &&
              num_is(o, "bytes", r->has_bytes, (double)r->bytes, &nkeys) &&
              num_is(o, "value", r->has_value, r->value, &nkeys);
    if (!ok) {
        snprintf(err, 256, "a scalar field differs");
        goto Exit;
    }
    ok = r->ts_str != NULL ? str_is(o, "ts", r->ts_str, &nkeys)
                           : num_is(o, "ts", true, (double)r->ts_ms, &nkeys);
    if (!ok) {
        snprintf(err, 256, "ts differs");
        goto Exit;
    }
    if (r->attrs_json != NULL) {
        want_attrs = json_loads(r->attrs_json, 0, &je);
        json_t *got = json_object_get(o, "attrs");
        if (want_attrs == NULL || got == NULL || !same_value(got, want_attrs)) {
            snprintf(err, 256, "attrs differ");
            goto Exit;
        }
        nkeys++;
    }
    if (json_object_size(o) != nkeys) {
        snprintf(err, 256, "%zu keys, expected %zu", json_object_size(o), nkeys);
        goto Exit;
    }
    rc = 0;
Exit:
    json_decref(o);
    json_decref(want_attrs);
    return rc;
}

/* --- strictness probes --------------------------------------------------------------------- */

static void describe(json_t *v, probe_result *r)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char esc[96];
    cell_escape(esc, sizeof esc, s != NULL ? s : "(print failed)", s != NULL ? strlen(s) : 14);
    free(s);
    size_t o = (size_t)snprintf(r->text, sizeof r->text, "%s", esc);
    json_t *first = json_is_array(v) ? json_array_get(v, 0) : NULL;
    if (json_is_string(first) && o < sizeof r->text) {
        snprintf(r->text + o, sizeof r->text - o, " len=%zu", json_string_length(first));
    } else if (json_is_integer(first) && o < sizeof r->text) {
        snprintf(r->text + o, sizeof r->text - o, " int=%lld",
                 (long long)json_integer_value(first));
    } else if (json_is_real(first) && o < sizeof r->text) {
        snprintf(r->text + o, sizeof r->text - o, " real=%.17g", json_real_value(first));
    }
    json_t *a = json_is_object(v) ? json_object_get(v, "a") : NULL;
    if (a != NULL && o < sizeof r->text) {
        snprintf(r->text + o, sizeof r->text - o, " get(a)=%g", json_number_value(a));
    }
}

static void probe_parse_flags(const char *in, size_t len, probe_result *r, size_t flags)
{
    json_error_t je;
    json_t *v = json_loadb(in, len, flags, &je);
    if (v == NULL) {
        r->accepted = false;
        snprintf(r->text, sizeof r->text, "error: %.140s", je.text);
        return;
    }
    r->accepted = true;
    describe(v, r);
    json_decref(v);
}

static void probe_parse(const char *in, size_t len, probe_result *r)
{
    probe_parse_flags(in, len, r, 0);
}

static void probe_parse_nodup(const char *in, size_t len, probe_result *r)
{
    probe_parse_flags(in, len, r, JSON_REJECT_DUPLICATES);
}

static int accepts(const char *in, size_t len)
{
    json_error_t je;
    json_t *v = json_loadb(in, len, 0, &je);
    int ok = v != NULL;
    json_decref(v);
    return ok;
}

static void print_item(json_t *v, probe_result *r)
{
    if (v == NULL) {
        r->accepted = false;
        snprintf(r->text, sizeof r->text, "refused (constructor returned NULL)");
        return;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    r->accepted = s != NULL;
    cell_escape(r->text, sizeof r->text, s != NULL ? s : "(print failed)",
                s != NULL ? strlen(s) : 14);
    free(s);
    json_decref(v);
}

static void print_string(const char *s, size_t len, probe_result *r)
{
    print_item(json_stringn(s, len), r);
}

static void print_double(double d, probe_result *r)
{
    print_item(json_real(d), r);
}

static void print_int(int64_t v, probe_result *r)
{
    print_item(json_integer(v), r);
}

const probe_lib probe_jansson = {"jansson",    probe_parse,  accepts,
                                 print_string, print_double, print_int};
const probe_lib probe_jansson_nodup = {
    "jansson REJECT_DUPLICATES", probe_parse_nodup, accepts, print_string, print_double, print_int};
