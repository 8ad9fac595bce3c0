/* event.c -- the event value: copying it into one allocation, checking its type name. */
#include "core/event.h"

#include <stdlib.h>
#include <string.h>

static size_t text_size(const char *s)
{
    return s != NULL ? strlen(s) + 1 : 0;
}

/* Copies 's' to *cursor and advances it; returns the copy, or NULL for a NULL 's'. */
static const char *copy_text(char **cursor, const char *s)
{
    if (s == NULL) {
        return NULL;
    }
    size_t n = strlen(s) + 1;
    char *dst = *cursor;
    memcpy(dst, s, n);
    *cursor += n;
    return dst;
}

tt_event *event_clone(const tt_event *src)
{
    size_t strings = text_size(src->type) + text_size(src->source) + text_size(src->session_id) +
                     text_size(src->name) + text_size(src->status) + text_size(src->error) +
                     text_size(src->attrs);
    size_t size = sizeof(tt_event) + strings;
    tt_event *ev = malloc(size);
    if (ev == NULL) {
        return NULL;
    }
    *ev = *src;
    ev->size = size;
    char *cursor = (char *)(ev + 1);
    ev->type = copy_text(&cursor, src->type);
    ev->source = copy_text(&cursor, src->source);
    ev->session_id = copy_text(&cursor, src->session_id);
    ev->name = copy_text(&cursor, src->name);
    ev->status = copy_text(&cursor, src->status);
    ev->error = copy_text(&cursor, src->error);
    ev->attrs = copy_text(&cursor, src->attrs);
    return ev;
}

void event_free(tt_event *ev)
{
    free(ev);
}

bool event_type_valid(const char *s, size_t len)
{
    if (len == 0 || len > EVENT_TYPE_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                  c == ':' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}
