/* test_tokenizer.c - RoBERTa BPE against the shared reference vectors, both vocab.json layouts, the model
 * card's preprocessing, truncation, UTF-8 repair and load errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "sentiment/roberta/tokenizer.h"

#define MAX_IDS 512

typedef struct fixture {
    char dir[1024]; /* shared roberta-base folder */
    char vocab[1100], merges[1100], vectors[1100];
    bpe_tokenizer *tok;
    bpe_session *s;
} fixture;

static void shared_path(char *out, size_t cap, const char *rel) {
    const char *shared = getenv("CHATTER_SHARED");
    char fallback[1024];
    if (!shared || !*shared) {
        const char *src = getenv("CHATTER_SOURCE_DIR");
        snprintf(fallback, sizeof fallback, "%s/../shared", src && *src ? src : ".");
        shared = fallback;
    }
    assert_int_equal(sbprintf(out, cap, "%s/%s", shared, rel), 0);
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    shared_path(f->dir, sizeof f->dir, "data/roberta-base");
    snprintf(f->vocab, sizeof f->vocab, "%s/vocab.json", f->dir);
    snprintf(f->merges, sizeof f->merges, "%s/merges.txt", f->dir);
    shared_path(f->vectors, sizeof f->vectors, "data/tokenizer/vectors.jsonl");
    cerr e = {0};
    if (bpe_tokenizer_load(f->vocab, f->merges, &f->tok, &e) || bpe_session_new(f->tok, &f->s, &e)) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    bpe_session_free(f->s);
    bpe_tokenizer_free(f->tok);
    free(f);
    return 0;
}

static size_t encode(bpe_session *s, const char *text, size_t len, int32_t *ids, size_t max_ids, bool *trunc) {
    cerr e = {0};
    size_t n = 0;
    bool t;
    if (bpe_encode(s, text, len, ids, max_ids, &n, trunc ? trunc : &t, &e)) fail_msg("encode: %s", e.msg);
    return n;
}

static void expect_ids(bpe_session *s, const char *text, size_t len, const int32_t *want, size_t n_want) {
    int32_t ids[MAX_IDS];
    size_t n = encode(s, text, len, ids, MAX_IDS, NULL);
    assert_int_equal(n, n_want);
    assert_memory_equal(ids, want, n * sizeof *ids);
}

/* Runs every vector through session s; returns the number of mismatches (and prints the first few). */
static int run_vectors(const char *path, bpe_session *s) {
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char *line = NULL;
    size_t cap = 0;
    int lines = 0, bad = 0;
    while (getline(&line, &cap, fp) > 0) {
        json_error_t jerr;
        json_t *v = json_loads(line, JSON_ALLOW_NUL, &jerr);
        assert_non_null(v);
        json_t *text = json_object_get(v, "text"), *want = json_object_get(v, "ids");
        assert_true(json_is_string(text) && json_is_array(want));
        int32_t ids[MAX_IDS];
        size_t n = encode(s, json_string_value(text), json_string_length(text), ids, MAX_IDS, NULL);
        bool same = n == json_array_size(want);
        for (size_t i = 0; same && i < n; i++) same = ids[i] == json_integer_value(json_array_get(want, i));
        if (!same && bad++ < 5) {
            fprintf(stderr, "mismatch on line %d: %s\n  got:", lines + 1, json_string_value(text));
            for (size_t i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
            fprintf(stderr, "\n");
        }
        json_decref(v);
        lines++;
    }
    free(line);
    fclose(fp);
    assert_int_equal(lines, 359);
    return bad;
}

static void test_vectors(void **state) {
    fixture *f = *state;
    assert_int_equal(run_vectors(f->vectors, f->s), 0);
    assert_int_equal(run_vectors(f->vectors, f->s), 0); /* again, now mostly from the word cache */
}

static void test_known_ids(void **state) {
    fixture *f = *state;
    expect_ids(f->s, "", 0, (int32_t[]){0, 2}, 2);
    expect_ids(f->s, NULL, 0, (int32_t[]){0, 2}, 2);
    expect_ids(f->s, "Hello world", 11, (int32_t[]){0, 31414, 232, 2}, 4);
    expect_ids(f->s, " Hello world", 12, (int32_t[]){0, 20920, 232, 2}, 4);
    assert_int_equal(bpe_token_id(f->tok, "<s>"), 0);
    assert_int_equal(bpe_token_id(f->tok, "<pad>"), 1);
    assert_int_equal(bpe_token_id(f->tok, "</s>"), 2);
    assert_int_equal(bpe_token_id(f->tok, "<mask>"), 50264);
    assert_int_equal(bpe_token_id(f->tok, "\xC4\xA0the"), 5); /* "Ġthe" */
    assert_int_equal(bpe_token_id(f->tok, "no-such-token"), -1);
}

/* Special-token literals are plain text (GPT-2 semantics); ids from the reference encoder.py. */
static void test_special_literals_are_text(void **state) {
    fixture *f = *state;
    expect_ids(f->s, "a </s> b", 8, (int32_t[]){0, 102, 49703, 29, 15698, 741, 2}, 7);
    expect_ids(f->s, "x <mask> y", 10, (int32_t[]){0, 1178, 28696, 43776, 15698, 1423, 2}, 7);
}

/* \s is Python regex's Unicode White_Space: U+0085 is in it (PCRE2's own \s lacks it), U+001C is not.
 * The shared vectors have neither; ids from the reference encoder.py. */
static void test_whitespace_set(void **state) {
    fixture *f = *state;
    expect_ids(f->s, "a \xc2\x85" "b", 5, (int32_t[]){0, 102, 1437, 4056, 5782, 428, 2}, 7);
    expect_ids(f->s, "a \x1c" "b", 4, (int32_t[]){0, 102, 1437, 50136, 428, 2}, 6);
    expect_ids(f->s, "ok\xe2\x80\xa9\xe2\x80\xa9 go", 11, (int32_t[]){0, 1638, 17, 15375, 17, 15375, 213, 2}, 8);
}

/* Invalid UTF-8 = Python's decode(errors="replace"): one U+FFFD per maximal invalid subpart. */
static void test_invalid_utf8(void **state) {
    fixture *f = *state;
    static const char bad1[] = "caf\xc3 ok \xff\xfe end \xe2\x82";
    static const char fix1[] = "caf\xEF\xBF\xBD ok \xEF\xBF\xBD\xEF\xBF\xBD end \xEF\xBF\xBD";
    static const int32_t want1[] = {0, 438, 2001, 21955, 15983, 1437, 47119, 253, 44763, 2};
    expect_ids(f->s, bad1, sizeof bad1 - 1, want1, 10);
    expect_ids(f->s, fix1, sizeof fix1 - 1, want1, 10);
    /* a surrogate (ED A0 80) is three subparts; a cut-off 4-byte emoji (F0 9F 98) is one */
    static const char bad2[] = "a\xed\xa0\x80" "b \xf0\x9f\x98";
    expect_ids(f->s, bad2, sizeof bad2 - 1, (int32_t[]){0, 102, 48618, 428, 44763, 2}, 6);
    int32_t a[MAX_IDS], b[MAX_IDS];
    static const char bad3[] = "x\xe2\x28y"; /* E2 then a non-continuation: "(" survives */
    static const char fix3[] = "x\xEF\xBF\xBD(y";
    size_t na = encode(f->s, bad3, sizeof bad3 - 1, a, MAX_IDS, NULL);
    size_t nb = encode(f->s, fix3, sizeof fix3 - 1, b, MAX_IDS, NULL);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof *a);
}

