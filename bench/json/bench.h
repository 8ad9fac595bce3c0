/* bench.h -- what the JSON benchmark and strictness programs ask of each library adapter.
 *
 * cJSON, jansson and json-c live in lib_cjson.c, lib_jansson.c and lib_jsonc.c, one per
 * file, because jansson.h and json-c's json.h cannot be included in the same translation
 * unit: both declare json_object, json_type, json_object_get and json_object_iter_next
 * with different meanings. The two shared libraries also both export json_object_get and
 * json_object_iter_next; their symbols are versioned, so a program may link both as long
 * as -ljansson comes before -ljson-c on the link line (the executable's unversioned
 * references then bind to jansson, whose adapter is the only one that uses those names).
 */
#ifndef BENCH_JSON_H
#define BENCH_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* One event as the store would hand it back: the output path's input. 'attrs_json' is
 * the compact JSON text telltale stores for attrs. A NULL string means "absent". */
typedef struct row {
    int64_t seq;
    const char *received_at; /* RFC 3339, server clock */
    const char *id;          /* always set here: the server assigns one when absent */
    bool id_in_body;         /* whether the producer sent 'id' in the ingest body */
    const char *ts_str;      /* RFC 3339 string, or NULL when ts is epoch ms */
    int64_t ts_ms;           /* used when ts_str is NULL and has_ts */
    bool has_ts;             /* whether the producer sent 'ts' */
    const char *type;
    const char *source;
    const char *session_id;
    const char *name;
    const char *status;
    const char *error;
    double duration_ms;
    bool has_duration;
    bool duration_is_int; /* written as an integer literal in the body */
    int64_t bytes;
    bool has_bytes;
    double value;
    bool has_value;
    const char *attrs_json; /* NULL when the event has no attrs */
} row;

/* What a validator pass over a parsed batch adds up. Every library must produce the same
 * figures except attrs_bytes, whose size depends on how each library prints numbers. */
typedef struct walk_sum {
    uint64_t events;
    uint64_t str_bytes;   /* lengths of every string field read */
    uint64_t str_fields;  /* how many string fields were read */
    int64_t int_sum;      /* bytes + numeric ts */
    double dbl_sum;       /* duration_ms + value */
    uint64_t attrs;       /* events with attrs */
    uint64_t attrs_bytes; /* size of attrs re-serialized by the library */
} walk_sum;

typedef struct ser_sum {
    uint64_t events;
    uint64_t bytes; /* total size of the printed events */
} ser_sum;

/* Called with each printed event when verifying; NULL in timed runs. */
typedef void (*emit_fn)(void *ctx, size_t index, const char *json, size_t len);

typedef struct bench_lib {
    const char *name;
    /* Parses 'body' (a JSON array of events, 'len' bytes, NUL-terminated at body[len]),
     * validates and walks every event, frees everything. Returns 0, or -1 with 'err'. */
    int (*parse_walk)(const char *body, size_t len, walk_sum *sum, char err[256]);
    /* Bytes of heap the parsed tree of 'body' occupies (glibc mallinfo2 delta). */
    size_t (*tree_bytes)(const char *body, size_t len);
    /* False for variants that only parse (or only scan) and so cannot be checked. */
    bool walks;
    /* Like parse_walk for one event object alone, as one NDJSON line or one WebSocket
     * message arrives ('json' is not NUL-terminated). NULL where not measured. */
    int (*parse_walk_one)(const char *json, size_t len, walk_sum *sum, char err[256]);
} bench_lib;

typedef struct bench_printer {
    const char *name;
    /* Builds and prints one compact JSON object per row, frees everything. */
    int (*serialize)(const row *rows, size_t n, ser_sum *sum, emit_fn emit, void *ctx);
} bench_printer;

