/* err.h - the error convention shared by every module.
 *
 * A fallible function returns 0 on success and -1 on failure, and fills a caller-owned `cerr` with a
 * code and a message a person can read. Nothing below main() prints-and-exits: the caller decides. */
#ifndef CHATTER_CORE_ERR_H
#define CHATTER_CORE_ERR_H

#include <stddef.h>

#define CH_MUST_USE __attribute__((warn_unused_result))
#define CH_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

typedef enum cerr_code {
    CERR_OK = 0,
    CERR_INVALID,    /* bad input from the user or a file: not worth retrying */
    CERR_NOTFOUND,   /* the thing asked for does not exist (or is not visible to the caller) */
    CERR_TOOBIG,     /* input over a hard size cap */
    CERR_IO,         /* file system or database failure */
    CERR_NETWORK,    /* connection, DNS, TLS or timeout: transient */
    CERR_UPSTREAM,   /* a remote API answered with an error */
    CERR_NOMEM,
    CERR_CONFLICT,   /* state changed under us (lease held elsewhere, duplicate) */
    CERR_INTERNAL,
} cerr_code;

typedef struct cerr {
    cerr_code code;
    char msg[512];
} cerr;

/* Sets code and message; always returns -1 so callers can `return cerr_set(...)`. e may be NULL. */
int cerr_set(cerr *e, cerr_code code, const char *fmt, ...) CH_PRINTF(3, 4);
/* Prepends "prefix: " to an existing message (keeps the code). Returns -1. */
int cerr_wrap(cerr *e, const char *fmt, ...) CH_PRINTF(2, 3);
void cerr_clear(cerr *e);
const char *cerr_code_name(cerr_code code);

#endif
