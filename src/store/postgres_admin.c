/* postgres_admin.c - the rarely-run operations: the per-user active-job count, and what `chatter sweep`
 * needs (stale tasks, retention). Same meaning as sqlite_admin.c. */
#include <stdlib.h>

#include "core/util.h"
#include "store/postgres_internal.h"

#define STALE_BATCH 500

int pg_jobs_active(store *s, const char *owner, int64_t *count, cerr *e) {
    pq_conn *c = pq_acquire(s, e);
    if (!c) return -1;
    pq_args a = {.n = 0};
    arg_str(&a, owner);
    PGresult *r = pq_exec(c, PQ_JOBS_ACTIVE,
                          "SELECT count(*) FROM jobs WHERE owner = $1 AND status IN ('queued','running')", &a, e);
    pq_release(s, c);
    if (!r) return -1;
    *count = pq_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

/* Unfinished tasks whose post is under no live fetch lease. A task still waiting in the queue is
 * returned too: re-queueing it is harmless (delivery is idempotent) and is what rebuilds a lost queue. */
int pg_tasks_stale(store *s, int64_t older_than_s, task_cb cb, void *ud, cerr *e) {
    int64_t after_job = -1, after_pos = -1;
    for (;;) {
        pq_conn *c = pq_acquire(s, e);
        if (!c) return -1;
        pq_args a = {.n = 0};
        arg_i64(&a, after_job);
        arg_i64(&a, after_pos);
        arg_i64(&a, now_unix() - older_than_s);
        arg_i64(&a, STALE_BATCH);
        PGresult *r = pq_exec(c, PQ_TASKS_STALE,
                              "SELECT " PQ_TASK_COLUMNS " FROM job_posts jp JOIN posts p ON p.id = jp.post_ref "
                              "WHERE jp.status NOT IN ('done','failed') AND p.lease_until < $3 "
                              "AND (jp.job_id, jp.position) > ($1, $2) ORDER BY jp.job_id, jp.position LIMIT $4",
                              &a, e);
        pq_release(s, c); /* before the callbacks: they may use the store */
        if (!r) return -1;
        int n = PQntuples(r), ret = 0;
        task_info t;
        for (int i = 0; !ret && i < n; i++) {
            pq_read_task(r, i, &t);
            if (cb(ud, &t)) ret = cerr_set(e, CERR_INTERNAL, "stopped by the caller");
        }
        PQclear(r);
        if (ret || n < STALE_BATCH) return ret;
        after_job = t.job_id;
        after_pos = t.position;
    }
}

int pg_purge(store *s, int64_t before, int64_t *jobs_deleted, int64_t *comments_deleted, cerr *e) {
    *jobs_deleted = *comments_deleted = 0;
    pq_conn *c = pq_acquire(s, e);
    if (!c) return -1;
    int ret = -1;
    if (pq_begin(c, e)) goto out;
    pq_args a = {.n = 0};
    arg_i64(&a, before);
    int64_t jobs = 0;
    if (pq_run(c, PQ_PURGE_JOBS, "DELETE FROM jobs WHERE created_at < $1", &a, &jobs, e)) goto rollback;
    /* Posts no job links any more go; their comments and sentiments cascade. A post that a concurrent
     * job_create is linking holds a row lock (its upsert), so SKIP LOCKED leaves it for the next sweep
     * instead of deleting the comments that job is about to reuse. */
    PGresult *r = pq_exec(c, PQ_PURGE_POSTS,
                          "WITH gone AS (SELECT id FROM posts p WHERE NOT EXISTS "
                          "  (SELECT 1 FROM job_posts jp WHERE jp.post_ref = p.id) FOR UPDATE SKIP LOCKED), "
                          "n AS (SELECT count(*) AS k FROM comments WHERE post_ref IN (SELECT id FROM gone)), "
                          "d AS (DELETE FROM posts WHERE id IN (SELECT id FROM gone)) "
                          "SELECT k FROM n",
                          NULL, e);
    if (!r) goto rollback;
    int64_t comments = pq_i64(r, 0, 0);
    PQclear(r);
    if (pq_commit(c, e)) goto out;
    *jobs_deleted = jobs;
    *comments_deleted = comments;
    ret = 0;
    goto out;
rollback:
    pq_rollback(c);
out:
    pq_release(s, c);
    return ret;
}
