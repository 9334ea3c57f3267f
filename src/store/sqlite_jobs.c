/* sqlite_jobs.c - jobs: create (whole or not at all), read, list, delete. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "store/sqlite_internal.h"

static const char *owner_or_local(const char *owner) { return owner ? owner : LOCAL_OWNER; }

int sq_job_create(store *s, const char *owner, const job_options *opt, const post_url *posts, size_t n,
                  int64_t *job_id, cerr *e) {
    if (!posts || n == 0) return cerr_set(e, CERR_INVALID, "a job needs at least one post");
    if (n > STORE_JOB_POSTS_MAX) return cerr_set(e, CERR_TOOBIG, "too many posts in one job (%zu)", n);
    owner = owner_or_local(owner);
    if (!*owner || strlen(owner) >= OWNER_MAX) return cerr_set(e, CERR_INVALID, "invalid owner");
    job_options defaults;
    if (!opt) {
        store_options_default(&defaults);
        opt = &defaults;
    }
    if (store_check_options(opt, e)) return -1;
    sq_conn *c = sq_conn_get(s, e);
    if (!c) return -1;
    char *options;
    if (store_options_json(opt, &options, e)) return -1;
    if (sq_begin(c, e)) {
        free(options);
        return -1;
    }
    sqlite3_stmt *st = sq_stmt(c, SQ_JOB_INSERT,
                               "INSERT INTO jobs(owner, created_at, options, max_comments, include_replies, selected) "
                               "VALUES(?1, ?2, ?3, ?4, ?5, ?6)", e);
    if (!st) goto fail;
    sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_unix());
    sqlite3_bind_text(st, 3, options, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, opt->max_comments_per_post);
    sqlite3_bind_int(st, 5, opt->include_replies);
    sqlite3_bind_int(st, 6, store_options_selected(opt));
    if (sq_run(c, st, e, "cannot insert job")) goto fail;
    int64_t id = sqlite3_last_insert_rowid(c->db);

    int position = 0;
    for (size_t i = 0; i < n; i++) {
        /* Checked inside the transaction on purpose: a bad post after good ones must undo them all. */
        if (store_check_post(&posts[i], i, e)) goto fail;
        st = sq_stmt(c, SQ_POST_UPSERT,
                     "INSERT INTO posts(platform, post_id, canonical_url) VALUES(?1, ?2, ?3) "
                     "ON CONFLICT(platform, post_id) DO UPDATE SET canonical_url = excluded.canonical_url "
                     "RETURNING id", e);
        if (!st) goto fail;
        sqlite3_bind_text(st, 1, store_platform_str(posts[i].platform), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, posts[i].post_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, posts[i].canonical_url, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW) {
            sq_fail(c, e, "cannot save post");
            sqlite3_reset(st);
            goto fail;
        }
        int64_t post_ref = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        /* The same post twice in one request is linked once, at its first position. */
        st = sq_stmt(c, SQ_JOB_POST_INSERT,
                     "INSERT INTO job_posts(job_id, post_ref, position) VALUES(?1, ?2, ?3) ON CONFLICT DO NOTHING", e);
        if (!st) goto fail;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, post_ref);
        sqlite3_bind_int(st, 3, position);
        if (sq_run(c, st, e, "cannot link post to job")) goto fail;
        position += sqlite3_changes(c->db) > 0;
    }
    st = sq_stmt(c, SQ_JOB_SET_TOTAL, "UPDATE jobs SET posts_total = ?2 WHERE id = ?1", e);
    if (!st) goto fail;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, position);
    if (sq_run(c, st, e, "cannot update job") || sq_commit(c, e)) goto fail;
    free(options);
    *job_id = id;
    return 0;
fail:
    sq_rollback(c);
    free(options);
    return -1;
}

#define JOB_COLUMNS                                                                                      \
    "id, owner, status, options, created_at, started_at, finished_at, posts_total, posts_done, posts_failed, " \
    "comments_fetched, comments_classified, n_negative, n_neutral, n_positive"

static int read_job(sqlite3_stmt *st, job_info *j, cerr *e) {
    memset(j, 0, sizeof *j);
    j->id = sqlite3_column_int64(st, 0);
    store_copy(j->owner, sizeof j->owner, sq_text(st, 1));
    if (job_status_from_name(sq_text(st, 2), &j->status))
        return cerr_set(e, CERR_INTERNAL, "job %lld has an unknown status", (long long)j->id);
    if (store_options_parse(sq_text(st, 3), &j->options, e)) return -1;
    j->created_at = sqlite3_column_int64(st, 4);
    j->started_at = sqlite3_column_int64(st, 5);
    j->finished_at = sqlite3_column_int64(st, 6);
    j->posts_total = sqlite3_column_int64(st, 7);
    j->posts_done = sqlite3_column_int64(st, 8);
    j->posts_failed = sqlite3_column_int64(st, 9);
    j->comments_fetched = sqlite3_column_int64(st, 10);
    j->comments_classified = sqlite3_column_int64(st, 11);
    for (int i = 0; i < 3; i++) j->labels[i] = sqlite3_column_int64(st, 12 + i);
    return 0;
}

