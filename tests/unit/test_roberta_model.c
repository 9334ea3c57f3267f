/* test_roberta_model.c - the native RoBERTa engine against the float64 reference (tests/reference/roberta_ref.py)
 * on the committed tiny random-weight model, in both checkpoint formats, plus loader rejection cases. */
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
#include <unistd.h>

#include "sentiment/roberta/internal.h"
#include "sentiment/roberta/model.h"
#include "sentiment/roberta/tensorfile.h"

#define MAXN 64
#define MAXL 64

typedef struct fixture {
    char dir[1024];
    int n;
    int32_t ids[MAXN][MAXL];
    size_t lens[MAXN];
    double expect[MAXN][3];
} fixture;

static fixture F;

static void path_of(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", F.dir, name); }

static int setup(void **state) {
    (void)state;
    const char *src = getenv("CHATTER_SOURCE_DIR");
    snprintf(F.dir, sizeof F.dir, "%s/tests/fixtures/tiny-roberta", src ? src : ".");
    char p[1200];
    path_of(p, sizeof p, "inputs.jsonl");
    FILE *fi = fopen(p, "r");
    path_of(p, sizeof p, "expected.jsonl");
    FILE *fe = fopen(p, "r");
    if (!fi || !fe) return -1;
    char line[8192];
    F.n = 0;
    while (F.n < MAXN && fgets(line, sizeof line, fi)) {
        json_t *a = json_loads(line, 0, NULL);
        if (!json_is_array(a)) return -1;
        F.lens[F.n] = json_array_size(a);
        for (size_t i = 0; i < F.lens[F.n]; i++) F.ids[F.n][i] = (int32_t)json_integer_value(json_array_get(a, i));
        json_decref(a);
        if (!fgets(line, sizeof line, fe)) return -1;
        json_t *o = json_loads(line, 0, NULL), *lg = json_object_get(o, "logits");
        for (int k = 0; k < 3; k++) F.expect[F.n][k] = json_real_value(json_array_get(lg, (size_t)k));
        json_decref(o);
        F.n++;
    }
    fclose(fi);
    fclose(fe);
    return F.n > 5 ? 0 : -1;
}

static roberta_model *load(const char *weights, roberta_quant q) {
    char c[1200], w[1200];
    path_of(c, sizeof c, "config.json");
    path_of(w, sizeof w, weights);
    roberta_model *m = NULL;
    cerr e = {0};
    if (roberta_model_load_files(c, w, q, &m, &e)) fail_msg("load %s: %s", weights, e.msg);
    return m;
}

/* Runs every fixture input on its own (no batching) and returns the worst deviation from the reference. */
static double single_runs(roberta_model *m, float (*out)[3]) {
    roberta_session *s;
    cerr e = {0};
    assert_int_equal(roberta_session_new(m, 1, 0, 1, &s, &e), 0);
    double worst = 0;
    for (int i = 0; i < F.n; i++) {
        const int32_t *p = F.ids[i];
        assert_int_equal(roberta_session_run(s, &p, &F.lens[i], 1, &out[i], &e), 0);
        for (int k = 0; k < 3; k++) worst = fmax(worst, fabs(out[i][k] - F.expect[i][k]));
    }
    roberta_session_free(s);
    return worst;
}

static void test_parity_safetensors(void **state) {
    (void)state;
    roberta_model *m = load("model.safetensors", ROBERTA_FP32);
    const roberta_config *c = roberta_model_config(m);
    assert_int_equal(c->layers, 2);
    assert_int_equal(c->hidden, 32);
    assert_string_equal(roberta_model_format(m), "safetensors");
    float out[MAXN][3];
    double worst = single_runs(m, out);
    printf("tiny safetensors: max |logit - float64 reference| = %.3g\n", worst);
    assert_true(worst <= 2e-5);
    roberta_model_free(m);
}

static void test_parity_pytorch_bin(void **state) {
    (void)state;
    /* the .bin also holds position_ids, a pooler and gamma/beta names: all must be ignored or mapped */
    roberta_model *m = load("pytorch_model.bin", ROBERTA_FP32);
    assert_string_equal(roberta_model_format(m), "pytorch");
    float out[MAXN][3];
    double worst = single_runs(m, out);
    printf("tiny pytorch_model.bin: max |logit - float64 reference| = %.3g\n", worst);
    assert_true(worst <= 2e-5);
    roberta_model_free(m);
}

static void test_half_formats(void **state) {
    (void)state;
    const char *files[] = {"model-f16.safetensors", "model-bf16.safetensors"};
    const double tol[] = {5e-3, 5e-2};
    for (int f = 0; f < 2; f++) {
        roberta_model *m = load(files[f], ROBERTA_FP32);
        float out[MAXN][3];
        double worst = single_runs(m, out);
        printf("%s: max logit drift from fp32 reference %.3g\n", files[f], worst);
        assert_true(worst < tol[f]);
        assert_true(worst > 1e-7); /* really converted from half precision, not silently the fp32 file */
        roberta_model_free(m);
    }
}

static void test_batched_equals_single(void **state) {
    (void)state;
    roberta_model *m = load("model.safetensors", ROBERTA_FP32);
    float single[MAXN][3], batched[2 * MAXN][3];
    single_runs(m, single);
    /* every input twice, in a scrambled order, through small batches and 2 threads */
    const int32_t *p[2 * MAXN];
    size_t l[2 * MAXN];
    int n = 0;
    for (int i = F.n - 1; i >= 0; i--) {
        p[n] = F.ids[i];
        l[n++] = F.lens[i];
    }
    for (int i = 0; i < F.n; i++) {
        p[n] = F.ids[i];
        l[n++] = F.lens[i];
    }
    roberta_session *s;
    cerr e = {0};
    assert_int_equal(roberta_session_new(m, 5, 60, 2, &s, &e), 0);
    assert_int_equal(roberta_session_run(s, p, l, (size_t)n, batched, &e), 0);
    roberta_stats st;
    roberta_session_stats(s, &st);
    size_t uniq = 0; /* the fixture itself may repeat a short input */
    for (int i = 0; i < F.n; i++) {
        bool dup = false;
        for (int j = 0; j < i && !dup; j++)
            dup = F.lens[i] == F.lens[j] && memcmp(F.ids[i], F.ids[j], F.lens[i] * 4) == 0;
        uniq += !dup;
    }
    assert_int_equal(st.computed, uniq); /* duplicates computed once */
    assert_true(st.batches >= 4);
    double worst = 0;
    for (int i = 0; i < F.n; i++)
        for (int k = 0; k < 3; k++) {
            worst = fmax(worst, fabs(batched[F.n - 1 - i][k] - single[i][k]));
            worst = fmax(worst, fabs(batched[F.n + i][k] - single[i][k]));
        }
    printf("batched vs single: max diff %.3g\n", worst);
    assert_true(worst <= 1e-5);
    /* bad inputs are rejected, not run */
    int32_t bad[2] = {0, 100};
    const int32_t *bp = bad;
    size_t bl = 2;
    assert_int_equal(roberta_session_run(s, &bp, &bl, 1, batched, &e), -1);
    assert_non_null(strstr(e.msg, "vocabulary"));
    bl = 0;
    assert_int_equal(roberta_session_run(s, &bp, &bl, 1, batched, &e), -1);
    roberta_session_free(s);
    roberta_model_free(m);
}

static void test_int8(void **state) {
    (void)state;
    roberta_model *m = load("model.safetensors", ROBERTA_INT8);
    float out[MAXN][3];
    double worst = single_runs(m, out);
    int agree = 0;
    for (int i = 0; i < F.n; i++) {
        int a = 0, b = 0;
        for (int k = 1; k < 3; k++) {
            if (out[i][k] > out[i][a]) a = k;
            if (F.expect[i][k] > F.expect[i][b]) b = k;
        }
        agree += a == b;
    }
    printf("int8 (%s kernel): max logit drift %.3g, label agreement %d/%d\n", k_int8_kernel_name(), worst, agree, F.n);
    assert_true(worst < 0.25);
    assert_true(agree >= F.n - 1);
    roberta_model_free(m);
}

static void test_int8_kernels_agree(void **state) {
    (void)state;
    enum { M = 7, N = 9, K = 96 };
    /* aligned_alloc wants a size that is a multiple of the alignment */
    uint8_t *x = aligned_alloc(64, (M * K + 63) / 64 * 64);
    int8_t *w = aligned_alloc(64, (N * K + 63) / 64 * 64);
    float xs[M], ws[N], b[N], y0[M * N], y1[M * N];
    int32_t wsum[N], xz[M];
    srand(7);
    for (int i = 0; i < M * K; i++) x[i] = (uint8_t)(rand() % 256);
    for (int i = 0; i < N * K; i++) w[i] = (int8_t)(rand() % 255 - 127);
    for (int i = 0; i < M; i++) xs[i] = 0.01f * (float)(i + 1), xz[i] = i * 30;
    for (int i = 0; i < N; i++) ws[i] = 0.02f * (float)(i + 1), b[i] = (float)i;
    for (int j = 0; j < N; j++) {
        wsum[j] = 0;
        for (int k = 0; k < K; k++) wsum[j] += w[j * K + k];
    }
    assert_int_equal(k_int8_gemm_impl(0, x, xs, xz, M, w, ws, wsum, b, 0, N, K, y0, N), 0);
    for (int i = 0; i < M; i++) /* the C version against the definition */
        for (int j = 0; j < N; j++) {
            long acc = 0;
            for (int k = 0; k < K; k++) acc += (long)x[i * K + k] * w[j * K + k];
            assert_float_equal(y0[i * N + j], xs[i] * ws[j] * (float)(acc - (long)xz[i] * wsum[j]) + b[j], 1e-3);
        }
    int tried = 0;
    for (int impl = 1; impl <= 2; impl++) {
        if (k_int8_gemm_impl(impl, x, xs, xz, M, w, ws, wsum, b, 0, N, K, y1, N) != 0) continue; /* CPU lacks it */
        tried++;
        assert_memory_equal(y0, y1, sizeof y0);
    }
    printf("int8 kernels checked against portable C: %d (this CPU runs %s)\n", tried, k_int8_kernel_name());
    /* extreme values: no saturation anywhere */
    memset(x, 255, M * K);
    memset(w, 0x81, N * K); /* -127 */
    for (int j = 0; j < N; j++) wsum[j] = -127 * K;
    for (int i = 0; i < M; i++) xz[i] = 0;
    assert_int_equal(k_int8_gemm_impl(0, x, xs, xz, M, w, ws, wsum, b, 0, N, K, y0, N), 0);
    assert_float_equal(y0[0], xs[0] * ws[0] * (-255.0f * 127.0f * K) + b[0], 1e-2);
    for (int impl = 1; impl <= 2; impl++)
        if (k_int8_gemm_impl(impl, x, xs, xz, M, w, ws, wsum, b, 0, N, K, y1, N) == 0)
            assert_memory_equal(y0, y1, sizeof y0);
    /* activation quantisation: the dispatched version equals the C one and reconstructs within half a step */
    enum { R = 5, C = 77, CP = 96 };
    float src[R * C];
    for (int i = 0; i < R * C; i++) src[i] = (float)((rand() % 20001) - 5000) * 1e-3f * (float)(1 + i % 3);
    for (int i = 0; i < C; i++) src[4 * C + i] = 0.0f; /* an all-zero row */
    uint8_t *q0 = aligned_alloc(64, (R * CP + 63) / 64 * 64), *q1 = aligned_alloc(64, (R * CP + 63) / 64 * 64);
    float s0[R], s1[R];
    int32_t z0[R], z1[R];
    k_quantize_rows_c(src, R, C, C, CP, q0, s0, z0);
    k_quantize_rows(src, R, C, C, CP, q1, s1, z1);
    assert_memory_equal(q0, q1, R * CP);
    assert_memory_equal(z0, z1, sizeof z0);
    for (int r = 0; r < R; r++)
        for (int i = 0; i < C; i++)
            assert_true(fabsf(s0[r] * (float)(q0[r * CP + i] - z0[r]) - src[r * C + i]) <= 0.5f * s0[r] * 1.001f);
    free(q0);
    free(q1);
    free(x);
    free(w);
}

static void test_gelu_and_half(void **state) {
    (void)state;
    float worst = 0;
    enum { NG = 16001 };
    float *g = malloc(NG * sizeof *g); /* one call: the vector path and its scalar tail */
    for (int i = 0; i < NG; i++) g[i] = (float)(i - 8000) * 1e-3f;
    k_gelu(g, NG);
    for (int i = 0; i < NG; i++) {
        double x = (float)(i - 8000) * 1e-3f, ref = 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
        worst = fmaxf(worst, (float)fabs(g[i] - ref));
    }
    free(g);
    printf("GELU max abs error vs exact erf form: %.3g\n", worst);
    assert_true(worst < 2e-6);
    float vals[] = {0.0f, 1.0f, -2.5f, 65504.0f, 6.1e-5f, 3e-7f, 0.1f, -1234.5f};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        float r = k_f16_to_f32(k_f32_to_f16(vals[i]));
        assert_true(fabsf(r - vals[i]) <= fabsf(vals[i]) * 1e-3f + 6e-8f);
    }
}

