/* safetensors.c - the safetensors layout: 8-byte little-endian header length, a JSON header
 * {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the raw data. */
#include <jansson.h>
#include <string.h>

#include "sentiment/roberta/tensorfile.h"

/* The real header of roberta-base is ~20 KB; the format's own reference reader caps it at 100 MB. */
#define ST_MAX_HEADER ((uint64_t)100 << 20)

static int parse_dtype(const char *s, tf_dtype *d) {
    if (strcmp(s, "F32") == 0) *d = TF_F32;
    else if (strcmp(s, "F16") == 0) *d = TF_F16;
    else if (strcmp(s, "BF16") == 0) *d = TF_BF16;
    else if (strcmp(s, "I64") == 0) *d = TF_I64;
    else return -1;
    return 0;
}

int safetensors_parse_(tensorfile *tf, const unsigned char *map, size_t size, cerr *e) {
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | map[i];
    if (hlen < 2 || hlen > ST_MAX_HEADER || hlen > size - 8)
        return cerr_set(e, CERR_INVALID,
                        "not a safetensors file, or truncated (header length %llu, file size %zu)",
                        (unsigned long long)hlen, size);
    json_error_t je;
    json_t *root = json_loadb((const char *)map + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return cerr_set(e, CERR_INVALID, "safetensors header is not a JSON object: %s", je.text);
    }
    const unsigned char *data = map + 8 + hlen;
    size_t data_size = size - 8 - (size_t)hlen;
    const char *name;
    json_t *v;
    int rc = 0;
    json_object_foreach(root, name, v) {
        if (strcmp(name, "__metadata__") == 0) continue;
        json_t *jd = json_object_get(v, "dtype"), *js = json_object_get(v, "shape"),
               *jo = json_object_get(v, "data_offsets");
        tf_dtype dt;
        if (!json_is_string(jd) || !json_is_array(js) || !json_is_array(jo) || json_array_size(jo) != 2) {
            rc = cerr_set(e, CERR_INVALID, "tensor '%s': malformed header entry", name);
            break;
        }
        if (parse_dtype(json_string_value(jd), &dt)) {
            rc = cerr_set(e, CERR_INVALID, "tensor '%s': unsupported dtype %s (F32, F16, BF16 or I64 expected)", name,
                          json_string_value(jd));
            break;
        }
        size_t nd = json_array_size(js);
        if (nd > TF_MAX_DIMS) {
            rc = cerr_set(e, CERR_INVALID, "tensor '%s': %zu dimensions", name, nd);
            break;
        }
        int64_t shape[TF_MAX_DIMS];
        for (size_t i = 0; i < nd && rc == 0; i++) {
            json_t *x = json_array_get(js, i);
            if (!json_is_integer(x) || json_integer_value(x) < 0)
                rc = cerr_set(e, CERR_INVALID, "tensor '%s': bad shape", name);
            else shape[i] = json_integer_value(x);
        }
        if (rc) break;
        json_t *b = json_array_get(jo, 0), *en = json_array_get(jo, 1);
        if (!json_is_integer(b) || !json_is_integer(en) || json_integer_value(b) < 0 ||
            json_integer_value(en) < json_integer_value(b) || (uint64_t)json_integer_value(en) > data_size) {
            rc = cerr_set(e, CERR_INVALID, "tensor '%s': data offsets outside the file (truncated?)", name);
            break;
        }
        size_t off = (size_t)json_integer_value(b), nbytes = (size_t)(json_integer_value(en) - json_integer_value(b));
        if (tensorfile_add_(tf, name, strlen(name), dt, (int)nd, shape, data + off, nbytes, e)) {
            rc = -1;
            break;
        }
    }
    json_decref(root);
    return rc;
}
