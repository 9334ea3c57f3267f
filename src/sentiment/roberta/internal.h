/* internal.h - the model's in-memory layout, shared by the loader, the forward pass and the kernels. */
#ifndef CHATTER_SENTIMENT_ROBERTA_INTERNAL_H
#define CHATTER_SENTIMENT_ROBERTA_INTERNAL_H

#include <stdint.h>

#include "sentiment/roberta/model.h"

/* A dense layer y = x·Wᵀ + b with W [out][in] row-major (PyTorch's layout, which cblas takes as-is with
 * CblasTrans). In int8 mode the fp32 weights are dropped and q holds rows padded to kpad with zeros. */
typedef struct rlin {
    int out, in, kpad;
    float *w;      /* fp32 [out][in], or NULL */
    int8_t *q;     /* int8 [out][kpad], or NULL */
    float *qscale; /* per output row */
    int32_t *qsum; /* per output row: Σ q, for kernels that shift activations to unsigned */
    float *b;
} rlin;

typedef struct rlayer {
    rlin qkv; /* query, key and value fused into one [3H][H] matrix: one GEMM instead of three */
    rlin ao, inter, out;
    float *ln1_w, *ln1_b, *ln2_w, *ln2_b;
} rlayer;

struct roberta_model {
    roberta_config cfg;
    roberta_quant quant;
    char format[16], src_dtype[8];
    int64_t params;
    size_t resident;
    float *word;      /* [vocab][H] fp32, or NULL in int8 mode */
    uint16_t *word16; /* [vocab][H] fp16 in int8 mode (embeddings are a lookup, not a GEMM) */
    float *pos;       /* [max_positions][H], token_type row 0 already added */
    float *emb_ln_w, *emb_ln_b;
    rlayer *layer;
    rlin cls_dense, cls_out;
};

/* kernels.c */
void k_layernorm_residual(float *x, const float *add, const float *w, const float *b, int n, float eps);
void k_gelu(float *x, size_t n);
void k_softmax_row(float *x, int n);
float k_f16_to_f32(uint16_t h);
uint16_t k_f32_to_f16(float f);
/* int8 (see kernels.c): activations per row as u8 with a zero point, x ≈ xs·(xq − xz); weights per row as
 * symmetric int8, w ≈ ws·wq, with wsum = Σ wq. Rows are kpad long (a multiple of 32, 32-byte aligned). */
void k_quantize_rows(const float *x, int m, int k, int lda, int kpad, uint8_t *xq, float *xs, int32_t *xz);
void k_quantize_rows_c(const float *x, int m, int k, int lda, int kpad, uint8_t *xq, float *xs, int32_t *xz);
/* y[i][j] (ld ldy) = xs[i]·ws[j]·(Σ xq[i]·wq[j] − xz[i]·wsum[j]) + b[j] for i < m, j in [n0, n1). */
void k_int8_gemm(const uint8_t *xq, const float *xs, const int32_t *xz, int m, const int8_t *wq, const float *ws,
                 const int32_t *wsum, const float *b, int n0, int n1, int kpad, float *y, int ldy);
const char *k_int8_kernel_name(void);
/* One specific version (0 portable C, 1 AVX2, 2 AVX-VNNI), for tests; -1 when this CPU lacks it. */
int k_int8_gemm_impl(int impl, const uint8_t *xq, const float *xs, const int32_t *xz, int m, const int8_t *wq,
                     const float *ws, const int32_t *wsum, const float *b, int n0, int n1, int kpad, float *y,
                     int ldy);

/* Zeroed memory aligned to 64 bytes for the SIMD kernels (size rounded up to the alignment, as
 * aligned_alloc requires); freed with free(). NULL when out of memory. */
void *roberta_zalloc(size_t bytes);

#endif
