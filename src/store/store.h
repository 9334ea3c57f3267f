/* store.h - the storage interface. The database is the truth: every write is idempotent, job counters
 * are derived from post rows inside the same transaction, and a job is created whole or not at all.
 * A store handle is shared by all threads of a process; implementations keep a connection per thread
 * or a pool. One implementation per file (sqlite.c, postgres.c), chosen by DATABASE_URL in store.c. */
#ifndef CHATTER_STORE_STORE_H
#define CHATTER_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "sentiment/analyzer.h"
#include "sources/source.h"
#include "sources/url.h"

typedef enum job_status { JOB_QUEUED = 0, JOB_RUNNING, JOB_DONE, JOB_PARTIAL, JOB_FAILED } job_status;
/* A post inside a job ("task"): queued -> fetching -> classifying -> done | failed */
typedef enum task_status { TASK_QUEUED = 0, TASK_FETCHING, TASK_CLASSIFYING, TASK_DONE, TASK_FAILED } task_status;

const char *job_status_name(job_status s);
const char *task_status_name(task_status s);
int job_status_from_name(const char *s, job_status *out);
int task_status_from_name(const char *s, task_status *out);

#define OWNER_MAX 256
#define REASON_MAX 256
#define MODEL_ID_MAX 128
#define LOCAL_OWNER "local" /* owner of jobs created without authentication */

/* Which of a post's fetched comments a job keeps (see store_select in store_common.h). */
typedef enum sampling {
    SAMPLING_FIRST = 0, /* the first N in API order */
    SAMPLING_TOP,       /* the N with the most likes */
    SAMPLING_NEWEST,    /* the N published last */
    SAMPLING_RANDOM,    /* N drawn uniformly from the fetched pool, reproducibly from `seed` */
} sampling;

const char *sampling_name(sampling s);
int sampling_from_name(const char *s, sampling *out);

#define SAMPLE_POOL_MAX 100000 /* hard cap on the comments fetched per post to select from */
#define SEED_MAX 9007199254740991LL /* 2^53 - 1: a seed survives every JSON client unchanged */

typedef struct job_options {
    int64_t max_comments_per_post;  /* 0 = all */
    bool include_replies;
    char analyzer[32];              /* analyzer name requested ("auto", "vader", ...) */
    sampling sampling;
    int64_t seed;                   /* SAMPLING_RANDOM: 0..SEED_MAX */
    int64_t sample_pool;            /* comments fetched per post to select from when the job selects
                                     * (sampling other than first, or a reply cap); 0 otherwise */
    int64_t max_replies_per_thread; /* 0 = no cap */
    int64_t time_budget_s;          /* wall time from the job's start after which unfinished posts fail;
                                     * 0 = none */
} job_options;

typedef struct job_info {
    int64_t id;
    char owner[OWNER_MAX];
    job_status status;
    job_options options;
    int64_t created_at, started_at, finished_at; /* unix seconds; 0 = not yet */
    int64_t posts_total, posts_done, posts_failed;
    int64_t comments_fetched, comments_classified;
    int64_t labels[3];                           /* negative, neutral, positive */
} job_info;

typedef struct task_info {        /* one post as seen from one job */
    int64_t job_id;
    int64_t post_ref;             /* the posts table's id */
    int position;                 /* index of the link in the job's request (after dedupe) */
    platform platform;
    char post_id[POST_ID_MAX];
    char canonical_url[POST_URL_MAX];
    task_status status;
    char reason[REASON_MAX];      /* failure reason, or a note ("waiting for rate limit until ...") */
    int64_t comment_count;        /* comments of this post that the job shows (limit/replies applied) */
    int64_t classified_count;
    int64_t expected_count;       /* platform's total, -1 unknown */
    int attempts;
    int64_t fetched_count;        /* comments the post's last complete fetch delivered */
    int64_t fetch_limit;          /* the limit of that fetch (0 = all) */
    bool fetch_replies;           /* whether it included replies */
    int64_t fetched_at;           /* unix seconds; 0 = never fetched */
} task_info;

typedef struct post_fetch_state { /* what the store knows of a post's last fetch */
    int64_t fetched_at;           /* unix seconds of the last complete fetch; 0 = never */
    int64_t fetch_limit;          /* max_comments used then (0 = all) */
    bool fetch_replies;
    int64_t fetched_count;
    int64_t expected_count;
    char claimed_by[64];          /* worker holding the fetch lease, "" when none */
    int64_t lease_until;          /* unix seconds */
} post_fetch_state;

typedef struct comment_to_classify {
    int64_t comment_ref;          /* the comments table's id */
    const char *text;
} comment_to_classify;

typedef struct sentiment_row {
    int64_t comment_ref;
    sentiment s;
} sentiment_row;

typedef struct result_row {       /* one CSV row; strings valid only during the callback */
    int64_t job_id;
    const char *post_url, *platform, *post_id, *comment_id, *parent_id, *author, *published_at, *text;
    int64_t like_count;           /* -1 unknown */
    const char *label;            /* NULL when not classified */
    double p[3];
    const char *model;
    int position;                 /* paging key, part 1 */
    int64_t seq;                  /* paging key, part 2 */
} result_row;

