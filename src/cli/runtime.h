/* runtime.h - what `serve` and `worker` both assemble: store, queue, analyzer, sources, pipeline. */
#ifndef CHATTER_CLI_RUNTIME_H
#define CHATTER_CLI_RUNTIME_H

#include <signal.h>
#include <stdbool.h>

#include "jobs/pipeline.h"

typedef struct runtime_opts {
    const char *database_url;
    const char *redis_url;       /* NULL/"" = in-process queue */
    const char *analyzer;        /* auto | vader | roberta | azure */
    const char *model_dir;
    const char *quantize;
    pipeline_config pipeline;    /* workers = 0: no pipeline */
} runtime_opts;

typedef struct runtime {
    store *st;
    queue *q;
    analyzer *an;
    source_settings src;
    bool src_loaded;
    limiter *lim;                /* shared through Redis when redis_url is set */
    pipeline *pl;
} runtime;

/* On SIGTERM, after the grace period: how long aborted posts get to reach their next page or batch and
 * hand their message back (pipeline_drain). */
#define RUNTIME_HAND_BACK_MS 15000
#define RUNTIME_DEFAULT_GRACE_S 30

/* Reads the environment defaults (DATABASE_URL, REDIS_URL, CHATTER_*) into o. */
int runtime_opts_from_env(runtime_opts *o);
int runtime_open(const runtime_opts *o, runtime *rt, cerr *e) CH_MUST_USE;
void runtime_close(runtime *rt);

/* Blocks SIGINT/SIGTERM/SIGHUP in this thread and every thread created afterwards, so main can wait
 * for them with sigwait and shut down in order. */
void runtime_block_signals(sigset_t *set);
int runtime_wait_signal(const sigset_t *set);

#endif
