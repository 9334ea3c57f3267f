/* kernels.c - the element-wise and int8 kernels of the forward pass. The int8 GEMM has three versions chosen at
 * run time: AVX-VNNI (vpdpbusd), AVX2 (vpmaddubsw with the sign trick) and portable C. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
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
/* The same rational erf, 8 lanes at a time (the scalar loop does not vectorise at -O2). */
__attribute__((target("avx2,fma"))) static void gelu_avx2(float *x, size_t n) {
    const __m256 lo = _mm256_set1_ps(-4.0f), hi = _mm256_set1_ps(4.0f), r2 = _mm256_set1_ps(0.70710678118654752f),
                 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 t = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v, r2), lo), hi), t2 = _mm256_mul_ps(t, t);
        __m256 p = _mm256_fmadd_ps(t2, _mm256_set1_ps(-2.72614225801306e-10f), _mm256_set1_ps(2.77068142495902e-08f));
        p = _mm256_fmadd_ps(t2, p, _mm256_set1_ps(-2.10102402082508e-06f));
        p = _mm256_fmadd_ps(t2, p, _mm256_set1_ps(-5.69250639462346e-05f));
        p = _mm256_fmadd_ps(t2, p, _mm256_set1_ps(-7.34990630326855e-04f));
        p = _mm256_fmadd_ps(t2, p, _mm256_set1_ps(-2.95459980854025e-03f));
        p = _mm256_fmadd_ps(t2, p, _mm256_set1_ps(-1.60960333262415e-02f));
        p = _mm256_mul_ps(t, p);
        __m256 q = _mm256_fmadd_ps(t2, _mm256_set1_ps(-1.45660718464996e-05f), _mm256_set1_ps(-2.13374055278905e-04f));
        q = _mm256_fmadd_ps(t2, q, _mm256_set1_ps(-1.68282697438203e-03f));
        q = _mm256_fmadd_ps(t2, q, _mm256_set1_ps(-7.37332916720468e-03f));
        q = _mm256_fmadd_ps(t2, q, _mm256_set1_ps(-1.42647390514189e-02f));
        __m256 erf = _mm256_div_ps(p, q);
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, erf)));
    }
    for (; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + fast_erf(x[i] * 0.70710678118654752f));
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

/* Activations are quantised per row, asymmetrically, to u8: x ≈ xs·(q − xz) with the row's [min, max] (widened
 * to include 0) mapped onto [0, 255]. GELU outputs are nearly one-sided, so this keeps twice the resolution of a
 * symmetric int8 code there. Weights are symmetric int8 per output row: w ≈ ws·wq. Then
 *   y = xs·ws·(Σ q·wq − xz·Σ wq) + b,
 * with Σ wq precomputed per row at load. Every kernel computes the integer sums exactly, so all three agree. */
static inline void row_range(float mn, float mx, float *scale, int32_t *zero) {
    mn = fminf(mn, 0.0f);
    mx = fmaxf(mx, 0.0f);
    float s = (mx - mn) / 255.0f;
    if (!(s > 0)) {
        *scale = 1.0f;
        *zero = 0;
        return;
    }
    long z = lrintf(-mn / s);
    *scale = s;
    *zero = (int32_t)(z < 0 ? 0 : z > 255 ? 255 : z);
}