typedef int (*task_cb)(void *ud, const task_info *t);
typedef int (*job_cb)(void *ud, const job_info *j);
typedef int (*result_cb)(void *ud, const result_row *r);
typedef int (*classify_cb)(void *ud, const comment_to_classify *c, size_t n);

typedef struct store store;

typedef struct store_ops {
    const char *scheme; /* "sqlite", "postgres" */
    int (*open)(const char *url, store **out, cerr *e);
    void (*close)(store *s);
    int (*migrate)(store *s, int *version_out, cerr *e);
    int (*ping)(store *s, cerr *e);

    /* Jobs. job_create inserts the job, upserts its posts and links them, in one transaction. */
    int (*job_create)(store *s, const char *owner, const job_options *opt, const post_url *posts, size_t n,
                      int64_t *job_id, cerr *e);
    /* owner NULL = any owner (admin). Missing or not owned: -1 with CERR_NOTFOUND. */
    int (*job_get)(store *s, int64_t job_id, const char *owner, job_info *out, cerr *e);
    int (*job_tasks)(store *s, int64_t job_id, task_cb cb, void *ud, cerr *e);
    /* Newest first; before_id 0 = from the newest. */
    int (*job_list)(store *s, const char *owner, int64_t before_id, int limit, job_cb cb, void *ud, cerr *e);
    int (*job_delete)(store *s, int64_t job_id, const char *owner, cerr *e);

    /* Work. Every (job, post) not yet done or failed, for re-enqueueing after a restart. */
    int (*tasks_unfinished)(store *s, task_cb cb, void *ud, cerr *e);
    /* Loads one task; marks job running (if queued) and the task as `fetching`. */
    int (*task_start)(store *s, int64_t job_id, int64_t post_ref, task_info *out, job_options *opt, cerr *e);
    int (*post_state)(store *s, int64_t post_ref, post_fetch_state *out, cerr *e);
    /* Atomically takes the post's fetch lease unless another worker holds an unexpired one. lease_s 0
     * gives the lease back (if this worker holds it; *claimed tells whether it did). */
    int (*post_claim)(store *s, int64_t post_ref, const char *worker, int64_t lease_s, bool *claimed, cerr *e);
    /* Upserts comments on (platform, comment_id); first_seq is the fetch-order index of recs[0]. */
    int (*comments_upsert)(store *s, int64_t post_ref, platform p, const comment_rec *recs, size_t n,
                           int64_t first_seq, cerr *e);
    /* Records a completed fetch (releases the lease) or a failed one (reason on the post). */
    int (*post_fetched)(store *s, int64_t post_ref, bool ok, const char *reason, int64_t fetched_count,
                        int64_t expected_count, int64_t limit, bool replies, cerr *e);
    /* Comments of this task (job's limit/replies applied) with no sentiment for `model`, in pages. */
    /* For a job that selects (store_options_selected): computes which of the post's stored comments
     * the job keeps and records them in rank order, replacing an earlier selection; *kept = how many.
     * Counts, classification and results of that task then read the recorded selection, so they
     * always agree. A no-op (kept = -1) for other jobs. */
    int (*task_select)(store *s, int64_t job_id, int64_t post_ref, int64_t *kept, cerr *e);
    int (*task_unclassified)(store *s, int64_t job_id, int64_t post_ref, const char *model, int page_size,
                             classify_cb cb, void *ud, cerr *e);
    int (*sentiments_upsert)(store *s, const char *model, const sentiment_row *rows, size_t n, cerr *e);
    /* Sets a task's status (and model), re-derives the job's counters and status in one transaction. */
    int (*task_finish)(store *s, int64_t job_id, int64_t post_ref, task_status st, const char *reason,
                       const char *model, cerr *e);
    /* Sets a note on a queued/running task (rate-limit waits) and bumps attempts when asked. */
    int (*task_note)(store *s, int64_t job_id, int64_t post_ref, task_status st, const char *note,
                     bool bump_attempts, cerr *e);

    /* Jobs of this owner that are queued or running (the per-user cap on concurrent jobs). */
    int (*jobs_active)(store *s, const char *owner, int64_t *count, cerr *e);
    /* Tasks in fetching/classifying not touched for older_than_s seconds (`sweep` re-queues them). */
    int (*tasks_stale)(store *s, int64_t older_than_s, task_cb cb, void *ud, cerr *e);
    /* Deletes jobs created before `before` (unix s), then posts no job links any more with their comments
     * and sentiments. */
    int (*purge)(store *s, int64_t before, int64_t *jobs_deleted, int64_t *comments_deleted, cerr *e);

    /* CSV rows of a job in (position, seq) order, after the key (after_pos, after_seq), at most limit
     * rows. Keyset paging keeps a 1M-row download in constant memory. Returns rows delivered in *count. */
    int (*results_page)(store *s, int64_t job_id, int after_pos, int64_t after_seq, int limit, result_cb cb,
                        void *ud, int *count, cerr *e);
} store_ops;

struct store {
    const store_ops *ops;
};

/* Opens the store named by url: "sqlite://PATH" (or a bare path), "postgres://..." / "postgresql://...". */
int store_open(const char *url, store **out, cerr *e) CH_MUST_USE;
void store_close(store *s);

#endif
