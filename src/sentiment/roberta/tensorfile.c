/* tensorfile.c - the mapping, the tensor list and fp32 conversion shared by both checkpoint formats. */
#include "sentiment/roberta/tensorfile.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"

/* Far above roberta-large in fp32 (1.4 GB); a bound on what we are willing to map. */
#define TF_MAX_FILE_BYTES ((size_t)8 << 30)
#define TF_MAX_TENSORS 100000

struct tensorfile {
    char *path;
    const char *format;
    unsigned char *map;
    size_t size;
    tf_tensor *t;
    size_t n, cap;
};

const char *tf_dtype_name(tf_dtype d) {
    switch (d) {
    case TF_F32: return "F32";
    case TF_F16: return "F16";
    case TF_BF16: return "BF16";
    case TF_I64: return "I64";
    }
    return "?";
}

size_t tf_dtype_size(tf_dtype d) {
    switch (d) {
    case TF_F32: return 4;
    case TF_F16: return 2;
    case TF_BF16: return 2;
    case TF_I64: return 8;
    }
    return 0;
}

int tensorfile_add_(tensorfile *tf, const char *name, size_t name_len, tf_dtype dtype, int ndim,
                    const int64_t *shape, const unsigned char *data, size_t nbytes, cerr *e) {
    if (ndim < 0 || ndim > TF_MAX_DIMS)
        return cerr_set(e, CERR_INVALID, "tensor '%.*s' has %d dimensions (at most %d supported)", (int)name_len,
                        name, ndim, TF_MAX_DIMS);
    if (tf->n >= TF_MAX_TENSORS) return cerr_set(e, CERR_TOOBIG, "more than %d tensors", TF_MAX_TENSORS);
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] > 0 && numel > INT64_MAX / 16 / shape[i]))
            return cerr_set(e, CERR_INVALID, "tensor '%.*s' has an invalid shape", (int)name_len, name);
        numel *= shape[i];
    }
    if ((uint64_t)numel * tf_dtype_size(dtype) != nbytes)
        return cerr_set(e, CERR_INVALID, "tensor '%.*s': %zu bytes of data for %lld %s elements", (int)name_len, name,
                        nbytes, (long long)numel, tf_dtype_name(dtype));
    if (data < tf->map || nbytes > tf->size || (size_t)(data - tf->map) > tf->size - nbytes)
        return cerr_set(e, CERR_INVALID, "tensor '%.*s': data lies outside the file (truncated?)", (int)name_len,
                        name);
    for (size_t i = 0; i < tf->n; i++)
        if (strlen(tf->t[i].name) == name_len && memcmp(tf->t[i].name, name, name_len) == 0)
            return cerr_set(e, CERR_INVALID, "tensor '%.*s' appears twice", (int)name_len, name);
    if (tf->n == tf->cap) {
        size_t cap = tf->cap ? tf->cap * 2 : 256;
        tf_tensor *p = realloc(tf->t, cap * sizeof *p);
        if (!p) return cerr_set(e, CERR_NOMEM, "out of memory");
        tf->t = p;
        tf->cap = cap;
    }
    tf_tensor *t = &tf->t[tf->n];
    memset(t, 0, sizeof *t);
    t->name = xstrndup(name, name_len);
    if (!t->name) return cerr_set(e, CERR_NOMEM, "out of memory");
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->numel = numel;
    t->data = data;
    t->nbytes = nbytes;
    tf->n++;
    return 0;
}

int tensorfile_open(const char *path, tensorfile **out, cerr *e) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cerr_set(e, errno == ENOENT ? CERR_NOTFOUND : CERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return cerr_set(e, CERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > TF_MAX_FILE_BYTES) {
        close(fd);
        return cerr_set(e, CERR_TOOBIG, "%s: %lld bytes is larger than the %zu-byte limit", path,
                        (long long)st.st_size, TF_MAX_FILE_BYTES);
    }
    if (st.st_size < 8) {
        close(fd);
        return cerr_set(e, CERR_INVALID, "%s: file too short to be a checkpoint (truncated?)", path);
    }
    tensorfile *tf = calloc(1, sizeof *tf);
    if (!tf) {
        close(fd);
        return cerr_set(e, CERR_NOMEM, "out of memory");
    }
    tf->path = xstrdup(path);
    tf->size = (size_t)st.st_size;
    void *m = mmap(NULL, tf->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED || !tf->path) {
        if (m != MAP_FAILED) munmap(m, tf->size);
        free(tf->path);
        free(tf);
        return cerr_set(e, CERR_IO, "%s: cannot map the file", path);
    }
    tf->map = m;
    int rc;
    if (memcmp(tf->map, "PK\x03\x04", 4) == 0) {
        tf->format = "pytorch";
        rc = torchzip_parse_(tf, tf->map, tf->size, e);
    } else {
        tf->format = "safetensors";
        rc = safetensors_parse_(tf, tf->map, tf->size, e);
    }
    if (rc) {
        cerr_wrap(e, "%s", path);
        tensorfile_close(tf);
        return -1;
    }
    *out = tf;
    return 0;
}

