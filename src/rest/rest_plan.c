/* rest_plan.c -- PostgREST's query grammar, the subset supabase-js uses for reads:
 * select=a,b | *, col=op.value (eq neq gt gte lt lte), order=a.desc.nullslast,b, limit, offset;
 * and the Prefer, Accept and profile headers. Messages and codes are PostgREST's, so that a
 * client written against Supabase reads telltale's errors the same way. */
#include "rest/rest_plan.h"

#include "core/timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OPERATORS "telltale's /rest/v1 supports the operators eq, neq, gt, gte, lt and lte"

bool rest_fail(rest_error *e, int status, const char *code, const char *fmt, ...)
{
    e->status = status;
    e->code = code;
    e->details[0] = e->hint[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return false;
}

static bool fail_with_details(rest_error *e, int status, const char *code, const char *message,
                              const char *details)
{
    rest_fail(e, status, code, "%s", message);
    snprintf(e->details, sizeof e->details, "%s", details);
    return false;
}

/* A token of a comma-separated header, spaces trimmed: [*start, *start + *len). Returns false
 * at the end. */
static bool next_token(const char **cursor, const char **start, size_t *len)
{
    const char *p = *cursor;
    while (*p == ' ' || *p == '\t' || *p == ',') {
        p++;
    }
    if (*p == '\0') {
        return false;
    }
    size_t n = strcspn(p, ",");
    *start = p;
    *cursor = p + n;
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) {
        n--;
    }
    *len = n;
    return true;
}

static bool token_is(const char *tok, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(tok, word, len) == 0;
}

bool rest_parse_prefs(const char *prefer, rest_prefs *out, rest_error *e)
{
    *out = (rest_prefs){0};
    const char *cursor = prefer != NULL ? prefer : "", *tok;
    size_t len;
    while (next_token(&cursor, &tok, &len)) {
        if (token_is(tok, len, "return=representation")) {
            out->representation = true;
        } else if (token_is(tok, len, "count=exact") || token_is(tok, len, "count=planned") ||
                   token_is(tok, len, "count=estimated")) {
            out->count = true;
        } else if (token_is(tok, len, "missing=default")) {
            out->missing_default = true;
        } else if (len > 11 && strncasecmp(tok, "resolution=", 11) == 0) {
            return rest_fail(e, 400, "PGRST100",
                             "Prefer: resolution (upsert) is not supported by telltale");
        }
        /* Anything else (return=minimal, tx=..., handling=lenient) changes nothing here. */
    }
    return true;
}

/* True if the media range 'tok' (parameters included) is one telltale can answer with. */
static bool acceptable(const char *tok, size_t len, rest_accept *out)
{
    size_t type_len = 0;
    while (type_len < len && tok[type_len] != ';' && tok[type_len] != ' ') {
        type_len++;
    }
    bool stripped = memmem(tok, len, "nulls=stripped", 14) != NULL;
    if (token_is(tok, type_len, "application/vnd.pgrst.object+json")) {
        out->single = true;
        out->strip_nulls = stripped;
        return true;
    }
    if (token_is(tok, type_len, "application/vnd.pgrst.array+json")) {
        out->strip_nulls = stripped;
        return true;
    }
    return token_is(tok, type_len, "application/json") || token_is(tok, type_len, "*/*") ||
           token_is(tok, type_len, "application/*");
}

bool rest_parse_accept(const char *accept, rest_accept *out, rest_error *e)
{
    *out = (rest_accept){0};
    if (accept == NULL || accept[0] == '\0') {
        return true;
    }
    const char *cursor = accept, *tok;
    size_t len;
    while (next_token(&cursor, &tok, &len)) {
        if (acceptable(tok, len, out)) {
            return true;
        }
    }
    return rest_fail(e, 406, "PGRST107", "None of these media types are available: %.200s", accept);
}

bool rest_check_profile(const char *profile, rest_error *e)
{
    if (profile == NULL || profile[0] == '\0' || strcmp(profile, "monitoring") == 0) {
        return true;
    }
    return rest_fail(e, 406, "PGRST106", "The schema must be one of the following: monitoring");
}

