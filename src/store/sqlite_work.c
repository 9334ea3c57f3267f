/* sqlite_work.c - what workers do to the store: start a task, lease and fill a post, classify, finish. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "store/sqlite_internal.h"

#define UNFINISHED_BATCH 256

static int stopped(cerr *e) { return cerr_set(e, CERR_INTERNAL, "stopped by the caller"); }

static void bind_clipped(sqlite3_stmt *st, int i, const char *s, size_t max) {
    sqlite3_bind_text(st, i, s ? s : "", (int)store_clip_utf8(s ? s : "", max), SQLITE_STATIC);
}

/* The job's comment view (limit/replies) as a store_view; NOTFOUND when the job is gone. */
static int job_view(sq_conn *c, int64_t job_id, store_view *v, cerr *e) {
    sqlite3_stmt *st = sq_stmt(c, SQ_JOB_VIEW, "SELECT max_comments, include_replies, selected FROM jobs WHERE id = ?1", e);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, job_id);
    int rc = sqlite3_step(st), ret = 0;
    if (rc == SQLITE_ROW) {
        *v = store_view_of(sqlite3_column_int64(st, 0), sqlite3_column_int(st, 1) != 0);
        v->selected = sqlite3_column_int(st, 2) != 0;
    } else if (rc == SQLITE_DONE) ret = cerr_set(e, CERR_NOTFOUND, "job %lld not found", (long long)job_id);
    else ret = sq_fail(c, e, "cannot read job");
    sqlite3_reset(st);
    return ret;
}

int sq_tasks_unfinished(store *s, task_cb cb, void *ud, cerr *e) {
    sq_conn *c = sq_conn_get(s, e);
    if (!c) return -1;
    task_info *batch = malloc(UNFINISHED_BATCH * sizeof *batch);
    if (!batch) return cerr_set(e, CERR_NOMEM, "out of memory");
    int64_t after_job = -1, after_pos = -1;
    int ret = 0;
    /* Read a batch, close the statement, then call back: the callback may use the store (enqueue). */
    for (;;) {
        sqlite3_stmt *st = sq_stmt(c, SQ_TASKS_UNFINISHED,
                                   "SELECT " SQ_TASK_COLUMNS " FROM job_posts jp JOIN posts p ON p.id = jp.post_ref "
                                   "WHERE jp.status NOT IN ('done','failed') AND (jp.job_id, jp.position) > (?1, ?2) "
                                   "ORDER BY jp.job_id, jp.position LIMIT ?3", e);
        if (!st) {
            ret = -1;
            break;
        }
        sqlite3_bind_int64(st, 1, after_job);
        sqlite3_bind_int64(st, 2, after_pos);
        sqlite3_bind_int(st, 3, UNFINISHED_BATCH);
        int n = 0, rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) sq_read_task(st, &batch[n++]);
        if (rc != SQLITE_DONE) ret = sq_fail(c, e, "cannot list unfinished tasks");
        sqlite3_reset(st);
        for (int i = 0; !ret && i < n; i++)
            if (cb(ud, &batch[i])) ret = stopped(e);
        if (ret || n < UNFINISHED_BATCH) break;
        after_job = batch[n - 1].job_id;
        after_pos = batch[n - 1].position;
    }
    free(batch);
    return ret;
}

