/* sqlite_results.c - the CSV rows of a job, keyset-paged on (position, seq) so a download of any size
 * runs in constant memory: each page walks the job's posts in order and each post's comments by seq. */
#include <string.h>

#include "store/sqlite_internal.h"

typedef struct post_cursor {
    int position;
    int64_t post_ref;
    char url[POST_URL_MAX], platform[16], post_id[POST_ID_MAX], model[MODEL_ID_MAX];
    bool has_model;
} post_cursor;

/* The job's first post at or after position `from`; 1 found, 0 none, -1 error. */
static int next_post(sq_conn *c, int64_t job_id, int from, post_cursor *p, cerr *e) {
    sqlite3_stmt *st = sq_stmt(c, SQ_RESULT_NEXT_POST,
                               "SELECT jp.position, jp.post_ref, p.canonical_url, p.platform, p.post_id, jp.model "
                               "FROM job_posts jp JOIN posts p ON p.id = jp.post_ref "
                               "WHERE jp.job_id = ?1 AND jp.position >= ?2 ORDER BY jp.position LIMIT 1", e);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int(st, 2, from);
    int rc = sqlite3_step(st), ret = 0;
    if (rc == SQLITE_ROW) {
        p->position = sqlite3_column_int(st, 0);
        p->post_ref = sqlite3_column_int64(st, 1);
        store_copy(p->url, sizeof p->url, sq_text(st, 2));
        store_copy(p->platform, sizeof p->platform, sq_text(st, 3));
        store_copy(p->post_id, sizeof p->post_id, sq_text(st, 4));
        p->has_model = sqlite3_column_type(st, 5) != SQLITE_NULL;
        store_copy(p->model, sizeof p->model, sq_text(st, 5));
        ret = 1;
    } else if (rc != SQLITE_DONE) {
        ret = sq_fail(c, e, "cannot read job posts");
    }
    sqlite3_reset(st);
    return ret;
}

/* Streams up to `want` comments of one post after seq `after`; *got = rows delivered. */
static int post_rows(sq_conn *c, int64_t job_id, const post_cursor *p, const store_view *v, int64_t after, int want,
                     result_cb cb, void *ud, int *got, cerr *e) {
    *got = 0;
    /* A selecting job pages by its selection's rank; the others by fetch order. Same columns. */
    sqlite3_stmt *st =
        v->selected
            ? sq_stmt(c, SQ_RESULT_COMMENTS_SEL,
                      "SELECT jc.rank_no, c.comment_id, c.parent_id, c.author, c.published_at, c.text, "
                      "c.like_count, s.label, s.p_negative, s.p_neutral, s.p_positive "
                      "FROM job_comments jc JOIN comments c ON c.id = jc.comment_ref "
                      "LEFT JOIN sentiments s ON s.comment_ref = c.id AND s.model = ?6 "
                      "WHERE jc.job_id = ?8 AND jc.post_ref = ?1 AND jc.rank_no > ?2 AND ?3 = ?3 AND ?4 = ?4 "
                      "AND ?5 = ?5 ORDER BY jc.rank_no LIMIT ?7", e)
            : sq_stmt(c, SQ_RESULT_COMMENTS,
                      "SELECT c.seq, c.comment_id, c.parent_id, c.author, c.published_at, c.text, "
                      "c.like_count, s.label, s.p_negative, s.p_neutral, s.p_positive "
                      "FROM comments c LEFT JOIN sentiments s ON s.comment_ref = c.id AND s.model = ?6 "
                      "WHERE c.post_ref = ?1 AND c.seq > ?2 AND c.seq < ?3 AND (?4 OR c.top_seq < ?5) "
                      "ORDER BY c.seq LIMIT ?7", e);
    if (!st) return -1;
    if (v->selected) sqlite3_bind_int64(st, 8, job_id);
    sqlite3_bind_int64(st, 1, p->post_ref);
    sqlite3_bind_int64(st, 2, after);
    sqlite3_bind_int64(st, 3, v->seq_max);
    sqlite3_bind_int(st, 4, v->replies);
    sqlite3_bind_int64(st, 5, v->top_max);
    if (p->has_model) sqlite3_bind_text(st, 6, p->model, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 7, want);
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        bool labelled = sqlite3_column_type(st, 7) != SQLITE_NULL;
        result_row r = {
            .job_id = job_id,
            .post_url = p->url,
            .platform = p->platform,
            .post_id = p->post_id,
            .comment_id = sq_text(st, 1),
            .parent_id = sq_text(st, 2),
            .author = sq_text(st, 3),
            .published_at = sq_text(st, 4),
            .text = sq_text(st, 5),
            .like_count = sqlite3_column_int64(st, 6),
            .label = labelled ? sq_text(st, 7) : NULL,
            .p = {sqlite3_column_double(st, 8), sqlite3_column_double(st, 9), sqlite3_column_double(st, 10)},
            .model = labelled ? p->model : NULL,
            .position = p->position,
            .seq = sqlite3_column_int64(st, 0),
        };
        (*got)++;
        if (cb(ud, &r)) {
            ret = cerr_set(e, CERR_INTERNAL, "stopped by the caller");
            break;
        }
    }
    if (!ret && rc != SQLITE_DONE) ret = sq_fail(c, e, "cannot read results");
    sqlite3_reset(st);
    return ret;
}

int sq_results_page(store *s, int64_t job_id, int after_pos, int64_t after_seq, int limit, result_cb cb, void *ud,
                    int *count, cerr *e) {
    *count = 0;
    if (limit <= 0) return cerr_set(e, CERR_INVALID, "limit must be positive");
    if (limit > STORE_PAGE_MAX) limit = STORE_PAGE_MAX;
    sq_conn *c = sq_conn_get(s, e);
    if (!c) return -1;
    sqlite3_stmt *st = sq_stmt(c, SQ_JOB_VIEW, "SELECT max_comments, include_replies, selected FROM jobs WHERE id = ?1", e);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, job_id);
    int rc = sqlite3_step(st);
    store_view v = {0};
    if (rc == SQLITE_ROW) {
        v = store_view_of(sqlite3_column_int64(st, 0), sqlite3_column_int(st, 1) != 0);
        v.selected = sqlite3_column_int(st, 2) != 0;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return cerr_set(e, CERR_NOTFOUND, "job %lld not found", (long long)job_id);
    if (rc != SQLITE_ROW) return sq_fail(c, e, "cannot read job");

    int from = after_pos < 0 ? 0 : after_pos;
    while (*count < limit) {
        post_cursor p;
        int found = next_post(c, job_id, from, &p, e);
        if (found < 0) return -1;
        if (!found) break;
        int got;
        int64_t after = p.position == after_pos ? after_seq : -1;
        if (post_rows(c, job_id, &p, &v, after, limit - *count, cb, ud, &got, e)) {
            *count += got;
            return -1;
        }
        *count += got;
        if (p.position == INT32_MAX) break;
        from = p.position + 1;
    }
    return 0;
}
