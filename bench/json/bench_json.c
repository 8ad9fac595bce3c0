/* bench_json.c -- how fast cJSON, jansson and json-c parse, validate and print telltale's
 * event mix, measured in interleaved rounds so a noisy shared machine hurts all alike.
 *
 * One run: generate a deterministic ingest body (a JSON array of events with the field mix
 * of DESIGN §2, and the same events as NDJSON), check that every library reads it to the
 * sums the generator knows and that every printer's output reads back to the rows it came
 * from, then time three phases -- parse + validate + walk of the array, the same one event
 * per parse, and build + print one object per event -- in rounds whose order rotates, and
 * report medians and ratios against cJSON measured in the same round.
 *
 *   bench_json [--events N] [--rounds N] [--reps N] [--seed N]
 *   bench_json --only KEY      run one variant once, for valgrind --tool=callgrind
 *   bench_json --list          print the variant keys
 */
#define _POSIX_C_SOURCE 200809L

#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_ROUNDS 101

/* --- small utilities ---------------------------------------------------------------------- */

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_json: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* splitmix64: tiny, seedable, and good enough to pick field values. */
typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint32_t rng_below(rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1p-53;
}

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_reserve(sbuf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) {
        return;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        die("out of memory");
    }
    b->p = p;
    b->cap = cap;
}

static void sb_put(sbuf *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    sb_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Writes 's' as a JSON string: quotes, backslashes and control bytes escaped, UTF-8 as is. */
static void sb_json_string(sbuf *b, const char *s)
{
    sb_reserve(b, strlen(s) * 6 + 2);
    char *o = b->p + b->len;
    *o++ = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            *o++ = '\\';
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            *o++ = '\\';
            break;
        case '\n':
            *o++ = '\\';
            *o++ = 'n';
            break;
        case '\t':
            *o++ = '\\';
            *o++ = 't';
            break;
        case '\r':
            *o++ = '\\';
            *o++ = 'r';
            break;
        default:
            if (*p < 0x20) {
                o += sprintf(o, "\\u%04x", *p);
            } else {
                *o++ = (char)*p;
            }
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
    b->p[b->len] = '\0';
}

/* Shortest of %.15g / %.17g that reads back to the same double, as cJSON does. */
static void fmt_double(char out[32], double d)
{
    snprintf(out, 32, "%.15g", d);
    if (strtod(out, NULL) != d) {
        snprintf(out, 32, "%.17g", d);
    }
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL) {
        die("out of memory");
    }
    return p;
}

/* --- the event mix -------------------------------------------------------------------------- */

static const char *const sources[] = {"websocket", "redis", "supabase", "kimi", "glm"};
static const char *const tools[] = {"read_file",   "write_file", "edit_file", "web_search",
                                    "run_command", "list_dir",   "grep",      "fetch_url",
                                    "query_db",    "search_code"};
static const char *const conn_names[] = {"connect", "disconnect", "reconnect"};
static const char *const metric_names[] = {"queue_depth", "tokens_per_second", "cache_hit_ratio"};
static const char *const models[] = {"kimi-k2", "glm-4.6", "claude-sonnet-4", "gpt-4o-mini"};
static const char *const regions[] = {"eu-west-1", "us-east-1", "ap-southeast-2"};
static const char *const errors[] = {
    "connection reset by peer",
    "timeout after 30000 ms waiting for upstream \"glm-4.6\"",
    "ENOENT: no such file or directory, open '/srv/app/config.json'",
    "rate limited: retry after 12 s",
    "upstream returned 502 Bad Gateway\n<html>\xe2\x80\xa6</html>",
    "\xc3\xa9"
    "chec de la connexion \xc3\xa0 redis://cache:6379 (d\xc3\xa9lai d\xc3\xa9pass\xc3\xa9)",
    "ValueError: invalid literal for int() with base 10: 'abc'\tat line 3",
    "\xe6\x96\xad\xe5\xbc\x80\xe8\xbf\x9e\xe6\x8e\xa5: \xe6\x9c\x8d\xe5\x8a\xa1\xe5\x99\xa8",
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static void uuid_like(rng *r, char out[37])
{
    uint64_t a = rng_next(r), b = rng_next(r);
    snprintf(out, 37, "%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
             a >> 32, (a >> 16) & 0xffff, a & 0xfff, 0x8000 | (b >> 48 & 0x3fff),
             b & 0xffffffffffffu);
}

static void rfc3339(char out[40], int64_t ms, int micro_extra, bool offset)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    if (micro_extra >= 0) {
        snprintf(out + n, 40 - n, ".%03d%03dZ", (int)(ms % 1000), micro_extra);
    } else if (offset) {
        /* The same instant written in +01:00: shift the wall clock by an hour. */
        s += 3600;
        gmtime_r(&s, &tm);
        n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(out + n, 40 - n, ".%03d+01:00", (int)(ms % 1000));
    } else {
        snprintf(out + n, 40 - n, ".%03dZ", (int)(ms % 1000));
    }
}

