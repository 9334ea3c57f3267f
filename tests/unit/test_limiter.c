/* test_limiter.c - the per-platform limiter, in-process and (when CHATTER_TEST_REDIS_URL is set) through
 * Redis, each Redis test on its own key prefix.
 *
 * With arguments it is a client for tests/integration/test_queue_redis.sh:
 *   test_limiter hammer URL DURATION_MS [START_UNIX_MS]
 *       acquire platform "shared" (20/s, burst 1) as fast as allowed for DURATION_MS, starting at
 *       START_UNIX_MS if given; prints "granted=N" */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "queue/limiter.h"

static int url_counter;

static void test_url(const char *base, const char *extra, char *out, size_t size) {
    if (!base || !*base) {
        snprintf(out, size, "%s", "");
        return;
    }
    char sep = strchr(base, '?') ? '&' : '?';
    snprintf(out, size, "%s%cprefix=chatter-ltest:%d:%d:%s%s", base, sep, (int)getpid(), ++url_counter,
             extra && *extra ? "&" : "", extra ? extra : "");
}

static limiter *open_l(const char *url) {
    limiter *l = NULL;
    cerr e = {0};
    if (limiter_open(url, &l, &e)) fail_msg("limiter_open(%s): %s", url, e.msg);
    return l;
}

static limiter *open_fresh(const char *base, const char *extra) {
    char url[512];
    test_url(base, extra, url, sizeof url);
    return open_l(url);
}

static void set_limits(limiter *l, const char *p, double rate, int burst, int conc) {
    cerr e = {0};
    limiter_limits lim = {.rate = rate, .burst = burst, .concurrency = conc};
    if (limiter_set_limits(l, p, &lim, &e)) fail_msg("set_limits: %s", e.msg);
}

static int acq(limiter *l, const char *p, limiter_slot *s, int64_t *wait) {
    cerr e = {0};
    int rc = limiter_acquire(l, p, s, wait, &e);
    if (rc < 0) fail_msg("acquire: %s", e.msg);
    return rc;
}

static void rel(limiter *l, limiter_slot *s) {
    cerr e = {0};
    if (limiter_release(l, s, &e)) fail_msg("release: %s", e.msg);
}

/* ---- contract (state = base URL, "" = in-process) ---- */

static void test_rate_spacing(void **state) {
    limiter *l = open_fresh(*state, NULL);
    set_limits(l, "youtube", 10, 1, 0);
    limiter_slot s;
    int64_t wait;
    assert_int_equal(acq(l, "youtube", &s, &wait), LIMITER_GO);
    assert_int_equal(wait, 0);
    assert_string_equal(s.platform, "youtube");
    rel(l, &s);
    assert_int_equal(acq(l, "youtube", &s, &wait), LIMITER_WAIT_RATE);
    assert_true(wait > 50 && wait <= 100);
    sleep_ms(wait + 5);
    assert_int_equal(acq(l, "youtube", &s, &wait), LIMITER_GO);
    rel(l, &s);
    /* an unlimited platform is never held up by a limited one */
    for (int i = 0; i < 50; i++) {
        assert_int_equal(acq(l, "tiktok", &s, &wait), LIMITER_GO);
        rel(l, &s);
    }
    limiter_close(l);
}

static void test_burst(void **state) {
    limiter *l = open_fresh(*state, NULL);
    set_limits(l, "instagram", 1, 3, 0);
    limiter_slot s;
    int64_t wait;
    for (int i = 0; i < 3; i++) assert_int_equal(acq(l, "instagram", &s, &wait), LIMITER_GO);
    assert_int_equal(acq(l, "instagram", &s, &wait), LIMITER_WAIT_RATE);
    assert_true(wait > 900 && wait <= 1000);
    limiter_close(l);
}

static void test_concurrency_cap(void **state) {
    limiter *l = open_fresh(*state, NULL);
    set_limits(l, "apify", 0, 1, 2);
    limiter_slot a, b, c;
    int64_t wait;
    assert_int_equal(acq(l, "apify", &a, &wait), LIMITER_GO);
    assert_int_equal(acq(l, "apify", &b, &wait), LIMITER_GO);
    assert_string_not_equal(a.token, b.token);
    assert_int_equal(acq(l, "apify", &c, &wait), LIMITER_WAIT_CONCURRENCY);
    assert_true(wait > 0);
    rel(l, &a);
    rel(l, &a); /* twice: harmless */
    assert_int_equal(acq(l, "apify", &c, &wait), LIMITER_GO);
    assert_int_equal(acq(l, "apify", &a, &wait), LIMITER_WAIT_CONCURRENCY);
    rel(l, &b);
    rel(l, &c);
    limiter_close(l);
}