static bool no_column(const rest_table *t, const char *name, size_t len, rest_error *e)
{
    return rest_fail(e, 400, "42703", "column %s.%.*s does not exist", t->name,
                     (int)(len > 64 ? 64 : len), name);
}

/* A column name as PostgREST takes it: bare, or in double quotes. Returns its index, or -1 with
 * 'e' filled (42703 for a name that is not there, PGRST100 for a thing that is not a name). */
static int column_ref(const rest_table *t, const char *name, size_t len, const char *what,
                      rest_error *e)
{
    if (len >= 2 && name[0] == '"' && name[len - 1] == '"') {
        name++;
        len -= 2;
    }
    if (len == 0 || strcspn(name, "():!->\"") < len) {
        rest_fail(e, 400, "PGRST100", "failed to parse %s parameter (%.*s)", what,
                  (int)(len > 64 ? 64 : len), name);
        snprintf(e->details, sizeof e->details,
                 "telltale's /rest/v1 takes plain column names: no embedding, aliases, casts or "
                 "JSON paths");
        return -1;
    }
    int col = rest_column_find(t, name, len);
    if (col < 0) {
        no_column(t, name, len, e);
    }
    return col;
}

bool rest_parse_select(const char *select, rest_query *q, rest_error *e)
{
    const rest_table *t = q->table;
    q->ncols = 0;
    const char *cursor = select != NULL && select[0] != '\0' ? select : "*", *tok;
    size_t len;
    while (next_token(&cursor, &tok, &len)) {
        bool star = len == 1 && tok[0] == '*';
        int n = star ? t->ncols : 1;
        if (q->ncols + n > REST_MAX_COLUMNS) {
            return rest_fail(e, 400, "PGRST100", "too many columns in select (at most %d)",
                             REST_MAX_COLUMNS);
        }
        for (int i = 0; star && i < n; i++) {
            q->cols[q->ncols++] = i;
        }
        int col = star ? 0 : column_ref(t, tok, len, "select", e);
        if (col < 0) {
            return false;
        }
        if (!star) {
            q->cols[q->ncols++] = col;
        }
    }
    if (q->ncols == 0) { /* "select=," names nothing: PostgREST cannot parse it either */
        return rest_fail(e, 400, "PGRST100", "failed to parse select parameter (%.200s)", select);
    }
    return true;
}

static bool json_kind(store_type k)
{
    return k == STORE_JSON || k == STORE_JSONB;
}

/* One term of 'order': col[.asc|.desc][.nullsfirst|.nullslast]. */
static bool order_term(const rest_table *t, const char *tok, size_t len, rest_order *o,
                       rest_error *e)
{
    const char *dot = memchr(tok, '.', len);
    size_t name_len = dot != NULL ? (size_t)(dot - tok) : len;
    int col = column_ref(t, tok, name_len, "order", e);
    if (col < 0) {
        return false;
    }
    if (json_kind(t->cols[col].kind)) {
        return rest_fail(e, 400, "42883", "could not identify an ordering operator for type %s",
                         t->cols[col].pg_type);
    }
    *o = (rest_order){.col = col};
    bool dir_seen = false, nulls_seen = false;
    while (dot != NULL) {
        const char *mod = dot + 1;
        dot = memchr(mod, '.', len - (size_t)(mod - tok));
        size_t n = dot != NULL ? (size_t)(dot - mod) : len - (size_t)(mod - tok);
        bool is_dir = token_is(mod, n, "asc") || token_is(mod, n, "desc");
        bool is_nulls = token_is(mod, n, "nullsfirst") || token_is(mod, n, "nullslast");
        if ((!is_dir && !is_nulls) || (is_dir && (dir_seen || nulls_seen)) ||
            (is_nulls && nulls_seen)) {
            return rest_fail(e, 400, "PGRST100", "failed to parse order (%.*s)",
                             (int)(len > 80 ? 80 : len), tok);
        }
        dir_seen |= is_dir;
        nulls_seen |= is_nulls;
        o->desc = is_dir ? token_is(mod, n, "desc") : o->desc;
        o->nulls_first = is_nulls ? token_is(mod, n, "nullsfirst") : o->nulls_first;
    }
    if (!nulls_seen) {
        o->nulls_first = o->desc; /* PostgreSQL's default: nulls sort as if larger than all */
    }
    return true;
}

