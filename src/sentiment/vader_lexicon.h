/* vader_lexicon.h - VADER's word and emoji tables: built once at load, then immutable and shared by
 * threads (lookups take const pointers and touch no shared state). */
#ifndef CHATTER_SENTIMENT_VADER_LEXICON_H
#define CHATTER_SENTIMENT_VADER_LEXICON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* A byte-string -> double hash map. Putting an existing key replaces its value (Python dict: the last
 * duplicate wins). */
typedef struct vader_strmap vader_strmap;
vader_strmap *vader_strmap_new(void);
void vader_strmap_free(vader_strmap *m);
int vader_strmap_put(vader_strmap *m, const char *key, size_t len, double val, cerr *e) CH_MUST_USE;
bool vader_strmap_get(const vader_strmap *m, const char *key, size_t len, double *val);
size_t vader_strmap_count(const vader_strmap *m);

/* The two lexicon files of the reference: vader_lexicon.txt (word -> mean valence) and
 * emoji_utf8_lexicon.txt (emoji -> English description). */
typedef struct vader_lexicon vader_lexicon;
int vader_lexicon_load(const char *dir, vader_lexicon **out, cerr *e) CH_MUST_USE;
void vader_lexicon_free(vader_lexicon *lx);
const vader_strmap *vader_lexicon_words(const vader_lexicon *lx);
/* The description of a one-code-point emoji key, as code points; NULL when cp is not such a key. The
 * reference looks emoji up one code point at a time, so multi-code-point keys are not kept. */
const uint32_t *vader_lexicon_emoji(const vader_lexicon *lx, uint32_t cp, size_t *len);

#define VADER_LEXICON_FILE "vader_lexicon.txt"
#define VADER_EMOJI_FILE "emoji_utf8_lexicon.txt"

#endif
