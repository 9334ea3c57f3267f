/* test_ratelimit.c - token buckets: burst, refill, Retry-After, independence of keys, bounded table,
 * and exact accounting under concurrent callers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "api/ratelimit.h"

static ratelimit *mk(double per_min, double burst, size_t max_keys) {
    ratelimit *rl = NULL;
    cerr e = {0};
    assert_int_equal(ratelimit_new(per_min, burst, max_keys, &rl, &e), 0);
    return rl;
}

static void test_rejects_bad_config(void **state) {
    (void)state;
    ratelimit *rl = NULL;
    cerr e = {0};
    assert_int_equal(ratelimit_new(0, 5, 10, &rl, &e), -1);
    assert_int_equal(e.code, CERR_INVALID);
    assert_int_equal(ratelimit_new(10, 0.5, 10, &rl, &e), -1);
    assert_int_equal(ratelimit_new(10, 5, 0, &rl, &e), -1);
    assert_null(rl);
}

static void test_burst_then_retry_after(void **state) {
    (void)state;
    ratelimit *rl = mk(6, 3, 100); /* one token per 10 s, burst 3 */
    long ra = -1;
    int64_t t = 1000000;
    for (int i = 0; i < 3; i++) {
        assert_true(ratelimit_take_at(rl, "alice", t, &ra));
        assert_int_equal(ra, 0);
    }
    assert_false(ratelimit_take_at(rl, "alice", t, &ra));
    assert_int_equal(ra, 10);
    /* 4 s later: 0.4 tokens, 6 s to go */
    assert_false(ratelimit_take_at(rl, "alice", t + 4000, &ra));
    assert_int_equal(ra, 6);
    /* 10 s after the burst: exactly one token again, and only one */
    assert_true(ratelimit_take_at(rl, "alice", t + 10000, &ra));
    assert_false(ratelimit_take_at(rl, "alice", t + 10000, &ra));
    assert_int_equal(ra, 10);
    /* a long idle period refills to the burst, not beyond */
    int ok = 0;
    for (int i = 0; i < 10; i++) ok += ratelimit_take_at(rl, "alice", t + 3600000, &ra);
    assert_int_equal(ok, 3);
    ratelimit_free(rl);
}

static void test_keys_independent(void **state) {
    (void)state;
    ratelimit *rl = mk(60, 1, 100);
    long ra;
    assert_true(ratelimit_take_at(rl, "iss|a", 5000, &ra));
    assert_false(ratelimit_take_at(rl, "iss|a", 5000, &ra));
    assert_int_equal(ra, 1);
    assert_true(ratelimit_take_at(rl, "iss|b", 5000, &ra));
    assert_int_equal(ratelimit_size(rl), 2);
    ratelimit_free(rl);
}

static void test_table_is_bounded_lru(void **state) {
    (void)state;
    ratelimit *rl = mk(1, 1, 8);
    long ra;
    assert_true(ratelimit_take_at(rl, "victim", 0, &ra));
    assert_false(ratelimit_take_at(rl, "victim", 0, &ra));
    char key[32];
    /* 7 other keys fill the table; touching the victim keeps it most recent */
    for (int i = 0; i < 7; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_true(ratelimit_take_at(rl, key, 0, &ra));
    }
    assert_false(ratelimit_take_at(rl, "victim", 0, &ra));
    /* 10000 random keys: the table never grows past 8, and the recently used victim survives the first one */
    assert_true(ratelimit_take_at(rl, "new-0", 0, &ra));
    assert_int_equal(ratelimit_size(rl), 8);
    assert_false(ratelimit_take_at(rl, "victim", 0, &ra));
    for (int i = 1; i < 10000; i++) {
        snprintf(key, sizeof key, "new-%d", i);
        assert_true(ratelimit_take_at(rl, key, 0, &ra));
    }
    assert_int_equal(ratelimit_size(rl), 8);
    /* evicted: it comes back with a full bucket (errs towards allowing) */
    assert_true(ratelimit_take_at(rl, "victim", 0, &ra));
    ratelimit_free(rl);
}

static void test_overlong_key_refused(void **state) {
    (void)state;
    ratelimit *rl = mk(60, 5, 8);
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    long ra = 0;
    assert_false(ratelimit_take_at(rl, big, 0, &ra));
    assert_true(ra >= 1);
    assert_false(ratelimit_take_at(rl, NULL, 0, &ra));
    assert_int_equal(ratelimit_size(rl), 0);
    ratelimit_free(rl);
}

typedef struct worker_arg {
    ratelimit *rl;
    int allowed;
} worker_arg;

static void *worker(void *p) {
    worker_arg *a = p;
    long ra;
    char key[16];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "u%d", i % 4);
        a->allowed += ratelimit_take_at(a->rl, key, 42, &ra); /* frozen clock: no refill */
    }
    return NULL;
}

static void test_concurrent_exact(void **state) {
    (void)state;
    ratelimit *rl = mk(1, 25, 64);
    pthread_t th[8];
    worker_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (worker_arg){.rl = rl};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        total += args[i].allowed;
    }
    assert_int_equal(total, 4 * 25); /* 4 keys x burst 25, never more */
    ratelimit_free(rl);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejects_bad_config),   cmocka_unit_test(test_burst_then_retry_after),
        cmocka_unit_test(test_keys_independent),     cmocka_unit_test(test_table_is_bounded_lru),
        cmocka_unit_test(test_overlong_key_refused), cmocka_unit_test(test_concurrent_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
