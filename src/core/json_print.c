/* json_print.c -- a compact, exact JSON writer over cJSON trees. */
#include "core/json_print.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(json_buf *o, size_t more)
{
    if (o->oom) {
        return false;
    }
    if (o->len + more + 1 <= o->cap) {
        return true;
    }
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->len + more + 1) {
        cap *= 2;
    }
    char *grown = realloc(o->buf, cap);
    if (grown == NULL) {
        o->oom = true;
        return false;
    }
    o->buf = grown;
    o->cap = cap;
    return true;
}

void json_put_raw(json_buf *o, const char *s, size_t n)
{
    if (reserve(o, n)) {
        memcpy(o->buf + o->len, s, n);
        o->len += n;
        o->buf[o->len] = '\0';
    }
}

void json_put_string(json_buf *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    json_put_raw(o, "\"", 1);
    const char *run = s; /* bytes that need no escaping are copied in runs */
    for (const char *p = s;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c != '\0' && c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        json_put_raw(o, run, (size_t)(p - run));
        run = p + 1;
        if (c == '\0') {
            break;
        }
        char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"':
        case '\\':
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
            n = 6;
            break;
        }
        json_put_raw(o, esc, n);
    }
    json_put_raw(o, "\"", 1);
}

/* The shortest of %.15g/%.16g/%.17g that reads back to 'd'; integers in full. */
void json_put_number(json_buf *o, double d)
{
    char num[40];
    int n;
    if (!isfinite(d)) {
        n = snprintf(num, sizeof num, "null"); /* JSON has no such numbers; never stored */
    } else if (d == floor(d) && fabs(d) < 1e17) {
        n = snprintf(num, sizeof num, "%.0f", d);
    } else {
        n = 0;
        for (int digits = 15; digits <= 17; digits++) {
            n = snprintf(num, sizeof num, "%.*g", digits, d);
            if (strtod(num, NULL) == d) {
                break;
            }
        }
    }
    json_put_raw(o, num, (size_t)n);
}

static void put_node(json_buf *o, const cJSON *node);

static void put_children(json_buf *o, const cJSON *node, bool keys)
{
    json_put_raw(o, keys ? "{" : "[", 1);
    for (const cJSON *c = node->child; c != NULL; c = c->next) {
        if (c != node->child) {
            json_put_raw(o, ",", 1);
        }
        if (keys) {
            json_put_string(o, c->string != NULL ? c->string : "");
            json_put_raw(o, ":", 1);
        }
        put_node(o, c);
    }
    json_put_raw(o, keys ? "}" : "]", 1);
}

static void put_node(json_buf *o, const cJSON *node)
{
    switch (node->type & 0xff) {
    case cJSON_False:
        json_put_raw(o, "false", 5);
        break;
    case cJSON_True:
        json_put_raw(o, "true", 4);
        break;
    case cJSON_NULL:
        json_put_raw(o, "null", 4);
        break;
    case cJSON_Number:
        json_put_number(o, node->valuedouble);
        break;
    case cJSON_String:
        json_put_string(o, node->valuestring);
        break;
    case cJSON_Raw:
        json_put_raw(o, node->valuestring, strlen(node->valuestring));
        break;
    case cJSON_Array:
        put_children(o, node, false);
        break;
    case cJSON_Object:
        put_children(o, node, true);
        break;
    default:
        json_put_raw(o, "null", 4);
        break;
    }
}

void json_print_to(json_buf *out, const cJSON *node)
{
    if (node != NULL) {
        put_node(out, node);
    }
    reserve(out, 0); /* so that even nothing is a NUL-terminated string */
    if (!out->oom && out->len == 0) {
        out->buf[0] = '\0';
    }
}

char *json_print(const cJSON *node, size_t *len)
{
    json_buf out = {0};
    json_print_to(&out, node);
    if (out.oom) {
        free(out.buf);
        return NULL;
    }
    if (len != NULL) {
        *len = out.len;
    }
    return out.buf;
}

char *json_print_delete(cJSON *node, size_t *len)
{
    char *text = json_print(node, len);
    cJSON_Delete(node);
    return text;
}

/* ---- the structured writer ---- */

void json_put_int64(json_buf *o, int64_t v)
{
    char text[24];
    int n = snprintf(text, sizeof text, "%" PRId64, v);
    json_put_raw(o, text, (size_t)n);
}

cJSON *json_create_int64(int64_t v)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRId64, v);
    return cJSON_CreateRaw(text);
}

/* Before a value or a key: the comma that separates it from the one before. */
static void separate(json_writer *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0 && w->has_items[w->depth - 1]) {
        json_put_raw(&w->out, ",", 1);
    }
    if (w->depth > 0) {
        w->has_items[w->depth - 1] = true;
    }
}

static void open_level(json_writer *w, const char *bracket)
{
    separate(w);
    if (w->depth == JSON_WRITER_DEPTH) {
        w->out.oom = true; /* deeper than any document telltale writes: a bug, reported so */
        return;
    }
    json_put_raw(&w->out, bracket, 1);
    w->has_items[w->depth++] = false;
}

static void close_level(json_writer *w, const char *bracket)
{
    if (w->depth > 0) {
        w->depth--;
    }
    json_put_raw(&w->out, bracket, 1);
}

void json_open_object(json_writer *w)
{
    open_level(w, "{");
}

void json_close_object(json_writer *w)
{
    close_level(w, "}");
}

void json_open_array(json_writer *w)
{
    open_level(w, "[");
}

void json_close_array(json_writer *w)
{
    close_level(w, "]");
}

void json_key(json_writer *w, const char *name)
{
    separate(w);
    json_put_string(&w->out, name);
    json_put_raw(&w->out, ":", 1);
    w->after_key = true;
}

void json_string(json_writer *w, const char *s)
{
    separate(w);
    if (s == NULL) {
        json_put_raw(&w->out, "null", 4);
    } else {
        json_put_string(&w->out, s);
    }
}

void json_number(json_writer *w, double d)
{
    separate(w);
    json_put_number(&w->out, d);
}

void json_bool(json_writer *w, bool b)
{
    separate(w);
    json_put_raw(&w->out, b ? "true" : "false", b ? 4 : 5);
}

void json_null(json_writer *w)
{
    separate(w);
    json_put_raw(&w->out, "null", 4);
}

void json_raw_value(json_writer *w, const char *json, size_t len)
{
    separate(w);
    json_put_raw(&w->out, json, len);
}

void json_member_string(json_writer *w, const char *name, const char *s)
{
    json_key(w, name);
    json_string(w, s);
}

void json_member_number(json_writer *w, const char *name, double d)
{
    json_key(w, name);
    json_number(w, d);
}

void json_int64(json_writer *w, int64_t v)
{
    separate(w);
    json_put_int64(&w->out, v);
}

void json_member_int64(json_writer *w, const char *name, int64_t v)
{
    json_key(w, name);
    json_int64(w, v);
}

void json_member_bool(json_writer *w, const char *name, bool b)
{
    json_key(w, name);
    json_bool(w, b);
}
