/* strictness.c -- what cJSON, jansson and json-c accept that RFC 8259 and DESIGN §2 do not,
 * found by feeding each library the same inputs and printing what it made of them.
 *
 * Every input is parsed the way telltale would call the library on a request body (a
 * length-delimited buffer; see the adapters for the exact calls). Nesting probes run in a
 * child process so that a library that overflows its stack shows up as a crash, not as
 * the end of this program.
 *
 *   strictness            print the tables (Markdown)
 */
#define _POSIX_C_SOURCE 200809L

#include "bench.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const probe_lib *const libs[] = {&probe_cjson,   &probe_cjson_checked,
                                        &probe_jansson, &probe_jansson_nodup,
                                        &probe_jsonc,   &probe_jsonc_strict};
#define N_LIBS (sizeof libs / sizeof libs[0])

typedef struct probe {
    const char *group; /* the question from the brief it answers */
    const char *label; /* how the input reads in the table */
    const char *in;    /* the bytes; may contain NUL, hence 'len' */
    size_t len;
} probe;

#define P(group, label, lit)                                                                       \
    {                                                                                              \
        group, label, lit, sizeof(lit) - 1                                                         \
    }

static const probe probes[] = {
    P("ok", "valid UTF-8 `[\"é\"]`", "[\"\xc3\xa9\"]"),
    P("a", "invalid byte `[\"\\xff\"]`", "[\"\xff\"]"),
    P("a", "bad continuation `[\"\\xc3(\"]`", "[\"\xc3(\"]"),
    P("a", "overlong `/` `[\"\\xc0\\xaf\"]`", "[\"\xc0\xaf\"]"),
    P("a", "UTF-8-encoded surrogate `\\xed\\xa0\\x80`", "[\"\xed\xa0\x80\"]"),
    P("a", "above U+10FFFF `\\xf4\\x90\\x80\\x80`", "[\"\xf4\x90\x80\x80\"]"),
    P("a", "truncated sequence `[\"\\xe2\\x82\"]`", "[\"\xe2\x82\"]"),
    P("b", "`[\"a\\u0000b\"]`", "[\"a\\u0000b\"]"),
    P("b", "raw NUL byte inside a string", "[\"a\0b\"]"),
    P("c", "raw newline in a string", "[\"a\nb\"]"),
    P("c", "raw tab in a string", "[\"a\tb\"]"),
    P("c", "raw 0x01 in a string", "[\"a\x01z\"]"),
    P("c", "raw 0x7f (allowed by RFC)", "[\"a\x7fz\"]"),
    P("d", "`[01]`", "[01]"),
    P("d", "`[-01]`", "[-01]"),
    P("d", "`[1.]`", "[1.]"),
    P("d", "`[-.5]`", "[-.5]"),
    P("d", "`[.5]`", "[.5]"),
    P("d", "`[+1]`", "[+1]"),
    P("d", "`[1e]`", "[1e]"),
    P("d", "`[0x10]`", "[0x10]"),
    P("d", "`[1e999]`", "[1e999]"),
    P("d", "`[-1e999]`", "[-1e999]"),
    P("d", "`[1e-999]` (underflow)", "[1e-999]"),
    P("d", "`[NaN]`", "[NaN]"),
    P("d", "`[Infinity]`", "[Infinity]"),
    P("d", "`[-0]`", "[-0]"),
    P("d", "`[1.5E+3]` (valid)", "[1.5E+3]"),
    P("e", "`{\"a\":1,\"a\":2}`", "{\"a\":1,\"a\":2}"),
    P("g", "`[1] x`", "[1] x"),
    P("g", "`[1]]`", "[1]]"),
    P("g", "`{\"a\":1}{\"b\":2}`", "{\"a\":1}{\"b\":2}"),
    P("g", "`[1]` + NUL + `xyz`", "[1]\0xyz"),
    P("g", "`[1]` + trailing whitespace (valid)", "[1] \n"),
    P("h", "`[9007199254740993]` (2^53+1)", "[9007199254740993]"),
    P("h", "`[-9007199254740993]`", "[-9007199254740993]"),
    P("h", "`[9223372036854775807]` (INT64_MAX)", "[9223372036854775807]"),
    P("h", "`[9223372036854775808]` (INT64_MAX+1)", "[9223372036854775808]"),
    P("h", "`[18446744073709551616]` (2^64)", "[18446744073709551616]"),
    P("h", "`[-9223372036854775809]` (INT64_MIN-1)", "[-9223372036854775809]"),
    P("i", "`[\"\\ud800\"]` lone high", "[\"\\ud800\"]"),
    P("i", "`[\"\\udc00\"]` lone low", "[\"\\udc00\"]"),
    P("i", "`[\"\\ud800\\u0041\"]` high + non-low", "[\"\\ud800\\u0041\"]"),
    P("i", "`[\"\\ud800x\"]` high + text", "[\"\\ud800x\"]"),
    P("i", "`[\"\\ud83d\\ude00\"]` valid pair", "[\"\\ud83d\\ude00\"]"),
    P("x", "`[1,]` trailing comma", "[1,]"),
    P("x", "`{\"a\":1,}` trailing comma", "{\"a\":1,}"),
    P("x", "`['a']` single quotes", "['a']"),
    P("x", "`{a:1}` bare key", "{a:1}"),
    P("x", "`[1 /*c*/]` comment", "[1 /*c*/]"),
    P("x", "`[1] //c` comment", "[1] //c"),
    P("x", "`[True]`", "[True]"),
    P("x", "`[\"\\x41\"]` bad escape", "[\"\\x41\"]"),
    P("x", "`[\"\\u00e\"]` short \\u", "[\"\\u00e\"]"),
    P("x", "empty body", ""),
    P("x", "UTF-8 BOM + `[1]`", "\xef\xbb\xbf[1]"),
    P("x", "top-level scalar `1`", "1"),
    P("x", "top-level `\"s\"`", "\"s\""),
};

