/* kernels.c - the element-wise and int8 kernels of the forward pass. The int8 GEMM has three versions chosen at
 * run time: AVX-VNNI (vpdpbusd), AVX2 (vpmaddubsw with the sign trick) and portable C. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "sentiment/roberta/internal.h"

#if defined(CHATTER_X86)
#include <immintrin.h>
#endif

void k_layernorm_residual(float *x, const float *add, const float *w, const float *b, int n, float eps) {
    float mean = 0, var = 0;
    if (add)
        for (int i = 0; i < n; i++) x[i] += add[i];
    for (int i = 0; i < n; i++) mean += x[i];
    mean /= (float)n;
    for (int i = 0; i < n; i++) {
        float d = x[i] - mean;
        var += d * d;
    }
    var /= (float)n;
    float inv = 1.0f / sqrtf(var + eps);
    for (int i = 0; i < n; i++) x[i] = (x[i] - mean) * inv * w[i] + b[i];
}

/* erf as a rational function on [-4, 4] (beyond which erf is ±1 in float): the approximation used by Eigen and
 * XLA, within a few ulp of erff, and branch-free so the loop vectorises. */
static inline float fast_erf(float a) {
    float x = fminf(fmaxf(a, -4.0f), 4.0f), x2 = x * x;
    float p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
    p = x2 * p + -2.10102402082508e-06f;
    p = x2 * p + -5.69250639462346e-05f;
    p = x2 * p + -7.34990630326855e-04f;
    p = x2 * p + -2.95459980854025e-03f;
    p = x2 * p + -1.60960333262415e-02f;
    p = x * p;
    float q = x2 * -1.45660718464996e-05f + -2.13374055278905e-04f;
    q = x2 * q + -1.68282697438203e-03f;
    q = x2 * q + -7.37332916720468e-03f;
    q = x2 * q + -1.42647390514189e-02f;
    return p / q;
}

#if defined(CHATTER_X86)
__attribute__((target("avx2,fma"))) static void gelu_avx2(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + fast_erf(x[i] * 0.70710678118654752f));
}
#endif

static void gelu_c(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + fast_erf(x[i] * 0.70710678118654752f));
}

void k_gelu(float *x, size_t n) {
#if defined(CHATTER_X86)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        gelu_avx2(x, n);
        return;
    }
#endif
    gelu_c(x, n);
}

void k_softmax_row(float *x, int n) {
    float mx = x[0], sum = 0;
    for (int i = 1; i < n; i++) mx = fmaxf(mx, x[i]);
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = 1.0f / sum;
    for (int i = 0; i < n; i++) x[i] *= inv;
}

float k_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        float f = ldexpf((float)man, -24);
        return sign ? -f : f;
    }
    bits = exp == 31 ? (sign | 0x7f800000u | (man << 13)) : (sign | ((exp - 15 + 127) << 23) | (man << 13));
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t k_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    float a = fabsf(f);
    if (!(a == a)) return sign | 0x7e00;
    if (a >= 65520.0f) return sign | 0x7c00;
    if (a < 6.103515625e-05f) /* subnormal half: multiples of 2^-24, round to nearest even */
        return sign | (uint16_t)lrintf(a * 16777216.0f);
    memcpy(&x, &a, 4);
    uint32_t e = (x >> 23) - 127 + 15, m = x & 0x7fffff;
    uint32_t h = (e << 10) | (m >> 13), rest = m & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++; /* carries into the exponent correctly */
    return sign | (uint16_t)h;
}

static void quantize_rows_c(const float *x, int m, int k, int lda, int kpad, int8_t *xq, float *xs) {
    for (int i = 0; i < m; i++) {
        const float *r = x + (size_t)i * lda;
        float amax = 0;
        for (int j = 0; j < k; j++) amax = fmaxf(amax, fabsf(r[j]));
        float s = amax > 0 ? amax / 127.0f : 1.0f, inv = 1.0f / s;
        xs[i] = s;
        int8_t *q = xq + (size_t)i * kpad;
        for (int j = 0; j < k; j++) q[j] = (int8_t)lrintf(r[j] * inv);
        for (int j = k; j < kpad; j++) q[j] = 0;
    }
}

