/* postgres_jobs.c - jobs: create (whole or not at all), read, list, delete. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "store/postgres_internal.h"

typedef struct post_slot {
    const post_url *p;
    size_t index;
    int64_t ref;
} post_slot;

static int slot_cmp(const void *a, const void *b) {
    const post_slot *x = a, *y = b;
    if (x->p->platform != y->p->platform) return x->p->platform < y->p->platform ? -1 : 1;
    int c = strcmp(x->p->post_id, y->p->post_id);
    if (c) return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

int pg_job_create(store *s, const char *owner, const job_options *opt, const post_url *posts, size_t n,
                  int64_t *job_id, cerr *e) {
    if (!posts || n == 0) return cerr_set(e, CERR_INVALID, "a job needs at least one post");
    if (n > STORE_JOB_POSTS_MAX) return cerr_set(e, CERR_TOOBIG, "too many posts in one job (%zu)", n);
    if (!owner) owner = LOCAL_OWNER;
    if (!*owner || strlen(owner) >= OWNER_MAX) return cerr_set(e, CERR_INVALID, "invalid owner");
    job_options defaults;
    if (!opt) {
        store_options_default(&defaults);
        opt = &defaults;
    }
    if (store_check_options(opt, e)) return -1;
    post_slot *slots = calloc(n, sizeof *slots);
    if (!slots) return cerr_set(e, CERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) slots[i] = (post_slot){.p = &posts[i], .index = i};
    /* Upserting posts in one global order means two jobs sharing posts lock them in the same order
     * and cannot deadlock. */
    qsort(slots, n, sizeof *slots, slot_cmp);
    int64_t *refs = calloc(n, sizeof *refs);
    char *options = NULL;
    if (!refs || store_options_json(opt, &options, e)) {
        free(slots);
        free(refs);
        return refs ? -1 : cerr_set(e, CERR_NOMEM, "out of memory");
    }
    int ret = -1;
    pq_conn *c = pq_acquire(s, e);
    if (!c) goto out;
    if (pq_begin(c, e)) goto out;
    pq_args a = {.n = 0};
    arg_str(&a, owner);
    arg_i64(&a, now_unix());
    arg_str(&a, options);
    arg_i64(&a, opt->max_comments_per_post);
    arg_bool(&a, opt->include_replies);
    arg_bool(&a, store_options_selected(opt));
    PGresult *r = pq_exec(c, PQ_JOB_INSERT,
                          "INSERT INTO jobs(owner, created_at, options, max_comments, include_replies, selected) "
                          "VALUES($1, $2, $3::jsonb, $4, $5, $6) RETURNING id", &a, e);
    if (!r) goto out;
    int64_t id = pq_i64(r, 0, 0);
    PQclear(r);
    for (size_t k = 0; k < n; k++) {
        const post_url *p = slots[k].p;
        /* Checked inside the transaction on purpose: a bad post after good ones must undo them all. */
        if (store_check_post(p, slots[k].index, e)) goto out;
        a.n = 0;
        arg_str(&a, store_platform_str(p->platform));
        arg_str(&a, p->post_id);
        arg_str(&a, p->canonical_url);
        r = pq_exec(c, PQ_POST_UPSERT,
                    "INSERT INTO posts(platform, post_id, canonical_url) VALUES($1, $2, $3) "
                    "ON CONFLICT(platform, post_id) DO UPDATE SET canonical_url = excluded.canonical_url RETURNING id",
                    &a, e);
        if (!r) goto out;
        refs[slots[k].index] = pq_i64(r, 0, 0);
        PQclear(r);
    }
    int position = 0;
    for (size_t i = 0; i < n; i++) {
        /* The same post twice in one request is linked once, at its first position. */
        a.n = 0;
        arg_i64(&a, id);
        arg_i64(&a, refs[i]);
        arg_i64(&a, position);
        int64_t added;
        if (pq_run(c, PQ_JOB_POST_INSERT,
                   "INSERT INTO job_posts(job_id, post_ref, position) VALUES($1, $2, $3) ON CONFLICT DO NOTHING", &a,
                   &added, e))
            goto out;
        position += added > 0;
    }
    a.n = 0;
    arg_i64(&a, id);
    arg_i64(&a, position);
    if (pq_run(c, PQ_JOB_SET_TOTAL, "UPDATE jobs SET posts_total = $2 WHERE id = $1", &a, NULL, e) || pq_commit(c, e))
        goto out;
    *job_id = id;
    ret = 0;
out:
    if (c && ret) pq_rollback(c);
    pq_release(s, c);
    free(options);
    free(refs);
    free(slots);
    return ret;
}

#define JOB_COLUMNS                                                                                      \
    "id, owner, status, options::text, created_at, started_at, finished_at, posts_total, posts_done, "   \
    "posts_failed, comments_fetched, comments_classified, n_negative, n_neutral, n_positive"

static int read_job(const PGresult *r, int row, job_info *j, cerr *e) {
    memset(j, 0, sizeof *j);
    j->id = pq_i64(r, row, 0);
    store_copy(j->owner, sizeof j->owner, pq_str(r, row, 1));
    if (job_status_from_name(pq_str(r, row, 2), &j->status))
        return cerr_set(e, CERR_INTERNAL, "job %lld has an unknown status", (long long)j->id);
    if (store_options_parse(pq_str(r, row, 3), &j->options, e)) return -1;
    j->created_at = pq_i64(r, row, 4);
    j->started_at = pq_i64(r, row, 5);
    j->finished_at = pq_i64(r, row, 6);
    j->posts_total = pq_i64(r, row, 7);
    j->posts_done = pq_i64(r, row, 8);
    j->posts_failed = pq_i64(r, row, 9);
    j->comments_fetched = pq_i64(r, row, 10);
    j->comments_classified = pq_i64(r, row, 11);
    for (int i = 0; i < 3; i++) j->labels[i] = pq_i64(r, row, 12 + i);
    return 0;
}

