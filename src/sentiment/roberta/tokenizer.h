/* tokenizer.h - RoBERTa's byte-level BPE (GPT-2 algorithm) and the model card's text preprocessing.
 *
 * Matches OpenAI's GPT-2 encoder.py (and Hugging Face `tokenizers` with add_prefix_space=false) on
 * vocab.json + merges.txt, then wraps the ids as <s> ids </s>:
 *   - pre-split with the GPT-2 regex (PCRE2, UTF mode). `\s` is spelled out as the Unicode White_Space
 *     set, which is what Python's `regex` module uses (PCRE2's own \s would miss U+0085);
 *   - each piece's bytes go through GPT-2's bytes_to_unicode table and are merged by rank.
 *
 * Behaviour a caller should know:
 *   - Literal special-token text in the input ("<s>", "</s>", "<pad>", "<unk>", "<mask>") is plain text:
 *     it is split like any other characters, as GPT-2 BPE does. (Hugging Face's tokenizers would emit the
 *     special ids; comments are untrusted text and must not be able to inject structure.)
 *   - Invalid UTF-8 is decoded first the way Python's bytes.decode("utf-8", errors="replace") does:
 *     each maximal invalid subpart becomes one U+FFFD. ("errors=replace" in the reference only affects
 *     decoding ids back to text; this is the closest faithful meaning for byte input.)
 *   - Truncation: when the content needs more than max_ids - 2 ids, the first ceil(cap/4) and the last
 *     cap - ceil(cap/4) content ids are kept (cap = max_ids - 2), the middle is dropped, and *truncated
 *     is set. For the model's 512 that is the first 128 and the last 382 ids ("head+tail", Sun et al.
 *     2019): openings and closings carry most of a comment's sentiment.
 *   - Input over BPE_MAX_TEXT_BYTES is refused (CERR_TOOBIG) rather than tokenized.
 *
 * Threads: a loaded tokenizer is immutable and shared; each thread encodes through its own session, which
 * owns the scratch buffers and a bounded word->ids cache, so encoding does not allocate once warm. */
#ifndef CHATTER_SENTIMENT_ROBERTA_TOKENIZER_H
#define CHATTER_SENTIMENT_ROBERTA_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define BPE_MAX_TEXT_BYTES (1u << 20)

typedef struct bpe_tokenizer bpe_tokenizer;

/* Accepts both vocab.json layouts (compact, and the hub's `"key": value` with spaces). The merges must be
 * in training order (every merge's parts made by earlier merges), as GPT-2's are; load checks it. */
int bpe_tokenizer_load(const char *vocab_json_path, const char *merges_txt_path, bpe_tokenizer **out,
                       cerr *e) CH_MUST_USE;
void bpe_tokenizer_free(bpe_tokenizer *t);

typedef struct bpe_session bpe_session; /* per-thread scratch: caches, buffers */
int bpe_session_new(const bpe_tokenizer *t, bpe_session **out, cerr *e) CH_MUST_USE;
void bpe_session_free(bpe_session *s);

/* Encodes text (UTF-8, len bytes) as <s> ids </s>. At most max_ids ids are written (max_ids >= 2); when the
 * text needs more, keeps head + tail as described above and sets *truncated (else clears it). */
int bpe_encode(bpe_session *s, const char *text, size_t len, int32_t *ids, size_t max_ids, size_t *n_ids,
               bool *truncated, cerr *e) CH_MUST_USE;

/* Id of a vocabulary entry by its exact text, e.g. "<s>", "</s>", "<pad>"; -1 if absent. */
int32_t bpe_token_id(const bpe_tokenizer *t, const char *token);

/* The model card's preprocessing, exactly: split on U+0020 only (empty pieces kept), a piece that starts
 * with '@' and is longer than 1 byte becomes "@user", a piece that starts with "http" becomes "http",
 * joined again with single spaces. Replaces the content of out (initialised by the caller). */
int roberta_preprocess(const char *text, size_t len, buf *out, cerr *e) CH_MUST_USE;

#endif
