/* inproc.c - the embedded queue: one process, worker threads, no broker.
 *
 * Every message, ready or delayed, lives in one min-heap ordered by (visible_at, seq): a message pushed
 * without delay is visible "now", so ready messages come out in push order, and a delayed one simply
 * sorts after everything that is already visible. Nothing survives the process, which is fine: the
 * database is the truth and start-up re-enqueues unfinished posts. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "queue/queue_impl.h"

typedef struct item {
    int64_t visible_at; /* monotonic ms */
    uint64_t seq;       /* push order; breaks ties so equal times stay FIFO */
    int64_t job_id;
    int64_t post_ref;
    int attempts; /* deliveries before this one */
} item;

typedef struct inproc {
    queue base;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled when the heap top changes or on shutdown */
    item *heap;
    size_t len, cap, max;
    uint64_t next_seq;
    size_t in_flight; /* popped, not yet acked or nacked */
    bool shutting_down;
} inproc;

static bool item_before(const item *a, const item *b) {
    if (a->visible_at != b->visible_at) return a->visible_at < b->visible_at;
    return a->seq < b->seq;
}

static void heap_up(item *h, size_t i) {
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!item_before(&h[i], &h[p])) break;
        item t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static void heap_down(item *h, size_t len, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < len && item_before(&h[l], &h[m])) m = l;
        if (r < len && item_before(&h[r], &h[m])) m = r;
        if (m == i) break;
        item t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Caller holds mu. */
static int heap_push(inproc *q, const item *it, cerr *e) {
    if (q->len >= q->max)
        return cerr_set(e, CERR_TOOBIG, "in-process queue is full (%zu messages); workers are not keeping up",
                        q->max);
    if (q->len == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 256;
        if (ncap > q->max) ncap = q->max;
        item *nh = realloc(q->heap, ncap * sizeof *nh);
        if (!nh) return cerr_set(e, CERR_NOMEM, "out of memory growing the in-process queue");
        q->heap = nh;
        q->cap = ncap;
    }
    q->heap[q->len] = *it;
    heap_up(q->heap, q->len);
    q->len++;
    return 0;
}

static item heap_pop(inproc *q) {
    item top = q->heap[0];
    q->heap[0] = q->heap[--q->len];
    heap_down(q->heap, q->len, 0);
    return top;
}

static struct timespec mono_deadline(int64_t at_ms) {
    struct timespec ts = {.tv_sec = at_ms / 1000, .tv_nsec = (at_ms % 1000) * 1000000};
    return ts;
}

static int inproc_open(const char *url, queue **out, cerr *e) {
    size_t max = QUEUE_DEFAULT_MAX_MESSAGES;
    char v[32];
    int r = queue_url_param(url, "max", v, sizeof v);
    if (r != 0) {
        int64_t n;
        if (r < 0 || parse_i64(v, &n) || n < 1)
            return cerr_set(e, CERR_INVALID, "inproc queue: max must be a positive integer");
        max = (size_t)n;
    }
    inproc *q = calloc(1, sizeof *q);
    if (!q) return cerr_set(e, CERR_NOMEM, "out of memory");
    q->base.ops = &inproc_queue_ops;
    q->max = max;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    /* Monotonic so a wall-clock step cannot stall or fire delayed messages early. */
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&q->mu, NULL);
    *out = &q->base;
    return 0;
}

static void inproc_close(queue *base) {
    inproc *q = (inproc *)base;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q->heap);
    free(q);
}

static int enqueue(inproc *q, int64_t job_id, int64_t post_ref, int attempts, int64_t delay_ms, cerr *e) {
    item it = {.visible_at = now_ms() + (delay_ms > 0 ? delay_ms : 0),
               .job_id = job_id,
               .post_ref = post_ref,
               .attempts = attempts};
    pthread_mutex_lock(&q->mu);
    it.seq = q->next_seq++;
    int rc = heap_push(q, &it, e);
    bool new_top = rc == 0 && q->heap[0].seq == it.seq;
    pthread_mutex_unlock(&q->mu);
    if (rc) return rc;
    /* A ready message needs one taker; a delayed one that became the top changes every waiter's wake-up. */
    if (delay_ms <= 0) pthread_cond_signal(&q->cv);
    else if (new_top) pthread_cond_broadcast(&q->cv);
    return 0;
}

static int inproc_push(queue *base, int64_t job_id, int64_t post_ref, int64_t delay_ms, cerr *e) {
    return enqueue((inproc *)base, job_id, post_ref, 0, delay_ms, e);
}

static int inproc_pop(queue *base, const char *consumer, int64_t timeout_ms, queue_msg *out, cerr *e) {
    (void)consumer;
    (void)e;
    inproc *q = (inproc *)base;
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : now_ms() + timeout_ms;
    int got = 0;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (q->shutting_down) break;
        int64_t now = now_ms();
        if (q->len > 0 && q->heap[0].visible_at <= now) {
            item it = heap_pop(q);
            q->in_flight++;
            memset(out, 0, sizeof *out);
            out->job_id = it.job_id;
            out->post_ref = it.post_ref;
            out->attempts = it.attempts + 1;
            snprintf(out->handle, sizeof out->handle, "%" PRIu64, it.seq);
            got = 1;
            /* Pass the baton: another waiter may be sleeping past a message that is now due. */
            if (q->len > 0) pthread_cond_signal(&q->cv);
            break;
        }
        if (now >= deadline) break;
        int64_t wake = deadline;
        if (q->len > 0 && q->heap[0].visible_at < wake) wake = q->heap[0].visible_at;
        if (wake == INT64_MAX) {
            pthread_cond_wait(&q->cv, &q->mu);
        } else {
            struct timespec ts = mono_deadline(wake);
            int rc = pthread_cond_timedwait(&q->cv, &q->mu, &ts);
            if (rc != 0 && rc != ETIMEDOUT && rc != EINTR) break;
        }
    }
    pthread_mutex_unlock(&q->mu);
    return got;
}

static int inproc_ack(queue *base, const queue_msg *m, cerr *e) {
    (void)m;
    (void)e;
    inproc *q = (inproc *)base;
    pthread_mutex_lock(&q->mu);
    if (q->in_flight > 0) q->in_flight--;
    pthread_mutex_unlock(&q->mu);
    return 0;
}

static int inproc_nack(queue *base, const queue_msg *m, int64_t delay_ms, cerr *e) {
    inproc *q = (inproc *)base;
    pthread_mutex_lock(&q->mu);
    if (q->in_flight > 0) q->in_flight--;
    pthread_mutex_unlock(&q->mu);
    return enqueue(q, m->job_id, m->post_ref, m->attempts, delay_ms, e);
}

static void inproc_shutdown(queue *base) {
    inproc *q = (inproc *)base;
    pthread_mutex_lock(&q->mu);
    q->shutting_down = true;
    pthread_mutex_unlock(&q->mu);
    pthread_cond_broadcast(&q->cv);
}

static int inproc_ping(queue *base, cerr *e) {
    (void)base;
    (void)e;
    return 0;
}

const queue_ops inproc_queue_ops = {
    .scheme = "inproc",
    .open = inproc_open,
    .close = inproc_close,
    .push = inproc_push,
    .pop = inproc_pop,
    .ack = inproc_ack,
    .nack = inproc_nack,
    .shutdown = inproc_shutdown,
    .ping = inproc_ping,
};
