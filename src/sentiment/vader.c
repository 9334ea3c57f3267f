/* vader.c - VADER sentiment, ported from vaderSentiment.py (commit 44fc044cd877, scoring code unchanged since
 * 2020-05-22) so that it reproduces SentimentIntensityAnalyzer().polarity_scores() bit for bit, quirks
 * included: the operations below are the reference's, in its order, on IEEE doubles.
 *
 * What chatter stores (the three CSV columns): p = {neg, neu, pos} are VADER's own proportions of the text
 * that is negative / neutral / positive (unrounded, so they sum to 1). The label comes from VADER's compound
 * score rounded to 4 places as polarity_scores() reports it: >= 0.05 positive, <= -0.05 negative, else
 * neutral. A text with no words at all (VADER answers 0, 0, 0) is stored as p = {0, 1, 0}, neutral, so the
 * columns always sum to 1.
 *
 * Text handling copies Python: str.split() on Unicode whitespace, ASCII punctuation stripped from both ends
 * of a word unless that leaves 2 characters or fewer, str.lower() for every lookup, str.isupper() for ALL
 * CAPS, emoji replaced one code point at a time by their description. */
#include "sentiment/vader.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "sentiment/vader_lexicon.h"
#include "sentiment/vader_text.h"

#define B_INCR 0.293
#define B_DECR (-0.293)
#define C_INCR 0.733
#define N_SCALAR (-0.74)

static const char *const NEGATE[] = {
    "aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt", "ain't", "aren't", "can't",
    "couldn't", "daren't", "didn't", "doesn't", "dont", "hadnt", "hasnt", "havent", "isnt", "mightnt",
    "mustnt", "neither", "don't", "hadn't", "hasn't", "haven't", "isn't", "mightn't", "mustn't", "neednt",
    "needn't", "never", "none", "nope", "nor", "not", "nothing", "nowhere", "oughtnt", "shant", "shouldnt",
    "uhuh", "wasnt", "werent", "oughtn't", "shan't", "shouldn't", "uh-uh", "wasn't", "weren't", "without",
    "wont", "wouldnt", "won't", "wouldn't", "rarely", "seldom", "despite"};

typedef struct word_value {
    const char *w;
    double v;
} word_value;

/* Keys with a space ("kind of") never match a single word; they matter only in the idiom n-gram check. */
static const word_value BOOSTERS[] = {
    {"absolutely", B_INCR}, {"amazingly", B_INCR}, {"awfully", B_INCR}, {"completely", B_INCR},
    {"considerable", B_INCR}, {"considerably", B_INCR}, {"decidedly", B_INCR}, {"deeply", B_INCR},
    {"effing", B_INCR}, {"enormous", B_INCR}, {"enormously", B_INCR}, {"entirely", B_INCR},
    {"especially", B_INCR}, {"exceptional", B_INCR}, {"exceptionally", B_INCR}, {"extreme", B_INCR},
    {"extremely", B_INCR}, {"fabulously", B_INCR}, {"flipping", B_INCR}, {"flippin", B_INCR},
    {"frackin", B_INCR}, {"fracking", B_INCR}, {"fricking", B_INCR}, {"frickin", B_INCR},
    {"frigging", B_INCR}, {"friggin", B_INCR}, {"fully", B_INCR}, {"fuckin", B_INCR}, {"fucking", B_INCR},
    {"fuggin", B_INCR}, {"fugging", B_INCR}, {"greatly", B_INCR}, {"hella", B_INCR}, {"highly", B_INCR},
    {"hugely", B_INCR}, {"incredible", B_INCR}, {"incredibly", B_INCR}, {"intensely", B_INCR},
    {"major", B_INCR}, {"majorly", B_INCR}, {"more", B_INCR}, {"most", B_INCR}, {"particularly", B_INCR},
    {"purely", B_INCR}, {"quite", B_INCR}, {"really", B_INCR}, {"remarkably", B_INCR}, {"so", B_INCR},
    {"substantially", B_INCR}, {"thoroughly", B_INCR}, {"total", B_INCR}, {"totally", B_INCR},
    {"tremendous", B_INCR}, {"tremendously", B_INCR}, {"uber", B_INCR}, {"unbelievably", B_INCR},
    {"unusually", B_INCR}, {"utter", B_INCR}, {"utterly", B_INCR}, {"very", B_INCR},
    {"almost", B_DECR}, {"barely", B_DECR}, {"hardly", B_DECR}, {"just enough", B_DECR},
    {"kind of", B_DECR}, {"kinda", B_DECR}, {"kindof", B_DECR}, {"kind-of", B_DECR}, {"less", B_DECR},
    {"little", B_DECR}, {"marginal", B_DECR}, {"marginally", B_DECR}, {"occasional", B_DECR},
    {"occasionally", B_DECR}, {"partly", B_DECR}, {"scarce", B_DECR}, {"scarcely", B_DECR},
    {"slight", B_DECR}, {"slightly", B_DECR}, {"somewhat", B_DECR}, {"sort of", B_DECR}, {"sorta", B_DECR},
    {"sortof", B_DECR}, {"sort-of", B_DECR}};