static const char *const groups[][2] = {
    {"ok", "sanity"},
    {"a", "(a) invalid UTF-8 inside strings"},
    {"b", "(b) NUL inside a string"},
    {"c", "(c) raw control characters inside strings"},
    {"d", "(d) numbers outside RFC 8259's grammar"},
    {"e", "(e) duplicate object keys"},
    {"g", "(g) bytes after the value"},
    {"h", "(h) integers above 2^53"},
    {"i", "(i) lone surrogates"},
    {"x", "other leniencies"},
};

static void print_cell(const probe_result *r)
{
    /* Error messages may quote the raw input; cells are already escaped otherwise. */
    char esc[sizeof r->text * 4];
    cell_escape(esc, sizeof esc, r->text, strlen(r->text));
    printf(" %s %s |", r->accepted ? "**accept**" : "reject", esc);
}

static void parse_table(void)
{
    printf("## Parsing\n\n");
    printf("Each cell: accept/reject, then what the library made of the input (re-printed "
           "by the same library; non-ASCII bytes shown as \\xNN) or its error. `len` is the "
           "string length the library's API reports, `double`/`int`/`int64`/`real` the "
           "stored number.\n\n");
    printf("| input |");
    for (size_t l = 0; l < N_LIBS; l++) {
        printf(" %s |", libs[l]->name);
    }
    printf("\n|---|");
    for (size_t l = 0; l < N_LIBS; l++) {
        printf("---|");
    }
    printf("\n");
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        printf("| ***%s*** |", groups[g][1]);
        for (size_t l = 0; l < N_LIBS; l++) {
            printf(" |");
        }
        printf("\n");
        for (size_t p = 0; p < sizeof probes / sizeof probes[0]; p++) {
            if (strcmp(probes[p].group, groups[g][0]) != 0) {
                continue;
            }
            /* The probes live in rodata; give each library its own NUL-terminated copy. */
            char *in = malloc(probes[p].len + 1);
            if (in == NULL) {
                exit(1);
            }
            memcpy(in, probes[p].in, probes[p].len);
            in[probes[p].len] = '\0';
            printf("| %s |", probes[p].label);
            for (size_t l = 0; l < N_LIBS; l++) {
                probe_result r = {false, ""};
                libs[l]->parse(in, probes[p].len, &r);
                print_cell(&r);
            }
            printf("\n");
            free(in);
        }
    }
}

