#include "jobs/pipeline.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

struct pipeline {
    pipeline_config cfg;
    store *st;
    queue *q;
    analyzer *an;
    const source_settings *src;
    char worker_id[128];
    /* process-wide state of each source that keeps some (token caches, id maps), created once */
    struct {
        const source_ops *ops;
        void *ctx;
    } source_ctx[PLATFORM_COUNT];
    pthread_t *threads;
    int nthreads;
    atomic_bool stopping;
};

typedef struct worker_thread {
    pipeline *p;
    int index;
} worker_thread;

void pipeline_config_defaults(pipeline_config *c) {
    memset(c, 0, sizeof *c);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c->workers = n > 0 ? (int)n : 2;
    c->freshness_s = 6 * 3600;
    c->lease_s = 120; /* renewed page by page; bounds how long a killed worker's posts wait */
    c->max_attempts = 5;
    c->post_timeout_s = 900;
    c->classify_batch = 64;
}

int pipeline_new(const pipeline_config *cfg, store *st, queue *q, analyzer *an, const source_settings *src,
                 pipeline **out, cerr *e) {
    pipeline *p = calloc(1, sizeof *p);
    if (!p) return cerr_set(e, CERR_NOMEM, "out of memory");
    p->cfg = *cfg;
    if (p->cfg.workers < 0) p->cfg.workers = 0;
    if (p->cfg.classify_batch <= 0) p->cfg.classify_batch = 64;
    if (p->cfg.max_attempts <= 0) p->cfg.max_attempts = 5;
    p->st = st;
    p->q = q;
    p->an = an;
    p->src = src;
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    if (cfg->worker_name && *cfg->worker_name)
        snprintf(p->worker_id, sizeof p->worker_id, "%.100s", cfg->worker_name);
    else
        snprintf(p->worker_id, sizeof p->worker_id, "%.63s:%ld", host, (long)getpid());
    atomic_init(&p->stopping, false);
    for (int pl = PLATFORM_NONE + 1; pl < PLATFORM_COUNT; pl++) {
        const source_ops *ops = source_for(src, (platform)pl);
        if (!ops || !ops->ctx_new) continue;
        bool have = false;
        for (int k = 0; k < PLATFORM_COUNT && !have; k++) have = p->source_ctx[k].ops == ops;
        if (have) continue;
        void *ctx = ops->ctx_new(src, e);
        if (!ctx) {
            pipeline_free(p);
            return cerr_wrap(e, "%s source", ops->name);
        }
        p->source_ctx[pl].ops = ops;
        p->source_ctx[pl].ctx = ctx;
    }
    *out = p;
    return 0;
}

static void *source_state(pipeline *p, const source_ops *ops) {
    for (int k = 0; k < PLATFORM_COUNT; k++)
        if (p->source_ctx[k].ops == ops) return p->source_ctx[k].ctx;
    return NULL;
}

/* Exponential backoff with jitter for redelivery of a post whose fetch hit a transient error. */
static int64_t retry_delay_ms(int attempts, int64_t retry_after_ms, unsigned *seed) {
    if (retry_after_ms > 0) return retry_after_ms;
    int64_t d = 2000;
    for (int i = 1; i < attempts && d < 300000; i++) d *= 2;
    if (d > 300000) d = 300000;
    return d / 2 + (int64_t)(rand_r(seed) % (unsigned)(d / 2 + 1));
}

typedef struct sink_ctx {
    pipeline *p;
    int64_t post_ref;
    platform platform;
    int64_t seq;
    char lease_id[160];
    cerr err;
} sink_ctx;

static int store_page(void *ud, const comment_rec *recs, size_t n) {
    sink_ctx *c = ud;
    store *st = c->p->st;
    if (st->ops->comments_upsert(st, c->post_ref, c->platform, recs, n, c->seq, &c->err)) return -1;
    c->seq += (int64_t)n;
    /* renew the fetch lease page by page so a long fetch is not taken over */
    bool held = false;
    if (st->ops->post_claim(st, c->post_ref, c->lease_id, c->p->cfg.lease_s, &held, &c->err)) return -1;
    return 0;
}