/* Idioms of 2-3 words ("badass" is one word, so, as in the reference, it never matches). */
static const word_value SPECIAL_CASES[] = {
    {"the shit", 3}, {"the bomb", 3}, {"bad ass", 1.5}, {"badass", 1.5}, {"bus stop", 0.0},
    {"yeah right", -2}, {"kiss of death", -1.5}, {"to die for", 3}, {"beating heart", 3.1},
    {"broken heart", -2.9}};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef struct vader_model {
    vader_lexicon *lx;
    const vader_strmap *words;
    vader_strmap *boosters;
    vader_strmap *negate;
    const word_value *ngram_boosters[8]; /* the BOOSTERS keys with a space */
    size_t n_ngram_boosters;
} vader_model;

typedef struct vtok {
    uint32_t start, len;     /* code points in tx, after punctuation stripping */
    uint32_t lo_off, lo_len; /* the lower-cased word, UTF-8, in lo */
    double lex, boost;
    bool in_lex, is_boost, upper, negated;
} vtok;

typedef struct vader_session {
    const vader_model *m;
    uint32_t *tx; /* the text after emoji replacement, as code points */
    size_t tx_cap;
    vtok *tok;
    size_t tok_cap;
    char *lo;
    size_t lo_cap;
    double *sent;
    size_t sent_cap;
} vader_session;

/* The unrounded result of one text. */
typedef struct vader_raw {
    double neg, neu, pos, compound;
    bool empty;
    bool truncated;
} vader_raw;

/* ---- scratch memory: grows to the largest text seen, then is reused ---- */

static int grow(void **p, size_t *cap, size_t need, size_t elem, cerr *e) {
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 256;
    while (nc < need) nc *= 2;
    void *np = realloc(*p, nc * elem);
    if (!np) return cerr_set(e, CERR_NOMEM, "out of memory scoring a comment");
    *p = np;
    *cap = nc;
    return 0;
}

/* ---- word helpers: all comparisons are on lower-cased words, as in the reference ---- */

static bool tok_eq(const vader_session *s, size_t i, const char *w, size_t wl) {
    const vtok *t = &s->tok[i];
    return t->lo_len == wl && memcmp(s->lo + t->lo_off, w, wl) == 0;
}
#define IS(i, lit) tok_eq(s, (i), lit, sizeof(lit) - 1)

/* Whether the words at idx[0..n) joined by one space equal key. Words never contain a space. */
static bool seq_eq(const vader_session *s, const size_t *idx, size_t n, const char *key) {
    const char *k = key;
    for (size_t j = 0; j < n; j++) {
        if (j > 0) {
            if (*k != ' ') return false;
            k++;
        }
        const char *sp = strchr(k, ' ');
        size_t kl = sp ? (size_t)(sp - k) : strlen(k);
        if (!tok_eq(s, idx[j], k, kl)) return false;
        k += kl;
    }
    return *k == '\0';
}

static bool special_case(const vader_session *s, const size_t *idx, size_t n, double *v) {
    for (size_t c = 0; c < COUNT(SPECIAL_CASES); c++) {
        if (seq_eq(s, idx, n, SPECIAL_CASES[c].w)) {
            *v = SPECIAL_CASES[c].v;
            return true;
        }
    }
    return false;
}

