/* idset.h - a set of id strings, used to drop comments an API returns twice within one fetch
 * (pagination re-ranking, overlapping cursors). Not thread-safe: one per fetch. */
#ifndef CHATTER_SOURCES_IDSET_H
#define CHATTER_SOURCES_IDSET_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

typedef struct idset {
    char **slots; /* open addressing; NULL = empty */
    size_t cap;   /* power of two */
    size_t n;
} idset;

void idset_init(idset *s);
void idset_free(idset *s);
/* Adds id; *added is false when it was already there. -1 only when memory runs out. */
int idset_add(idset *s, const char *id, bool *added, cerr *e) CH_MUST_USE;
bool idset_has(const idset *s, const char *id);

#endif