typedef struct classify_page {
    size_t n, cap;
    int64_t *refs;
    char **texts;
} classify_page;

static int collect_unclassified(void *ud, const comment_to_classify *c, size_t n) {
    classify_page *pg = ud;
    for (size_t i = 0; i < n && pg->n < pg->cap; i++) {
        char *t = strdup(c[i].text ? c[i].text : "");
        if (!t) return -1;
        pg->refs[pg->n] = c[i].comment_ref;
        pg->texts[pg->n++] = t;
    }
    return 0;
}

static void page_clear(classify_page *pg) {
    for (size_t i = 0; i < pg->n; i++) free(pg->texts[i]);
    pg->n = 0;
}

static bool fetch_covers(const post_fetch_state *ps, const job_options *jo, int64_t freshness_s) {
    if (!ps->fetched_at || now_unix() - ps->fetched_at >= freshness_s) return false;
    if (jo->include_replies && !ps->fetch_replies) return false;
    if (ps->fetch_limit == 0) return true;
    return jo->max_comments_per_post != 0 && ps->fetch_limit >= jo->max_comments_per_post;
}

/* Fetches the post if no fresh fetch covers this job. Returns 0 and sets *done_msg when the message was
 * already settled (acked/nacked) here, e.g. on a failure or while another worker holds the fetch. */
static int fetch_stage(pipeline *p, const queue_msg *m, const task_info *t, const job_options *jo, bool *settled,
                       unsigned *seed, cerr *e) {
    store *st = p->st;
    queue *q = p->q;
    *settled = false;
    post_fetch_state ps;
    if (st->ops->post_state(st, t->post_ref, &ps, e)) return -1;
    if (fetch_covers(&ps, jo, p->cfg.freshness_s)) return 0;

    sink_ctx sc = {.p = p, .post_ref = t->post_ref, .platform = t->platform};
    snprintf(sc.lease_id, sizeof sc.lease_id, "%s/%lld", p->worker_id, (long long)pthread_self() % 100000);
    bool claimed = false;
    if (st->ops->post_claim(st, t->post_ref, sc.lease_id, p->cfg.lease_s, &claimed, e)) return -1;
    if (!claimed) {
        /* two jobs naming the same post wait on one fetch */
        if (st->ops->task_note(st, t->job_id, t->post_ref, TASK_QUEUED, "waiting for another job's fetch of this post",
                               false, e))
            return -1;
        *settled = true;
        return q->ops->nack(q, m, 2000, e);
    }
    if (st->ops->post_state(st, t->post_ref, &ps, e)) return -1;
    if (fetch_covers(&ps, jo, p->cfg.freshness_s)) {
        bool ignored;
        return st->ops->post_claim(st, t->post_ref, sc.lease_id, 0, &ignored, e); /* release */
    }

    const source_ops *src = source_for(p->src, t->platform);
    fetch_outcome out = {.status = FETCH_FAILED, .expected_count = -1, .retry_after_ms = -1};
    if (!src) {
        snprintf(out.reason, sizeof out.reason, "no source is configured for %s", platform_name(t->platform));
    } else {
        fetch_request req = {.platform = t->platform,
                             .post_id = t->post_id,
                             .canonical_url = t->canonical_url,
                             .max_comments = jo->max_comments_per_post,
                             .include_replies = jo->include_replies,
                             .deadline_ms = now_ms() + p->cfg.post_timeout_s * 1000,
                             .ctx = source_state(p, src)};
        cerr_clear(&sc.err);
        if (src->fetch(p->src, &req, store_page, &sc, &out, e)) {
            if (sc.err.code != CERR_OK) *e = sc.err;
            bool ignored;
            cerr e2;
            if (st->ops->post_claim(st, t->post_ref, sc.lease_id, 0, &ignored, &e2)) log_warn("%s", e2.msg);
            return -1;
        }
    }
    if (out.status == FETCH_OK) {
        return st->ops->post_fetched(st, t->post_ref, true, NULL, out.delivered, out.expected_count,
                                     jo->max_comments_per_post, jo->include_replies, e);
    }
    if (st->ops->post_fetched(st, t->post_ref, false, out.reason, out.delivered, out.expected_count,
                              jo->max_comments_per_post, jo->include_replies, e))
        return -1;
    *settled = true;
    if (out.status == FETCH_RETRY && m->attempts < p->cfg.max_attempts) {
        int64_t delay = retry_delay_ms(m->attempts, out.retry_after_ms, seed);
        char when[21], note[REASON_MAX];
        format_iso8601(now_unix() + (delay + 999) / 1000, when);
        snprintf(note, sizeof note, "%.180s; retrying at %s", out.reason, when);
        if (st->ops->task_note(st, t->job_id, t->post_ref, TASK_QUEUED, note, true, e)) return -1;
        log_info("job %lld post %s: %s", (long long)t->job_id, t->post_id, note);
        return q->ops->nack(q, m, delay, e);
    }
    char reason[REASON_MAX];
    if (out.status == FETCH_RETRY)
        snprintf(reason, sizeof reason, "%.200s (gave up after %d attempts)", out.reason, m->attempts);
    else
        snprintf(reason, sizeof reason, "%s", out.reason);
    if (st->ops->task_finish(st, t->job_id, t->post_ref, TASK_FAILED, reason, analyzer_model_id(p->an), e))
        return -1;
    log_info("job %lld post %s failed: %s", (long long)t->job_id, t->post_id, reason);
    return q->ops->ack(q, m, e);
}

