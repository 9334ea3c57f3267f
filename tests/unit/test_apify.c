/* test_apify.c - the Apify provider against tests/fakes/fake_apify.py: async runs polled to the end,
 * dataset paging, each actor's fields mapped, failures/timeouts/empty datasets, deadline abort. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/util.h"
#include "fake_server.h"
#include "sources/apify.h"

#define TT_URL(id) "https://www.tiktok.com/@u/video/" id
#define IG_URL(sc) "https://www.instagram.com/p/" sc "/"
#define YT_URL(id) "https://www.youtube.com/watch?v=" id

static fake_server fake;

typedef struct fixture {
    source_settings s;
    collected got;
    fetch_outcome out;
    cerr e;
} fixture;

static int group_setup(void **state) {
    (void)state;
    cerr e = {0};
    if (http_global_init(&e)) return -1;
    const char *args[] = {"--dataset-page", "40", "--polls", "3", NULL};
    return fake_start(&fake, "fake_apify.py", args);
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
    f->s.apify_api_url = fake.base;
    f->s.apify_token = "test-apify-token";
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    collected_free(&f->got);
    free(f);
    return 0;
}

static int run_dl(fixture *f, platform p, const char *id, const char *url, int64_t max, bool replies,
                  int64_t deadline) {
    collected_free(&f->got);
    fetch_request req = {.platform = p, .post_id = id, .canonical_url = url, .max_comments = max,
                         .include_replies = replies, .deadline_ms = deadline};
    return apify_source_ops.fetch(&f->s, &req, collect_sink, &f->got, &f->out, &f->e);
}

static int run(fixture *f, platform p, const char *id, const char *url, int64_t max, bool replies) {
    return run_dl(f, p, id, url, max, replies, 0);
}

static void test_tiktok_actor(void **state) {
    fixture *f = *state;
    long runs = fake_stat(&fake, "runs", "clockworks~tiktok-comments-scraper");
    assert_int_equal(run(f, PLATFORM_TIKTOK, "7106594312292453675", TT_URL("7106594312292453675"), 0, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 130); /* 131 items: comment 5 is in the dataset twice */
    assert_true(collected_unique(&f->got));
    assert_int_equal(collected_replies(&f->got), 0);
    assert_int_equal(fake_stat(&fake, "runs", "clockworks~tiktok-comments-scraper") - runs, 1);
    char want[32];
    for (size_t i = 0; i < f->got.n; i++) {
        snprintf(want, sizeof want, "%llu", 7390000000000000001ull + 1000003ull * i);
        assert_string_equal(f->got.recs[i].id, want);
    }
    assert_string_equal(f->got.recs[0].published, "2024-06-30T07:12:04Z");
    assert_string_equal(f->got.recs[0].author, "tt_user_0");
    assert_true(f->got.recs[0].likes >= 0);
}

static void test_tiktok_replies_and_paging(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, PLATFORM_TIKTOK, "7106594312292453675", TT_URL("7106594312292453675"), 0, true), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 130 + 13 * 2);
    assert_int_equal(collected_replies(&f->got), 26);
    const got_rec *r = collected_find(&f->got, "7391000000000000101");
    assert_non_null(r);
    assert_string_equal(r->parent, "7390000000010000031"); /* comment 10 */
    /* 157 items at 40 a page: the dataset was read in 4 requests */
    json_t *st = fake_get_json(&fake, "/_stats");
    json_t *items = json_object_get(st, "items");
    const char *k;
    json_t *v;
    long max_pages = 0;
    json_object_foreach(items, k, v) if (json_integer_value(v) > max_pages) max_pages = (long)json_integer_value(v);
    json_decref(st);
    assert_int_equal(max_pages, 4);
}

static void test_limit(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, PLATFORM_TIKTOK, "7106594312292453675", TT_URL("7106594312292453675"), 50, true), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 50);
}

static void test_instagram_actor(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, PLATFORM_INSTAGRAM, "CDUMkliABpa", IG_URL("CDUMkliABpa"), 0, true), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 130 + 13 * 2);
    assert_int_equal(collected_replies(&f->got), 26);
    assert_string_equal(f->got.recs[0].id, "17950000000000001");
    assert_string_equal(f->got.recs[0].published, "2024-01-01T10:00:00Z");
    assert_string_equal(f->got.recs[1].parent, "17950000000000001");
    const got_rec *r = collected_find(&f->got, "17950000000000034"); /* item 3: owner.username form */
    assert_non_null(r);
    assert_string_equal(r->author, "ig_owner_3");
    assert_int_equal(run(f, PLATFORM_INSTAGRAM, "CDUMkliABpa", IG_URL("CDUMkliABpa"), 0, false), 0);
    assert_int_equal(f->got.n, 130);
}

static void test_youtube_actor(void **state) {
    fixture *f = *state;
    assert_int_equal(run(f, PLATFORM_YOUTUBE, "dQw4w9WgXcQ", YT_URL("dQw4w9WgXcQ"), 0, false), 0);
    assert_int_equal(f->out.status, FETCH_OK);
    assert_int_equal(f->got.n, 130);
    assert_null(f->got.recs[0].published); /* "3 years ago" is not a timestamp */
    assert_int_equal(f->got.recs[3].likes, 3);
    assert_int_equal(f->got.recs[4].likes, 1200); /* "1.2K" */
    assert_int_equal(f->got.recs[5].likes, 15);   /* "15" */
    assert_string_equal(f->got.recs[0].author, "@yt_user_0");
}