static void int8_gemm_c(const int8_t *xq, const float *xs, int m, const int8_t *wq, const float *ws, const float *b,
                        int n0, int n1, int kpad, float *y, int ldy) {
    for (int i = 0; i < m; i++) {
        const int8_t *xr = xq + (size_t)i * kpad;
        for (int j = n0; j < n1; j++) {
            const int8_t *wr = wq + (size_t)j * kpad;
            int32_t acc = 0;
            for (int k = 0; k < kpad; k++) acc += (int32_t)xr[k] * wr[k];
            y[(size_t)i * ldy + j] = xs[i] * ws[j] * (float)acc + b[j];
        }
    }
}

#if defined(CHATTER_X86)
__attribute__((target("avx2"))) static inline int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* u8·s8 products via the sign trick: |x| times w carrying x's sign never needs x to be unsigned, and with both
 * sides in [-127, 127] a vpmaddubsw pair sum (<= 32258) cannot saturate. */
__attribute__((target("avx2"))) static inline __m256i dot_step_avx2(__m256i acc, __m256i ax, __m256i x, __m256i w,
                                                                       __m256i ones) {
    __m256i p = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(w, x));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
}

#define MB 4
#define NB 2
__attribute__((target("avx2"))) static void int8_gemm_avx2(const int8_t *xq, const float *xs, int m, const int8_t *wq,
                                                           const float *ws, const float *b, int n0, int n1, int kpad,
                                                           float *y, int ldy) {
    const __m256i ones = _mm256_set1_epi16(1);
    const int NBLK = 64; /* weight rows kept hot in L1/L2 while every activation row passes over them */
    for (int jb = n0; jb < n1; jb += NBLK) {
        int je = jb + NBLK < n1 ? jb + NBLK : n1;
        int i = 0;
        for (; i + MB <= m; i += MB) {
            int j = jb;
            for (; j + NB <= je; j += NB) {
                __m256i a00 = _mm256_setzero_si256(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00,
                        a30 = a00, a31 = a00;
                const int8_t *x0 = xq + (size_t)i * kpad, *x1 = x0 + kpad, *x2 = x1 + kpad, *x3 = x2 + kpad;
                for (int k = 0; k < kpad; k += 32) {
                    __m256i w0 = _mm256_load_si256((const __m256i *)(wq + (size_t)j * kpad + k));
                    __m256i w1 = _mm256_load_si256((const __m256i *)(wq + (size_t)(j + 1) * kpad + k));
                    __m256i x = _mm256_load_si256((const __m256i *)(x0 + k)), ax = _mm256_abs_epi8(x);
                    a00 = dot_step_avx2(a00, ax, x, w0, ones);
                    a01 = dot_step_avx2(a01, ax, x, w1, ones);
                    x = _mm256_load_si256((const __m256i *)(x1 + k)), ax = _mm256_abs_epi8(x);
                    a10 = dot_step_avx2(a10, ax, x, w0, ones);
                    a11 = dot_step_avx2(a11, ax, x, w1, ones);
                    x = _mm256_load_si256((const __m256i *)(x2 + k)), ax = _mm256_abs_epi8(x);
                    a20 = dot_step_avx2(a20, ax, x, w0, ones);
                    a21 = dot_step_avx2(a21, ax, x, w1, ones);
                    x = _mm256_load_si256((const __m256i *)(x3 + k)), ax = _mm256_abs_epi8(x);
                    a30 = dot_step_avx2(a30, ax, x, w0, ones);
                    a31 = dot_step_avx2(a31, ax, x, w1, ones);
                }
                __m256i acc[MB][NB] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
                for (int a = 0; a < MB; a++)
                    for (int c = 0; c < NB; c++)
                        y[(size_t)(i + a) * ldy + j + c] = xs[i + a] * ws[j + c] * (float)hsum_epi32(acc[a][c]) + b[j + c];
            }
            if (j < je) int8_gemm_c(xq + (size_t)i * kpad, xs + i, MB, wq, ws, b, j, je, kpad, y + (size_t)i * ldy, ldy);
        }
        if (i < m) int8_gemm_c(xq + (size_t)i * kpad, xs + i, m - i, wq, ws, b, jb, je, kpad, y + (size_t)i * ldy, ldy);
    }
}

/* vpdpbusd multiplies unsigned by signed bytes without saturation: feed x+128 (x XOR 0x80) and subtract
 * 128·Σw (precomputed per weight row) afterwards. 4 activation rows × 3 weight rows per tile: 12 accumulators. */
__attribute__((target("avx2,avxvnni"))) static void int8_gemm_vnni(const int8_t *xq, const float *xs, int m,
                                                                    const int8_t *wq, const float *ws,
                                                                    const int32_t *wsum, const float *b, int n0,
                                                                    int n1, int kpad, float *y, int ldy) {
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    const int NBLK = 48;
    for (int jb = n0; jb < n1; jb += NBLK) {
        int je = jb + NBLK < n1 ? jb + NBLK : n1;
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            const int8_t *x0 = xq + (size_t)i * kpad, *x1 = x0 + kpad, *x2 = x1 + kpad, *x3 = x2 + kpad;
            int j = jb;
            for (; j + 3 <= je; j += 3) {
                const int8_t *w0 = wq + (size_t)j * kpad, *w1 = w0 + kpad, *w2 = w1 + kpad;
                __m256i a00 = _mm256_setzero_si256(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00,
                        a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
                for (int k = 0; k < kpad; k += 32) {
                    __m256i v0 = _mm256_load_si256((const __m256i *)(w0 + k));
                    __m256i v1 = _mm256_load_si256((const __m256i *)(w1 + k));
                    __m256i v2 = _mm256_load_si256((const __m256i *)(w2 + k));
                    __m256i u = _mm256_xor_si256(_mm256_load_si256((const __m256i *)(x0 + k)), flip);
                    a00 = _mm256_dpbusd_avx_epi32(a00, u, v0);
                    a01 = _mm256_dpbusd_avx_epi32(a01, u, v1);
                    a02 = _mm256_dpbusd_avx_epi32(a02, u, v2);
                    u = _mm256_xor_si256(_mm256_load_si256((const __m256i *)(x1 + k)), flip);
                    a10 = _mm256_dpbusd_avx_epi32(a10, u, v0);
                    a11 = _mm256_dpbusd_avx_epi32(a11, u, v1);
                    a12 = _mm256_dpbusd_avx_epi32(a12, u, v2);
                    u = _mm256_xor_si256(_mm256_load_si256((const __m256i *)(x2 + k)), flip);
                    a20 = _mm256_dpbusd_avx_epi32(a20, u, v0);
                    a21 = _mm256_dpbusd_avx_epi32(a21, u, v1);
                    a22 = _mm256_dpbusd_avx_epi32(a22, u, v2);
                    u = _mm256_xor_si256(_mm256_load_si256((const __m256i *)(x3 + k)), flip);
                    a30 = _mm256_dpbusd_avx_epi32(a30, u, v0);
                    a31 = _mm256_dpbusd_avx_epi32(a31, u, v1);
                    a32 = _mm256_dpbusd_avx_epi32(a32, u, v2);
                }
                __m256i acc[4][3] = {{a00, a01, a02}, {a10, a11, a12}, {a20, a21, a22}, {a30, a31, a32}};
                for (int r = 0; r < 4; r++)
                    for (int c = 0; c < 3; c++)
                        y[(size_t)(i + r) * ldy + j + c] =
                            xs[i + r] * ws[j + c] * (float)(hsum_epi32(acc[r][c]) - 128 * wsum[j + c]) + b[j + c];
            }
            if (j < je) int8_gemm_c(xq + (size_t)i * kpad, xs + i, 4, wq, ws, b, j, je, kpad, y + (size_t)i * ldy, ldy);
        }
        if (i < m) int8_gemm_c(xq + (size_t)i * kpad, xs + i, m - i, wq, ws, b, jb, je, kpad, y + (size_t)i * ldy, ldy);
    }
}

__attribute__((target("avx2"))) static void quantize_rows_avx2(const float *x, int m, int k, int lda, int kpad,
                                                               int8_t *xq, float *xs) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int i = 0; i < m; i++) {
        const float *r = x + (size_t)i * lda;
        __m256 mx = _mm256_setzero_ps();
        int j = 0;
        for (; j + 8 <= k; j += 8) mx = _mm256_max_ps(mx, _mm256_andnot_ps(sign, _mm256_loadu_ps(r + j)));
        float amax = 0, t[8];
        _mm256_storeu_ps(t, mx);
        for (int q = 0; q < 8; q++) amax = fmaxf(amax, t[q]);
        for (; j < k; j++) amax = fmaxf(amax, fabsf(r[j]));
        float s = amax > 0 ? amax / 127.0f : 1.0f, inv = 1.0f / s;
        xs[i] = s;
        int8_t *q = xq + (size_t)i * kpad;
        __m256 vinv = _mm256_set1_ps(inv);
        j = 0;
        for (; j + 32 <= k; j += 32) { /* round half to even, as lrintf */
            __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(r + j), vinv));
            __m256i b2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(r + j + 8), vinv));
            __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(r + j + 16), vinv));
            __m256i d = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(r + j + 24), vinv));
            __m256i ab = _mm256_packs_epi32(a, b2), cd = _mm256_packs_epi32(c, d);
            __m256i p = _mm256_packs_epi16(ab, cd); /* lanes interleaved: 0 4 1 5 2 6 3 7 (in 32-bit groups) */
            p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(q + j), p);
        }
        for (; j < k; j++) q[j] = (int8_t)lrintf(r[j] * inv);
        for (; j < kpad; j++) q[j] = 0;
    }
}
#endif

