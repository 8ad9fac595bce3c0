/* precond.c -- If-Match and If-None-Match on one versioned resource (RFC 9110 §13). */
#include "api/precond.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Whether 's' is one entity-tag's opaque-tag: a double-quoted string with no double quote
 * inside (RFC 9110 8.8.3); 'inner' gets what is between the quotes (cut to fit). */
static bool opaque_tag(const char *s, char inner[24])
{
    size_t n = strlen(s);
    inner[0] = '\0';
    if (n < 2 || s[0] != '"' || s[n - 1] != '"' || memchr(s + 1, '"', n - 2) != NULL) {
        return false;
    }
    if (n - 2 < 24) {
        memcpy(inner, s + 1, n - 2);
        inner[n - 2] = '\0';
    }
    return true;
}

/* Whether 'inner' is a version as the server writes it: 1 or more, no leading zero. */
static bool version_text(const char *inner, int64_t *version)
{
    return inner[0] != '0' && http_parse_int(inner, 1, INT64_MAX, version);
}

/* The tag to suggest in place of what was sent: the version it seems to mean, in quotes, when
 * there is one; else an example. Never a form the server would refuse. */
static void suggest(const char *inner, char out[32])
{
    int64_t v;
    snprintf(out, 32, "\"%s\"", version_text(inner, &v) ? inner : "3");
}

/* Why 'tag' (the If-Match value, neither empty nor "*") names no version; false if it does,
 * with *version set. Every message that suggests a tag suggests a valid one. */
static bool if_match_wrong(const char *tag, int64_t *version, char why[API_WHY_LEN])
{
    char inner[24], fix[32];
    bool quoted = opaque_tag(tag, inner);
    if (strchr(tag, ',') != NULL) {
        snprintf(why, API_WHY_LEN, "If-Match takes one entity-tag here, or *, not a list");
    } else if (strncmp(tag, "W/", 2) == 0 && opaque_tag(tag + 2, inner)) {
        suggest(inner, fix);
        snprintf(why, API_WHY_LEN,
                 "If-Match compares entity-tags strongly (RFC 9110 13.1.1): the weak %.32s never "
                 "matches; send %s",
                 tag, fix);
    } else if (strchr(tag, '"') != NULL && !quoted) {
        /* A quote, but not one quoted tag: ", "3"3", W/", w/"3" (W/ is case-sensitive). */
        char rest[24] = "";
        opaque_tag(strncasecmp(tag, "W/", 2) == 0 ? tag + 2 : tag, rest);
        suggest(rest, fix);
        snprintf(why, API_WHY_LEN,
                 "If-Match %.40s is a malformed entity-tag (RFC 9110 8.8.3: one quoted string, "
                 "after an upper-case W/ if weak); send %s",
                 tag, fix);
    } else if (!quoted) {
        snprintf(inner, sizeof inner, "%.23s", tag);
        suggest(inner, fix);
        snprintf(why, API_WHY_LEN, "an entity-tag is quoted: write If-Match: %s", fix);
    } else if (strspn(inner, "0") == strlen(inner) && inner[0] != '\0') {
        snprintf(why, API_WHY_LEN, "If-Match names no version 0: versions start at 1");
    } else if (inner[0] == '0') {
        snprintf(why, API_WHY_LEN,
                 "If-Match %.40s is no tag the server issued: a version is written without "
                 "leading zeros, e.g. \"%.20s\"",
                 tag, inner + strspn(inner, "0"));
    } else if (!version_text(inner, version)) {
        snprintf(why, API_WHY_LEN,
                 "If-Match %.40s names no version: a version is a whole number from 1, in "
                 "quotes, e.g. \"3\"",
                 tag);
    } else {
        return false;
    }
    return true;
}

/* If-Match as a version (api_precond.if_match), or -1 with 'why'. */
static int64_t read_if_match(const http_req *r, char why[API_WHY_LEN])
{
    const char *s = r->if_match;
    int64_t v;
    if (s[0] == '\0' && r->if_match_sent) { /* read as none, the precondition would be lost */
        snprintf(why, API_WHY_LEN,
                 "If-Match is empty or longer than 63 bytes: send one entity-tag, or *");
        return -1;
    }
    if (s[0] == '\0') {
        return 0;
    }
    if (strcmp(s, "*") == 0) {
        return -2;
    }
    return if_match_wrong(s, &v, why) ? -1 : v;
}

/* Whether one element of an If-None-Match list is a version's tag, strong or weak; if so,
 * *version is the version. */
static bool version_tag(const char *el, size_t n, int64_t *version)
{
    char s[64], inner[24];
    if (n >= 2 && strncmp(el, "W/", 2) == 0) {
        el += 2;
        n -= 2;
    }
    if (n >= sizeof s) {
        return false;
    }
    memcpy(s, el, n);
    s[n] = '\0';
    return opaque_tag(s, inner) && version_text(inner, version);
}

