/* model.c - loading a RoBERTa classifier: config, tensors checked by name and shape, and the weights
 * pre-arranged once (fused QKV, token type folded into positions, int8 rows) into the layout the forward uses. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "core/util.h"
#include "sentiment/roberta/internal.h"
#include "sentiment/roberta/tensorfile.h"


typedef struct loader {
    const tensorfile *tf;
    roberta_model *m;
    float *tmp; /* scratch for one dense layer in int8 mode */
    cerr *e;
} loader;

/* Old checkpoints name LayerNorm parameters gamma/beta; transformers maps them to weight/bias. */
static const tf_tensor *find_tensor(const tensorfile *tf, const char *name, char *resolved, size_t cap) {
    snprintf(resolved, cap, "%s", name);
    const tf_tensor *t = tensorfile_find(tf, resolved);
    if (t || !strstr(name, "LayerNorm.")) return t;
    size_t n = strlen(name);
    if (str_ends_with(name, ".weight")) snprintf(resolved, cap, "%.*sgamma", (int)(n - 6), name);
    else if (str_ends_with(name, ".bias")) snprintf(resolved, cap, "%.*sbeta", (int)(n - 4), name);
    t = tensorfile_find(tf, resolved);
    if (!t) snprintf(resolved, cap, "%s", name);
    return t;
}

static int read_into(loader *L, const char *name, int ndim, int64_t d0, int64_t d1, float *dst) {
    char nm[256];
    const tf_tensor *t;
    int64_t shape[2] = {d0, d1};
    find_tensor(L->tf, name, nm, sizeof nm);
    if (tensorfile_check(L->tf, nm, ndim, shape, &t, L->e)) return -1;
    tensorfile_copy_f32(t, 0, t->numel, dst);
    L->m->params += t->numel;
    return 0;
}

static float *vec(loader *L, const char *name, int n) {
    float *p = roberta_zalloc((size_t)n * 4);
    if (!p) {
        cerr_set(L->e, CERR_NOMEM, "out of memory");
        return NULL;
    }
    L->m->resident += (size_t)n * 4;
    if (read_into(L, name, 1, n, 0, p)) {
        free(p);
        return NULL;
    }
    return p;
}

static void quantize_weight_rows(const float *w, int out, int in, int kpad, int8_t *q, float *scale) {
    for (int r = 0; r < out; r++) {
        const float *row = w + (size_t)r * in;
        float amax = 0;
        for (int k = 0; k < in; k++) amax = fmaxf(amax, fabsf(row[k]));
        float s = amax > 0 ? amax / 127.0f : 1.0f, inv = 1.0f / s;
        scale[r] = s;
        int8_t *qr = q + (size_t)r * kpad;
        for (int k = 0; k < in; k++) qr[k] = (int8_t)lrintf(fminf(127.f, fmaxf(-127.f, row[k] * inv)));
    }
}

/* Reads parts[0..nparts) (each [out_each][in] with bias) stacked into one dense layer. */
static int dense(loader *L, rlin *d, const char *const *parts, int nparts, int out_each, int in) {
    char nm[256];
    d->out = out_each * nparts;
    d->in = in;
    d->kpad = (in + 31) & ~31;
    size_t wn = (size_t)d->out * in;
    d->b = roberta_zalloc((size_t)d->out * 4);
    float *w = L->m->quant == ROBERTA_FP32 ? roberta_zalloc(wn * 4) : L->tmp;
    if (!d->b || !w) return cerr_set(L->e, CERR_NOMEM, "out of memory");
    if (L->m->quant == ROBERTA_FP32) d->w = w;
    for (int p = 0; p < nparts; p++) {
        snprintf(nm, sizeof nm, "%s.weight", parts[p]);
        if (read_into(L, nm, 2, out_each, in, w + (size_t)p * out_each * in)) return -1;
        snprintf(nm, sizeof nm, "%s.bias", parts[p]);
        if (read_into(L, nm, 1, out_each, 0, d->b + (size_t)p * out_each)) return -1;
    }
    L->m->resident += (size_t)d->out * 4;
    if (L->m->quant == ROBERTA_INT8) {
        d->q = roberta_zalloc((size_t)d->out * d->kpad);
        d->qscale = roberta_zalloc((size_t)d->out * 4);
        d->qsum = roberta_zalloc((size_t)d->out * 4);
        if (!d->q || !d->qscale || !d->qsum) return cerr_set(L->e, CERR_NOMEM, "out of memory");
        quantize_weight_rows(w, d->out, in, d->kpad, d->q, d->qscale);
        for (int r = 0; r < d->out; r++) {
            int32_t sum = 0;
            for (int k = 0; k < d->kpad; k++) sum += d->q[(size_t)r * d->kpad + k];
            d->qsum[r] = sum;
        }
        L->m->resident += (size_t)d->out * d->kpad + (size_t)d->out * 8;
    } else {
        L->m->resident += wn * 4;
    }
    return 0;
}

