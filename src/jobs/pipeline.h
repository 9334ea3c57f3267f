/* pipeline.h - the worker side: takes (job, post) messages from the queue, fetches the post's comments
 * through its source (unless a fresh enough fetch is stored), classifies what is unclassified and
 * finishes the task. Every step is an idempotent store write, so a message delivered twice, or a
 * process killed mid-task, leaves nothing duplicated and nothing lost. */
#ifndef CHATTER_JOBS_PIPELINE_H
#define CHATTER_JOBS_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "queue/limiter.h"
#include "queue/queue.h"
#include "sentiment/analyzer.h"
#include "sources/source.h"
#include "store/store.h"

typedef struct pipeline_config {
    int workers;               /* worker threads */
    int64_t freshness_s;       /* a post fetched this recently is reused (default 6 h) */
    int64_t lease_s;           /* fetch lease on a post, renewed every page (default 120 s) */
    int max_attempts;          /* deliveries before a post is failed for good (default 5) */
    int64_t post_timeout_s;    /* wall-time budget of one post's fetch (default 900 s) */
    int classify_batch;        /* comments per classify call (default 64) */
    const char *worker_name;   /* prefix of lease owner ids (default host:pid) */
    limiter *limiter;          /* borrowed: per-source rate, concurrency and quota pause; NULL = none */
} pipeline_config;

void pipeline_config_defaults(pipeline_config *c);

typedef struct pipeline pipeline;

/* Borrowed pointers: the store, queue, analyzer and settings outlive the pipeline. */
int pipeline_new(const pipeline_config *cfg, store *st, queue *q, analyzer *an, const source_settings *src,
                 pipeline **out, cerr *e) CH_MUST_USE;
/* Starts the worker threads. */
int pipeline_start(pipeline *p, cerr *e) CH_MUST_USE;
/* Shuts the queue down, lets in-flight posts finish, joins the threads. */
void pipeline_stop(pipeline *p);
/* Graceful stop for SIGTERM: takes no new messages; in-flight posts have grace_ms to finish (and are
 * acked), then are aborted at their next page or batch and handed back (nacked, visible at once). Waits
 * up to hand_back_ms more for that. Returns false when a thread still runs (stuck in a transfer): its
 * message returns after the queue's visibility timeout, and the caller must then not free the pipeline
 * or what it uses. After true, pipeline_stop and pipeline_free are safe. */
bool pipeline_drain(pipeline *p, int64_t grace_ms, int64_t hand_back_ms);
void pipeline_free(pipeline *p);

/* Enqueues every task the store says is unfinished (start-up, sweep). Returns how many. */
int pipeline_requeue_unfinished(store *st, queue *q, int64_t *count, cerr *e) CH_MUST_USE;

/* Processes one message (exposed for tests and for `chatter worker --once`). */
int pipeline_process(pipeline *p, analyzer_session *sess, const queue_msg *m, cerr *e) CH_MUST_USE;

#endif
