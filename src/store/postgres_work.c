/* postgres_work.c - what workers do to the store: start a task, lease and fill a post, classify, finish.
 * Lock order everywhere: the job row, then its job_posts rows; so concurrent workers never deadlock. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "store/postgres_internal.h"

#define UNFINISHED_BATCH 256

static int stopped(cerr *e) { return cerr_set(e, CERR_INTERNAL, "stopped by the caller"); }

static int task_missing(int64_t job_id, int64_t post_ref, cerr *e) {
    return cerr_set(e, CERR_NOTFOUND, "post %lld of job %lld not found", (long long)post_ref, (long long)job_id);
}

/* Reads the job's view; with lock, takes the job row lock that serialises its counter updates. */
static int job_view(pq_conn *c, int64_t job_id, bool lock, store_view *v, cerr *e) {
    pq_args a = {.n = 0};
    arg_i64(&a, job_id);
    PGresult *r = lock ? pq_exec(c, PQ_JOB_LOCK,
                                 "SELECT max_comments, include_replies, selected FROM jobs WHERE id = $1 FOR UPDATE", &a, e)
                       : pq_exec(c, PQ_JOB_VIEW, "SELECT max_comments, include_replies, selected FROM jobs WHERE id = $1",
                                 &a, e);
    if (!r) return -1;
    int ret = 0;
    if (PQntuples(r) == 1) {
        *v = store_view_of(pq_i64(r, 0, 0), pq_bool(r, 0, 1));
        v->selected = pq_bool(r, 0, 2);
    } else ret = cerr_set(e, CERR_NOTFOUND, "job %lld not found", (long long)job_id);
    PQclear(r);
    return ret;
}

int pg_tasks_unfinished(store *s, task_cb cb, void *ud, cerr *e) {
    int64_t after_job = -1, after_pos = -1;
    for (;;) {
        pq_conn *c = pq_acquire(s, e);
        if (!c) return -1;
        pq_args a = {.n = 0};
        arg_i64(&a, after_job);
        arg_i64(&a, after_pos);
        arg_i64(&a, UNFINISHED_BATCH);
        PGresult *r = pq_exec(c, PQ_TASKS_UNFINISHED,
                              "SELECT " PQ_TASK_COLUMNS " FROM job_posts jp JOIN posts p ON p.id = jp.post_ref "
                              "WHERE jp.status NOT IN ('done','failed') AND (jp.job_id, jp.position) > ($1, $2) "
                              "ORDER BY jp.job_id, jp.position LIMIT $3", &a, e);
        pq_release(s, c); /* before the callbacks: they may use the store (enqueue, note) */
        if (!r) return -1;
        int n = PQntuples(r), ret = 0;
        task_info t;
        for (int i = 0; !ret && i < n; i++) {
            pq_read_task(r, i, &t);
            if (cb(ud, &t)) ret = stopped(e);
        }
        PQclear(r);
        if (ret || n < UNFINISHED_BATCH) return ret;
        after_job = t.job_id;
        after_pos = t.position;
    }
}