/* ---- loader rejection cases ---- */

static char *write_temp(const void *data, size_t n) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/chatter-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
    return path;
}

static unsigned char *slurp(const char *name, size_t *n) {
    char p[1200];
    path_of(p, sizeof p, name);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *d = malloc(*n);
    assert_int_equal(fread(d, 1, *n, f), *n);
    fclose(f);
    return d;
}

static void expect_open_fails(const void *data, size_t n, const char *needle) {
    char *p = write_temp(data, n);
    tensorfile *tf = NULL;
    cerr e = {0};
    int rc = tensorfile_open(p, &tf, &e);
    if (rc == 0) tensorfile_close(tf);
    unlink(p);
    if (rc == 0) fail_msg("expected failure containing '%s'", needle);
    if (!strstr(e.msg, needle)) fail_msg("message '%s' lacks '%s'", e.msg, needle);
    assert_non_null(strstr(e.msg, "/tmp/chatter-test-")); /* names the file */
}

static void test_reject_corrupt(void **state) {
    (void)state;
    size_t n;
    unsigned char *st = slurp("model.safetensors", &n);
    expect_open_fails(st, n - 100, "outside the file");  /* truncated data */
    expect_open_fails(st, 20, "truncated");               /* truncated header */
    unsigned char *bad = malloc(n);
    memcpy(bad, st, n);
    char *f32 = memmem(bad, 4096, "\"F32\"", 5);
    assert_non_null(f32);
    memcpy(f32, "\"I32\"", 5);
    expect_open_fails(bad, n, "unsupported dtype I32");
    memcpy(bad, st, n);
    bad[8] = '['; /* header no longer an object */
    expect_open_fails(bad, n, "not a JSON object");
    free(bad);
    free(st);

    unsigned char *pt = slurp("pytorch_model.bin", &n);
    expect_open_fails(pt, n / 2, "end-of-directory");  /* truncated zip */
    bad = malloc(n);
    memcpy(bad, pt, n);
    unsigned char *cd = NULL; /* corrupt the first central directory entry's local-header offset */
    for (size_t i = n - 22; i > 0; i--)
        if (memcmp(bad + i, "PK\x05\x06", 4) == 0) {
            uint32_t off = (uint32_t)bad[i + 16] | (uint32_t)bad[i + 17] << 8 | (uint32_t)bad[i + 18] << 16 | (uint32_t)bad[i + 19] << 24;
            cd = bad + off;
            break;
        }
    assert_non_null(cd);
    cd[42] = 0xff, cd[43] = 0xff, cd[44] = 0xff, cd[45] = 0x7f;
    expect_open_fails(bad, n, "outside the file");
    free(bad);
    free(pt);

    /* a pickle that names os.system must be refused before anything else */
    cerr e = {0};
    const unsigned char evil[] = "\x80\x02" "cos\nsystem\n" "X\x02\x00\x00\x00id" "\x85R.";
    assert_int_equal(pickle_read_state_dict_(evil, sizeof evil - 1, NULL, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "os.system"));
    const unsigned char builtins[] = "\x80\x02\x8c\x08" "builtins" "\x8c\x04" "eval" "\x93.";
    assert_int_equal(pickle_read_state_dict_(builtins, sizeof builtins - 1, NULL, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "builtins.eval"));
    const unsigned char opcode[] = "\x80\x02" "I1\n.";
    assert_int_equal(pickle_read_state_dict_(opcode, sizeof opcode - 1, NULL, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "not allowed"));
}

