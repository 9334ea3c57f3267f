/* test_queue.c - the queue contract, run against the in-process queue and, when CHATTER_TEST_REDIS_URL is
 * set, against Redis (each test on its own key prefix so runs never see each other's messages).
 *
 * With arguments it is instead a small client used by tests/integration/test_queue_redis.sh:
 *   test_queue push URL N [DELAY_MS] push jobs 1..N (post = job * 10)
 *   test_queue pop-and-die URL       pop one message, print it, exit without ack (a crashed worker)
 *   test_queue drain URL N TIMEOUT_MS  pop+ack until N distinct jobs seen; prints "distinct=N max_attempts=A"
 *   test_queue churn URL N           push+pop+ack N messages one by one, riding out Redis restarts */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "queue/queue.h"
#include "queue/redis_conn.h"

/* ---- helpers ---- */

static int url_counter;

/* A fresh queue URL for one test: the base URL plus a unique key prefix and any extra settings. */
static void test_url(const char *base, const char *extra, char *out, size_t size) {
    if (!base || !*base) {
        snprintf(out, size, "%s", extra && *extra ? extra : "");
        return;
    }
    char sep = strchr(base, '?') ? '&' : '?';
    snprintf(out, size, "%s%cprefix=chatter-test:%d:%d:%s%s", base, sep, (int)getpid(), ++url_counter,
             extra && *extra ? "&" : "", extra ? extra : "");
}

static queue *open_q(const char *base, const char *extra) {
    char url[512];
    test_url(base, extra, url, sizeof url);
    queue *q = NULL;
    cerr e = {0};
    int rc = queue_open(url, &q, &e);
    if (rc) fail_msg("queue_open(%s): %s", url, e.msg);
    return q;
}

static void push_ok(queue *q, int64_t job, int64_t post, int64_t delay) {
    cerr e = {0};
    if (q->ops->push(q, job, post, delay, &e)) fail_msg("push: %s", e.msg);
}

static int pop(queue *q, int64_t timeout, queue_msg *m) {
    cerr e = {0};
    int rc = q->ops->pop(q, "c1", timeout, m, &e);
    if (rc < 0) fail_msg("pop: %s", e.msg);
    return rc;
}

static void ack_ok(queue *q, const queue_msg *m) {
    cerr e = {0};
    if (q->ops->ack(q, m, &e)) fail_msg("ack: %s", e.msg);
}

/* ---- the contract, for any implementation (state = base URL, "" for in-process) ---- */

static void test_fifo_order(void **state) {
    queue *q = open_q(*state, NULL);
    for (int i = 1; i <= 20; i++) push_ok(q, i, i * 10, 0);
    for (int i = 1; i <= 20; i++) {
        queue_msg m;
        assert_int_equal(pop(q, 1000, &m), 1);
        assert_int_equal(m.job_id, i);
        assert_int_equal(m.post_ref, i * 10);
        assert_int_equal(m.attempts, 1);
        assert_true(m.handle[0] != '\0');
        ack_ok(q, &m);
    }
    queue_msg m;
    assert_int_equal(pop(q, 0, &m), 0);
    queue_close(q);
}

static void test_pop_times_out(void **state) {
    queue *q = open_q(*state, NULL);
    queue_msg m;
    int64_t t0 = now_ms();
    assert_int_equal(pop(q, 150, &m), 0);
    int64_t took = now_ms() - t0;
    assert_true(took >= 140);
    assert_true(took < 2000);
    queue_close(q);
}

static void test_delay(void **state) {
    queue *q = open_q(*state, NULL);
    int64_t t0 = now_ms();
    push_ok(q, 1, 1, 300);
    push_ok(q, 2, 2, 0);
    queue_msg m;
    assert_int_equal(pop(q, 1000, &m), 1);
    assert_int_equal(m.job_id, 2); /* the undelayed one overtakes */
    ack_ok(q, &m);
    assert_int_equal(pop(q, 0, &m), 0); /* not visible yet */
    assert_int_equal(pop(q, 3000, &m), 1);
    int64_t took = now_ms() - t0;
    assert_int_equal(m.job_id, 1);
    assert_true(took >= 290);
    assert_true(took < 2500);
    ack_ok(q, &m);
    queue_close(q);
}