int pg_task_start(store *s, int64_t job_id, int64_t post_ref, task_info *out, job_options *opt, cerr *e) {
    pq_conn *c = pq_acquire(s, e);
    if (!c) return -1;
    int ret = -1;
    store_view v;
    if (pq_begin(c, e) || job_view(c, job_id, true, &v, e)) goto out;
    pq_args a = {.n = 0};
    arg_i64(&a, job_id);
    arg_i64(&a, post_ref);
    PGresult *r = pq_exec(c, PQ_TASK_LOAD,
                          "SELECT " PQ_TASK_COLUMNS ", j.options::text FROM job_posts jp "
                          "JOIN posts p ON p.id = jp.post_ref JOIN jobs j ON j.id = jp.job_id "
                          "WHERE jp.job_id = $1 AND jp.post_ref = $2", &a, e);
    if (!r) goto out;
    if (PQntuples(r) != 1) {
        PQclear(r);
        task_missing(job_id, post_ref, e);
        goto out;
    }
    pq_read_task(r, 0, out);
    job_options o;
    int rc = store_options_parse(pq_str(r, 0, 16), &o, e);
    PQclear(r);
    if (rc) goto out;
    if (opt) *opt = o;
    if (out->status == TASK_DONE || out->status == TASK_FAILED) { /* the caller skips it */
        ret = 0;
        goto out;
    }
    a.n = 0;
    arg_i64(&a, job_id);
    arg_i64(&a, now_unix());
    if (pq_run(c, PQ_JOB_MARK_RUNNING,
               "UPDATE jobs SET status = 'running', started_at = $2 WHERE id = $1 AND status = 'queued'", &a, NULL, e))
        goto out;
    a.n = 0;
    arg_i64(&a, job_id);
    arg_i64(&a, post_ref);
    arg_str(&a, task_status_name(TASK_FETCHING));
    if (pq_run(c, PQ_TASK_SET_STATUS, "UPDATE job_posts SET status = $3 WHERE job_id = $1 AND post_ref = $2", &a, NULL,
               e) ||
        pq_commit(c, e))
        goto out;
    out->status = TASK_FETCHING;
    ret = 0;
out:
    pq_rollback(c);
    pq_release(s, c);
    return ret;
}

int pg_post_state(store *s, int64_t post_ref, post_fetch_state *out, cerr *e) {
    pq_conn *c = pq_acquire(s, e);
    if (!c) return -1;
    pq_args a = {.n = 0};
    arg_i64(&a, post_ref);
    PGresult *r = pq_exec(c, PQ_POST_STATE,
                          "SELECT fetched_at, fetch_limit, fetch_replies, fetched_count, expected_count, claimed_by, "
                          "lease_until FROM posts WHERE id = $1", &a, e);
    pq_release(s, c);
    if (!r) return -1;
    int ret = 0;
    if (PQntuples(r) == 1) {
        memset(out, 0, sizeof *out);
        out->fetched_at = pq_i64(r, 0, 0);
        out->fetch_limit = pq_i64(r, 0, 1);
        out->fetch_replies = pq_bool(r, 0, 2);
        out->fetched_count = pq_i64(r, 0, 3);
        out->expected_count = pq_i64(r, 0, 4);
        store_copy(out->claimed_by, sizeof out->claimed_by, pq_str(r, 0, 5));
        out->lease_until = pq_i64(r, 0, 6);
    } else {
        ret = cerr_set(e, CERR_NOTFOUND, "post %lld not found", (long long)post_ref);
    }
    PQclear(r);
    return ret;
}

static int post_exists(pq_conn *c, int64_t post_ref, cerr *e) {
    pq_args a = {.n = 0};
    arg_i64(&a, post_ref);
    PGresult *r = pq_exec(c, PQ_POST_EXISTS, "SELECT 1 FROM posts WHERE id = $1", &a, e);
    if (!r) return -1;
    int n = PQntuples(r);
    PQclear(r);
    return n == 1 ? 0 : cerr_set(e, CERR_NOTFOUND, "post %lld not found", (long long)post_ref);
}

