/* test_analyzer.c - the analyzer registry: names, "auto", default model paths, the generic wrapper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sentiment/analyzer.h"
#include "sentiment/vader.h"

/* Absolute, because the auto test links to it from a temporary directory. */
static void vader_dir(char *out, size_t cap) {
    const char *sh = getenv("CHATTER_SHARED");
    const char *src = getenv("CHATTER_SOURCE_DIR");
    char rel[4096], *abs;
    if (sh && *sh) snprintf(rel, sizeof rel, "%s/data/vader", sh);
    else snprintf(rel, sizeof rel, "%s/../shared/data/vader", src ? src : ".");
    abs = realpath(rel, NULL);
    if (!abs) fail_msg("shared VADER data not found at %s (set CHATTER_SHARED)", rel);
    snprintf(out, cap, "%s", abs);
    free(abs);
}

static void clear_env(void) {
    unsetenv("CHATTER_MODEL_DIR");
    unsetenv("XDG_DATA_HOME");
}

static void test_label_names(void **state) {
    (void)state;
    assert_string_equal(label_name(LABEL_NEGATIVE), "negative");
    assert_string_equal(label_name(LABEL_NEUTRAL), "neutral");
    assert_string_equal(label_name(LABEL_POSITIVE), "positive");
}

static void test_unknown_name(void **state) {
    (void)state;
    analyzer *a = NULL;
    cerr e = {0};
    assert_int_equal(analyzer_open("sentiwordnet", NULL, &a, &e), -1);
    assert_null(a);
    assert_int_equal(e.code, CERR_INVALID);
    assert_non_null(strstr(e.msg, "sentiwordnet"));
    assert_non_null(strstr(e.msg, "vader")); /* lists what is available */
}

static void test_open_vader_and_classify(void **state) {
    (void)state;
    char dir[4096];
    vader_dir(dir, sizeof dir);
    analyzer_options opt = {.model_dir = dir};
    analyzer *a = NULL;
    cerr e = {0};
    if (analyzer_open("vader", &opt, &a, &e)) fail_msg("%s", e.msg);
    assert_string_equal(analyzer_name(a), "vader");
    assert_string_equal(analyzer_model_id(a), "vader@44fc044cd877");
    analyzer_session *s = NULL;
    assert_int_equal(analyzer_session_new(a, &s, &e), 0);
    const char *texts[] = {"I love this song.", "I hate this song.", "This is a video.", ""};
    sentiment out[4];
    assert_int_equal(analyzer_classify(s, texts, 4, out, &e), 0);
    assert_int_equal(out[0].label, LABEL_POSITIVE);
    assert_int_equal(out[1].label, LABEL_NEGATIVE);
    assert_int_equal(out[2].label, LABEL_NEUTRAL);
    assert_int_equal(out[3].label, LABEL_NEUTRAL);
    assert_true(out[0].p[2] > out[0].p[0]);
    assert_true(out[1].p[0] > out[1].p[2]);
    assert_int_equal(analyzer_classify(s, texts, 0, out, &e), 0);
    analyzer_session_free(s);
    analyzer_free(a);
}

static void test_missing_files_error(void **state) {
    (void)state;
    clear_env();
    char tmp[] = "/tmp/chatter-models-XXXXXX";
    assert_non_null(mkdtemp(tmp));
    setenv("CHATTER_MODEL_DIR", tmp, 1);
    analyzer *a = NULL;
    cerr e = {0};
    assert_int_equal(analyzer_open("vader", NULL, &a, &e), -1);
    assert_int_equal(e.code, CERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "chatter model fetch vader"));
    assert_non_null(strstr(e.msg, tmp));
    clear_env();
    rmdir(tmp);
}

/* With no roberta installed, "auto" falls back to vader, found through the default model directory. */
static void test_auto_falls_back_to_vader(void **state) {
    (void)state;
    clear_env();
    char tmp[] = "/tmp/chatter-models-XXXXXX", sub[256], src[4096], dst[512], lex[4200];
    assert_non_null(mkdtemp(tmp));
    snprintf(sub, sizeof sub, "%s/vader", tmp);
    assert_int_equal(mkdir(sub, 0755), 0);
    vader_dir(src, sizeof src);
    const char *files[] = {"vader_lexicon.txt", "emoji_utf8_lexicon.txt"};
    for (int i = 0; i < 2; i++) {
        snprintf(lex, sizeof lex, "%s/%s", src, files[i]);
        snprintf(dst, sizeof dst, "%s/%s", sub, files[i]);
        assert_int_equal(symlink(lex, dst), 0);
    }
    setenv("CHATTER_MODEL_DIR", tmp, 1);
    analyzer *a = NULL;
    cerr e = {0};
    if (analyzer_open("auto", NULL, &a, &e)) fail_msg("%s", e.msg);
    assert_string_equal(analyzer_name(a), "vader");
    analyzer_free(a);
    /* an empty name means auto too */
    if (analyzer_open("", NULL, &a, &e)) fail_msg("%s", e.msg);
    assert_string_equal(analyzer_name(a), "vader");
    analyzer_free(a);

    /* an explicit model_dir holding the lexicons (and no roberta files) also gives vader */
    analyzer_options opt = {.model_dir = src};
    if (analyzer_open("auto", &opt, &a, &e)) fail_msg("%s", e.msg);
    assert_string_equal(analyzer_name(a), "vader");
    analyzer_free(a);

    for (int i = 0; i < 2; i++) {
        snprintf(dst, sizeof dst, "%s/%s", sub, files[i]);
        unlink(dst);
    }
    rmdir(sub);
    rmdir(tmp);
    clear_env();
}

static void test_model_path(void **state) {
    (void)state;
    char out[4096];
    cerr e = {0};
    clear_env();
    const char *home = getenv("HOME");
    char *saved_home = home ? strdup(home) : NULL;

    setenv("HOME", "/home/u", 1);
    assert_int_equal(analyzer_model_path("vader", out, sizeof out, &e), 0);
    assert_string_equal(out, "/home/u/.local/share/chatter/models/vader");

    setenv("XDG_DATA_HOME", "relative/ignored", 1);
    assert_int_equal(analyzer_model_path("vader", out, sizeof out, &e), 0);
    assert_string_equal(out, "/home/u/.local/share/chatter/models/vader");

    setenv("XDG_DATA_HOME", "/data", 1);
    assert_int_equal(analyzer_model_path("roberta", out, sizeof out, &e), 0);
    assert_string_equal(out, "/data/chatter/models/roberta");

    setenv("CHATTER_MODEL_DIR", "/srv/models", 1);
    assert_int_equal(analyzer_model_path("vader", out, sizeof out, &e), 0);
    assert_string_equal(out, "/srv/models/vader");

    char small[8];
    assert_int_equal(analyzer_model_path("vader", small, sizeof small, &e), -1);
    assert_int_equal(analyzer_model_path("../etc", out, sizeof out, &e), -1);
    assert_int_equal(e.code, CERR_INVALID);
    assert_int_equal(analyzer_model_path("", out, sizeof out, &e), -1);

    clear_env();
    unsetenv("HOME");
    assert_int_equal(analyzer_model_path("vader", out, sizeof out, &e), -1);
    if (saved_home) setenv("HOME", saved_home, 1);
    free(saved_home);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_names),        cmocka_unit_test(test_unknown_name),
        cmocka_unit_test(test_open_vader_and_classify), cmocka_unit_test(test_missing_files_error),
        cmocka_unit_test(test_auto_falls_back_to_vader), cmocka_unit_test(test_model_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