/* --- nesting ------------------------------------------------------------------------------ */

enum nest_outcome { NEST_ACCEPT, NEST_REJECT, NEST_CRASH };

/* Parses 'depth' nested arrays (or objects) in a child process. */
static enum nest_outcome nest_probe(const probe_lib *lib, size_t depth, bool objects, int *signo)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        /* "[[...1...]]" or "{"a":{"a":...1...}}" */
        size_t open = objects ? 5 : 1;
        size_t len = depth * (open + 1) + 1;
        char *s = malloc(len + 1);
        if (s == NULL) {
            _exit(3);
        }
        char *o = s;
        for (size_t i = 0; i < depth; i++) {
            memcpy(o, objects ? "{\"a\":" : "[", open);
            o += open;
        }
        *o++ = '1';
        memset(o, objects ? '}' : ']', depth);
        s[len] = '\0';
        _exit(lib->accepts(s, len) ? 0 : 1);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) {
        perror("waitpid");
        exit(1);
    }
    if (WIFSIGNALED(status)) {
        *signo = WTERMSIG(status);
        return NEST_CRASH;
    }
    return WEXITSTATUS(status) == 0 ? NEST_ACCEPT : NEST_REJECT;
}

static void nest_table(void)
{
    static const size_t depths[] = {8, 32, 33, 1000, 1001, 2048, 2049, 100000, 10000000};
    struct rlimit rl;
    getrlimit(RLIMIT_STACK, &rl);
    printf("\n## (f) Nesting\n\n");
    printf("Deepest nesting accepted (binary search between 1 and 10^7 nested arrays, "
           "each parse in a child process; stack limit %s), and what happens at chosen "
           "depths.\n\n",
           rl.rlim_cur == RLIM_INFINITY ? "unlimited" : "as below");
    if (rl.rlim_cur != RLIM_INFINITY) {
        printf("Stack limit of the child: %llu KiB.\n\n", (unsigned long long)rl.rlim_cur / 1024);
    }
    printf("| library | max depth, arrays | max depth, objects |");
    for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
        printf(" %zu |", depths[d]);
    }
    printf("\n|---|---:|---:|");
    for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
        printf("---|");
    }
    printf("\n");
    for (size_t l = 0; l < N_LIBS; l++) {
        size_t max[2];
        for (int objects = 0; objects < 2; objects++) {
            /* Largest depth accepted, assuming acceptance is monotone in depth. */
            size_t lo = 0, hi = 10000001;
            while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;
                int sig = 0;
                if (nest_probe(libs[l], mid, objects, &sig) == NEST_ACCEPT) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            max[objects] = lo;
        }
        printf("| %s | %zu | %zu |", libs[l]->name, max[0], max[1]);
        for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
            int sig = 0;
            enum nest_outcome o = nest_probe(libs[l], depths[d], false, &sig);
            if (o == NEST_CRASH) {
                printf(" **crash (signal %d, %s)** |", sig, sig == SIGSEGV ? "SIGSEGV" : "?");
            } else {
                printf(" %s |", o == NEST_ACCEPT ? "accept" : "error");
            }
        }
        printf("\n");
    }
}

/* --- printing ------------------------------------------------------------------------------- */

typedef struct str_probe {
    const char *label;
    const char *s;
    size_t len;
} str_probe;

#define S(label, lit)                                                                              \
    {                                                                                              \
        label, lit, sizeof(lit) - 1                                                                \
    }