/* Compact attrs text: 2-6 keys, a quarter with one nested object, some with an array. */
static char *gen_attrs(rng *r)
{
    sbuf b = {0};
    bool used[12] = {false};
    /* 2-6 keys, mostly few: 35% 2, 30% 3, 15% 4, 10% 5, 10% 6. */
    static const unsigned key_counts[20] = {2, 2, 2, 2, 2, 2, 2, 3, 3, 3,
                                            3, 3, 3, 4, 4, 4, 5, 5, 6, 6};
    unsigned nkeys = key_counts[rng_below(r, 20)];
    sb_puts(&b, "{");
    for (unsigned k = 0; k < nkeys; k++) {
        unsigned which;
        do {
            which = rng_below(r, 12);
        } while (used[which]);
        used[which] = true;
        if (k > 0) {
            sb_puts(&b, ",");
        }
        switch (which) {
        case 0:
            sb_printf(&b, "\"model\":\"%s\"", models[rng_below(r, N_OF(models))]);
            break;
        case 1:
            sb_printf(&b, "\"tokens_in\":%u", rng_below(r, 20000));
            break;
        case 2:
            sb_printf(&b, "\"tokens_out\":%u", rng_below(r, 4000));
            break;
        case 3:
            sb_printf(&b, "\"temperature\":%s", rng_below(r, 2) ? "0.7" : "0.2");
            break;
        case 4:
            sb_printf(&b, "\"cached\":%s", rng_below(r, 2) ? "true" : "false");
            break;
        case 5:
            sb_printf(&b, "\"retry\":%u", rng_below(r, 4));
            break;
        case 6:
            sb_printf(&b, "\"path\":\"/srv/app/src/module_%u.c\"", rng_below(r, 500));
            break;
        case 7:
            sb_printf(&b, "\"http_status\":%u", rng_below(r, 10) ? 200u : 500u);
            break;
        case 8:
            sb_printf(&b, "\"region\":\"%s\"", regions[rng_below(r, N_OF(regions))]);
            break;
        case 9:
            sb_printf(&b, "\"cost_usd\":0.%04u", 1 + rng_below(r, 9998));
            break;
        case 10:
            if (rng_below(r, 4) == 0) {
                sb_printf(&b, "\"usage\":{\"prompt_tokens\":%u,\"completion_tokens\":%u}",
                          rng_below(r, 9000), rng_below(r, 2000));
            } else {
                sb_printf(&b, "\"trace_id\":\"%016" PRIx64 "\"", rng_next(r));
            }
            break;
        default:
            if (rng_below(r, 3) == 0) {
                sb_printf(&b, "\"client\":{\"name\":\"claude-code\",\"version\":\"1.0.%u\"}",
                          rng_below(r, 90));
            } else {
                sb_puts(&b, "\"tags\":[\"prod\",\"canary\"]");
            }
        }
    }
    sb_puts(&b, "}");
    return b.p;
}