int sq_task_start(store *s, int64_t job_id, int64_t post_ref, task_info *out, job_options *opt, cerr *e) {
    sq_conn *c = sq_conn_get(s, e);
    if (!c || sq_begin(c, e)) return -1;
    sqlite3_stmt *st = sq_stmt(c, SQ_TASK_LOAD,
                               "SELECT " SQ_TASK_COLUMNS ", j.options FROM job_posts jp "
                               "JOIN posts p ON p.id = jp.post_ref JOIN jobs j ON j.id = jp.job_id "
                               "WHERE jp.job_id = ?1 AND jp.post_ref = ?2", e);
    if (!st) goto fail;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, post_ref);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        if (rc == SQLITE_DONE)
            cerr_set(e, CERR_NOTFOUND, "post %lld of job %lld not found", (long long)post_ref, (long long)job_id);
        else sq_fail(c, e, "cannot load task");
        sqlite3_reset(st);
        goto fail;
    }
    sq_read_task(st, out);
    job_options o;
    rc = store_options_parse(sq_text(st, 16), &o, e);
    sqlite3_reset(st);
    if (rc) goto fail;
    if (opt) *opt = o;
    if (out->status == TASK_DONE || out->status == TASK_FAILED) { /* the caller skips it */
        sq_rollback(c);
        return 0;
    }
    st = sq_stmt(c, SQ_JOB_MARK_RUNNING,
                 "UPDATE jobs SET status = 'running', started_at = ?2 WHERE id = ?1 AND status = 'queued'", e);
    if (!st) goto fail;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, now_unix());
    if (sq_run(c, st, e, "cannot mark job running")) goto fail;
    st = sq_stmt(c, SQ_TASK_SET_STATUS, "UPDATE job_posts SET status = ?3 WHERE job_id = ?1 AND post_ref = ?2", e);
    if (!st) goto fail;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, post_ref);
    sqlite3_bind_text(st, 3, task_status_name(TASK_FETCHING), -1, SQLITE_STATIC);
    if (sq_run(c, st, e, "cannot mark task fetching") || sq_commit(c, e)) goto fail;
    out->status = TASK_FETCHING;
    return 0;
fail:
    sq_rollback(c);
    return -1;
}

int sq_post_state(store *s, int64_t post_ref, post_fetch_state *out, cerr *e) {
    sq_conn *c = sq_conn_get(s, e);
    if (!c) return -1;
    sqlite3_stmt *st = sq_stmt(c, SQ_POST_STATE,
                               "SELECT fetched_at, fetch_limit, fetch_replies, fetched_count, expected_count, "
                               "claimed_by, lease_until FROM posts WHERE id = ?1", e);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, post_ref);
    int rc = sqlite3_step(st), ret = 0;
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->fetched_at = sqlite3_column_int64(st, 0);
        out->fetch_limit = sqlite3_column_int64(st, 1);
        out->fetch_replies = sqlite3_column_int(st, 2) != 0;
        out->fetched_count = sqlite3_column_int64(st, 3);
        out->expected_count = sqlite3_column_int64(st, 4);
        store_copy(out->claimed_by, sizeof out->claimed_by, sq_text(st, 5));
        out->lease_until = sqlite3_column_int64(st, 6);
    } else if (rc == SQLITE_DONE) {
        ret = cerr_set(e, CERR_NOTFOUND, "post %lld not found", (long long)post_ref);
    } else {
        ret = sq_fail(c, e, "cannot read post");
    }
    sqlite3_reset(st);
    return ret;
}

static int post_exists(sq_conn *c, int64_t post_ref, cerr *e) {
    sqlite3_stmt *st = sq_stmt(c, SQ_POST_EXISTS, "SELECT 1 FROM posts WHERE id = ?1", e);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, post_ref);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW) return 0;
    if (rc == SQLITE_DONE) return cerr_set(e, CERR_NOTFOUND, "post %lld not found", (long long)post_ref);
    return sq_fail(c, e, "cannot read post");
}

