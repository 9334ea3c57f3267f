/* buf.h - a growable byte buffer with a hard cap, for everything read from the network or a file. */
#ifndef CHATTER_CORE_BUF_H
#define CHATTER_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "core/err.h"

typedef struct buf {
    char *data;   /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;   /* allocated bytes */
    size_t limit; /* hard cap on len; 0 = no cap (use only for our own output) */
} buf;

void buf_init(buf *b, size_t limit);
void buf_free(buf *b);
void buf_reset(buf *b); /* len = 0, keeps memory */
/* Append; -1 (CERR_TOOBIG / CERR_NOMEM) when the cap would be passed. */
int buf_append(buf *b, const void *data, size_t n, cerr *e) CH_MUST_USE;
int buf_puts(buf *b, const char *s, cerr *e) CH_MUST_USE;
int buf_printf(buf *b, cerr *e, const char *fmt, ...) CH_PRINTF(3, 4) CH_MUST_USE;
/* Takes ownership of the data (caller frees); the buffer is left empty. */
char *buf_steal(buf *b);

#endif