static const str_probe str_probes[] = {
    S("`a/b`", "a/b"),
    S("quote, backslash", "q\"b\\"),
    S("0x01, newline", "\x01\n"),
    S("0x7f", "\x7f"),
    S("`é` (UTF-8)", "\xc3\xa9"),
    S("U+2028 (UTF-8)", "\xe2\x80\xa8"),
    S("invalid `\\xff`", "a\xff"),
    S("`a` NUL `b` (3 bytes)", "a\0b"),
};

static const struct {
    const char *label;
    double d;
} dbl_probes[] = {
    {"0.1", 0.1},     {"0.1+0.2", 0.1 + 0.2}, {"0.7", 0.7},       {"12.345", 12.345},
    {"100.0", 100.0}, {"1e21", 1e21},         {"1e300", 1e300},   {"5e-324", 5e-324},
    {"-0.0", -0.0},   {"NaN", NAN},           {"+Inf", INFINITY},
};

static const struct {
    const char *label;
    int64_t v;
} int_probes[] = {
    {"2^53-1", 9007199254740991},
    {"2^53+1", 9007199254740993},
    {"INT64_MAX", INT64_MAX},
    {"INT64_MIN", INT64_MIN},
};

/* Parse flags and checks do not change printing: one column per library. */
static bool prints(const probe_lib *lib)
{
    return lib == &probe_cjson || lib == &probe_jansson || lib == &probe_jsonc;
}

static void print_table(void)
{
    printf("\n## Printing\n\n");
    printf("Each value built with the library's constructor (cJSON_CreateString/Number, "
           "json_stringn/json_real/json_integer, json_object_new_string_len/double/int64) "
           "and printed compact with default flags (json-c: JSON_C_TO_STRING_PLAIN).\n\n");
    printf("| value |");
    for (size_t l = 0; l < N_LIBS; l += 1) {
        if (!prints(libs[l])) {
            continue;
        }
        printf(" %s |", libs[l]->name);
    }
    printf("\n|---|---|---|---|\n");
    for (size_t p = 0; p < sizeof str_probes / sizeof str_probes[0]; p++) {
        printf("| string %s |", str_probes[p].label);
        for (size_t l = 0; l < N_LIBS; l++) {
            if (!prints(libs[l])) {
                continue;
            }
            probe_result r = {false, ""};
            libs[l]->print_string(str_probes[p].s, str_probes[p].len, &r);
            printf(" `%s` |", r.text);
        }
        printf("\n");
    }
    for (size_t p = 0; p < sizeof dbl_probes / sizeof dbl_probes[0]; p++) {
        printf("| double %s |", dbl_probes[p].label);
        for (size_t l = 0; l < N_LIBS; l++) {
            if (!prints(libs[l])) {
                continue;
            }
            probe_result r = {false, ""};
            libs[l]->print_double(dbl_probes[p].d, &r);
            printf(" `%s` |", r.text);
        }
        printf("\n");
    }
    for (size_t p = 0; p < sizeof int_probes / sizeof int_probes[0]; p++) {
        printf("| int64 %s |", int_probes[p].label);
        for (size_t l = 0; l < N_LIBS; l++) {
            if (!prints(libs[l])) {
                continue;
            }
            probe_result r = {false, ""};
            libs[l]->print_int(int_probes[p].v, &r);
            printf(" `%s` |", r.text);
        }
        printf("\n");
    }
}

int main(void)
{
    printf("# JSON library strictness, found by experiment\n\n");
    printf("cJSON %s (cJSON_ParseWithLengthOpts, require_null_terminated=0), jansson %s "
           "(json_loadb, flags 0 or JSON_REJECT_DUPLICATES), json-c %s (json_tokener_parse_ex, "
           "default depth, flags 0 or JSON_TOKENER_STRICT|JSON_TOKENER_VALIDATE_UTF8).\n\n",
           cjson_version(), jansson_version(), jsonc_version());
    parse_table();
    printf("\n### cJSON's own end check\n\n");
    printf("cJSON_ParseWithLengthOpts(buf, len, NULL, require_null_terminated=1):\n\n");
    printf("| input | result |\n|---|---|\n");
    cjson_note_require_null_terminated();
    nest_table();
    print_table();
    return 0;
}
