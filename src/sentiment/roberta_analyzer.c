/* roberta_analyzer.c - the "roberta" analyzer: cardiffnlp/twitter-roberta-base-sentiment-latest run natively.
 * Text goes through the model card's preprocessing, the byte-level BPE tokenizer (inputs over the model's 512
 * tokens keep head + tail and are flagged truncated), then the engine, which batches by length and computes
 * identical token sequences (identical preprocessed texts) once. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "sentiment/roberta_analyzer.h"
#include "sentiment/roberta/model.h"
#include "sentiment/roberta/tokenizer.h"

#define MODEL_NAME "cardiffnlp/twitter-roberta-base-sentiment-latest"
/* Texts encoded and run together per engine call; bounds the session's id storage. */
#define GROUP 256
/* Raw text kept per comment before preprocessing; the model sees at most 512 tokens of it anyway and the
 * tokenizer refuses more than BPE_MAX_TEXT_BYTES. "@x" -> "@user" can grow the text up to 2.5x. */
#define TEXT_CAP (BPE_MAX_TEXT_BYTES / 4)

typedef struct rmodel {
    roberta_model *m;
    bpe_tokenizer *tok;
    int threads, max_tokens;
    char id[256];
} rmodel;

typedef struct rsess {
    const rmodel *rm;
    roberta_session *s;
    bpe_session *ts;
    buf pre;
    int32_t *store; /* [GROUP][max_tokens] */
    const int32_t *ptr[GROUP];
    size_t len[GROUP];
    bool trunc[GROUP];
    float lg[GROUP][3];
} rsess;

static void rm_unload(void *model) {
    rmodel *rm = model;
    if (!rm) return;
    roberta_model_free(rm->m);
    bpe_tokenizer_free(rm->tok);
    free(rm);
}

/* REVISION (written next to the weights by `model fetch`) names the upstream commit; anything else is "local". */
static void read_revision(const char *dir, char *out, size_t cap) {
    snprintf(out, cap, "local");
    char path[4200];
    buf b;
    buf_init(&b, 0);
    cerr e;
    if (sbprintf(path, sizeof path, "%s/REVISION", dir) || !file_exists(path) ||
        read_file_capped(path, 256, &b, &e)) {
        buf_free(&b);
        return;
    }
    size_t n = 0;
    while (n < b.len && n < 64 && (isalnum((unsigned char)b.data[n]) || b.data[n] == '-' || b.data[n] == '.')) n++;
    if (n > 0) snprintf(out, cap, "%.*s", (int)n, b.data);
    buf_free(&b);
}

static int rm_load(const analyzer_options *opt, void **model, cerr *e) {
    *model = NULL;
    char dir[4096], vocab[4200], merges[4200];
    if (opt && opt->model_dir) {
        if (sbprintf(dir, sizeof dir, "%s", opt->model_dir)) return cerr_set(e, CERR_INVALID, "model_dir too long");
    } else if (analyzer_model_path("roberta", dir, sizeof dir, e)) {
        return -1;
    }
    roberta_quant q;
    if (roberta_quant_parse(opt ? opt->quantize : NULL, &q, e)) return -1;
    if (sbprintf(vocab, sizeof vocab, "%s/vocab.json", dir) || sbprintf(merges, sizeof merges, "%s/merges.txt", dir))
        return cerr_set(e, CERR_INVALID, "model_dir too long");
    rmodel *rm = calloc(1, sizeof *rm);
    if (!rm) return cerr_set(e, CERR_NOMEM, "out of memory");
    rm->threads = opt && opt->threads > 0 ? opt->threads : 1;
    if (bpe_tokenizer_load(vocab, merges, &rm->tok, e) || roberta_model_load(dir, q, &rm->m, e)) {
        rm_unload(rm);
        return cerr_wrap(e, "roberta model in %s (install it with `chatter model fetch roberta`)", dir);
    }
    rm->max_tokens = roberta_model_max_tokens(rm->m);
    if (rm->max_tokens > 512) rm->max_tokens = 512;
    char rev[80];
    read_revision(dir, rev, sizeof rev);
    snprintf(rm->id, sizeof rm->id, "%s@%s%s", MODEL_NAME, rev, q == ROBERTA_INT8 ? "+int8" : "");
    log_info("roberta: loaded %s from %s (%s, %lld parameters, %.0f MB resident)", rm->id, dir,
             roberta_model_format(rm->m), (long long)roberta_model_param_count(rm->m),
             (double)roberta_model_resident_bytes(rm->m) / 1048576.0);
    *model = rm;
    return 0;
}

