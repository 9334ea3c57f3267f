/* test_cmd_tokenize.c - `chatter tokenize` end to end (run in a child process with stdin/stdout on files):
 * the shared vectors through the command, preprocessing, truncation flag, usage and runtime errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/util.h"
#include "sentiment/roberta/tokenizer.h"

static char model_dir[2048], vectors[2100];
static char tmp[] = "/tmp/chatter-tokcli-XXXXXX";
static char in_path[64], out_path[64], err_path[64];

typedef struct result {
    int status;
    buf out, err;
} result;

/* Runs cmd_tokenize(argv) with `input` on stdin (or the file input_file); captures stdout and stderr. */
static void run(const char *input, const char *input_file, char **argv, int argc, result *r) {
    if (!input_file) {
        FILE *fp = fopen(in_path, "wb");
        fputs(input, fp);
        fclose(fp);
        input_file = in_path;
    }
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int in = open(input_file, O_RDONLY);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        int rc = cmd_tokenize(argc, argv);
        fflush(NULL); /* _exit skips stdio flushing */
        _exit(rc);
    }
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    r->status = WEXITSTATUS(st);
    cerr e;
    assert_int_equal(read_file_capped(out_path, 1u << 24, &r->out, &e), 0);
    assert_int_equal(read_file_capped(err_path, 1u << 20, &r->err, &e), 0);
}

static void result_free(result *r) {
    buf_free(&r->out);
    buf_free(&r->err);
}

static int setup(void **state) {
    (void)state;
    const char *shared = getenv("CHATTER_SHARED");
    const char *src = getenv("CHATTER_SOURCE_DIR");
    if (shared && *shared) snprintf(model_dir, sizeof model_dir, "%s/data/roberta-base", shared);
    else snprintf(model_dir, sizeof model_dir, "%s/../shared/data/roberta-base", src ? src : ".");
    snprintf(vectors, sizeof vectors, "%s/../tokenizer/vectors.jsonl", model_dir);
    if (!mkdtemp(tmp)) return -1;
    snprintf(in_path, sizeof in_path, "%s/in", tmp);
    snprintf(out_path, sizeof out_path, "%s/out", tmp);
    snprintf(err_path, sizeof err_path, "%s/err", tmp);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unlink(in_path);
    unlink(out_path);
    unlink(err_path);
    rmdir(tmp);
    return 0;
}

static void test_vectors_through_cli(void **state) {
    (void)state;
    char *argv[] = {"tokenize", "--model-dir", model_dir, "--no-preprocess", NULL};
    result r;
    run(NULL, vectors, argv, 4, &r);
    assert_int_equal(r.status, 0);
    FILE *want = fopen(vectors, "r");
    char *line = NULL;
    size_t cap = 0;
    const char *got = r.out.data;
    int n = 0;
    while (getline(&line, &cap, want) > 0) {
        json_t *w = json_loads(line, JSON_ALLOW_NUL, NULL);
        const char *eol = strchr(got, '\n');
        assert_non_null(eol);
        json_t *g = json_loadb(got, (size_t)(eol - got), 0, NULL);
        assert_non_null(g);
        assert_true(json_equal(json_object_get(w, "ids"), json_object_get(g, "ids")));
        assert_null(json_object_get(g, "truncated"));
        json_decref(w);
        json_decref(g);
        got = eol + 1;
        n++;
    }
    assert_int_equal(n, 359);
    assert_string_equal(got, "");
    free(line);
    fclose(want);
    result_free(&r);
}

static void test_preprocess_and_truncation(void **state) {
    (void)state;
    char *argv[] = {"tokenize", "--model-dir=", NULL};
    char arg[2200];
    snprintf(arg, sizeof arg, "--model-dir=%s", model_dir);
    argv[1] = arg;
    buf in;
    buf_init(&in, 0);
    cerr e;
    assert_int_equal(buf_puts(&in, "{\"text\": \"@bob see https://x.co/a\"}\n\n{\"text\": \"", &e), 0);
    for (int i = 0; i < 700; i++) assert_int_equal(buf_puts(&in, "word ", &e), 0);
    assert_int_equal(buf_puts(&in, "\"}\n", &e), 0);
    result r;
    run(in.data, NULL, argv, 2, &r);
    assert_int_equal(r.status, 0);

    /* line 1 must equal the tokens of the preprocessed text; the blank line is skipped */
    bpe_tokenizer *t;
    bpe_session *s;
    char v[2200], m[2200];
    snprintf(v, sizeof v, "%s/vocab.json", model_dir);
    snprintf(m, sizeof m, "%s/merges.txt", model_dir);
    assert_int_equal(bpe_tokenizer_load(v, m, &t, &e), 0);
    assert_int_equal(bpe_session_new(t, &s, &e), 0);
    int32_t ids[512];
    size_t n;
    bool trunc;
    assert_int_equal(bpe_encode(s, "@user see http", 14, ids, 512, &n, &trunc, &e), 0);
    buf want;
    buf_init(&want, 0);
    assert_int_equal(buf_puts(&want, "{\"ids\": [", &e), 0);
    for (size_t i = 0; i < n; i++) assert_int_equal(buf_printf(&want, &e, i ? ", %d" : "%d", ids[i]), 0);
    assert_int_equal(buf_puts(&want, "]}\n", &e), 0);
    assert_int_equal(strncmp(r.out.data, want.data, want.len), 0);

    const char *second = r.out.data + want.len;
    json_t *g = json_loads(second, 0, NULL);
    assert_non_null(g);
    assert_int_equal(json_array_size(json_object_get(g, "ids")), 512);
    assert_true(json_is_true(json_object_get(g, "truncated")));
    json_decref(g);
    buf_free(&want);
    buf_free(&in);
    bpe_session_free(s);
    bpe_tokenizer_free(t);
    result_free(&r);
}

static void test_usage_and_errors(void **state) {
    (void)state;
    result r;
    char *help[] = {"tokenize", "--help", NULL};
    run("", NULL, help, 2, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out.data, "usage: chatter tokenize"));
    result_free(&r);

    char *none[] = {"tokenize", NULL};
    run("", NULL, none, 1, &r);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err.data, "--model-dir is required"));
    result_free(&r);

    char *unknown[] = {"tokenize", "--model-dir", model_dir, "--bogus", NULL};
    run("", NULL, unknown, 4, &r);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err.data, "--bogus"));
    result_free(&r);

    char *ok[] = {"tokenize", "--model-dir", model_dir, NULL};
    run("{\"text\": \"fine\"}\n{\"txt\": 1}\n{\"text\": \"never reached\"}\n", NULL, ok, 3, &r);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err.data, "line 2"));
    assert_non_null(strstr(r.out.data, "{\"ids\": [0, "));
    assert_null(strchr(strchr(r.out.data, '\n') + 1, '\n')); /* stopped after line 1's output */
    result_free(&r);

    char *missing[] = {"tokenize", "--model-dir", "/nonexistent", NULL};
    run("", NULL, missing, 3, &r);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err.data, "/nonexistent/vocab.json"));
    result_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_through_cli),
        cmocka_unit_test(test_preprocess_and_truncation),
        cmocka_unit_test(test_usage_and_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