int sq_post_claim(store *s, int64_t post_ref, const char *worker, int64_t lease_s, bool *claimed, cerr *e) {
    *claimed = false;
    if (!worker || !*worker || strlen(worker) >= STORE_WORKER_MAX) return cerr_set(e, CERR_INVALID, "invalid worker id");
    if (lease_s < 0) return cerr_set(e, CERR_INVALID, "lease must not be negative");
    sq_conn *c = sq_conn_get(s, e);
    if (!c) return -1;
    int64_t now = now_unix();
    /* One statement is the compare-and-set: SQLite serialises writers, so two claimers cannot both win. */
    sqlite3_stmt *st =
        lease_s == 0 ? sq_stmt(c, SQ_POST_RELEASE,
                               "UPDATE posts SET claimed_by = '', lease_until = 0 WHERE id = ?1 AND claimed_by = ?2 "
                               "AND ?3 = ?3 AND ?4 = ?4", e)
                     : sq_stmt(c, SQ_POST_CLAIM,
                               "UPDATE posts SET claimed_by = ?2, lease_until = ?3 WHERE id = ?1 AND "
                               "(claimed_by = '' OR claimed_by = ?2 OR lease_until <= ?4)", e);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, post_ref);
    sqlite3_bind_text(st, 2, worker, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now + lease_s);
    sqlite3_bind_int64(st, 4, now);
    if (sq_run(c, st, e, "cannot claim post")) return -1;
    if (sqlite3_changes(c->db) > 0) {
        *claimed = true;
        return 0;
    }
    return post_exists(c, post_ref, e);
}

int sq_comments_upsert(store *s, int64_t post_ref, platform p, const comment_rec *recs, size_t n, int64_t first_seq,
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
    sq_conn *c = sq_conn_get(s, e);
    if (!c || sq_begin(c, e)) return -1;
    /* top_seq continues from the last top-level comment before this batch in the current fetch. */
    sqlite3_stmt *st = sq_stmt(c, SQ_TOP_BASE,
                               "SELECT top_seq FROM comments WHERE post_ref = ?1 AND seq < ?2 AND top_seq IS NOT NULL "
                               "ORDER BY seq DESC LIMIT 1", e);
    if (!st) goto fail;
    sqlite3_bind_int64(st, 1, post_ref);
    sqlite3_bind_int64(st, 2, first_seq);
    int rc = sqlite3_step(st);
    int64_t top = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) + 1 : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sq_fail(c, e, "cannot read comments");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const comment_rec *r = &recs[i];
        int64_t seq = first_seq + (int64_t)i;
        /* A re-fetch renumbers comments. One that is no longer at this place (deleted upstream, or
         * moved) gives the place up and goes to the end, so (post, seq) stays a unique paging key. */
        st = sq_stmt(c, SQ_COMMENT_DISPLACE,
                     "UPDATE comments SET seq = (SELECT max(seq) + 1 FROM comments WHERE post_ref = ?1), "
                     "top_seq = NULL WHERE post_ref = ?1 AND seq = ?2 AND comment_id <> ?3", e);
        if (!st) goto fail;
        sqlite3_bind_int64(st, 1, post_ref);
        sqlite3_bind_int64(st, 2, seq);
        sqlite3_bind_text(st, 3, r->comment_id, -1, SQLITE_STATIC);
        if (sq_run(c, st, e, "cannot renumber comments")) goto fail;
        st = sq_stmt(c, SQ_COMMENT_UPSERT,
                     "INSERT INTO comments(platform, comment_id, post_ref, parent_id, author, text, published_at, "
                     "like_count, seq, top_seq) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
                     "ON CONFLICT(platform, comment_id) DO UPDATE SET parent_id = excluded.parent_id, "
                     "author = excluded.author, text = excluded.text, published_at = excluded.published_at, "
                     "like_count = excluded.like_count, seq = excluded.seq, top_seq = excluded.top_seq", e);
        if (!st) goto fail;
        sqlite3_bind_text(st, 1, plat, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, r->comment_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, post_ref);
        if (r->parent_id) bind_clipped(st, 4, r->parent_id, COMMENT_FIELD_MAX);
        if (r->author) bind_clipped(st, 5, r->author, COMMENT_FIELD_MAX);
        bind_clipped(st, 6, r->text, COMMENT_TEXT_MAX);
        if (r->published_at) bind_clipped(st, 7, r->published_at, COMMENT_FIELD_MAX);
        sqlite3_bind_int64(st, 8, r->like_count);
        sqlite3_bind_int64(st, 9, seq);
        if (!r->parent_id) sqlite3_bind_int64(st, 10, top++);
        if (sq_run(c, st, e, "cannot save comment")) goto fail;
    }
    if (sq_commit(c, e)) goto fail;
    return 0;
