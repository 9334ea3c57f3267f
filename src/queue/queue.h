/* queue.h - the work-queue interface. A message carries only ids ("work on post P for job J"): the
 * database is the truth, so losing the queue loses no work (start-up and `sweep` re-enqueue what the
 * store says is unfinished). Delivery is at-least-once; consumers are idempotent.
 * One implementation per file (inproc.c, redis.c), chosen by REDIS_URL in queue.c. */
#ifndef CHATTER_QUEUE_QUEUE_H
#define CHATTER_QUEUE_QUEUE_H

#include <stdint.h>

#include "core/err.h"

typedef struct queue_msg {
    int64_t job_id;
    int64_t post_ref;
    int attempts;      /* deliveries so far, including this one */
    char handle[64];   /* implementation's receipt (stream entry id, ...) */
} queue_msg;

typedef struct queue queue;

typedef struct queue_ops {
    const char *scheme; /* "inproc", "redis" */
    int (*open)(const char *url, queue **out, cerr *e);
    void (*close)(queue *q);
    /* Enqueue; delay_ms > 0 makes the message visible only later. Duplicate (job, post) pairs are fine. */
    int (*push)(queue *q, int64_t job_id, int64_t post_ref, int64_t delay_ms, cerr *e);
    /* Waits up to timeout_ms. Returns 1 with a message, 0 on timeout or shutdown, -1 on error. */
    int (*pop)(queue *q, const char *consumer, int64_t timeout_ms, queue_msg *out, cerr *e);
    int (*ack)(queue *q, const queue_msg *m, cerr *e);
    /* Hands the message back to be delivered again after delay_ms. */
    int (*nack)(queue *q, const queue_msg *m, int64_t delay_ms, cerr *e);
    /* Wakes every waiting pop() and makes later pops return 0 at once. */
    void (*shutdown)(queue *q);
    int (*ping)(queue *q, cerr *e);
} queue_ops;

struct queue {
    const queue_ops *ops;
};

/* url NULL or "" = in-process queue; "redis://host:port/db" = Redis Streams. */
int queue_open(const char *url, queue **out, cerr *e) CH_MUST_USE;
void queue_close(queue *q);

#endif
