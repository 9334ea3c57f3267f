#include "core/util.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int64_t now_unix(void) { return (int64_t)time(NULL); }

int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int64_t ms) {
    if (ms <= 0) return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void format_iso8601(int64_t t, char out[21]) {
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int read_file_capped(const char *path, size_t max_bytes, buf *out, cerr *e) {
    FILE *f = fopen(path, "rb");
    if (!f) return cerr_set(e, CERR_IO, "cannot open %s: %s", path, strerror(errno));
    buf_init(out, max_bytes);
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (buf_append(out, chunk, n, e)) {
            rc = cerr_wrap(e, "%s", path);
            break;
        }
    }
    if (!rc && ferror(f)) rc = cerr_set(e, CERR_IO, "cannot read %s: %s", path, strerror(errno));
    fclose(f);
    if (rc) buf_free(out);
    else if (!out->data && buf_append(out, "", 0, e)) rc = -1;
    return rc;
}

int mkdir_p(const char *path, cerr *e) {
    char tmp[4096];
    if (sbprintf(tmp, sizeof tmp, "%s", path)) return cerr_set(e, CERR_INVALID, "path too long: %s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return cerr_set(e, CERR_IO, "cannot create directory %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return cerr_set(e, CERR_IO, "cannot create directory %s: %s", tmp, strerror(errno));
    return 0;
}

bool file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

char *xstrdup(const char *s) { return s ? strdup(s) : NULL; }

char *xstrndup(const char *s, size_t n) { return s ? strndup(s, n) : NULL; }

int sbprintf(char *dst, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, size, fmt, ap);
    va_end(ap);
    return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

bool str_starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

bool str_ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

int parse_i64(const char *s, int64_t *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

static void hex_encode(const unsigned char *in, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int sha256_hex(const void *data, size_t n, char out[65], cerr *e) {
    unsigned char md[32];
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data, n, md) < 0)
        return cerr_set(e, CERR_INTERNAL, "sha256 failed");
    hex_encode(md, 32, out);
    return 0;
}

int sha256_file_hex(const char *path, char out[65], cerr *e) {
    FILE *f = fopen(path, "rb");
    if (!f) return cerr_set(e, CERR_IO, "cannot open %s: %s", path, strerror(errno));
    gnutls_hash_hd_t h;
    if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0) {
        fclose(f);
        return cerr_set(e, CERR_INTERNAL, "sha256 init failed");
    }
    char chunk[1 << 16];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) gnutls_hash(h, chunk, n);
    int bad = ferror(f);
    fclose(f);
    unsigned char md[32];
    gnutls_hash_deinit(h, md);
    if (bad) return cerr_set(e, CERR_IO, "cannot read %s", path);
    hex_encode(md, 32, out);
    return 0;
}

int env_secret(const char *name, char **out, cerr *e) {
    *out = NULL;
    const char *v = getenv(name);
    if (v && *v) {
        *out = strdup(v);
        return *out ? 0 : cerr_set(e, CERR_NOMEM, "out of memory");
    }
    char fname[256];
    if (sbprintf(fname, sizeof fname, "%s_FILE", name)) return cerr_set(e, CERR_INVALID, "name too long");
    const char *path = getenv(fname);
    if (!path || !*path) return 0;
    buf b;
    if (read_file_capped(path, 64 * 1024, &b, e)) return cerr_wrap(e, "%s", fname);
    while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r')) b.data[--b.len] = '\0';
    *out = buf_steal(&b);
    return 0;
}

const char *env_or(const char *name, const char *fallback) {
    const char *v = getenv(name);
    return (v && *v) ? v : fallback;
}
