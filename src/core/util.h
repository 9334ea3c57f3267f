/* util.h - small helpers used everywhere: time, capped file reads, strings, digests. */
#ifndef CHATTER_CORE_UTIL_H
#define CHATTER_CORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

int64_t now_unix(void);          /* wall clock, seconds */
int64_t now_ms(void);            /* monotonic, milliseconds */
void sleep_ms(int64_t ms);
/* "2024-05-01T12:34:56Z" for a unix time. out must hold 21 bytes. */
void format_iso8601(int64_t t, char out[21]);

/* Reads a whole file, refusing files larger than max_bytes. */
int read_file_capped(const char *path, size_t max_bytes, buf *out, cerr *e) CH_MUST_USE;
int mkdir_p(const char *path, cerr *e) CH_MUST_USE;
bool file_exists(const char *path);

char *xstrdup(const char *s);            /* NULL-safe strdup; NULL on NULL */
char *xstrndup(const char *s, size_t n);
/* snprintf that reports truncation as an error instead of silently cutting. */
int sbprintf(char *dst, size_t size, const char *fmt, ...) CH_PRINTF(3, 4);
bool str_starts_with(const char *s, const char *prefix);
bool str_ends_with(const char *s, const char *suffix);
/* Parses a decimal int64 with no trailing garbage. */
int parse_i64(const char *s, int64_t *out);

/* SHA-256 of a buffer or a file, as 64 lowercase hex characters + NUL. */
int sha256_hex(const void *data, size_t n, char out[65], cerr *e) CH_MUST_USE;
int sha256_file_hex(const char *path, char out[65], cerr *e) CH_MUST_USE;

/* Reads setting NAME from the environment, or from the file named by NAME_FILE (trailing newline
 * stripped). Returns a malloc'd string, or NULL when neither is set. A *_FILE that cannot be read
 * is an error (never silently ignored). */
int env_secret(const char *name, char **out, cerr *e) CH_MUST_USE;
const char *env_or(const char *name, const char *fallback);

#endif