fail:
    sq_rollback(c);
    return -1;
}

int sq_post_fetched(store *s, int64_t post_ref, bool ok, const char *reason, int64_t fetched_count,
                    int64_t expected_count, int64_t limit, bool replies, cerr *e) {
    sq_conn *c = sq_conn_get(s, e);
    if (!c) return -1;
    sqlite3_stmt *st;
    if (ok) {
        st = sq_stmt(c, SQ_POST_FETCHED_OK,
                     "UPDATE posts SET fetched_at = ?2, fetch_limit = ?3, fetch_replies = ?4, fetched_count = ?5, "
                     "expected_count = ?6, claimed_by = '', lease_until = 0, reason = '' WHERE id = ?1", e);
        if (!st) return -1;
        sqlite3_bind_int64(st, 2, now_unix());
        sqlite3_bind_int64(st, 3, limit);
        sqlite3_bind_int(st, 4, replies);
        sqlite3_bind_int64(st, 5, fetched_count);
        sqlite3_bind_int64(st, 6, expected_count);
    } else {
        /* A failed fetch keeps the last good fetch's fields: its comments are still valid. */
        st = sq_stmt(c, SQ_POST_FETCHED_FAIL,
                     "UPDATE posts SET reason = ?2, claimed_by = '', lease_until = 0 WHERE id = ?1", e);
        if (!st) return -1;
        bind_clipped(st, 2, reason, REASON_MAX - 1);
    }
    sqlite3_bind_int64(st, 1, post_ref);
    if (sq_run(c, st, e, "cannot record fetch")) return -1;
    if (sqlite3_changes(c->db) == 0) return cerr_set(e, CERR_NOTFOUND, "post %lld not found", (long long)post_ref);
    return 0;
}

int sq_task_unclassified(store *s, int64_t job_id, int64_t post_ref, const char *model, int page_size,
                         classify_cb cb, void *ud, cerr *e) {
    if (!model || !*model) return cerr_set(e, CERR_INVALID, "missing model id");
    if (page_size <= 0) return cerr_set(e, CERR_INVALID, "page size must be positive");
    if (page_size > STORE_PAGE_MAX) page_size = STORE_PAGE_MAX;
    sq_conn *c = sq_conn_get(s, e);
    if (!c) return -1;
    store_view v;
    if (job_view(c, job_id, &v, e)) return -1;
    comment_to_classify *page = calloc((size_t)page_size, sizeof *page);
    if (!page) return cerr_set(e, CERR_NOMEM, "out of memory");
    int64_t after = -1;
    int ret = 0;
    for (;;) {
        sqlite3_stmt *st =
            v.selected
                ? sq_stmt(c, SQ_UNCLASSIFIED_SEL,
                          "SELECT c.id, c.text, jc.rank_no FROM job_comments jc JOIN comments c ON c.id = jc.comment_ref "
                          "WHERE jc.job_id = ?8 AND jc.post_ref = ?1 AND jc.rank_no > ?2 AND ?3 = ?3 AND ?4 = ?4 "
                          "AND ?5 = ?5 AND NOT EXISTS (SELECT 1 FROM sentiments s WHERE s.comment_ref = c.id "
                          "AND s.model = ?6) ORDER BY jc.rank_no LIMIT ?7", e)
                : sq_stmt(c, SQ_UNCLASSIFIED,
                          "SELECT c.id, c.text, c.seq FROM comments c WHERE c.post_ref = ?1 AND c.seq > ?2 "
                          "AND c.seq < ?3 AND (?4 OR c.top_seq < ?5) AND NOT EXISTS (SELECT 1 FROM "
                          "sentiments s WHERE s.comment_ref = c.id AND s.model = ?6) ORDER BY c.seq LIMIT ?7", e);
        if (!st) {
            ret = -1;
            break;
        }
        if (v.selected) sqlite3_bind_int64(st, 8, job_id);
        sqlite3_bind_int64(st, 1, post_ref);
        sqlite3_bind_int64(st, 2, after);
        sqlite3_bind_int64(st, 3, v.seq_max);
        sqlite3_bind_int(st, 4, v.replies);
        sqlite3_bind_int64(st, 5, v.top_max);
        sqlite3_bind_text(st, 6, model, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 7, page_size);
        int n = 0, rc;
        /* Copies, and the statement is reset before the callback: it will write sentiments. */
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            page[n].comment_ref = sqlite3_column_int64(st, 0);
            page[n].text = strdup(sq_text(st, 1));
            after = sqlite3_column_int64(st, 2);
            if (!page[n++].text) {
                ret = cerr_set(e, CERR_NOMEM, "out of memory");
                break;
            }
        }
        if (!ret && rc != SQLITE_DONE) ret = sq_fail(c, e, "cannot read comments to classify");
        sqlite3_reset(st);
        if (!ret && n > 0 && cb(ud, page, (size_t)n)) ret = stopped(e);
        for (int i = 0; i < n; i++) free((char *)page[i].text);
        if (ret || n < page_size) break;
    }
    free(page);
    return ret;
}

