#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cerr_set(cerr *e, cerr_code code, const char *fmt, ...) {
    if (!e) return -1;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int cerr_wrap(cerr *e, const char *fmt, ...) {
    if (!e) return -1;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[sizeof e->msg];
    memcpy(old, e->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof e->msg - 3) n = sizeof e->msg - 3;
    memcpy(e->msg, prefix, n);
    memcpy(e->msg + n, ": ", 2);
    size_t room = sizeof e->msg - n - 3;
    size_t m = strnlen(old, room);
    memcpy(e->msg + n + 2, old, m);
    e->msg[n + 2 + m] = '\0';
    return -1;
}

void cerr_clear(cerr *e) {
    if (!e) return;
    e->code = CERR_OK;
    e->msg[0] = '\0';
}

const char *cerr_code_name(cerr_code code) {
    switch (code) {
    case CERR_OK: return "ok";
    case CERR_INVALID: return "invalid";
    case CERR_NOTFOUND: return "not_found";
    case CERR_TOOBIG: return "too_big";
    case CERR_IO: return "io";
    case CERR_NETWORK: return "network";
    case CERR_UPSTREAM: return "upstream";
    case CERR_NOMEM: return "no_memory";
    case CERR_CONFLICT: return "conflict";
    case CERR_INTERNAL: return "internal";
    }
    return "unknown";
}