static void quantize_rows_c(const float *x, int m, int k, int lda, int kpad, uint8_t *xq, float *xs, int32_t *xz) {
    for (int i = 0; i < m; i++) {
        const float *r = x + (size_t)i * lda;
        float mn = r[0], mx = r[0];
        for (int j = 1; j < k; j++) {
            mn = fminf(mn, r[j]);
            mx = fmaxf(mx, r[j]);
        }
        row_range(mn, mx, &xs[i], &xz[i]);
        float inv = 1.0f / xs[i];
        uint8_t *q = xq + (size_t)i * kpad;
        for (int j = 0; j < k; j++) {
            long v = lrintf(r[j] * inv) + xz[i];
            q[j] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
        for (int j = k; j < kpad; j++) q[j] = (uint8_t)xz[i]; /* weights are 0 there: contributes nothing */
    }
}

static void int8_gemm_c(const uint8_t *xq, const float *xs, const int32_t *xz, int m, const int8_t *wq,
                        const float *ws, const int32_t *wsum, const float *b, int n0, int n1, int kpad, float *y,
                        int ldy) {
    for (int i = 0; i < m; i++) {
        const uint8_t *xr = xq + (size_t)i * kpad;
        for (int j = n0; j < n1; j++) {
            const int8_t *wr = wq + (size_t)j * kpad;
            int32_t acc = 0;
            for (int k = 0; k < kpad; k++) acc += (int32_t)xr[k] * wr[k];
            y[(size_t)i * ldy + j] = xs[i] * ws[j] * (float)(acc - xz[i] * wsum[j]) + b[j];
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

static void edge_avx2(const uint8_t *xq, const float *xs, const int32_t *xz, int i0, int i1, const int8_t *wq,
                      const float *ws, const int32_t *wsum, const float *b, int j0, int j1, int kpad, float *y, int ldy);

/* AVX2 without VNNI: u8·s8 pairs can exceed int16 in vpmaddubsw (255·127·2), so both sides are widened to
 * int16 and multiplied with vpmaddwd, which is exact. 4 activation rows × 2 weight rows per tile. */
__attribute__((target("avx2"))) static void int8_gemm_avx2(const uint8_t *xq, const float *xs, const int32_t *xz,
                                                           int m, const int8_t *wq, const float *ws,
                                                           const int32_t *wsum, const float *b, int n0, int n1,
                                                           int kpad, float *y, int ldy) {
    const int NBLK = 48;
    for (int jb = n0; jb < n1; jb += NBLK) {
        int je = jb + NBLK < n1 ? jb + NBLK : n1;
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            const uint8_t *x0 = xq + (size_t)i * kpad, *x1 = x0 + kpad, *x2 = x1 + kpad, *x3 = x2 + kpad;
            int j = jb;
            for (; j + 2 <= je; j += 2) {
                const int8_t *w0 = wq + (size_t)j * kpad, *w1 = w0 + kpad;
                __m256i a00 = _mm256_setzero_si256(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00,
                        a30 = a00, a31 = a00;
                for (int k = 0; k < kpad; k += 16) {
                    __m256i v0 = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)(w0 + k)));
                    __m256i v1 = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)(w1 + k)));
                    __m256i u = _mm256_cvtepu8_epi16(_mm_load_si128((const __m128i *)(x0 + k)));
                    a00 = _mm256_add_epi32(a00, _mm256_madd_epi16(u, v0));
                    a01 = _mm256_add_epi32(a01, _mm256_madd_epi16(u, v1));
                    u = _mm256_cvtepu8_epi16(_mm_load_si128((const __m128i *)(x1 + k)));
                    a10 = _mm256_add_epi32(a10, _mm256_madd_epi16(u, v0));
                    a11 = _mm256_add_epi32(a11, _mm256_madd_epi16(u, v1));
                    u = _mm256_cvtepu8_epi16(_mm_load_si128((const __m128i *)(x2 + k)));
                    a20 = _mm256_add_epi32(a20, _mm256_madd_epi16(u, v0));
                    a21 = _mm256_add_epi32(a21, _mm256_madd_epi16(u, v1));
                    u = _mm256_cvtepu8_epi16(_mm_load_si128((const __m128i *)(x3 + k)));
                    a30 = _mm256_add_epi32(a30, _mm256_madd_epi16(u, v0));
                    a31 = _mm256_add_epi32(a31, _mm256_madd_epi16(u, v1));
                }
                __m256i acc[4][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
                for (int r = 0; r < 4; r++)
                    for (int c = 0; c < 2; c++)
                        y[(size_t)(i + r) * ldy + j + c] =
                            xs[i + r] * ws[j + c] * (float)(hsum_epi32(acc[r][c]) - xz[i + r] * wsum[j + c]) + b[j + c];
            }
            if (j < je) edge_avx2(xq, xs, xz, i, i + 4, wq, ws, wsum, b, j, je, kpad, y, ldy);
        }
        if (i < m) edge_avx2(xq, xs, xz, i, m, wq, ws, wsum, b, jb, je, kpad, y, ldy);
    }
}