static int load_weights(loader *L, int big) {
    roberta_model *m = L->m;
    const roberta_config *c = &m->cfg;
    int H = c->hidden, FF = c->intermediate, V = c->vocab, P = c->max_positions;
    cerr *e = L->e;
    char nm[256], a[256], b[256], d[256];
    const tf_tensor *t;
    int64_t shp[2] = {V, H};
    /* The source dtype is that of the word embeddings (the checkpoint's torch_dtype). */
    if (tensorfile_check(L->tf, "roberta.embeddings.word_embeddings.weight", 2, shp, &t, e)) return -1;
    snprintf(m->src_dtype, sizeof m->src_dtype, "%s", tf_dtype_name(t->dtype));
    if (m->quant == ROBERTA_FP32) {
        if (!(m->word = roberta_zalloc((size_t)V * H * 4))) return cerr_set(e, CERR_NOMEM, "out of memory");
        tensorfile_copy_f32(t, 0, t->numel, m->word);
        m->resident += (size_t)V * H * 4;
    } else {
        if (!(m->word16 = roberta_zalloc((size_t)V * H * 2))) return cerr_set(e, CERR_NOMEM, "out of memory");
        /* block by block through the scratch buffer: never the whole fp32 table in memory (the copy drops the
         * file pages it has read, which only works for whole pages, hence blocks rather than single rows) */
        int rows = (int)(((size_t)3 * big * H) / (size_t)H);
        for (int v0 = 0; v0 < V; v0 += rows) {
            int nr = V - v0 < rows ? V - v0 : rows;
            tensorfile_copy_f32(t, (int64_t)v0 * H, (int64_t)nr * H, L->tmp);
            for (size_t k = 0; k < (size_t)nr * H; k++) m->word16[(size_t)v0 * H + k] = k_f32_to_f16(L->tmp[k]);
        }
        m->resident += (size_t)V * H * 2;
    }
    m->params += t->numel;
    if (!(m->pos = roberta_zalloc((size_t)P * H * 4))) return cerr_set(e, CERR_NOMEM, "out of memory");
    m->resident += (size_t)P * H * 4;
    if (read_into(L, "roberta.embeddings.position_embeddings.weight", 2, P, H, m->pos)) return -1;
    float *tt = roberta_zalloc((size_t)c->type_vocab * H * 4);
    if (!tt) return cerr_set(e, CERR_NOMEM, "out of memory");
    if (read_into(L, "roberta.embeddings.token_type_embeddings.weight", 2, c->type_vocab, H, tt)) {
        free(tt);
        return -1;
    }
    for (int p = 0; p < P; p++) /* RoBERTa only ever uses token type 0 */
        for (int k = 0; k < H; k++) m->pos[(size_t)p * H + k] += tt[k];
    free(tt);
    if (!(m->emb_ln_w = vec(L, "roberta.embeddings.LayerNorm.weight", H)) ||
        !(m->emb_ln_b = vec(L, "roberta.embeddings.LayerNorm.bias", H)))
        return -1;
    m->layer = calloc((size_t)c->layers, sizeof *m->layer);
    if (!m->layer) return cerr_set(e, CERR_NOMEM, "out of memory");
    for (int i = 0; i < c->layers; i++) {
        rlayer *ly = &m->layer[i];
        char pre[64];
        snprintf(pre, sizeof pre, "roberta.encoder.layer.%d.", i);
        snprintf(a, sizeof a, "%sattention.self.query", pre);
        snprintf(b, sizeof b, "%sattention.self.key", pre);
        snprintf(d, sizeof d, "%sattention.self.value", pre);
        const char *qkv[3] = {a, b, d};
        if (dense(L, &ly->qkv, qkv, 3, H, H)) return -1;
        snprintf(a, sizeof a, "%sattention.output.dense", pre);
        const char *ao[1] = {a};
        if (dense(L, &ly->ao, ao, 1, H, H)) return -1;
        snprintf(nm, sizeof nm, "%sattention.output.LayerNorm.weight", pre);
        if (!(ly->ln1_w = vec(L, nm, H))) return -1;
        snprintf(nm, sizeof nm, "%sattention.output.LayerNorm.bias", pre);
        if (!(ly->ln1_b = vec(L, nm, H))) return -1;
        snprintf(a, sizeof a, "%sintermediate.dense", pre);
        if (dense(L, &ly->inter, ao, 1, FF, H)) return -1;
        snprintf(a, sizeof a, "%soutput.dense", pre);
        if (dense(L, &ly->out, ao, 1, H, FF)) return -1;
        snprintf(nm, sizeof nm, "%soutput.LayerNorm.weight", pre);
        if (!(ly->ln2_w = vec(L, nm, H))) return -1;
        snprintf(nm, sizeof nm, "%soutput.LayerNorm.bias", pre);
        if (!(ly->ln2_b = vec(L, nm, H))) return -1;
    }
    const char *cd[1] = {"classifier.dense"}, *co[1] = {"classifier.out_proj"};
    if (dense(L, &m->cls_dense, cd, 1, H, H) || dense(L, &m->cls_out, co, 1, 3, H)) return -1;
    return 0;
}

