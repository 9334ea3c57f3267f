/* model.h - a RoBERTa sequence classifier (RobertaForSequenceClassification) loaded from a Hugging Face
 * model directory and run natively: fp32 through OpenBLAS, or int8 weights with dynamic activation quantisation.
 *
 * A roberta_model is immutable after load and may be shared by any number of threads. Each thread runs it
 * through its own roberta_session, which owns every scratch buffer (allocated once, sized for the session's
 * token budget) and an optional worker pool; nothing is allocated while a batch runs.
 *
 * Threading is one layer only: OpenBLAS is pinned to one thread at load, and a session splits its work over
 * its own `threads`. Run many 1-thread sessions, or one session with as many threads as cores. */
#ifndef CHATTER_SENTIMENT_ROBERTA_MODEL_H
#define CHATTER_SENTIMENT_ROBERTA_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct roberta_config {
    int layers, hidden, heads, intermediate, vocab, max_positions, type_vocab, pad_id;
    float layer_norm_eps;
    int num_labels;           /* always 3 */
    int label_of_output[3];   /* model output i -> 0 negative, 1 neutral, 2 positive */
    char label_names[3][32];  /* id2label as written in config.json, by output index */
} roberta_config;

/* Reads config.json (any RoBERTa size). id2label may use any casing; it must name negative/neutral/positive
 * (or LABEL_0..2, taken in the card's order). */
int roberta_config_load(const char *path, roberta_config *cfg, cerr *e) CH_MUST_USE;

typedef enum roberta_quant { ROBERTA_FP32 = 0, ROBERTA_INT8 } roberta_quant;
int roberta_quant_parse(const char *s, roberta_quant *out, cerr *e) CH_MUST_USE; /* NULL/"none"/"fp32"/"int8" */

typedef struct roberta_model roberta_model;

/* dir holds config.json and model.safetensors or pytorch_model.bin (safetensors preferred). */
int roberta_model_load(const char *dir, roberta_quant q, roberta_model **out, cerr *e) CH_MUST_USE;
int roberta_model_load_files(const char *config_path, const char *weights_path, roberta_quant q, roberta_model **out,
                             cerr *e) CH_MUST_USE;
void roberta_model_free(roberta_model *m);

const roberta_config *roberta_model_config(const roberta_model *m);
const char *roberta_model_format(const roberta_model *m);  /* "safetensors" or "pytorch" */
const char *roberta_model_src_dtype(const roberta_model *m); /* dtype of the file's weights, e.g. "F32" */
roberta_quant roberta_model_quant(const roberta_model *m);
int64_t roberta_model_param_count(const roberta_model *m);    /* as stored in the checkpoint (no pooler) */
size_t roberta_model_resident_bytes(const roberta_model *m);  /* weights as held in memory */
int roberta_model_max_tokens(const roberta_model *m);         /* max_positions - pad_id - 1 (512 for base) */

typedef struct roberta_session roberta_session;

/* token_budget: most tokens run together in one batch (sum of lengths); 0 = 2048. max_batch: most sequences
 * per batch; 0 = 32. threads: 0 = 1. */
int roberta_session_new(const roberta_model *m, int max_batch, int token_budget, int threads, roberta_session **out,
                        cerr *e) CH_MUST_USE;
void roberta_session_free(roberta_session *s);

/* Classifies n id sequences (each 1..roberta_model_max_tokens ids, normally <s> ... </s>). Sequences are
 * grouped by length into batches under the session's budget and packed without padding; identical sequences are
 * computed once. logits[i] are the raw outputs of the classifier for ids[i], in model output order. */
int roberta_session_run(roberta_session *s, const int32_t *const *ids, const size_t *lens, size_t n,
                        float (*logits)[3], cerr *e) CH_MUST_USE;

/* Work done by the last run, for benchmarks: multiply-adds in the dense layers and attention (real tokens only),
 * and the number of sequences actually computed after de-duplication. */
typedef struct roberta_stats {
    double flops;
    size_t computed;
    size_t batches;
    double t_dense, t_attn, t_other; /* seconds in dense layers, attention, everything else */
} roberta_stats;
void roberta_session_stats(const roberta_session *s, roberta_stats *out);

#endif
