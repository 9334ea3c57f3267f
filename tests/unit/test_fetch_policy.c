/* test_fetch_policy.c - the selection rules of a job's fetch policy (store_select, store_sample_key) and
 * the options round trip, without a database. The backends' use of them is in test_store.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store_common.h"

static store_pool_item item(int64_t seq, int64_t likes, const char *when, const char *parent) {
    store_pool_item it = {.comment_ref = 100 + seq, .seq = seq, .like_count = likes};
    snprintf(it.published_at, sizeof it.published_at, "%s", when ? when : "");
    it.parent_id = parent ? strdup(parent) : NULL;
    return it;
}

static void assert_refs(const store_pool_item *items, size_t kept, const int64_t *want, size_t n) {
    assert_int_equal(kept, n);
    for (size_t i = 0; i < n; i++) assert_int_equal(items[i].comment_ref, want[i]);
}

static store_pool_item *pool(size_t *n) {
    store_pool_item *p = calloc(8, sizeof *p);
    assert_non_null(p);
    p[0] = item(0, 5, "2024-03-01T00:00:00Z", NULL);
    p[1] = item(1, 9, "2024-03-04T00:00:00Z", "t1");
    p[2] = item(2, 9, NULL, "t1");
    p[3] = item(3, -1, "2024-03-09T00:00:00Z", "t1");
    p[4] = item(4, 0, "2024-03-02T00:00:00Z", NULL);
    p[5] = item(5, 9, "2024-03-09T00:00:00Z", "t4");
    p[6] = item(6, 1, "2024-03-05T00:00:00Z", "t4");
    p[7] = item(7, 2, "2024-03-03T00:00:00Z", NULL);
    *n = 8;
    return p;
}

static void test_top_newest_first(void **state) {
    (void)state;
    cerr e = {0};
    size_t n, kept;
    store_pool_item *p = pool(&n);
    job_options o = {.sampling = SAMPLING_TOP, .max_comments_per_post = 4, .include_replies = true};
    assert_int_equal(store_select(p, n, &o, &kept, &e), 0);
    assert_refs(p, kept, (int64_t[]){101, 102, 105, 100}, 4); /* 9, 9, 9 by fetch order, then 5 */
    store_pool_free(p, n);

    p = pool(&n);
    o = (job_options){.sampling = SAMPLING_NEWEST, .include_replies = true};
    assert_int_equal(store_select(p, n, &o, &kept, &e), 0);
    assert_refs(p, kept, (int64_t[]){103, 105, 106, 101, 107, 104, 100, 102}, 8); /* unknown time last */
    store_pool_free(p, n);

    p = pool(&n);
    o = (job_options){.sampling = SAMPLING_FIRST, .include_replies = true, .max_replies_per_thread = 1,
                      .max_comments_per_post = 5};
    assert_int_equal(store_select(p, n, &o, &kept, &e), 0);
    assert_refs(p, kept, (int64_t[]){100, 101, 104, 105, 107}, 5); /* 102, 103 and 106 over the cap */
    store_pool_free(p, n);

    p = pool(&n);
    o = (job_options){.sampling = SAMPLING_TOP, .include_replies = true, .max_replies_per_thread = 2};
    assert_int_equal(store_select(p, n, &o, &kept, &e), 0);
    assert_refs(p, kept, (int64_t[]){101, 102, 105, 100, 107, 106, 104}, 7);
    store_pool_free(p, n);

    assert_int_equal(store_select(NULL, 0, &o, &kept, &e), 0);
    assert_int_equal(kept, 0);
}

/* The key is specified exactly (docs): SHA-256 of "<seed>:<id>", first 8 bytes big-endian. */
static void test_sample_key_vector(void **state) {
    (void)state;
    cerr e = {0};
    uint64_t k = 0;
    assert_int_equal(store_sample_key(42, "Ugxabc", &k, &e), 0);
    assert_true(k == 0xe48d51c445cd14feULL);
    uint64_t k2 = 0;
    assert_int_equal(store_sample_key(43, "Ugxabc", &k2, &e), 0);
    assert_true(k2 != k);
}