static int classify_stage(pipeline *p, analyzer_session *sess, const task_info *t, cerr *e) {
    store *st = p->st;
    const char *model = analyzer_model_id(p->an);
    size_t cap = (size_t)p->cfg.classify_batch;
    classify_page pg = {.cap = cap};
    pg.refs = calloc(cap, sizeof *pg.refs);
    pg.texts = calloc(cap, sizeof *pg.texts);
    sentiment *res = calloc(cap, sizeof *res);
    sentiment_row *rows = calloc(cap, sizeof *rows);
    int rc = 0;
    if (!pg.refs || !pg.texts || !res || !rows) {
        rc = cerr_set(e, CERR_NOMEM, "out of memory");
        goto out;
    }
    if (st->ops->task_note(st, t->job_id, t->post_ref, TASK_CLASSIFYING, "", false, e)) {
        rc = -1;
        goto out;
    }
    for (;;) {
        page_clear(&pg);
        if (st->ops->task_unclassified(st, t->job_id, t->post_ref, model, (int)cap, collect_unclassified, &pg, e)) {
            rc = -1;
            break;
        }
        if (pg.n == 0) break;
        if (analyzer_classify(sess, (const char *const *)pg.texts, pg.n, res, e)) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < pg.n; i++) rows[i] = (sentiment_row){.comment_ref = pg.refs[i], .s = res[i]};
        if (st->ops->sentiments_upsert(st, model, rows, pg.n, e)) {
            rc = -1;
            break;
        }
    }
out:
    page_clear(&pg);
    free(pg.refs);
    free(pg.texts);
    free(res);
    free(rows);
    return rc;
}

int pipeline_process(pipeline *p, analyzer_session *sess, const queue_msg *m, cerr *e) {
    store *st = p->st;
    queue *q = p->q;
    task_info t;
    job_options jo;
    unsigned seed = (unsigned)(now_ms() ^ (m->post_ref * 2654435761u));
    if (st->ops->task_start(st, m->job_id, m->post_ref, &t, &jo, e)) {
        if (e->code == CERR_NOTFOUND) { /* the job was deleted: nothing to do */
            cerr e2;
            return q->ops->ack(q, m, &e2);
        }
        goto retry_later;
    }
    if (t.status == TASK_DONE || t.status == TASK_FAILED) return q->ops->ack(q, m, e);

    bool settled = false;
    if (fetch_stage(p, m, &t, &jo, &settled, &seed, e)) goto retry_later;
    if (settled) return 0;
    if (classify_stage(p, sess, &t, e)) goto retry_later;
    if (st->ops->task_finish(st, t.job_id, t.post_ref, TASK_DONE, NULL, analyzer_model_id(p->an), e))
        goto retry_later;
    return q->ops->ack(q, m, e);

retry_later: {
    /* store or analyzer trouble: hand the message back; every step is idempotent */
    cerr saved = *e, e2;
    if (m->attempts >= p->cfg.max_attempts * 2) {
        char reason[REASON_MAX];
        snprintf(reason, sizeof reason, "internal error: %.200s", saved.msg);
        if (st->ops->task_finish(st, m->job_id, m->post_ref, TASK_FAILED, reason, analyzer_model_id(p->an), &e2) == 0)
            (void)q->ops->ack(q, m, &e2);
    } else if (q->ops->nack(q, m, retry_delay_ms(m->attempts, -1, &seed), &e2)) {
        log_warn("cannot hand back job %lld post %lld: %s", (long long)m->job_id, (long long)m->post_ref, e2.msg);
    }
    *e = saved;
    return -1;
}
}

