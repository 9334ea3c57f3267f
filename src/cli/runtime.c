#include "cli/runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/log.h"
#include "core/util.h"

int runtime_opts_from_env(runtime_opts *o) {
    memset(o, 0, sizeof *o);
    pipeline_config_defaults(&o->pipeline);
    o->database_url = env_or("DATABASE_URL", "sqlite://./chatter.db");
    o->redis_url = env_or("REDIS_URL", NULL);
    o->analyzer = env_or("CHATTER_ANALYZER", "auto");
    o->model_dir = NULL; /* analyzer_model_path() finds the installed files */
    o->quantize = env_or("CHATTER_QUANTIZE", "none");
    int64_t v;
    if (cli_env_int("CHATTER_WORKERS", 0, 256, o->pipeline.workers, &v)) return -1;
    o->pipeline.workers = (int)v;
    if (cli_env_int("CHATTER_FRESHNESS_S", 0, 365LL * 86400, o->pipeline.freshness_s, &v)) return -1;
    o->pipeline.freshness_s = v;
    if (cli_env_int("CHATTER_MAX_ATTEMPTS", 1, 100, o->pipeline.max_attempts, &v)) return -1;
    o->pipeline.max_attempts = (int)v;
    if (cli_env_int("CHATTER_POST_TIMEOUT_S", 1, 86400, o->pipeline.post_timeout_s, &v)) return -1;
    o->pipeline.post_timeout_s = v;
    if (cli_env_int("CHATTER_LEASE_S", 1, 86400, o->pipeline.lease_s, &v)) return -1;
    o->pipeline.lease_s = v;
    return 0;
}

int runtime_open(const runtime_opts *o, runtime *rt, cerr *e) {
    memset(rt, 0, sizeof *rt);
    int version = 0;
    if (store_open(o->database_url, &rt->st, e)) return -1;
    if (rt->st->ops->migrate(rt->st, &version, e)) goto fail;
    log_info("database ready (schema version %d)", version);
    if (queue_open(o->redis_url, &rt->q, e)) goto fail;
    if (source_settings_defaults(&rt->src, e)) goto fail;
    rt->src_loaded = true;
    if (o->pipeline.workers > 0) {
        analyzer_options ao = {.model_dir = o->model_dir, .quantize = o->quantize, .threads = 1};
        if (analyzer_open(o->analyzer, &ao, &rt->an, e)) goto fail;
        log_info("analyzer: %s", analyzer_model_id(rt->an));
        /* with Redis every worker process shares one budget per source; else this process has its own */
        if (limiter_open(o->redis_url, &rt->lim, e)) goto fail;
        pipeline_config pc = o->pipeline;
        pc.limiter = rt->lim;
        if (pipeline_new(&pc, rt->st, rt->q, rt->an, &rt->src, &rt->pl, e)) goto fail;
    }
    /* The database is the truth: an in-process queue died with the previous process, so whatever the
     * database says is unfinished goes back on it. A shared broker outlives processes: re-queueing on
     * every start of every replica would flood it with duplicates (and, once it is full, keep workers from
     * starting at all); `chatter sweep` re-queues what a broker lost. */
    if (strcmp(rt->q->ops->scheme, "inproc") == 0) {
        int64_t n = 0;
        if (pipeline_requeue_unfinished(rt->st, rt->q, &n, e)) goto fail;
        if (n) log_info("re-queued %lld unfinished posts", (long long)n);
    }
    if (rt->pl && pipeline_start(rt->pl, e)) goto fail;
    return 0;
fail:
    runtime_close(rt);
    return -1;
}

void runtime_close(runtime *rt) {
    if (rt->pl) {
        pipeline_stop(rt->pl);
        pipeline_free(rt->pl);
    }
    if (rt->lim) limiter_close(rt->lim);
    if (rt->an) analyzer_free(rt->an);
    if (rt->q) queue_close(rt->q);
    if (rt->st) store_close(rt->st);
    if (rt->src_loaded) source_settings_free(&rt->src);
    memset(rt, 0, sizeof *rt);
}

void runtime_block_signals(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int runtime_wait_signal(const sigset_t *set) {
    int sig = 0;
    while (sigwait(set, &sig) != 0) {
    }
    return sig;
}
