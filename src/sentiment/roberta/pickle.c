/* pickle.c - a restricted reader for the pickle of a torch state_dict.
 *
 * This is not an unpickler: it interprets the few opcodes torch.save emits for a dict of tensors, builds inert
 * values, and knows exactly three kinds of callable (OrderedDict, _rebuild_tensor_v2, the typed storages).
 * Any other global, any other REDUCE target and any unknown opcode stop the read with a message, so a
 * malicious checkpoint can do nothing but fail. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sentiment/roberta/tensorfile.h"

#define PK_MAX_STACK (1u << 20)
#define PK_MAX_MEMO (1u << 22)

typedef enum pv_kind {
    PV_NONE, PV_BOOL, PV_INT, PV_FLOAT, PV_STR, PV_TUPLE, PV_LIST, PV_DICT, PV_GLOBAL, PV_STORAGE, PV_TENSOR, PV_MARK
} pv_kind;

typedef enum pk_global { G_ORDEREDDICT, G_REBUILD_TENSOR_V2, G_STORAGE } pk_global;

typedef struct pv {
    pv_kind k;
    int64_t i;          /* INT, BOOL; STORAGE: numel; TENSOR: offset */
    const char *s;      /* STR; STORAGE: key */
    size_t slen;
    pk_global g;        /* GLOBAL */
    tf_dtype dtype;     /* GLOBAL storage type, STORAGE */
    struct pv **items;  /* TUPLE, LIST, DICT (key, value, key, value...); TENSOR: [storage, size, stride] */
    size_t n, cap;
    struct pv *next;    /* arena list */
} pv;

typedef struct pk {
    const unsigned char *p, *end;
    pv *arena;
    pv **stack;
    size_t sp, scap;
    pv **memo;
    size_t mcap, mcount; /* mcount: filled entries, the index MEMOIZE uses (Python's len(memo)) */
    pv mark;
    cerr *e;
} pk;

static pv *pv_new(pk *k, pv_kind kind) {
    pv *v = calloc(1, sizeof *v);
    if (!v) {
        cerr_set(k->e, CERR_NOMEM, "out of memory");
        return NULL;
    }
    v->k = kind;
    v->next = k->arena;
    k->arena = v;
    return v;
}

static int pv_push_item(pk *k, pv *c, pv *x) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        pv **p = realloc(c->items, cap * sizeof *p);
        if (!p) return cerr_set(k->e, CERR_NOMEM, "out of memory");
        c->items = p;
        c->cap = cap;
    }
    c->items[c->n++] = x;
    return 0;
}

static int push(pk *k, pv *v) {
    if (!v) return -1;
    if (k->sp == k->scap) {
        if (k->scap >= PK_MAX_STACK) return cerr_set(k->e, CERR_TOOBIG, "pickle stack too deep");
        size_t cap = k->scap ? k->scap * 2 : 64;
        pv **p = realloc(k->stack, cap * sizeof *p);
        if (!p) return cerr_set(k->e, CERR_NOMEM, "out of memory");
        k->stack = p;
        k->scap = cap;
    }
    k->stack[k->sp++] = v;
    return 0;
}

static pv *pop(pk *k) {
    if (k->sp == 0 || k->stack[k->sp - 1] == &k->mark) {
        cerr_set(k->e, CERR_INVALID, "corrupt pickle: stack underflow");
        return NULL;
    }
    return k->stack[--k->sp];
}

/* Index of the topmost MARK; the items above it are the marked group. */
static int find_mark(pk *k, size_t *at) {
    for (size_t i = k->sp; i-- > 0;)
        if (k->stack[i] == &k->mark) {
            *at = i;
            return 0;
        }
    return cerr_set(k->e, CERR_INVALID, "corrupt pickle: missing MARK");
}

static int need(pk *k, size_t n) {
    if ((size_t)(k->end - k->p) < n) return cerr_set(k->e, CERR_INVALID, "pickle truncated");
    return 0;
}