static bool has_order_on(const rest_query *q, int col)
{
    for (int i = 0; i < q->norder; i++) {
        if (q->order[i].col == col) {
            return true;
        }
    }
    return false;
}

static bool parse_order(const char *order, rest_query *q, rest_error *e)
{
    const char *cursor = order != NULL ? order : "", *tok;
    size_t len;
    while (next_token(&cursor, &tok, &len)) {
        if (q->norder == REST_MAX_ORDER - 2) {
            return rest_fail(e, 400, "PGRST100", "too many order terms (at most %d)",
                             REST_MAX_ORDER - 2);
        }
        if (!order_term(q->table, tok, len, &q->order[q->norder++], e)) {
            return false;
        }
    }
    /* The primary key breaks ties, so that pages never overlap and both stores agree on an
     * order PostgreSQL would leave to chance. */
    for (int i = 0; i < q->table->npk; i++) {
        int col = q->table->pk[i];
        if (!has_order_on(q, col)) {
            q->order[q->norder++] = (rest_order){.col = col};
        }
    }
    return true;
}

/* A non-negative integer parameter ('limit', 'offset'). */
static bool parse_count(const char *name, const char *v, int64_t *out, rest_error *e)
{
    char *end;
    errno = 0;
    long long n = v[0] >= '0' && v[0] <= '9' ? strtoll(v, &end, 10) : -1;
    if (n < 0 || errno != 0 || *end != '\0') {
        return rest_fail(e, 400, "PGRST100", "failed to parse %s parameter (%.64s)", name, v);
    }
    *out = n;
    return true;
}

static bool bad_literal(const rest_column *c, const char *text, const char *code, rest_error *e)
{
    return rest_fail(e, 400, code, "invalid input syntax for type %s: \"%.100s\"", c->pg_type,
                     text);
}

static bool parse_int(const rest_column *c, const char *text, store_value *out, rest_error *e)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (text[0] == '\0' || isspace((unsigned char)text[0]) || *end != '\0') {
        return bad_literal(c, text, "22P02", e);
    }
    if (errno == ERANGE ||
        (strcmp(c->pg_type, "integer") == 0 && (v > INT32_MAX || v < INT32_MIN))) {
        return rest_fail(e, 400, "22003", "value \"%.100s\" is out of range for type %s", text,
                         c->pg_type);
    }
    out->i = v;
    return true;
}

static bool parse_bool(const rest_column *c, const char *text, store_value *out, rest_error *e)
{
    static const char *const yes[] = {"true", "t", "yes", "y", "on", "1"};
    static const char *const no[] = {"false", "f", "no", "n", "off", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
            out->i = strcasecmp(text, yes[i]) == 0;
            return true;
        }
    }
    return bad_literal(c, text, "22P02", e);
}

static bool parse_time(const rest_column *c, const char *text, store_value *out, rest_error *e)
{
    size_t len = strlen(text);
    char full[40];
    if (len == 10) { /* a date alone is its midnight, UTC */
        snprintf(full, sizeof full, "%sT00:00:00Z", text);
        text = full;
        len = strlen(full);
    }
    if (!timefmt_parse(text, len, &out->i)) {
        return bad_literal(c, text, "22007", e);
    }
    return true;
}

bool rest_parse_value(const rest_column *c, const char *text, store_value *out, rest_error *e)
{
    *out = (store_value){.s = text};
    char *end;
    switch (c->kind) {
    case STORE_INT:
        return parse_int(c, text, out, e);
    case STORE_FLOAT:
        out->d = strtod(text, &end);
        return (text[0] != '\0' && *end == '\0' && isfinite(out->d)) ||
               bad_literal(c, text, "22P02", e);
    case STORE_BOOL:
        return parse_bool(c, text, out, e);
    case STORE_TIME:
        return parse_time(c, text, out, e);
    case STORE_TEXT:
        return true;
    default: /* the stores keep JSON differently: comparing it would mean different things */
        return rest_fail(e, 400, "42883", "operator does not exist: %s = unknown", c->pg_type);
    }
}