int pg_post_claim(store *s, int64_t post_ref, const char *worker, int64_t lease_s, bool *claimed, cerr *e) {
    *claimed = false;
    if (!worker || !*worker || strlen(worker) >= STORE_WORKER_MAX) return cerr_set(e, CERR_INVALID, "invalid worker id");
    if (lease_s < 0) return cerr_set(e, CERR_INVALID, "lease must not be negative");
    pq_conn *c = pq_acquire(s, e);
    if (!c) return -1;
    int64_t now = now_unix(), n = 0;
    pq_args a = {.n = 0};
    arg_i64(&a, post_ref);
    arg_str(&a, worker);
    if (lease_s == 0) {
        int ret = pq_run(c, PQ_POST_RELEASE,
                         "UPDATE posts SET claimed_by = '', lease_until = 0 WHERE id = $1 AND claimed_by = $2", &a,
                         &n, e);
        if (!ret && n > 0) *claimed = true;
        else if (!ret) ret = post_exists(c, post_ref, e);
        pq_release(s, c);
        return ret;
    }
    arg_i64(&a, now + lease_s);
    arg_i64(&a, now);
    /* The row lock of the UPDATE is the compare-and-set: a second claimer waits, then re-checks the
     * condition against the winner's row and matches nothing. */
    int ret = pq_run(c, PQ_POST_CLAIM,
                     "UPDATE posts SET claimed_by = $2, lease_until = $3 WHERE id = $1 AND "
                     "(claimed_by = '' OR claimed_by = $2 OR lease_until <= $4)", &a, &n, e);
    if (!ret && n > 0) *claimed = true;
    else if (!ret) ret = post_exists(c, post_ref, e);
    pq_release(s, c);
    return ret;
}

/* A re-fetch renumbers comments. One that is no longer at its place (deleted upstream, or moved)
 * gives the place up and goes to the end, so (post, seq) stays a unique paging key; then the comment
 * itself is upserted at that place. One statement, so a batch is one pipelined statement per row. */
#define SQL_COMMENT_UPSERT                                                                               \
    "WITH moved AS (UPDATE comments SET seq = (SELECT max(seq) + 1 FROM comments WHERE post_ref = $3), "  \
    "top_seq = NULL WHERE post_ref = $3 AND seq = $9 AND comment_id <> $2 RETURNING 1) "                  \
    "INSERT INTO comments(platform, comment_id, post_ref, parent_id, author, text, published_at, "       \
    "like_count, seq, top_seq) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "                         \
    "ON CONFLICT(platform, comment_id) DO UPDATE SET parent_id = excluded.parent_id, "                   \
    "author = excluded.author, text = excluded.text, published_at = excluded.published_at, "             \
    "like_count = excluded.like_count, seq = excluded.seq, top_seq = excluded.top_seq"

typedef struct comment_batch {
    const char *platform;
    int64_t post_ref, first_seq;
    const comment_rec *recs;
    const int64_t *top; /* top_seq of each record; -1 for replies */
} comment_batch;

static void comment_step(void *ud, size_t i, pq_id *id, pq_args *a) {
    const comment_batch *b = ud;
    const comment_rec *rec = &b->recs[i];
    int64_t seq = b->first_seq + (int64_t)i;
    *id = PQ_COMMENT_UPSERT;
    arg_str(a, b->platform);
    arg_str(a, rec->comment_id);
    arg_i64(a, b->post_ref);
    if (rec->parent_id) arg_clip(a, rec->parent_id, COMMENT_FIELD_MAX);
    else arg_str(a, NULL);
    if (rec->author) arg_clip(a, rec->author, COMMENT_FIELD_MAX);
    else arg_str(a, NULL);
    arg_clip(a, rec->text, COMMENT_TEXT_MAX);
    if (rec->published_at) arg_clip(a, rec->published_at, COMMENT_FIELD_MAX);
    else arg_str(a, NULL);
    arg_i64(a, rec->like_count);
    arg_i64(a, seq);
    if (b->top[i] < 0) arg_str(a, NULL);
    else arg_i64(a, b->top[i]);
}

