/* test_tiktok.c - the TikTok Research API source against tests/fakes/fake_tiktok.py: token caching and
 * refresh, cursor paging, limits, replies, every error path, duplicates, 64-bit ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>

#include "core/util.h"
#include "fake_server.h"
#include "sources/tiktok.h"

#define NORMAL "7106594312292453675"
#define VIDEO(k) "70000000000000000" k

static fake_server fake;

typedef struct fixture {
    source_settings s;
    tiktok_client *client;
    collected got;
    fetch_outcome out;
    cerr e;
} fixture;

static int group_setup(void **state) {
    (void)state;
    cerr e = {0};
    if (http_global_init(&e)) return -1;
    return fake_start(&fake, "fake_tiktok.py", NULL);
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
    f->s.tiktok_api_url = fake.base;
    f->s.tiktok_client_key = "test-key";
    f->s.tiktok_client_secret = "test-secret";
    f->client = tiktok_client_new();
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    collected_free(&f->got);
    tiktok_client_free(f->client);
    free(f);
    return 0;
}

static int run(fixture *f, const char *video, int64_t max, bool replies) {
    collected_free(&f->got);
    fetch_request req = {.platform = PLATFORM_TIKTOK, .post_id = video, .max_comments = max,
                         .include_replies = replies, .ctx = f->client};
    return tiktok_source_ops.fetch(&f->s, &req, collect_sink, &f->got, &f->out, &f->e);
}

static void test_all_top_level(void **state) {
    fixture *f = *state;
    long before = fake_stat(&fake, "list", NORMAL);
    assert_int_equal(run(f, NORMAL, 0, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 230);
    assert_int_equal(f->out.delivered, 230);
    assert_true(collected_unique(&f->got));
    assert_int_equal(collected_replies(&f->got), 0);
    assert_int_equal(fake_stat(&fake, "list", NORMAL) - before, 3); /* 100 + 100 + 30 */
    /* ids above 2^53 arrive exactly: 7386190478574388011 + 1000003*i */
    char want[32];
    for (size_t i = 0; i < f->got.n; i++) {
        snprintf(want, sizeof want, "%llu", 7386190478574388011ull + 1000003ull * i);
        assert_string_equal(f->got.recs[i].id, want);
    }
    assert_string_equal(f->got.recs[0].published, "2024-06-30T07:12:04Z"); /* create_time 1719731524 */
    assert_null(f->got.recs[0].parent);
    assert_true(f->got.recs[0].likes >= 0);
    assert_int_equal(f->out.expected_count, -1);
}

static void test_replies_and_parents(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, NORMAL, 0, true), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 230 + 23 * 3);
    assert_int_equal(collected_replies(&f->got), 69);
    assert_true(collected_unique(&f->got));
    /* comment 3 has replies 7400000000000000031..33, parented on 7386190478574388011 + 3*1000003 */
    const got_rec *r = collected_find(&f->got, "7400000000000000032");
    assert_non_null(r);
    assert_string_equal(r->parent, "7386190478577388020");
    /* replies follow their page: the first reply comes after the 100 comments of page one */
    assert_string_equal(f->got.recs[100].id, "7400000000000000031");
}

static void test_limit(void **state) {
    fixture *f = *state;
    long before = fake_stat(&fake, "list", NORMAL);
    assert_int_equal(run(f, NORMAL, 30, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 30);
    assert_int_equal(fake_stat(&fake, "list", NORMAL) - before, 1); /* asked for 30, not 100 */
    assert_int_equal(run(f, NORMAL, 150, false), 0);
    assert_int_equal(f->got.n, 150);
    assert_int_equal(run(f, NORMAL, 102, true), 0); /* replies count toward the limit */
    assert_int_equal(f->got.n, 102);
    assert_int_equal(collected_replies(&f->got), 2);
}

static void test_token_cached_and_shared(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, NORMAL, 10, false), 0);
    assert_int_equal(run(f, NORMAL, 10, false), 0);
    assert_int_equal(tiktok_client_tokens_fetched(f->client), 1);
}