static void test_nack_bumps_attempts(void **state) {
    queue *q = open_q(*state, NULL);
    push_ok(q, 7, 70, 0);
    queue_msg m;
    cerr e = {0};
    assert_int_equal(pop(q, 1000, &m), 1);
    assert_int_equal(m.attempts, 1);
    assert_int_equal(q->ops->nack(q, &m, 0, &e), 0);
    assert_int_equal(pop(q, 1000, &m), 1);
    assert_int_equal(m.job_id, 7);
    assert_int_equal(m.post_ref, 70);
    assert_int_equal(m.attempts, 2);
    int64_t t0 = now_ms();
    assert_int_equal(q->ops->nack(q, &m, 250, &e), 0);
    assert_int_equal(pop(q, 0, &m), 0);
    assert_int_equal(pop(q, 3000, &m), 1);
    assert_true(now_ms() - t0 >= 240);
    assert_int_equal(m.attempts, 3);
    ack_ok(q, &m);
    assert_int_equal(pop(q, 100, &m), 0); /* acked means gone */
    queue_close(q);
}

typedef struct waiter {
    queue *q;
    int rc;
    int64_t took;
} waiter;

static void *wait_pop(void *arg) {
    waiter *w = arg;
    queue_msg m;
    cerr e = {0};
    int64_t t0 = now_ms();
    w->rc = w->q->ops->pop(w->q, "waiter", 20000, &m, &e);
    w->took = now_ms() - t0;
    return NULL;
}

static void test_shutdown_wakes_waiters(void **state) {
    queue *q = open_q(*state, NULL);
    enum { N = 4 };
    waiter w[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        w[i] = (waiter){.q = q, .rc = 99};
        assert_int_equal(pthread_create(&th[i], NULL, wait_pop, &w[i]), 0);
    }
    sleep_ms(200);
    q->ops->shutdown(q);
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].rc, 0);
        assert_true(w[i].took < 5000);
    }
    /* after shutdown, pops return at once even with messages waiting */
    cerr e = {0};
    (void)q->ops->push(q, 1, 1, 0, &e);
    queue_msg m;
    int64_t t0 = now_ms();
    assert_int_equal(q->ops->pop(q, "late", 5000, &m, &e), 0);
    assert_true(now_ms() - t0 < 1000);
    queue_close(q);
}

/* many producers and consumers: every message delivered exactly once (no failures, so no redelivery) */
enum { PRODUCERS = 4, CONSUMERS = 4 };

typedef struct mt_ctx {
    queue *q;
    int per_producer;
    int producer;
    pthread_mutex_t *mu;
    unsigned char *seen; /* count per message id */
    int *total;
    int errors;
} mt_ctx;

static void *producer(void *arg) {
    mt_ctx *c = arg;
    cerr e = {0};
    for (int i = 0; i < c->per_producer; i++) {
        int64_t id = (int64_t)c->producer * c->per_producer + i;
        if (c->q->ops->push(c->q, id, id + 1, 0, &e)) c->errors++;
    }
    return NULL;
}

static void *consumer(void *arg) {
    mt_ctx *c = arg;
    cerr e = {0};
    char name[32];
    snprintf(name, sizeof name, "consumer-%d", c->producer);
    int want = PRODUCERS * c->per_producer;
    for (;;) {
        pthread_mutex_lock(c->mu);
        int done = *c->total >= want;
        pthread_mutex_unlock(c->mu);
        if (done) break;
        queue_msg m;
        int rc = c->q->ops->pop(c->q, name, 200, &m, &e);
        if (rc < 0) {
            c->errors++;
            break;
        }
        if (rc == 0) continue;
        if (m.post_ref != m.job_id + 1 || m.job_id < 0 || m.job_id >= want) {
            c->errors++;
            continue;
        }
        if (c->q->ops->ack(c->q, &m, &e)) c->errors++;
        pthread_mutex_lock(c->mu);
        if (c->seen[m.job_id] < 255) c->seen[m.job_id]++;
        (*c->total)++;
        pthread_mutex_unlock(c->mu);
    }
    return NULL;
}