static void gen_row(rng *r, size_t i, row *e)
{
    static const int64_t base_ms = 1764340452000; /* 2025-11-28T14:34:12Z */
    char tmp[64];
    memset(e, 0, sizeof *e);
    int64_t now_ms = base_ms + (int64_t)i * 37;
    e->seq = 1000000 + (int64_t)i;
    rfc3339(tmp, now_ms + 3, (int)rng_below(r, 1000), false);
    e->received_at = xstrdup(tmp);
    uuid_like(r, tmp);
    e->id = xstrdup(tmp);
    e->id_in_body = rng_below(r, 2) == 0;

    unsigned t = rng_below(r, 100);
    e->type = t < 70   ? "tool_call"
              : t < 78 ? "connection"
              : t < 83 ? "session_start"
              : t < 88 ? "session_end"
              : t < 95 ? "error"
                       : "metric";
    unsigned p = rng_below(r, 100);
    e->has_ts = p < 95;
    if (p < 60) {
        rfc3339(tmp, now_ms, -1, p < 6);
        e->ts_str = xstrdup(tmp);
    } else {
        e->ts_ms = now_ms; /* epoch ms in the body, or the server's time when absent */
    }
    if (rng_below(r, 100) < 97) {
        e->source = sources[rng_below(r, N_OF(sources))];
    }
    if (rng_below(r, 100) < 95) {
        snprintf(tmp, sizeof tmp, "sess_%012" PRIx64,
                 ((uint64_t)rng_below(r, 64) * 0x9e3779b97f4a7cu) & 0xffffffffffffu);
        e->session_id = xstrdup(tmp);
    }
    bool timed = false;
    if (strcmp(e->type, "tool_call") == 0) {
        e->name = tools[rng_below(r, N_OF(tools))];
        unsigned s = rng_below(r, 100);
        e->status = s < 85 ? "ok" : s < 93 ? "error" : s < 97 ? "timeout" : "cancelled";
        timed = true;
    } else if (strcmp(e->type, "connection") == 0) {
        e->name = conn_names[rng_below(r, N_OF(conn_names))];
        e->status = rng_below(r, 10) ? "ok" : "closed";
        timed = true;
    } else if (strcmp(e->type, "session_end") == 0) {
        e->status = "ok";
        timed = true;
    } else if (strcmp(e->type, "error") == 0) {
        e->name = tools[rng_below(r, N_OF(tools))];
        e->status = "error";
    } else if (strcmp(e->type, "metric") == 0) {
        e->name = metric_names[rng_below(r, N_OF(metric_names))];
        e->has_value = true;
        e->value = (double)rng_below(r, 1000000) / 100.0;
    }
    if (timed) {
        e->has_duration = true;
        double x = rng_unit(r);
        int64_t us = (int64_t)(x * x * x * 5e6) + 1;
        if (rng_below(r, 100) < 15) {
            e->duration_is_int = true;
            e->duration_ms = (double)(us / 1000);
        } else {
            e->duration_ms = (double)us / 1000.0;
        }
        if (rng_below(r, 100) < 80) {
            e->has_bytes = true;
            e->bytes = (int64_t)rng_below(r, 1u << (4 + rng_below(r, 17)));
        }
    }
    if (e->status != NULL && strcmp(e->status, "ok") != 0 && strcmp(e->status, "closed") != 0) {
        e->error = errors[rng_below(r, N_OF(errors))];
    }
    if (rng_below(r, 100) < 85) {
        e->attrs_json = gen_attrs(r);
    }
}

/* Writes the event as a producer would send it. */
static void write_event(sbuf *b, const row *e)
{
    sb_puts(b, "{\"type\":");
    sb_json_string(b, e->type);
    if (e->id_in_body) {
        sb_puts(b, ",\"id\":");
        sb_json_string(b, e->id);
    }
    if (e->has_ts && e->ts_str != NULL) {
        sb_puts(b, ",\"ts\":");
        sb_json_string(b, e->ts_str);
    } else if (e->has_ts) {
        sb_printf(b, ",\"ts\":%" PRId64, e->ts_ms);
    }
    const char *keys[] = {"source", "session_id", "name", "status"};
    const char *vals[] = {e->source, e->session_id, e->name, e->status};
    for (size_t k = 0; k < 4; k++) {
        if (vals[k] != NULL) {
            sb_printf(b, ",\"%s\":", keys[k]);
            sb_json_string(b, vals[k]);
        }
    }
    if (e->has_duration && e->duration_is_int) {
        sb_printf(b, ",\"duration_ms\":%" PRId64, (int64_t)e->duration_ms);
    } else if (e->has_duration) {
        int64_t us = (int64_t)(e->duration_ms * 1000.0 + 0.5);
        sb_printf(b, ",\"duration_ms\":%" PRId64 ".%03" PRId64, us / 1000, us % 1000);
    }
    if (e->has_bytes) {
        sb_printf(b, ",\"bytes\":%" PRId64, e->bytes);
    }
    if (e->has_value) {
        int64_t c = (int64_t)(e->value * 100.0 + 0.5);
        sb_printf(b, ",\"value\":%" PRId64 ".%02" PRId64, c / 100, c % 100);
    }
    if (e->error != NULL) {
        sb_puts(b, ",\"error\":");
        sb_json_string(b, e->error);
    }
    if (e->attrs_json != NULL) {
        sb_puts(b, ",\"attrs\":");
        sb_puts(b, e->attrs_json);
    }
    sb_puts(b, "}");
}

