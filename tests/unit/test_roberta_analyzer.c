/* test_roberta_analyzer.c - the roberta analyzer end to end on a small random model that uses the real
 * vocabulary (so the real tokenizer's ids fit): preprocessing, tokenization, batching, label mapping,
 * truncation flag and model id. The model is written here as a safetensors file in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sentiment/roberta/model.h"
#include "sentiment/roberta_analyzer.h"

enum { H = 16, FF = 32, V = 50265, P = 514, NL = 1 };

static char dir[64];
static char shared[1024];

typedef struct tdesc {
    char name[96];
    int nd;
    long d0, d1;
} tdesc;

static void write_model(const char *path) {
    tdesc t[64];
    int n = 0;
#define T2(nm, a, b) (snprintf(t[n].name, 96, "%s", nm), t[n].nd = 2, t[n].d0 = a, t[n].d1 = b, n++)
#define T1(nm, a) (snprintf(t[n].name, 96, "%s", nm), t[n].nd = 1, t[n].d0 = a, t[n].d1 = 1, n++)
    T2("roberta.embeddings.word_embeddings.weight", V, H);
    T2("roberta.embeddings.position_embeddings.weight", P, H);
    T2("roberta.embeddings.token_type_embeddings.weight", 1, H);
    T1("roberta.embeddings.LayerNorm.weight", H);
    T1("roberta.embeddings.LayerNorm.bias", H);
    const char *lin[][3] = {{"attention.self.query", "H", "H"}, {"attention.self.key", "H", "H"},
                            {"attention.self.value", "H", "H"}, {"attention.output.dense", "H", "H"},
                            {"intermediate.dense", "F", "H"},   {"output.dense", "H", "F"}};
    char nm[96];
    for (int i = 0; i < 6; i++) {
        long o = lin[i][1][0] == 'F' ? FF : H, in = lin[i][2][0] == 'F' ? FF : H;
        snprintf(nm, sizeof nm, "roberta.encoder.layer.0.%s.weight", lin[i][0]);
        T2(nm, o, in);
        snprintf(nm, sizeof nm, "roberta.encoder.layer.0.%s.bias", lin[i][0]);
        T1(nm, o);
    }
    T1("roberta.encoder.layer.0.attention.output.LayerNorm.weight", H);
    T1("roberta.encoder.layer.0.attention.output.LayerNorm.bias", H);
    T1("roberta.encoder.layer.0.output.LayerNorm.weight", H);
    T1("roberta.encoder.layer.0.output.LayerNorm.bias", H);
    T2("classifier.dense.weight", H, H);
    T1("classifier.dense.bias", H);
    T2("classifier.out_proj.weight", 3, H);
    T1("classifier.out_proj.bias", 3);
    char header[16384];
    size_t hl = 0, off = 0;
    hl += (size_t)snprintf(header + hl, sizeof header - hl, "{");
    for (int i = 0; i < n; i++) {
        size_t bytes = (size_t)t[i].d0 * (size_t)t[i].d1 * 4;
        if (t[i].nd == 2)
            hl += (size_t)snprintf(header + hl, sizeof header - hl, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%ld,%ld],\"data_offsets\":[%zu,%zu]}",
                                   i ? "," : "", t[i].name, t[i].d0, t[i].d1, off, off + bytes);
        else
            hl += (size_t)snprintf(header + hl, sizeof header - hl, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%ld],\"data_offsets\":[%zu,%zu]}",
                                   i ? "," : "", t[i].name, t[i].d0, off, off + bytes);
        off += bytes;
    }
    hl += (size_t)snprintf(header + hl, sizeof header - hl, "}");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint64_t h64 = hl;
    fwrite(&h64, 8, 1, f);
    fwrite(header, 1, hl, f);
    unsigned s = 99;
    for (int i = 0; i < n; i++) {
        size_t cnt = (size_t)t[i].d0 * (size_t)t[i].d1;
        bool ln_w = strstr(t[i].name, "LayerNorm.weight") != NULL;
        for (size_t k = 0; k < cnt; k++) {
            s = s * 1103515245u + 12345u;
            float v = ((float)((s >> 9) & 0xffff) / 65536.0f - 0.5f) * (t[i].nd == 2 ? 1.0f : 0.2f);
            if (ln_w) v += 1.0f;
            fwrite(&v, 4, 1, f);
        }
    }
    fclose(f);
}

static int setup(void **state) {
    (void)state;
    const char *sh = getenv("CHATTER_SHARED");
    snprintf(shared, sizeof shared, "%s/data/roberta-base", sh ? sh : "../shared");
    snprintf(dir, sizeof dir, "/tmp/chatter-rob-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    char p[1200], q[1200];
    snprintf(p, sizeof p, "%s/config.json", dir);
    FILE *f = fopen(p, "w");
    fprintf(f, "{\"num_hidden_layers\": %d, \"hidden_size\": %d, \"num_attention_heads\": 2, \"intermediate_size\": %d,"
               " \"vocab_size\": %d, \"max_position_embeddings\": %d, \"layer_norm_eps\": 1e-05, \"pad_token_id\": 1,"
               " \"hidden_act\": \"gelu\", \"id2label\": {\"0\": \"Negative\", \"1\": \"Neutral\", \"2\": \"Positive\"}}\n",
            NL, H, FF, V, P);
    fclose(f);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    write_model(p);
    for (int i = 0; i < 2; i++) {
        const char *nm = i ? "merges.txt" : "vocab.json";
        snprintf(p, sizeof p, "%s/%s", shared, nm);
        snprintf(q, sizeof q, "%s/%s", dir, nm);
        if (symlink(p, q)) return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    const char *names[] = {"config.json", "model.safetensors", "vocab.json", "merges.txt", "REVISION"};
    char p[1200];
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

static void test_classify(void **state) {
    (void)state;
    analyzer_options opt = {.model_dir = dir, .quantize = "none", .threads = 2};
    void *model, *sess;
    cerr e = {0};
    if (roberta_analyzer_ops.load(&opt, &model, &e)) fail_msg("%s", e.msg);
    assert_string_equal(roberta_analyzer_ops.model_id(model), "cardiffnlp/twitter-roberta-base-sentiment-latest@local");
    assert_int_equal(roberta_analyzer_ops.session_new(model, &sess, &e), 0);

    enum { N = 6 };
    char *longtext = malloc(40001);
    for (int i = 0; i < 40000; i++) longtext[i] = "ab "[i % 3];
    longtext[40000] = 0;
    const char *texts[N] = {"Hello world", "@bob this is great http://x.y", "@alice this is great https://z",
                            "Hello world", longtext, ""};
    sentiment out[N];
    assert_int_equal(roberta_analyzer_ops.classify(sess, texts, N, out, &e), 0);
    for (int i = 0; i < N; i++) {
        assert_float_equal(out[i].p[0] + out[i].p[1] + out[i].p[2], 1.0f, 1e-5);
        int best = 0;
        for (int k = 1; k < 3; k++)
            if (out[i].p[k] > out[i].p[best]) best = k;
        assert_int_equal(out[i].label, best);
        assert_int_equal(out[i].truncated, i == 4);
    }
    /* the card's preprocessing makes these two the same input */
    assert_memory_equal(out[1].p, out[2].p, sizeof out[1].p);
    assert_memory_equal(out[0].p, out[3].p, sizeof out[0].p);

    /* "Hello world" is [0, 31414, 232, 2]: the analyzer's probabilities are the engine's softmax, label order
     * taken from id2label */
    roberta_model *m;
    roberta_session *rs;
    assert_int_equal(roberta_model_load(dir, ROBERTA_FP32, &m, &e), 0);
    assert_int_equal(roberta_session_new(m, 1, 0, 1, &rs, &e), 0);
    const int32_t hello[4] = {0, 31414, 232, 2}, *hp = hello;
    size_t hl = 4;
    float lg[1][3];
    assert_int_equal(roberta_session_run(rs, &hp, &hl, 1, lg, &e), 0);
    float mx = fmaxf(lg[0][0], fmaxf(lg[0][1], lg[0][2])), sum = 0;
    for (int k = 0; k < 3; k++) sum += expf(lg[0][k] - mx);
    for (int k = 0; k < 3; k++) assert_float_equal(out[0].p[k], expf(lg[0][k] - mx) / sum, 1e-5);
    roberta_session_free(rs);
    roberta_model_free(m);

    /* a classify call larger than one internal group */
    enum { BIG = 600 };
    const char **many = malloc(BIG * sizeof *many);
    sentiment *mo = malloc(BIG * sizeof *mo);
    for (int i = 0; i < BIG; i++) many[i] = texts[i % 4];
    assert_int_equal(roberta_analyzer_ops.classify(sess, many, BIG, mo, &e), 0);
    for (int i = 0; i < BIG; i++) /* other batch shapes: equal up to float rounding, not bit for bit */
        for (int k = 0; k < 3; k++) assert_float_equal(mo[i].p[k], out[i % 4].p[k], 1e-5);
    free(many);
    free(mo);
    free(longtext);
    roberta_analyzer_ops.session_free(sess);
    roberta_analyzer_ops.unload(model);
}