static void run_many_threads(const char *base, int per_producer) {
    queue *q = open_q(base, NULL);
    int want = PRODUCERS * per_producer;
    unsigned char *seen = calloc((size_t)want, 1);
    int total = 0;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    mt_ctx pc[PRODUCERS], cc[CONSUMERS];
    pthread_t pt[PRODUCERS], ct[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++) {
        cc[i] = (mt_ctx){.q = q, .per_producer = per_producer, .producer = i, .mu = &mu, .seen = seen, .total = &total};
        assert_int_equal(pthread_create(&ct[i], NULL, consumer, &cc[i]), 0);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        pc[i] = (mt_ctx){.q = q, .per_producer = per_producer, .producer = i};
        assert_int_equal(pthread_create(&pt[i], NULL, producer, &pc[i]), 0);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(pt[i], NULL);
        assert_int_equal(pc[i].errors, 0);
    }
    int64_t deadline = now_ms() + 20000;
    for (;;) {
        pthread_mutex_lock(&mu);
        int t = total;
        pthread_mutex_unlock(&mu);
        if (t >= want || now_ms() > deadline) break;
        sleep_ms(10);
    }
    q->ops->shutdown(q); /* unblocks consumers if something went missing */
    for (int i = 0; i < CONSUMERS; i++) {
        pthread_join(ct[i], NULL);
        assert_int_equal(cc[i].errors, 0);
    }
    assert_int_equal(total, want);
    for (int i = 0; i < want; i++)
        if (seen[i] != 1) fail_msg("message %d delivered %d times", i, seen[i]);
    free(seen);
    queue_close(q);
}

static void test_many_threads(void **state) {
    const char *base = *state;
    run_many_threads(base, base && *base ? 500 : 20000);
}

/* ---- in-process only ---- */

static void test_inproc_cap(void **state) {
    (void)state;
    queue *q = NULL;
    cerr e = {0};
    assert_int_equal(queue_open("inproc://?max=10", &q, &e), 0);
    for (int i = 0; i < 10; i++) push_ok(q, i, i, i % 2 ? 1000 : 0);
    assert_int_equal(q->ops->push(q, 11, 11, 0, &e), -1);
    assert_int_equal(e.code, CERR_TOOBIG);
    queue_msg m;
    assert_int_equal(pop(q, 0, &m), 1);
    push_ok(q, 12, 12, 0); /* room again after a pop */
    queue_close(q);
}

static void test_open_errors(void **state) {
    (void)state;
    queue *q = NULL;
    cerr e = {0};
    assert_int_equal(queue_open("amqp://localhost", &q, &e), -1);
    assert_int_equal(e.code, CERR_INVALID);
    assert_null(q);
    assert_int_equal(queue_open("localhost:6379", &q, &e), -1);
    assert_int_equal(queue_open("inproc://?max=0", &q, &e), -1);
    assert_int_equal(queue_open("", &q, &e), 0);
    assert_non_null(q);
    assert_int_equal(q->ops->ping(q, &e), 0);
    queue_close(q);
    queue_close(NULL);
}

/* ---- main ---- */

#define CONTRACT(url)                                                                                    \
    cmocka_unit_test_prestate(test_fifo_order, (void *)(url)),                                           \
        cmocka_unit_test_prestate(test_pop_times_out, (void *)(url)),                                    \
        cmocka_unit_test_prestate(test_delay, (void *)(url)),                                            \
        cmocka_unit_test_prestate(test_nack_bumps_attempts, (void *)(url)),                              \
        cmocka_unit_test_prestate(test_shutdown_wakes_waiters, (void *)(url)),                           \
        cmocka_unit_test_prestate(test_many_threads, (void *)(url))

/* ---- Redis only ---- */

/* A consumer that takes a message and dies without acking: after the visibility timeout another consumer
 * (on another handle, as another process would be) gets it, with attempts counting both deliveries. */
static void test_redis_visibility_redelivery(void **state) {
    char url[512];
    test_url(*state, "visibility_s=1", url, sizeof url);
    queue *a = NULL, *b = NULL;
    cerr e = {0};
    assert_int_equal(queue_open(url, &a, &e), 0);
    assert_int_equal(queue_open(url, &b, &e), 0);
    push_ok(a, 42, 420, 0);
    queue_msg m;
    assert_int_equal(a->ops->pop(a, "doomed", 1000, &m, &e), 1);
    assert_int_equal(m.job_id, 42);
    queue_close(a); /* dies holding it */
    int64_t t0 = now_ms();
    assert_int_equal(b->ops->pop(b, "rescuer", 300, &m, &e), 0); /* still invisible */
    assert_int_equal(b->ops->pop(b, "rescuer", 5000, &m, &e), 1);
    int64_t took = now_ms() - t0;
    assert_int_equal(m.job_id, 42);
    assert_int_equal(m.post_ref, 420);
    assert_int_equal(m.attempts, 2);
    assert_true(took >= 600 && took < 4000);
    ack_ok(b, &m);
    assert_int_equal(b->ops->pop(b, "rescuer", 1500, &m, &e), 0); /* acked: never again */
    queue_close(b);
}

