/* test_instagram.c - the Instagram Graph API source against tests/fakes/fake_instagram.py: shortcode ->
 * media id through the account listing (cached, shared by threads), comment and reply paging, limits,
 * Graph error codes, duplicates, 64-bit string ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>

#include "core/util.h"
#include "fake_server.h"
#include "sources/instagram.h"

#define MEDIA_ID(slot) (17900000000000001ull + 7ull * (slot))

static fake_server fake;

typedef struct fixture {
    source_settings s;
    instagram_client *client;
    collected got;
    fetch_outcome out;
    cerr e;
    char base[96];
} fixture;

static int group_setup(void **state) {
    (void)state;
    cerr e = {0};
    if (http_global_init(&e)) return -1;
    return fake_start(&fake, "fake_instagram.py", NULL);
}

static int group_teardown(void **state) {
    (void)state;
    fake_stop(&fake);
    http_global_cleanup();
    return 0;
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    test_settings(&f->s);
    snprintf(f->base, sizeof f->base, "%s/v19.0", fake.base);
    f->s.instagram_api_url = f->base;
    f->s.instagram_access_token = "test-ig-token";
    f->s.instagram_account_id = "17841400000000001";
    f->client = instagram_client_new();
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    collected_free(&f->got);
    instagram_client_free(f->client);
    free(f);
    return 0;
}

static int run(fixture *f, const char *sc, int64_t max, bool replies) {
    collected_free(&f->got);
    fetch_request req = {.platform = PLATFORM_INSTAGRAM, .post_id = sc, .max_comments = max,
                         .include_replies = replies, .ctx = f->client};
    return instagram_source_ops.fetch(&f->s, &req, collect_sink, &f->got, &f->out, &f->e);
}

static long comment_calls(unsigned slot) {
    char key[32];
    snprintf(key, sizeof key, "%llu", MEDIA_ID(slot));
    return fake_stat(&fake, "comments", key);
}

static void test_comments_paged(void **state) {
    fixture *f = *state;
    long before = comment_calls(50);
    assert_int_equal(run(f, "CNormal0001", 0, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 120);
    assert_int_equal(f->out.delivered, 120);
    assert_int_equal(f->out.expected_count, -1); /* not comparable without replies */
    assert_int_equal(comment_calls(50) - before, 3); /* 50 + 50 + 20 */
    assert_true(collected_unique(&f->got));
    assert_int_equal(collected_replies(&f->got), 0);
    char want[32];
    for (size_t i = 0; i < f->got.n; i++) {
        snprintf(want, sizeof want, "%llu", 17873440459141021ull + 13ull * i);
        assert_string_equal(f->got.recs[i].id, want);
    }
    assert_string_equal(f->got.recs[0].published, "2017-08-31T18:00:30Z"); /* +0000 -> Z */
    assert_string_equal(f->got.recs[1].published, "2017-08-31T18:01:30Z");
    assert_non_null(f->got.recs[0].author);
    assert_true(f->got.recs[0].likes >= 0);
}

static void test_replies_nested_and_edge(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, "CNormal0001", 0, true), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 120 + 18 * 5); /* comments 0, 7, ..., 119 have 5 replies each */
    assert_int_equal(collected_replies(&f->got), 90);
    assert_int_equal(f->out.expected_count, 210); /* comments_count counts replies too */
    assert_true(collected_unique(&f->got));
    /* replies 4 and 5 of comment 7 come from the /replies edge, after the 3 of the field expansion */
    const got_rec *r = collected_find(&f->got, "17990000000000075");
    assert_non_null(r);
    assert_string_equal(r->parent, "17873440459141112");
    assert_string_equal(f->got.recs[1].id, "17990000000000001"); /* right after its parent */
    assert_int_equal(fake_stat(&fake, "replies", "17873440459141112"), 1);
}

static void test_limit(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, "CNormal0001", 60, true), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 60);
    assert_int_equal(run(f, "CNormal0001", 7, false), 0);
    assert_int_equal(f->got.n, 7);
}

static void test_listing_cached(void **state) {
    fixture *f = *state;
    long pages = fake_stat(&fake, "media", "pages");
    assert_int_equal(run(f, "CNormal0001", 5, false), 0);
    assert_int_equal(run(f, "CEmpty00001", 5, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 0);
    assert_int_equal(instagram_client_listings(f->client), 1);
    assert_int_equal(fake_stat(&fake, "media", "pages") - pages, 3); /* 60 media, 25 a page */
}

static void test_not_owned(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, "CNormal0001", 1, false), 0);
    assert_int_equal(run(f, "CNotMine001", 0, false), 0);
    assert_int_equal(f->out.status, FETCH_FAILED);
    assert_non_null(strstr(f->out.reason, "not owned by the configured Instagram account"));
    assert_int_equal(instagram_client_listings(f->client), 1); /* listed within the minute: not again */
}

static void test_permalink_only(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, "CReelOnly01", 0, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 10);
}

static void test_throttled_then_ok(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, "CThrottle01", 0, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 10);
    assert_int_equal(comment_calls(10), 2);
}

/* Throttling pauses the source: the wait is the usage headers' estimate, in minutes, without retries. */
static void test_throttle_buc_estimate(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, "CQuotaBuc01", 0, false), 0);
    assert_int_equal(f->out.status, FETCH_RETRY);
    assert_true(f->out.quota);
    assert_int_equal(f->out.retry_after_ms, 17 * 60 * 1000);
    assert_non_null(strstr(f->out.reason, "code 4"));
    assert_int_equal(comment_calls(5), 1);
    assert_int_equal(f->got.n, 0);
}

