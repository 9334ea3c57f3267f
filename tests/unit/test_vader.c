/* test_vader.c - the VADER port against the reference's own outputs (shared/data/vader/vectors.jsonl), plus
 * the edges a service meets: empty, long, broken UTF-8, missing lexicon files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "sentiment/analyzer.h"
#include "sentiment/vader.h"

typedef struct fixture {
    char dir[4096];
    void *model;
    void *session;
} fixture;

static void shared_path(char *out, size_t cap, const char *rel) {
    const char *sh = getenv("CHATTER_SHARED");
    char tmp[4096];
    if (!sh || !*sh) {
        const char *src = getenv("CHATTER_SOURCE_DIR");
        snprintf(tmp, sizeof tmp, "%s/../shared", src ? src : ".");
        sh = tmp;
    }
    snprintf(out, cap, "%s/%s", sh, rel);
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    shared_path(f->dir, sizeof f->dir, "data/vader");
    analyzer_options opt = {.model_dir = f->dir};
    cerr e = {0};
    if (vader_analyzer_ops.load(&opt, &f->model, &e)) fail_msg("load: %s", e.msg);
    if (vader_analyzer_ops.session_new(f->model, &f->session, &e)) fail_msg("session: %s", e.msg);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    vader_analyzer_ops.session_free(f->session);
    vader_analyzer_ops.unload(f->model);
    free(f);
    return 0;
}

/* Runs every line of a JSONL file of {text, neg, neu, pos, compound}; returns the number of lines. */
static size_t check_file(fixture *f, const char *rel, size_t *mismatches) {
    char path[4200];
    shared_path(path, sizeof path, rel);
    FILE *fp = fopen(path, "r");
    if (!fp) fail_msg("cannot open %s", path);
    char *line = NULL;
    size_t cap = 0, n = 0;
    *mismatches = 0;
    while (getline(&line, &cap, fp) > 0) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        if (!o) fail_msg("%s line %zu: %s", rel, n + 1, je.text);
        const char *text = json_string_value(json_object_get(o, "text"));
        size_t tlen = json_string_length(json_object_get(o, "text"));
        assert_non_null(text);
        double want[4] = {json_number_value(json_object_get(o, "neg")), json_number_value(json_object_get(o, "neu")),
                          json_number_value(json_object_get(o, "pos")),
                          json_number_value(json_object_get(o, "compound"))};
        double got[4];
        cerr e = {0};
        if (vader_session_polarity(f->session, text, tlen, got, &e)) fail_msg("polarity: %s", e.msg);
        /* Rounding is reproduced, so the four numbers must be the very same doubles. */
        if (got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3]) {
            (*mismatches)++;
            print_message("MISMATCH %s line %zu %s\n  got  neg=%.3f neu=%.3f pos=%.3f compound=%.4f\n"
                          "  want neg=%.3f neu=%.3f pos=%.3f compound=%.4f\n",
                          rel, n + 1, text, got[0], got[1], got[2], got[3], want[0], want[1], want[2], want[3]);
        }
        json_decref(o);
        n++;
    }
    free(line);
    fclose(fp);
    return n;
}

static void test_reference_vectors(void **state) {
    size_t bad;
    size_t n = check_file(*state, "data/vader/vectors.jsonl", &bad);
    assert_int_equal(n, 447);
    assert_int_equal(bad, 0);
}

/* Not described in SOURCE.md, but its scores come from the same reference: 2000 real tweets. */
static void test_tweeteval_scores(void **state) {
    size_t bad;
    size_t n = check_file(*state, "data/vader/tweeteval_test_first2000.jsonl", &bad);
    assert_int_equal(n, 2000);
    assert_int_equal(bad, 0);
}

static sentiment classify1(fixture *f, const char *text) {
    sentiment out;
    memset(&out, 0xAB, sizeof out);
    cerr e = {0};
    const char *texts[] = {text};
    if (vader_analyzer_ops.classify(f->session, texts, 1, &out, &e)) fail_msg("classify: %s", e.msg);
    return out;
}

/* Labels follow the reference compound (>= 0.05 positive, <= -0.05 negative); the three probabilities are
 * VADER's proportions, which sum to 1 and round to the reference's neg/neu/pos. */
