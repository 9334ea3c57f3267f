/* forward.c - sessions and the forward pass.
 *
 * A batch is packed: the rows of its sequences follow each other with no padding, so the dense layers (nearly
 * all the work) run one GEMM over exactly the real tokens, and attention runs per sequence and head over that
 * sequence's own rows. This is what padding plus an additive mask computes, minus the wasted rows. Sequences are
 * sorted by length before being cut into batches, which keeps attention tasks of a batch similar in size. */
#include <math.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include <cblas.h>

#include "sentiment/roberta/internal.h"
#include "sentiment/roberta/pool.h"

/* Sequences handled per sort/dedupe pass; bounds the session's index arrays. */
#define CHUNK 1024

struct roberta_session {
    const roberta_model *m;
    rpool *pool;
    int threads, max_batch, budget, max_len;
    float *x, *ctx, *tmp; /* [budget][H] each */
    float *qkv, *inter;   /* one [budget][max(3H, FF)] buffer: q/k/v are dead once attention has run */
    float *scores;                       /* [threads][max_len][max_len] */
    uint8_t *xq; /* [budget][kpad of the widest input] */
    float *xs;   /* [budget] */
    int32_t *xz; /* [budget] */
    int kpad_max;
    /* current batch */
    int nb, rows;
    int start[CHUNK + 1], len[CHUNK];
    const int32_t *bids[CHUNK];
    bool last_layer;
    /* current run */
    size_t order[CHUNK], rep[CHUNK];
    const int32_t *const *ids;
    const size_t *lens;
    float cls[CHUNK][3];
    roberta_stats stats;
};


void roberta_session_free(roberta_session *s) {
    if (!s) return;
    rpool_free(s->pool);
    free(s->x);
    free(s->qkv);
    free(s->ctx);
    free(s->tmp);
    free(s->scores);
    free(s->xq);
    free(s->xs);
    free(s->xz);
    free(s);
}