int sq_sentiments_upsert(store *s, const char *model, const sentiment_row *rows, size_t n, cerr *e) {
    if (!model || !*model || strlen(model) >= MODEL_ID_MAX) return cerr_set(e, CERR_INVALID, "invalid model id");
    if (n == 0) return 0;
    sq_conn *c = sq_conn_get(s, e);
    if (!c || sq_begin(c, e)) return -1;
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *st = sq_stmt(c, SQ_SENTIMENT_UPSERT,
                                   "INSERT INTO sentiments(comment_ref, model, label, p_negative, p_neutral, "
                                   "p_positive, truncated) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                                   "ON CONFLICT(comment_ref, model) DO UPDATE SET label = excluded.label, "
                                   "p_negative = excluded.p_negative, p_neutral = excluded.p_neutral, "
                                   "p_positive = excluded.p_positive, truncated = excluded.truncated", e);
        if (!st) goto fail;
        const sentiment *r = &rows[i].s;
        sqlite3_bind_int64(st, 1, rows[i].comment_ref);
        sqlite3_bind_text(st, 2, model, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, store_label_str(r->label), -1, SQLITE_STATIC);
        for (int k = 0; k < 3; k++) sqlite3_bind_double(st, 4 + k, r->p[k]);
        sqlite3_bind_int(st, 7, r->truncated);
        if (sq_run(c, st, e, "cannot save sentiment")) goto fail;
    }
    if (sq_commit(c, e)) goto fail;
    return 0;
fail:
    sq_rollback(c);
    return -1;
}

static int task_exists(sq_conn *c, int64_t job_id, int64_t post_ref, cerr *e) {
    sqlite3_stmt *st = sq_stmt(c, SQ_TASK_EXISTS, "SELECT 1 FROM job_posts WHERE job_id = ?1 AND post_ref = ?2", e);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, post_ref);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW) return 0;
    if (rc == SQLITE_DONE)
        return cerr_set(e, CERR_NOTFOUND, "post %lld of job %lld not found", (long long)post_ref, (long long)job_id);
    return sq_fail(c, e, "cannot read task");
}

/* Recounts one task from its comments and sentiments, then the job from its tasks. Inside the
 * caller's write transaction, so concurrent finishers serialise and none overwrites another's count. */