/* ---- the reference's rules ---- */

static double scalar_inc_dec(const vtok *t, double valence, bool is_cap_diff) {
    double scalar = 0.0;
    if (t->is_boost) {
        scalar = t->boost;
        if (valence < 0) scalar *= -1;
        if (t->upper && is_cap_diff) {
            if (valence > 0) scalar += C_INCR;
            else scalar -= C_INCR;
        }
    }
    return scalar;
}

static double negation_check(const vader_session *s, double valence, int start_i, size_t i) {
    if (start_i == 0) {
        if (s->tok[i - 1].negated) valence = valence * N_SCALAR;
    } else if (start_i == 1) {
        if (IS(i - 2, "never") && (IS(i - 1, "so") || IS(i - 1, "this"))) valence = valence * 1.25;
        else if (IS(i - 2, "without") && IS(i - 1, "doubt")) { /* "without doubt" is not a negation */
        } else if (s->tok[i - 2].negated) valence = valence * N_SCALAR;
    } else {
        /* Python precedence makes this (never and (so or this)) or (so or this): copied as is. */
        if ((IS(i - 3, "never") && (IS(i - 2, "so") || IS(i - 2, "this"))) ||
            (IS(i - 1, "so") || IS(i - 1, "this")))
            valence = valence * 1.25;
        else if (IS(i - 3, "without") && (IS(i - 2, "doubt") || IS(i - 1, "doubt"))) {
        } else if (s->tok[i - 3].negated) valence = valence * N_SCALAR;
    }
    return valence;
}

/* Only called with i >= 3. */
static double special_idioms_check(const vader_session *s, double valence, size_t i, size_t n) {
    const size_t onezero[] = {i - 1, i}, twoonezero[] = {i - 2, i - 1, i}, twoone[] = {i - 2, i - 1},
                 threetwoone[] = {i - 3, i - 2, i - 1}, threetwo[] = {i - 3, i - 2};
    const struct {
        const size_t *idx;
        size_t n;
    } seqs[] = {{onezero, 2}, {twoonezero, 3}, {twoone, 2}, {threetwoone, 3}, {threetwo, 2}};
    for (size_t q = 0; q < COUNT(seqs); q++)
        if (special_case(s, seqs[q].idx, seqs[q].n, &valence)) break;
    if (n - 1 > i) {
        const size_t zeroone[] = {i, i + 1};
        special_case(s, zeroone, 2, &valence);
    }
    if (n - 1 > i + 1) {
        const size_t zeroonetwo[] = {i, i + 1, i + 2};
        special_case(s, zeroonetwo, 3, &valence);
    }
    /* booster n-grams such as "kind of", in the reference's order: threetwoone, threetwo, twoone */
    const size_t ngrams[] = {3, 4, 2};
    for (size_t q = 0; q < COUNT(ngrams); q++) {
        for (size_t b = 0; b < s->m->n_ngram_boosters; b++) {
            const word_value *bw = s->m->ngram_boosters[b];
            if (seq_eq(s, seqs[ngrams[q]].idx, seqs[ngrams[q]].n, bw->w)) valence = valence + bw->v;
        }
    }
    return valence;
}

static double least_check(const vader_session *s, double valence, size_t i) {
    if (i > 1 && !s->tok[i - 1].in_lex && IS(i - 1, "least")) {
        if (!IS(i - 2, "at") && !IS(i - 2, "very")) valence = valence * N_SCALAR;
    } else if (i > 0 && !s->tok[i - 1].in_lex && IS(i - 1, "least")) {
        valence = valence * N_SCALAR;
    }
    return valence;
}

