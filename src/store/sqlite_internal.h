/* sqlite_internal.h - shared by the sqlite_*.c files: the store struct, per-thread connections with
 * their prepared-statement caches, and transaction helpers. */
#ifndef CHATTER_STORE_SQLITE_INTERNAL_H
#define CHATTER_STORE_SQLITE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "store/store.h"
#include "store/store_common.h"

extern const char *const *sqlite_migrations;
extern const int sqlite_migration_count;
extern const store_ops sqlite_store_ops;

/* One id per cached statement; the SQL text lives at the call site. */
typedef enum sq_id {
    SQ_JOB_INSERT,
    SQ_POST_UPSERT,
    SQ_JOB_POST_INSERT,
    SQ_JOB_SET_TOTAL,
    SQ_JOB_GET,
    SQ_JOB_TASKS,
    SQ_JOB_LIST_ALL,
    SQ_JOB_LIST_OWNER,
    SQ_JOB_DELETE,
    SQ_TASKS_UNFINISHED,
    SQ_TASK_LOAD,
    SQ_JOB_MARK_RUNNING,
    SQ_TASK_SET_STATUS,
    SQ_POST_STATE,
    SQ_POST_CLAIM,
    SQ_POST_RELEASE,
    SQ_POST_EXISTS,
    SQ_TOP_BASE,
    SQ_COMMENT_DISPLACE,
    SQ_COMMENT_UPSERT,
    SQ_POST_FETCHED_OK,
    SQ_POST_FETCHED_FAIL,
    SQ_JOB_VIEW,
    SQ_UNCLASSIFIED,
    SQ_SENTIMENT_UPSERT,
    SQ_TASK_FINISH_SET,
    SQ_TASK_COUNT,
    SQ_TASK_SET_COUNTS,
    SQ_JOB_SUMS,
    SQ_JOB_SET_DERIVED,
    SQ_TASK_NOTE,
    SQ_TASK_EXISTS,
    SQ_RESULT_NEXT_POST,
    SQ_RESULT_COMMENTS,
    SQ_RESULT_COMMENTS_SEL,
    SQ_TASK_COUNT_SEL,
    SQ_UNCLASSIFIED_SEL,
    SQ_SEL_JOB,
    SQ_SEL_POOL,
    SQ_SEL_DELETE,
    SQ_SEL_INSERT,
    SQ__COUNT
} sq_id;

typedef struct sqlite_store sqlite_store;

typedef struct sq_conn {
    sqlite3 *db;
    sqlite3_stmt *stmts[SQ__COUNT];
    sqlite_store *owner;
    struct sq_conn *prev, *next; /* every open connection, so close() can close them all */
} sq_conn;

struct sqlite_store {
    store base;
    char *path;
    pthread_key_t key;       /* this thread's sq_conn */
    pthread_mutex_t mu;      /* guards conns */
    sq_conn *conns;
};

/* This thread's connection, opened on first use. */
sq_conn *sq_conn_get(store *s, cerr *e);
/* The cached statement `id`, prepared from sql on first use; reset and unbound. */
sqlite3_stmt *sq_stmt(sq_conn *c, sq_id id, const char *sql, cerr *e);
/* Fills e from the connection's last error; returns -1. */
int sq_fail(sq_conn *c, cerr *e, const char *what);
int sq_exec(sq_conn *c, const char *sql, cerr *e) CH_MUST_USE;
/* BEGIN IMMEDIATE (retried while another writer holds the lock), COMMIT, ROLLBACK. */
int sq_begin(sq_conn *c, cerr *e) CH_MUST_USE;
int sq_commit(sq_conn *c, cerr *e) CH_MUST_USE;
void sq_rollback(sq_conn *c);
/* Steps a statement that returns no rows (or whose rows are ignored) and resets it. */
int sq_run(sq_conn *c, sqlite3_stmt *st, cerr *e, const char *what) CH_MUST_USE;
/* Column text, "" for NULL. */
const char *sq_text(sqlite3_stmt *st, int col);

/* Ops implemented in sqlite_jobs.c, sqlite_work.c and sqlite_admin.c. */
int sq_jobs_active(store *s, const char *owner, int64_t *count, cerr *e);
int sq_tasks_stale(store *s, int64_t older_than_s, task_cb cb, void *ud, cerr *e);
int sq_purge(store *s, int64_t before, int64_t *jobs_deleted, int64_t *comments_deleted, cerr *e);
int sq_job_create(store *s, const char *owner, const job_options *opt, const post_url *posts, size_t n,
                  int64_t *job_id, cerr *e);
int sq_job_get(store *s, int64_t job_id, const char *owner, job_info *out, cerr *e);
int sq_job_tasks(store *s, int64_t job_id, task_cb cb, void *ud, cerr *e);
int sq_job_list(store *s, const char *owner, int64_t before_id, int limit, job_cb cb, void *ud, cerr *e);
int sq_job_delete(store *s, int64_t job_id, const char *owner, cerr *e);
int sq_tasks_unfinished(store *s, task_cb cb, void *ud, cerr *e);
int sq_task_start(store *s, int64_t job_id, int64_t post_ref, task_info *out, job_options *opt, cerr *e);
int sq_post_state(store *s, int64_t post_ref, post_fetch_state *out, cerr *e);
int sq_post_claim(store *s, int64_t post_ref, const char *worker, int64_t lease_s, bool *claimed, cerr *e);
int sq_comments_upsert(store *s, int64_t post_ref, platform p, const comment_rec *recs, size_t n,
                       int64_t first_seq, cerr *e);
int sq_post_fetched(store *s, int64_t post_ref, bool ok, const char *reason, int64_t fetched_count,
                    int64_t expected_count, int64_t limit, bool replies, cerr *e);
int sq_task_select(store *s, int64_t job_id, int64_t post_ref, int64_t *kept, cerr *e);
int sq_task_unclassified(store *s, int64_t job_id, int64_t post_ref, const char *model, int page_size,
                         classify_cb cb, void *ud, cerr *e);
int sq_sentiments_upsert(store *s, const char *model, const sentiment_row *rows, size_t n, cerr *e);
int sq_task_finish(store *s, int64_t job_id, int64_t post_ref, task_status st, const char *reason,
                   const char *model, cerr *e);
int sq_task_note(store *s, int64_t job_id, int64_t post_ref, task_status st, const char *note,
                 bool bump_attempts, cerr *e);
int sq_results_page(store *s, int64_t job_id, int after_pos, int64_t after_seq, int limit, result_cb cb,
                    void *ud, int *count, cerr *e);

/* Shared by the jobs and work files: the columns of a task row and their decoding. */
#define SQ_TASK_COLUMNS                                                                                  \
    "jp.job_id, jp.post_ref, jp.position, p.platform, p.post_id, p.canonical_url, jp.status, jp.reason, " \
    "jp.comment_count, jp.classified_count, p.expected_count, jp.attempts, p.fetched_count, p.fetch_limit, " \
    "p.fetch_replies, p.fetched_at"
void sq_read_task(sqlite3_stmt *st, task_info *t);

#endif
