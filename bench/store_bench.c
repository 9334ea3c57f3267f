/* store_bench.c - throughput of the store operations a job goes through, on any backend URL.
 * Build and run with bench/store_bench.sh (SQLite, and PostgreSQL in a throw-away cluster). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "store/store.h"

enum { POSTS = 50, JOBS = 4, COMMENTS = 500, PAGE = 100, GETS = 20000 };

static void die(const char *what, const cerr *e) {
    fprintf(stderr, "store_bench: %s: %s\n", what, e->msg);
    exit(1);
}

static double rate(int64_t n, int64_t ms) { return (double)n * 1000.0 / (double)(ms > 0 ? ms : 1); }

static int classify(void *ud, const comment_to_classify *c, size_t n) {
    store *s = ud;
    sentiment_row rows[256];
    for (size_t i = 0; i < n; i++) rows[i] = (sentiment_row){.comment_ref = c[i].comment_ref, .s = {.label = (sentiment_label)(i % 3), .p = {0.2f, 0.3f, 0.5f}}};
    cerr e = {0};
    if (s->ops->sentiments_upsert(s, "bench-model", rows, n, &e)) die("sentiments_upsert", &e);
    return 0;
}

static int count_row(void *ud, const result_row *r) {
    int64_t *n = ud;
    *n += r->text[0] != 0;
    return 0;
}

typedef struct refs {
    int64_t post[POSTS];
    int n;
} refs;

static int collect(void *ud, const task_info *t) {
    refs *r = ud;
    r->post[r->n++] = t->post_ref;
    return 0;
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : "sqlite:///tmp/chatter-store-bench.db";
    cerr e = {0};
    store *s;
    if (store_open(url, &s, &e) || s->ops->migrate(s, NULL, &e)) die("open", &e);
    const char *name = s->ops->scheme;

    post_url posts[POSTS];
    int64_t jobs[JOBS];
    int64_t t0 = now_ms();
    for (int j = 0; j < JOBS; j++) {
        for (int i = 0; i < POSTS; i++) {
            posts[i] = (post_url){.platform = PLATFORM_YOUTUBE};
            snprintf(posts[i].post_id, sizeof posts[i].post_id, "b%lld-%d-%d", (long long)t0, j, i);
            snprintf(posts[i].canonical_url, sizeof posts[i].canonical_url, "https://www.youtube.com/watch?v=%s", posts[i].post_id);
        }
        if (s->ops->job_create(s, "bench", NULL, posts, POSTS, &jobs[j], &e)) die("job_create", &e);
    }
    int64_t t1 = now_ms();
    printf("%-8s job_create (%d posts)      %8.0f jobs/s\n", name, POSTS, rate(JOBS, t1 - t0));

    refs r = {.n = 0};
    if (s->ops->job_tasks(s, jobs[0], collect, &r, &e)) die("job_tasks", &e);
    comment_rec recs[PAGE];
    char ids[PAGE][48], text[PAGE][160];
    t0 = now_ms();
    for (int p = 0; p < POSTS; p++) {
        for (int first = 0; first < COMMENTS; first += PAGE) {
            for (int i = 0; i < PAGE; i++) {
                snprintf(ids[i], sizeof ids[i], "c%lld-%d-%d", (long long)r.post[p], p, first + i);
                snprintf(text[i], sizeof text[i], "comment %d of post %d, a sentence of ordinary length with a few words", first + i, p);
                recs[i] = (comment_rec){.comment_id = ids[i], .author = "someone", .text = text[i],
                                        .published_at = "2024-05-01T12:00:00Z", .like_count = i};
            }
            if (s->ops->comments_upsert(s, r.post[p], PLATFORM_YOUTUBE, recs, PAGE, first, &e)) die("comments_upsert", &e);
        }
    }
    t1 = now_ms();
    int64_t total = (int64_t)POSTS * COMMENTS;
    printf("%-8s comments_upsert (pages of %d) %8.0f comments/s\n", name, PAGE, rate(total, t1 - t0));

    t0 = now_ms();
    for (int p = 0; p < POSTS; p++)
        if (s->ops->task_unclassified(s, jobs[0], r.post[p], "bench-model", 64, classify, s, &e)) die("task_unclassified", &e);
    t1 = now_ms();
    printf("%-8s unclassified+sentiments    %8.0f comments/s\n", name, rate(total, t1 - t0));

    t0 = now_ms();
    for (int p = 0; p < POSTS; p++)
        if (s->ops->task_finish(s, jobs[0], r.post[p], TASK_DONE, NULL, "bench-model", &e)) die("task_finish", &e);
    t1 = now_ms();
    printf("%-8s task_finish (%d comments)  %8.0f tasks/s\n", name, COMMENTS, rate(POSTS, t1 - t0));

    job_info ji;
    t0 = now_ms();
    for (int i = 0; i < GETS; i++)
        if (s->ops->job_get(s, jobs[0], "bench", &ji, &e)) die("job_get", &e);
    t1 = now_ms();
    printf("%-8s job_get                    %8.0f calls/s (%.1f us each)\n", name, rate(GETS, t1 - t0),
           (double)(t1 - t0) * 1000.0 / GETS);
    if (ji.comments_classified != total) {
        fprintf(stderr, "store_bench: expected %lld classified, got %lld\n", (long long)total, (long long)ji.comments_classified);
        return 1;
    }

    int64_t rows = 0;
    int pos = -1;
    int64_t seq = -1;
    t0 = now_ms();
    for (;;) {
        int count = 0;
        if (s->ops->results_page(s, jobs[0], pos, seq, 1000, count_row, &rows, &count, &e)) die("results_page", &e);
        if (count < 1000) break;
        /* rows are (position, seq) ordered and each post holds COMMENTS rows numbered 0.. */
        int64_t done = rows;
        pos = (int)((done - 1) / COMMENTS);
        seq = (done - 1) % COMMENTS;
    }
    t1 = now_ms();
    printf("%-8s results_page (1000/page)   %8.0f rows/s (%lld rows)\n", name, rate(rows, t1 - t0), (long long)rows);
    for (int j = 0; j < JOBS; j++)
        if (s->ops->job_delete(s, jobs[j], NULL, &e)) die("job_delete", &e);
    store_close(s);
    return rows == total ? 0 : 1;
}
