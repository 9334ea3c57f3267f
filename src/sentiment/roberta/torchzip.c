/* torchzip.c - pytorch_model.bin as written by torch.save (>= 1.6): a zip archive holding <prefix>/data.pkl
 * (the state_dict pickle) and one stored (uncompressed) entry <prefix>/data/<key> per storage.
 *
 * The central directory is parsed here rather than through libzip/minizip because the tensors must stay
 * zero-copy in the mapping: we need each stored entry's data offset, which those libraries do not expose. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sentiment/roberta/tensorfile.h"

#define ZIP_MAX_ENTRIES 200000
#define PICKLE_MAX_BYTES ((size_t)64 << 20)

typedef struct zentry {
    const char *name;
    size_t name_len;
    const unsigned char *data;
    uint64_t size;
} zentry;

typedef struct zctx {
    tensorfile *tf;
    zentry *ent;
    size_t n;
    const char *prefix;
    size_t prefix_len;
} zctx;

static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static const zentry *zfind(const zctx *z, const char *suffix, size_t slen) {
    for (size_t i = 0; i < z->n; i++)
        if (z->ent[i].name_len == z->prefix_len + slen && memcmp(z->ent[i].name, z->prefix, z->prefix_len) == 0 &&
            memcmp(z->ent[i].name + z->prefix_len, suffix, slen) == 0)
            return &z->ent[i];
    return NULL;
}

static int read_central_directory(const unsigned char *map, size_t size, zctx *z, cerr *e) {
    if (size < 22) return cerr_set(e, CERR_INVALID, "zip archive truncated");
    size_t lo = size > 22 + 65535 ? size - 22 - 65535 : 0, eocd = (size_t)-1;
    for (size_t i = size - 22 + 1; i-- > lo;)
        if (rd32(map + i) == 0x06054b50) {
            eocd = i;
            break;
        }
    if (eocd == (size_t)-1) return cerr_set(e, CERR_INVALID, "zip end-of-directory record not found (truncated?)");
    uint64_t count = rd16(map + eocd + 10), cd_size = rd32(map + eocd + 12), cd_off = rd32(map + eocd + 16);
    if (count == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu) {
        if (eocd < 20 || rd32(map + eocd - 20) != 0x07064b50)
            return cerr_set(e, CERR_INVALID, "zip64 locator missing");
        uint64_t z64 = rd64(map + eocd - 20 + 8);
        if (z64 > size - 56 || rd32(map + z64) != 0x06064b50)
            return cerr_set(e, CERR_INVALID, "zip64 end-of-directory record outside the file");
        count = rd64(map + z64 + 32);
        cd_size = rd64(map + z64 + 40);
        cd_off = rd64(map + z64 + 48);
    }
    if (count > ZIP_MAX_ENTRIES) return cerr_set(e, CERR_TOOBIG, "zip archive has %llu entries", (unsigned long long)count);
    if (cd_off > size || cd_size > size - cd_off) return cerr_set(e, CERR_INVALID, "zip directory outside the file (truncated?)");
    z->ent = calloc(count ? count : 1, sizeof *z->ent);
    if (!z->ent) return cerr_set(e, CERR_NOMEM, "out of memory");
    const unsigned char *p = map + cd_off, *end = p + cd_size;
    for (uint64_t i = 0; i < count; i++) {
        if (end - p < 46 || rd32(p) != 0x02014b50) return cerr_set(e, CERR_INVALID, "zip directory entry %llu is corrupt", (unsigned long long)i);
        uint16_t method = rd16(p + 10), nlen = rd16(p + 28), xlen = rd16(p + 30), clen = rd16(p + 32);
        uint64_t csize = rd32(p + 20), usize = rd32(p + 24), loff = rd32(p + 42);
        if ((size_t)(end - p) < 46u + nlen + xlen + clen) return cerr_set(e, CERR_INVALID, "zip directory entry %llu is truncated", (unsigned long long)i);
        const unsigned char *name = p + 46, *x = name + nlen, *xend = x + xlen;
        while (xend - x >= 4) { /* zip64 extra field: 64-bit values for the fields saturated above */
            uint16_t id = rd16(x), len = rd16(x + 2);
            if ((size_t)(xend - x - 4) < len) break;
            if (id == 0x0001) {
                const unsigned char *q = x + 4, *qe = q + len;
                if (usize == 0xffffffffu && qe - q >= 8) { usize = rd64(q); q += 8; }
                if (csize == 0xffffffffu && qe - q >= 8) { csize = rd64(q); q += 8; }
                if (loff == 0xffffffffu && qe - q >= 8) { loff = rd64(q); q += 8; }
            }
            x += 4 + len;
        }
        if (method != 0 || csize != usize)
            return cerr_set(e, CERR_INVALID, "zip entry '%.*s' is compressed (method %u); torch.save stores entries uncompressed",
                            (int)nlen, (const char *)name, method);
        if (loff > size - 30 || rd32(map + loff) != 0x04034b50)
            return cerr_set(e, CERR_INVALID, "zip entry '%.*s': local header outside the file (truncated?)", (int)nlen, (const char *)name);
        uint64_t doff = loff + 30 + rd16(map + loff + 26) + rd16(map + loff + 28);
        if (doff > size || usize > size - doff)
            return cerr_set(e, CERR_INVALID, "zip entry '%.*s': data outside the file (truncated?)", (int)nlen, (const char *)name);
        z->ent[z->n++] = (zentry){(const char *)name, nlen, map + doff, usize};
        p += 46 + nlen + xlen + clen;
    }
    return 0;
}

