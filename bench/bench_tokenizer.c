/* bench_tokenizer.c - comments/s of the RoBERTa tokenizer on one core, on real YouTube comments.
 *
 * Build (after the normal cmake build) and run from the repository root:
 *   cc -O2 -Isrc bench/bench_tokenizer.c build/libchatter_lib.a \
 *      $(pkg-config --libs jansson libpcre2-8 gnutls libcurl) -o build/bench_tokenizer
 *   ./build/bench_tokenizer ../shared
 * Reads the CONTENT column of every CSV in ../shared/data/comments/youtube_spam_collection. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/csv.h"
#include "core/util.h"
#include "sentiment/roberta/tokenizer.h"

typedef struct texts {
    char **s;
    size_t *len;
    size_t n, cap, bytes;
} texts;

static void add(texts *t, const char *s, size_t len) {
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 1024;
        t->s = realloc(t->s, t->cap * sizeof *t->s);
        t->len = realloc(t->len, t->cap * sizeof *t->len);
    }
    t->s[t->n] = xstrndup(s, len);
    t->len[t->n++] = len;
    t->bytes += len;
}

/* Appends the CONTENT column (the 4th: COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS) of a CSV file. */
static int read_content_column(const char *path, texts *out, cerr *e) {
    FILE *fp = fopen(path, "r");
    if (!fp) return cerr_set(e, CERR_IO, "cannot open %s", path);
    csv_reader *r;
    if (csv_reader_new(fp, 1u << 20, 64, &r, e)) {
        fclose(fp);
        return -1;
    }
    char **f;
    size_t nf;
    int rc;
    for (long row = 0; (rc = csv_read_row(r, &f, &nf, e)) == 1; row++)
        if (row > 0 && nf > 3) add(out, f[3], strlen(f[3]));
    csv_reader_free(r);
    fclose(fp);
    return rc < 0 ? -1 : 0;
}

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }
/* CPU time of this thread: the rate on one core even when other processes share the machine */
static double cpu_s(void) { return clock_s(CLOCK_THREAD_CPUTIME_ID); }

int main(int argc, char **argv) {
    const char *shared = argc > 1 ? argv[1] : "../shared";
    char pat[1024], vocab[1024], merges[1024];
    snprintf(pat, sizeof pat, "%s/data/comments/youtube_spam_collection/*.csv", shared);
    snprintf(vocab, sizeof vocab, "%s/data/roberta-base/vocab.json", shared);
    snprintf(merges, sizeof merges, "%s/data/roberta-base/merges.txt", shared);
    glob_t g;
    if (glob(pat, 0, NULL, &g) != 0) {
        fprintf(stderr, "no CSV files at %s\n", pat);
        return 1;
    }
    texts t = {0};
    cerr e = {0};
    for (size_t i = 0; i < g.gl_pathc; i++) {
        if (read_content_column(g.gl_pathv[i], &t, &e)) {
            fprintf(stderr, "%s: %s\n", g.gl_pathv[i], e.msg);
            return 1;
        }
    }
    globfree(&g);

    double t0 = now_s();
    bpe_tokenizer *tok;
    bpe_session *s;
    if (bpe_tokenizer_load(vocab, merges, &tok, &e) || bpe_session_new(tok, &s, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    printf("load: %.0f ms; %zu comments, %.1f bytes on average\n", (now_s() - t0) * 1e3, t.n,
           (double)t.bytes / (double)t.n);

    int32_t ids[512];
    size_t n_ids, total_ids = 0;
    bool trunc;
    buf pre;
    buf_init(&pre, 0);
    for (int mode = 0; mode < 3; mode++) {
        /* mode 0: first pass on a fresh session (cold word cache); 1: warm; 2: warm + card preprocessing */
        if (mode == 0) {
            bpe_session_free(s);
            if (bpe_session_new(tok, &s, &e)) return 1;
        }
        size_t done = 0;
        double start = now_s(), cpu0 = cpu_s(), el;
        do {
            for (size_t i = 0; i < t.n; i++) {
                const char *text = t.s[i];
                size_t len = t.len[i];
                if (mode == 2) {
                    if (roberta_preprocess(text, len, &pre, &e)) return 1;
                    text = pre.data;
                    len = pre.len;
                }
                if (bpe_encode(s, text, len, ids, 512, &n_ids, &trunc, &e)) {
                    fprintf(stderr, "%s\n", e.msg);
                    return 1;
                }
                total_ids += n_ids;
            }
            done += t.n;
            el = now_s() - start;
        } while (mode > 0 && el < 2.0);
        static const char *names[] = {"cold cache, one pass", "warm cache", "warm cache + preprocess"};
        double cpu = cpu_s() - cpu0;
        printf("%-26s %9.0f comments/s wall, %9.0f per CPU-second  (%.2f us CPU/comment)\n", names[mode],
               (double)done / el, (double)done / cpu, cpu / (double)done * 1e6);
    }
    printf("(ids produced: %zu)\n", total_ids);
    buf_free(&pre);
    bpe_session_free(s);
    bpe_tokenizer_free(tok);
    for (size_t i = 0; i < t.n; i++) free(t.s[i]);
    free(t.s);
    free(t.len);
    return 0;
}