static void test_run_outcomes(void **state) {
    fixture *f = *state;
    static const struct {
        platform p;
        const char *id, *url, *want;
    } cases[] = {
        {PLATFORM_TIKTOK, "7000000000000000021", TT_URL("7000000000000000021"), "failed: Actor crashed"},
        {PLATFORM_INSTAGRAM, "CApifyTime1", IG_URL("CApifyTime1"), "timed out"},
        {PLATFORM_YOUTUBE, "apifyEmpty1", YT_URL("apifyEmpty1"), "no comments"},
        {PLATFORM_TIKTOK, "7000000000000000024", TT_URL("7000000000000000024"), "aborted"},
        {PLATFORM_INSTAGRAM, "CApifyErr01", IG_URL("CApifyErr01"), "Post is private or unavailable"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(run(f, cases[i].p, cases[i].id, cases[i].url, 0, false), 0);
        assert_int_equal(f->out.status, FETCH_FAILED);
        if (!strstr(f->out.reason, cases[i].want))
            fail_msg("%s: reason '%s', want '%s'", cases[i].id, f->out.reason, cases[i].want);
        assert_false(f->out.quota);
        assert_int_equal(f->got.n, 0);
    }
}

/* Account limits end the fetch with quota set: the pipeline then pauses the "apify" limiter key. */
static void test_account_limits_are_quota(void **state) {
    fixture *f = *state;
    static const struct {
        platform p;
        const char *id, *url, *want;
        int64_t wait_ms;
    } cases[] = {
        {PLATFORM_YOUTUBE, "apifyQuota1", YT_URL("apifyQuota1"), "usage limit reached", 3600000},
        {PLATFORM_INSTAGRAM, "CApifyFeat1", IG_URL("CApifyFeat1"), "platform-feature-disabled", 3600000},
        {PLATFORM_TIKTOK, "7000000000000000031", TT_URL("7000000000000000031"), "memory limit", 120000},
        {PLATFORM_TIKTOK, "7000000000000000030", TT_URL("7000000000000000030"), "HTTP 429", 300000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(run(f, cases[i].p, cases[i].id, cases[i].url, 0, false), 0);
        assert_int_equal(f->out.status, FETCH_RETRY);
        if (!strstr(f->out.reason, cases[i].want))
            fail_msg("%s: reason '%s', want '%s'", cases[i].id, f->out.reason, cases[i].want);
        assert_true(f->out.quota);
        assert_int_equal(f->out.retry_after_ms, cases[i].wait_ms);
        assert_int_equal(f->got.n, 0);
    }
    /* Retry-After: 300 is beyond retry_max_ms, so no in-request wait */
    assert_int_equal(fake_stat(&fake, "refused", "7000000000000000030"), 1);
}

/* a 429 that outlasts the in-request retries pauses Apify for a minute */
static void test_429_past_retries_is_quota(void **state) {
    fixture *f = *state;
    f->s.max_retries = 2;
    assert_int_equal(run(f, PLATFORM_YOUTUBE, "apifyRate01", YT_URL("apifyRate01"), 0, false), 0);
    assert_int_equal(f->out.status, FETCH_RETRY);
    assert_true(f->out.quota);
    assert_int_equal(f->out.retry_after_ms, 60000);
    assert_int_equal(fake_stat(&fake, "refused", "apifyRate01"), 3);
}

static void test_deadline_aborts_run(void **state) {
    fixture *f = *state;
    int64_t t0 = now_ms();
    assert_int_equal(run_dl(f, PLATFORM_TIKTOK, "7000000000000000025", TT_URL("7000000000000000025"), 0, false,
                            t0 + 1200), 0);
    assert_int_equal(f->out.status, FETCH_RETRY);
    if (!strstr(f->out.reason, "time budget")) fail_msg("reason: %s", f->out.reason);
    assert_true(now_ms() - t0 < 5000);
    json_t *st = fake_get_json(&fake, "/_stats");
    assert_int_equal(json_object_size(json_object_get(st, "aborts")), 1);
    json_decref(st);
}

static void test_bad_token(void **state) {
    fixture *f = *state;
    f->s.apify_token = "wrong-SECRET";
    assert_int_equal(run(f, PLATFORM_TIKTOK, "7106594312292453675", TT_URL("7106594312292453675"), 0, false), 0);
    assert_int_equal(f->out.status, FETCH_FAILED);
    assert_non_null(strstr(f->out.reason, "rejected the API token"));
    assert_null(strstr(f->out.reason, "SECRET"));
}

static void test_unreachable(void **state) {
    fixture *f = *state;
    f->s.apify_api_url = "http://127.0.0.1:1";
    f->s.max_retries = 1;
    assert_int_equal(run(f, PLATFORM_TIKTOK, "7106594312292453675", TT_URL("7106594312292453675"), 0, false), 0);
    assert_int_equal(f->out.status, FETCH_RETRY);
}

static void test_config_and_registry(void **state) {
    fixture *f = *state;
    assert_int_equal(apify_source_ops.check_config(&f->s, PLATFORM_INSTAGRAM, &f->e), 0);
    assert_int_equal(apify_source_ops.check_config(&f->s, PLATFORM_NONE, &f->e), -1);
    f->s.apify_token = NULL;
    assert_int_equal(apify_source_ops.check_config(&f->s, PLATFORM_TIKTOK, &f->e), -1);
    assert_non_null(strstr(f->e.msg, "APIFY_TOKEN"));
    f->s.provider[PLATFORM_TIKTOK] = "apify";
    assert_ptr_equal(source_for(&f->s, PLATFORM_TIKTOK), &apify_source_ops);
    assert_string_equal(source_for(&f->s, PLATFORM_INSTAGRAM)->name, "instagram");
    assert_string_equal(apify_actor_for(PLATFORM_YOUTUBE), "streamers~youtube-comments-scraper");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tiktok_actor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tiktok_replies_and_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instagram_actor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_youtube_actor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_outcomes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_limits_are_quota, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_past_retries_is_quota, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_aborts_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_and_registry, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