void tensorfile_close(tensorfile *tf) {
    if (!tf) return;
    for (size_t i = 0; i < tf->n; i++) free(tf->t[i].name);
    free(tf->t);
    if (tf->map) munmap(tf->map, tf->size);
    free(tf->path);
    free(tf);
}

const char *tensorfile_path(const tensorfile *tf) { return tf->path; }
const char *tensorfile_format(const tensorfile *tf) { return tf->format; }
size_t tensorfile_count(const tensorfile *tf) { return tf->n; }
const tf_tensor *tensorfile_at(const tensorfile *tf, size_t i) { return i < tf->n ? &tf->t[i] : NULL; }

const tf_tensor *tensorfile_find(const tensorfile *tf, const char *name) {
    for (size_t i = 0; i < tf->n; i++)
        if (strcmp(tf->t[i].name, name) == 0) return &tf->t[i];
    return NULL;
}

static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            int sh = 0;
            while (!(man & 0x400)) {
                man <<= 1;
                sh++;
            }
            man &= 0x3ff;
            bits = sign | ((uint32_t)(127 - 15 - sh + 1) << 23) | (man << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp - 15 + 127) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Drops whole pages of [p, p+n) from our resident set; the page cache keeps them if memory allows. */
static void drop_pages(const unsigned char *p, size_t n) {
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)p + pg - 1) & ~(pg - 1), b = ((uintptr_t)p + n) & ~(pg - 1);
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

int tensorfile_check(const tensorfile *tf, const char *name, int ndim, const int64_t *shape, const tf_tensor **out,
                     cerr *e) {
    const tf_tensor *t = tensorfile_find(tf, name);
    if (!t) return cerr_set(e, CERR_INVALID, "%s: missing tensor '%s'", tf->path, name);
    bool same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char want[96] = "", got[96] = "";
        for (int i = 0; i < ndim; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? "," : "", (long long)shape[i]);
        for (int i = 0; i < t->ndim; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? "," : "", (long long)t->shape[i]);
        return cerr_set(e, CERR_INVALID, "%s: tensor '%s' has shape [%s], expected [%s]", tf->path, name, got, want);
    }
    if (t->dtype == TF_I64)
        return cerr_set(e, CERR_INVALID, "%s: tensor '%s' has dtype I64, expected a float type", tf->path, name);
    *out = t;
    return 0;
}

void tensorfile_copy_f32(const tf_tensor *t, int64_t start, int64_t count, float *dst) {
    /* Chunks keep the resident part of the mapping small while a large tensor is converted. */
    const int64_t chunk = (int64_t)1 << 20;
    size_t esz = tf_dtype_size(t->dtype);
    for (int64_t i0 = 0; i0 < count; i0 += chunk) {
        size_t n = (size_t)(count - i0 < chunk ? count - i0 : chunk);
        const unsigned char *src = t->data + (size_t)(start + i0) * esz;
        float *d = dst + i0;
        if (t->dtype == TF_F32) {
            memcpy(d, src, n * 4);
        } else {
            for (size_t k = 0; k < n; k++) {
                uint16_t h;
                memcpy(&h, src + 2 * k, 2);
                if (t->dtype == TF_F16) {
                    d[k] = f16_to_f32(h);
                } else {
                    uint32_t bits = (uint32_t)h << 16;
                    memcpy(&d[k], &bits, 4);
                }
            }
        }
        drop_pages(src, n * esz);
    }
}

int tensorfile_read_f32(const tensorfile *tf, const char *name, int ndim, const int64_t *shape, float *dst,
                        cerr *e) {
    const tf_tensor *t;
    if (tensorfile_check(tf, name, ndim, shape, &t, e)) return -1;
    tensorfile_copy_f32(t, 0, t->numel, dst);
    return 0;
}
