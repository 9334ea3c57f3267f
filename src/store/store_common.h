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
} store_view;
store_view store_view_of(int64_t max_comments, bool include_replies);

/* Job status from its tasks: all terminal -> done / failed / partial; otherwise running. */
job_status store_job_status_derive(int64_t total, int64_t done, int64_t failed, bool *finished);

/* Copies a database string into a fixed field, cutting at the cap (NULL -> ""). */
void store_copy(char *dst, size_t cap, const char *src);
/* Length of s cut to at most max bytes without splitting a UTF-8 sequence (PostgreSQL rejects broken
 * UTF-8, and a note should never make a write fail). NULL -> 0. */
size_t store_clip_utf8(const char *s, size_t max);
/* Checks the inputs of job_create before any write. */
int store_check_post(const post_url *p, size_t index, cerr *e) CH_MUST_USE;

#endif