static void test_int8_and_revision(void **state) {
    (void)state;
    char p[1200];
    snprintf(p, sizeof p, "%s/REVISION", dir);
    FILE *f = fopen(p, "w");
    fprintf(f, "3216a57f2a0d9c45a2e6c20157c20c49fb4bf9c7\n");
    fclose(f);
    analyzer_options opt = {.model_dir = dir, .quantize = "int8"};
    void *model, *sess;
    cerr e = {0};
    if (roberta_analyzer_ops.load(&opt, &model, &e)) fail_msg("%s", e.msg);
    assert_string_equal(roberta_analyzer_ops.model_id(model),
                        "cardiffnlp/twitter-roberta-base-sentiment-latest@3216a57f2a0d9c45a2e6c20157c20c49fb4bf9c7+int8");
    assert_int_equal(roberta_analyzer_ops.session_new(model, &sess, &e), 0);
    const char *t[1] = {"what a lovely day"};
    sentiment out[1];
    assert_int_equal(roberta_analyzer_ops.classify(sess, t, 1, out, &e), 0);
    assert_float_equal(out[0].p[0] + out[0].p[1] + out[0].p[2], 1.0f, 1e-5);
    roberta_analyzer_ops.session_free(sess);
    roberta_analyzer_ops.unload(model);
    opt.quantize = "int4";
    assert_int_equal(roberta_analyzer_ops.load(&opt, &model, &e), -1);
    opt.quantize = NULL;
    opt.model_dir = "/nonexistent/roberta";
    assert_int_equal(roberta_analyzer_ops.load(&opt, &model, &e), -1);
    assert_non_null(strstr(e.msg, "model fetch roberta"));
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_classify), cmocka_unit_test(test_int8_and_revision)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