static int derive_counters(sq_conn *c, int64_t job_id, int64_t post_ref, const store_view *v, cerr *e) {
    sqlite3_stmt *st =
        v->selected
            ? sq_stmt(c, SQ_TASK_COUNT_SEL,
                      "SELECT count(*), count(s.label), coalesce(sum(s.label = 'negative'), 0), "
                      "coalesce(sum(s.label = 'neutral'), 0), coalesce(sum(s.label = 'positive'), 0) "
                      "FROM job_comments jc JOIN job_posts jp ON jp.job_id = ?1 AND jp.post_ref = ?2 "
                      "LEFT JOIN sentiments s ON s.comment_ref = jc.comment_ref AND s.model = jp.model "
                      "WHERE jc.job_id = ?1 AND jc.post_ref = ?2 AND ?3 = ?3 AND ?4 = ?4 AND ?5 = ?5", e)
            : sq_stmt(c, SQ_TASK_COUNT,
                      "SELECT count(*), count(s.label), coalesce(sum(s.label = 'negative'), 0), "
                      "coalesce(sum(s.label = 'neutral'), 0), coalesce(sum(s.label = 'positive'), 0) "
                      "FROM comments c JOIN job_posts jp ON jp.job_id = ?1 AND jp.post_ref = ?2 "
                      "LEFT JOIN sentiments s ON s.comment_ref = c.id AND s.model = jp.model "
                      "WHERE c.post_ref = ?2 AND c.seq < ?3 AND (?4 OR c.top_seq < ?5)", e);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, post_ref);
    sqlite3_bind_int64(st, 3, v->seq_max);
    sqlite3_bind_int(st, 4, v->replies);
    sqlite3_bind_int64(st, 5, v->top_max);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return sq_fail(c, e, "cannot count comments");
    }
    int64_t n[5];
    for (int i = 0; i < 5; i++) n[i] = sqlite3_column_int64(st, i);
    sqlite3_reset(st);
    st = sq_stmt(c, SQ_TASK_SET_COUNTS,
                 "UPDATE job_posts SET comment_count = ?3, classified_count = ?4, n_negative = ?5, n_neutral = ?6, "
                 "n_positive = ?7 WHERE job_id = ?1 AND post_ref = ?2", e);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, post_ref);
    for (int i = 0; i < 5; i++) sqlite3_bind_int64(st, 3 + i, n[i]);
    if (sq_run(c, st, e, "cannot save task counts")) return -1;

    st = sq_stmt(c, SQ_JOB_SUMS,
                 "SELECT count(*), coalesce(sum(status = 'done'), 0), coalesce(sum(status = 'failed'), 0), "
                 "coalesce(sum(comment_count), 0), coalesce(sum(classified_count), 0), coalesce(sum(n_negative), 0), "
                 "coalesce(sum(n_neutral), 0), coalesce(sum(n_positive), 0) FROM job_posts WHERE job_id = ?1", e);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, job_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return sq_fail(c, e, "cannot sum job counts");
    }
    int64_t j[8];
    for (int i = 0; i < 8; i++) j[i] = sqlite3_column_int64(st, i);
    sqlite3_reset(st);
    bool finished;
    job_status js = store_job_status_derive(j[0], j[1], j[2], &finished);
    st = sq_stmt(c, SQ_JOB_SET_DERIVED,
                 "UPDATE jobs SET posts_total = ?2, posts_done = ?3, posts_failed = ?4, comments_fetched = ?5, "
                 "comments_classified = ?6, n_negative = ?7, n_neutral = ?8, n_positive = ?9, status = ?10, "
                 "started_at = CASE WHEN started_at = 0 THEN ?11 ELSE started_at END, "
                 "finished_at = CASE WHEN ?12 THEN (CASE WHEN finished_at = 0 THEN ?11 ELSE finished_at END) ELSE 0 END "
                 "WHERE id = ?1", e);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, job_id);
    for (int i = 0; i < 8; i++) sqlite3_bind_int64(st, 2 + i, j[i]);
    sqlite3_bind_text(st, 10, job_status_name(js), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, now_unix());
    sqlite3_bind_int(st, 12, finished);
    return sq_run(c, st, e, "cannot save job counts");
}

