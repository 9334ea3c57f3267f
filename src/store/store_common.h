/* store_common.h - helpers shared by the store backends (not part of the store interface): the text
 * forms of enums as stored in the database, the job options JSON, and the job's view of a post. */
#ifndef CHATTER_STORE_COMMON_H
#define CHATTER_STORE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Caps on what a single call may ask for, so a bad caller cannot make one query unbounded. */
#define STORE_PAGE_MAX 10000
#define STORE_JOB_POSTS_MAX 100000
#define STORE_WORKER_MAX 64

const char *store_platform_str(platform p);     /* "youtube", ... ; "" for none */
platform store_platform_parse(const char *s);   /* PLATFORM_NONE when unknown */
const char *store_label_str(sentiment_label l); /* "negative", "neutral", "positive" */
int store_label_parse(const char *s, sentiment_label *out);

/* The job options as stored in jobs.options (JSON object). Returns a malloc'd string. */
int store_options_json(const job_options *o, char **out, cerr *e) CH_MUST_USE;
int store_options_parse(const char *json, job_options *o, cerr *e) CH_MUST_USE;
void store_options_default(job_options *o);

/* A job sees a post's comments through its options: with replies, every comment with seq < max;
 * without, top-level comments with top_seq < max (max 0 = all). Queries take both bounds and a
 * replies flag: "seq < seq_max AND (replies OR top_seq < top_max)". */
typedef struct store_view {
    int64_t seq_max, top_max;
    bool replies;
    bool selected; /* the job reads its recorded selection (job_comments) instead of this range */
} store_view;
store_view store_view_of(int64_t max_comments, bool include_replies);

/* ---- fetch policy ----
 * A job "selects" when it samples other than `first` or caps replies per thread. It then fetches a pool
 * (the first sample_pool comments in API order, replies included when asked), and task_select records
 * which of them it keeps, in rank order. */
bool store_options_selected(const job_options *o);
/* The limit a fetch for this job must reach to cover it: the pool when it selects, else its limit. */
int64_t store_fetch_limit(const job_options *o);

/* One comment of a post's pool, in fetch (seq) order. */
typedef struct store_pool_item {
    int64_t comment_ref;
    int64_t seq;
    int64_t like_count;    /* -1 unknown */
    char published_at[32]; /* RFC 3339 UTC, "" unknown */
    char *parent_id;       /* owned; NULL for top-level comments */
    uint64_t key;          /* SAMPLING_RANDOM: store_sample_key(seed, comment_id) */
} store_pool_item;

/* The random sampling key: the first 8 bytes, big-endian, of SHA-256("<seed>:<comment_id>"). Keeping
 * the n smallest keys is a uniform draw of n from the pool (every subset equally likely), the same on
 * every backend and reproducible by hand. */
int store_sample_key(int64_t seed, const char *comment_id, uint64_t *out, cerr *e) CH_MUST_USE;

/* Applies the job's policy to a pool given in seq order: drops replies past max_replies_per_thread
 * (the first ones of each thread in fetch order stay), orders by the sampling rule (top: likes desc;
 * newest: published_at desc, unknown last; random: key asc; first: seq; ties by seq), and keeps the
 * first max_comments_per_post (0 = all). On return items[0..*kept) are the selection in rank order;
 * the rest (with their parent_id) still belong to the caller. */
int store_select(store_pool_item *items, size_t n, const job_options *o, size_t *kept, cerr *e) CH_MUST_USE;
void store_pool_free(store_pool_item *items, size_t n);

/* Job status from its tasks: all terminal -> done / failed / partial; otherwise running. */
job_status store_job_status_derive(int64_t total, int64_t done, int64_t failed, bool *finished);

/* Copies a database string into a fixed field, cutting at the cap (NULL -> ""). */
void store_copy(char *dst, size_t cap, const char *src);
/* Length of s cut to at most max bytes without splitting a UTF-8 sequence (PostgreSQL rejects broken
 * UTF-8, and a note should never make a write fail). NULL -> 0. */
size_t store_clip_utf8(const char *s, size_t max);
/* Checks the inputs of job_create before any write. */
int store_check_post(const post_url *p, size_t index, cerr *e) CH_MUST_USE;
int store_check_options(const job_options *o, cerr *e) CH_MUST_USE;

#endif
