/* test_resolve.c - TikTok short links resolved hop by hop against fake_tiktok.py's redirector. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fake_server.h"
#include "sources/resolve.h"

#define CANON "https://www.tiktok.com/@fake.user/video/7106594312292453675"

static fake_server fake;

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

/* Parses link, resolves it through the fake; returns resolve's rc. */
static int resolve(const char *link, post_url *out, cerr *e) {
    post_url in;
    if (url_parse(link, &in, e)) return -2;
    resolve_opts o = {.override_base = fake.base, .timeout_ms = 5000};
    return resolve_short_link(&in, &o, out, e);
}

static void test_vm_301(void **state) {
    (void)state;
    post_url p;
    cerr e = {0};
    assert_int_equal(resolve("https://vm.tiktok.com/ZMgood/", &p, &e), 0);
    assert_int_equal(p.platform, PLATFORM_TIKTOK);
    assert_false(p.needs_resolve);
    assert_string_equal(p.post_id, "7106594312292453675");
    assert_string_equal(p.canonical_url, CANON); /* tracking query (_t, _r) dropped */
}

static void test_vt_302(void **state) {
    (void)state;
    post_url p;
    cerr e = {0};
    assert_int_equal(resolve("vt.tiktok.com/ZSgood", &p, &e), 0);
    assert_string_equal(p.canonical_url, CANON);
}

static void test_t_path_two_hops(void **state) {
    (void)state;
    post_url p;
    cerr e = {0};
    long before = fake_stat(&fake, "head", "/vm.tiktok.com/ZMgood/");
    assert_int_equal(resolve("https://www.tiktok.com/t/ZTchain/", &p, &e), 0);
    assert_string_equal(p.post_id, "7106594312292453675");
    assert_int_equal(fake_stat(&fake, "head", "/vm.tiktok.com/ZMgood/") - before, 1);
}

static void test_mobile_target(void **state) {
    (void)state;
    post_url p;
    cerr e = {0};
    assert_int_equal(resolve("https://vm.tiktok.com/ZMmobile/", &p, &e), 0);
    assert_string_equal(p.post_id, "7106594312292453675");
    assert_string_equal(p.canonical_url, "https://www.tiktok.com/@/video/7106594312292453675");
}

static void test_loop(void **state) {
    (void)state;
    post_url p;
    cerr e = {0};
    long a = fake_stat(&fake, "head", "/vm.tiktok.com/ZMloopA/");
    assert_int_equal(resolve("https://vm.tiktok.com/ZMloopA/", &p, &e), -1);
    assert_int_equal(e.code, CERR_INVALID);
    assert_non_null(strstr(e.msg, "loop"));
    assert_int_equal(fake_stat(&fake, "head", "/vm.tiktok.com/ZMloopA/") - a, 1);
}

static void test_too_many_hops(void **state) {
    (void)state;
    post_url p;
    cerr e = {0};
    assert_int_equal(resolve("https://vm.tiktok.com/ZMlong0/", &p, &e), -1);
    assert_non_null(strstr(e.msg, "more than 5"));
    assert_int_equal(fake_stat(&fake, "head", "/vm.tiktok.com/ZMlong4/"), 1);
    assert_int_equal(fake_stat(&fake, "head", "/vm.tiktok.com/ZMlong5/"), 0);
}

static void test_rejections(void **state) {
    (void)state;
    static const struct {
        const char *link, *want;
    } cases[] = {
        {"https://vm.tiktok.com/ZMoffsite/", "off TikTok"},
        {"https://vm.tiktok.com/ZMplain/", "non-https"},
        {"https://vm.tiktok.com/ZMhome/", "does not lead to a video"},
        {"https://vm.tiktok.com/ZMnoloc/", "did not redirect"},
        {"https://vm.tiktok.com/ZMunknown/", "not found"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        post_url p;
        cerr e = {0};
        assert_int_equal(resolve(cases[i].link, &p, &e), -1);
        assert_int_equal(e.code, CERR_INVALID);
        if (!strstr(e.msg, cases[i].want)) fail_msg("%s: got '%s', want '%s'", cases[i].link, e.msg, cases[i].want);
    }
}

static void test_direct_link_untouched(void **state) {
    (void)state;
    post_url in, p;
    cerr e = {0};
    assert_int_equal(url_parse(CANON "?lang=en", &in, &e), 0);
    resolve_opts o = {.override_base = "http://127.0.0.1:1"};
    assert_int_equal(resolve_short_link(&in, &o, &p, &e), 0);
    assert_string_equal(p.canonical_url, CANON);
}

static void test_env_override(void **state) {
    (void)state;
    post_url in, p;
    cerr e = {0};
    assert_int_equal(url_parse("https://vm.tiktok.com/ZMgood/", &in, &e), 0);
    setenv("CHATTER_TIKTOK_RESOLVE_URL", fake.base, 1);
    int rc = resolve_short_link(&in, NULL, &p, &e);
    unsetenv("CHATTER_TIKTOK_RESOLVE_URL");
    assert_int_equal(rc, 0);
    assert_string_equal(p.post_id, "7106594312292453675");
}

static void test_text_callback(void **state) {
    (void)state;
    resolve_opts o = {.override_base = fake.base, .timeout_ms = 5000};
    char out[POST_URL_MAX], small[16];
    cerr e = {0};
    assert_int_equal(resolve_link_text(&o, "https://vt.tiktok.com/ZSgood/", out, sizeof out, &e), 0);
    assert_string_equal(out, CANON);
    assert_int_equal(resolve_link_text(&o, "https://vt.tiktok.com/ZSgood/", small, sizeof small, &e), -1);
    assert_int_equal(resolve_link_text(&o, "https://vm.tiktok.com/ZMloopA/", out, sizeof out, &e), -1);
    assert_non_null(strstr(e.msg, "loop"));
}

static void test_unreachable_is_network(void **state) {
    (void)state;
    post_url in, p;
    cerr e = {0};
    assert_int_equal(url_parse("https://vm.tiktok.com/ZMgood/", &in, &e), 0);
    resolve_opts o = {.override_base = "http://127.0.0.1:1", .timeout_ms = 2000};
    assert_int_equal(resolve_short_link(&in, &o, &p, &e), -1);
    assert_int_equal(e.code, CERR_NETWORK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vm_301),          cmocka_unit_test(test_vt_302),
        cmocka_unit_test(test_t_path_two_hops), cmocka_unit_test(test_mobile_target),
        cmocka_unit_test(test_loop),            cmocka_unit_test(test_too_many_hops),
        cmocka_unit_test(test_rejections),      cmocka_unit_test(test_direct_link_untouched),
        cmocka_unit_test(test_env_override),    cmocka_unit_test(test_unreachable_is_network),
        cmocka_unit_test(test_text_callback),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