int pg_comments_upsert(store *s, int64_t post_ref, platform p, const comment_rec *recs, size_t n, int64_t first_seq,
                       cerr *e) {
    if (n == 0) return 0;
    if (!recs || first_seq < 0) return cerr_set(e, CERR_INVALID, "invalid comment batch");
    const char *plat = store_platform_str(p);
    if (!*plat) return cerr_set(e, CERR_INVALID, "unknown platform");
    for (size_t i = 0; i < n; i++) {
        size_t idlen = recs[i].comment_id ? strlen(recs[i].comment_id) : 0;
        if (idlen == 0 || idlen > COMMENT_FIELD_MAX)
            return cerr_set(e, CERR_INVALID, "comment %lld has a missing or overlong id", (long long)(first_seq + (int64_t)i));
    }
    int64_t *top = malloc(n * sizeof *top);
    if (!top) return cerr_set(e, CERR_NOMEM, "out of memory");
    pq_conn *c = pq_acquire(s, e);
    int ret = -1;
    if (!c) goto out;
    if (pq_prepare(c, PQ_COMMENT_UPSERT, SQL_COMMENT_UPSERT, e) || pq_begin(c, e))
        goto out;
    /* top_seq continues from the last top-level comment before this batch in the current fetch. */
    pq_args a = {.n = 0};
    arg_i64(&a, post_ref);
    arg_i64(&a, first_seq);
    PGresult *r = pq_exec(c, PQ_TOP_BASE,
                          "SELECT top_seq FROM comments WHERE post_ref = $1 AND seq < $2 AND top_seq IS NOT NULL "
                          "ORDER BY seq DESC LIMIT 1", &a, e);
    if (!r) goto out;
    int64_t next_top = PQntuples(r) == 1 ? pq_i64(r, 0, 0) + 1 : 0;
    PQclear(r);
    for (size_t i = 0; i < n; i++) top[i] = recs[i].parent_id ? -1 : next_top++;
    comment_batch b = {.platform = plat, .post_ref = post_ref, .first_seq = first_seq, .recs = recs, .top = top};
    if (pq_pipeline(c, n, comment_step, &b, e) || pq_commit(c, e)) goto out;
    ret = 0;
out:
    if (c) pq_rollback(c);
    pq_release(s, c);
    free(top);
    return ret;
}

int pg_post_fetched(store *s, int64_t post_ref, bool ok, const char *reason, int64_t fetched_count,
                    int64_t expected_count, int64_t limit, bool replies, cerr *e) {
    pq_conn *c = pq_acquire(s, e);
    if (!c) return -1;
    pq_args a = {.n = 0};
    arg_i64(&a, post_ref);
    int64_t n = 0;
    int ret;
    if (ok) {
        arg_i64(&a, now_unix());
        arg_i64(&a, limit);
        arg_bool(&a, replies);
        arg_i64(&a, fetched_count);
        arg_i64(&a, expected_count);
        ret = pq_run(c, PQ_POST_FETCHED_OK,
                     "UPDATE posts SET fetched_at = $2, fetch_limit = $3, fetch_replies = $4, fetched_count = $5, "
                     "expected_count = $6, claimed_by = '', lease_until = 0, reason = '' WHERE id = $1", &a, &n, e);
    } else {
        /* A failed fetch keeps the last good fetch's fields: its comments are still valid. */
        arg_clip(&a, reason, REASON_MAX - 1);
        ret = pq_run(c, PQ_POST_FETCHED_FAIL, "UPDATE posts SET reason = $2, claimed_by = '', lease_until = 0 WHERE id = $1",
                     &a, &n, e);
    }
    pq_release(s, c);
    if (ret) return -1;
    return n ? 0 : cerr_set(e, CERR_NOTFOUND, "post %lld not found", (long long)post_ref);
}

