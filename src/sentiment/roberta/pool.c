/* pool.c - fork-join over a shared task counter; workers sleep on a condition variable between runs. */
#include "sentiment/roberta/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

struct rpool {
    int nthreads;
    pthread_t *tid;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    unsigned long generation;
    bool stop;
    rpool_fn fn;
    void *ctx;
    int ntasks;
    atomic_int next;
    int active; /* workers still inside the current run */
};

typedef struct warg {
    rpool *p;
    int idx;
} warg;

static void drain(rpool *p, rpool_fn fn, void *ctx, int ntasks, int thread) {
    for (;;) {
        int t = atomic_fetch_add(&p->next, 1);
        if (t >= ntasks) break;
        fn(ctx, t, thread);
    }
}

static void *worker(void *arg) {
    warg a = *(warg *)arg;
    free(arg);
    rpool *p = a.p;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->go, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        rpool_fn fn = p->fn;
        void *ctx = p->ctx;
        int n = p->ntasks;
        pthread_mutex_unlock(&p->mu);
        drain(p, fn, ctx, n, a.idx);
        pthread_mutex_lock(&p->mu);
        if (--p->active == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int rpool_new(int threads, rpool **out, cerr *e) {
    *out = NULL;
    if (threads < 1) threads = 1;
    rpool *p = calloc(1, sizeof *p);
    if (!p) return cerr_set(e, CERR_NOMEM, "out of memory");
    p->nthreads = threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    if (threads > 1) {
        p->tid = calloc((size_t)threads - 1, sizeof *p->tid);
        if (!p->tid) {
            rpool_free(p);
            return cerr_set(e, CERR_NOMEM, "out of memory");
        }
        for (int i = 0; i < threads - 1; i++) {
            warg *a = malloc(sizeof *a);
            if (a) *a = (warg){p, i + 1};
            if (!a || pthread_create(&p->tid[i], NULL, worker, a) != 0) {
                free(a);
                p->nthreads = i + 1; /* only the started ones are joined */
                rpool_free(p);
                return cerr_set(e, CERR_INTERNAL, "cannot start worker thread");
            }
        }
    }
    *out = p;
    return 0;
}

void rpool_free(rpool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; p->tid && i < p->nthreads - 1; i++) pthread_join(p->tid[i], NULL);
    free(p->tid);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    free(p);
}

int rpool_threads(const rpool *p) { return p->nthreads; }

void rpool_run(rpool *p, rpool_fn fn, void *ctx, int ntasks) {
    if (p->nthreads == 1 || ntasks <= 1) {
        for (int t = 0; t < ntasks; t++) fn(ctx, t, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->ntasks = ntasks;
    atomic_store(&p->next, 0);
    p->active = p->nthreads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    drain(p, fn, ctx, ntasks, 0);
    pthread_mutex_lock(&p->mu);
    while (p->active > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