static void test_redis_cap_and_prefix_isolation(void **state) {
    queue *a = open_q(*state, "max=3"), *b = open_q(*state, NULL);
    cerr e = {0};
    push_ok(a, 1, 1, 0);
    push_ok(a, 2, 2, 500);
    push_ok(a, 3, 3, 0);
    assert_int_equal(a->ops->push(a, 4, 4, 0, &e), -1);
    assert_int_equal(e.code, CERR_TOOBIG);
    queue_msg m;
    assert_int_equal(pop(b, 100, &m), 0); /* other prefix, other queue */
    assert_int_equal(pop(a, 1000, &m), 1);
    ack_ok(a, &m);
    push_ok(a, 5, 5, 0); /* acked entries no longer count */
    assert_int_equal(a->ops->ping(a, &e), 0);
    queue_close(a);
    queue_close(b);
}

/* Consumer names that went quiet (worker threads of dead processes) are removed from the group. */
static void test_redis_prunes_idle_consumers(void **state) {
    char url[512];
    test_url(*state, "consumer_idle_s=1&visibility_s=1", url, sizeof url);
    queue *q = NULL;
    cerr e = {0};
    assert_int_equal(queue_open(url, &q, &e), 0);
    queue_msg m;
    assert_int_equal(q->ops->pop(q, "ghost", 0, &m, &e), 0);
    push_ok(q, 1, 1, 0);
    assert_int_equal(q->ops->pop(q, "holder", 0, &m, &e), 1); /* holds a message: must survive */
    sleep_ms(1300);
    assert_int_equal(q->ops->pop(q, "live", 600, &m, &e), 1); /* reclaims holder's message */
    ack_ok(q, &m);
    sleep_ms(700);
    assert_int_equal(q->ops->pop(q, "live", 600, &m, &e), 0);
    redis_cfg cfg;
    assert_int_equal(redis_cfg_parse(url, &cfg, &e), 0);
    redisContext *c = redisConnect(cfg.host, cfg.port);
    assert_true(c && !c->err);
    redisReply *r = redisCommand(c, "XINFO CONSUMERS %squeue workers", cfg.prefix);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    char names[256] = "";
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *info = r->element[i];
        for (size_t k = 0; k + 1 < info->elements; k += 2)
            if (strcmp(info->element[k]->str, "name") == 0) {
                strncat(names, info->element[k + 1]->str, sizeof names - strlen(names) - 2);
                strcat(names, " ");
            }
    }
    freeReplyObject(r);
    redisFree(c);
    assert_string_equal(names, "live ");
    queue_close(q);
}

static void test_redis_bad_urls(void **state) {
    (void)state;
    queue *q = NULL;
    cerr e = {0};
    assert_int_equal(queue_open("redis://127.0.0.1:1", &q, &e), -1); /* nothing listens on port 1 */
    assert_int_equal(e.code, CERR_NETWORK);
    assert_int_equal(queue_open("redis://127.0.0.1:99999", &q, &e), -1);
    assert_int_equal(e.code, CERR_INVALID);
    assert_int_equal(queue_open("rediss://127.0.0.1", &q, &e), -1);
    assert_int_equal(queue_open("redis://127.0.0.1/x", &q, &e), -1);
    assert_int_equal(queue_open("redis://127.0.0.1?visibility_s=0", &q, &e), -1);
    assert_int_equal(e.code, CERR_INVALID);
    assert_null(q);
}

/* ---- client modes for tests/integration/test_queue_redis.sh ---- */

static int die(const char *what, const cerr *e) {
    fprintf(stderr, "%s: %s\n", what, e->msg);
    return 1;
}

static int mode_push(queue *q, int n, int64_t delay_ms) {
    cerr e = {0};
    for (int i = 1; i <= n; i++)
        if (q->ops->push(q, i, (int64_t)i * 10, delay_ms, &e)) return die("push", &e);
    return 0;
}

static int mode_pop_and_die(queue *q) {
    cerr e = {0};
    queue_msg m;
    int rc = q->ops->pop(q, "doomed", 5000, &m, &e);
    if (rc != 1) return rc < 0 ? die("pop", &e) : (fprintf(stderr, "pop: nothing\n"), 1);
    printf("job=%lld attempts=%d\n", (long long)m.job_id, m.attempts);
    fflush(stdout);
    _exit(0); /* no ack, no close: as if killed */
}