int pg_task_unclassified(store *s, int64_t job_id, int64_t post_ref, const char *model, int page_size,
                         classify_cb cb, void *ud, cerr *e) {
    if (!model || !*model) return cerr_set(e, CERR_INVALID, "missing model id");
    if (page_size <= 0) return cerr_set(e, CERR_INVALID, "page size must be positive");
    if (page_size > STORE_PAGE_MAX) page_size = STORE_PAGE_MAX;
    comment_to_classify *page = calloc((size_t)page_size, sizeof *page);
    if (!page) return cerr_set(e, CERR_NOMEM, "out of memory");
    int64_t after = -1;
    int ret = 0;
    store_view v;
    bool have_view = false;
    for (;;) {
        pq_conn *c = pq_acquire(s, e);
        if (!c) {
            ret = -1;
            break;
        }
        if (!have_view && job_view(c, job_id, false, &v, e)) {
            pq_release(s, c);
            ret = -1;
            break;
        }
        have_view = true;
        pq_args a = {.n = 0};
        arg_i64(&a, post_ref);
        arg_i64(&a, after);
        PGresult *r;
        if (v.selected) {
            arg_i64(&a, job_id);
            arg_str(&a, model);
            arg_i64(&a, page_size);
            r = pq_exec(c, PQ_UNCLASSIFIED_SEL,
                        "SELECT c.id, c.text, jc.rank_no FROM job_comments jc JOIN comments c ON c.id = jc.comment_ref "
                        "WHERE jc.job_id = $3 AND jc.post_ref = $1 AND jc.rank_no > $2 AND NOT EXISTS (SELECT 1 FROM "
                        "sentiments s WHERE s.comment_ref = c.id AND s.model = $4) ORDER BY jc.rank_no LIMIT $5", &a, e);
        } else {
        arg_i64(&a, v.seq_max);
        arg_bool(&a, v.replies);
        arg_i64(&a, v.top_max);
        arg_str(&a, model);
        arg_i64(&a, page_size);
        r = pq_exec(c, PQ_UNCLASSIFIED,
                              "SELECT c.id, c.text, c.seq FROM comments c WHERE c.post_ref = $1 AND c.seq > $2 "
                              "AND c.seq < $3 AND ($4 OR c.top_seq < $5) AND NOT EXISTS (SELECT 1 FROM sentiments s "
                              "WHERE s.comment_ref = c.id AND s.model = $6) ORDER BY c.seq LIMIT $7", &a, e);
        }
        pq_release(s, c); /* the callback writes sentiments through the store */
        if (!r) {
            ret = -1;
            break;
        }
        int n = PQntuples(r);
        for (int i = 0; i < n; i++) {
            page[i].comment_ref = pq_i64(r, i, 0);
            page[i].text = pq_str(r, i, 1); /* lives as long as r */
            after = pq_i64(r, i, 2);
        }
        if (n > 0 && cb(ud, page, (size_t)n)) ret = stopped(e);
        PQclear(r);
        if (ret || n < page_size) break;
    }
    free(page);
    return ret;
}

#define SQL_SENTIMENT_UPSERT                                                                             \
    "INSERT INTO sentiments(comment_ref, model, label, p_negative, p_neutral, p_positive, truncated) "    \
    "VALUES($1, $2, $3, $4, $5, $6, $7) ON CONFLICT(comment_ref, model) DO UPDATE SET "                  \
    "label = excluded.label, p_negative = excluded.p_negative, p_neutral = excluded.p_neutral, "         \
    "p_positive = excluded.p_positive, truncated = excluded.truncated"

typedef struct sentiment_batch {
    const char *model;
    const sentiment_row *rows;
} sentiment_batch;

static void sentiment_step(void *ud, size_t i, pq_id *id, pq_args *a) {
    const sentiment_batch *b = ud;
    const sentiment *r = &b->rows[i].s;
    *id = PQ_SENTIMENT_UPSERT;
    arg_i64(a, b->rows[i].comment_ref);
    arg_str(a, b->model);
    arg_str(a, store_label_str(r->label));
    for (int k = 0; k < 3; k++) {
        snprintf(a->num[a->n], sizeof a->num[0], "%.9g", (double)r->p[k]); /* round-trips a float exactly */
        arg_str(a, a->num[a->n]);
    }
    arg_bool(a, r->truncated);
}