static void test_pause(void **state) {
    limiter *l = open_fresh(*state, NULL);
    cerr e = {0};
    limiter_slot s;
    int64_t wait, until;
    int64_t t = now_unix() + 60;
    assert_int_equal(limiter_paused_until(l, "youtube", &until, &e), 0);
    assert_int_equal(until, 0);
    assert_int_equal(limiter_pause(l, "youtube", t, &e), 0);
    assert_int_equal(limiter_pause(l, "youtube", t - 30, &e), 0); /* shorter: ignored */
    assert_int_equal(limiter_paused_until(l, "youtube", &until, &e), 0);
    assert_int_equal(until, t);
    assert_int_equal(acq(l, "youtube", &s, &wait), LIMITER_PAUSED);
    assert_true(wait > 58000 && wait <= 61000);
    assert_int_equal(acq(l, "tiktok", &s, &wait), LIMITER_GO); /* other platforms go on */
    rel(l, &s);
    assert_int_equal(limiter_resume(l, "youtube", &e), 0);
    assert_int_equal(acq(l, "youtube", &s, &wait), LIMITER_GO);
    rel(l, &s);
    assert_int_equal(limiter_pause(l, "youtube", now_unix() - 5, &e), 0); /* in the past: no pause */
    assert_int_equal(limiter_paused_until(l, "youtube", &until, &e), 0);
    assert_int_equal(until, 0);
    limiter_close(l);
}

/* Over 1 s at 20/s, burst 1: 21 grants (the first token plus 20 refills), give or take timer slack. */
static int hammer(limiter *l, const char *platform, int64_t duration_ms) {
    int granted = 0;
    int64_t end = now_ms() + duration_ms;
    while (now_ms() < end) {
        limiter_slot s;
        int64_t wait;
        int rc = acq(l, platform, &s, &wait);
        if (rc == LIMITER_GO) {
            granted++;
            rel(l, &s);
        } else {
            int64_t left = end - now_ms();
            sleep_ms(wait < left ? wait : left);
        }
    }
    return granted;
}

static void test_rate_over_a_second(void **state) {
    limiter *l = open_fresh(*state, NULL);
    set_limits(l, "shared", 20, 1, 0);
    int g = hammer(l, "shared", 1000);
    limiter_close(l);
    /* never more than the rate allows; fewer only when this thread is starved of CPU (sanitizers, a
     * loaded CI machine), so the lower bound is loose */
    assert_true(g <= 22);
    assert_true(g >= 10);
}

static void test_env_and_validation(void **state) {
    limiter *l = open_fresh(*state, NULL);
    cerr e = {0};
    limiter_limits lim;
    setenv("CHATTER_ENVPLAT_RATE", "2.5", 1);
    setenv("CHATTER_ENVPLAT_CONCURRENCY", "3", 1);
    assert_int_equal(limiter_get_limits(l, "envplat", &lim, &e), 0);
    assert_true(lim.rate > 2.49 && lim.rate < 2.51);
    assert_int_equal(lim.burst, 1);
    assert_int_equal(lim.concurrency, 3);
    setenv("CHATTER_BADPLAT_RATE", "fast", 1);
    limiter_slot s;
    int64_t wait;
    assert_int_equal(limiter_acquire(l, "badplat", &s, &wait, &e), -1);
    assert_int_equal(e.code, CERR_INVALID);
    assert_non_null(strstr(e.msg, "CHATTER_BADPLAT_RATE"));
    assert_int_equal(limiter_acquire(l, "You Tube", &s, &wait, &e), -1);
    assert_int_equal(limiter_acquire(l, "", &s, &wait, &e), -1);
    assert_int_equal(limiter_pause(l, "a:b", 1, &e), -1);
    lim = (limiter_limits){.rate = -1, .burst = 0};
    assert_int_equal(limiter_set_limits(l, "x", &lim, &e), -1);
    limiter_close(l);
}

/* ---- Redis only: two handles (as two processes would have) share one budget ---- */

