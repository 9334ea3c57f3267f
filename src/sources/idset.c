#include "sources/idset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void idset_init(idset *s) { memset(s, 0, sizeof *s); }

void idset_free(idset *s) {
    for (size_t i = 0; i < s->cap; i++) free(s->slots[i]);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t find(char *const *slots, size_t cap, const char *id) {
    size_t i = (size_t)fnv1a(id) & (cap - 1);
    while (slots[i] && strcmp(slots[i], id) != 0) i = (i + 1) & (cap - 1);
    return i;
}

bool idset_has(const idset *s, const char *id) {
    return s->cap && s->slots[find(s->slots, s->cap, id)] != NULL;
}

static int grow(idset *s, cerr *e) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    char **slots = calloc(cap, sizeof *slots);
    if (!slots) return cerr_set(e, CERR_NOMEM, "out of memory");
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i]) slots[find(slots, cap, s->slots[i])] = s->slots[i];
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return 0;
}

int idset_add(idset *s, const char *id, bool *added, cerr *e) {
    *added = false;
    if ((s->n + 1) * 2 > s->cap && grow(s, e)) return -1; /* load factor <= 1/2 keeps probes short */
    size_t i = find(s->slots, s->cap, id);
    if (s->slots[i]) return 0;
    if (!(s->slots[i] = strdup(id))) return cerr_set(e, CERR_NOMEM, "out of memory");
    s->n++;
    *added = true;
    return 0;
}