static void test_truncation(void **state) {
    fixture *f = *state;
    buf text;
    buf_init(&text, 0);
    cerr e = {0};
    for (int i = 0; i < 400; i++) assert_int_equal(buf_printf(&text, &e, "w%d hello, ", i), 0);
    size_t full_cap = text.len + 2;
    int32_t *full = malloc(full_cap * sizeof *full), ids[MAX_IDS];
    bool trunc = true;
    size_t nf = encode(f->s, text.data, text.len, full, full_cap, &trunc);
    assert_false(trunc);
    assert_true(nf > 600);

    size_t n = encode(f->s, text.data, text.len, ids, 512, &trunc);
    assert_true(trunc);
    assert_int_equal(n, 512);
    assert_int_equal(ids[0], 0);
    assert_int_equal(ids[511], 2);
    assert_memory_equal(ids + 1, full + 1, 128 * sizeof *ids);                 /* head: 128 */
    assert_memory_equal(ids + 129, full + nf - 1 - 382, 382 * sizeof *ids);     /* tail: 382 */

    n = encode(f->s, text.data, text.len, ids, 2, &trunc);
    assert_true(trunc);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 0);
    assert_int_equal(ids[1], 2);
    n = encode(f->s, text.data, text.len, ids, 3, &trunc);
    assert_int_equal(n, 3);
    assert_int_equal(ids[1], full[1]);
    /* exactly fitting is not truncated */
    n = encode(f->s, text.data, text.len, full, nf, &trunc);
    assert_false(trunc);
    assert_int_equal(n, nf);

    size_t dummy;
    assert_int_equal(bpe_encode(f->s, "x", 1, ids, 1, &dummy, &trunc, &e), -1);
    free(full);
    buf_free(&text);
}

static void test_limits(void **state) {
    fixture *f = *state;
    size_t len = BPE_MAX_TEXT_BYTES + 1;
    char *big = malloc(len);
    memset(big, 'a', len);
    int32_t ids[MAX_IDS];
    size_t n;
    bool trunc;
    cerr e = {0};
    assert_int_equal(bpe_encode(f->s, big, len, ids, MAX_IDS, &n, &trunc, &e), -1);
    assert_int_equal(e.code, CERR_TOOBIG);
    /* one 256 KiB "word": the merge loop stays O(n log n) */
    int64_t t0 = now_ms();
    n = encode(f->s, big, 256 * 1024, ids, MAX_IDS, &trunc);
    assert_true(trunc);
    assert_int_equal(n, MAX_IDS);
    assert_true(now_ms() - t0 < 20000); /* quadratic merging would take minutes here */
    free(big);
}

