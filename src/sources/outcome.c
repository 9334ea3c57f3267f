#include "sources/outcome.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void outcome_init(fetch_outcome *o) {
    memset(o, 0, sizeof *o);
    o->status = FETCH_OK;
    o->expected_count = -1;
    o->retry_after_ms = -1;
}

void outcome_set(fetch_outcome *o, fetch_status st, const char *fmt, ...) {
    o->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->reason, sizeof o->reason, fmt, ap);
    va_end(ap);
    /* vsnprintf may cut a multi-byte character in half */
    size_t n = strlen(o->reason);
    if (n == sizeof o->reason - 1) {
        while (n > 0 && ((unsigned char)o->reason[n - 1] & 0x80)) n--;
        o->reason[n] = '\0';
    }
}

void outcome_quote(char *dst, size_t cap, const char *src, size_t max) {
    size_t j = 0;
    if (!cap) return;
    for (size_t i = 0; src && src[i] && i < max && j + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c < 0x20 || c == 0x7f) continue;
        if (c >= 0x80) continue; /* keep reasons ASCII: no half characters, no look-alikes */
        dst[j++] = (c == '"' || c == '\\') ? '\'' : (char)c;
    }
    dst[j] = '\0';
}
