/* limiter_inproc.c - the limiter for one process: a table of per-platform buckets under one mutex.
 * Slots need no lease here: if the process dies, its slots die with it. */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "queue/limiter_impl.h"

typedef struct bucket {
    char platform[32];
    double tokens;
    int64_t refilled_at; /* monotonic ms */
    bool fresh;          /* not used yet: starts full */
    uint64_t *held; /* tokens of the slots in use: release must match one, so a double release is harmless */
    size_t in_use, cap;
    int64_t paused_until; /* unix seconds */
} bucket;

typedef struct lim_inproc {
    limiter base;
    pthread_mutex_t mu;
    bucket b[LIMITER_MAX_PLATFORMS];
    int n;
    uint64_t next_token;
} lim_inproc;

/* Caller holds mu. */
static bucket *get_bucket(lim_inproc *l, const char *platform, cerr *e) {
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->b[i].platform, platform) == 0) return &l->b[i];
    if (l->n >= LIMITER_MAX_PLATFORMS) {
        cerr_set(e, CERR_TOOBIG, "more than %d platforms in the limiter", LIMITER_MAX_PLATFORMS);
        return NULL;
    }
    bucket *b = &l->b[l->n++];
    memset(b, 0, sizeof *b);
    snprintf(b->platform, sizeof b->platform, "%s", platform);
    b->fresh = true;
    return b;
}

static int in_acquire(limiter *base, const char *platform, const limiter_limits *lim, limiter_slot *slot,
                      int64_t *wait_ms, cerr *e) {
    lim_inproc *l = (lim_inproc *)base;
    pthread_mutex_lock(&l->mu);
    int rc = -1;
    bucket *b = get_bucket(l, platform, e);
    if (!b) goto out;
    int64_t wall = limiter_wall_ms();
    if (b->paused_until * 1000 > wall) {
        *wait_ms = b->paused_until * 1000 - wall;
        rc = LIMITER_PAUSED;
        goto out;
    }
    if (lim->concurrency > 0 && b->in_use >= (size_t)lim->concurrency) {
        *wait_ms = LIMITER_CONCURRENCY_POLL_MS;
        rc = LIMITER_WAIT_CONCURRENCY;
        goto out;
    }
    if (lim->rate > 0) {
        int64_t now = now_ms();
        if (b->fresh) {
            b->tokens = lim->burst;
            b->fresh = false;
        } else if (now > b->refilled_at) {
            b->tokens = fmin((double)lim->burst, b->tokens + (double)(now - b->refilled_at) * lim->rate / 1000.0);
        }
        b->refilled_at = now;
        if (b->tokens < 1.0) {
            *wait_ms = (int64_t)ceil((1.0 - b->tokens) * 1000.0 / lim->rate);
            rc = LIMITER_WAIT_RATE;
            goto out;
        }
        b->tokens -= 1.0;
    }
    if (b->in_use == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 16;
        uint64_t *nh = ncap <= 1000000 ? realloc(b->held, ncap * sizeof *nh) : NULL;
        if (!nh) {
            /* The rate token is spent; that only slows the caller down, which is the safe side. */
            cerr_set(e, CERR_TOOBIG, "%s: too many limiter slots held", platform);
            goto out;
        }
        b->held = nh;
        b->cap = ncap;
    }
    b->held[b->in_use++] = ++l->next_token;
    snprintf(slot->token, sizeof slot->token, "%" PRIu64, l->next_token);
    rc = LIMITER_GO;
out:
    pthread_mutex_unlock(&l->mu);
    return rc;
}

static int in_release(limiter *base, const limiter_slot *slot, cerr *e) {
    (void)e;
    lim_inproc *l = (lim_inproc *)base;
    uint64_t tok = strtoull(slot->token, NULL, 10);
    pthread_mutex_lock(&l->mu);
    for (int i = 0; i < l->n; i++) {
        bucket *b = &l->b[i];
        if (strcmp(b->platform, slot->platform) != 0) continue;
        for (size_t k = 0; k < b->in_use; k++) {
            if (b->held[k] == tok) {
                b->held[k] = b->held[--b->in_use];
                break;
            }
        }
    }
    pthread_mutex_unlock(&l->mu);
    return 0;
}

static int in_pause(limiter *base, const char *platform, int64_t until_unix, cerr *e) {
    lim_inproc *l = (lim_inproc *)base;
    pthread_mutex_lock(&l->mu);
    bucket *b = get_bucket(l, platform, e);
    if (b && until_unix > b->paused_until) b->paused_until = until_unix;
    pthread_mutex_unlock(&l->mu);
    return b ? 0 : -1;
}

static int in_resume(limiter *base, const char *platform, cerr *e) {
    lim_inproc *l = (lim_inproc *)base;
    pthread_mutex_lock(&l->mu);
    bucket *b = get_bucket(l, platform, e);
    if (b) b->paused_until = 0;
    pthread_mutex_unlock(&l->mu);
    return b ? 0 : -1;
}

static int in_paused_until(limiter *base, const char *platform, int64_t *until_unix, cerr *e) {
    (void)e;
    lim_inproc *l = (lim_inproc *)base;
    pthread_mutex_lock(&l->mu);
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->b[i].platform, platform) == 0 && l->b[i].paused_until * 1000 > limiter_wall_ms())
            *until_unix = l->b[i].paused_until;
    pthread_mutex_unlock(&l->mu);
    return 0;
}

static void in_close(limiter *base) {
    lim_inproc *l = (lim_inproc *)base;
    for (int i = 0; i < l->n; i++) free(l->b[i].held);
    pthread_mutex_destroy(&l->mu);
    limiter_base_destroy(base);
    free(l);
}

static const limiter_ops inproc_limiter_ops = {
    .acquire = in_acquire,
    .release = in_release,
    .pause = in_pause,
    .resume = in_resume,
    .paused_until = in_paused_until,
    .close = in_close,
};

int limiter_inproc_open(limiter **out, cerr *e) {
    lim_inproc *l = calloc(1, sizeof *l);
    if (!l) return cerr_set(e, CERR_NOMEM, "out of memory");
    limiter_base_init(&l->base, &inproc_limiter_ops);
    pthread_mutex_init(&l->mu, NULL);
    *out = &l->base;
    return 0;
}
