/* sqlite_stage.c -- the session index's staged entries, by session (sqlite_stage.h). */
#include "store/sqlite_stage.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *id)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)id; *c != '\0'; c++) {
        h = (h ^ *c) * 1099511628211u;
    }
    return h;
}

/* The slot of 'id': its session's, or the empty one where it would go. */
static size_t find(const sqlite_stage *g, const char *id)
{
    size_t i = (size_t)hash(id) & (g->nslots - 1);
    while (g->slots[i] != 0 && strcmp(g->s[g->slots[i] - 1].id, id) != 0) {
        i = (i + 1) & (g->nslots - 1);
    }
    return i;
}

static bool grow_slots(sqlite_stage *g)
{
    size_t nslots = g->nslots == 0 ? 64 : g->nslots * 2;
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (slots == NULL) {
        return false;
    }
    free(g->slots);
    g->slots = slots;
    g->nslots = nslots;
    for (size_t k = 0; k < g->n; k++) {
        g->slots[find(g, g->s[k].id)] = (uint32_t)(k + 1);
    }
    return true;
}

/* 'items' (of 'size' bytes each, '*cap' of them) with room for item 'n': grown by doubling,
 * from 'first', when full. NULL when out of memory ('items' is kept). */
static void *ensure(void *items, size_t *cap, size_t n, size_t first, size_t size)
{
    if (n < *cap) {
        return items;
    }
    size_t grown = *cap == 0 ? first : *cap * 2;
    void *p = realloc(items, grown * size);
    *cap = p != NULL ? grown : *cap;
    return p;
}

/* The session 'id', added if new; NULL when out of memory. */
static staged_session *session(sqlite_stage *g, const char *id)
{
    if ((g->n + 1) * 2 > g->nslots && !grow_slots(g)) {
        return NULL;
    }
    size_t i = find(g, id);
    if (g->slots[i] != 0) {
        return &g->s[g->slots[i] - 1];
    }
    staged_session *grown = ensure(g->s, &g->cap, g->n, 64, sizeof *g->s);
    if (grown == NULL) {
        return NULL;
    }
    g->s = grown;
    char *copy = strdup(id);
    if (copy == NULL) {
        return NULL;
    }
    g->s[g->n] = (staged_session){.id = copy};
    g->slots[i] = (uint32_t)++g->n;
    return &g->s[g->n - 1];
}

bool sqlite_stage_add(sqlite_stage *g, const char *id, int64_t seq)
{
    staged_session *s = session(g, id);
    int64_t *seqs = s != NULL ? ensure(s->seqs, &s->cap, s->n, 16, sizeof *s->seqs) : NULL;
    if (seqs == NULL) {
        return false;
    }
    s->seqs = seqs;
    s->seqs[s->n++] = seq;
    g->entries++;
    return true;
}

void sqlite_stage_clear(sqlite_stage *g)
{
    for (size_t k = 0; k < g->n; k++) {
        free(g->s[k].id);
        free(g->s[k].seqs);
    }
    free(g->s);
    free(g->slots);
    *g = (sqlite_stage){0};
}