typedef struct thread_arg {
    fixture *f;
    int rc;
    fetch_outcome out;
    size_t n;
} thread_arg;

static void *fetch_thread(void *p) {
    thread_arg *a = p;
    collected got = {0};
    cerr e = {0};
    fetch_request req = {.platform = PLATFORM_TIKTOK, .post_id = NORMAL, .max_comments = 120, .ctx = a->f->client};
    a->rc = tiktok_source_ops.fetch(&a->f->s, &req, collect_sink, &got, &a->out, &e);
    a->n = got.n;
    collected_free(&got);
    return NULL;
}

static void test_threads_share_one_token(void **state) {
    fixture *f = *state;
    long tokens_before = fake_stat(&fake, "token", "total");
    pthread_t t[4];
    thread_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (thread_arg){.f = f};
        assert_int_equal(pthread_create(&t[i], NULL, fetch_thread, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].rc, 0);
        assert_int_equal(a[i].out.status, FETCH_OK);
        assert_int_equal(a[i].n, 120);
    }
    assert_int_equal(fake_stat(&fake, "token", "total") - tokens_before, 1);
}

static void test_token_refreshed_before_expiry(void **state) {
    fixture *f = *state;
    fake_server shortlived;
    const char *args[] = {"--token-ttl", "1", NULL};
    assert_int_equal(fake_start(&shortlived, "fake_tiktok.py", args), 0);
    f->s.tiktok_api_url = shortlived.base;
    assert_int_equal(run(f, NORMAL, 5, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    sleep_ms(800); /* past the refresh point (a quarter of the lifetime early), before the expiry */
    assert_int_equal(run(f, NORMAL, 5, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(tiktok_client_tokens_fetched(f->client), 2);
    assert_int_equal(fake_stat(&shortlived, "list", "unauthorized"), 0);
    fake_stop(&shortlived);
}

static void test_401_refreshes_once(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, VIDEO("03"), 0, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 20);
    assert_int_equal(tiktok_client_tokens_fetched(f->client), 2);
}

static void test_without_ctx_still_works(void **state) {
    fixture *f = *state;
    collected got = {0};
    fetch_request req = {.platform = PLATFORM_TIKTOK, .post_id = NORMAL, .max_comments = 5};
    assert_int_equal(tiktok_source_ops.fetch(&f->s, &req, collect_sink, &got, &f->out, &f->e), 0);
    assert_int_equal(got.n, 5);
    collected_free(&got);
}

static void test_429_retried_after_retry_after(void **state) {
    fixture *f = *state;
    int64_t t0 = now_ms();
    assert_int_equal(run(f, VIDEO("04"), 0, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 20);
    assert_true(now_ms() - t0 >= 900); /* Retry-After: 1 honoured */
    assert_int_equal(fake_stat(&fake, "list", VIDEO("04")), 2);
}

static void test_500_retried(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, VIDEO("05"), 0, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 20);
    assert_int_equal(fake_stat(&fake, "list", VIDEO("05")), 3);
}

static void test_500_forever_is_retry(void **state) {
    fixture *f = *state;
    f->s.max_retries = 2;
    assert_int_equal(run(f, VIDEO("09"), 0, false), 0);
    assert_int_equal(f->out.status, FETCH_RETRY);
    assert_non_null(strstr(f->out.reason, "internal error"));
    assert_int_equal(fake_stat(&fake, "list", VIDEO("09")), 3);
}

/* A 429 that outlasts the retries is the daily quota: the whole source waits for 00:00 UTC. */
static void test_quota_until_utc_midnight(void **state) {
    fixture *f = *state;
    f->s.max_retries = 2;
    int64_t before = now_unix();
    assert_int_equal(run(f, VIDEO("12"), 0, false), 0);
    int64_t after = now_unix();
    assert_int_equal(f->out.status, FETCH_RETRY);
    assert_true(f->out.quota);
    assert_non_null(strstr(f->out.reason, "quota"));
    assert_int_equal(fake_stat(&fake, "list", VIDEO("12")), 3); /* the in-request retries came first */
    int64_t midnight = (after / 86400 + 1) * 86400;
    int64_t until = before + f->out.retry_after_ms / 1000;
    assert_true(f->out.retry_after_ms > 0 && f->out.retry_after_ms <= 86400 * 1000);
    assert_true(until >= midnight - (after - before) - 1 && until <= midnight);
    assert_int_equal(f->got.n, 0);
}

static void test_quota_honours_retry_after(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, VIDEO("13"), 0, false), 0);
    assert_int_equal(f->out.status, FETCH_RETRY);
    assert_true(f->out.quota);
    assert_int_equal(f->out.retry_after_ms, 120000);
    /* 120 s is more than retry_max_ms: no in-request wait, one call */
    assert_int_equal(fake_stat(&fake, "list", VIDEO("13")), 1);
}

static void test_quota_named_in_error(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, VIDEO("14"), 0, false), 0);
    assert_int_equal(f->out.status, FETCH_RETRY);
    assert_true(f->out.quota);
    assert_non_null(strstr(f->out.reason, "daily_quota_limit_exceeded"));
    int64_t now = now_unix();
    assert_true(f->out.retry_after_ms / 1000 <= tiktok_quota_reset_unix(now) - now + 1);
    assert_true(f->out.retry_after_ms > 0);
}