int sq_job_get(store *s, int64_t job_id, const char *owner, job_info *out, cerr *e) {
    sq_conn *c = sq_conn_get(s, e);
    if (!c) return -1;
    sqlite3_stmt *st =
        sq_stmt(c, SQ_JOB_GET, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1 AND (?2 IS NULL OR owner = ?2)", e);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, job_id);
    if (owner) sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), ret;
    if (rc == SQLITE_ROW) ret = read_job(st, out, e);
    else if (rc == SQLITE_DONE) ret = cerr_set(e, CERR_NOTFOUND, "job %lld not found", (long long)job_id);
    else ret = sq_fail(c, e, "cannot read job");
    sqlite3_reset(st);
    return ret;
}

void sq_read_task(sqlite3_stmt *st, task_info *t) {
    memset(t, 0, sizeof *t);
    t->job_id = sqlite3_column_int64(st, 0);
    t->post_ref = sqlite3_column_int64(st, 1);
    t->position = sqlite3_column_int(st, 2);
    t->platform = store_platform_parse(sq_text(st, 3));
    store_copy(t->post_id, sizeof t->post_id, sq_text(st, 4));
    store_copy(t->canonical_url, sizeof t->canonical_url, sq_text(st, 5));
    if (task_status_from_name(sq_text(st, 6), &t->status)) t->status = TASK_FAILED;
    store_copy(t->reason, sizeof t->reason, sq_text(st, 7));
    t->comment_count = sqlite3_column_int64(st, 8);
    t->classified_count = sqlite3_column_int64(st, 9);
    t->expected_count = sqlite3_column_int64(st, 10);
    t->attempts = sqlite3_column_int(st, 11);
    t->fetched_count = sqlite3_column_int64(st, 12);
    t->fetch_limit = sqlite3_column_int64(st, 13);
    t->fetch_replies = sqlite3_column_int(st, 14) != 0;
    t->fetched_at = sqlite3_column_int64(st, 15);
}

/* Callbacks run while the statement is open: they must not call back into the store. */
int sq_job_tasks(store *s, int64_t job_id, task_cb cb, void *ud, cerr *e) {
    job_info j;
    if (sq_job_get(s, job_id, NULL, &j, e)) return -1;
    sq_conn *c = sq_conn_get(s, e);
    if (!c) return -1;
    sqlite3_stmt *st = sq_stmt(c, SQ_JOB_TASKS,
                               "SELECT " SQ_TASK_COLUMNS " FROM job_posts jp JOIN posts p ON p.id = jp.post_ref "
                               "WHERE jp.job_id = ?1 ORDER BY jp.position", e);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, job_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        task_info t;
        sq_read_task(st, &t);
        if (cb(ud, &t)) {
            sqlite3_reset(st);
            return cerr_set(e, CERR_INTERNAL, "stopped by the caller");
        }
    }
    int ret = rc == SQLITE_DONE ? 0 : sq_fail(c, e, "cannot read job posts");
    sqlite3_reset(st);
    return ret;
}

int sq_job_list(store *s, const char *owner, int64_t before_id, int limit, job_cb cb, void *ud, cerr *e) {
    if (limit <= 0) return cerr_set(e, CERR_INVALID, "limit must be positive");
    if (limit > STORE_PAGE_MAX) limit = STORE_PAGE_MAX;
    sq_conn *c = sq_conn_get(s, e);
    if (!c) return -1;
    /* Two statements so each uses its index: rowid for admins, (owner, id) otherwise. */
    sqlite3_stmt *st =
        owner ? sq_stmt(c, SQ_JOB_LIST_OWNER,
                        "SELECT " JOB_COLUMNS " FROM jobs WHERE owner = ?3 AND id < ?1 ORDER BY id DESC LIMIT ?2", e)
              : sq_stmt(c, SQ_JOB_LIST_ALL, "SELECT " JOB_COLUMNS " FROM jobs WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
                        e);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, before_id > 0 ? before_id : INT64_MAX);
    sqlite3_bind_int(st, 2, limit);
    if (owner) sqlite3_bind_text(st, 3, owner, -1, SQLITE_STATIC);
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        job_info j;
        if (read_job(st, &j, e)) {
            ret = -1;
            break;
        }
        if (cb(ud, &j)) {
            ret = cerr_set(e, CERR_INTERNAL, "stopped by the caller");
            break;
        }
    }
    if (!ret && rc != SQLITE_DONE) ret = sq_fail(c, e, "cannot list jobs");
    sqlite3_reset(st);
    return ret;
}

int sq_job_delete(store *s, int64_t job_id, const char *owner, cerr *e) {
    sq_conn *c = sq_conn_get(s, e);
    if (!c) return -1;
    /* job_posts go with the job (ON DELETE CASCADE); posts and comments stay, other jobs may share them. */
    sqlite3_stmt *st = sq_stmt(c, SQ_JOB_DELETE, "DELETE FROM jobs WHERE id = ?1 AND (?2 IS NULL OR owner = ?2)", e);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, job_id);
    if (owner) sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
    if (sq_run(c, st, e, "cannot delete job")) return -1;
    if (sqlite3_changes(c->db) == 0) return cerr_set(e, CERR_NOTFOUND, "job %lld not found", (long long)job_id);
    return 0;
}