/* Edges of the register tiles (rows left over after groups of 4, columns after groups of 3 or 2) run through
 * these one-row vector kernels rather than scalar code: at batch 1 the last layer has a single row. */
__attribute__((target("avx2,avxvnni"))) static void edge_vnni(const uint8_t *xq, const float *xs, const int32_t *xz,
                                                               int i0, int i1, const int8_t *wq, const float *ws,
                                                               const int32_t *wsum, const float *b, int j0, int j1,
                                                               int kpad, float *y, int ldy) {
    for (int i = i0; i < i1; i++) {
        const uint8_t *x = xq + (size_t)i * kpad;
        int j = j0;
        for (; j + 3 <= j1; j += 3) {
            const int8_t *w0 = wq + (size_t)j * kpad, *w1 = w0 + kpad, *w2 = w1 + kpad;
            __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0;
            for (int k = 0; k < kpad; k += 32) {
                __m256i u = _mm256_load_si256((const __m256i *)(x + k));
                a0 = _mm256_dpbusd_avx_epi32(a0, u, _mm256_load_si256((const __m256i *)(w0 + k)));
                a1 = _mm256_dpbusd_avx_epi32(a1, u, _mm256_load_si256((const __m256i *)(w1 + k)));
                a2 = _mm256_dpbusd_avx_epi32(a2, u, _mm256_load_si256((const __m256i *)(w2 + k)));
            }
            y[(size_t)i * ldy + j] = xs[i] * ws[j] * (float)(hsum_epi32(a0) - xz[i] * wsum[j]) + b[j];
            y[(size_t)i * ldy + j + 1] = xs[i] * ws[j + 1] * (float)(hsum_epi32(a1) - xz[i] * wsum[j + 1]) + b[j + 1];
            y[(size_t)i * ldy + j + 2] = xs[i] * ws[j + 2] * (float)(hsum_epi32(a2) - xz[i] * wsum[j + 2]) + b[j + 2];
        }
        for (; j < j1; j++) {
            const int8_t *w0 = wq + (size_t)j * kpad;
            __m256i a0 = _mm256_setzero_si256();
            for (int k = 0; k < kpad; k += 32)
                a0 = _mm256_dpbusd_avx_epi32(a0, _mm256_load_si256((const __m256i *)(x + k)),
                                             _mm256_load_si256((const __m256i *)(w0 + k)));
            y[(size_t)i * ldy + j] = xs[i] * ws[j] * (float)(hsum_epi32(a0) - xz[i] * wsum[j]) + b[j];
        }
    }
}

__attribute__((target("avx2"))) static void edge_avx2(const uint8_t *xq, const float *xs, const int32_t *xz, int i0,
                                                      int i1, const int8_t *wq, const float *ws, const int32_t *wsum,
                                                      const float *b, int j0, int j1, int kpad, float *y, int ldy) {
    for (int i = i0; i < i1; i++) {
        const uint8_t *x = xq + (size_t)i * kpad;
        for (int j = j0; j < j1; j++) {
            const int8_t *w0 = wq + (size_t)j * kpad;
            __m256i a0 = _mm256_setzero_si256();
            for (int k = 0; k < kpad; k += 16)
                a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_load_si128((const __m128i *)(x + k))),
                                                            _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)(w0 + k)))));
            y[(size_t)i * ldy + j] = xs[i] * ws[j] * (float)(hsum_epi32(a0) - xz[i] * wsum[j]) + b[j];
        }
    }
}