/* Pops and acks until n distinct jobs (1..n) were seen or timeout; transient errors are retried. */
static int mode_drain(queue *q, int n, int64_t timeout_ms) {
    unsigned char *seen = calloc((size_t)n + 1, 1);
    int distinct = 0, max_att = 0, errors = 0, bad = 0;
    int64_t deadline = now_ms() + timeout_ms;
    while (distinct < n && now_ms() < deadline) {
        cerr e = {0};
        queue_msg m;
        int rc = q->ops->pop(q, "drainer", 500, &m, &e);
        if (rc < 0) {
            errors++;
            fprintf(stderr, "drain: %s (retrying)\n", e.msg);
            continue;
        }
        if (rc == 0) continue;
        if (m.job_id < 1 || m.job_id > n || m.post_ref != m.job_id * 10) bad++;
        else if (!seen[m.job_id]++) distinct++;
        if (m.attempts > max_att) max_att = m.attempts;
        while (q->ops->ack(q, &m, &e)) {
            errors++;
            fprintf(stderr, "ack: %s (retrying)\n", e.msg);
        }
    }
    printf("distinct=%d max_attempts=%d errors=%d bad=%d\n", distinct, max_att, errors, bad);
    free(seen);
    return distinct == n && bad == 0 ? 0 : 1;
}

/* One message at a time through the queue, slowly, so a Redis restart lands in the middle of it. */
static int mode_churn(queue *q, int n) {
    int done = 0, errors = 0;
    int64_t deadline = now_ms() + 20000;
    for (int i = 1; i <= n && now_ms() < deadline; i++) {
        cerr e = {0};
        while (q->ops->push(q, i, (int64_t)i * 10, 0, &e) && now_ms() < deadline) {
            errors++;
            fprintf(stderr, "churn push: %s\n", e.msg);
        }
        for (;;) {
            if (now_ms() >= deadline) break;
            queue_msg m;
            int rc = q->ops->pop(q, "churner", 1000, &m, &e);
            if (rc < 0) {
                errors++;
                fprintf(stderr, "churn pop: %s\n", e.msg);
                continue;
            }
            if (rc == 0) continue;
            while (q->ops->ack(q, &m, &e) && now_ms() < deadline) errors++;
            if (m.job_id == i) { /* older duplicates (redelivered after the restart) are just acked */
                done++;
                break;
            }
        }
        sleep_ms(10);
    }
    printf("churned=%d errors=%d\n", done, errors);
    return done == n ? 0 : 1;
}

static int run_mode(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: test_queue push|pop-and-die|drain|churn URL [N [TIMEOUT_MS]]\n");
        return 2;
    }
    queue *q = NULL;
    cerr e = {0};
    if (queue_open(argv[2], &q, &e)) return die("open", &e);
    int n = argc > 3 ? atoi(argv[3]) : 0;
    int rc = 2;
    if (strcmp(argv[1], "push") == 0) rc = mode_push(q, n, argc > 4 ? atoi(argv[4]) : 0);
    else if (strcmp(argv[1], "pop-and-die") == 0) rc = mode_pop_and_die(q);
    else if (strcmp(argv[1], "drain") == 0) rc = mode_drain(q, n, argc > 4 ? atoi(argv[4]) : 10000);
    else if (strcmp(argv[1], "churn") == 0) rc = mode_churn(q, n);
    else fprintf(stderr, "unknown mode %s\n", argv[1]);
    queue_close(q);
    return rc;
}

int main(int argc, char **argv) {
    if (argc > 1) return run_mode(argc, argv);
    const struct CMUnitTest inproc_tests[] = {
        CONTRACT(""),
        cmocka_unit_test(test_inproc_cap),
        cmocka_unit_test(test_open_errors),
    };
    int failed = cmocka_run_group_tests_name("queue_inproc", inproc_tests, NULL, NULL);
    const char *redis = getenv("CHATTER_TEST_REDIS_URL");
    if (!redis || !*redis) {
        fprintf(stderr, "CHATTER_TEST_REDIS_URL not set: Redis queue tests skipped\n");
        return failed;
    }
    const struct CMUnitTest redis_tests[] = {
        CONTRACT(redis),
        cmocka_unit_test_prestate(test_redis_visibility_redelivery, (void *)redis),
        cmocka_unit_test_prestate(test_redis_cap_and_prefix_isolation, (void *)redis),
        cmocka_unit_test_prestate(test_redis_prunes_idle_consumers, (void *)redis),
        cmocka_unit_test(test_redis_bad_urls),
    };
    return failed + cmocka_run_group_tests_name("queue_redis", redis_tests, NULL, NULL);
}
