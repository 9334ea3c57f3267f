/* test_azure.c - the azure analyzer against tests/fakes/fake_azure.py: batches of at most 10, labels and
 * scores (mixed included), blank texts kept local, grapheme truncation, 429/503 retries, a rejected key
 * that never shows in the message, per-document errors, and settings checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/util.h"
#include "fake_server.h"
#include "sentiment/analyzer.h"
#include "sentiment/azure.h"
#include "sentiment/azure_text.h"

#define KEY "test-azure-key-0123456789"

static fake_server fake;

static void set_env_ok(void) {
    setenv("AZURE_LANGUAGE_ENDPOINT", fake.base, 1);
    setenv("AZURE_LANGUAGE_KEY", KEY, 1);
    unsetenv("AZURE_LANGUAGE_KEY_FILE");
    unsetenv("AZURE_LANGUAGE_API_VERSION");
    unsetenv("AZURE_LANGUAGE_LANGUAGE");
    setenv("CHATTER_HTTP_RETRIES", "3", 1);
    setenv("CHATTER_HTTP_TIMEOUT_MS", "5000", 1);
}

static int group_setup(void **state) {
    (void)state;
    cerr e = {0};
    if (http_global_init(&e)) return -1;
    const char *args[] = {"--key", KEY, NULL};
    return fake_start(&fake, "fake_azure.py", args);
}

static int group_teardown(void **state) {
    (void)state;
    fake_stop(&fake);
    http_global_cleanup();
    return 0;
}

typedef struct fixture {
    analyzer *an;
    analyzer_session *s;
    cerr e;
} fixture;

static int setup(void **state) {
    set_env_ok();
    fixture *f = calloc(1, sizeof *f);
    if (analyzer_open("azure", NULL, &f->an, &f->e) || analyzer_session_new(f->an, &f->s, &f->e)) {
        fprintf(stderr, "%s\n", f->e.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    analyzer_session_free(f->s);
    analyzer_free(f->an);
    free(f);
    return 0;
}

static void assert_p(const sentiment *s, float neg, float neu, float pos) {
    assert_float_equal(s->p[0], neg, 1e-6);
    assert_float_equal(s->p[1], neu, 1e-6);
    assert_float_equal(s->p[2], pos, 1e-6);
}

static void test_model_id(void **state) {
    fixture *f = *state;
    assert_string_equal(analyzer_name(f->an), "azure");
    assert_string_equal(analyzer_model_id(f->an), "azure-language@2023-04-01");
}

static void test_batches_labels_scores(void **state) {
    fixture *f = *state;
    const char *texts[25];
    char store[25][64];
    for (int i = 0; i < 25; i++) {
        static const char *const base[] = {"I love this", "I hate this", "a chair", "love it, hate the end",
                                           "love love, great and bad"};
        snprintf(store[i], sizeof store[i], "%s #%d", base[i % 5], i);
        texts[i] = store[i];
    }
    long req0 = fake_stat(&fake, "requests", "total"), docs0 = fake_stat(&fake, "documents", "total");
    sentiment out[25];
    memset(out, 0xff, sizeof out);
    assert_int_equal(analyzer_classify(f->s, texts, 25, out, &f->e), 0);
    assert_int_equal(fake_stat(&fake, "requests", "total") - req0, 3);
    assert_int_equal(fake_stat(&fake, "documents", "total") - docs0, 25);
    assert_int_equal(fake_stat(&fake, "batches", "max"), 10);
    assert_int_equal(fake_stat(&fake, "documents", "last_language_en"), 1);
    for (int i = 0; i < 25; i++) {
        const sentiment *s = &out[i];
        assert_false(s->truncated);
        switch (i % 5) {
        case 0: assert_int_equal(s->label, LABEL_POSITIVE); assert_p(s, 0.01f, 0.2f, 0.79f); break;
        case 1: assert_int_equal(s->label, LABEL_NEGATIVE); assert_p(s, 0.79f, 0.2f, 0.01f); break;
        case 2: assert_int_equal(s->label, LABEL_NEUTRAL); assert_p(s, 0.05f, 0.9f, 0.05f); break;
        /* mixed, a tie: negative */
        case 3: assert_int_equal(s->label, LABEL_NEGATIVE); assert_p(s, 0.48f, 0.04f, 0.48f); break;
        /* mixed, 3 positive words to 1 negative */
        case 4: assert_int_equal(s->label, LABEL_POSITIVE); assert_p(s, 0.24f, 0.04f, 0.72f); break;
        }
    }
}

