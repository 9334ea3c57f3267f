/* vader_lexicon.c - loads VADER's lexicon files into open-addressing hash tables.
 * Parsing copies the reference's make_lex_dict/make_emoji_dict: text.rstrip('\n').split('\n'), each line
 * str.strip()ped and split on TAB, first two fields used, later duplicates replace earlier ones. */
#include "sentiment/vader_lexicon.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"
#include "sentiment/vader_text.h"

/* The shipped files are 0.4 MB and 0.1 MB; anything far larger is not a VADER lexicon. */
#define LEXICON_MAX_BYTES (8u << 20)
#define EMOJI_MAX_BYTES (4u << 20)
#define MAX_ENTRIES (1u << 20)

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t hash_cp(uint32_t cp) { return (uint64_t)cp * 0x9E3779B97F4A7C15ull; }

/* ---- string map ---- */

typedef struct str_ent {
    uint32_t off, len;
    double val;
} str_ent;

struct vader_strmap {
    buf keys;        /* all key bytes, back to back */
    str_ent *ents;
    size_t n, ents_cap;
    uint32_t *slots; /* entry index + 1; 0 = empty */
    size_t nslots;   /* power of two, kept at least twice n */
};

vader_strmap *vader_strmap_new(void) {
    vader_strmap *m = calloc(1, sizeof *m);
    if (m) buf_init(&m->keys, 0);
    return m;
}

void vader_strmap_free(vader_strmap *m) {
    if (!m) return;
    buf_free(&m->keys);
    free(m->ents);
    free(m->slots);
    free(m);
}

size_t vader_strmap_count(const vader_strmap *m) { return m->n; }

static size_t strmap_find(const vader_strmap *m, const char *key, size_t len, uint64_t h) {
    size_t mask = m->nslots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        uint32_t s = m->slots[i];
        if (!s) return i;
        const str_ent *en = &m->ents[s - 1];
        if (en->len == len && memcmp(m->keys.data + en->off, key, len) == 0) return i;
    }
}

static int strmap_grow(vader_strmap *m, cerr *e) {
    size_t ns = m->nslots ? m->nslots * 2 : 64;
    uint32_t *slots = calloc(ns, sizeof *slots);
    if (!slots) return cerr_set(e, CERR_NOMEM, "out of memory building the VADER lexicon");
    free(m->slots);
    m->slots = slots;
    m->nslots = ns;
    for (size_t k = 0; k < m->n; k++) {
        const str_ent *en = &m->ents[k];
        m->slots[strmap_find(m, m->keys.data + en->off, en->len,
                             hash_bytes(m->keys.data + en->off, en->len))] = (uint32_t)(k + 1);
    }
    return 0;
}

int vader_strmap_put(vader_strmap *m, const char *key, size_t len, double val, cerr *e) {
    if (m->n >= MAX_ENTRIES || len > UINT32_MAX / 2)
        return cerr_set(e, CERR_TOOBIG, "VADER lexicon has too many entries");
    if ((m->n + 1) * 2 > m->nslots && strmap_grow(m, e)) return -1;
    uint64_t h = hash_bytes(key, len);
    size_t i = strmap_find(m, key, len, h);
    if (m->slots[i]) {
        m->ents[m->slots[i] - 1].val = val;
        return 0;
    }
    if (m->n == m->ents_cap) {
        size_t nc = m->ents_cap ? m->ents_cap * 2 : 64;
        str_ent *ne = realloc(m->ents, nc * sizeof *ne);
        if (!ne) return cerr_set(e, CERR_NOMEM, "out of memory building the VADER lexicon");
        m->ents = ne;
        m->ents_cap = nc;
    }
    size_t off = m->keys.len;
    if (buf_append(&m->keys, key, len, e)) return -1;
    m->ents[m->n] = (str_ent){.off = (uint32_t)off, .len = (uint32_t)len, .val = val};
    m->slots[i] = (uint32_t)++m->n;
    return 0;
}

bool vader_strmap_get(const vader_strmap *m, const char *key, size_t len, double *val) {
    if (!m->n) return false;
    uint32_t s = m->slots[strmap_find(m, key, len, hash_bytes(key, len))];
    if (!s) return false;
    *val = m->ents[s - 1].val;
    return true;
}

/* ---- emoji map: one code point -> description code points ---- */

typedef struct emoji_ent {
    uint32_t cp, off, len;
} emoji_ent;

