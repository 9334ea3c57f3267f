/* limiter_impl.h - what limiter.c needs from each limiter implementation (not for callers). */
#ifndef CHATTER_QUEUE_LIMITER_IMPL_H
#define CHATTER_QUEUE_LIMITER_IMPL_H

#include <pthread.h>

#include "queue/limiter.h"

#define LIMITER_MAX_PLATFORMS 32
#define LIMITER_CONCURRENCY_POLL_MS 100

typedef struct limiter_ops {
    /* Called with validated platform and resolved limits. Same return convention as limiter_acquire. */
    int (*acquire)(limiter *l, const char *platform, const limiter_limits *lim, limiter_slot *slot,
                   int64_t *wait_ms, cerr *e);
    int (*release)(limiter *l, const limiter_slot *slot, cerr *e);
    int (*pause)(limiter *l, const char *platform, int64_t until_unix, cerr *e);
    int (*resume)(limiter *l, const char *platform, cerr *e);
    int (*paused_until)(limiter *l, const char *platform, int64_t *until_unix, cerr *e);
    void (*close)(limiter *l);
} limiter_ops;

typedef struct limiter_conf {
    char platform[32];
    limiter_limits lim;
} limiter_conf;

/* The part every implementation shares; implementations embed it first. */
struct limiter {
    const limiter_ops *ops;
    pthread_mutex_t conf_mu;
    limiter_conf conf[LIMITER_MAX_PLATFORMS];
    int nconf;
};

void limiter_base_init(limiter *l, const limiter_ops *ops);
void limiter_base_destroy(limiter *l);

int limiter_inproc_open(limiter **out, cerr *e);
int limiter_redis_open(const char *url, limiter **out, cerr *e);

/* Wall clock in milliseconds (pauses are wall-clock deadlines that other machines share). */
int64_t limiter_wall_ms(void);

#endif