static void test_preprocess(void **state) {
    (void)state;
    static const char *cases[][2] = {
        {"@bob hi", "@user hi"},
        {"@bob, hi", "@user hi"},
        {"hi @ there", "hi @ there"},
        {"see https://x.co/a now", "see http now"},
        {"httpfoo bar", "http bar"},
        {"www.x.com", "www.x.com"},
        {"a  @b   c", "a  @user   c"}, /* runs of spaces survive */
        {" @x ", " @user "},
        {"@a\t@b", "@user"},           /* a tab does not split */
        {"x\nhttp://y", "x\nhttp://y"}, /* nor does a newline: the piece starts with "x" */
        {"", ""},
        {"Covid cases are increasing fast!", "Covid cases are increasing fast!"},
        {"@\xc3\xa9", "@user"},
    };
    buf out;
    buf_init(&out, 0);
    cerr e = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(roberta_preprocess(cases[i][0], strlen(cases[i][0]), &out, &e), 0);
        assert_string_equal(out.data, cases[i][1]);
    }
    buf_free(&out);
}

/* The hub's vocab.json is `"key": value` with spaces (Python json.dumps defaults); escapes must decode too. */
static void write_vocab(const char *src, const char *dst, size_t flags) {
    json_error_t jerr;
    json_t *v = json_load_file(src, 0, &jerr);
    assert_non_null(v);
    assert_int_equal(json_dump_file(v, dst, flags), 0);
    json_decref(v);
}

static void test_vocab_layouts(void **state) {
    fixture *f = *state;
    char dir[] = "/tmp/chatter-tok-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char spaced[256], ascii[256];
    snprintf(spaced, sizeof spaced, "%s/spaced.json", dir);
    snprintf(ascii, sizeof ascii, "%s/ascii.json", dir);
    write_vocab(f->vocab, spaced, 0);
    write_vocab(f->vocab, ascii, JSON_ENSURE_ASCII | JSON_INDENT(1));
    cerr e = {0};
    char hex[65];
    assert_int_equal(sha256_file_hex(spaced, hex, &e), 0);
    /* byte-identical to the hub's file (its pinned sha256 in model_fetch.c) */
    assert_string_equal(hex, "06b4d46c8e752d410213d9548eb27a54db70fda0319b6271fb8d59dead5e1cab");
    const char *paths[] = {spaced, ascii};
    for (int i = 0; i < 2; i++) {
        bpe_tokenizer *t;
        bpe_session *s;
        assert_int_equal(bpe_tokenizer_load(paths[i], f->merges, &t, &e), 0);
        assert_int_equal(bpe_session_new(t, &s, &e), 0);
        assert_int_equal(run_vectors(f->vectors, s), 0);
        assert_int_equal(bpe_token_id(t, "\""), bpe_token_id(f->tok, "\""));
        assert_int_equal(bpe_token_id(t, "\\"), bpe_token_id(f->tok, "\\"));
        assert_true(bpe_token_id(t, "\\") >= 0);
        bpe_session_free(s);
        bpe_tokenizer_free(t);
        unlink(paths[i]);
    }
    rmdir(dir);
}

static void write_text(const char *path, const char *text) {
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_load_errors(void **state) {
    fixture *f = *state;
    bpe_tokenizer *t = (bpe_tokenizer *)1;
    cerr e = {0};
    assert_int_equal(bpe_tokenizer_load("/nonexistent/vocab.json", f->merges, &t, &e), -1);
    assert_null(t);
    assert_non_null(strstr(e.msg, "/nonexistent/vocab.json"));

    char dir[] = "/tmp/chatter-tok-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char m[256], v[256];
    snprintf(m, sizeof m, "%s/merges.txt", dir);
    snprintf(v, sizeof v, "%s/vocab.json", dir);
    write_text(m, "#version: 0.2\n\xC4\xA0 t\nno_space_here\n");
    assert_int_equal(bpe_tokenizer_load(f->vocab, m, &t, &e), -1);
    assert_non_null(strstr(e.msg, "merges.txt:3"));
    write_text(m, "#version: 0.2\nth e\n"); /* "th" is not made by an earlier merge */
    assert_int_equal(bpe_tokenizer_load(f->vocab, m, &t, &e), -1);
    assert_non_null(strstr(e.msg, "training order"));
    write_text(v, "[1, 2]");
    assert_int_equal(bpe_tokenizer_load(v, f->merges, &t, &e), -1);
    assert_non_null(strstr(e.msg, "JSON object"));
    write_text(v, "{\"a\": \"x\"}");
    assert_int_equal(bpe_tokenizer_load(v, f->merges, &t, &e), -1);
    assert_non_null(strstr(e.msg, "valid id"));
    unlink(m);
    unlink(v);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_known_ids),
        cmocka_unit_test(test_special_literals_are_text),
        cmocka_unit_test(test_whitespace_set),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_preprocess),
        cmocka_unit_test(test_vocab_layouts),
        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