static uint64_t le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static int memo_put(pk *k, uint64_t idx) {
    if (k->sp == 0) return cerr_set(k->e, CERR_INVALID, "corrupt pickle: memo of empty stack");
    if (idx >= PK_MAX_MEMO) return cerr_set(k->e, CERR_TOOBIG, "pickle memo index too large");
    if (idx >= k->mcap) {
        size_t cap = k->mcap ? k->mcap : 64;
        while (cap <= idx) cap *= 2;
        pv **p = realloc(k->memo, cap * sizeof *p);
        if (!p) return cerr_set(k->e, CERR_NOMEM, "out of memory");
        memset(p + k->mcap, 0, (cap - k->mcap) * sizeof *p);
        k->memo = p;
        k->mcap = cap;
    }
    if (!k->memo[idx]) k->mcount++;
    k->memo[idx] = k->stack[k->sp - 1];
    return 0;
}

static int memo_get(pk *k, uint64_t idx) {
    if (idx >= k->mcap || !k->memo[idx]) return cerr_set(k->e, CERR_INVALID, "corrupt pickle: unknown memo %llu", (unsigned long long)idx);
    return push(k, k->memo[idx]);
}

static int make_global(pk *k, const char *mod, size_t ml, const char *name, size_t nl) {
#define IS(a, l, lit) ((l) == sizeof(lit) - 1 && memcmp((a), (lit), (l)) == 0)
    pv *g = pv_new(k, PV_GLOBAL);
    if (!g) return -1;
    if (IS(mod, ml, "collections") && IS(name, nl, "OrderedDict")) g->g = G_ORDEREDDICT;
    else if (IS(mod, ml, "torch._utils") && IS(name, nl, "_rebuild_tensor_v2")) g->g = G_REBUILD_TENSOR_V2;
    else if (IS(mod, ml, "torch") && IS(name, nl, "FloatStorage")) { g->g = G_STORAGE; g->dtype = TF_F32; }
    else if (IS(mod, ml, "torch") && IS(name, nl, "HalfStorage")) { g->g = G_STORAGE; g->dtype = TF_F16; }
    else if (IS(mod, ml, "torch") && IS(name, nl, "BFloat16Storage")) { g->g = G_STORAGE; g->dtype = TF_BF16; }
    else if (IS(mod, ml, "torch") && IS(name, nl, "LongStorage")) { g->g = G_STORAGE; g->dtype = TF_I64; }
    else
        return cerr_set(k->e, CERR_INVALID, "pickle refers to %.*s.%.*s, which a state_dict does not need (refused)",
                        (int)(ml > 80 ? 80 : ml), mod, (int)(nl > 80 ? 80 : nl), name);
#undef IS
    return push(k, g);
}

/* Sizes and strides: at most TF_MAX_DIMS small non-negative integers, so products cannot overflow later. */
static bool is_int_tuple(const pv *t) {
    if (t->k != PV_TUPLE || t->n > TF_MAX_DIMS) return false;
    for (size_t i = 0; i < t->n; i++)
        if (t->items[i]->k != PV_INT || t->items[i]->i < 0 || t->items[i]->i > ((int64_t)1 << 40)) return false;
    return true;
}

static int reduce(pk *k) {
    pv *args = pop(k), *fn = args ? pop(k) : NULL;
    if (!fn) return -1;
    if (fn->k != PV_GLOBAL || args->k != PV_TUPLE) return cerr_set(k->e, CERR_INVALID, "pickle calls something that is not an allowed global");
    if (fn->g == G_ORDEREDDICT) {
        if (args->n != 0) return cerr_set(k->e, CERR_INVALID, "OrderedDict called with arguments");
        return push(k, pv_new(k, PV_DICT));
    }
    if (fn->g == G_REBUILD_TENSOR_V2) {
        /* (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) */
        if (args->n < 4 || args->items[0]->k != PV_STORAGE || args->items[1]->k != PV_INT ||
            !is_int_tuple(args->items[2]) || !is_int_tuple(args->items[3]) || args->items[2]->n != args->items[3]->n)
            return cerr_set(k->e, CERR_INVALID, "malformed _rebuild_tensor_v2 arguments");
        pv *t = pv_new(k, PV_TENSOR);
        if (!t || pv_push_item(k, t, args->items[0]) || pv_push_item(k, t, args->items[2]) || pv_push_item(k, t, args->items[3]))
            return -1;
        t->i = args->items[1]->i;
        return push(k, t);
    }
    return cerr_set(k->e, CERR_INVALID, "pickle calls a storage type directly (refused)");
}