static void test_reject_shape_and_missing(void **state) {
    (void)state;
    char w[1200], c[1200];
    path_of(w, sizeof w, "model.safetensors");
    path_of(c, sizeof c, "config.json");
    /* a config that disagrees with the weights: intermediate 64 -> 48 */
    size_t n;
    unsigned char *cfg = slurp("config.json", &n);
    char *txt = calloc(1, n + 1);
    memcpy(txt, cfg, n);
    char *at = strstr(txt, "\"intermediate_size\": 64");
    assert_non_null(at);
    memcpy(at, "\"intermediate_size\": 48", 23);
    char *p = write_temp(txt, n);
    roberta_model *m = NULL;
    cerr e = {0};
    assert_int_equal(roberta_model_load_files(p, w, ROBERTA_FP32, &m, &e), -1);
    assert_non_null(strstr(e.msg, "roberta.encoder.layer.0.intermediate.dense.weight"));
    assert_non_null(strstr(e.msg, "expected [48,32]"));
    assert_non_null(strstr(e.msg, "model.safetensors"));
    unlink(p);
    /* more layers than the file has: a missing tensor */
    memcpy(txt, cfg, n);
    at = strstr(txt, "\"num_hidden_layers\": 2");
    assert_non_null(at);
    memcpy(at, "\"num_hidden_layers\": 3", 22);
    p = write_temp(txt, n);
    assert_int_equal(roberta_model_load_files(p, w, ROBERTA_FP32, &m, &e), -1);
    assert_non_null(strstr(e.msg, "missing tensor 'roberta.encoder.layer.2."));
    unlink(p);
    /* id2label casing: upper case maps to the same order; a foreign label is refused */
    memcpy(txt, cfg, n);
    at = strstr(txt, "\"negative\"");
    memcpy(at, "\"Negative\"", 10);
    p = write_temp(txt, n);
    roberta_config rc;
    assert_int_equal(roberta_config_load(p, &rc, &e), 0);
    assert_int_equal(rc.label_of_output[0], 0);
    assert_string_equal(rc.label_names[0], "Negative");
    unlink(p);
    memcpy(at, "\"Angry!!!\"", 10);
    p = write_temp(txt, n);
    assert_int_equal(roberta_config_load(p, &rc, &e), -1);
    unlink(p);
    free(txt);
    free(cfg);
}