int pg_sentiments_upsert(store *s, const char *model, const sentiment_row *rows, size_t n, cerr *e) {
    if (!model || !*model || strlen(model) >= MODEL_ID_MAX) return cerr_set(e, CERR_INVALID, "invalid model id");
    if (n == 0) return 0;
    pq_conn *c = pq_acquire(s, e);
    if (!c) return -1;
    sentiment_batch b = {.model = model, .rows = rows};
    int ret = -1;
    if (!pq_prepare(c, PQ_SENTIMENT_UPSERT, SQL_SENTIMENT_UPSERT, e) && !pq_begin(c, e) &&
        !pq_pipeline(c, n, sentiment_step, &b, e) && !pq_commit(c, e))
        ret = 0;
    pq_rollback(c);
    pq_release(s, c);
    return ret;
}

/* Recounts one task from its comments and sentiments, then the job from its tasks, under the job row
 * lock: finishers of one job take turns, so each sees the others' committed counts. */
static int derive_counters(pq_conn *c, int64_t job_id, int64_t post_ref, const store_view *v, cerr *e) {
    pq_args a = {.n = 0};
    arg_i64(&a, job_id);
    arg_i64(&a, post_ref);
    PGresult *r;
    if (v->selected) {
        r = pq_exec(c, PQ_TASK_COUNT_SEL,
                    "SELECT count(*), count(s.label), count(*) FILTER (WHERE s.label = 'negative'), "
                    "count(*) FILTER (WHERE s.label = 'neutral'), count(*) FILTER (WHERE s.label = 'positive') "
                    "FROM job_comments jc JOIN job_posts jp ON jp.job_id = $1 AND jp.post_ref = $2 "
                    "LEFT JOIN sentiments s ON s.comment_ref = jc.comment_ref AND s.model = jp.model "
                    "WHERE jc.job_id = $1 AND jc.post_ref = $2", &a, e);
    } else {
    arg_i64(&a, v->seq_max);
    arg_bool(&a, v->replies);
    arg_i64(&a, v->top_max);
    r = pq_exec(c, PQ_TASK_COUNT,
                          "SELECT count(*), count(s.label), count(*) FILTER (WHERE s.label = 'negative'), "
                          "count(*) FILTER (WHERE s.label = 'neutral'), count(*) FILTER (WHERE s.label = 'positive') "
                          "FROM comments c JOIN job_posts jp ON jp.job_id = $1 AND jp.post_ref = $2 "
                          "LEFT JOIN sentiments s ON s.comment_ref = c.id AND s.model = jp.model "
                          "WHERE c.post_ref = $2 AND c.seq < $3 AND ($4 OR c.top_seq < $5)", &a, e);
    }
    if (!r) return -1;
    a.n = 0;
    arg_i64(&a, job_id);
    arg_i64(&a, post_ref);
    for (int i = 0; i < 5; i++) arg_i64(&a, pq_i64(r, 0, i));
    PQclear(r);
    if (pq_run(c, PQ_TASK_SET_COUNTS,
               "UPDATE job_posts SET comment_count = $3, classified_count = $4, n_negative = $5, n_neutral = $6, "
               "n_positive = $7 WHERE job_id = $1 AND post_ref = $2", &a, NULL, e))
        return -1;
    a.n = 0;
    arg_i64(&a, job_id);
    r = pq_exec(c, PQ_JOB_SUMS,
                "SELECT count(*), count(*) FILTER (WHERE status = 'done'), count(*) FILTER (WHERE status = 'failed'), "
                "coalesce(sum(comment_count), 0), coalesce(sum(classified_count), 0), coalesce(sum(n_negative), 0), "
                "coalesce(sum(n_neutral), 0), coalesce(sum(n_positive), 0) FROM job_posts WHERE job_id = $1", &a, e);
    if (!r) return -1;
    int64_t j[8];
    for (int i = 0; i < 8; i++) j[i] = pq_i64(r, 0, i);
    PQclear(r);
    bool finished;
    job_status js = store_job_status_derive(j[0], j[1], j[2], &finished);
    a.n = 0;
    arg_i64(&a, job_id);
    for (int i = 0; i < 8; i++) arg_i64(&a, j[i]);
    arg_str(&a, job_status_name(js));
    arg_i64(&a, now_unix());
    arg_bool(&a, finished);
    return pq_run(c, PQ_JOB_SET_DERIVED,
                  "UPDATE jobs SET posts_total = $2, posts_done = $3, posts_failed = $4, comments_fetched = $5, "
                  "comments_classified = $6, n_negative = $7, n_neutral = $8, n_positive = $9, status = $10, "
                  "started_at = CASE WHEN started_at = 0 THEN $11 ELSE started_at END, "
                  "finished_at = CASE WHEN $12 THEN (CASE WHEN finished_at = 0 THEN $11 ELSE finished_at END) ELSE 0 END "
                  "WHERE id = $1", &a, NULL, e);
}

