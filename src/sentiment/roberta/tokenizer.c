/* tokenizer.c - encoding: UTF-8 repair, GPT-2 pre-split, per-piece BPE with a word cache, truncation. */
#include "sentiment/roberta/tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "sentiment/roberta/bpe_internal.h"

/* Direct-mapped cache of piece bytes -> ids. Most pieces of real comments are short words that repeat, so a
 * hit skips the merge loop. Bounded by construction: a colliding piece simply overwrites the slot. */
#define CACHE_SLOTS 8192
#define CACHE_KEY_MAX 30
#define CACHE_IDS_MAX 8

typedef struct cache_slot {
    uint64_t h; /* 0: empty */
    uint8_t klen, nids;
    char key[CACHE_KEY_MAX];
    int32_t ids[CACHE_IDS_MAX];
} cache_slot;

typedef struct heap_entry {
    int32_t rank, pos, left, right, result;
} heap_entry;

struct bpe_session {
    const bpe_tokenizer *t;
    pcre2_match_data *md;
    cache_slot *cache;
    char *clean; /* repaired copy of the input, only used when the input is not valid UTF-8 */
    size_t clean_cap;
    int32_t *ids; /* content ids of the current text, before truncation */
    size_t ids_len, ids_cap;
    int32_t *lists; /* one piece's symbols as a linked list, by byte position: sym | next | prev */
    size_t lists_cap; /* symbols each of the three can hold */
    int32_t *sym, *next, *prev;
    heap_entry *heap;
    size_t heap_len, heap_cap;
};

static int reserve(void **p, size_t *cap, size_t need, size_t elem, cerr *e) {
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q) return cerr_set(e, CERR_NOMEM, "out of memory (%zu bytes)", n * elem);
    *p = q;
    *cap = n;
    return 0;
}

int bpe_session_new(const bpe_tokenizer *t, bpe_session **out, cerr *e) {
    *out = NULL;
    bpe_session *s = calloc(1, sizeof *s);
    if (!s) return cerr_set(e, CERR_NOMEM, "out of memory");
    s->t = t;
    s->md = pcre2_match_data_create_from_pattern(t->re, NULL);
    s->cache = calloc(CACHE_SLOTS, sizeof *s->cache);
    if (!s->md || !s->cache) {
        bpe_session_free(s);
        return cerr_set(e, CERR_NOMEM, "out of memory");
    }
    *out = s;
    return 0;
}

void bpe_session_free(bpe_session *s) {
    if (!s) return;
    pcre2_match_data_free(s->md);
    free(s->cache);
    free(s->clean);
    free(s->ids);
    free(s->lists);
    free(s->heap);
    free(s);
}

/* ---- UTF-8 repair (Python's decode("utf-8", errors="replace")) ---- */

/* Length of the valid sequence at s (1..4), or 0 with *bad = the maximal invalid subpart (>= 1), which
 * Python replaces with one U+FFFD. */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t need;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        *bad = 1;
        return 0;
    }
    size_t i = 1;
    for (; i <= need && i < n; i++) {
        unsigned b = s[i];
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) break;
    }
    if (i == need + 1) return i;
    *bad = i;
    return 0;
}

static size_t utf8_valid_prefix(const unsigned char *s, size_t n) {
    size_t i = 0, bad;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(s + i, n - i, &bad);
        if (!k) return i;
        i += k;
    }
    return n;
}

/* Returns the text to tokenize: the input itself when valid, else the repaired copy in the session. */
static int repair_utf8(bpe_session *s, const char *text, size_t len, const char **out, size_t *out_len, cerr *e) {
    const unsigned char *u = (const unsigned char *)text;
    size_t i = utf8_valid_prefix(u, len);
    if (i == len) {
        *out = text;
        *out_len = len;
        return 0;
    }
    if (reserve((void **)&s->clean, &s->clean_cap, 3 * len, 1, e)) return -1; /* 1 bad byte -> 3 bytes */
    memcpy(s->clean, text, i);
    size_t o = i, bad;
    while (i < len) {
        size_t k = utf8_seq(u + i, len - i, &bad);
        if (k) {
            memcpy(s->clean + o, u + i, k);
            o += k;
            i += k;
        } else {
            memcpy(s->clean + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += bad;
        }
    }
    *out = s->clean;
    *out_len = o;
    return 0;
}

/* ---- BPE over one pre-split piece ---- */

static bool heap_less(const heap_entry *a, const heap_entry *b) {
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(bpe_session *s, heap_entry x) {
    size_t i = s->heap_len++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(&x, &s->heap[p])) break;
        s->heap[i] = s->heap[p];
        i = p;
    }
    s->heap[i] = x;
}

static heap_entry heap_pop(bpe_session *s) {
    heap_entry top = s->heap[0], x = s->heap[--s->heap_len];
    size_t i = 0, n = s->heap_len;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap_less(&s->heap[c + 1], &s->heap[c])) c++;
        if (!heap_less(&s->heap[c], &x)) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n) s->heap[i] = x;
    return top;
}

static void push_pair(bpe_session *s, int32_t pos, int32_t right_pos) {
    int32_t rank, result;
    if (bpe_merge_lookup(s->t, s->sym[pos], s->sym[right_pos], &rank, &result))
        heap_push(s, (heap_entry){rank, pos, s->sym[pos], s->sym[right_pos], result});
}