/* Keeping the smallest key is a uniform draw: over many seeds each of 10 comments wins about as often
 * (chi-square, 9 degrees of freedom, far below the 0.1% critical value 27.9). */
static void test_random_uniform(void **state) {
    (void)state;
    cerr e = {0};
    enum { POOL = 10, SEEDS = 20000 };
    int wins[POOL] = {0};
    char ids[POOL][16];
    for (int i = 0; i < POOL; i++) snprintf(ids[i], sizeof ids[i], "c%d", i * 7919);
    for (int seed = 0; seed < SEEDS; seed++) {
        store_pool_item p[POOL];
        for (int i = 0; i < POOL; i++) {
            p[i] = (store_pool_item){.comment_ref = i, .seq = i};
            assert_int_equal(store_sample_key(seed, ids[i], &p[i].key, &e), 0);
        }
        job_options o = {.sampling = SAMPLING_RANDOM, .seed = seed, .max_comments_per_post = 1};
        size_t kept;
        assert_int_equal(store_select(p, POOL, &o, &kept, &e), 0);
        assert_int_equal(kept, 1);
        wins[p[0].comment_ref]++;
    }
    double chi = 0, expect = (double)SEEDS / POOL;
    for (int i = 0; i < POOL; i++) chi += (wins[i] - expect) * (wins[i] - expect) / expect;
    printf("# chi-square over %d seeds: %.2f\n", SEEDS, chi);
    assert_true(chi < 27.9);
}

static void test_options_round_trip(void **state) {
    (void)state;
    cerr e = {0};
    job_options o;
    store_options_default(&o);
    o.max_comments_per_post = 50;
    o.include_replies = true;
    o.sampling = SAMPLING_RANDOM;
    o.seed = SEED_MAX;
    o.sample_pool = 5000;
    o.max_replies_per_thread = 3;
    o.time_budget_s = 600;
    char *json = NULL;
    assert_int_equal(store_options_json(&o, &json, &e), 0);
    job_options back;
    assert_int_equal(store_options_parse(json, &back, &e), 0);
    free(json);
    assert_int_equal(back.sampling, SAMPLING_RANDOM);
    assert_true(back.seed == SEED_MAX);
    assert_int_equal(back.sample_pool, 5000);
    assert_int_equal(back.max_replies_per_thread, 3);
    assert_int_equal(back.time_budget_s, 600);
    assert_true(store_options_selected(&back));
    assert_int_equal(store_fetch_limit(&back), 5000);
    /* options stored before the policy existed read as the old behaviour */
    assert_int_equal(store_options_parse("{\"max_comments_per_post\":7,\"include_replies\":false}", &back, &e), 0);
    assert_int_equal(back.sampling, SAMPLING_FIRST);
    assert_false(store_options_selected(&back));
    assert_int_equal(store_fetch_limit(&back), 7);
    assert_int_equal(store_options_parse("{\"sampling\":\"best\"}", &back, &e), -1);
    /* a reply cap only selects when replies are on */
    job_options cap = {.max_replies_per_thread = 2};
    assert_false(store_options_selected(&cap));
    cap.include_replies = true;
    assert_true(store_options_selected(&cap));
    assert_int_equal(store_check_options(&cap, &e), -1); /* selecting without a pool */
    cap.sample_pool = 10;
    assert_int_equal(store_check_options(&cap, &e), 0);
    sampling s;
    assert_int_equal(sampling_from_name("newest", &s), 0);
    assert_int_equal(s, SAMPLING_NEWEST);
    assert_string_equal(sampling_name(SAMPLING_TOP), "top");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_newest_first),
        cmocka_unit_test(test_sample_key_vector),
        cmocka_unit_test(test_random_uniform),
        cmocka_unit_test(test_options_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