static double sentiment_valence(const vader_session *s, size_t i, size_t n, bool is_cap_diff) {
    const vtok *t = &s->tok[i];
    if (!t->in_lex) return 0;
    double valence = t->lex;
    /* "no" before another lexicon word negates that word instead of counting itself */
    if (IS(i, "no") && i != n - 1 && s->tok[i + 1].in_lex) valence = 0.0;
    if ((i > 0 && IS(i - 1, "no")) || (i > 1 && IS(i - 2, "no")) ||
        (i > 2 && IS(i - 3, "no") && (IS(i - 1, "or") || IS(i - 1, "nor"))))
        valence = t->lex * N_SCALAR;
    if (t->upper && is_cap_diff) {
        if (valence > 0) valence += C_INCR;
        else valence -= C_INCR;
    }
    for (int start_i = 0; start_i < 3; start_i++) {
        size_t j = i - (size_t)(start_i + 1);
        if (i > (size_t)start_i && !s->tok[j].in_lex) {
            double sc = scalar_inc_dec(&s->tok[j], valence, is_cap_diff);
            if (start_i == 1 && sc != 0) sc = sc * 0.95;
            if (start_i == 2 && sc != 0) sc = sc * 0.9;
            valence = valence + sc;
            valence = negation_check(s, valence, start_i, i);
            if (start_i == 2) valence = special_idioms_check(s, valence, i, n);
        }
    }
    return least_check(s, valence, i);
}

/* The reference walks the list while rewriting it and finds each value's position with list.index(), i.e.
 * the FIRST equal value, which may be an earlier (already rewritten) word. Emulated step by step. */
static void but_check(vader_session *s, size_t n) {
    size_t bi = n;
    for (size_t i = 0; i < n; i++)
        if (IS(i, "but")) {
            bi = i;
            break;
        }
    if (bi == n) return;
    double *v = s->sent;
    for (size_t k = 0; k < n; k++) {
        double x = v[k];
        size_t si = 0;
        while (v[si] != x) si++;
        if (si < bi) v[si] = x * 0.5;
        else if (si > bi) v[si] = x * 1.5;
    }
}

static double normalize(double score) {
    double norm = score / sqrt((score * score) + 15);
    if (norm < -1.0) return -1.0;
    if (norm > 1.0) return 1.0;
    return norm;
}

static void score_valence(const double *sent, size_t n, size_t n_excl, size_t n_qm, vader_raw *r) {
    if (n == 0) {
        *r = (vader_raw){.empty = true, .truncated = r->truncated};
        return;
    }
    double sum_s = 0.0;
    for (size_t k = 0; k < n; k++) sum_s += sent[k];
    size_t ep = n_excl > 4 ? 4 : n_excl;
    double ep_amp = (double)ep * 0.292;
    double qm_amp = 0;
    if (n_qm > 1) qm_amp = n_qm <= 3 ? (double)n_qm * 0.18 : 0.96;
    double punct = ep_amp + qm_amp;
    if (sum_s > 0) sum_s += punct;
    else if (sum_s < 0) sum_s -= punct;
    r->compound = normalize(sum_s);

    double pos_sum = 0.0, neg_sum = 0.0;
    size_t neu_count = 0;
    for (size_t k = 0; k < n; k++) {
        if (sent[k] > 0) pos_sum += sent[k] + 1;
        if (sent[k] < 0) neg_sum += sent[k] - 1;
        if (sent[k] == 0) neu_count++;
    }
    if (pos_sum > fabs(neg_sum)) pos_sum += punct;
    else if (pos_sum < fabs(neg_sum)) neg_sum -= punct;
    double total = pos_sum + fabs(neg_sum) + (double)neu_count;
    r->pos = fabs(pos_sum / total);
    r->neg = fabs(neg_sum / total);
    r->neu = fabs((double)neu_count / total);
    r->empty = false;
}

/* Cuts at a character boundary at or below the cap. */
static size_t capped_len(const char *text, size_t len, bool *truncated) {
    *truncated = false;
    if (len <= VADER_MAX_TEXT_BYTES) return len;
    *truncated = true;
    size_t n = VADER_MAX_TEXT_BYTES;
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) n--;
    return n;
}

