/* roberta_analyzer.h - the native RoBERTa sentiment analyzer (twitter-roberta-base-sentiment-latest).
 * model_dir holds config.json, vocab.json, merges.txt and model.safetensors or pytorch_model.bin, and optionally
 * REVISION (the upstream commit, recorded in the model id). quantize "int8" selects the int8 engine; its results
 * carry the model id suffix "+int8" because they differ slightly from fp32. */
#ifndef CHATTER_SENTIMENT_ROBERTA_ANALYZER_H
#define CHATTER_SENTIMENT_ROBERTA_ANALYZER_H

#include "sentiment/analyzer.h"

extern const analyzer_ops roberta_analyzer_ops;

#endif
