/* postgres_internal.h - shared by the postgres_*.c files: the store struct, a small connection pool
 * shared by all threads, per-connection prepared statements, and parameter helpers. */
#ifndef CHATTER_STORE_POSTGRES_INTERNAL_H
#define CHATTER_STORE_POSTGRES_INTERNAL_H

#include <libpq-fe.h>
#include <pthread.h>

#include "store/store.h"
#include "store/store_common.h"

extern const char *const *postgres_migrations;
extern const int postgres_migration_count;
extern const store_ops postgres_store_ops;

/* One id per prepared statement ("q<id>" on each connection); the SQL lives at the call site. */
typedef enum pq_id {
    PQ_JOB_INSERT,
    PQ_POST_UPSERT,
    PQ_JOB_POST_INSERT,
    PQ_JOB_SET_TOTAL,
    PQ_JOB_GET,
    PQ_JOB_TASKS,
    PQ_JOB_LIST_ALL,
    PQ_JOB_LIST_OWNER,
    PQ_JOB_DELETE,
    PQ_JOB_EXISTS,
    PQ_TASKS_UNFINISHED,
    PQ_TASK_LOAD,
    PQ_JOB_MARK_RUNNING,
    PQ_TASK_SET_STATUS,
    PQ_POST_STATE,
    PQ_POST_CLAIM,
    PQ_POST_RELEASE,
    PQ_POST_EXISTS,
    PQ_TOP_BASE,
    PQ_COMMENT_UPSERT,
    PQ_POST_FETCHED_OK,
    PQ_POST_FETCHED_FAIL,
    PQ_JOB_VIEW,
    PQ_JOB_LOCK,
    PQ_UNCLASSIFIED,
    PQ_SENTIMENT_UPSERT,
    PQ_TASK_FINISH_SET,
    PQ_TASK_COUNT,
    PQ_TASK_SET_COUNTS,
    PQ_JOB_SUMS,
    PQ_JOB_SET_DERIVED,
    PQ_TASK_NOTE,
    PQ_TASK_EXISTS,
    PQ_RESULT_NEXT_POST,
    PQ_RESULT_COMMENTS,
    PQ_RESULT_COMMENTS_SEL,
    PQ_TASK_COUNT_SEL,
    PQ_UNCLASSIFIED_SEL,
    PQ_SEL_JOB,
    PQ_SEL_POOL,
    PQ_SEL_DELETE,
    PQ_SEL_INSERT,
    PQ_JOBS_ACTIVE,
    PQ_TASKS_STALE,
    PQ_PURGE_JOBS,
    PQ_PURGE_POSTS,
    PQ__COUNT
} pq_id;

typedef struct pq_conn {
    PGconn *pg;
    bool prepared[PQ__COUNT];
    bool in_tx;
    struct pq_conn *next;
} pq_conn;

typedef struct postgres_store {
    store base;
    char *url;
    pthread_mutex_t mu;
    pthread_cond_t cv;  /* a connection came back to the pool */
    pq_conn *idle;
    int open, max;
} postgres_store;

/* Takes a connection from the pool (waits while all are busy; opens one when below the cap). */
pq_conn *pq_acquire(store *s, cerr *e);
void pq_release(store *s, pq_conn *c);

/* Parameters in text form, or text bytes with an explicit length (for cut strings). */
#define PQ_ARGS_MAX 16
typedef struct pq_args {
    const char *v[PQ_ARGS_MAX];
    int len[PQ_ARGS_MAX], fmt[PQ_ARGS_MAX];
    char num[PQ_ARGS_MAX][24];
    int n;
} pq_args;
void arg_i64(pq_args *a, int64_t x);
void arg_bool(pq_args *a, bool b);
void arg_str(pq_args *a, const char *s);              /* NULL -> SQL NULL */
void arg_clip(pq_args *a, const char *s, size_t max); /* NULL -> "" ; cut at max bytes (UTF-8 safe) */

/* Runs prepared statement `id` (prepared from sql on first use on this connection). Returns the
 * result (caller PQclear()s) or NULL with e filled. A statement outside a transaction is retried once
 * on a fresh connection when the server went away (a restart). */
PGresult *pq_exec(pq_conn *c, pq_id id, const char *sql, const pq_args *a, cerr *e);
/* Like pq_exec for statements whose rows are not needed; *affected = rows changed (may be NULL). */
int pq_run(pq_conn *c, pq_id id, const char *sql, const pq_args *a, int64_t *affected, cerr *e) CH_MUST_USE;
/* Sends prepared statement `id` in single-row mode: the caller reads rows with PQgetResult until NULL,
 * so a page of any size streams through a constant amount of memory. */
