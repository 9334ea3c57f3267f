/* pool.h - a tiny fork-join worker pool owned by one session: the caller runs fn(ctx, task) for every task in
 * [0, ntasks) together with the pool's threads and returns when all are done. Created once; no allocation per run. */
#ifndef CHATTER_SENTIMENT_ROBERTA_POOL_H
#define CHATTER_SENTIMENT_ROBERTA_POOL_H

#include "core/err.h"

typedef struct rpool rpool;
typedef void (*rpool_fn)(void *ctx, int task, int thread);

/* threads: total threads including the caller; 1 makes rpool_run a plain loop. */
int rpool_new(int threads, rpool **out, cerr *e) CH_MUST_USE;
void rpool_free(rpool *p);
int rpool_threads(const rpool *p);
void rpool_run(rpool *p, rpool_fn fn, void *ctx, int ntasks);

#endif