static const char *rm_model_id(const void *model) { return ((const rmodel *)model)->id; }

static void rm_session_free(void *session) {
    rsess *s = session;
    if (!s) return;
    roberta_session_free(s->s);
    bpe_session_free(s->ts);
    buf_free(&s->pre);
    free(s->store);
    free(s);
}

static int rm_session_new(const void *model, void **session, cerr *e) {
    *session = NULL;
    const rmodel *rm = model;
    rsess *s = calloc(1, sizeof *s);
    if (!s) return cerr_set(e, CERR_NOMEM, "out of memory");
    s->rm = rm;
    buf_init(&s->pre, BPE_MAX_TEXT_BYTES);
    s->store = malloc((size_t)GROUP * (size_t)rm->max_tokens * sizeof *s->store);
    if (!s->store) {
        rm_session_free(s);
        return cerr_set(e, CERR_NOMEM, "out of memory");
    }
    if (bpe_session_new(rm->tok, &s->ts, e) || roberta_session_new(rm->m, 32, 0, rm->threads, &s->s, e)) {
        rm_session_free(s);
        return -1;
    }
    *session = s;
    return 0;
}

static int rm_classify(void *session, const char *const *texts, size_t n, sentiment *out, cerr *e) {
    rsess *s = session;
    const roberta_config *c = roberta_model_config(s->rm->m);
    for (size_t g0 = 0; g0 < n; g0 += GROUP) {
        size_t gn = n - g0 < GROUP ? n - g0 : GROUP;
        for (size_t i = 0; i < gn; i++) {
            const char *t = texts[g0 + i] ? texts[g0 + i] : "";
            size_t len = strlen(t);
            bool cut = len > TEXT_CAP;
            if (cut) len = TEXT_CAP; /* far beyond 512 tokens: the tail past here could not all be kept anyway */
            int32_t *ids = s->store + i * (size_t)s->rm->max_tokens;
            if (roberta_preprocess(t, len, &s->pre, e) ||
                bpe_encode(s->ts, s->pre.data ? s->pre.data : "", s->pre.len, ids, (size_t)s->rm->max_tokens,
                           &s->len[i], &s->trunc[i], e))
                return cerr_wrap(e, "text %zu", g0 + i);
            s->trunc[i] = s->trunc[i] || cut;
            s->ptr[i] = ids;
        }
        if (roberta_session_run(s->s, s->ptr, s->len, gn, s->lg, e)) return -1;
        for (size_t i = 0; i < gn; i++) {
            sentiment *o = &out[g0 + i];
            const float *l = s->lg[i];
            float mx = fmaxf(l[0], fmaxf(l[1], l[2])), ex[3], sum = 0;
            for (int k = 0; k < 3; k++) sum += ex[k] = expf(l[k] - mx);
            int best = 0;
            for (int k = 0; k < 3; k++) {
                o->p[c->label_of_output[k]] = ex[k] / sum;
                if (l[k] > l[best]) best = k;
            }
            o->label = (sentiment_label)c->label_of_output[best];
            o->truncated = s->trunc[i];
        }
    }
    return 0;
}

const analyzer_ops roberta_analyzer_ops = {
    .name = "roberta",
    .load = rm_load,
    .unload = rm_unload,
    .model_id = rm_model_id,
    .session_new = rm_session_new,
    .session_free = rm_session_free,
    .classify = rm_classify,
};