static void test_blank_not_sent(void **state) {
    fixture *f = *state;
    const char *texts[] = {"", "  \t ", "\xe3\x80\x80", "nice"};
    long docs0 = fake_stat(&fake, "documents", "total");
    sentiment out[4];
    assert_int_equal(analyzer_classify(f->s, texts, 4, out, &f->e), 0);
    assert_int_equal(fake_stat(&fake, "documents", "total") - docs0, 1);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(out[i].label, LABEL_NEUTRAL);
        assert_p(&out[i], 0, 1, 0);
    }
    assert_int_equal(out[3].label, LABEL_POSITIVE);
}

static char *repeat(const char *unit, size_t times) {
    size_t n = strlen(unit);
    char *s = malloc(n * times + 1);
    for (size_t i = 0; i < times; i++) memcpy(s + i * n, unit, n);
    s[n * times] = '\0';
    return s;
}

static void test_truncation(void **state) {
    fixture *f = *state;
    /* e + combining acute: 2 code points, 3 bytes, one text element */
    char *accents = repeat("e\xcc\x81", 6000);
    char *exact = repeat("a", AZURE_MAX_ELEMENTS);
    const char *texts[] = {accents, exact, "good"};
    sentiment out[3];
    assert_int_equal(analyzer_classify(f->s, texts, 3, out, &f->e), 0);
    assert_true(out[0].truncated);
    assert_false(out[1].truncated);
    assert_false(out[2].truncated);
    assert_int_equal(fake_stat(&fake, "documents", "max_elements"), AZURE_MAX_ELEMENTS);
    assert_int_equal(fake_stat(&fake, "documents", "max_bytes"), 3 * AZURE_MAX_ELEMENTS);
    free(accents);
    free(exact);
}

static void test_text_prepare(void **state) {
    (void)state;
    buf b;
    buf_init(&b, 0);
    cerr e = {0};
    azure_text_info info;
    /* a family emoji (ZWJ sequence), a flag and invalid bytes */
    const char *t = "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 \xf0\x9f\x87\xab\xf0\x9f\x87\xb7 x\xff\xfe";
    assert_int_equal(azure_text_elements(t, strlen(t)), 7);
    assert_int_equal(azure_text_prepare(t, strlen(t), 3, 1000, &b, &info, &e), 0);
    assert_int_equal(info.elements, 3);
    assert_true(info.truncated);
    assert_int_equal(b.len, 18 + 1 + 8);
    assert_int_equal(azure_text_prepare(t, strlen(t), 100, 1000, &b, &info, &e), 0);
    assert_false(info.truncated);
    assert_string_equal(b.data + b.len - 7, "x\xef\xbf\xbd\xef\xbf\xbd"); /* invalid bytes -> U+FFFD */
    /* the byte cap cuts at a cluster boundary */
    assert_int_equal(azure_text_prepare("ab\xcc\x81\xcc\x81", 6, 100, 4, &b, &info, &e), 0);
    assert_true(info.truncated);
    assert_string_equal(b.data, "a");
    assert_int_equal(info.elements, 1);
    buf_free(&b);
}

static void test_throttled_then_served(void **state) {
    fixture *f = *state;
    const char *texts[] = {"__throttle_once__ love it", "__fail_once__ awful"};
    long t429 = fake_stat(&fake, "requests", "429"), t503 = fake_stat(&fake, "requests", "503");
    int64_t t0 = now_ms();
    sentiment out[2];
    assert_int_equal(analyzer_classify(f->s, texts, 2, out, &f->e), 0);
    assert_true(now_ms() - t0 >= 900); /* Retry-After: 1 */
    assert_int_equal(fake_stat(&fake, "requests", "429") - t429, 1);
    assert_int_equal(fake_stat(&fake, "requests", "503") - t503, 1);
    assert_int_equal(out[0].label, LABEL_POSITIVE);
    assert_int_equal(out[1].label, LABEL_NEGATIVE);
}

static void test_per_document_error(void **state) {
    fixture *f = *state;
    const char *texts[] = {"fine", "__reject__ this", "ok"};
    sentiment out[3];
    assert_int_equal(analyzer_classify(f->s, texts, 3, out, &f->e), -1);
    assert_int_equal(f->e.code, CERR_UPSTREAM);
    assert_non_null(strstr(f->e.msg, "refused text 2"));
    assert_non_null(strstr(f->e.msg, "InvalidDocument"));
}

static void test_bad_key(void **state) {
    (void)state;
    set_env_ok();
    setenv("AZURE_LANGUAGE_KEY", "wrong-secret-key-42", 1);
    analyzer *an = NULL;
    analyzer_session *s = NULL;
    cerr e = {0};
    assert_int_equal(analyzer_open("azure", NULL, &an, &e), 0);
    assert_int_equal(analyzer_session_new(an, &s, &e), 0);
    const char *texts[] = {"love"};
    sentiment out[1];
    long r401 = fake_stat(&fake, "requests", "401");
    assert_int_equal(analyzer_classify(s, texts, 1, out, &e), -1);
    assert_int_equal(fake_stat(&fake, "requests", "401") - r401, 1); /* not retried */
    assert_non_null(strstr(e.msg, "rejected the key"));
    assert_non_null(strstr(e.msg, "AZURE_LANGUAGE_KEY"));
    assert_null(strstr(e.msg, "wrong-secret-key-42"));
    analyzer_session_free(s);
    analyzer_free(an);
}

