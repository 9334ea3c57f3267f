/* analyzer.h - the sentiment-analyzer interface: text in, label and three probabilities out.
 * Knows nothing of HTTP, storage or platforms. A loaded analyzer (the model) is immutable and shared by
 * threads; each thread classifies through its own session, which owns all scratch memory, so the
 * inference loop allocates nothing. One implementation per file, registered in analyzer.c. */
#ifndef CHATTER_SENTIMENT_ANALYZER_H
#define CHATTER_SENTIMENT_ANALYZER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

typedef enum sentiment_label { LABEL_NEGATIVE = 0, LABEL_NEUTRAL = 1, LABEL_POSITIVE = 2 } sentiment_label;

const char *label_name(sentiment_label l); /* "negative", "neutral", "positive" */

typedef struct sentiment {
    sentiment_label label;
    float p[3];        /* negative, neutral, positive; each in [0,1] */
    bool truncated;    /* the text was cut to fit the model's input */
} sentiment;

typedef struct analyzer_options {
    const char *model_dir;   /* where the model/lexicon files are; NULL = default data dir */
    const char *quantize;    /* "none" (default) or "int8" */
    int threads;             /* threads one session may use inside a batch; 0 = 1 */
} analyzer_options;

typedef struct analyzer_ops {
    const char *name; /* "vader", "roberta", "azure" */
    int (*load)(const analyzer_options *opt, void **model, cerr *e);
    void (*unload)(void *model);
    /* "vader-3.3.2", "cardiffnlp/twitter-roberta-base-sentiment-latest@<rev>": stored with each result */
    const char *(*model_id)(const void *model);
    int (*session_new)(const void *model, void **session, cerr *e);
    void (*session_free)(void *session);
    int (*classify)(void *session, const char *const *texts, size_t n, sentiment *out, cerr *e);
} analyzer_ops;

typedef struct analyzer analyzer;
typedef struct analyzer_session analyzer_session;

/* name: "vader", "roberta", "azure", or "auto" (roberta when its files are installed, else vader). */
int analyzer_open(const char *name, const analyzer_options *opt, analyzer **out, cerr *e) CH_MUST_USE;
void analyzer_free(analyzer *a);
const char *analyzer_name(const analyzer *a);
const char *analyzer_model_id(const analyzer *a);
int analyzer_session_new(analyzer *a, analyzer_session **out, cerr *e) CH_MUST_USE;
void analyzer_session_free(analyzer_session *s);
int analyzer_classify(analyzer_session *s, const char *const *texts, size_t n, sentiment *out,
                      cerr *e) CH_MUST_USE;

/* Default directory for model files: $CHATTER_MODEL_DIR, else $XDG_DATA_HOME/chatter/models,
 * else ~/.local/share/chatter/models. Writes "<dir>/<name>" into out. */
int analyzer_model_path(const char *name, char *out, size_t cap, cerr *e) CH_MUST_USE;

#endif