/* Lowest rank first, leftmost first among equals. With merges in training order (checked at load) this is
 * exactly GPT-2's "merge every occurrence of the best pair, repeat", in O(n log n) for long pieces. */
static int bpe_piece(bpe_session *s, const unsigned char *p, size_t n, cerr *e) {
    const bpe_tokenizer *t = s->t;
    if (n == 1) {
        s->ids[s->ids_len++] = t->byte_id[p[0]];
        return 0;
    }
    if (n > s->lists_cap) {
        size_t cap = s->lists_cap ? s->lists_cap : 64;
        while (cap < n) cap *= 2;
        int32_t *q = realloc(s->lists, 3 * cap * sizeof *q);
        if (!q) return cerr_set(e, CERR_NOMEM, "out of memory");
        s->lists = q;
        s->lists_cap = cap;
        s->sym = q;
        s->next = q + cap;
        s->prev = q + 2 * cap;
    }
    /* every merge pushes at most two pairs, and there are at most n - 1 merges */
    if (reserve((void **)&s->heap, &s->heap_cap, 3 * n, sizeof *s->heap, e)) return -1;

    for (size_t i = 0; i < n; i++) {
        s->sym[i] = t->byte_id[p[i]];
        s->prev[i] = (int32_t)i - 1;
        s->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    s->heap_len = 0;
    for (size_t i = 0; i + 1 < n; i++) push_pair(s, (int32_t)i, (int32_t)i + 1);
    while (s->heap_len) {
        heap_entry m = heap_pop(s);
        int32_t i = m.pos, j = s->next[i];
        /* stale: one side was merged away since this pair was queued (symbols only ever grow) */
        if (s->sym[i] != m.left || j < 0 || s->sym[j] != m.right) continue;
        s->sym[i] = m.result;
        s->sym[j] = -1;
        s->next[i] = s->next[j];
        if (s->next[j] >= 0) s->prev[s->next[j]] = i;
        if (s->prev[i] >= 0) push_pair(s, s->prev[i], i);
        if (s->next[i] >= 0) push_pair(s, i, s->next[i]);
    }
    for (int32_t i = 0; i >= 0; i = s->next[i]) s->ids[s->ids_len++] = s->sym[i];
    return 0;
}

static int encode_piece(bpe_session *s, const char *p, size_t n, cerr *e) {
    cache_slot *slot = NULL;
    uint64_t h = 0;
    if (n <= CACHE_KEY_MAX) {
        h = bpe_hash_bytes(p, n) | 1;
        slot = &s->cache[bpe_mix64(h) & (CACHE_SLOTS - 1)];
        if (slot->h == h && slot->klen == n && memcmp(slot->key, p, n) == 0) {
            memcpy(s->ids + s->ids_len, slot->ids, slot->nids * sizeof *slot->ids);
            s->ids_len += slot->nids;
            return 0;
        }
    }
    size_t start = s->ids_len;
    if (bpe_piece(s, (const unsigned char *)p, n, e)) return -1;
    size_t got = s->ids_len - start;
    if (slot && got <= CACHE_IDS_MAX) {
        slot->h = h;
        slot->klen = (uint8_t)n;
        slot->nids = (uint8_t)got;
        memcpy(slot->key, p, n);
        memcpy(slot->ids, s->ids + start, got * sizeof *slot->ids);
    }
    return 0;
}

int bpe_encode(bpe_session *s, const char *text, size_t len, int32_t *ids, size_t max_ids, size_t *n_ids,
               bool *truncated, cerr *e) {
    *n_ids = 0;
    *truncated = false;
    if (max_ids < 2) return cerr_set(e, CERR_INVALID, "max_ids must be at least 2 (for <s> and </s>)");
    if (len > BPE_MAX_TEXT_BYTES)
        return cerr_set(e, CERR_TOOBIG, "text of %zu bytes is over the tokenizer's limit of %u", len,
                        BPE_MAX_TEXT_BYTES);
    if (!text) text = "";
    const char *subj;
    size_t slen;
    if (repair_utf8(s, text, len, &subj, &slen, e)) return -1;
    /* every byte yields at most one id, so this is the only growth per call */
    if (reserve((void **)&s->ids, &s->ids_cap, slen + 1, sizeof *s->ids, e)) return -1;
    s->ids_len = 0;

    PCRE2_SIZE off = 0;
    while (off < slen) {
        int rc = pcre2_match(s->t->re, (PCRE2_SPTR)subj, slen, off, PCRE2_NO_UTF_CHECK, s->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return cerr_set(e, CERR_INTERNAL, "pre-split failed: %s", (const char *)msg);
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
        if (ov[1] <= ov[0]) break; /* the pattern cannot match empty; guard against looping anyway */
        if (encode_piece(s, subj + ov[0], ov[1] - ov[0], e)) return -1;
        off = ov[1];
    }

    const bpe_tokenizer *t = s->t;
    size_t cap = max_ids - 2, n = s->ids_len;
    ids[0] = t->bos_id;
    if (n <= cap) {
        memcpy(ids + 1, s->ids, n * sizeof *ids);
    } else {
        size_t head = (cap + 3) / 4, tail = cap - head;
        memcpy(ids + 1, s->ids, head * sizeof *ids);
        memcpy(ids + 1 + head, s->ids + n - tail, tail * sizeof *ids);
        n = cap;
        *truncated = true;
    }
    ids[n + 1] = t->eos_id;
    *n_ids = n + 2;
    return 0;
}
