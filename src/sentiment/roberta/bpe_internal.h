/* bpe_internal.h - the loaded tokenizer's tables, shared by bpe_load.c (builds them) and tokenizer.c
 * (encodes with them). Not for use outside src/sentiment/roberta/. */
#ifndef CHATTER_SENTIMENT_ROBERTA_BPE_INTERNAL_H
#define CHATTER_SENTIMENT_ROBERTA_BPE_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>

#include "sentiment/roberta/tokenizer.h"

typedef struct bpe_merge {
    uint64_t key;   /* (left id << 32) | right id */
    int32_t rank;   /* -1: empty slot */
    int32_t result; /* id of left+right */
} bpe_merge;

typedef struct bpe_vocab_slot {
    uint32_t off, len; /* token text in the arena */
    int32_t id;        /* -1: empty slot */
} bpe_vocab_slot;

struct bpe_tokenizer {
    int32_t byte_id[256]; /* id of each byte's bytes_to_unicode character */
    int32_t bos_id, eos_id;
    bpe_merge *merges;
    size_t merges_mask;
    bpe_vocab_slot *vocab;
    size_t vocab_mask;
    char *arena;
    pcre2_code *re;
};

static inline uint64_t bpe_pair_key(int32_t left, int32_t right) {
    return ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
}

static inline uint64_t bpe_mix64(uint64_t x) { /* splitmix64 finaliser: cheap, spreads pair keys */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Rank and result of merging (left, right); false when the pair never merges. */
static inline bool bpe_merge_lookup(const bpe_tokenizer *t, int32_t left, int32_t right, int32_t *rank,
                                    int32_t *result) {
    uint64_t key = bpe_pair_key(left, right);
    for (size_t i = bpe_mix64(key) & t->merges_mask;; i = (i + 1) & t->merges_mask) {
        const bpe_merge *m = &t->merges[i];
        if (m->rank < 0) return false;
        if (m->key == key) {
            *rank = m->rank;
            *result = m->result;
            return true;
        }
    }
}

uint64_t bpe_hash_bytes(const char *s, size_t n);

#endif