/* Corrupted checkpoints must load or fail with a message, never crash (run under ASan in CI): every truncation
 * point of the pickle region and random byte flips across both files. */
static void test_mutations_do_not_crash(void **state) {
    (void)state;
    const char *files[] = {"pytorch_model.bin", "model.safetensors"};
    unsigned seed = 1;
    for (int f = 0; f < 2; f++) {
        size_t n;
        unsigned char *orig = slurp(files[f], &n), *d = malloc(n);
        int ok = 0, failed = 0;
        for (int iter = 0; iter < 400; iter++) {
            memcpy(d, orig, n);
            size_t len = n;
            if (iter < 100) {
                len = (size_t)iter * 97 % n; /* truncation */
            } else {
                int flips = 1 + iter % 4;
                for (int k = 0; k < flips; k++) {
                    seed = seed * 1103515245u + 12345u;
                    /* bias towards the headers, where the structure is */
                    size_t at = (seed >> 4) % (iter % 2 ? n : (n < 6000 ? n : 6000));
                    seed = seed * 1103515245u + 12345u;
                    d[at] = (unsigned char)(seed >> 16);
                }
            }
            char *p = write_temp(d, len);
            tensorfile *tf = NULL;
            cerr e = {0};
            if (tensorfile_open(p, &tf, &e) == 0) {
                ok++;
                float buf[64];
                for (size_t i = 0; i < tensorfile_count(tf); i++) { /* touch the data of every tensor */
                    const tf_tensor *t = tensorfile_at(tf, i);
                    if (t->dtype != TF_I64 && t->numel > 0) tensorfile_copy_f32(t, t->numel - 1, 1, buf);
                }
                tensorfile_close(tf);
            } else {
                failed++;
                assert_true(strlen(e.msg) > 0);
            }
            unlink(p);
        }
        printf("%s: %d mutated files loaded, %d rejected\n", files[f], ok, failed);
        assert_true(failed > 100);
        free(d);
        free(orig);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parity_safetensors), cmocka_unit_test(test_parity_pytorch_bin),
        cmocka_unit_test(test_half_formats),       cmocka_unit_test(test_batched_equals_single),
        cmocka_unit_test(test_int8),               cmocka_unit_test(test_int8_kernels_agree),
        cmocka_unit_test(test_gelu_and_half),      cmocka_unit_test(test_reject_corrupt),
        cmocka_unit_test(test_reject_shape_and_missing), cmocka_unit_test(test_mutations_do_not_crash),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