/* col=op.value */
static bool parse_filter(const rest_table *t, const rest_arg *a, rest_filter *f, rest_error *e)
{
    static const char *const ops[] = {[REST_EQ] = "eq",   [REST_NEQ] = "neq", [REST_GT] = "gt",
                                      [REST_GTE] = "gte", [REST_LT] = "lt",   [REST_LTE] = "lte"};
    if (strcmp(a->name, "or") == 0 || strcmp(a->name, "and") == 0 ||
        strncmp(a->name, "not.", 4) == 0) {
        return fail_with_details(e, 400, "PGRST100", "logical operators are not supported",
                                 OPERATORS);
    }
    int col = column_ref(t, a->name, strlen(a->name), "filter", e);
    if (col < 0) {
        return false;
    }
    size_t op_len = strcspn(a->value, ".");
    for (int op = REST_EQ; a->value[op_len] == '.' && op <= REST_LTE; op++) {
        if (token_is(a->value, op_len, ops[op])) {
            *f = (rest_filter){.col = col, .op = (rest_op)op};
            const char *v = a->value + op_len + 1;
            if (strlen(v) > REST_VALUE_MAX) {
                return rest_fail(e, 400, "PGRST100", "filter value too long (at most %d bytes)",
                                 REST_VALUE_MAX);
            }
            return rest_parse_value(&t->cols[col], v, &f->v, e);
        }
    }
    rest_fail(e, 400, "PGRST100", "failed to parse filter (%.100s)", a->value);
    snprintf(e->details, sizeof e->details, "%s", OPERATORS);
    return false;
}

static bool is_reserved(const char *name)
{
    static const char *const names[] = {"select",  "order",       "limit", "offset",
                                        "columns", "on_conflict", "apikey"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0) {
            return true;
        }
    }
    return false;
}

static const char *arg(const rest_arg *args, int nargs, const char *name)
{
    for (int i = 0; i < nargs; i++) {
        if (strcmp(args[i].name, name) == 0) {
            return args[i].value;
        }
    }
    return NULL;
}

/* A reserved parameter (select, order, limit, ...) given twice: refused rather than settled
 * by one of its values (a column filter may repeat: its conditions are ANDed). */
static bool reserved_repeated(const rest_arg *args, int nargs, rest_error *e)
{
    for (int i = 0; i < nargs; i++) {
        for (int k = 0; k < i && is_reserved(args[i].name); k++) {
            if (strcmp(args[k].name, args[i].name) == 0) {
                return !rest_fail(e, 400, "PGRST100", "'%s' is given more than once: give it once",
                                  args[i].name);
            }
        }
    }
    return false;
}

bool rest_parse_query(const rest_arg *args, int nargs, rest_query *q, rest_error *e)
{
    const char *v;
    if (reserved_repeated(args, nargs, e)) {
        return false;
    }
    q->limit = REST_MAX_ROWS;
    q->offset = 0;
    if (!rest_parse_select(arg(args, nargs, "select"), q, e) ||
        !parse_order(arg(args, nargs, "order"), q, e)) {
        return false;
    }
    if ((v = arg(args, nargs, "limit")) != NULL && !parse_count("limit", v, &q->limit, e)) {
        return false;
    }
    if ((v = arg(args, nargs, "offset")) != NULL && !parse_count("offset", v, &q->offset, e)) {
        return false;
    }
    q->limit = q->limit > REST_MAX_ROWS ? REST_MAX_ROWS : q->limit; /* PostgREST's max-rows */
    for (int i = 0; i < nargs; i++) {
        if (is_reserved(args[i].name)) {
            continue;
        }
        if (q->nfilters == REST_MAX_FILTERS) {
            return rest_fail(e, 400, "PGRST100", "too many filters (at most %d)", REST_MAX_FILTERS);
        }
        if (!parse_filter(q->table, &args[i], &q->filters[q->nfilters++], e)) {
            return false;
        }
    }
    return true;
}
