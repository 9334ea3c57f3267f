#include "api/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/util.h"

#define NIL UINT32_MAX

typedef struct bucket {
    char *key;
    double tokens;
    int64_t at_ms;           /* when tokens was last brought up to date */
    uint32_t hnext;          /* hash chain */
    uint32_t lru_prev, lru_next;
} bucket;

struct ratelimit {
    pthread_mutex_t mu;
    double per_ms, burst;
    bucket *b;
    size_t cap, used;
    uint32_t *heads;         /* hash table of chain heads, nheads a power of two */
    size_t nheads;
    uint32_t lru_head, lru_tail; /* head = most recently used */
    uint64_t seed;           /* random per table: keys come from users, so chains must not be predictable */
};

static uint64_t hash_key(uint64_t seed, const char *s) {
    uint64_t h = 1469598103934665603ull ^ seed; /* FNV-1a, seeded */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

int ratelimit_new(double per_minute, double burst, size_t max_keys, ratelimit **out, cerr *e) {
    *out = NULL;
    if (!(per_minute > 0) || !(burst >= 1) || max_keys < 1 || max_keys > (1u << 24))
        return cerr_set(e, CERR_INVALID, "rate limit needs a positive rate, a burst of at least 1 and 1..16M keys");
    ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl) return cerr_set(e, CERR_NOMEM, "out of memory");
    rl->per_ms = per_minute / 60000.0;
    rl->burst = burst;
    rl->cap = max_keys;
    rl->nheads = 16;
    while (rl->nheads < max_keys * 2) rl->nheads <<= 1;
    rl->b = calloc(max_keys, sizeof *rl->b);
    rl->heads = malloc(rl->nheads * sizeof *rl->heads);
    if (!rl->b || !rl->heads) {
        free(rl->b);
        free(rl->heads);
        free(rl);
        return cerr_set(e, CERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < rl->nheads; i++) rl->heads[i] = NIL;
    rl->lru_head = rl->lru_tail = NIL;
    if (getrandom(&rl->seed, sizeof rl->seed, GRND_NONBLOCK) != (ssize_t)sizeof rl->seed)
        rl->seed = (uint64_t)now_ms() * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)rl;
    pthread_mutex_init(&rl->mu, NULL);
    *out = rl;
    return 0;
}

void ratelimit_free(ratelimit *rl) {
    if (!rl) return;
    for (size_t i = 0; i < rl->used; i++) free(rl->b[i].key);
    free(rl->b);
    free(rl->heads);
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

static void lru_unlink(ratelimit *rl, uint32_t i) {
    bucket *x = &rl->b[i];
    if (x->lru_prev != NIL) rl->b[x->lru_prev].lru_next = x->lru_next;
    else rl->lru_head = x->lru_next;
    if (x->lru_next != NIL) rl->b[x->lru_next].lru_prev = x->lru_prev;
    else rl->lru_tail = x->lru_prev;
}

static void lru_push_front(ratelimit *rl, uint32_t i) {
    bucket *x = &rl->b[i];
    x->lru_prev = NIL;
    x->lru_next = rl->lru_head;
    if (rl->lru_head != NIL) rl->b[rl->lru_head].lru_prev = i;
    rl->lru_head = i;
    if (rl->lru_tail == NIL) rl->lru_tail = i;
}

static void hash_unlink(ratelimit *rl, uint32_t i) {
    uint32_t *p = &rl->heads[hash_key(rl->seed, rl->b[i].key) & (rl->nheads - 1)];
    while (*p != NIL && *p != i) p = &rl->b[*p].hnext;
    if (*p == i) *p = rl->b[i].hnext;
}

/* Called with mu held. Returns the bucket index, creating (or recycling the LRU one) as needed; NIL on OOM. */
static uint32_t lookup(ratelimit *rl, const char *key, int64_t now) {
    size_t h = hash_key(rl->seed, key) & (rl->nheads - 1);
    for (uint32_t i = rl->heads[h]; i != NIL; i = rl->b[i].hnext) {
        if (strcmp(rl->b[i].key, key) == 0) {
            lru_unlink(rl, i);
            lru_push_front(rl, i);
            return i;
        }
    }
    char *copy = strdup(key);
    if (!copy) return NIL;
    uint32_t i;
    if (rl->used < rl->cap) {
        i = (uint32_t)rl->used++;
    } else {
        i = rl->lru_tail;
        lru_unlink(rl, i);
        hash_unlink(rl, i);
        free(rl->b[i].key);
    }
    bucket *x = &rl->b[i];
    x->key = copy;
    x->tokens = rl->burst;
    x->at_ms = now;
    x->hnext = rl->heads[h];
    rl->heads[h] = i;
    lru_push_front(rl, i);
    return i;
}

bool ratelimit_take_at(ratelimit *rl, const char *key, int64_t now, long *retry_after_s) {
    *retry_after_s = 0;
    if (!key || strnlen(key, RATELIMIT_MAX_KEY + 1) > RATELIMIT_MAX_KEY) {
        *retry_after_s = 60; /* not a key we hand out: refuse rather than collapse distinct keys */
        return false;
    }
    pthread_mutex_lock(&rl->mu);
    uint32_t i = lookup(rl, key, now);
    bool ok = false;
    if (i == NIL) {
        *retry_after_s = 1;
    } else {
        bucket *x = &rl->b[i];
        if (now > x->at_ms) {
            x->tokens = fmin(rl->burst, x->tokens + (double)(now - x->at_ms) * rl->per_ms);
            x->at_ms = now;
        }
        if (x->tokens >= 1.0) {
            x->tokens -= 1.0;
            ok = true;
        } else {
            double wait_ms = (1.0 - x->tokens) / rl->per_ms;
            long s = (long)ceil(wait_ms / 1000.0);
            *retry_after_s = s < 1 ? 1 : s;
        }
    }
    pthread_mutex_unlock(&rl->mu);
    return ok;
}

bool ratelimit_take(ratelimit *rl, const char *key, long *retry_after_s) {
    return ratelimit_take_at(rl, key, now_ms(), retry_after_s);
}

size_t ratelimit_size(ratelimit *rl) {
    pthread_mutex_lock(&rl->mu);
    size_t n = rl->used;
    pthread_mutex_unlock(&rl->mu);
    return n;
}
