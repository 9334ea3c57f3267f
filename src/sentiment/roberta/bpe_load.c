/* bpe_load.c - reads vocab.json and merges.txt into the immutable tables of a bpe_tokenizer. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "sentiment/roberta/bpe_internal.h"

/* Both files are ~1 MB for RoBERTa/GPT-2; the caps only stop a wrong path from eating memory. */
#define VOCAB_MAX_BYTES (32u << 20)
#define MERGES_MAX_BYTES (32u << 20)
#define VOCAB_MAX_ENTRIES (4u << 20)
#define TOKEN_MAX_BYTES 1024

/* GPT-2's pre-split regex. `\s` is written out as Unicode White_Space (what Python's `regex` matches) and
 * `\S` as its complement, because PCRE2's \s, even with UCP, leaves out U+0085. */
#define WS "\\t-\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
static const char GPT2_PATTERN[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS "\\p{L}\\p{N}]+"
                                   "|[" WS "]+(?![^" WS "])|[" WS "]+";

uint64_t bpe_hash_bytes(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

static size_t pow2_at_least(size_t n) {
    size_t p = 16;
    while (p < n) p *= 2;
    return p;
}

static int32_t vocab_find(const bpe_tokenizer *t, const char *s, size_t n) {
    if (!t->vocab) return -1;
    for (size_t i = bpe_hash_bytes(s, n) & t->vocab_mask;; i = (i + 1) & t->vocab_mask) {
        const bpe_vocab_slot *v = &t->vocab[i];
        if (v->id < 0) return -1;
        if (v->len == n && memcmp(t->arena + v->off, s, n) == 0) return v->id;
    }
}

int32_t bpe_token_id(const bpe_tokenizer *t, const char *token) { return vocab_find(t, token, strlen(token)); }

static int load_vocab(bpe_tokenizer *t, const char *path, int32_t *max_id, cerr *e) {
    buf raw;
    if (read_file_capped(path, VOCAB_MAX_BYTES, &raw, e)) return -1;
    json_error_t jerr;
    json_t *root = json_loadb(raw.data, raw.len, 0, &jerr);
    buf_free(&raw);
    if (!root) return cerr_set(e, CERR_INVALID, "%s: line %d: %s", path, jerr.line, jerr.text);
    int rc = -1;
    size_t n = json_object_size(root);
    if (!json_is_object(root) || n == 0) {
        cerr_set(e, CERR_INVALID, "%s: expected a JSON object mapping tokens to ids", path);
        goto out;
    }
    if (n > VOCAB_MAX_ENTRIES) {
        cerr_set(e, CERR_TOOBIG, "%s: %zu entries is over the limit of %u", path, n, VOCAB_MAX_ENTRIES);
        goto out;
    }
    size_t arena_len = 0;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) arena_len += strlen(key);
    t->arena = malloc(arena_len ? arena_len : 1);
    t->vocab_mask = pow2_at_least(2 * n) - 1;
    t->vocab = malloc((t->vocab_mask + 1) * sizeof *t->vocab);
    if (!t->arena || !t->vocab) {
        cerr_set(e, CERR_NOMEM, "out of memory loading %s", path);
        goto out;
    }
    for (size_t i = 0; i <= t->vocab_mask; i++) t->vocab[i].id = -1;
    size_t off = 0;
    *max_id = -1;
    json_object_foreach(root, key, val) {
        size_t len = strlen(key);
        json_int_t id = json_is_integer(val) ? json_integer_value(val) : -1;
        if (id < 0 || id >= (json_int_t)VOCAB_MAX_ENTRIES) {
            cerr_set(e, CERR_INVALID, "%s: token \"%.64s\" has no valid id (need an integer 0..%u)", path, key,
                     VOCAB_MAX_ENTRIES - 1);
            goto out;
        }
        if (len > TOKEN_MAX_BYTES) {
            cerr_set(e, CERR_INVALID, "%s: token \"%.64s...\" is over %d bytes", path, key, TOKEN_MAX_BYTES);
            goto out;
        }
        memcpy(t->arena + off, key, len);
        size_t i = bpe_hash_bytes(key, len) & t->vocab_mask;
        while (t->vocab[i].id >= 0) i = (i + 1) & t->vocab_mask;
        t->vocab[i] = (bpe_vocab_slot){.off = (uint32_t)off, .len = (uint32_t)len, .id = (int32_t)id};
        off += len;
        if (id > *max_id) *max_id = (int32_t)id;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 to U+0100.. in order. */
static int map_bytes(bpe_tokenizer *t, const char *vocab_path, cerr *e) {
    int extra = 0;
    for (int b = 0; b < 256; b++) {
        bool keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        unsigned cp = keep ? (unsigned)b : 256u + (unsigned)extra++;
        char u[2];
        size_t n;
        if (cp < 0x80) {
            u[0] = (char)cp;
            n = 1;
        } else {
            u[0] = (char)(0xC0 | (cp >> 6));
            u[1] = (char)(0x80 | (cp & 0x3F));
            n = 2;
        }
        t->byte_id[b] = vocab_find(t, u, n);
        if (t->byte_id[b] < 0)
            return cerr_set(e, CERR_INVALID, "%s: no entry for byte 0x%02x (U+%04X): not a byte-level BPE vocabulary",
                            vocab_path, b, cp);
    }
    return 0;
}

static int load_merges(bpe_tokenizer *t, const char *path, int32_t max_id, cerr *e) {
    buf raw;
    if (read_file_capped(path, MERGES_MAX_BYTES, &raw, e)) return -1;
    int rc = -1;
    bool *made = calloc((size_t)max_id + 1, sizeof *made);
    size_t lines = 1;
    for (size_t i = 0; i < raw.len; i++) lines += raw.data[i] == '\n';
    t->merges_mask = pow2_at_least(2 * lines) - 1;
    t->merges = malloc((t->merges_mask + 1) * sizeof *t->merges);
    if (!made || !t->merges) {
        cerr_set(e, CERR_NOMEM, "out of memory loading %s", path);
        goto out;
    }
    for (size_t i = 0; i <= t->merges_mask; i++) t->merges[i].rank = -1;
    for (int b = 0; b < 256; b++) made[t->byte_id[b]] = true;

    int32_t rank = 0;
    size_t lineno = 0;
    char joined[2 * TOKEN_MAX_BYTES];
    for (char *p = raw.data, *end = raw.data + raw.len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *eol = nl ? nl : end;
        char *next = nl ? nl + 1 : end;
        lineno++;
        if (eol > p && eol[-1] == '\r') eol--;
        size_t len = (size_t)(eol - p);
        if (len == 0 || (lineno == 1 && len >= 8 && memcmp(p, "#version", 8) == 0)) {
            p = next;
            continue;
        }
        char *sp = memchr(p, ' ', len);
        if (!sp || sp == p || sp + 1 == eol || memchr(sp + 1, ' ', (size_t)(eol - sp - 1))) {
            cerr_set(e, CERR_INVALID, "%s:%zu: expected two tokens separated by one space", path, lineno);
            goto out;
        }
        size_t la = (size_t)(sp - p), lb = (size_t)(eol - sp - 1);
        if (la + lb > sizeof joined) {
            cerr_set(e, CERR_INVALID, "%s:%zu: merge is too long", path, lineno);
            goto out;
        }
        memcpy(joined, p, la);
        memcpy(joined + la, sp + 1, lb);
        int32_t a = vocab_find(t, p, la), b = vocab_find(t, sp + 1, lb), r = vocab_find(t, joined, la + lb);
        if (a < 0 || b < 0 || r < 0) {
            cerr_set(e, CERR_INVALID, "%s:%zu: \"%.*s\" is not in the vocabulary", path, lineno,
                     (int)(a < 0 ? la : b < 0 ? lb : la + lb), a < 0 ? p : b < 0 ? sp + 1 : joined);
            goto out;
        }
        /* The encoder merges with a priority queue, which equals GPT-2's round-by-round loop only when no
         * merge can create a pair that outranks the one just applied: i.e. merges in training order. */
        if (!made[a] || !made[b]) {
            cerr_set(e, CERR_INVALID, "%s:%zu: uses a token that no earlier merge produces (not in training order)",
                     path, lineno);
            goto out;
        }
        uint64_t key = bpe_pair_key(a, b);
        size_t i = bpe_mix64(key) & t->merges_mask;
        while (t->merges[i].rank >= 0 && t->merges[i].key != key) i = (i + 1) & t->merges_mask;
        if (t->merges[i].rank >= 0) {
            cerr_set(e, CERR_INVALID, "%s:%zu: duplicate merge", path, lineno);
            goto out;
        }
        t->merges[i] = (bpe_merge){.key = key, .rank = rank++, .result = r};
        made[r] = true;
        p = next;
    }
    if (rank == 0) {
        cerr_set(e, CERR_INVALID, "%s: no merges", path);
        goto out;
    }
    rc = 0;
out:
    free(made);
    buf_free(&raw);
    return rc;
}

static int compile_regex(bpe_tokenizer *t, cerr *e) {
    int err;
    PCRE2_SIZE at;
    t->re = pcre2_compile((PCRE2_SPTR)GPT2_PATTERN, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &at, NULL);
    if (!t->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return cerr_set(e, CERR_INTERNAL, "pre-split regex: %s at %zu", (const char *)msg, (size_t)at);
    }
    /* JIT is an optimisation: without it (unsupported platform) pcre2_match interprets. */
    (void)pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE);
    return 0;
}

int bpe_tokenizer_load(const char *vocab_json_path, const char *merges_txt_path, bpe_tokenizer **out, cerr *e) {
    *out = NULL;
    bpe_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return cerr_set(e, CERR_NOMEM, "out of memory");
    int32_t max_id;
    if (load_vocab(t, vocab_json_path, &max_id, e) || map_bytes(t, vocab_json_path, e) ||
        load_merges(t, merges_txt_path, max_id, e) || compile_regex(t, e))
        goto fail;
    t->bos_id = bpe_token_id(t, "<s>");
    t->eos_id = bpe_token_id(t, "</s>");
    if (t->bos_id < 0 || t->eos_id < 0) {
        cerr_set(e, CERR_INVALID, "%s: no <s> or </s> entry: not a RoBERTa vocabulary", vocab_json_path);
        goto fail;
    }
    *out = t;
    return 0;
fail:
    bpe_tokenizer_free(t);
    return -1;
}

void bpe_tokenizer_free(bpe_tokenizer *t) {
    if (!t) return;
    pcre2_code_free(t->re);
    free(t->merges);
    free(t->vocab);
    free(t->arena);
    free(t);
}
