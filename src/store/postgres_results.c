/* postgres_results.c - the CSV rows of a job, keyset-paged on (position, seq): each page walks the
 * job's posts in order and each post's comments by seq, rows streamed in single-row mode. */
#include <stdlib.h>
#include <string.h>

#include "store/postgres_internal.h"

typedef struct post_cursor {
    int position;
    int64_t post_ref;
    char url[POST_URL_MAX], platform[16], post_id[POST_ID_MAX], model[MODEL_ID_MAX];
    bool has_model;
} post_cursor;

/* The job's first post at or after position `from`; 1 found, 0 none, -1 error. */
static int next_post(pq_conn *c, int64_t job_id, int from, post_cursor *p, cerr *e) {
    pq_args a = {.n = 0};
    arg_i64(&a, job_id);
    arg_i64(&a, from);
    PGresult *r = pq_exec(c, PQ_RESULT_NEXT_POST,
                          "SELECT jp.position, jp.post_ref, p.canonical_url, p.platform, p.post_id, jp.model "
                          "FROM job_posts jp JOIN posts p ON p.id = jp.post_ref "
                          "WHERE jp.job_id = $1 AND jp.position >= $2 ORDER BY jp.position LIMIT 1", &a, e);
    if (!r) return -1;
    int found = PQntuples(r) == 1;
    if (found) {
        p->position = (int)pq_i64(r, 0, 0);
        p->post_ref = pq_i64(r, 0, 1);
        store_copy(p->url, sizeof p->url, pq_str(r, 0, 2));
        store_copy(p->platform, sizeof p->platform, pq_str(r, 0, 3));
        store_copy(p->post_id, sizeof p->post_id, pq_str(r, 0, 4));
        p->has_model = !PQgetisnull(r, 0, 5);
        store_copy(p->model, sizeof p->model, pq_str(r, 0, 5));
    }
    PQclear(r);
    return found;
}

static double pq_f64(const PGresult *r, int col) { return PQgetisnull(r, 0, col) ? 0.0 : strtod(PQgetvalue(r, 0, col), NULL); }

/* Streams up to `want` comments of one post after seq `after`; *got = rows delivered. */
static int post_rows(pq_conn *c, int64_t job_id, const post_cursor *p, const store_view *v, int64_t after, int want,
                     result_cb cb, void *ud, int *got, cerr *e) {
    *got = 0;
    pq_args a = {.n = 0};
    arg_i64(&a, p->post_ref);
    arg_i64(&a, after);
    if (v->selected) { /* a selecting job pages by its selection's rank; same columns */
        arg_i64(&a, job_id);
        arg_str(&a, p->has_model ? p->model : NULL);
        arg_i64(&a, want);
        if (pq_send_rows(c, PQ_RESULT_COMMENTS_SEL,
                         "SELECT jc.rank_no, c.comment_id, c.parent_id, c.author, c.published_at, c.text, c.like_count, "
                         "s.label, s.p_negative, s.p_neutral, s.p_positive "
                         "FROM job_comments jc JOIN comments c ON c.id = jc.comment_ref "
                         "LEFT JOIN sentiments s ON s.comment_ref = c.id AND s.model = $4 "
                         "WHERE jc.job_id = $3 AND jc.post_ref = $1 AND jc.rank_no > $2 ORDER BY jc.rank_no LIMIT $5",
                         &a, e))
            return -1;
    } else {
    arg_i64(&a, v->seq_max);
    arg_bool(&a, v->replies);
    arg_i64(&a, v->top_max);
    arg_str(&a, p->has_model ? p->model : NULL);
    arg_i64(&a, want);
    if (pq_send_rows(c, PQ_RESULT_COMMENTS,
                     "SELECT c.seq, c.comment_id, c.parent_id, c.author, c.published_at, c.text, c.like_count, "
                     "s.label, s.p_negative, s.p_neutral, s.p_positive "
                     "FROM comments c LEFT JOIN sentiments s ON s.comment_ref = c.id AND s.model = $6 "
                     "WHERE c.post_ref = $1 AND c.seq > $2 AND c.seq < $3 AND ($4 OR c.top_seq < $5) "
                     "ORDER BY c.seq LIMIT $7", &a, e))
        return -1;
    }
    int ret = 0;
    PGresult *r;
    /* Every result is read even after an error or a stop: the connection must be idle when it goes back. */
    while ((r = PQgetResult(c->pg))) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_SINGLE_TUPLE && !ret) {
            bool labelled = !PQgetisnull(r, 0, 7);
            result_row row = {
                .job_id = job_id,
                .post_url = p->url,
                .platform = p->platform,
                .post_id = p->post_id,
                .comment_id = pq_str(r, 0, 1),
                .parent_id = pq_str(r, 0, 2),
                .author = pq_str(r, 0, 3),
                .published_at = pq_str(r, 0, 4),
                .text = pq_str(r, 0, 5),
                .like_count = pq_i64(r, 0, 6),
                .label = labelled ? pq_str(r, 0, 7) : NULL,
                .p = {pq_f64(r, 8), pq_f64(r, 9), pq_f64(r, 10)},
                .model = labelled ? p->model : NULL,
                .position = p->position,
                .seq = pq_i64(r, 0, 0),
            };
            (*got)++;
            if (cb(ud, &row)) ret = cerr_set(e, CERR_INTERNAL, "stopped by the caller");
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && !ret) {
            ret = pq_fail(c, r, e, "cannot read results");
        }
        PQclear(r);
    }
    return ret;
}

int pg_results_page(store *s, int64_t job_id, int after_pos, int64_t after_seq, int limit, result_cb cb, void *ud,
                    int *count, cerr *e) {
    *count = 0;
    if (limit <= 0) return cerr_set(e, CERR_INVALID, "limit must be positive");
    if (limit > STORE_PAGE_MAX) limit = STORE_PAGE_MAX;
    pq_conn *c = pq_acquire(s, e);
    if (!c) return -1;
    int ret = 0;
    pq_args a = {.n = 0};
    arg_i64(&a, job_id);
    PGresult *r = pq_exec(c, PQ_JOB_VIEW, "SELECT max_comments, include_replies, selected FROM jobs WHERE id = $1", &a, e);
    store_view v = {0};
    if (!r) ret = -1;
    else if (PQntuples(r) != 1) ret = cerr_set(e, CERR_NOTFOUND, "job %lld not found", (long long)job_id);
    else {
        v = store_view_of(pq_i64(r, 0, 0), pq_bool(r, 0, 1));
        v.selected = pq_bool(r, 0, 2);
    }
    PQclear(r);
    int from = after_pos < 0 ? 0 : after_pos;
    while (!ret && *count < limit) {
        post_cursor p;
        int found = next_post(c, job_id, from, &p, e);
        if (found <= 0) {
            ret = found;
            break;
        }
        int got = 0;
        ret = post_rows(c, job_id, &p, &v, p.position == after_pos ? after_seq : -1, limit - *count, cb, ud, &got, e);
        *count += got;
        if (p.position == INT32_MAX) break;
        from = p.position + 1;
    }
    pq_release(s, c);
    return ret;
}