/* AVX-VNNI: vpdpbusd multiplies u8 by s8 and accumulates groups of four into int32 without saturation, which
 * is exactly this code's product. 4 activation rows × 3 weight rows per tile: 12 accumulators. */
__attribute__((target("avx2,avxvnni"))) static void int8_gemm_vnni(const uint8_t *xq, const float *xs,
                                                                    const int32_t *xz, int m, const int8_t *wq,
                                                                    const float *ws, const int32_t *wsum,
                                                                    const float *b, int n0, int n1, int kpad, float *y,
                                                                    int ldy) {
    const int NBLK = 48;
    for (int jb = n0; jb < n1; jb += NBLK) {
        int je = jb + NBLK < n1 ? jb + NBLK : n1;
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            const uint8_t *x0 = xq + (size_t)i * kpad, *x1 = x0 + kpad, *x2 = x1 + kpad, *x3 = x2 + kpad;
            int j = jb;
            for (; j + 3 <= je; j += 3) {
                const int8_t *w0 = wq + (size_t)j * kpad, *w1 = w0 + kpad, *w2 = w1 + kpad;
                __m256i a00 = _mm256_setzero_si256(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00,
                        a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
                for (int k = 0; k < kpad; k += 32) {
                    __m256i v0 = _mm256_load_si256((const __m256i *)(w0 + k));
                    __m256i v1 = _mm256_load_si256((const __m256i *)(w1 + k));
                    __m256i v2 = _mm256_load_si256((const __m256i *)(w2 + k));
                    __m256i u = _mm256_load_si256((const __m256i *)(x0 + k));
                    a00 = _mm256_dpbusd_avx_epi32(a00, u, v0);
                    a01 = _mm256_dpbusd_avx_epi32(a01, u, v1);
                    a02 = _mm256_dpbusd_avx_epi32(a02, u, v2);
                    u = _mm256_load_si256((const __m256i *)(x1 + k));
                    a10 = _mm256_dpbusd_avx_epi32(a10, u, v0);
                    a11 = _mm256_dpbusd_avx_epi32(a11, u, v1);
                    a12 = _mm256_dpbusd_avx_epi32(a12, u, v2);
                    u = _mm256_load_si256((const __m256i *)(x2 + k));
                    a20 = _mm256_dpbusd_avx_epi32(a20, u, v0);
                    a21 = _mm256_dpbusd_avx_epi32(a21, u, v1);
                    a22 = _mm256_dpbusd_avx_epi32(a22, u, v2);
                    u = _mm256_load_si256((const __m256i *)(x3 + k));
                    a30 = _mm256_dpbusd_avx_epi32(a30, u, v0);
                    a31 = _mm256_dpbusd_avx_epi32(a31, u, v1);
                    a32 = _mm256_dpbusd_avx_epi32(a32, u, v2);
                }
                __m256i acc[4][3] = {{a00, a01, a02}, {a10, a11, a12}, {a20, a21, a22}, {a30, a31, a32}};
                for (int r = 0; r < 4; r++)
                    for (int c = 0; c < 3; c++)
                        y[(size_t)(i + r) * ldy + j + c] =
                            xs[i + r] * ws[j + c] * (float)(hsum_epi32(acc[r][c]) - xz[i + r] * wsum[j + c]) + b[j + c];
            }
            if (j < je) edge_vnni(xq, xs, xz, i, i + 4, wq, ws, wsum, b, j, je, kpad, y, ldy);
        }
        if (i < m) edge_vnni(xq, xs, xz, i, m, wq, ws, wsum, b, jb, je, kpad, y, ldy);
    }
}