static void free_lin(rlin *d) {
    free(d->w);
    free(d->q);
    free(d->qscale);
    free(d->qsum);
    free(d->b);
}

void roberta_model_free(roberta_model *m) {
    if (!m) return;
    free(m->word);
    free(m->word16);
    free(m->pos);
    free(m->emb_ln_w);
    free(m->emb_ln_b);
    for (int i = 0; m->layer && i < m->cfg.layers; i++) {
        rlayer *ly = &m->layer[i];
        free_lin(&ly->qkv);
        free_lin(&ly->ao);
        free_lin(&ly->inter);
        free_lin(&ly->out);
        free(ly->ln1_w);
        free(ly->ln1_b);
        free(ly->ln2_w);
        free(ly->ln2_b);
    }
    free(m->layer);
    free_lin(&m->cls_dense);
    free_lin(&m->cls_out);
    free(m);
}

int roberta_model_load_files(const char *config_path, const char *weights_path, roberta_quant q, roberta_model **out,
                             cerr *e) {
    *out = NULL;
    roberta_model *m = calloc(1, sizeof *m);
    if (!m) return cerr_set(e, CERR_NOMEM, "out of memory");
    m->quant = q;
    if (roberta_config_load(config_path, &m->cfg, e)) {
        free(m);
        return -1;
    }
    /* Our threads split the work; OpenBLAS threads on top would oversubscribe the cores. */
    openblas_set_num_threads(1);
    tensorfile *tf;
    if (tensorfile_open(weights_path, &tf, e)) {
        free(m);
        return -1;
    }
    snprintf(m->format, sizeof m->format, "%s", tensorfile_format(tf));
    int big = m->cfg.intermediate > m->cfg.hidden ? m->cfg.intermediate : m->cfg.hidden;
    loader L = {.tf = tf, .m = m, .e = e};
    L.tmp = q == ROBERTA_INT8 ? roberta_zalloc((size_t)3 * big * m->cfg.hidden * 4) : NULL;
    int rc = q == ROBERTA_INT8 && !L.tmp ? cerr_set(e, CERR_NOMEM, "out of memory") : load_weights(&L, big);
    free(L.tmp);
    tensorfile_close(tf);
    if (rc) {
        roberta_model_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

int roberta_model_load(const char *dir, roberta_quant q, roberta_model **out, cerr *e) {
    char cfg[4096], w[4096];
    if (sbprintf(cfg, sizeof cfg, "%s/config.json", dir) || sbprintf(w, sizeof w, "%s/model.safetensors", dir))
        return cerr_set(e, CERR_INVALID, "model directory path too long");
    if (!file_exists(w) && sbprintf(w, sizeof w, "%s/pytorch_model.bin", dir))
        return cerr_set(e, CERR_INVALID, "model directory path too long");
    if (!file_exists(cfg)) return cerr_set(e, CERR_NOTFOUND, "%s: no config.json", dir);
    if (!file_exists(w)) return cerr_set(e, CERR_NOTFOUND, "%s: neither model.safetensors nor pytorch_model.bin", dir);
    return roberta_model_load_files(cfg, w, q, out, e);
}

const roberta_config *roberta_model_config(const roberta_model *m) { return &m->cfg; }
const char *roberta_model_format(const roberta_model *m) { return m->format; }
const char *roberta_model_src_dtype(const roberta_model *m) { return m->src_dtype; }
roberta_quant roberta_model_quant(const roberta_model *m) { return m->quant; }
int64_t roberta_model_param_count(const roberta_model *m) { return m->params; }
size_t roberta_model_resident_bytes(const roberta_model *m) { return m->resident; }
int roberta_model_max_tokens(const roberta_model *m) { return m->cfg.max_positions - m->cfg.pad_id - 1; }