static int score_text(vader_session *s, const char *text, size_t len, vader_raw *r, cerr *e) {
    const vader_model *m = s->m;
    len = capped_len(text, len, &r->truncated);

    /* 1. emoji -> description, one code point at a time; count ! and ? on the result */
    if (grow((void **)&s->tx, &s->tx_cap, len + 1, sizeof *s->tx, e)) return -1;
    size_t nt = 0, n_excl = 0, n_qm = 0;
    bool prev_space = true;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += vt_decode(text + i, len - i, &cp);
        size_t dl;
        const uint32_t *d = vader_lexicon_emoji(m->lx, cp, &dl);
        if (d) {
            if (grow((void **)&s->tx, &s->tx_cap, nt + dl + 1 + (len - i) + 1, sizeof *s->tx, e)) return -1;
            if (!prev_space) s->tx[nt++] = ' ';
            for (size_t k = 0; k < dl; k++) {
                n_excl += d[k] == '!';
                n_qm += d[k] == '?';
                s->tx[nt++] = d[k];
            }
            prev_space = false;
        } else {
            n_excl += cp == '!';
            n_qm += cp == '?';
            s->tx[nt++] = cp;
            prev_space = cp == ' ';
        }
    }

    /* 2. split on whitespace, strip punctuation, look every word up once */
    if (grow((void **)&s->lo, &s->lo_cap, nt * 4 + 1, 1, e)) return -1;
    size_t n = 0, lo_len = 0, n_upper = 0;
    for (size_t i = 0; i < nt;) {
        if (vt_is_space(s->tx[i])) {
            i++;
            continue;
        }
        size_t a = i;
        while (i < nt && !vt_is_space(s->tx[i])) i++;
        size_t b = i, a2 = a, b2 = b;
        while (a2 < b2 && vt_is_punct(s->tx[a2])) a2++;
        while (b2 > a2 && vt_is_punct(s->tx[b2 - 1])) b2--;
        if (b2 - a2 > 2) a = a2, b = b2;

        if (grow((void **)&s->tok, &s->tok_cap, n + 1, sizeof *s->tok, e)) return -1;
        vtok *t = &s->tok[n++];
        *t = (vtok){.start = (uint32_t)a, .len = (uint32_t)(b - a), .lo_off = (uint32_t)lo_len};
        for (size_t k = a; k < b; k++) lo_len += vt_lower_utf8(s->tx[k], s->lo + lo_len);
        t->lo_len = (uint32_t)(lo_len - t->lo_off);
        const char *w = s->lo + t->lo_off;
        t->in_lex = vader_strmap_get(m->words, w, t->lo_len, &t->lex);
        t->is_boost = vader_strmap_get(m->boosters, w, t->lo_len, &t->boost);
        double dummy;
        t->negated = vader_strmap_get(m->negate, w, t->lo_len, &dummy) || memmem(w, t->lo_len, "n't", 3);
        t->upper = vt_is_upper(s->tx + a, b - a);
        n_upper += t->upper;
    }
    bool is_cap_diff = n_upper > 0 && n_upper < n;

    /* 3. per-word valence */
    if (grow((void **)&s->sent, &s->sent_cap, n + 1, sizeof *s->sent, e)) return -1;
    for (size_t i = 0; i < n; i++) {
        if (s->tok[i].is_boost || (i < n - 1 && IS(i, "kind") && IS(i + 1, "of"))) {
            s->sent[i] = 0;
            continue;
        }
        s->sent[i] = sentiment_valence(s, i, n, is_cap_diff);
    }
    but_check(s, n);
    score_valence(s->sent, n, n_excl, n_qm, r);
    return 0;
}

/* Python's round(x, places): the correctly rounded decimal (ties to even on the exact binary value) read
 * back as a double. glibc's printf rounds the exact value the same way. */
static double py_round(double x, int places) {
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*f", places, x);
    return strtod(tmp, NULL);
}

static void rounded(const vader_raw *r, double out[4]) {
    out[0] = py_round(r->neg, 3);
    out[1] = py_round(r->neu, 3);
    out[2] = py_round(r->pos, 3);
    out[3] = py_round(r->compound, 4);
}

sentiment_label vader_label(double compound) {
    return compound >= 0.05 ? LABEL_POSITIVE : compound <= -0.05 ? LABEL_NEGATIVE : LABEL_NEUTRAL;
}

/* ---- analyzer_ops ---- */