/* What a correct validator must add up over the body, in the order the adapters add. */
static walk_sum expected_sum(const row *rows, size_t n)
{
    walk_sum s = {0};
    for (size_t i = 0; i < n; i++) {
        const row *e = &rows[i];
        const char *strs[] = {e->id_in_body ? e->id : NULL,
                              e->type,
                              e->source,
                              e->session_id,
                              e->name,
                              e->status,
                              e->error,
                              e->has_ts ? e->ts_str : NULL};
        for (size_t k = 0; k < N_OF(strs); k++) {
            if (strs[k] != NULL) {
                s.str_bytes += strlen(strs[k]);
                s.str_fields++;
            }
        }
        if (e->has_ts && e->ts_str == NULL) {
            s.int_sum += e->ts_ms;
        }
        if (e->has_duration) {
            s.dbl_sum += e->duration_ms;
        }
        if (e->has_bytes) {
            s.int_sum += e->bytes;
        }
        if (e->has_value) {
            s.dbl_sum += e->value;
        }
        s.attrs += e->attrs_json != NULL;
        s.events++;
    }
    return s;
}

static void free_rows(row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* Only these were allocated; the other strings point into static tables. */
        free((char *)rows[i].received_at);
        free((char *)rows[i].id);
        free((char *)rows[i].ts_str);
        free((char *)rows[i].session_id);
        free((char *)rows[i].attrs_json);
    }
    free(rows);
}

/* --- baselines ------------------------------------------------------------------------------ */

/* The least any parser must do: touch every byte once. */
static int count_quotes(const char *body, size_t len, walk_sum *sum, char err[256])
{
    (void)err;
    uint64_t q = 0;
    for (size_t i = 0; i < len; i++) {
        q += body[i] == '"';
    }
    sum->str_fields = q;
    return 0;
}

static size_t no_tree(const char *body, size_t len)
{
    (void)body;
    (void)len;
    return 0;
}

static const bench_lib lib_quotes = {"baseline: count quotes", count_quotes, no_tree, false, NULL};

static void put_str_field(sbuf *b, const char *key, const char *val)
{
    if (val != NULL) {
        sb_puts(b, key);
        sb_json_string(b, val);
    }
}

static void put_num_field(sbuf *b, const char *key, bool present, double val)
{
    if (present) {
        char num[32];
        fmt_double(num, val);
        sb_puts(b, key);
        sb_puts(b, num);
    }
}

/* The least any printer must do: a hand-written writer into one reused buffer, no tree. */
static int print_by_hand(const row *rows, size_t n, ser_sum *sum, emit_fn emit, void *ctx)
{
    sbuf b = {0};
    for (size_t i = 0; i < n; i++) {
        const row *r = &rows[i];
        b.len = 0;
        sb_printf(&b, "{\"seq\":%" PRId64, r->seq);
        put_str_field(&b, ",\"id\":", r->id);
        if (r->ts_str != NULL) {
            put_str_field(&b, ",\"ts\":", r->ts_str);
        } else {
            sb_printf(&b, ",\"ts\":%" PRId64, r->ts_ms);
        }
        put_str_field(&b, ",\"received_at\":", r->received_at);
        put_str_field(&b, ",\"type\":", r->type);
        put_str_field(&b, ",\"source\":", r->source);
        put_str_field(&b, ",\"session_id\":", r->session_id);
        put_str_field(&b, ",\"name\":", r->name);
        put_str_field(&b, ",\"status\":", r->status);
        put_num_field(&b, ",\"duration_ms\":", r->has_duration, r->duration_ms);
        if (r->has_bytes) {
            sb_printf(&b, ",\"bytes\":%" PRId64, r->bytes);
        }
        put_num_field(&b, ",\"value\":", r->has_value, r->value);
        put_str_field(&b, ",\"error\":", r->error);
        if (r->attrs_json != NULL) {
            sb_puts(&b, ",\"attrs\":");
            sb_puts(&b, r->attrs_json);
        }
        sb_puts(&b, "}");
        if (emit != NULL) {
            emit(ctx, i, b.p, b.len);
        }
        sum->bytes += b.len;
        sum->events++;
    }
    free(b.p);
    return 0;
}