static void test_redis_shared_between_handles(void **state) {
    char url[512];
    test_url(*state, "lease_s=1", url, sizeof url);
    limiter *a = open_l(url), *b = open_l(url);
    set_limits(a, "youtube", 5, 1, 1);
    set_limits(b, "youtube", 5, 1, 1);
    limiter_slot s, t;
    int64_t wait;
    assert_int_equal(acq(a, "youtube", &s, &wait), LIMITER_GO);
    assert_int_equal(acq(b, "youtube", &t, &wait), LIMITER_WAIT_CONCURRENCY); /* a holds the one slot */
    /* a "dies" without releasing: the 1 s lease frees the slot for b */
    sleep_ms(1100);
    assert_int_equal(acq(b, "youtube", &t, &wait), LIMITER_GO);
    rel(b, &t);
    assert_int_equal(acq(a, "youtube", &s, &wait), LIMITER_WAIT_RATE); /* b just took the token */
    assert_true(wait > 100 && wait <= 200);
    cerr e = {0};
    int64_t until;
    assert_int_equal(limiter_pause(a, "youtube", now_unix() + 30, &e), 0);
    assert_int_equal(limiter_paused_until(b, "youtube", &until, &e), 0);
    assert_true(until >= now_unix() + 29);
    assert_int_equal(acq(b, "youtube", &t, &wait), LIMITER_PAUSED);
    limiter_close(a);
    limiter_close(b);
}

static void test_redis_unreachable(void **state) {
    (void)state;
    limiter *l = NULL;
    cerr e = {0};
    assert_int_equal(limiter_open("redis://127.0.0.1:1", &l, &e), -1);
    assert_int_equal(e.code, CERR_NETWORK);
    assert_null(l);
    assert_int_equal(limiter_open("memcached://x", &l, &e), -1);
    assert_int_equal(e.code, CERR_INVALID);
}

static int run_mode(int argc, char **argv) {
    if (argc < 4 || strcmp(argv[1], "hammer") != 0) {
        fprintf(stderr, "usage: test_limiter hammer URL DURATION_MS [START_UNIX_MS]\n");
        return 2;
    }
    limiter *l = NULL;
    cerr e = {0};
    if (limiter_open(argv[2], &l, &e)) {
        fprintf(stderr, "open: %s\n", e.msg);
        return 1;
    }
    limiter_limits lim = {.rate = 20, .burst = 1};
    if (limiter_set_limits(l, "shared", &lim, &e)) return 1;
    /* An agreed wall-clock start lines the processes' windows up, so their sum is judged over one window. */
    if (argc > 4) {
        int64_t start = atoll(argv[4]);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        sleep_ms(start - ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
    }
    int granted = 0;
    int64_t end = now_ms() + atoi(argv[3]);
    while (now_ms() < end) {
        limiter_slot s;
        int64_t wait;
        int rc = limiter_acquire(l, "shared", &s, &wait, &e);
        if (rc < 0) {
            fprintf(stderr, "acquire: %s\n", e.msg);
            return 1;
        }
        if (rc == LIMITER_GO) {
            granted++;
            (void)limiter_release(l, &s, &e);
            continue;
        }
        int64_t left = end - now_ms();
        sleep_ms(wait < left ? wait : left);
    }
    printf("granted=%d\n", granted);
    limiter_close(l);
    return 0;
}

#define CONTRACT(url)                                                                                    \
    cmocka_unit_test_prestate(test_rate_spacing, (void *)(url)),                                         \
        cmocka_unit_test_prestate(test_burst, (void *)(url)),                                            \
        cmocka_unit_test_prestate(test_concurrency_cap, (void *)(url)),                                  \
        cmocka_unit_test_prestate(test_pause, (void *)(url)),                                            \
        cmocka_unit_test_prestate(test_rate_over_a_second, (void *)(url)),                               \
        cmocka_unit_test_prestate(test_env_and_validation, (void *)(url))

int main(int argc, char **argv) {
    if (argc > 1) return run_mode(argc, argv);
    const struct CMUnitTest inproc_tests[] = {CONTRACT("")};
    int failed = cmocka_run_group_tests_name("limiter_inproc", inproc_tests, NULL, NULL);
    const char *redis = getenv("CHATTER_TEST_REDIS_URL");
    if (!redis || !*redis) {
        fprintf(stderr, "CHATTER_TEST_REDIS_URL not set: Redis limiter tests skipped\n");
        return failed;
    }
    const struct CMUnitTest redis_tests[] = {
        CONTRACT(redis),
        cmocka_unit_test_prestate(test_redis_shared_between_handles, (void *)redis),
        cmocka_unit_test(test_redis_unreachable),
    };
    return failed + cmocka_run_group_tests_name("limiter_redis", redis_tests, NULL, NULL);
}
