/* bench_roberta.c - benchmark driver for the native RoBERTa engine, and a stand-in for `chatter model run|info`
 * until those are wired into main.c.
 *   bench_roberta run DIR [...]      same as `chatter model run`
 *   bench_roberta info DIR [...]     same as `chatter model info`
 *   bench_roberta speed DIR LENS_FILE --batch N [--quantize int8] [--threads T] [--order input|sorted] [--reps R]
 *       comments/s over the token lengths in LENS_FILE (one length per line), as batches of N in file order
 *   bench_roberta sgemm [--threads T]   peak sgemm GFLOP/s (OpenBLAS, square 2048, T threads of our own)
 *   bench_roberta agree DIR TEXTS_FILE  fp32 vs int8 labels and logit drift on real comments (one per line)
 *   bench_roberta lengths DIR TEXTS_FILE  token count per comment (stdout) and tokenizer comments/s (stderr)
 *   bench_roberta ids DIR TEXTS_FILE      token ids per comment, one JSON array per line
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cblas.h>

#include "cli/cmd_model.h"
#include "core/util.h"
#include "sentiment/roberta/model.h"
#include "sentiment/roberta/tokenizer.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long peak_rss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static const char *opt(int argc, char **argv, const char *name, const char *dflt) {
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return dflt;
}

static int die(const char *what, const cerr *e) {
    fprintf(stderr, "bench_roberta: %s: %s\n", what, e->msg);
    return 1;
}

/* Random token sequences <s> x.. </s> with the given lengths (ids drawn from the whole vocabulary). */
static int32_t **make_seqs(const size_t *lens, size_t n, int vocab) {
    int32_t **ids = calloc(n, sizeof *ids);
    unsigned s = 12345;
    for (size_t i = 0; i < n; i++) {
        ids[i] = malloc(lens[i] * sizeof **ids);
        for (size_t t = 0; t < lens[i]; t++) {
            s = s * 1103515245u + 12345u;
            ids[i][t] = t == 0 ? 0 : t + 1 == lens[i] ? 2 : (int32_t)(3 + (s >> 8) % (unsigned)(vocab - 3));
        }
    }
    return ids;
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static int speed(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *dir = argv[1], *lens_file = argv[2];
    int batch = atoi(opt(argc, argv, "--batch", "32")), threads = atoi(opt(argc, argv, "--threads", "2"));
    int reps = atoi(opt(argc, argv, "--reps", "1"));
    const char *order = opt(argc, argv, "--order", "input");
    cerr e = {0};
    roberta_quant q;
    if (roberta_quant_parse(opt(argc, argv, "--quantize", "none"), &q, &e)) return die("quantize", &e);
    FILE *f = fopen(lens_file, "r");
    if (!f) return fprintf(stderr, "cannot open %s\n", lens_file), 1;
    size_t cap = 1 << 16, n = 0, *lens = malloc(cap * sizeof *lens);
    long v;
    while (n < cap && fscanf(f, "%ld", &v) == 1) lens[n++] = (size_t)v;
    fclose(f);
    if (strcmp(order, "sorted") == 0) qsort(lens, n, sizeof *lens, cmp_size);
    double t0 = now_s();
    roberta_model *m;
    if (roberta_model_load(dir, q, &m, &e)) return die("load", &e);
    double tload = now_s() - t0;
    roberta_session *s;
    /* token budget: a whole batch of the longest comments fits, so a batch is exactly `batch` comments */
    size_t maxlen = 0;
    for (size_t i = 0; i < n; i++) maxlen = lens[i] > maxlen ? lens[i] : maxlen;
    if (roberta_session_new(m, batch, (int)(maxlen * (size_t)batch), threads, &s, &e)) return die("session", &e);
    int32_t **ids = make_seqs(lens, n, roberta_model_config(m)->vocab);
    float(*lg)[3] = malloc(n * sizeof *lg);
    double flops = 0, best = 1e30, td = 0, ta = 0, to = 0;
    size_t real_tokens = 0;
    for (size_t i = 0; i < n; i++) real_tokens += lens[i];
    for (int r = 0; r < reps; r++) {
        double t1 = now_s();
        flops = 0;
        td = ta = to = 0;
        /* batches of `batch` comments in file order, as a caller would hand them over */
        for (size_t i = 0; i < n; i += (size_t)batch) {
            size_t k = n - i < (size_t)batch ? n - i : (size_t)batch;
            if (roberta_session_run(s, (const int32_t *const *)ids + i, lens + i, k, lg + i, &e)) return die("run", &e);
            roberta_stats st;
            roberta_session_stats(s, &st);
            flops += st.flops;
            td += st.t_dense, ta += st.t_attn, to += st.t_other;
        }
        double dt = now_s() - t1;
        if (dt < best) best = dt;
    }
    printf("{\"quantize\": \"%s\", \"batch\": %d, \"threads\": %d, \"order\": \"%s\", \"comments\": %zu, "
           "\"tokens\": %zu, \"seconds\": %.3f, \"comments_per_s\": %.2f, \"gflops\": %.1f, \"load_s\": %.2f, "
           "\"peak_rss_mb\": %.1f, \"resident_weights_mb\": %.1f, \"t_dense\": %.2f, \"t_attn\": %.2f, \"t_other\": %.2f}\n",
           q == ROBERTA_INT8 ? "int8" : "none", batch, threads, order, n, real_tokens, best, (double)n / best,
           flops / best * 1e-9, tload, (double)peak_rss_kb() / 1024.0,
           (double)roberta_model_resident_bytes(m) / 1048576.0, td, ta, to);
    for (size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
    free(lg);
    free(lens);
    roberta_session_free(s);
    roberta_model_free(m);
    return 0;
}

typedef struct sg {
    int n, threads;
    float *a, *b, *c;
} sg;

#include <pthread.h>
static void *sg_thread(void *arg) {
    sg *g = arg;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->n, g->n, g->n, 1.0f, g->a, g->n, g->b, g->n, 0.0f, g->c,
                g->n);
    return NULL;
}

/* Peak: each of T threads multiplies its own 2048² matrices with single-threaded OpenBLAS (the engine's model). */
static int sgemm_peak(int argc, char **argv) {
    int threads = atoi(opt(argc, argv, "--threads", "2")), n = 2048;
    openblas_set_num_threads(1);
    sg g[64];
    for (int t = 0; t < threads; t++) {
        g[t].n = n;
        g[t].a = aligned_alloc(64, (size_t)n * n * 4);
        g[t].b = aligned_alloc(64, (size_t)n * n * 4);
        g[t].c = aligned_alloc(64, (size_t)n * n * 4);
        for (size_t i = 0; i < (size_t)n * n; i++) g[t].a[i] = g[t].b[i] = (float)(i % 7) * 0.1f;
    }
    double best = 0;
    for (int r = 0; r < 3; r++) {
        pthread_t tid[64];
        double t0 = now_s();
        for (int t = 0; t < threads; t++) pthread_create(&tid[t], NULL, sg_thread, &g[t]);
        for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
        double gf = 2.0 * n * n * n * threads / (now_s() - t0) * 1e-9;
        if (gf > best) best = gf;
    }
    printf("{\"sgemm_gflops\": %.1f, \"threads\": %d, \"n\": %d}\n", best, threads, n);
    return 0;
}

/* Tokenizes one comment per line of a file exactly as the analyzer does (card preprocessing, BPE, 512 max). */
static int tokenize_file(const char *dir, const char *path, int32_t ***ids_out, size_t **lens_out, size_t *n_out,
                         double *secs) {
    cerr e = {0};
    char vp[4096], mp[4096];
    snprintf(vp, sizeof vp, "%s/vocab.json", dir);
    snprintf(mp, sizeof mp, "%s/merges.txt", dir);
    bpe_tokenizer *tok;
    bpe_session *ts;
    if (bpe_tokenizer_load(vp, mp, &tok, &e) || bpe_session_new(tok, &ts, &e)) return die("tokenizer", &e);
    FILE *f = fopen(path, "r");
    if (!f) return fprintf(stderr, "cannot open %s\n", path), 1;
    size_t cap = 1 << 16, n = 0, *lens = calloc(cap, sizeof *lens);
    int32_t **ids = calloc(cap, sizeof *ids);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    buf pre;
    buf_init(&pre, 0);
    double t0 = now_s();
    while (n < cap && (len = getline(&line, &lcap, f)) > 0) {
        if (line[len - 1] == '\n') line[--len] = 0;
        bool tr;
        ids[n] = malloc(512 * sizeof **ids);
        if (roberta_preprocess(line, (size_t)len, &pre, &e) ||
            bpe_encode(ts, pre.data ? pre.data : "", pre.len, ids[n], 512, &lens[n], &tr, &e))
            return die("encode", &e);
        n++;
    }
    *secs = now_s() - t0;
    fclose(f);
    free(line);
    buf_free(&pre);
    bpe_session_free(ts);
    bpe_tokenizer_free(tok);
    *ids_out = ids;
    *lens_out = lens;
    *n_out = n;
    return 0;
}

/* Token counts of real comments (for `speed`), and the tokenizer's comments/s on one core. */
static int lengths(int argc, char **argv) {
    if (argc < 3) return 2;
    int32_t **ids;
    size_t *lens, n;
    double secs;
    if (tokenize_file(argv[1], argv[2], &ids, &lens, &n, &secs)) return 1;
    /* a second, warm pass: the tokenizer's per-session word cache is part of how it runs in a worker */
    for (size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
    free(lens);
    if (tokenize_file(argv[1], argv[2], &ids, &lens, &n, &secs)) return 1;
    for (size_t i = 0; i < n; i++) printf("%zu\n", lens[i]);
    fprintf(stderr, "{\"tokenizer_comments\": %zu, \"tokenizer_comments_per_s\": %.0f}\n", n, (double)n / secs);
    return 0;
}

/* Token ids of each comment as a JSON array per line (what `model run` and roberta_torch.py --agree read). */
static int ids_mode(int argc, char **argv) {
    if (argc < 3) return 2;
    int32_t **ids;
    size_t *lens, n;
    double secs;
    if (tokenize_file(argv[1], argv[2], &ids, &lens, &n, &secs)) return 1;
    for (size_t i = 0; i < n; i++) {
        putchar('[');
        for (size_t t = 0; t < lens[i]; t++) printf("%s%d", t ? ", " : "", ids[i][t]);
        puts("]");
    }
    return 0;
}

/* fp32 vs int8 on real comment texts: label agreement and the largest logit difference. */
static int agree(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *dir = argv[1];
    cerr e = {0};
    int32_t **ids;
    size_t *lens, n;
    double secs;
    if (tokenize_file(dir, argv[2], &ids, &lens, &n, &secs)) return 1;
    float(*a)[3] = malloc(n * sizeof *a), (*b)[3] = malloc(n * sizeof *b);
    int threads = atoi(opt(argc, argv, "--threads", "2"));
    for (int pass = 0; pass < 2; pass++) {
        roberta_model *m;
        roberta_session *s;
        if (roberta_model_load(dir, pass ? ROBERTA_INT8 : ROBERTA_FP32, &m, &e) ||
            roberta_session_new(m, 32, 0, threads, &s, &e))
            return die("load", &e);
        double t0 = now_s();
        if (roberta_session_run(s, (const int32_t *const *)ids, lens, n, pass ? b : a, &e)) return die("run", &e);
        fprintf(stderr, "%s: %zu comments in %.1f s\n", pass ? "int8" : "fp32", n, now_s() - t0);
        roberta_session_free(s);
        roberta_model_free(m);
    }
    size_t same = 0, dist[3] = {0, 0, 0};
    double drift = 0, mean = 0;
    for (size_t i = 0; i < n; i++) {
        int la = 0, lb = 0;
        for (int k = 1; k < 3; k++) {
            if (a[i][k] > a[i][la]) la = k;
            if (b[i][k] > b[i][lb]) lb = k;
        }
        same += la == lb;
        dist[la]++;
        for (int k = 0; k < 3; k++) {
            drift = fmax(drift, fabs(a[i][k] - b[i][k]));
            mean += fabs(a[i][k] - b[i][k]) / (3.0 * (double)n);
        }
    }
    /* A random-weight model tends to give every comment the same label, which makes agreement trivial. Shifting
     * the output bias by minus the mean fp32 logit (another valid model: int8 keeps biases in fp32, so this is
     * exactly what that model's two paths would output) spreads the labels over the classes. */
    double mu[3] = {0, 0, 0}, sd[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 3; k++) mu[k] += a[i][k] / (double)n;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 3; k++) sd[k] += (a[i][k] - mu[k]) * (a[i][k] - mu[k]) / (double)n;
    size_t same2 = 0, dist2[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        int la = 0, lb = 0;
        for (int k = 1; k < 3; k++) {
            if (a[i][k] - mu[k] > a[i][la] - mu[la]) la = k;
            if (b[i][k] - mu[k] > b[i][lb] - mu[lb]) lb = k;
        }
        same2 += la == lb;
        dist2[la]++;
    }
    printf("{\"comments\": %zu, \"label_agreement\": %.4f, \"fp32_labels_by_output\": [%zu, %zu, %zu], "
           "\"recentred_label_agreement\": %.4f, \"recentred_fp32_labels\": [%zu, %zu, %zu], "
           "\"max_logit_drift\": %.4f, \"mean_logit_drift\": %.4f, \"fp32_logit_std\": [%.3f, %.3f, %.3f]}\n",
           n, (double)same / (double)n, dist[0], dist[1], dist[2], (double)same2 / (double)n, dist2[0], dist2[1],
           dist2[2], drift, mean, sqrt(sd[0]), sqrt(sd[1]), sqrt(sd[2]));
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_roberta run|info|speed|sgemm|agree ...\n");
        return 2;
    }
    if (strcmp(argv[1], "run") == 0) return cmd_model_run(argc - 1, argv + 1);
    if (strcmp(argv[1], "info") == 0) return cmd_model_info(argc - 1, argv + 1);
    if (strcmp(argv[1], "speed") == 0) return speed(argc - 1, argv + 1);
    if (strcmp(argv[1], "sgemm") == 0) return sgemm_peak(argc - 1, argv + 1);
    if (strcmp(argv[1], "agree") == 0) return agree(argc - 1, argv + 1);
    if (strcmp(argv[1], "lengths") == 0) return lengths(argc - 1, argv + 1);
    if (strcmp(argv[1], "ids") == 0) return ids_mode(argc - 1, argv + 1);
    fprintf(stderr, "bench_roberta: unknown mode %s\n", argv[1]);
    return 2;
}