int roberta_session_new(const roberta_model *m, int max_batch, int token_budget, int threads, roberta_session **out,
                        cerr *e) {
    *out = NULL;
    const roberta_config *c = &m->cfg;
    roberta_session *s = calloc(1, sizeof *s);
    if (!s) return cerr_set(e, CERR_NOMEM, "out of memory");
    s->m = m;
    s->threads = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    s->max_batch = max_batch < 1 ? 32 : max_batch > CHUNK ? CHUNK : max_batch;
    s->max_len = roberta_model_max_tokens(m);
    s->budget = token_budget < 1 ? 2048 : token_budget;
    if (s->budget < s->max_len) s->budget = s->max_len; /* one longest sequence must always fit */
    size_t R = (size_t)s->budget, H = (size_t)c->hidden, FF = (size_t)c->intermediate, L = (size_t)s->max_len;
    s->kpad_max = (int)(((FF > H ? FF : H) + 31) & ~(size_t)31);
    s->x = roberta_zalloc(R * H * 4);
    s->qkv = s->inter = roberta_zalloc(R * (3 * H > FF ? 3 * H : FF) * 4);
    s->ctx = roberta_zalloc(R * H * 4);
    s->tmp = roberta_zalloc(R * H * 4);
    s->scores = roberta_zalloc((size_t)s->threads * L * L * 4);
    if (m->quant == ROBERTA_INT8) {
        s->xq = roberta_zalloc(R * (size_t)s->kpad_max);
        s->xs = roberta_zalloc(R * 4);
        s->xz = roberta_zalloc(R * 4);
    }
    if (!s->x || !s->qkv || !s->ctx || !s->tmp || !s->scores ||
        (m->quant == ROBERTA_INT8 && (!s->xq || !s->xs || !s->xz))) {
        roberta_session_free(s);
        return cerr_set(e, CERR_NOMEM, "out of memory for a session of %d tokens", s->budget);
    }
    if (rpool_new(s->threads, &s->pool, e)) {
        roberta_session_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void roberta_session_stats(const roberta_session *s, roberta_stats *out) { *out = s->stats; }

/* ---- dense layers: C[m][out] = A[m][in]·Wᵀ + b, split over the pool by output columns ---- */

typedef struct gemm_job {
    roberta_session *s;
    const rlin *L;
    const float *a;
    int lda, m;
    float *c;
    int ldc;
    bool gelu;
    int ntasks;
} gemm_job;

static void span(int n, int ntasks, int t, int *n0, int *n1) {
    int per = ((n + ntasks - 1) / ntasks + 15) & ~15; /* whole 16-column panels per task */
    *n0 = t * per < n ? t * per : n;
    *n1 = (t + 1) * per < n ? (t + 1) * per : n;
}

static void gemm_task(void *ctx, int t, int thread) {
    (void)thread;
    gemm_job *j = ctx;
    const rlin *L = j->L;
    int n0, n1;
    span(L->out, j->ntasks, t, &n0, &n1);
    if (n0 >= n1) return;
    if (L->w) {
        for (int i = 0; i < j->m; i++) memcpy(j->c + (size_t)i * j->ldc + n0, L->b + n0, (size_t)(n1 - n0) * 4);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->m, n1 - n0, L->in, 1.0f, j->a, j->lda,
                    L->w + (size_t)n0 * L->in, L->in, 1.0f, j->c + n0, j->ldc);
    } else {
        k_int8_gemm(j->s->xq, j->s->xs, j->s->xz, j->m, L->q, L->qscale, L->qsum, L->b, n0, n1, L->kpad, j->c, j->ldc);
    }
    if (j->gelu)
        for (int i = 0; i < j->m; i++) k_gelu(j->c + (size_t)i * j->ldc + n0, (size_t)(n1 - n0));
}

typedef struct quant_job {
    roberta_session *s;
    const float *a;
    int lda, m, k, kpad, ntasks;
} quant_job;

static void quant_task(void *ctx, int t, int thread) {
    (void)thread;
    quant_job *q = ctx;
    int r0 = (int)((long)q->m * t / q->ntasks), r1 = (int)((long)q->m * (t + 1) / q->ntasks);
    k_quantize_rows(q->a + (size_t)r0 * q->lda, r1 - r0, q->k, q->lda, q->kpad, q->s->xq + (size_t)r0 * q->kpad,
                    q->s->xs + r0, q->s->xz + r0);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void linear(roberta_session *s, const rlin *L, const float *a, int lda, int m, float *c, int ldc, bool gelu) {
    double t0 = now_s();
    int nt = rpool_threads(s->pool);
    if (!L->w) {
        quant_job q = {s, a, lda, m, L->in, L->kpad, nt};
        rpool_run(s->pool, quant_task, &q, nt);
    }
    gemm_job j = {s, L, a, lda, m, c, ldc, gelu, nt};
    rpool_run(s->pool, gemm_task, &j, nt);
    s->stats.flops += 2.0 * m * L->out * L->in;
    s->stats.t_dense += now_s() - t0;
}

/* ---- LayerNorm(x + add) over rows ---- */

typedef struct ln_job {
    float *x;
    const float *add, *w, *b;
    int m, n, ntasks;
    float eps;
} ln_job;

static void ln_task(void *ctx, int t, int thread) {
    (void)thread;
    ln_job *j = ctx;
    int r0 = (int)((long)j->m * t / j->ntasks), r1 = (int)((long)j->m * (t + 1) / j->ntasks);
    for (int r = r0; r < r1; r++)
        k_layernorm_residual(j->x + (size_t)r * j->n, j->add ? j->add + (size_t)r * j->n : NULL, j->w, j->b, j->n, j->eps);
}

static void layernorm(roberta_session *s, float *x, const float *add, const float *w, const float *b, int m) {
    int nt = rpool_threads(s->pool);
    ln_job j = {x, add, w, b, m, s->m->cfg.hidden, nt, s->m->cfg.layer_norm_eps};
    rpool_run(s->pool, ln_task, &j, nt);
}

/* ---- attention: one task per (sequence, head) ---- */

static void attn_task(void *ctx, int t, int thread) {
    roberta_session *s = ctx;
    const roberta_config *c = &s->m->cfg;
    int H = c->hidden, nh = c->heads, hd = H / nh, b = t / nh, h = t % nh;
    int T = s->len[b], st = s->start[b], Tq = s->last_layer ? 1 : T;
    const float *q = s->qkv + (size_t)st * 3 * H + (size_t)h * hd, *k = q + H, *v = q + 2 * H;
    float *sc = s->scores + (size_t)thread * s->max_len * s->max_len;
    /* In the last layer only <s> is read by the classifier, so only its query row is computed; its context row
     * goes to row b (the compacted layout of the last layer). */
    float *out = s->ctx + (size_t)(s->last_layer ? b : st) * H + (size_t)h * hd;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Tq, T, hd, 1.0f / sqrtf((float)hd), q, 3 * H, k, 3 * H, 0.0f,
                sc, T);
    for (int i = 0; i < Tq; i++) k_softmax_row(sc + (size_t)i * T, T);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Tq, hd, T, 1.0f, sc, T, v, 3 * H, 0.0f, out, H);
}

