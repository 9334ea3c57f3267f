/* test_source_settings.c - settings from the environment, and the registry's choice of source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sources/source.h"
#include "sources/instagram.h"
#include "sources/tiktok.h"
#include "sources/youtube.h"

static const char *const vars[] = {
    "YOUTUBE_API_KEY", "YOUTUBE_API_KEY_FILE", "TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET", "INSTAGRAM_ACCESS_TOKEN",
    "INSTAGRAM_ACCOUNT_ID", "APIFY_TOKEN", "APIFY_TOKEN_FILE", "CHATTER_YOUTUBE_API_URL", "CHATTER_TIKTOK_API_URL",
    "CHATTER_INSTAGRAM_API_URL", "CHATTER_APIFY_API_URL", "CHATTER_YOUTUBE_PROVIDER", "CHATTER_TIKTOK_PROVIDER",
    "CHATTER_INSTAGRAM_PROVIDER", "CHATTER_HTTP_TIMEOUT_MS", "CHATTER_HTTP_RETRIES",
};

static int clear_env(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
    return 0;
}

static void test_defaults(void **state) {
    (void)state;
    source_settings s;
    cerr e = {0};
    assert_int_equal(source_settings_defaults(&s, &e), 0);
    assert_string_equal(s.youtube_api_url, YOUTUBE_API_URL_DEFAULT);
    assert_string_equal(s.tiktok_api_url, "https://open.tiktokapis.com");
    assert_string_equal(s.instagram_api_url, "https://graph.facebook.com/v19.0");
    assert_string_equal(s.apify_api_url, "https://api.apify.com");
    assert_null(s.youtube_api_key);
    assert_null(s.apify_token);
    assert_string_equal(s.provider[PLATFORM_TIKTOK], "official");
    assert_int_equal(s.request_timeout_ms, 30000);
    assert_int_equal(s.max_retries, 4);
    assert_true(s.retry_base_ms > 0 && s.retry_max_ms >= s.retry_base_ms);
    assert_ptr_equal(source_for(&s, PLATFORM_YOUTUBE), &youtube_source_ops);
    assert_ptr_equal(source_for(&s, PLATFORM_TIKTOK), &tiktok_source_ops);
    assert_ptr_equal(source_for(&s, PLATFORM_INSTAGRAM), &instagram_source_ops);
    assert_null(source_for(&s, PLATFORM_NONE));
    assert_null(source_for(&s, PLATFORM_COUNT));
    assert_int_equal(youtube_source_ops.check_config(&s, PLATFORM_YOUTUBE, &e), -1);
    source_settings_free(&s);
}

static void test_from_env(void **state) {
    (void)state;
    char path[] = "/tmp/chatter-test-secret-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "apify-from-file\n", 16), 16);
    close(fd);
    setenv("YOUTUBE_API_KEY", "yt-key", 1);
    setenv("TIKTOK_CLIENT_KEY", "tk", 1);
    setenv("TIKTOK_CLIENT_SECRET", "ts", 1);
    setenv("INSTAGRAM_ACCESS_TOKEN", "it", 1);
    setenv("INSTAGRAM_ACCOUNT_ID", "1784", 1);
    setenv("APIFY_TOKEN_FILE", path, 1);
    setenv("CHATTER_YOUTUBE_API_URL", "http://127.0.0.1:9/youtube/v3//", 1);
    setenv("CHATTER_APIFY_API_URL", "http://127.0.0.1:9", 1);
    setenv("CHATTER_TIKTOK_PROVIDER", "Apify", 1);
    setenv("CHATTER_HTTP_TIMEOUT_MS", "1500", 1);
    setenv("CHATTER_HTTP_RETRIES", "0", 1);
    source_settings s;
    cerr e = {0};
    assert_int_equal(source_settings_defaults(&s, &e), 0);
    unlink(path);
    assert_string_equal(s.youtube_api_key, "yt-key");
    assert_string_equal(s.tiktok_client_key, "tk");
    assert_string_equal(s.tiktok_client_secret, "ts");
    assert_string_equal(s.instagram_access_token, "it");
    assert_string_equal(s.instagram_account_id, "1784");
    assert_string_equal(s.apify_token, "apify-from-file");
    assert_string_equal(s.youtube_api_url, "http://127.0.0.1:9/youtube/v3");
    assert_string_equal(s.apify_api_url, "http://127.0.0.1:9");
    assert_string_equal(s.provider[PLATFORM_TIKTOK], "apify");
    assert_string_equal(s.provider[PLATFORM_YOUTUBE], "official");
    assert_int_equal(s.request_timeout_ms, 1500);
    assert_int_equal(s.max_retries, 0);
    assert_int_equal(youtube_source_ops.check_config(&s, PLATFORM_YOUTUBE, &e), 0);
    /* a field the caller overwrites with its own string is not freed */
    s.tiktok_api_url = "http://caller-owned";
    source_settings_free(&s);
    assert_null(s.youtube_api_key);
    clear_env(NULL);
}

static void expect_bad(const char *name, const char *value, const char *part) {
    clear_env(NULL);
    setenv("YOUTUBE_API_KEY", "k", 1); /* allocated before the failure: must not leak (ASan) */
    setenv(name, value, 1);
    source_settings s;
    cerr e = {0};
    assert_int_equal(source_settings_defaults(&s, &e), -1);
    if (!strstr(e.msg, part)) fail_msg("%s=%s: '%s'", name, value, e.msg);
    clear_env(NULL);
}

static void test_bad_values(void **state) {
    (void)state;
    expect_bad("CHATTER_HTTP_RETRIES", "abc", "CHATTER_HTTP_RETRIES");
    expect_bad("CHATTER_HTTP_RETRIES", "-1", "CHATTER_HTTP_RETRIES");
    expect_bad("CHATTER_HTTP_TIMEOUT_MS", "5", "CHATTER_HTTP_TIMEOUT_MS");
    expect_bad("CHATTER_YOUTUBE_PROVIDER", "scraper", "official");
    expect_bad("CHATTER_YOUTUBE_API_URL", "ftp://x", "http(s)");
    expect_bad("APIFY_TOKEN_FILE", "/nonexistent/chatter-token", "APIFY_TOKEN_FILE");
}

static void test_provider_choice(void **state) {
    (void)state;
    source_settings s = {0};
    s.provider[PLATFORM_YOUTUBE] = "apify";
    assert_non_null(source_for(&s, PLATFORM_YOUTUBE));
    assert_string_equal(source_for(&s, PLATFORM_YOUTUBE)->name, "apify");
    s.provider[PLATFORM_YOUTUBE] = "scraper";
    assert_null(source_for(&s, PLATFORM_YOUTUBE)); /* an unknown provider serves nothing */
    s.provider[PLATFORM_YOUTUBE] = NULL;
    assert_ptr_equal(source_for(&s, PLATFORM_YOUTUBE), &youtube_source_ops);
    assert_ptr_equal(source_for(NULL, PLATFORM_YOUTUBE), &youtube_source_ops);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_from_env, clear_env),
        cmocka_unit_test_setup(test_bad_values, clear_env),
        cmocka_unit_test(test_provider_choice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