int pq_send_rows(pq_conn *c, pq_id id, const char *sql, const pq_args *a, cerr *e) CH_MUST_USE;
int pq_simple(pq_conn *c, const char *sql, cerr *e) CH_MUST_USE; /* unprepared, no parameters */
int pq_prepare(pq_conn *c, pq_id id, const char *sql, cerr *e) CH_MUST_USE;
/* Runs `steps` prepared statements inside the caller's transaction (c->in_tx), sent in pipelines of a
 * few hundred so a batch costs a few round trips instead of one per row. step() names the (already
 * prepared) statement and fills the arguments of step i. Results are checked, not returned. */
typedef void (*pq_step_fn)(void *ud, size_t i, pq_id *id, pq_args *a);
int pq_pipeline(pq_conn *c, size_t steps, pq_step_fn step, void *ud, cerr *e) CH_MUST_USE;
int pq_begin(pq_conn *c, cerr *e) CH_MUST_USE;
int pq_commit(pq_conn *c, cerr *e) CH_MUST_USE;
void pq_rollback(pq_conn *c);
int pq_fail(pq_conn *c, const PGresult *r, cerr *e, const char *what);

int64_t pq_i64(const PGresult *r, int row, int col);
bool pq_bool(const PGresult *r, int row, int col);
const char *pq_str(const PGresult *r, int row, int col); /* "" for NULL */

/* Ops implemented in postgres_jobs.c, postgres_work.c and postgres_results.c. */
int pg_job_create(store *s, const char *owner, const job_options *opt, const post_url *posts, size_t n,
                  int64_t *job_id, cerr *e);
int pg_job_get(store *s, int64_t job_id, const char *owner, job_info *out, cerr *e);
int pg_job_tasks(store *s, int64_t job_id, task_cb cb, void *ud, cerr *e);
int pg_job_list(store *s, const char *owner, int64_t before_id, int limit, job_cb cb, void *ud, cerr *e);
int pg_job_delete(store *s, int64_t job_id, const char *owner, cerr *e);
int pg_tasks_unfinished(store *s, task_cb cb, void *ud, cerr *e);
int pg_task_start(store *s, int64_t job_id, int64_t post_ref, task_info *out, job_options *opt, cerr *e);
int pg_post_state(store *s, int64_t post_ref, post_fetch_state *out, cerr *e);
int pg_post_claim(store *s, int64_t post_ref, const char *worker, int64_t lease_s, bool *claimed, cerr *e);
int pg_comments_upsert(store *s, int64_t post_ref, platform p, const comment_rec *recs, size_t n,
                       int64_t first_seq, cerr *e);
int pg_post_fetched(store *s, int64_t post_ref, bool ok, const char *reason, int64_t fetched_count,
                    int64_t expected_count, int64_t limit, bool replies, cerr *e);
int pg_task_select(store *s, int64_t job_id, int64_t post_ref, int64_t *kept, cerr *e);
int pg_task_unclassified(store *s, int64_t job_id, int64_t post_ref, const char *model, int page_size,
                         classify_cb cb, void *ud, cerr *e);
int pg_sentiments_upsert(store *s, const char *model, const sentiment_row *rows, size_t n, cerr *e);
int pg_task_finish(store *s, int64_t job_id, int64_t post_ref, task_status st, const char *reason,
                   const char *model, cerr *e);
int pg_task_note(store *s, int64_t job_id, int64_t post_ref, task_status st, const char *note,
                 bool bump_attempts, cerr *e);
int pg_results_page(store *s, int64_t job_id, int after_pos, int64_t after_seq, int limit, result_cb cb,
                    void *ud, int *count, cerr *e);
/* postgres_admin.c: the per-user active-job count and what `chatter sweep` needs. */
int pg_jobs_active(store *s, const char *owner, int64_t *count, cerr *e);
int pg_tasks_stale(store *s, int64_t older_than_s, task_cb cb, void *ud, cerr *e);
int pg_purge(store *s, int64_t before, int64_t *jobs_deleted, int64_t *comments_deleted, cerr *e);

#define PQ_TASK_COLUMNS                                                                                  \
    "jp.job_id, jp.post_ref, jp.position, p.platform, p.post_id, p.canonical_url, jp.status, jp.reason, " \
    "jp.comment_count, jp.classified_count, p.expected_count, jp.attempts, p.fetched_count, p.fetch_limit, " \
    "p.fetch_replies, p.fetched_at"
void pq_read_task(const PGresult *r, int row, task_info *t);

#endif