/* ---- embeddings ---- */

static void embed_task(void *ctx, int b, int thread) {
    (void)thread;
    roberta_session *s = ctx;
    const roberta_model *m = s->m;
    const roberta_config *c = &m->cfg;
    int H = c->hidden, pad = c->pad_id, seen = 0;
    for (int t = 0; t < s->len[b]; t++) {
        int id = s->bids[b][t];
        /* create_position_ids_from_input_ids: real tokens count up from pad+1, pad tokens sit at pad */
        int pos = id == pad ? pad : pad + 1 + seen++;
        float *x = s->x + (size_t)(s->start[b] + t) * H;
        const float *p = m->pos + (size_t)pos * H;
        if (m->word) {
            const float *w = m->word + (size_t)id * H;
            for (int k = 0; k < H; k++) x[k] = w[k] + p[k];
        } else {
            const uint16_t *w = m->word16 + (size_t)id * H;
            for (int k = 0; k < H; k++) x[k] = k_f16_to_f32(w[k]) + p[k];
        }
        k_layernorm_residual(x, NULL, m->emb_ln_w, m->emb_ln_b, H, c->layer_norm_eps);
    }
}

static void run_batch(roberta_session *s, float (*logits)[3]) {
    const roberta_model *m = s->m;
    const roberta_config *c = &m->cfg;
    int H = c->hidden, FF = c->intermediate, R = s->rows, B = s->nb;
    double tb = now_s(), d0 = s->stats.t_dense, a0 = s->stats.t_attn;
    s->last_layer = false;
    rpool_run(s->pool, embed_task, s, B);
    for (int l = 0; l < c->layers; l++) {
        const rlayer *ly = &m->layer[l];
        bool last = l == c->layers - 1;
        linear(s, &ly->qkv, s->x, H, R, s->qkv, 3 * H, false);
        s->last_layer = last;
        double t0 = now_s();
        rpool_run(s->pool, attn_task, s, B * c->heads);
        s->stats.t_attn += now_s() - t0;
        for (int b = 0; b < B; b++) {
            double T = s->len[b];
            s->stats.flops += 4.0 * (last ? 1 : T) * T * H;
        }
        int M = R;
        if (last) { /* from here on only the <s> rows matter: compact them to rows 0..B-1 */
            for (int b = 0; b < B; b++)
                if (b != s->start[b]) memcpy(s->x + (size_t)b * H, s->x + (size_t)s->start[b] * H, (size_t)H * 4);
            M = B;
        }
        linear(s, &ly->ao, s->ctx, H, M, s->tmp, H, false);
        layernorm(s, s->x, s->tmp, ly->ln1_w, ly->ln1_b, M);
        linear(s, &ly->inter, s->x, H, M, s->inter, FF, true);
        linear(s, &ly->out, s->inter, FF, M, s->tmp, H, false);
        layernorm(s, s->x, s->tmp, ly->ln2_w, ly->ln2_b, M);
    }
    /* classification head on <s>: dense, tanh, out_proj */
    linear(s, &m->cls_dense, s->x, H, B, s->tmp, H, false);
    for (size_t i = 0; i < (size_t)B * H; i++) s->tmp[i] = tanhf(s->tmp[i]);
    linear(s, &m->cls_out, s->tmp, H, B, s->ctx, 3, false);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < 3; k++) logits[b][k] = s->ctx[b * 3 + k];
    s->stats.batches++;
    s->stats.t_other += (now_s() - tb) - (s->stats.t_dense - d0) - (s->stats.t_attn - a0);
}