static int persid(pk *k) {
    pv *t = pop(k);
    if (!t) return -1;
    /* ('storage', storage_type, key, location, numel) */
    if (t->k != PV_TUPLE || t->n != 5 || t->items[0]->k != PV_STR || t->items[0]->slen != 7 ||
        memcmp(t->items[0]->s, "storage", 7) != 0 || t->items[1]->k != PV_GLOBAL || t->items[1]->g != G_STORAGE ||
        t->items[2]->k != PV_STR || t->items[2]->slen == 0 || t->items[2]->slen > 200 || t->items[4]->k != PV_INT)
        return cerr_set(k->e, CERR_INVALID, "unsupported persistent id in pickle");
    for (size_t i = 0; i < t->items[2]->slen; i++) {
        char c = t->items[2]->s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'))
            return cerr_set(k->e, CERR_INVALID, "invalid storage key in pickle");
    }
    pv *s = pv_new(k, PV_STORAGE);
    if (!s) return -1;
    s->dtype = t->items[1]->dtype;
    s->s = t->items[2]->s;
    s->slen = t->items[2]->slen;
    s->i = t->items[4]->i;
    return push(k, s);
}

static int run(pk *k, pv **result) {
    for (;;) {
        if (need(k, 1)) return -1;
        unsigned char op = *k->p++;
        switch (op) {
        case 0x80: if (need(k, 1)) return -1; if (*k->p > 5) return cerr_set(k->e, CERR_INVALID, "pickle protocol %d unsupported", *k->p); k->p++; break;
        case 0x95: if (need(k, 8)) return -1; k->p += 8; break; /* FRAME: framing is only a read hint */
        case '.': /* STOP */
            if (k->sp != 1) return cerr_set(k->e, CERR_INVALID, "corrupt pickle: %zu values left at STOP", k->sp);
            *result = k->stack[0];
            return 0;
        case 'c': { /* GLOBAL module\nname\n */
            const unsigned char *m = k->p, *nl1 = memchr(m, '\n', (size_t)(k->end - m));
            if (!nl1) return cerr_set(k->e, CERR_INVALID, "pickle truncated");
            const unsigned char *n = nl1 + 1, *nl2 = memchr(n, '\n', (size_t)(k->end - n));
            if (!nl2) return cerr_set(k->e, CERR_INVALID, "pickle truncated");
            k->p = nl2 + 1;
            if (make_global(k, (const char *)m, (size_t)(nl1 - m), (const char *)n, (size_t)(nl2 - n))) return -1;
            break;
        }
        case 0x93: { /* STACK_GLOBAL */
            pv *name = pop(k), *mod = name ? pop(k) : NULL;
            if (!mod) return -1;
            if (name->k != PV_STR || mod->k != PV_STR) return cerr_set(k->e, CERR_INVALID, "corrupt pickle: bad STACK_GLOBAL");
            if (make_global(k, mod->s, mod->slen, name->s, name->slen)) return -1;
            break;
        }
        case '}': if (push(k, pv_new(k, PV_DICT))) return -1; break;
        case ')': if (push(k, pv_new(k, PV_TUPLE))) return -1; break;
        case ']': if (push(k, pv_new(k, PV_LIST))) return -1; break;
        case '(': if (push(k, &k->mark)) return -1; break;
        case 't': case 'e': case 'u': { /* TUPLE, APPENDS, SETITEMS: consume the marked group */
            size_t at = 0;
            if (find_mark(k, &at)) return -1;
            size_t first = at + 1, cnt = k->sp - first;
            pv *target;
            if (op == 't') {
                target = pv_new(k, PV_TUPLE);
                if (!target) return -1;
            } else {
                if (at == 0) return cerr_set(k->e, CERR_INVALID, "corrupt pickle: no container");
                target = k->stack[at - 1];
                if (target->k != (op == 'e' ? PV_LIST : PV_DICT) || (op == 'u' && cnt % 2))
                    return cerr_set(k->e, CERR_INVALID, "corrupt pickle: bad %s", op == 'e' ? "APPENDS" : "SETITEMS");
            }
            for (size_t i = 0; i < cnt; i++)
                if (pv_push_item(k, target, k->stack[first + i])) return -1;
            k->sp = at;
            if (op == 't' && push(k, target)) return -1;
            break;
        }
        case 0x85: case 0x86: case 0x87: { /* TUPLE1..3 */
            size_t cnt = (size_t)(op - 0x84);
            if (k->sp < cnt) return cerr_set(k->e, CERR_INVALID, "corrupt pickle: stack underflow");
            pv *t = pv_new(k, PV_TUPLE);
            if (!t) return -1;
            for (size_t i = k->sp - cnt; i < k->sp; i++) {
                if (k->stack[i] == &k->mark) return cerr_set(k->e, CERR_INVALID, "corrupt pickle: MARK in tuple");
                if (pv_push_item(k, t, k->stack[i])) return -1;
            }
            k->sp -= cnt;
            if (push(k, t)) return -1;
            break;
        }
        case 'X': case 0x8c: case 0x8d: { /* BINUNICODE, SHORT_BINUNICODE, BINUNICODE8 */
            int w = op == 'X' ? 4 : op == 0x8c ? 1 : 8;
            if (need(k, (size_t)w)) return -1;
            uint64_t len = le(k->p, w);
            k->p += w;
            if (need(k, len)) return -1;
            pv *s = pv_new(k, PV_STR);
            if (!s) return -1;
            s->s = (const char *)k->p;
            s->slen = (size_t)len;
            k->p += len;
            if (push(k, s)) return -1;
            break;
        }
        case 'J': case 'K': case 'M': { /* BININT, BININT1, BININT2 */
            int w = op == 'J' ? 4 : op == 'K' ? 1 : 2;
            if (need(k, (size_t)w)) return -1;
            pv *v = pv_new(k, PV_INT);
            if (!v) return -1;
            v->i = op == 'J' ? (int64_t)(int32_t)le(k->p, 4) : (int64_t)le(k->p, w);
            k->p += w;
            if (push(k, v)) return -1;
            break;
        }
        case 0x8a: { /* LONG1 */
            if (need(k, 1)) return -1;
            size_t n = *k->p++;
            if (n > 8) return cerr_set(k->e, CERR_INVALID, "pickle integer too large");
            if (need(k, n)) return -1;
            uint64_t u = le(k->p, (int)n);
            if (n > 0 && n < 8 && (k->p[n - 1] & 0x80)) u |= ~(uint64_t)0 << (8 * n);
            k->p += n;
            pv *v = pv_new(k, PV_INT);
            if (!v) return -1;
            v->i = (int64_t)u;
            if (push(k, v)) return -1;
            break;
        }
        case 'G': { /* BINFLOAT: only ever metadata; kept inert */
            if (need(k, 8)) return -1;
            k->p += 8;
            if (push(k, pv_new(k, PV_FLOAT))) return -1;
            break;
        }
        case 0x88: case 0x89: {
            pv *v = pv_new(k, PV_BOOL);
            if (!v) return -1;
            v->i = op == 0x88;
            if (push(k, v)) return -1;
            break;
        }
        case 'N': if (push(k, pv_new(k, PV_NONE))) return -1; break;
        case 'q': if (need(k, 1) || memo_put(k, *k->p)) return -1; k->p += 1; break;
        case 'r': if (need(k, 4) || memo_put(k, le(k->p, 4))) return -1; k->p += 4; break;
        case 0x94: if (memo_put(k, k->mcount)) return -1; break; /* MEMOIZE */
        case 'h': if (need(k, 1) || memo_get(k, *k->p)) return -1; k->p += 1; break;
        case 'j': if (need(k, 4) || memo_get(k, le(k->p, 4))) return -1; k->p += 4; break;
        case 'Q': if (persid(k)) return -1; break;
        case 'R': if (reduce(k)) return -1; break;
        case 's': { /* SETITEM */
            pv *v = pop(k), *key = v ? pop(k) : NULL;
            if (!key) return -1;
            if (k->sp == 0 || k->stack[k->sp - 1]->k != PV_DICT) return cerr_set(k->e, CERR_INVALID, "corrupt pickle: SETITEM without dict");
            if (pv_push_item(k, k->stack[k->sp - 1], key) || pv_push_item(k, k->stack[k->sp - 1], v)) return -1;
            break;
        }
        case 'a': { /* APPEND */
            pv *v = pop(k);
            if (!v) return -1;
            if (k->sp == 0 || k->stack[k->sp - 1]->k != PV_LIST) return cerr_set(k->e, CERR_INVALID, "corrupt pickle: APPEND without list");
            if (pv_push_item(k, k->stack[k->sp - 1], v)) return -1;
            break;
        }
        case 'b': { /* BUILD: only the OrderedDict's attribute dict (_metadata), which we do not need */
            pv *state = pop(k);
            if (!state) return -1;
            if (k->sp == 0 || k->stack[k->sp - 1]->k != PV_DICT) return cerr_set(k->e, CERR_INVALID, "pickle sets state on a non-dict object (refused)");
            break;
        }
        default:
            return cerr_set(k->e, CERR_INVALID, "pickle opcode 0x%02x is not allowed in a state_dict (refused)", op);
        }
    }
}