__attribute__((target("avx2"))) static void quantize_rows_avx2(const float *x, int m, int k, int lda, int kpad,
                                                               uint8_t *xq, float *xs, int32_t *xz) {
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int i = 0; i < m; i++) {
        const float *r = x + (size_t)i * lda;
        __m256 vmn = _mm256_set1_ps(r[0]), vmx = vmn;
        int j = 0;
        for (; j + 8 <= k; j += 8) {
            __m256 v = _mm256_loadu_ps(r + j);
            vmn = _mm256_min_ps(vmn, v);
            vmx = _mm256_max_ps(vmx, v);
        }
        float tn[8], tx[8], mn = r[0], mx = r[0];
        _mm256_storeu_ps(tn, vmn);
        _mm256_storeu_ps(tx, vmx);
        for (int q = 0; q < 8; q++) mn = fminf(mn, tn[q]), mx = fmaxf(mx, tx[q]);
        for (; j < k; j++) mn = fminf(mn, r[j]), mx = fmaxf(mx, r[j]);
        row_range(mn, mx, &xs[i], &xz[i]);
        float inv = 1.0f / xs[i];
        uint8_t *q = xq + (size_t)i * kpad;
        __m256 vinv = _mm256_set1_ps(inv);
        __m256i vz = _mm256_set1_epi32(xz[i]);
        j = 0;
        for (; j + 32 <= k; j += 32) { /* round half to even (as lrintf), add the zero point, saturate to u8 */
            __m256i a = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(r + j), vinv)), vz);
            __m256i b2 = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(r + j + 8), vinv)), vz);
            __m256i c = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(r + j + 16), vinv)), vz);
            __m256i d = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(r + j + 24), vinv)), vz);
            __m256i p = _mm256_packus_epi16(_mm256_packs_epi32(a, b2), _mm256_packs_epi32(c, d));
            _mm256_storeu_si256((__m256i *)(q + j), _mm256_permutevar8x32_epi32(p, perm));
        }
        for (; j < k; j++) {
            long v = lrintf(r[j] * inv) + xz[i];
            q[j] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
        for (; j < kpad; j++) q[j] = (uint8_t)xz[i];
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

void k_quantize_rows(const float *x, int m, int k, int lda, int kpad, uint8_t *xq, float *xs, int32_t *xz) {
#if defined(CHATTER_X86)
    if (pick() >= 1) {
        quantize_rows_avx2(x, m, k, lda, kpad, xq, xs, xz);
        return;
    }
#endif
    quantize_rows_c(x, m, k, lda, kpad, xq, xs, xz);
}

void k_quantize_rows_c(const float *x, int m, int k, int lda, int kpad, uint8_t *xq, float *xs, int32_t *xz) {
    quantize_rows_c(x, m, k, lda, kpad, xq, xs, xz);
}

int k_int8_gemm_impl(int impl, const uint8_t *xq, const float *xs, const int32_t *xz, int m, const int8_t *wq,
                     const float *ws, const int32_t *wsum, const float *b, int n0, int n1, int kpad, float *y,
                     int ldy) {
    if (impl < 0 || impl > pick()) return -1;
    switch (impl) {
#if defined(CHATTER_X86)
    case 2: int8_gemm_vnni(xq, xs, xz, m, wq, ws, wsum, b, n0, n1, kpad, y, ldy); return 0;
    case 1: int8_gemm_avx2(xq, xs, xz, m, wq, ws, wsum, b, n0, n1, kpad, y, ldy); return 0;
#endif
    default: int8_gemm_c(xq, xs, xz, m, wq, ws, wsum, b, n0, n1, kpad, y, ldy); return 0;
    }
}

void k_int8_gemm(const uint8_t *xq, const float *xs, const int32_t *xz, int m, const int8_t *wq, const float *ws,
                 const int32_t *wsum, const float *b, int n0, int n1, int kpad, float *y, int ldy) {
    (void)k_int8_gemm_impl(pick(), xq, xs, xz, m, wq, ws, wsum, b, n0, n1, kpad, y, ldy);
}

void *roberta_zalloc(size_t bytes) {
    size_t n = bytes ? (bytes + 63) & ~(size_t)63 : 64;
    void *p = aligned_alloc(64, n);
    if (p) memset(p, 0, n);
    return p;
}