int sq_task_finish(store *s, int64_t job_id, int64_t post_ref, task_status ts, const char *reason, const char *model,
                   cerr *e) {
    if ((unsigned)ts > TASK_FAILED) return cerr_set(e, CERR_INVALID, "invalid task status");
    if (model && strlen(model) >= MODEL_ID_MAX) return cerr_set(e, CERR_INVALID, "invalid model id");
    sq_conn *c = sq_conn_get(s, e);
    if (!c || sq_begin(c, e)) return -1;
    store_view v;
    if (job_view(c, job_id, &v, e)) goto fail;
    sqlite3_stmt *st = sq_stmt(c, SQ_TASK_FINISH_SET,
                               "UPDATE job_posts SET status = ?3, reason = ?4, model = coalesce(?5, model) "
                               "WHERE job_id = ?1 AND post_ref = ?2", e);
    if (!st) goto fail;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, post_ref);
    sqlite3_bind_text(st, 3, task_status_name(ts), -1, SQLITE_STATIC);
    bind_clipped(st, 4, reason, REASON_MAX - 1);
    if (model) sqlite3_bind_text(st, 5, model, -1, SQLITE_STATIC);
    if (sq_run(c, st, e, "cannot finish task")) goto fail;
    if (sqlite3_changes(c->db) == 0) {
        cerr_set(e, CERR_NOTFOUND, "post %lld of job %lld not found", (long long)post_ref, (long long)job_id);
        goto fail;
    }
    if (derive_counters(c, job_id, post_ref, &v, e) || sq_commit(c, e)) goto fail;
    return 0;
fail:
    sq_rollback(c);
    return -1;
}

int sq_task_note(store *s, int64_t job_id, int64_t post_ref, task_status ts, const char *note, bool bump_attempts,
                 cerr *e) {
    if (ts == TASK_DONE || ts == TASK_FAILED || (unsigned)ts > TASK_FAILED)
        return cerr_set(e, CERR_INVALID, "task_note takes a non-final status (use task_finish)");
    sq_conn *c = sq_conn_get(s, e);
    if (!c) return -1;
    /* A task already done or failed keeps its outcome: a late note from a redelivery changes nothing. */
    sqlite3_stmt *st = sq_stmt(c, SQ_TASK_NOTE,
                               "UPDATE job_posts SET status = ?3, reason = ?4, attempts = attempts + ?5 "
                               "WHERE job_id = ?1 AND post_ref = ?2 AND status NOT IN ('done','failed')", e);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, post_ref);
    sqlite3_bind_text(st, 3, task_status_name(ts), -1, SQLITE_STATIC);
    bind_clipped(st, 4, note, REASON_MAX - 1);
    sqlite3_bind_int(st, 5, bump_attempts ? 1 : 0);
    if (sq_run(c, st, e, "cannot save task note")) return -1;
    return sqlite3_changes(c->db) > 0 ? 0 : task_exists(c, job_id, post_ref, e);
}