static void *worker_main(void *arg) {
    worker_thread *w = arg;
    pipeline *p = w->p;
    analyzer_session *sess = NULL;
    cerr e;
    char consumer[192];
    snprintf(consumer, sizeof consumer, "%s-%d", p->worker_id, w->index);
    if (analyzer_session_new(p->an, &sess, &e)) {
        log_error("worker %d: %s", w->index, e.msg);
        free(w);
        return NULL;
    }
    while (!atomic_load(&p->stopping)) {
        queue_msg m;
        int r = p->q->ops->pop(p->q, consumer, 1000, &m, &e);
        if (r < 0) {
            log_warn("worker %d: queue: %s", w->index, e.msg);
            sleep_ms(1000);
            continue;
        }
        if (r == 0) continue;
        if (pipeline_process(p, sess, &m, &e))
            log_warn("job %lld post %lld: %s (will retry)", (long long)m.job_id, (long long)m.post_ref, e.msg);
    }
    analyzer_session_free(sess);
    free(w);
    return NULL;
}

int pipeline_start(pipeline *p, cerr *e) {
    if (p->cfg.workers == 0) return 0;
    p->threads = calloc((size_t)p->cfg.workers, sizeof *p->threads);
    if (!p->threads) return cerr_set(e, CERR_NOMEM, "out of memory");
    for (int i = 0; i < p->cfg.workers; i++) {
        worker_thread *w = malloc(sizeof *w);
        if (!w) return cerr_set(e, CERR_NOMEM, "out of memory");
        *w = (worker_thread){.p = p, .index = i};
        if (pthread_create(&p->threads[i], NULL, worker_main, w) != 0) {
            free(w);
            return cerr_set(e, CERR_INTERNAL, "cannot start worker thread %d", i);
        }
        p->nthreads++;
    }
    log_info("%d worker threads started (analyzer %s)", p->nthreads, analyzer_model_id(p->an));
    return 0;
}

void pipeline_stop(pipeline *p) {
    if (!p) return;
    atomic_store(&p->stopping, true);
    p->q->ops->shutdown(p->q);
    for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    p->nthreads = 0;
}

void pipeline_free(pipeline *p) {
    if (!p) return;
    for (int k = 0; k < PLATFORM_COUNT; k++)
        if (p->source_ctx[k].ops && p->source_ctx[k].ops->ctx_free) p->source_ctx[k].ops->ctx_free(p->source_ctx[k].ctx);
    free(p->threads);
    free(p);
}

typedef struct requeue_ctx {
    queue *q;
    int64_t count;
    cerr *e;
} requeue_ctx;

static int requeue_one(void *ud, const task_info *t) {
    requeue_ctx *c = ud;
    if (c->q->ops->push(c->q, t->job_id, t->post_ref, 0, c->e)) return -1;
    c->count++;
    return 0;
}

int pipeline_requeue_unfinished(store *st, queue *q, int64_t *count, cerr *e) {
    requeue_ctx c = {.q = q, .e = e};
    int rc = st->ops->tasks_unfinished(st, requeue_one, &c, e);
    if (count) *count = c.count;
    return rc;
}