/* Reads 'list' (If-None-Match, not "*") into p's versions; false, with 'why', if it is not a
 * list of version tags. */
static bool read_if_none_match(const char *list, api_precond *p, char why[API_WHY_LEN])
{
    for (const char *el = list;; el++) {
        el += strspn(el, " \t");
        size_t n = strcspn(el, ",");
        while (n > 0 && (el[n - 1] == ' ' || el[n - 1] == '\t')) {
            n--;
        }
        int64_t v;
        if (n > 0 && (p->none_match_n == API_NONE_MATCH_MAX || !version_tag(el, n, &v))) {
            snprintf(why, API_WHY_LEN,
                     "If-None-Match takes * or a list of version tags (\"3\", W/\"3\"): %.*s is "
                     "not one",
                     (int)(n > 40 ? 40 : n), el);
            return false;
        }
        if (n > 0) { /* empty elements are allowed (RFC 9110 5.6.1) */
            p->if_none_match[p->none_match_n++] = v;
        }
        el += strcspn(el, ",");
        if (*el == '\0') {
            return true;
        }
    }
}

bool api_precond_read(const http_req *r, api_precond *p, char why[API_WHY_LEN])
{
    *p = (api_precond){.if_match = read_if_match(r, why)};
    if (p->if_match == -1) {
        return false;
    }
    if (r->if_none_match[0] == '\0' && r->if_none_match_sent) {
        snprintf(why, API_WHY_LEN, /* read as none, the write would go ahead unchecked */
                 "If-None-Match is empty or longer than 63 bytes: send *, or up to 63 bytes of "
                 "version tags");
        return false;
    }
    if (strcmp(r->if_none_match, "*") == 0) {
        p->if_none_match[p->none_match_n++] = -2;
        return true;
    }
    return read_if_none_match(r->if_none_match, p, why);
}

bool api_precond_any(const api_precond *p)
{
    return p->if_match != 0 || p->none_match_n > 0;
}

/* Whether If-None-Match names the resource at 'version' (0: none): "*" any, else its tag. */
static bool none_match_false(const api_precond *p, int64_t version)
{
    for (size_t i = 0; version > 0 && i < p->none_match_n; i++) {
        if (p->if_none_match[i] == -2 || p->if_none_match[i] == version) {
            return true;
        }
    }
    return false;
}

api_verdict api_precond_eval(const api_precond *p, bool safe, int64_t version)
{
    if (p->if_match != 0 && (version == 0 || (p->if_match > 0 && p->if_match != version))) {
        return API_FAILED; /* §13.2.2 step 1; If-None-Match is then not evaluated */
    }
    if (none_match_false(p, version)) {
        return safe ? API_NOT_MODIFIED : API_FAILED; /* step 3 */
    }
    return API_PASS;
}

void api_precond_why(const api_precond *p, int64_t version, const char *what, char why[API_WHY_LEN])
{
    if (p->if_match == -2 && version == 0) {
        snprintf(why, API_WHY_LEN, "If-Match: * and %.120s does not exist", what);
    } else if (p->if_match != 0 && version == 0) {
        snprintf(why, API_WHY_LEN, "If-Match names a version of %.120s, which does not exist",
                 what);
    } else if (p->if_match > 0 && p->if_match != version) {
        snprintf(why, API_WHY_LEN, "%.120s is at version %lld, not the If-Match version", what,
                 (long long)version);
    } else if (p->none_match_n > 0 && p->if_none_match[0] == -2) {
        snprintf(why, API_WHY_LEN,
                 "If-None-Match: * and %.120s exists (version %lld): it creates only", what,
                 (long long)version);
    } else {
        snprintf(why, API_WHY_LEN, "%.120s is at version %lld, which If-None-Match names", what,
                 (long long)version);
    }
}

int api_precond_write(const api_precond *p, const api_cond_steps *s)
{
    int64_t version = 0, tried = -1; /* tried: the version the last write was conditional on */
    for (int i = 0; i < API_COND_TRIES; i++) {
        bool done = false;
        int rc = s->read_version(s->arg, &version);
        if (rc != 0) {
            return rc;
        }
        if (version == tried && s->refused != NULL && s->refused(s->arg, version)) {
            return 0;
        }
        if (api_precond_eval(p, false, version) != API_PASS) {
            s->failed(s->arg, version);
            return 0;
        }
        rc = s->write_at(s->arg, version, &done);
        if (rc != 0 || done) {
            return rc;
        }
        tried = version;
    }
    s->failed(s->arg, version);
    return 0;
}
