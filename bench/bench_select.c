/* bench_select.c - cost of a sampling job's selection (store.task_select) and of reading it back as CSV
 * rows, for a post of P comments (P = 5000, the default pool, and 100000, the cap), on SQLite or PostgreSQL.
 * Build and run from the repository root after building build/:
 *   cc -O2 -D_GNU_SOURCE -Isrc bench/bench_select.c build/libchatter_lib.a \
 *      $(pkg-config --libs sqlite3 libpq jansson gnutls libcurl) -lpthread -lm -o /tmp/bench_select
 *   /tmp/bench_select sqlite:///tmp/bench_select.db        (delete the file between runs)
 *   tests/pg_env.sh bash -c '/tmp/bench_select "$CHATTER_TEST_PG_URL"'
 * Prints, per pool size and rule: comments loaded, task_select ms, rows/s of the selection read back.
 * Measured 2026-12-03 on the shared 2-core dev VM (other jobs running), task_select / read back:
 *   SQLite:     pool 5000 top keep 1000: 9 ms / 1 ms;  random: 15 ms / 5 ms;
 *               pool 100000 newest keep all: 2188 ms / 729 ms;  random keep 5000: 444 ms / 54 ms
 *   PostgreSQL: pool 5000 top keep 1000: 46 ms / 10 ms; random: 53 ms / 8 ms;
 *               pool 100000 newest keep all: 3403 ms / 1193 ms; random keep 5000: 317 ms / 27 ms */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "store/store.h"

static int count_row(void *ud, const result_row *r) {
    (void)r;
    (*(int64_t *)ud)++;
    return 0;
}

static int grab(void *ud, const task_info *t) {
    *(int64_t *)ud = t->post_ref;
    return 0;
}

static int run(store *s, int64_t pool, sampling rule, int64_t keep, int index) {
    cerr e = {0};
    post_url p = {.platform = PLATFORM_YOUTUBE};
    snprintf(p.post_id, sizeof p.post_id, "bench%06d", index);
    snprintf(p.canonical_url, sizeof p.canonical_url, "https://www.youtube.com/watch?v=%s", p.post_id);
    job_options o = {.max_comments_per_post = keep, .include_replies = true, .sampling = rule, .seed = 7,
                     .sample_pool = pool};
    strcpy(o.analyzer, "vader");
    int64_t job;
    if (s->ops->job_create(s, "bench", &o, &p, 1, &job, &e)) return fprintf(stderr, "%s\n", e.msg), -1;
    int64_t post = 0; /* the post's ref: the only task of the job */
    if (s->ops->job_tasks(s, job, grab, &post, &e)) return fprintf(stderr, "%s\n", e.msg), -1;
    enum { BATCH = 500 };
    comment_rec recs[BATCH];
    char ids[BATCH][96], parents[BATCH][96], texts[BATCH][64], when[BATCH][21];
    int64_t t0 = now_ms();
    for (int64_t base = 0; base < pool; base += BATCH) {
        int n = (int)(pool - base < BATCH ? pool - base : BATCH);
        for (int i = 0; i < n; i++) {
            int64_t k = base + i;
            snprintf(ids[i], sizeof ids[i], "%s-c%lld", p.post_id, (long long)k);
            snprintf(parents[i], sizeof parents[i], "%s-c%lld", p.post_id, (long long)(k - k % 10));
            snprintf(texts[i], sizeof texts[i], "comment number %lld", (long long)k);
            format_iso8601(1700000000 + (k * 7919) % 100000, when[i]);
            recs[i] = (comment_rec){.comment_id = ids[i], .parent_id = k % 10 ? parents[i] : NULL, .author = "a",
                                    .text = texts[i], .published_at = when[i], .like_count = (k * 31) % 1000};
        }
        if (s->ops->comments_upsert(s, post, PLATFORM_YOUTUBE, recs, (size_t)n, base, &e))
            return fprintf(stderr, "%s\n", e.msg), -1;
    }
    int64_t t1 = now_ms(), kept = 0;
    if (s->ops->task_select(s, job, post, &kept, &e)) return fprintf(stderr, "%s\n", e.msg), -1;
    int64_t t2 = now_ms(), rows = 0;
    int pos = -1, count = 0;
    int64_t after = -1;
    do {
        if (s->ops->results_page(s, job, pos, after, 1000, count_row, &rows, &count, &e))
            return fprintf(stderr, "%s\n", e.msg), -1;
        pos = 0;
        after = rows - 1; /* ranks are 0..kept-1 */
    } while (count == 1000);
    int64_t t3 = now_ms();
    const char *names[] = {"first", "top", "newest", "random"};
    printf("pool %6lld  %-6s keep %6lld: load %6lld ms, task_select %5lld ms, read %6lld rows in %4lld ms\n",
           (long long)pool, names[rule], (long long)kept, (long long)(t1 - t0), (long long)(t2 - t1), (long long)rows,
           (long long)(t3 - t2));
    return rows == kept ? 0 : -1;
}

int main(int argc, char **argv) {
    cerr e = {0};
    store *s;
    if (argc < 2 || store_open(argv[1], &s, &e)) return fprintf(stderr, "usage: bench_select STORE_URL (%s)\n", e.msg), 2;
    int v;
    if (s->ops->migrate(s, &v, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
    int idx = (int)(now_unix() % 100000) * 10, rc = 0;
    rc |= run(s, 5000, SAMPLING_TOP, 1000, idx++);
    rc |= run(s, 5000, SAMPLING_RANDOM, 1000, idx++);
    rc |= run(s, 100000, SAMPLING_NEWEST, 0, idx++);
    rc |= run(s, 100000, SAMPLING_RANDOM, 5000, idx++);
    store_close(s);
    return rc ? 1 : 0;
}