int pickle_read_state_dict_(const unsigned char *data, size_t size, pickle_tensor_fn emit, void *ctx, cerr *e) {
    pk k = {.p = data, .end = data + size, .e = e};
    k.mark.k = PV_MARK;
    pv *root = NULL;
    int rc = run(&k, &root);
    if (rc == 0 && root->k != PV_DICT) rc = cerr_set(e, CERR_INVALID, "pickle does not hold a state_dict");
    for (size_t i = 0; rc == 0 && i + 1 < root->n; i += 2) {
        pv *key = root->items[i], *t = root->items[i + 1];
        if (key->k != PV_STR) {
            rc = cerr_set(e, CERR_INVALID, "state_dict key is not a string");
            break;
        }
        if (t->k != PV_TENSOR) {
            rc = cerr_set(e, CERR_INVALID, "state_dict entry '%.*s' is not a tensor", (int)(key->slen > 200 ? 200 : key->slen), key->s);
            break;
        }
        pv *st = t->items[0], *size_t_ = t->items[1], *stride = t->items[2];
        char skey[256];
        snprintf(skey, sizeof skey, "%.*s", (int)st->slen, st->s);
        int64_t shape[TF_MAX_DIMS], strd[TF_MAX_DIMS];
        for (size_t d = 0; d < size_t_->n; d++) {
            shape[d] = size_t_->items[d]->i;
            strd[d] = stride->items[d]->i;
        }
        rc = emit(ctx, key->s, key->slen, skey, st->dtype, st->i, t->i, (int)size_t_->n, shape, strd, e);
    }
    while (k.arena) {
        pv *n = k.arena->next;
        free(k.arena->items);
        free(k.arena);
        k.arena = n;
    }
    free(k.stack);
    free(k.memo);
    return rc;
}