static void test_labels_and_proportions(void **state) {
    fixture *f = *state;
    char path[4200];
    shared_path(path, sizeof path, "data/vader/vectors.jsonl");
    json_error_t je;
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char *line = NULL;
    size_t cap = 0;
    int count[3] = {0};
    while (getline(&line, &cap, fp) > 0) {
        json_t *o = json_loads(line, 0, &je);
        assert_non_null(o);
        const char *text = json_string_value(json_object_get(o, "text"));
        double c = json_number_value(json_object_get(o, "compound"));
        sentiment_label want = c >= 0.05 ? LABEL_POSITIVE : c <= -0.05 ? LABEL_NEGATIVE : LABEL_NEUTRAL;
        sentiment s = classify1(f, text);
        if (s.label != want) fail_msg("label %s, want %s for %s", label_name(s.label), label_name(want), text);
        count[s.label]++;
        assert_false(s.truncated);
        double sum = (double)s.p[0] + s.p[1] + s.p[2];
        assert_true(fabs(sum - 1.0) < 1e-5);
        if (strlen(text) > 0 && json_number_value(json_object_get(o, "neu")) + json_number_value(json_object_get(o, "pos")) > 0) {
            assert_true(fabs(s.p[0] - json_number_value(json_object_get(o, "neg"))) <= 0.0005 + 1e-6);
            assert_true(fabs(s.p[1] - json_number_value(json_object_get(o, "neu"))) <= 0.0005 + 1e-6);
            assert_true(fabs(s.p[2] - json_number_value(json_object_get(o, "pos"))) <= 0.0005 + 1e-6);
        }
        json_decref(o);
    }
    free(line);
    fclose(fp);
    /* SOURCE.md: 228 positive, 133 negative, 86 neutral */
    assert_int_equal(count[LABEL_POSITIVE], 228);
    assert_int_equal(count[LABEL_NEGATIVE], 133);
    assert_int_equal(count[LABEL_NEUTRAL], 86);
}

static void test_threshold_edges(void **state) {
    fixture *f = *state;
    assert_int_equal(vader_label(0.05), LABEL_POSITIVE);
    assert_int_equal(vader_label(0.0499), LABEL_NEUTRAL);
    assert_int_equal(vader_label(0.0), LABEL_NEUTRAL);
    assert_int_equal(vader_label(-0.0499), LABEL_NEUTRAL);
    assert_int_equal(vader_label(-0.05), LABEL_NEGATIVE);
    assert_int_equal(vader_label(1.0), LABEL_POSITIVE);
    assert_int_equal(vader_label(-1.0), LABEL_NEGATIVE);
    assert_int_equal(classify1(f, "The video was good.").label, LABEL_POSITIVE);
    assert_int_equal(classify1(f, "The video was bad.").label, LABEL_NEGATIVE);
    assert_int_equal(classify1(f, "The package arrived on Tuesday.").label, LABEL_NEUTRAL);
}

static void test_empty(void **state) {
    fixture *f = *state;
    double p[4] = {9, 9, 9, 9};
    cerr e = {0};
    assert_int_equal(vader_session_polarity(f->session, "", 0, p, &e), 0);
    for (int i = 0; i < 4; i++) assert_true(p[i] == 0.0);
    assert_int_equal(vader_session_polarity(f->session, " \t\xc2\xa0 ", 5, p, &e), 0); /* whitespace only */
    for (int i = 0; i < 4; i++) assert_true(p[i] == 0.0);
    sentiment s = classify1(f, "");
    assert_int_equal(s.label, LABEL_NEUTRAL);
    assert_true(s.p[0] == 0.0f && s.p[1] == 1.0f && s.p[2] == 0.0f);
    assert_false(s.truncated);
}

static void test_long_comment(void **state) {
    fixture *f = *state;
    /* A leading "but" makes every later word go through the reference's quadratic "but" rule. */
    const char *unit = "I really LOVE this video, great job 😀!! ";
    size_t ul = strlen(unit), cap = 16 * 1024;
    char *text = malloc(cap + 1);
    assert_non_null(text);
    memcpy(text, "But ", 4);
    size_t n = 4;
    while (n + ul <= cap) memcpy(text + n, unit, ul), n += ul;
    while (n < cap) text[n++] = 'x';
    text[n] = '\0';
    sentiment s = classify1(f, text);
    assert_false(s.truncated);
    assert_true(fabs((double)s.p[0] + s.p[1] + s.p[2] - 1.0) < 1e-5);
    /* hundreds of positive words saturate the compound */
    double p[4];
    cerr e = {0};
    assert_int_equal(vader_session_polarity(f->session, text, n, p, &e), 0);
    assert_true(p[3] > 0.99);
    free(text);

    /* Over the cap: scored on a prefix and flagged; the cut never splits a character. */
    size_t big = VADER_MAX_TEXT_BYTES + 1000;
    text = malloc(big + 1);
    assert_non_null(text);
    for (size_t i = 0; i < big; i += 3) memcpy(text + i, "\xe2\x82\xac", 3); /* € */
    text[big] = '\0';
    s = classify1(f, text);
    assert_true(s.truncated);
    assert_int_equal(s.label, LABEL_NEUTRAL);
    free(text);
}