static int emit_tensor(void *ctx, const char *name, size_t name_len, const char *key, tf_dtype dtype,
                       int64_t storage_numel, int64_t offset, int ndim, const int64_t *shape, const int64_t *stride,
                       cerr *e) {
    zctx *z = ctx;
    char suffix[300];
    if (snprintf(suffix, sizeof suffix, "data/%s", key) >= (int)sizeof suffix)
        return cerr_set(e, CERR_INVALID, "tensor '%.*s': storage key too long", (int)name_len, name);
    const zentry *ze = zfind(z, suffix, strlen(suffix));
    if (!ze) return cerr_set(e, CERR_INVALID, "tensor '%.*s': storage '%s' missing from the archive", (int)name_len, name, key);
    size_t esz = tf_dtype_size(dtype);
    if (storage_numel < 0 || (uint64_t)storage_numel > ze->size / esz)
        return cerr_set(e, CERR_INVALID, "tensor '%.*s': storage '%s' holds %llu bytes, %lld elements declared (truncated?)",
                        (int)name_len, name, key, (unsigned long long)ze->size, (long long)storage_numel);
    int64_t numel = 1, expect = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        if (shape[i] != 1 && stride[i] != expect)
            return cerr_set(e, CERR_INVALID, "tensor '%.*s' is not contiguous", (int)name_len, name);
        if (__builtin_mul_overflow(expect, shape[i], &expect))
            return cerr_set(e, CERR_INVALID, "tensor '%.*s' has an impossible shape", (int)name_len, name);
    }
    numel = expect;
    if (offset < 0 || numel < 0 || offset > storage_numel || numel > storage_numel - offset)
        return cerr_set(e, CERR_INVALID, "tensor '%.*s' lies outside its storage", (int)name_len, name);
    return tensorfile_add_(z->tf, name, name_len, dtype, ndim, shape, ze->data + (size_t)offset * esz, (size_t)numel * esz, e);
}

int torchzip_parse_(tensorfile *tf, const unsigned char *map, size_t size, cerr *e) {
    zctx z = {.tf = tf};
    int rc = read_central_directory(map, size, &z, e);
    if (rc == 0) {
        const zentry *pk = NULL;
        for (size_t i = 0; i < z.n; i++) {
            const zentry *ze = &z.ent[i];
            if (ze->name_len >= 8 && memcmp(ze->name + ze->name_len - 8, "data.pkl", 8) == 0 &&
                (ze->name_len == 8 || ze->name[ze->name_len - 9] == '/') &&
                memchr(ze->name, '/', ze->name_len - 8 ? ze->name_len - 9 : 0) == NULL) {
                pk = ze;
                break;
            }
        }
        if (!pk) {
            rc = cerr_set(e, CERR_INVALID, "no data.pkl in the archive (not a torch.save file?)");
        } else {
            z.prefix = pk->name;
            z.prefix_len = pk->name_len - 8;
            const zentry *bo = zfind(&z, "byteorder", 9);
            if (bo && !(bo->size == 6 && memcmp(bo->data, "little", 6) == 0))
                rc = cerr_set(e, CERR_INVALID, "big-endian checkpoints are not supported");
            else if (pk->size > PICKLE_MAX_BYTES)
                rc = cerr_set(e, CERR_TOOBIG, "data.pkl is %llu bytes (limit %zu)", (unsigned long long)pk->size, PICKLE_MAX_BYTES);
            else rc = pickle_read_state_dict_(pk->data, (size_t)pk->size, emit_tensor, &z, e);
        }
    }
    free(z.ent);
    return rc;
}
