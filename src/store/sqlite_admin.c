/* sqlite_admin.c - the rarely-run operations: the per-user active-job count, and what `chatter sweep`
 * needs (stale tasks, retention). Statements are prepared per call: none of this is on a hot path. */
#include <stdlib.h>

#include "core/util.h"
#include "store/sqlite_internal.h"

int sq_jobs_active(store *s, const char *owner, int64_t *count, cerr *e) {
    sq_conn *c = sq_conn_get(s, e);
    if (!c) return -1;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, "SELECT count(*) FROM jobs WHERE owner = ?1 AND status IN ('queued','running')",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_fail(c, e, "cannot count active jobs");
    sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *count = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : sq_fail(c, e, "cannot count active jobs");
}

#define STALE_BATCH 500

/* Unfinished tasks whose post is under no live fetch lease. A task still waiting in the queue is
 * returned too: re-queueing it is harmless (delivery is idempotent) and is what rebuilds a lost queue. */
int sq_tasks_stale(store *s, int64_t older_than_s, task_cb cb, void *ud, cerr *e) {
    sq_conn *c = sq_conn_get(s, e);
    if (!c) return -1;
    task_info *batch = malloc(STALE_BATCH * sizeof *batch);
    if (!batch) return cerr_set(e, CERR_NOMEM, "out of memory");
    int64_t after_job = -1, after_pos = -1;
    int ret = 0;
    for (;;) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(c->db,
                               "SELECT " SQ_TASK_COLUMNS " FROM job_posts jp JOIN posts p ON p.id = jp.post_ref "
                               "WHERE jp.status NOT IN ('done','failed') AND p.lease_until < ?3 "
                               "AND (jp.job_id, jp.position) > (?1, ?2) ORDER BY jp.job_id, jp.position LIMIT ?4",
                               -1, &st, NULL) != SQLITE_OK) {
            ret = sq_fail(c, e, "cannot list stale tasks");
            break;
        }
        sqlite3_bind_int64(st, 1, after_job);
        sqlite3_bind_int64(st, 2, after_pos);
        sqlite3_bind_int64(st, 3, now_unix() - older_than_s);
        sqlite3_bind_int(st, 4, STALE_BATCH);
        int n = 0, rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) sq_read_task(st, &batch[n++]);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            ret = sq_fail(c, e, "cannot list stale tasks");
            break;
        }
        for (int i = 0; !ret && i < n; i++)
            if (cb(ud, &batch[i])) ret = cerr_set(e, CERR_INTERNAL, "stopped by the caller");
        if (ret || n < STALE_BATCH) break;
        after_job = batch[n - 1].job_id;
        after_pos = batch[n - 1].position;
    }
    free(batch);
    return ret;
}

int sq_purge(store *s, int64_t before, int64_t *jobs_deleted, int64_t *comments_deleted, cerr *e) {
    sq_conn *c = sq_conn_get(s, e);
    if (!c || sq_begin(c, e)) return -1;
    sqlite3_stmt *st = NULL;
    *jobs_deleted = *comments_deleted = 0;
    if (sqlite3_prepare_v2(c->db, "DELETE FROM jobs WHERE created_at < ?1", -1, &st, NULL) != SQLITE_OK) goto fail;
    sqlite3_bind_int64(st, 1, before);
    if (sqlite3_step(st) != SQLITE_DONE) goto fail;
    sqlite3_finalize(st);
    st = NULL;
    *jobs_deleted = sqlite3_changes64(c->db);
    /* posts no job links any more go, with their comments (sentiments cascade) */
    if (sq_exec(c, "DELETE FROM comments WHERE post_ref NOT IN (SELECT post_ref FROM job_posts)", e)) goto fail_e;
    *comments_deleted = sqlite3_changes64(c->db);
    if (sq_exec(c, "DELETE FROM posts WHERE id NOT IN (SELECT post_ref FROM job_posts)", e)) goto fail_e;
    return sq_commit(c, e);
fail:
    sq_fail(c, e, "cannot purge old jobs");
fail_e:
    if (st) sqlite3_finalize(st);
    sq_rollback(c);
    return -1;
}