struct vader_lexicon {
    vader_strmap *words;
    emoji_ent *emoji;        /* indexed through emoji_slots */
    size_t n_emoji, emoji_cap;
    uint32_t *emoji_slots;   /* entry index + 1 */
    size_t n_emoji_slots;    /* power of two */
    uint32_t min_emoji_cp;   /* lets plain ASCII skip the lookup */
    uint32_t *desc;          /* description code points, back to back */
    size_t desc_len, desc_cap;
};

static size_t emoji_find(const vader_lexicon *lx, uint32_t cp) {
    size_t mask = lx->n_emoji_slots - 1;
    for (size_t i = (size_t)(hash_cp(cp) >> 20) & mask;; i = (i + 1) & mask) {
        uint32_t s = lx->emoji_slots[i];
        if (!s || lx->emoji[s - 1].cp == cp) return i;
    }
}

static int emoji_put(vader_lexicon *lx, uint32_t cp, const char *d, size_t dlen, cerr *e) {
    if (lx->n_emoji >= MAX_ENTRIES) return cerr_set(e, CERR_TOOBIG, "emoji lexicon has too many entries");
    if ((lx->n_emoji + 1) * 2 > lx->n_emoji_slots) {
        size_t ns = lx->n_emoji_slots ? lx->n_emoji_slots * 2 : 64;
        uint32_t *slots = calloc(ns, sizeof *slots);
        if (!slots) return cerr_set(e, CERR_NOMEM, "out of memory building the emoji lexicon");
        free(lx->emoji_slots);
        lx->emoji_slots = slots;
        lx->n_emoji_slots = ns;
        for (size_t k = 0; k < lx->n_emoji; k++) lx->emoji_slots[emoji_find(lx, lx->emoji[k].cp)] = (uint32_t)(k + 1);
    }
    /* A description never has more code points than bytes. */
    if (lx->desc_len + dlen > lx->desc_cap) {
        size_t nc = lx->desc_cap ? lx->desc_cap : 4096;
        while (nc < lx->desc_len + dlen) nc *= 2;
        uint32_t *nd = realloc(lx->desc, nc * sizeof *nd);
        if (!nd) return cerr_set(e, CERR_NOMEM, "out of memory building the emoji lexicon");
        lx->desc = nd;
        lx->desc_cap = nc;
    }
    size_t off = lx->desc_len;
    for (size_t i = 0; i < dlen;) {
        uint32_t c;
        i += vt_decode(d + i, dlen - i, &c);
        lx->desc[lx->desc_len++] = c;
    }
    emoji_ent en = {.cp = cp, .off = (uint32_t)off, .len = (uint32_t)(lx->desc_len - off)};
    size_t slot = emoji_find(lx, cp);
    if (lx->emoji_slots[slot]) {
        lx->emoji[lx->emoji_slots[slot] - 1] = en; /* the old description stays in the arena, unused */
        return 0;
    }
    if (lx->n_emoji == lx->emoji_cap) {
        size_t nc = lx->emoji_cap ? lx->emoji_cap * 2 : 256;
        emoji_ent *ne = realloc(lx->emoji, nc * sizeof *ne);
        if (!ne) return cerr_set(e, CERR_NOMEM, "out of memory building the emoji lexicon");
        lx->emoji = ne;
        lx->emoji_cap = nc;
    }
    lx->emoji[lx->n_emoji] = en;
    if (!lx->n_emoji || cp < lx->min_emoji_cp) lx->min_emoji_cp = cp;
    lx->emoji_slots[slot] = (uint32_t)++lx->n_emoji;
    return 0;
}

const uint32_t *vader_lexicon_emoji(const vader_lexicon *lx, uint32_t cp, size_t *len) {
    if (!lx->n_emoji || cp < lx->min_emoji_cp) return NULL;
    uint32_t s = lx->emoji_slots[emoji_find(lx, cp)];
    if (!s) return NULL;
    const emoji_ent *en = &lx->emoji[s - 1];
    *len = en->len;
    return lx->desc + en->off;
}

const vader_strmap *vader_lexicon_words(const vader_lexicon *lx) { return lx->words; }

void vader_lexicon_free(vader_lexicon *lx) {
    if (!lx) return;
    vader_strmap_free(lx->words);
    free(lx->emoji);
    free(lx->emoji_slots);
    free(lx->desc);
    free(lx);
}

/* ---- file parsing ---- */