static void test_quota_reset_time(void **state) {
    (void)state;
    assert_int_equal(tiktok_quota_reset_unix(1719731524), 1719792000); /* 2024-06-30T07:12:04Z -> 07-01 */
    assert_int_equal(tiktok_quota_reset_unix(1719792000), 1719792000 + 86400); /* exactly midnight: next */
    assert_int_equal(tiktok_quota_reset_unix(1719791999), 1719792000);
}

/* transient errors that are not the quota never set the flag */
static void test_transient_is_not_quota(void **state) {
    fixture *f = *state;
    f->s.max_retries = 1;
    assert_int_equal(run(f, VIDEO("09"), 0, false), 0);
    assert_int_equal(f->out.status, FETCH_RETRY);
    assert_false(f->out.quota);
}

static void test_not_disclosed(void **state) {
    fixture *f = *state;
    const char *videos[] = {VIDEO("06"), VIDEO("07")}; /* 400 invalid_params and 403 forms */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(run(f, videos[i], 0, false), 0);
        assert_int_equal(f->out.status, FETCH_FAILED);
        assert_non_null(strstr(f->out.reason, "disclosed"));
        assert_int_equal(f->got.n, 0);
    }
}

static void test_invalid_params(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, VIDEO("08"), 0, false), 0);
    assert_int_equal(f->out.status, FETCH_FAILED);
    assert_non_null(strstr(f->out.reason, "video_id does not exist"));
    assert_int_equal(run(f, "12ab", 0, false), 0);
    assert_int_equal(f->out.status, FETCH_FAILED);
}

static void test_empty(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, VIDEO("01"), 0, true), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 0);
}

static void test_duplicates_across_pages(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, VIDEO("02"), 0, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 150); /* 151 items came, the repeated one was dropped */
    assert_true(collected_unique(&f->got));
    assert_int_equal(fake_stat(&fake, "list", VIDEO("02")), 2);
}

static void test_repeated_cursor_stops(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, VIDEO("10"), 0, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 10);
    assert_non_null(strstr(f->out.reason, "cursor"));
    assert_int_equal(fake_stat(&fake, "list", VIDEO("10")), 1); /* the first page already repeats cursor 0 */
}