static void expect_open_error(const char *needle, const char *forbidden) {
    analyzer *an = NULL;
    cerr e = {0};
    assert_int_equal(analyzer_open("azure", NULL, &an, &e), -1);
    assert_null(an);
    assert_int_equal(e.code, CERR_INVALID);
    if (!strstr(e.msg, needle)) fail_msg("\"%s\" not in: %s", needle, e.msg);
    if (forbidden) assert_null(strstr(e.msg, forbidden));
}

static void test_azure_settings(void **state) {
    (void)state;
    set_env_ok();
    unsetenv("AZURE_LANGUAGE_ENDPOINT");
    expect_open_error("AZURE_LANGUAGE_ENDPOINT", KEY);
    set_env_ok();
    unsetenv("AZURE_LANGUAGE_KEY");
    expect_open_error("AZURE_LANGUAGE_KEY", NULL);
    set_env_ok();
    setenv("AZURE_LANGUAGE_ENDPOINT", "http://example.com", 1);
    expect_open_error("https://", KEY);
    set_env_ok();
    setenv("AZURE_LANGUAGE_API_VERSION", "2023-04-01&x=y", 1);
    expect_open_error("AZURE_LANGUAGE_API_VERSION", KEY);
    set_env_ok();
    setenv("AZURE_LANGUAGE_LANGUAGE", "en us", 1);
    expect_open_error("AZURE_LANGUAGE_LANGUAGE", KEY);
    set_env_ok();
    setenv("AZURE_LANGUAGE_KEY", "bad\r\nX-Injected: 1", 1);
    expect_open_error("control character", "Injected");
    set_env_ok();
    setenv("CHATTER_HTTP_RETRIES", "many", 1);
    expect_open_error("CHATTER_HTTP_RETRIES", KEY);

    /* the key from a file (trailing newline stripped), and an endpoint with a trailing slash */
    set_env_ok();
    char path[] = "/tmp/chatter-azure-key-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, KEY "\n", strlen(KEY) + 1), (ssize_t)strlen(KEY) + 1);
    close(fd);
    unsetenv("AZURE_LANGUAGE_KEY");
    setenv("AZURE_LANGUAGE_KEY_FILE", path, 1);
    char ep[128];
    snprintf(ep, sizeof ep, "%s/", fake.base);
    setenv("AZURE_LANGUAGE_ENDPOINT", ep, 1);
    analyzer *an = NULL;
    analyzer_session *s = NULL;
    cerr e = {0};
    assert_int_equal(analyzer_open("azure", NULL, &an, &e), 0);
    assert_int_equal(analyzer_session_new(an, &s, &e), 0);
    const char *texts[] = {"great"};
    sentiment out[1];
    assert_int_equal(analyzer_classify(s, texts, 1, out, &e), 0);
    assert_int_equal(out[0].label, LABEL_POSITIVE);
    analyzer_session_free(s);
    analyzer_free(an);
    unlink(path);
    set_env_ok();
}

static void test_unreachable(void **state) {
    (void)state;
    set_env_ok();
    setenv("AZURE_LANGUAGE_ENDPOINT", "http://127.0.0.1:1", 1);
    setenv("CHATTER_HTTP_RETRIES", "0", 1);
    analyzer *an = NULL;
    analyzer_session *s = NULL;
    cerr e = {0};
    assert_int_equal(analyzer_open("azure", NULL, &an, &e), 0);
    assert_int_equal(analyzer_session_new(an, &s, &e), 0);
    const char *texts[] = {"love"};
    sentiment out[1];
    assert_int_equal(analyzer_classify(s, texts, 1, out, &e), -1);
    assert_int_equal(e.code, CERR_NETWORK);
    assert_non_null(strstr(e.msg, "Azure AI Language at http://127.0.0.1:1"));
    assert_null(strstr(e.msg, KEY));
    analyzer_session_free(s);
    analyzer_free(an);
    set_env_ok();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_model_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches_labels_scores, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blank_not_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
        cmocka_unit_test(test_text_prepare),
        cmocka_unit_test_setup_teardown(test_throttled_then_served, setup, teardown),
        cmocka_unit_test_setup_teardown(test_per_document_error, setup, teardown),
        cmocka_unit_test(test_bad_key),
        cmocka_unit_test(test_azure_settings),
        cmocka_unit_test(test_unreachable),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