/* Reads the post's pool for the job's options, in seq order, into a growing array. */
static int read_pool(sq_conn *c, int64_t post_ref, const job_options *o, store_pool_item **out, size_t *count, cerr *e) {
    store_view pv = store_view_of(o->sample_pool, o->include_replies);
    sqlite3_stmt *st = sq_stmt(c, SQ_SEL_POOL,
                               "SELECT id, comment_id, parent_id, like_count, published_at, seq FROM comments "
                               "WHERE post_ref = ?1 AND seq < ?2 AND (?3 OR top_seq < ?4) ORDER BY seq LIMIT ?5", e);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, post_ref);
    sqlite3_bind_int64(st, 2, pv.seq_max);
    sqlite3_bind_int(st, 3, pv.replies);
    sqlite3_bind_int64(st, 4, pv.top_max);
    sqlite3_bind_int64(st, 5, SAMPLE_POOL_MAX);
    store_pool_item *items = NULL;
    size_t n = 0, cap = 0;
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            store_pool_item *grown = realloc(items, ncap * sizeof *items);
            if (!grown) {
                ret = cerr_set(e, CERR_NOMEM, "out of memory");
                break;
            }
            items = grown;
            cap = ncap;
        }
        store_pool_item *it = &items[n];
        memset(it, 0, sizeof *it);
        it->comment_ref = sqlite3_column_int64(st, 0);
        it->like_count = sqlite3_column_int64(st, 3);
        store_copy(it->published_at, sizeof it->published_at, sq_text(st, 4));
        it->seq = sqlite3_column_int64(st, 5);
        n++;
        if (sqlite3_column_type(st, 2) != SQLITE_NULL && !(it->parent_id = strdup(sq_text(st, 2)))) {
            ret = cerr_set(e, CERR_NOMEM, "out of memory");
            break;
        }
        if (o->sampling == SAMPLING_RANDOM && store_sample_key(o->seed, sq_text(st, 1), &it->key, e)) {
            ret = -1;
            break;
        }
    }
    if (!ret && rc != SQLITE_DONE) ret = sq_fail(c, e, "cannot read comments to select from");
    sqlite3_reset(st);
    if (ret) {
        store_pool_free(items, n);
        return -1;
    }
    *out = items;
    *count = n;
    return 0;
}

int sq_task_select(store *s, int64_t job_id, int64_t post_ref, int64_t *kept, cerr *e) {
    *kept = -1;
    sq_conn *c = sq_conn_get(s, e);
    if (!c) return -1;
    sqlite3_stmt *st = sq_stmt(c, SQ_SEL_JOB, "SELECT options FROM jobs WHERE id = ?1", e);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, job_id);
    int rc = sqlite3_step(st);
    job_options o;
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? cerr_set(e, CERR_NOTFOUND, "job %lld not found", (long long)job_id)
                                 : sq_fail(c, e, "cannot read job");
    }
    rc = store_options_parse(sq_text(st, 0), &o, e);
    sqlite3_reset(st);
    if (rc) return -1;
    if (!store_options_selected(&o)) return 0;
    /* One write transaction: a concurrent re-fetch of the post cannot change the pool halfway. */
    if (sq_begin(c, e)) return -1;
    store_pool_item *items = NULL;
    size_t n = 0, k = 0;
    if (read_pool(c, post_ref, &o, &items, &n, e) || store_select(items, n, &o, &k, e)) goto fail;
    st = sq_stmt(c, SQ_SEL_DELETE, "DELETE FROM job_comments WHERE job_id = ?1 AND post_ref = ?2", e);
    if (!st) goto fail;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, post_ref);
    if (sq_run(c, st, e, "cannot clear the selection")) goto fail;
    for (size_t i = 0; i < k; i++) {
        st = sq_stmt(c, SQ_SEL_INSERT,
                     "INSERT INTO job_comments(job_id, post_ref, rank_no, comment_ref) VALUES(?1, ?2, ?3, ?4)", e);
        if (!st) goto fail;
        sqlite3_bind_int64(st, 1, job_id);
        sqlite3_bind_int64(st, 2, post_ref);
        sqlite3_bind_int64(st, 3, (int64_t)i);
        sqlite3_bind_int64(st, 4, items[i].comment_ref);
        if (sq_run(c, st, e, "cannot save the selection")) goto fail;
    }
    if (sq_commit(c, e)) goto fail;
    store_pool_free(items, n);
    *kept = (int64_t)k;
    return 0;
fail:
    sq_rollback(c);
    store_pool_free(items, n);
    return -1;
}