static const bench_printer print_hand = {"baseline: hand-written", print_by_hand};

/* --- variants ------------------------------------------------------------------------------- */

typedef struct variant {
    const char *key; /* for --only */
    const bench_lib *lib;
    const bench_printer *printer;
    bool ndjson; /* parse the NDJSON body line by line with lib->parse_walk_one */
} variant;

/* cJSON first in each phase: it is the reference for the ratios. */
static const variant parse_variants[] = {
    {"cjson", &lib_cjson, NULL, false},
    {"cjson-checked", &lib_cjson_checked, NULL, false},
    {"jansson", &lib_jansson, NULL, false},
    {"jansson-nodup", &lib_jansson_nodup, NULL, false},
    {"jsonc", &lib_jsonc, NULL, false},
    {"jsonc-strict", &lib_jsonc_strict, NULL, false},
    {"cjson-parse", &lib_cjson_parse, NULL, false},
    {"jansson-parse", &lib_jansson_parse, NULL, false},
    {"jsonc-parse", &lib_jsonc_parse, NULL, false},
    {"quotes", &lib_quotes, NULL, false},
};
static const variant nd_variants[] = {
    {"nd-cjson", &lib_cjson, NULL, true},     {"nd-cjson-checked", &lib_cjson_checked, NULL, true},
    {"nd-jansson", &lib_jansson, NULL, true}, {"nd-jansson-nodup", &lib_jansson_nodup, NULL, true},
    {"nd-jsonc", &lib_jsonc, NULL, true},     {"nd-jsonc-strict", &lib_jsonc_strict, NULL, true},
};
static const variant print_variants[] = {
    {"print-cjson", NULL, &print_cjson, false},
    {"print-cjson-raw", NULL, &print_cjson_raw, false},
    {"print-jansson", NULL, &print_jansson, false},
    {"print-jsonc", NULL, &print_jsonc, false},
    {"print-hand", NULL, &print_hand, false},
};
#define N_PARSE N_OF(parse_variants)
#define N_PRINT N_OF(print_variants)
#define N_ND N_OF(nd_variants)

typedef struct input {
    const char *body; /* JSON array of all events */
    size_t len;
    const char *nd; /* the same events, one per line (NDJSON) */
    size_t nd_len;
    const row *rows;
    size_t n;
} input;

/* Parses and walks each line of 'nd' separately. */
static int walk_lines(const bench_lib *lib, const char *nd, size_t len, walk_sum *sum,
                      char err[256])
{
    const char *p = nd, *end = nd + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        if (lib->parse_walk_one(p, n, sum, err) != 0) {
            return -1;
        }
        p += n + 1;
    }
    return 0;
}

/* One pass of one variant. Kept out of line so callgrind can count exactly this call
 * (valgrind --toggle-collect=run_variant_once). */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
int run_variant_once(const variant *v, const input *in, uint64_t *out_bytes);