int pg_task_finish(store *s, int64_t job_id, int64_t post_ref, task_status ts, const char *reason, const char *model,
                   cerr *e) {
    if ((unsigned)ts > TASK_FAILED) return cerr_set(e, CERR_INVALID, "invalid task status");
    if (model && strlen(model) >= MODEL_ID_MAX) return cerr_set(e, CERR_INVALID, "invalid model id");
    pq_conn *c = pq_acquire(s, e);
    if (!c) return -1;
    int ret = -1;
    store_view v;
    if (pq_begin(c, e) || job_view(c, job_id, true, &v, e)) goto out;
    pq_args a = {.n = 0};
    arg_i64(&a, job_id);
    arg_i64(&a, post_ref);
    arg_str(&a, task_status_name(ts));
    arg_clip(&a, reason, REASON_MAX - 1);
    arg_str(&a, model);
    int64_t n = 0;
    if (pq_run(c, PQ_TASK_FINISH_SET,
               "UPDATE job_posts SET status = $3, reason = $4, model = coalesce($5, model) "
               "WHERE job_id = $1 AND post_ref = $2", &a, &n, e))
        goto out;
    if (n == 0) {
        task_missing(job_id, post_ref, e);
        goto out;
    }
    if (derive_counters(c, job_id, post_ref, &v, e) || pq_commit(c, e)) goto out;
    ret = 0;
out:
    pq_rollback(c);
    pq_release(s, c);
    return ret;
}

int pg_task_note(store *s, int64_t job_id, int64_t post_ref, task_status ts, const char *note, bool bump_attempts,
                 cerr *e) {
    if (ts == TASK_DONE || ts == TASK_FAILED || (unsigned)ts > TASK_FAILED)
        return cerr_set(e, CERR_INVALID, "task_note takes a non-final status (use task_finish)");
    pq_conn *c = pq_acquire(s, e);
    if (!c) return -1;
    pq_args a = {.n = 0};
    arg_i64(&a, job_id);
    arg_i64(&a, post_ref);
    arg_str(&a, task_status_name(ts));
    arg_clip(&a, note, REASON_MAX - 1);
    arg_i64(&a, bump_attempts ? 1 : 0);
    int64_t n = 0;
    /* A task already done or failed keeps its outcome: a late note from a redelivery changes nothing. */
    int ret = pq_run(c, PQ_TASK_NOTE,
                     "UPDATE job_posts SET status = $3, reason = $4, attempts = attempts + $5 "
                     "WHERE job_id = $1 AND post_ref = $2 AND status NOT IN ('done','failed')", &a, &n, e);
    if (!ret && n == 0) {
        a.n = 2;
        PGresult *r = pq_exec(c, PQ_TASK_EXISTS, "SELECT 1 FROM job_posts WHERE job_id = $1 AND post_ref = $2", &a, e);
        if (!r) ret = -1;
        else if (PQntuples(r) != 1) ret = task_missing(job_id, post_ref, e);
        PQclear(r);
    }
    pq_release(s, c);
    return ret;
}