static void vader_unload(void *model) {
    vader_model *m = model;
    if (!m) return;
    vader_lexicon_free(m->lx);
    vader_strmap_free(m->boosters);
    vader_strmap_free(m->negate);
    free(m);
}

static int vader_load(const analyzer_options *opt, void **model, cerr *e) {
    char dir[4096];
    if (opt && opt->model_dir) {
        if (sbprintf(dir, sizeof dir, "%s", opt->model_dir))
            return cerr_set(e, CERR_INVALID, "model directory path too long");
    } else if (analyzer_model_path("vader", dir, sizeof dir, e)) {
        return -1;
    }
    vader_model *m = calloc(1, sizeof *m);
    if (!m) return cerr_set(e, CERR_NOMEM, "out of memory loading VADER");
    if (vader_lexicon_load(dir, &m->lx, e)) {
        free(m);
        return -1;
    }
    m->words = vader_lexicon_words(m->lx);
    m->boosters = vader_strmap_new();
    m->negate = vader_strmap_new();
    if (!m->boosters || !m->negate) {
        vader_unload(m);
        return cerr_set(e, CERR_NOMEM, "out of memory loading VADER");
    }
    for (size_t b = 0; b < COUNT(BOOSTERS); b++) {
        if (strchr(BOOSTERS[b].w, ' ')) {
            if (m->n_ngram_boosters < COUNT(m->ngram_boosters)) m->ngram_boosters[m->n_ngram_boosters++] = &BOOSTERS[b];
        } else if (vader_strmap_put(m->boosters, BOOSTERS[b].w, strlen(BOOSTERS[b].w), BOOSTERS[b].v, e)) {
            vader_unload(m);
            return -1;
        }
    }
    for (size_t k = 0; k < COUNT(NEGATE); k++)
        if (vader_strmap_put(m->negate, NEGATE[k], strlen(NEGATE[k]), 1, e)) {
            vader_unload(m);
            return -1;
        }
    *model = m;
    return 0;
}

static const char *vader_model_id(const void *model) {
    (void)model;
    return VADER_MODEL_ID;
}

static int vader_session_new(const void *model, void **session, cerr *e) {
    vader_session *s = calloc(1, sizeof *s);
    if (!s) return cerr_set(e, CERR_NOMEM, "out of memory creating a VADER session");
    s->m = model;
    *session = s;
    return 0;
}

static void vader_session_free(void *session) {
    vader_session *s = session;
    if (!s) return;
    free(s->tx);
    free(s->tok);
    free(s->lo);
    free(s->sent);
    free(s);
}

static int vader_classify(void *session, const char *const *texts, size_t n, sentiment *out, cerr *e) {
    vader_session *s = session;
    for (size_t k = 0; k < n; k++) {
        const char *t = texts[k] ? texts[k] : "";
        vader_raw r = {0};
        if (score_text(s, t, strlen(t), &r, e)) return -1;
        sentiment *o = &out[k];
        o->truncated = r.truncated;
        if (r.empty) {
            o->label = LABEL_NEUTRAL;
            o->p[0] = 0.0f, o->p[1] = 1.0f, o->p[2] = 0.0f;
            continue;
        }
        o->label = vader_label(py_round(r.compound, 4));
        o->p[0] = (float)r.neg;
        o->p[1] = (float)r.neu;
        o->p[2] = (float)r.pos;
    }
    return 0;
}

const analyzer_ops vader_analyzer_ops = {
    .name = "vader",
    .load = vader_load,
    .unload = vader_unload,
    .model_id = vader_model_id,
    .session_new = vader_session_new,
    .session_free = vader_session_free,
    .classify = vader_classify,
};

int vader_session_polarity(void *session, const char *text, size_t len, double out[4], cerr *e) {
    vader_raw r = {0};
    if (score_text(session, text ? text : "", text ? len : 0, &r, e)) return -1;
    rounded(&r, out);
    return 0;
}

int vader_polarity(const void *model, const char *text, size_t len, double out[4], cerr *e) {
    void *s = NULL;
    if (vader_session_new(model, &s, e)) return -1;
    int rc = vader_session_polarity(s, text, len, out, e);
    vader_session_free(s);
    return rc;
}
