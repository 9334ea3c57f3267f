/* test_queue.c - the queue contract, run against the in-process queue and, when CHATTER_TEST_REDIS_URL is
 * set, against Redis (each test on its own key prefix so runs never see each other's messages).
 *
 * With arguments it is instead a small client used by tests/integration/test_queue_redis.sh:
 *   test_queue push URL N            push jobs 1..N (post = job * 10)
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

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    const struct CMUnitTest inproc_tests[] = {
        CONTRACT(""),
        cmocka_unit_test(test_inproc_cap),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests_name("queue_inproc", inproc_tests, NULL, NULL);
}