extern const bench_lib lib_cjson, lib_jansson, lib_jansson_nodup, lib_jsonc, lib_jsonc_strict;
extern const bench_lib lib_cjson_parse, lib_jansson_parse, lib_jsonc_parse; /* parse + free */
extern const bench_lib lib_cjson_checked; /* json_prescan + cJSON + duplicate/overflow checks */
extern const bench_printer print_cjson, print_cjson_raw, print_jansson, print_jsonc;

/* Run-time library versions, as the shared libraries report them. */
const char *cjson_version(void);
const char *jansson_version(void);
const char *jsonc_version(void);

/* Prints, as table rows, what cJSON_ParseWithLengthOpts(require_null_terminated=1) does
 * with a buffer length that excludes and includes the terminating NUL. */
void cjson_note_require_null_terminated(void);

/* Checks one printed event against the row it came from (implemented with jansson,
 * independently of the printer under test). Returns 0, or -1 with 'err'. */
int jansson_check_event(const char *json, size_t len, const row *r, char err[256]);

/* --- strictness probes ------------------------------------------------------------------ */

typedef struct probe_result {
    bool accepted;
    char text[160]; /* what the library made of it, or its error */
} probe_result;

typedef struct probe_lib {
    const char *name;
    /* Parses 'len' bytes of 'in' (in[len] is NUL) the way telltale would call the library. */
    void (*parse)(const char *in, size_t len, probe_result *r);
    /* Parses and frees, nothing else: 1 accepted, 0 rejected. For the nesting probe. */
    int (*accepts)(const char *in, size_t len);
    /* Prints a string of 'len' bytes / a double / an int64 as the library would. */
    void (*print_string)(const char *s, size_t len, probe_result *r);
    void (*print_double)(double d, probe_result *r);
    void (*print_int)(int64_t v, probe_result *r);
} probe_lib;

extern const probe_lib probe_cjson, probe_cjson_checked, probe_jansson, probe_jansson_nodup,
    probe_jsonc, probe_jsonc_strict;

/* --- helpers shared by the adapters ------------------------------------------------------- */

/* The event fields of DESIGN §2, in the order validators look them up. */
enum field {
    F_ID,
    F_TS,
    F_TYPE,
    F_SOURCE,
    F_SESSION_ID,
    F_NAME,
    F_STATUS,
    F_DURATION_MS,
    F_BYTES,
    F_VALUE,
    F_ERROR,
    F_ATTRS,
    F_COUNT,
    F_UNKNOWN = -1
};

static const char *const field_names[F_COUNT] = {
    "id",     "ts",          "type",  "source", "session_id", "name",
    "status", "duration_ms", "bytes", "value",  "error",      "attrs",
};

/* Maximum string length per field (0 = not a string field). */
static const size_t field_max_len[F_COUNT] = {64, 64, 64, 64, 128, 128, 32, 0, 0, 0, 4096, 0};

#define ATTRS_MAX_DEPTH 8
#define ATTRS_MAX_BYTES 16384
/* A batch array, an event, then attrs: the deepest a valid body nests. */
#define BODY_MAX_DEPTH (2 + ATTRS_MAX_DEPTH)

/* Checks that 'len' bytes of 'in' are one strict RFC 8259 value nested at most
 * 'max_depth' deep (prescan.c). On failure '*err_off' gets the offset of the problem. */
bool json_prescan(const char *in, size_t len, int max_depth, size_t *err_off);

static inline int field_index(const char *key)
{
    for (int i = 0; i < F_COUNT; i++) {
        if (strcmp(key, field_names[i]) == 0) {
            return i;
        }
    }
    return F_UNKNOWN;
}

/* type must match [a-z0-9_.:-]{1,64}. */
static inline bool type_ok(const char *s, size_t len)
{
    if (len == 0 || len > 64) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == ':' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* Writes 'len' bytes of 's' into 'out' with control and non-ASCII bytes as \xNN. */
static inline void cell_escape(char *out, size_t outsz, const char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < outsz; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '|') {
            static const char hex[] = "0123456789abcdef";
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
}

#endif