int pg_task_select(store *s, int64_t job_id, int64_t post_ref, int64_t *kept, cerr *e) {
    *kept = -1;
    pq_conn *c = pq_acquire(s, e);
    if (!c) return -1;
    int ret = -1;
    store_pool_item *items = NULL;
    size_t n = 0, k = 0;
    char *ids = NULL;
    /* The job row lock serialises this with the job's finishers; the pool is read in the same
     * transaction as the selection is written. */
    if (pq_begin(c, e)) goto out;
    pq_args a = {.n = 0};
    arg_i64(&a, job_id);
    PGresult *r = pq_exec(c, PQ_SEL_JOB, "SELECT options::text FROM jobs WHERE id = $1 FOR UPDATE", &a, e);
    if (!r) goto out;
    job_options o;
    int rc = PQntuples(r) == 1 ? store_options_parse(pq_str(r, 0, 0), &o, e)
                               : cerr_set(e, CERR_NOTFOUND, "job %lld not found", (long long)job_id);
    PQclear(r);
    if (rc) goto out;
    if (!store_options_selected(&o)) {
        ret = 0;
        goto out;
    }
    store_view pv = store_view_of(o.sample_pool, o.include_replies);
    a.n = 0;
    arg_i64(&a, post_ref);
    arg_i64(&a, pv.seq_max);
    arg_bool(&a, pv.replies);
    arg_i64(&a, pv.top_max);
    arg_i64(&a, SAMPLE_POOL_MAX);
    r = pq_exec(c, PQ_SEL_POOL,
                "SELECT id, comment_id, parent_id, like_count, published_at, seq FROM comments "
                "WHERE post_ref = $1 AND seq < $2 AND ($3 OR top_seq < $4) ORDER BY seq LIMIT $5", &a, e);
    if (!r) goto out;
    int rows = PQntuples(r);
    items = calloc(rows > 0 ? (size_t)rows : 1, sizeof *items);
    if (!items) {
        PQclear(r);
        cerr_set(e, CERR_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < rows; i++) {
        store_pool_item *it = &items[n++];
        it->comment_ref = pq_i64(r, i, 0);
        it->like_count = pq_i64(r, i, 3);
        store_copy(it->published_at, sizeof it->published_at, pq_str(r, i, 4));
        it->seq = pq_i64(r, i, 5);
        if (!PQgetisnull(r, i, 2) && !(it->parent_id = strdup(pq_str(r, i, 2)))) {
            PQclear(r);
            cerr_set(e, CERR_NOMEM, "out of memory");
            goto out;
        }
        if (o.sampling == SAMPLING_RANDOM && store_sample_key(o.seed, pq_str(r, i, 1), &it->key, e)) {
            PQclear(r);
            goto out;
        }
    }
    PQclear(r);
    if (store_select(items, n, &o, &k, e)) goto out;
    a.n = 0;
    arg_i64(&a, job_id);
    arg_i64(&a, post_ref);
    if (pq_run(c, PQ_SEL_DELETE, "DELETE FROM job_comments WHERE job_id = $1 AND post_ref = $2", &a, NULL, e)) goto out;
    /* The whole selection in one statement: an array literal of comment ids, ranked by position. */
    ids = malloc(k * 21 + 3);
    if (!ids) {
        cerr_set(e, CERR_NOMEM, "out of memory");
        goto out;
    }
    size_t len = 0;
    ids[len++] = '{';
    for (size_t i = 0; i < k; i++) len += (size_t)sprintf(ids + len, i ? ",%lld" : "%lld", (long long)items[i].comment_ref);
    ids[len++] = '}';
    ids[len] = '\0';
    arg_str(&a, ids);
    if (pq_run(c, PQ_SEL_INSERT,
               "INSERT INTO job_comments(job_id, post_ref, rank_no, comment_ref) "
               "SELECT $1, $2, t.ord - 1, t.ref FROM unnest($3::bigint[]) WITH ORDINALITY AS t(ref, ord)", &a, NULL, e) ||
        pq_commit(c, e))
        goto out;
    *kept = (int64_t)k;
    ret = 0;
out:
    pq_rollback(c);
    pq_release(s, c);
    store_pool_free(items, n);
    free(ids);
    return ret;
}