static void test_throttle_app_usage_estimate(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, "CQuotaApp01", 0, false), 0);
    assert_int_equal(f->out.status, FETCH_RETRY);
    assert_true(f->out.quota);
    assert_int_equal(f->out.retry_after_ms, 5 * 60 * 1000);
    assert_int_equal(comment_calls(8), 1);
}

/* no estimate: the usual in-request retries first, then an hour */
static void test_throttle_without_headers(void **state) {
    fixture *f = *state;
    f->s.max_retries = 2;
    assert_int_equal(run(f, "CQuota80002", 0, false), 0);
    assert_int_equal(f->out.status, FETCH_RETRY);
    assert_true(f->out.quota);
    assert_int_equal(f->out.retry_after_ms, 60 * 60 * 1000);
    assert_non_null(strstr(f->out.reason, "code 80002"));
    assert_int_equal(comment_calls(12), 3);
}

static void test_regain_minutes(void **state) {
    (void)state;
    assert_int_equal(instagram_regain_minutes(NULL, NULL), -1);
    assert_int_equal(instagram_regain_minutes("", "{\"call_count\":100}"), -1);
    assert_int_equal(instagram_regain_minutes("{\"1\":[{\"estimated_time_to_regain_access\":3},"
                                              "{\"estimated_time_to_regain_access\":9}],"
                                              "\"2\":[{\"estimated_time_to_regain_access\":4}]}",
                                              "{\"estimated_time_to_regain_access\":7}"),
                     9);
    assert_int_equal(instagram_regain_minutes("not json", "{\"estimated_time_to_regain_access\":7}"), 7);
    assert_int_equal(instagram_regain_minutes("{\"1\":[{\"estimated_time_to_regain_access\":99999999}]}", NULL),
                     7 * 24 * 60);
}

static void test_transient_then_ok(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, "CTransient1", 0, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 10);
    assert_int_equal(comment_calls(17), 3);
}

static void test_gone(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, "CGone000001", 0, false), 0);
    assert_int_equal(f->out.status, FETCH_FAILED);
    assert_non_null(strstr(f->out.reason, "code 100"));
}

static void test_token_expired(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, "CExpired001", 0, false), 0);
    assert_int_equal(f->out.status, FETCH_FAILED);
    assert_string_equal(f->out.reason, "Instagram access token is invalid or expired");
}

static void test_bad_token(void **state) {
    fixture *f = *state;
    f->s.instagram_access_token = "wrong-token-SECRET";
    assert_int_equal(run(f, "CNormal0001", 0, false), 0);
    assert_int_equal(f->out.status, FETCH_FAILED);
    assert_string_equal(f->out.reason, "Instagram access token is invalid or expired");
    assert_int_equal(instagram_client_listings(f->client), 0);
}

static void test_duplicates_across_pages(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, "CDupPages01", 0, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 60); /* 61 items came; the repeated one was dropped */
    assert_true(collected_unique(&f->got));
}

static void test_repeated_cursor(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, "CRepeat0001", 0, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 10);
    assert_non_null(strstr(f->out.reason, "cursor"));
    assert_int_equal(comment_calls(41), 2);
}

typedef struct thread_arg {
    fixture *f;
    const char *sc;
    int rc;
    fetch_outcome out;
    size_t n;
} thread_arg;

static void *fetch_thread(void *p) {
    thread_arg *a = p;
    collected got = {0};
    cerr e = {0};
    fetch_request req = {.platform = PLATFORM_INSTAGRAM, .post_id = a->sc, .ctx = a->f->client};
    a->rc = instagram_source_ops.fetch(&a->f->s, &req, collect_sink, &got, &a->out, &e);
    a->n = got.n;
    collected_free(&got);
    return NULL;
}

static void test_threads_share_listing(void **state) {
    fixture *f = *state;
    const char *codes[4] = {"CNormal0001", "CReelOnly01", "C0000000000", "CEmpty00001"};
    const size_t want[4] = {120, 10, 2, 0};
    pthread_t t[4];
    thread_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (thread_arg){.f = f, .sc = codes[i]};
        assert_int_equal(pthread_create(&t[i], NULL, fetch_thread, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].rc, 0);
        assert_int_equal(a[i].out.status, FETCH_OK);
        assert_int_equal(a[i].n, want[i]);
    }
    assert_int_equal(instagram_client_listings(f->client), 1);
}

static void test_check_config(void **state) {
    fixture *f = *state;
    assert_int_equal(instagram_source_ops.check_config(&f->s, PLATFORM_INSTAGRAM, &f->e), 0);
    f->s.instagram_account_id = "";
    assert_int_equal(instagram_source_ops.check_config(&f->s, PLATFORM_INSTAGRAM, &f->e), -1);
    assert_non_null(strstr(f->e.msg, "INSTAGRAM_ACCOUNT_ID"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_comments_paged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replies_nested_and_edge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listing_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_owned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permalink_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttled_then_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle_buc_estimate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle_app_usage_estimate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle_without_headers, setup, teardown),
        cmocka_unit_test(test_regain_minutes),
        cmocka_unit_test_setup_teardown(test_transient_then_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_across_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeated_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_share_listing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_config, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