typedef int (*line_fn)(vader_lexicon *lx, const char *key, size_t klen, const char *val, size_t vlen,
                       cerr *e);

/* Python float() for the numbers these files hold; stricter about exotic spellings (hex, inf, nan). */
static int parse_valence(const char *s, size_t n, double *out) {
    char tmp[64];
    while (n && (*s == ' ' || *s == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n == 0 || n >= sizeof tmp) return -1;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789+-.eE", s[i])) return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (end != tmp + n || errno || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int add_word(vader_lexicon *lx, const char *key, size_t klen, const char *val, size_t vlen, cerr *e) {
    double v;
    if (parse_valence(val, vlen, &v)) return cerr_set(e, CERR_INVALID, "valence is not a number");
    return vader_strmap_put(lx->words, key, klen, v, e);
}

static int add_emoji(vader_lexicon *lx, const char *key, size_t klen, const char *val, size_t vlen, cerr *e) {
    uint32_t cp;
    if (klen == 0 || vt_decode_strict(key, klen, &cp) != klen) return 0; /* several code points: never looked up */
    return emoji_put(lx, cp, val, vlen, e);
}

static int parse_file(vader_lexicon *lx, const char *path, size_t cap, bool skip_empty, line_fn fn, cerr *e) {
    buf b;
    if (read_file_capped(path, cap, &b, e)) return -1;
    int rc = 0;
    const char *s = b.data;
    size_t n = b.len;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = vt_decode_strict(s + i, n - i, &cp);
        if (!k) {
            rc = cerr_set(e, CERR_INVALID, "%s: not valid UTF-8 (byte %zu)", path, i);
            goto out;
        }
        i += k;
    }
    while (n && s[n - 1] == '\n') n--;
    size_t lineno = 0;
    for (size_t pos = 0; pos <= n && n > 0;) {
        const char *nl = memchr(s + pos, '\n', n - pos);
        size_t end = nl ? (size_t)(nl - s) : n;
        lineno++;
        size_t b0 = pos, e0 = end;
        pos = end + 1;
        if (b0 == e0 && skip_empty) continue;
        vt_strip_utf8(s, &b0, &e0);
        const char *tab = memchr(s + b0, '\t', e0 - b0);
        if (!tab) {
            rc = cerr_set(e, CERR_INVALID, "%s line %zu: expected TOKEN<TAB>VALUE", path, lineno);
            goto out;
        }
        const char *val = tab + 1;
        const char *tab2 = memchr(val, '\t', (size_t)(s + e0 - val));
        size_t vlen = tab2 ? (size_t)(tab2 - val) : (size_t)(s + e0 - val);
        if (fn(lx, s + b0, (size_t)(tab - (s + b0)), val, vlen, e)) {
            rc = cerr_wrap(e, "%s line %zu", path, lineno);
            goto out;
        }
    }
out:
    buf_free(&b);
    return rc;
}

int vader_lexicon_load(const char *dir, vader_lexicon **out, cerr *e) {
    char lex_path[4096], emoji_path[4096];
    if (sbprintf(lex_path, sizeof lex_path, "%s/%s", dir, VADER_LEXICON_FILE) ||
        sbprintf(emoji_path, sizeof emoji_path, "%s/%s", dir, VADER_EMOJI_FILE))
        return cerr_set(e, CERR_INVALID, "model directory path too long: %s", dir);
    if (!file_exists(lex_path) || !file_exists(emoji_path))
        return cerr_set(e, CERR_NOTFOUND,
                        "VADER lexicon not found in %s (need %s and %s): run `chatter model fetch vader` "
                        "(or `chatter model fetch vader --from DIR` with a copy of the files)",
                        dir, VADER_LEXICON_FILE, VADER_EMOJI_FILE);
    vader_lexicon *lx = calloc(1, sizeof *lx);
    if (!lx || !(lx->words = vader_strmap_new())) {
        free(lx);
        return cerr_set(e, CERR_NOMEM, "out of memory loading the VADER lexicon");
    }
    if (parse_file(lx, lex_path, LEXICON_MAX_BYTES, true, add_word, e) ||
        parse_file(lx, emoji_path, EMOJI_MAX_BYTES, false, add_emoji, e)) {
        vader_lexicon_free(lx);
        return -1;
    }
    if (vader_strmap_count(lx->words) == 0) {
        vader_lexicon_free(lx);
        return cerr_set(e, CERR_INVALID, "%s has no entries", lex_path);
    }
    *out = lx;
    return 0;
}