int run_variant_once(const variant *v, const input *in, uint64_t *out_bytes)
{
    char err[256] = "";
    if (v->ndjson) {
        walk_sum s = {0};
        if (walk_lines(v->lib, in->nd, in->nd_len, &s, err) != 0) {
            fprintf(stderr, "bench_json: %s, NDJSON: %s\n", v->lib->name, err);
            return -1;
        }
        *out_bytes = s.str_fields;
        return 0;
    }
    if (v->lib != NULL) {
        walk_sum s = {0};
        if (v->lib->parse_walk(in->body, in->len, &s, err) != 0) {
            fprintf(stderr, "bench_json: %s: %s\n", v->lib->name, err);
            return -1;
        }
        *out_bytes = s.str_fields; /* keeps the work observable */
        return 0;
    }
    ser_sum s = {0};
    if (v->printer->serialize(in->rows, in->n, &s, NULL, NULL) != 0) {
        fprintf(stderr, "bench_json: %s: serialize failed\n", v->printer->name);
        return -1;
    }
    *out_bytes = s.bytes;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Seconds per pass: 'reps' passes timed together. */
static double time_variant(const variant *v, const input *in, int reps)
{
    uint64_t sink = 0;
    double t0 = now_s();
    for (int k = 0; k < reps; k++) {
        uint64_t b = 0;
        if (run_variant_once(v, in, &b) != 0) {
            exit(1);
        }
        sink += b;
    }
    double t = (now_s() - t0) / reps;
    if (sink == 0) {
        die("%s produced nothing", v->key);
    }
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *xs, int n)
{
    double tmp[MAX_ROUNDS];
    memcpy(tmp, xs, (size_t)n * sizeof *xs);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_double);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* --- verification ------------------------------------------------------------------------- */

typedef struct check_ctx {
    const row *rows;
    const char *name;
    int failures;
} check_ctx;

static void check_emitted(void *ctx, size_t index, const char *json, size_t len)
{
    check_ctx *c = ctx;
    char err[256];
    if (jansson_check_event(json, len, &c->rows[index], err) != 0) {
        if (c->failures++ < 3) {
            fprintf(stderr, "bench_json: %s event %zu: %s\n  %.*s\n", c->name, index, err, (int)len,
                    json);
        }
    }
}

/* Every library must read the body to the sums the generator knows, and every printer's
 * output must read back to its rows: a fast wrong answer is not a result. */
static void verify(const input *in, uint64_t out_bytes[N_PRINT])
{
    walk_sum want = expected_sum(in->rows, in->n);
    printf("\n## Check (untimed)\n\n");
    printf(
        "| variant | events | strings | attrs re-serialized, bytes | parsed tree, heap bytes |\n");
    printf("|---|---:|---:|---:|---:|\n");
    for (size_t v = 0; v < N_PARSE; v++) {
        const bench_lib *lib = parse_variants[v].lib;
        if (!lib->walks) {
            continue;
        }
        walk_sum got = {0};
        char err[256] = "";
        if (lib->parse_walk(in->body, in->len, &got, err) != 0) {
            die("%s rejected the body: %s", lib->name, err);
        }
        if (got.events != want.events || got.str_bytes != want.str_bytes ||
            got.str_fields != want.str_fields || got.int_sum != want.int_sum ||
            got.dbl_sum != want.dbl_sum || got.attrs != want.attrs) {
            die("%s read the body wrong: events %" PRIu64 "/%" PRIu64 ", string bytes %" PRIu64
                "/%" PRIu64 ", ints %" PRId64 "/%" PRId64 ", doubles %.17g/%.17g",
                lib->name, got.events, want.events, got.str_bytes, want.str_bytes, got.int_sum,
                want.int_sum, got.dbl_sum, want.dbl_sum);
        }
        printf("| %s | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " | %zu |\n", lib->name, got.events,
               got.str_fields, got.attrs_bytes, lib->tree_bytes(in->body, in->len));
    }
    for (size_t v = 0; v < N_ND; v++) {
        walk_sum got = {0};
        char err[256] = "";
        const bench_lib *lib = nd_variants[v].lib;
        if (walk_lines(lib, in->nd, in->nd_len, &got, err) != 0) {
            die("%s rejected an NDJSON line: %s", lib->name, err);
        }
        if (got.events != want.events || got.str_bytes != want.str_bytes ||
            got.int_sum != want.int_sum || got.dbl_sum != want.dbl_sum || got.attrs != want.attrs) {
            die("%s read the NDJSON body wrong", lib->name);
        }
    }
    printf("\nAll libraries read identical events, strings, integers and doubles, from the "
           "array and from the NDJSON body.\n\n");
    printf("| printer | output bytes | bytes/event | read back |\n|---|---:|---:|---|\n");
    for (size_t v = 0; v < N_PRINT; v++) {
        const bench_printer *p = print_variants[v].printer;
        check_ctx c = {in->rows, p->name, 0};
        ser_sum s = {0};
        if (p->serialize(in->rows, in->n, &s, check_emitted, &c) != 0 || c.failures != 0 ||
            s.events != in->n) {
            die("%s: output does not read back (%d bad events)", p->name, c.failures);
        }
        out_bytes[v] = s.bytes;
        printf("| %s | %" PRIu64 " | %.1f | all %zu events equal their rows |\n", p->name, s.bytes,
               (double)s.bytes / (double)in->n, in->n);
    }
}

/* --- report --------------------------------------------------------------------------------- */

static void report(const char *title, const variant *vs, size_t nv, double t[][MAX_ROUNDS],
                   int rounds, const uint64_t *bytes, size_t events)
{
    printf("\n## %s\n\n", title);
    printf("| variant | median ms/pass | spread | events/s | MB/s | x cJSON | x cJSON range |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|\n");
    for (size_t v = 0; v < nv; v++) {
        double ratio[MAX_ROUNDS];
        for (int r = 0; r < rounds; r++) {
            ratio[r] = t[0][r] / t[v][r]; /* same round: same machine weather */
        }
        double med = median(t[v], rounds), lo = t[v][0], hi = t[v][0];
        for (int r = 1; r < rounds; r++) {
            lo = t[v][r] < lo ? t[v][r] : lo;
            hi = t[v][r] > hi ? t[v][r] : hi;
        }
        double rlo = ratio[0], rhi = ratio[0];
        for (int r = 1; r < rounds; r++) {
            rlo = ratio[r] < rlo ? ratio[r] : rlo;
            rhi = ratio[r] > rhi ? ratio[r] : rhi;
        }
        const char *name = vs[v].lib != NULL ? vs[v].lib->name : vs[v].printer->name;
        printf("| %s | %.2f | %.0f%% | %.0f | %.1f | %.2f | %.2f-%.2f |\n", name, med * 1e3,
               100.0 * (hi - lo) / med, (double)events / med, (double)bytes[v] / med / 1e6,
               median(ratio, rounds), rlo, rhi);
    }
}

int main(int argc, char **argv)
{
    size_t events = 5000;
    int rounds = 9, reps = 6;
    uint64_t seed = 20251128;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--list") == 0) {
            for (size_t v = 0; v < N_PARSE; v++) {
                printf("%s\n", parse_variants[v].key);
            }
            for (size_t v = 0; v < N_PRINT; v++) {
                printf("%s\n", print_variants[v].key);
            }
            for (size_t v = 0; v < N_ND; v++) {
                printf("%s\n", nd_variants[v].key);
            }
            return 0;
        }
        if (val == NULL) {
            die("usage: bench_json [--events N] [--rounds N] [--reps N] [--seed N] [--only KEY] "
                "[--list]");
        }
        i++;
        if (strcmp(a, "--events") == 0) {
            events = strtoul(val, NULL, 10);
        } else if (strcmp(a, "--rounds") == 0) {
            rounds = atoi(val);
        } else if (strcmp(a, "--reps") == 0) {
            reps = atoi(val);
        } else if (strcmp(a, "--seed") == 0) {
            seed = strtoull(val, NULL, 10);
        } else if (strcmp(a, "--only") == 0) {
            only = val;
        } else {
            die("unknown option %s", a);
        }
    }
    if (events == 0 || rounds < 1 || rounds > MAX_ROUNDS || reps < 1) {
        die("bad --events, --rounds (1..%d) or --reps", MAX_ROUNDS);
    }

    rng r = {seed};
    row *rows = calloc(events, sizeof *rows);
    if (rows == NULL) {
        die("out of memory");
    }
    sbuf body = {0}, nd = {0};
    sb_puts(&body, "[");
    for (size_t i = 0; i < events; i++) {
        gen_row(&r, i, &rows[i]);
        if (i > 0) {
            sb_puts(&body, ",");
        }
        size_t start = body.len;
        write_event(&body, &rows[i]);
        sb_put(&nd, body.p + start, body.len - start);
        sb_puts(&nd, "\n");
    }
    sb_puts(&body, "]");
    input in = {body.p, body.len, nd.p, nd.len, rows, events};

    if (only != NULL) {
        const variant *v = NULL;
        for (size_t k = 0; k < N_PARSE; k++) {
            v = strcmp(parse_variants[k].key, only) == 0 ? &parse_variants[k] : v;
        }
        for (size_t k = 0; k < N_PRINT; k++) {
            v = strcmp(print_variants[k].key, only) == 0 ? &print_variants[k] : v;
        }
        for (size_t k = 0; k < N_ND; k++) {
            v = strcmp(nd_variants[k].key, only) == 0 ? &nd_variants[k] : v;
        }
        if (v == NULL) {
            die("no variant '%s' (see --list)", only);
        }
        uint64_t b = 0;
        int rc = run_variant_once(v, &in, &b);
        free(body.p);
        free(nd.p);
        free_rows(rows, events);
        return rc == 0 ? 0 : 1;
    }

    size_t counts[6] = {0}, with_id = 0, ts_str = 0, ts_num = 0, with_attrs = 0, nested = 0,
           with_error = 0;
    for (size_t i = 0; i < events; i++) {
        const row *e = &rows[i];
        static const char *const types[] = {"tool_call",   "connection", "session_start",
                                            "session_end", "error",      "metric"};
        for (size_t k = 0; k < 6; k++) {
            counts[k] += strcmp(e->type, types[k]) == 0;
        }
        with_id += e->id_in_body;
        ts_str += e->has_ts && e->ts_str != NULL;
        ts_num += e->has_ts && e->ts_str == NULL;
        with_attrs += e->attrs_json != NULL;
        nested += e->attrs_json != NULL && strchr(e->attrs_json + 1, '{') != NULL;
        with_error += e->error != NULL;
    }
    printf("# JSON libraries on telltale's event mix\n\n");
    printf("cJSON %s, jansson %s, json-c %s; %d rounds x %d passes, order rotated each round\n\n",
           cjson_version(), jansson_version(), jsonc_version(), rounds, reps);
    printf("body: %zu events, %zu bytes (%.2f MiB), %.0f bytes/event, seed %" PRIu64 "\n", events,
           body.len, (double)body.len / 1048576.0, (double)body.len / (double)events, seed);
    printf("mix: tool_call %zu, connection %zu, session_start %zu, session_end %zu, error %zu, "
           "metric %zu; id %zu, ts string %zu / number %zu, error text %zu, attrs %zu "
           "(nested %zu)\n",
           counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], with_id, ts_str,
           ts_num, with_error, with_attrs, nested);
    printf("first event: %.*s\n", (int)(strchr(body.p, '}') - body.p + 1), body.p + 1);

    uint64_t print_bytes[N_PRINT];
    verify(&in, print_bytes);

    static double tp[N_PARSE][MAX_ROUNDS], ts[N_PRINT][MAX_ROUNDS], tn[N_ND][MAX_ROUNDS];
    for (int round = 0; round < rounds; round++) {
        for (size_t k = 0; k < N_PARSE; k++) {
            size_t v = (k + (size_t)round) % N_PARSE;
            tp[v][round] = time_variant(&parse_variants[v], &in, reps);
        }
        for (size_t k = 0; k < N_PRINT; k++) {
            size_t v = (k + (size_t)round) % N_PRINT;
            ts[v][round] = time_variant(&print_variants[v], &in, reps);
        }
        for (size_t k = 0; k < N_ND; k++) {
            size_t v = (k + (size_t)round) % N_ND;
            tn[v][round] = time_variant(&nd_variants[v], &in, reps);
        }
    }

    uint64_t parse_bytes[N_PARSE];
    for (size_t v = 0; v < N_PARSE; v++) {
        parse_bytes[v] = body.len;
    }
    report("Parse + validate + walk (input MB/s)", parse_variants, N_PARSE, tp, rounds, parse_bytes,
           events);
    uint64_t nd_bytes[N_ND];
    for (size_t v = 0; v < N_ND; v++) {
        nd_bytes[v] = nd.len;
    }
    report("Parse + validate + walk, one event per parse (NDJSON lines, WebSocket messages)",
           nd_variants, N_ND, tn, rounds, nd_bytes, events);
    report("Build + print one object per event (output MB/s)", print_variants, N_PRINT, ts, rounds,
           print_bytes, events);
    printf("\nspread = (slowest - fastest round) / median; x cJSON = median over rounds of "
           "(cJSON time / variant time) in the same round, > 1 is faster than cJSON.\n");

    free(body.p);
    free(nd.p);
    free_rows(rows, events);
    return 0;
}