static int cmp_seq(const void *pa, const void *pb, void *arg) {
    const roberta_session *s = arg;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    if (s->lens[a] != s->lens[b]) return s->lens[a] < s->lens[b] ? -1 : 1;
    int c = memcmp(s->ids[a], s->ids[b], s->lens[a] * sizeof(int32_t));
    if (c) return c;
    return a < b ? -1 : a > b;
}

int roberta_session_run(roberta_session *s, const int32_t *const *ids, const size_t *lens, size_t n,
                        float (*logits)[3], cerr *e) {
    const roberta_config *c = &s->m->cfg;
    memset(&s->stats, 0, sizeof s->stats);
    for (size_t i = 0; i < n; i++) {
        if (lens[i] < 1 || lens[i] > (size_t)s->max_len)
            return cerr_set(e, CERR_INVALID, "sequence %zu has %zu tokens (1 to %d allowed)", i, lens[i], s->max_len);
        for (size_t t = 0; t < lens[i]; t++)
            if (ids[i][t] < 0 || ids[i][t] >= c->vocab)
                return cerr_set(e, CERR_INVALID, "sequence %zu: token id %d outside the vocabulary (%d)", i, ids[i][t], c->vocab);
    }
    s->ids = ids;
    s->lens = lens;
    for (size_t c0 = 0; c0 < n; c0 += CHUNK) {
        size_t cn = n - c0 < CHUNK ? n - c0 : CHUNK;
        for (size_t i = 0; i < cn; i++) s->order[i] = c0 + i;
        qsort_r(s->order, cn, sizeof s->order[0], cmp_seq, s);
        /* identical sequences are adjacent after the sort: compute the first, copy to the rest */
        size_t uniq = 0;
        for (size_t i = 0; i < cn; i++) {
            size_t a = s->order[i];
            if (uniq > 0) {
                size_t r = s->order[uniq - 1];
                if (lens[r] == lens[a] && memcmp(ids[r], ids[a], lens[a] * sizeof(int32_t)) == 0) {
                    s->rep[a - c0] = uniq - 1;
                    continue;
                }
            }
            s->order[uniq] = a;
            s->rep[a - c0] = uniq;
            uniq++;
        }
        s->stats.computed += uniq;
        for (size_t i = 0; i < uniq;) {
            s->nb = 0;
            s->rows = 0;
            while (i < uniq && s->nb < s->max_batch && s->rows + (int)lens[s->order[i]] <= s->budget) {
                size_t a = s->order[i++];
                s->start[s->nb] = s->rows;
                s->len[s->nb] = (int)lens[a];
                s->bids[s->nb] = ids[a];
                s->rows += (int)lens[a];
                s->nb++;
            }
            run_batch(s, &s->cls[i - (size_t)s->nb]);
        }
        for (size_t i = 0; i < cn; i++) memcpy(logits[c0 + i], s->cls[s->rep[i]], sizeof logits[0]);
    }
    return 0;
}