static int pick(void) {
#if defined(CHATTER_X86)
    if (__builtin_cpu_supports("avxvnni") && __builtin_cpu_supports("avx2")) return 2;
    if (__builtin_cpu_supports("avx2")) return 1;
#endif
    return 0;
}

const char *k_int8_kernel_name(void) {
    static const char *names[] = {"portable C", "avx2", "avx-vnni"};
    return names[pick()];
}

void k_quantize_rows(const float *x, int m, int k, int lda, int kpad, int8_t *xq, float *xs) {
#if defined(CHATTER_X86)
    if (pick() >= 1) {
        quantize_rows_avx2(x, m, k, lda, kpad, xq, xs);
        return;
    }
#endif
    quantize_rows_c(x, m, k, lda, kpad, xq, xs);
}

int k_int8_gemm_impl(int impl, const int8_t *xq, const float *xs, int m, const int8_t *wq, const float *ws,
                     const int32_t *wsum, const float *b, int n0, int n1, int kpad, float *y, int ldy) {
    if (impl < 0 || impl > pick()) return -1;
    switch (impl) {
#if defined(CHATTER_X86)
    case 2: int8_gemm_vnni(xq, xs, m, wq, ws, wsum, b, n0, n1, kpad, y, ldy); return 0;
    case 1: int8_gemm_avx2(xq, xs, m, wq, ws, b, n0, n1, kpad, y, ldy); return 0;
#endif
    default: int8_gemm_c(xq, xs, m, wq, ws, b, n0, n1, kpad, y, ldy); return 0;
    }
}

void k_int8_gemm(const int8_t *xq, const float *xs, int m, const int8_t *wq, const float *ws, const int32_t *wsum,
                 const float *b, int n0, int n1, int kpad, float *y, int ldy) {
    (void)k_int8_gemm_impl(pick(), xq, xs, m, wq, ws, wsum, b, n0, n1, kpad, y, ldy);
}
