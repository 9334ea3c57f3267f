/* tensorfile.h - read-only access to the tensors of a checkpoint file: model.safetensors or a PyTorch
 * pytorch_model.bin (zip archive + restricted pickle). The file is mapped, never executed; tensors point into
 * the mapping (zero copy) until the file is closed. Every offset and size is checked against the file. */
#ifndef CHATTER_SENTIMENT_ROBERTA_TENSORFILE_H
#define CHATTER_SENTIMENT_ROBERTA_TENSORFILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define TF_MAX_DIMS 4

typedef enum tf_dtype { TF_F32 = 0, TF_F16, TF_BF16, TF_I64 } tf_dtype;

typedef struct tf_tensor {
    char *name;
    tf_dtype dtype;
    int ndim;
    int64_t shape[TF_MAX_DIMS];
    int64_t numel;
    const unsigned char *data; /* into the mapping; not necessarily aligned */
    size_t nbytes;
} tf_tensor;

typedef struct tensorfile tensorfile;

/* Opens either format, chosen by content (zip magic or safetensors header). */
int tensorfile_open(const char *path, tensorfile **out, cerr *e) CH_MUST_USE;
void tensorfile_close(tensorfile *tf);

const char *tensorfile_path(const tensorfile *tf);
const char *tensorfile_format(const tensorfile *tf); /* "safetensors" or "pytorch" */
size_t tensorfile_count(const tensorfile *tf);
const tf_tensor *tensorfile_at(const tensorfile *tf, size_t i);
const tf_tensor *tensorfile_find(const tensorfile *tf, const char *name);
const char *tf_dtype_name(tf_dtype d);
size_t tf_dtype_size(tf_dtype d);

/* Checks that tensor `name` exists with exactly this shape and a float dtype, then converts it to fp32 into
 * dst (numel floats). Pages of the mapping are dropped after they are copied, so loading a model does not hold
 * the file and the copy in memory at once. Errors name the file and the tensor. */
int tensorfile_read_f32(const tensorfile *tf, const char *name, int ndim, const int64_t *shape, float *dst,
                        cerr *e) CH_MUST_USE;
/* The two halves of tensorfile_read_f32, for converting a large tensor piece by piece: check name, shape and
 * dtype; then convert elements [start, start+count) of it. */
int tensorfile_check(const tensorfile *tf, const char *name, int ndim, const int64_t *shape, const tf_tensor **t,
                     cerr *e) CH_MUST_USE;
void tensorfile_copy_f32(const tf_tensor *t, int64_t start, int64_t count, float *dst);

/* --- for the two format parsers (tensorfile.c owns the list and the mapping) --- */
int tensorfile_add_(tensorfile *tf, const char *name, size_t name_len, tf_dtype dtype, int ndim,
                    const int64_t *shape, const unsigned char *data, size_t nbytes, cerr *e) CH_MUST_USE;
int safetensors_parse_(tensorfile *tf, const unsigned char *map, size_t size, cerr *e) CH_MUST_USE;
int torchzip_parse_(tensorfile *tf, const unsigned char *map, size_t size, cerr *e) CH_MUST_USE;

/* The restricted pickle reader: runs only the opcodes a torch state_dict uses and accepts only the globals
 * collections.OrderedDict, torch._utils._rebuild_tensor_v2 and torch.{Float,Half,BFloat16,Long}Storage.
 * For each tensor it calls `emit` with the storage key (the zip entry "data/<key>"), element offset, shape and
 * strides. Nothing is imported or executed. */
typedef int (*pickle_tensor_fn)(void *ctx, const char *name, size_t name_len, const char *storage_key,
                                tf_dtype dtype, int64_t storage_numel, int64_t offset, int ndim,
                                const int64_t *shape, const int64_t *stride, cerr *e);
int pickle_read_state_dict_(const unsigned char *data, size_t size, pickle_tensor_fn emit, void *ctx,
                            cerr *e) CH_MUST_USE;

#endif