static void test_invalid_utf8(void **state) {
    fixture *f = *state;
    const char *bad[] = {"\xff\xfe good \xc3", "love \xe2\x82", "\xed\xa0\x80 bad \xf4\x90\x80\x80",
                         "\xc0\xaf\xc0\xaf!!!", "\x80\x80\x80 ??? :) \xe2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sentiment s = classify1(f, bad[i]);
        assert_true(s.label <= LABEL_POSITIVE);
        assert_true(fabs((double)s.p[0] + s.p[1] + s.p[2] - 1.0) < 1e-5);
    }
    /* the valid words still count */
    assert_int_equal(classify1(f, "\xff\xfe good \xc3").label, LABEL_POSITIVE);
    assert_int_equal(classify1(f, "\xed\xa0\x80 bad \xf4\x90\x80\x80").label, LABEL_NEGATIVE);
}

static void test_missing_lexicon(void **state) {
    (void)state;
    char dir[] = "/tmp/chatter-vader-XXXXXX";
    assert_non_null(mkdtemp(dir));
    analyzer_options opt = {.model_dir = dir};
    void *model = NULL;
    cerr e = {0};
    assert_int_equal(vader_analyzer_ops.load(&opt, &model, &e), -1);
    assert_null(model);
    assert_int_equal(e.code, CERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "chatter model fetch vader"));
    assert_non_null(strstr(e.msg, dir));

    /* a malformed lexicon is an error, not a silently smaller table */
    char p1[256], p2[256];
    snprintf(p1, sizeof p1, "%s/vader_lexicon.txt", dir);
    snprintf(p2, sizeof p2, "%s/emoji_utf8_lexicon.txt", dir);
    FILE *a = fopen(p1, "w"), *b = fopen(p2, "w");
    assert_non_null(a);
    assert_non_null(b);
    fputs("good\t1.9\t0.9\t[2]\nbad\tnotanumber\n", a);
    fputs("\xf0\x9f\x98\x80\tgrinning face\n", b);
    fclose(a);
    fclose(b);
    assert_int_equal(vader_analyzer_ops.load(&opt, &model, &e), -1);
    assert_int_equal(e.code, CERR_INVALID);
    assert_non_null(strstr(e.msg, "line 2"));

    /* duplicate keys: the last one wins, as in the reference */
    a = fopen(p1, "w");
    fputs("good\t1.9\nbad\t-2.5\ngood\t-1.0\n", a);
    fclose(a);
    assert_int_equal(vader_analyzer_ops.load(&opt, &model, &e), 0);
    double p[4];
    assert_int_equal(vader_polarity(model, "good", 4, p, &e), 0);
    assert_true(p[3] < 0);
    /* emoji become their description: "grinning face" is not in this tiny lexicon */
    assert_int_equal(vader_polarity(model, "\xf0\x9f\x98\x80", 4, p, &e), 0);
    assert_true(p[1] == 1.0);
    vader_analyzer_ops.unload(model);
    unlink(p1);
    unlink(p2);
    rmdir(dir);
}

/* Throughput over the 2000 tweets, one thread: printed, not asserted (shared CI machines vary). */
static void test_throughput(void **state) {
    fixture *f = *state;
    char path[4200];
    shared_path(path, sizeof path, "data/vader/tweeteval_test_first2000.jsonl");
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char **texts = calloc(2000, sizeof *texts);
    assert_non_null(texts);
    size_t n = 0, cap = 0, bytes = 0;
    char *line = NULL;
    json_error_t je;
    while (n < 2000 && getline(&line, &cap, fp) > 0) {
        json_t *o = json_loads(line, 0, &je);
        assert_non_null(o);
        texts[n] = strdup(json_string_value(json_object_get(o, "text")));
        bytes += strlen(texts[n]);
        n++;
        json_decref(o);
    }
    free(line);
    fclose(fp);
    sentiment *out = calloc(n, sizeof *out);
    assert_non_null(out);
    cerr e = {0};
    assert_int_equal(vader_analyzer_ops.classify(f->session, (const char *const *)texts, n, out, &e), 0);
    int rounds = 5;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < rounds; r++)
        assert_int_equal(vader_analyzer_ops.classify(f->session, (const char *const *)texts, n, out, &e), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    print_message("vader throughput: %.0f comments/s (%zu tweets x %d rounds, %.1f MB/s, one thread)\n",
                  (double)(n * (size_t)rounds) / s, n, rounds, (double)bytes * rounds / s / 1e6);
    for (size_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_vectors), cmocka_unit_test(test_tweeteval_scores),
        cmocka_unit_test(test_labels_and_proportions), cmocka_unit_test(test_threshold_edges),
        cmocka_unit_test(test_empty), cmocka_unit_test(test_long_comment),
        cmocka_unit_test(test_invalid_utf8), cmocka_unit_test(test_missing_lexicon),
        cmocka_unit_test(test_throughput),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
