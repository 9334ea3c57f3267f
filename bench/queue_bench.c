/* queue_bench.c - messages/s through a queue (push, then pop+ack from T threads) and limiter calls/s.
 * Built and run by bench/queue_bench.sh; not a test. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"
#include "queue/limiter.h"
#include "queue/queue.h"

typedef struct ctx {
    queue *q;
    int n;
    int got;
} ctx;

static void *consume(void *arg) {
    ctx *c = arg;
    cerr e = {0};
    char name[32];
    snprintf(name, sizeof name, "bench-%p", (void *)c);
    for (;;) {
        queue_msg m;
        int rc = c->q->ops->pop(c->q, name, 200, &m, &e);
        if (rc <= 0) break; /* drained */
        if (c->q->ops->ack(c->q, &m, &e)) break;
        c->got++;
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : "";
    int threads = argc > 2 ? atoi(argv[2]) : 4;
    int n = argc > 3 ? atoi(argv[3]) : 100000;
    queue *q;
    cerr e = {0};
    if (queue_open(url, &q, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    int64_t t0 = now_ms();
    for (int i = 0; i < n; i++)
        if (q->ops->push(q, i, i, 0, &e)) {
            fprintf(stderr, "push: %s\n", e.msg);
            return 1;
        }
    int64_t t1 = now_ms();
    ctx *c = calloc((size_t)threads, sizeof *c);
    pthread_t *th = calloc((size_t)threads, sizeof *th);
    for (int i = 0; i < threads; i++) {
        c[i].q = q;
        pthread_create(&th[i], NULL, consume, &c[i]);
    }
    int total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += c[i].got;
    }
    int64_t t2 = now_ms() - 200; /* the final empty pop's timeout is not work */
    printf("queue=%s threads=%d push: %d msgs in %lld ms = %.0f msg/s; pop+ack: %d msgs in %lld ms = %.0f msg/s\n",
           *url ? "redis" : "inproc", threads, n, (long long)(t1 - t0), n * 1000.0 / (double)(t1 - t0 + !(t1 - t0)),
           total, (long long)(t2 - t1), total * 1000.0 / (double)(t2 - t1 + !(t2 - t1)));
    queue_close(q);

    limiter *l;
    if (limiter_open(url, &l, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    limiter_limits lim = {.rate = 1e6, .burst = 1000000, .concurrency = 1000};
    if (limiter_set_limits(l, "bench", &lim, &e)) return 1;
    int calls = *url ? 20000 : 1000000;
    t0 = now_ms();
    for (int i = 0; i < calls; i++) {
        limiter_slot s;
        int64_t wait;
        if (limiter_acquire(l, "bench", &s, &wait, &e) != LIMITER_GO) {
            fprintf(stderr, "acquire: %s\n", e.msg);
            return 1;
        }
        (void)limiter_release(l, &s, &e);
    }
    t1 = now_ms();
    printf("limiter=%s acquire+release: %d in %lld ms = %.0f pairs/s (one thread)\n", *url ? "redis" : "inproc",
           calls, (long long)(t1 - t0), calls * 1000.0 / (double)(t1 - t0 + !(t1 - t0)));
    limiter_close(l);
    free(c);
    free(th);
    return 0;
}