static void test_thousand_comment_cap(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, VIDEO("11"), 0, false), 0); /* no cap on the main fake: all 1100 */
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 1100);
    fake_server capped;
    const char *args[] = {"--cursor-cap", "1000", NULL};
    assert_int_equal(fake_start(&capped, "fake_tiktok.py", args), 0);
    f->s.tiktok_api_url = capped.base;
    tiktok_client_free(f->client);
    f->client = tiktok_client_new();
    assert_int_equal(run(f, VIDEO("11"), 0, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 1000);
    assert_non_null(strstr(f->out.reason, "first 1000"));
    assert_int_equal(run(f, VIDEO("08"), 0, false), 0); /* invalid_params on page one is still a failure */
    assert_int_equal(f->out.status, FETCH_FAILED);
    fake_stop(&capped);
}

static void test_bad_credentials(void **state) {
    fixture *f = *state;
    f->s.tiktok_client_secret = "wrong-secret-XYZ";
    assert_int_equal(run(f, NORMAL, 0, false), 0);
    assert_int_equal(f->out.status, FETCH_FAILED);
    assert_non_null(strstr(f->out.reason, "client credentials"));
    assert_null(strstr(f->out.reason, "XYZ"));
    assert_int_equal(f->got.n, 0);
}

static void test_unreachable_is_retry(void **state) {
    fixture *f = *state;
    f->s.tiktok_api_url = "http://127.0.0.1:1";
    f->s.max_retries = 1;
    assert_int_equal(run(f, NORMAL, 0, false), 0);
    assert_int_equal(f->out.status, FETCH_RETRY);
}

static void test_slow_server_times_out(void **state) {
    fixture *f = *state;
    fake_server slow;
    const char *args[] = {"--delay-ms", "400", NULL};
    assert_int_equal(fake_start(&slow, "fake_tiktok.py", args), 0);
    f->s.tiktok_api_url = slow.base;
    f->s.request_timeout_ms = 150;
    f->s.max_retries = 1;
    int64_t t0 = now_ms();
    assert_int_equal(run(f, NORMAL, 0, false), 0);
    assert_int_equal(f->out.status, FETCH_RETRY); /* the token request timed out twice */
    assert_true(now_ms() - t0 < 3000);
    f->s.request_timeout_ms = 3000; /* slow but within the timeout: fine */
    assert_int_equal(run(f, NORMAL, 5, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 5);
    fake_stop(&slow);
}

static void test_deadline_passed(void **state) {
    fixture *f = *state;
    fetch_request req = {.platform = PLATFORM_TIKTOK, .post_id = NORMAL, .ctx = f->client,
                         .deadline_ms = now_ms() - 1};
    assert_int_equal(tiktok_source_ops.fetch(&f->s, &req, collect_sink, &f->got, &f->out, &f->e), 0);
    assert_int_equal(f->out.status, FETCH_RETRY);
    assert_int_equal(f->got.n, 0);
}

static void test_sink_abort(void **state) {
    fixture *f = *state;
    f->got.abort_after = 1;
    fetch_request req = {.platform = PLATFORM_TIKTOK, .post_id = NORMAL, .ctx = f->client};
    assert_int_equal(tiktok_source_ops.fetch(&f->s, &req, collect_sink, &f->got, &f->out, &f->e), -1);
    assert_int_equal(f->got.pages, 1);
}

static void test_check_config(void **state) {
    fixture *f = *state;
    assert_int_equal(tiktok_source_ops.check_config(&f->s, PLATFORM_TIKTOK, &f->e), 0);
    f->s.tiktok_client_secret = NULL;
    assert_int_equal(tiktok_source_ops.check_config(&f->s, PLATFORM_TIKTOK, &f->e), -1);
    assert_non_null(strstr(f->e.msg, "TIKTOK_CLIENT_SECRET"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_all_top_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replies_and_parents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_cached_and_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_share_one_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_refreshed_before_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_401_refreshes_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_ctx_still_works, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_retried_after_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_500_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_500_forever_is_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_until_utc_midnight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_honours_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_named_in_error, setup, teardown),
        cmocka_unit_test(test_quota_reset_time),
        cmocka_unit_test_setup_teardown(test_transient_is_not_quota, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_disclosed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_across_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeated_cursor_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thousand_comment_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_is_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_server_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_passed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sink_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_config, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