int pg_job_get(store *s, int64_t job_id, const char *owner, job_info *out, cerr *e) {
    pq_conn *c = pq_acquire(s, e);
    if (!c) return -1;
    pq_args a = {.n = 0};
    arg_i64(&a, job_id);
    arg_str(&a, owner);
    PGresult *r = pq_exec(c, PQ_JOB_GET,
                          "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1 AND ($2::text IS NULL OR owner = $2::text)",
                          &a, e);
    pq_release(s, c);
    if (!r) return -1;
    int ret = PQntuples(r) == 1 ? read_job(r, 0, out, e)
                                : cerr_set(e, CERR_NOTFOUND, "job %lld not found", (long long)job_id);
    PQclear(r);
    return ret;
}

void pq_read_task(const PGresult *r, int row, task_info *t) {
    memset(t, 0, sizeof *t);
    t->job_id = pq_i64(r, row, 0);
    t->post_ref = pq_i64(r, row, 1);
    t->position = (int)pq_i64(r, row, 2);
    t->platform = store_platform_parse(pq_str(r, row, 3));
    store_copy(t->post_id, sizeof t->post_id, pq_str(r, row, 4));
    store_copy(t->canonical_url, sizeof t->canonical_url, pq_str(r, row, 5));
    if (task_status_from_name(pq_str(r, row, 6), &t->status)) t->status = TASK_FAILED;
    store_copy(t->reason, sizeof t->reason, pq_str(r, row, 7));
    t->comment_count = pq_i64(r, row, 8);
    t->classified_count = pq_i64(r, row, 9);
    t->expected_count = pq_i64(r, row, 10);
    t->attempts = (int)pq_i64(r, row, 11);
    t->fetched_count = pq_i64(r, row, 12);
    t->fetch_limit = pq_i64(r, row, 13);
    t->fetch_replies = pq_bool(r, row, 14);
    t->fetched_at = pq_i64(r, row, 15);
}

int pg_job_tasks(store *s, int64_t job_id, task_cb cb, void *ud, cerr *e) {
    pq_conn *c = pq_acquire(s, e);
    if (!c) return -1;
    pq_args a = {.n = 0};
    arg_i64(&a, job_id);
    PGresult *exists = pq_exec(c, PQ_JOB_EXISTS, "SELECT 1 FROM jobs WHERE id = $1", &a, e);
    PGresult *r = exists && PQntuples(exists) == 1
                      ? pq_exec(c, PQ_JOB_TASKS,
                                "SELECT " PQ_TASK_COLUMNS " FROM job_posts jp JOIN posts p ON p.id = jp.post_ref "
                                "WHERE jp.job_id = $1 ORDER BY jp.position", &a, e)
                      : NULL;
    pq_release(s, c);
    int ret = 0;
    if (!exists) ret = -1;
    else if (PQntuples(exists) != 1) ret = cerr_set(e, CERR_NOTFOUND, "job %lld not found", (long long)job_id);
    else if (!r) ret = -1;
    PQclear(exists);
    /* The connection is back in the pool: the callback may use the store. */
    for (int i = 0; !ret && i < PQntuples(r); i++) {
        task_info t;
        pq_read_task(r, i, &t);
        if (cb(ud, &t)) ret = cerr_set(e, CERR_INTERNAL, "stopped by the caller");
    }
    PQclear(r);
    return ret;
}

int pg_job_list(store *s, const char *owner, int64_t before_id, int limit, job_cb cb, void *ud, cerr *e) {
    if (limit <= 0) return cerr_set(e, CERR_INVALID, "limit must be positive");
    if (limit > STORE_PAGE_MAX) limit = STORE_PAGE_MAX;
    pq_conn *c = pq_acquire(s, e);
    if (!c) return -1;
    pq_args a = {.n = 0};
    arg_i64(&a, before_id > 0 ? before_id : INT64_MAX);
    arg_i64(&a, limit);
    if (owner) arg_str(&a, owner);
    PGresult *r = owner ? pq_exec(c, PQ_JOB_LIST_OWNER,
                                  "SELECT " JOB_COLUMNS " FROM jobs WHERE owner = $3 AND id < $1 ORDER BY id DESC "
                                  "LIMIT $2", &a, e)
                        : pq_exec(c, PQ_JOB_LIST_ALL,
                                  "SELECT " JOB_COLUMNS " FROM jobs WHERE id < $1 ORDER BY id DESC LIMIT $2", &a, e);
    pq_release(s, c);
    if (!r) return -1;
    int ret = 0;
    for (int i = 0; !ret && i < PQntuples(r); i++) {
        job_info j;
        if (read_job(r, i, &j, e)) ret = -1;
        else if (cb(ud, &j)) ret = cerr_set(e, CERR_INTERNAL, "stopped by the caller");
    }
    PQclear(r);
    return ret;
}

int pg_job_delete(store *s, int64_t job_id, const char *owner, cerr *e) {
    pq_conn *c = pq_acquire(s, e);
    if (!c) return -1;
    pq_args a = {.n = 0};
    arg_i64(&a, job_id);
    arg_str(&a, owner);
    int64_t n = 0;
    /* job_posts go with the job (ON DELETE CASCADE); posts and comments stay, other jobs may share them. */
    int rc = pq_run(c, PQ_JOB_DELETE, "DELETE FROM jobs WHERE id = $1 AND ($2::text IS NULL OR owner = $2::text)", &a,
                    &n, e);
    pq_release(s, c);
    if (rc) return -1;
    return n ? 0 : cerr_set(e, CERR_NOTFOUND, "job %lld not found", (long long)job_id);
}
