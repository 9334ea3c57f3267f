#include "jobs/pipeline.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "store/store_common.h"

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
    atomic_bool handing_back;  /* drain's grace period is over: abort in-flight posts and nack them */
    pthread_mutex_t mu;
    pthread_cond_t cv;         /* a worker thread exited */
    int running;               /* worker threads not yet exited */
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
    atomic_init(&p->handing_back, false);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
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
    if (atomic_load(&c->p->handing_back))
        return cerr_set(&c->err, CERR_NETWORK, "worker is shutting down: post handed back to the queue");
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
    int64_t need = store_fetch_limit(jo); /* a sampling job needs its whole pool */
    return need != 0 && ps->fetch_limit >= need;
}

/* Waits shorter than this are slept through in the worker; longer ones hand the message back. */
#define INLINE_WAIT_MS 1000
#define INLINE_WAIT_TRIES 5

/* The job's wall-time budget as an absolute unix time; 0 = none. */
static int budget_deadline(pipeline *p, const task_info *t, const job_options *jo, int64_t *deadline, cerr *e) {
    *deadline = 0;
    if (jo->time_budget_s <= 0) return 0;
    job_info j;
    if (p->st->ops->job_get(p->st, t->job_id, NULL, &j, e)) return -1;
    *deadline = (j.started_at ? j.started_at : now_unix()) + jo->time_budget_s;
    return 0;
}

static int fail_task(pipeline *p, const queue_msg *m, const task_info *t, const char *reason, cerr *e) {
    if (p->st->ops->task_finish(p->st, t->job_id, t->post_ref, TASK_FAILED, reason, analyzer_model_id(p->an), e))
        return -1;
    log_info("job %lld post %s failed: %s", (long long)t->job_id, t->post_id, reason);
    return p->q->ops->ack(p->q, m, e);
}

static int fail_budget(pipeline *p, const queue_msg *m, const task_info *t, const job_options *jo, cerr *e) {
    char reason[REASON_MAX];
    snprintf(reason, sizeof reason, "the job's time budget of %lld s ran out before this post was finished",
             (long long)jo->time_budget_s);
    return fail_task(p, m, t, reason, e);
}

/* Hands the message back for delay_ms with a note on the task; fails it instead when the wait would end
 * past the job's time budget. */
static int defer(pipeline *p, const queue_msg *m, const task_info *t, const job_options *jo, int64_t budget_end,
                 int64_t delay_ms, const char *note, bool bump, cerr *e) {
    if (budget_end && now_unix() + delay_ms / 1000 >= budget_end) return fail_budget(p, m, t, jo, e);
    if (p->st->ops->task_note(p->st, t->job_id, t->post_ref, TASK_QUEUED, note, bump, e)) return -1;
    log_info("job %lld post %s: %s", (long long)t->job_id, t->post_id, note);
    return p->q->ops->nack(p->q, m, delay_ms, e);
}

/* Takes a fetch slot of the source from the limiter. Returns 0 with *slot_held, or 0 with *settled when
 * the message was handed back to wait (rate, concurrency or quota pause). */
static int limiter_gate(pipeline *p, const queue_msg *m, const task_info *t, const job_options *jo, int64_t budget_end,
                        const char *name, limiter_slot *slot, bool *slot_held, bool *settled, cerr *e) {
    *slot_held = false;
    if (!p->cfg.limiter) return 0;
    for (int tries = 0;; tries++) {
        int64_t wait_ms = 0;
        int v = limiter_acquire(p->cfg.limiter, name, slot, &wait_ms, e);
        if (v < 0) return -1;
        if (v == LIMITER_GO) {
            *slot_held = true;
            return 0;
        }
        if (v != LIMITER_PAUSED && wait_ms <= INLINE_WAIT_MS && tries < INLINE_WAIT_TRIES) {
            sleep_ms(wait_ms > 0 ? wait_ms : 1);
            continue;
        }
        char when[21], note[REASON_MAX];
        int64_t until = now_unix() + (wait_ms + 999) / 1000;
        if (v == LIMITER_PAUSED) {
            int64_t pu = 0;
            if (limiter_paused_until(p->cfg.limiter, name, &pu, e)) return -1;
            if (pu > until) until = pu;
            format_iso8601(until, when);
            snprintf(note, sizeof note, "%s is paused (quota exhausted) until %s", name, when);
        } else {
            format_iso8601(until, when);
            snprintf(note, sizeof note, "waiting for rate limit until %s", when);
        }
        *settled = true;
        return defer(p, m, t, jo, budget_end, wait_ms, note, false, e);
    }
}

static void release_slot(pipeline *p, const limiter_slot *slot, bool *held) {
    if (!*held) return;
    cerr e2;
    if (limiter_release(p->cfg.limiter, slot, &e2)) log_warn("limiter: %s", e2.msg);
    *held = false;
}

/* Fetches the post if no fresh fetch covers this job. Returns 0 and sets *settled when the message was
 * already settled (acked/nacked) here, e.g. on a failure or while another worker holds the fetch. */
static int fetch_stage(pipeline *p, const queue_msg *m, const task_info *t, const job_options *jo, int64_t budget_end,
                       bool *settled, unsigned *seed, cerr *e) {
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
    bool ignored;
    if (st->ops->post_state(st, t->post_ref, &ps, e)) return -1;
    if (fetch_covers(&ps, jo, p->cfg.freshness_s))
        return st->ops->post_claim(st, t->post_ref, sc.lease_id, 0, &ignored, e); /* release */

    /* Only the fetch that will really happen spends a token. Limits are per source: an Apify-served
     * platform spends Apify's budget, not the platform's. */
    const source_ops *src = source_for(p->src, t->platform);
    const char *lname = src ? src->name : platform_name(t->platform);
    limiter_slot slot;
    bool slot_held = false;
    if (src && limiter_gate(p, m, t, jo, budget_end, lname, &slot, &slot_held, settled, e)) {
        cerr e2;
        if (st->ops->post_claim(st, t->post_ref, sc.lease_id, 0, &ignored, &e2)) log_warn("%s", e2.msg);
        return -1;
    }
    if (*settled) { /* the message is handed back: free the post for whoever comes first after the wait */
        cerr e2;
        if (st->ops->post_claim(st, t->post_ref, sc.lease_id, 0, &ignored, &e2)) log_warn("%s", e2.msg);
        return 0;
    }

    int64_t limit = store_fetch_limit(jo);
    fetch_outcome out = {.status = FETCH_FAILED, .expected_count = -1, .retry_after_ms = -1};
    if (!src) {
        snprintf(out.reason, sizeof out.reason, "no source is configured for %s", platform_name(t->platform));
    } else {
        int64_t deadline = now_ms() + p->cfg.post_timeout_s * 1000;
        if (budget_end) {
            int64_t left_ms = (budget_end - now_unix()) * 1000;
            if (now_ms() + left_ms < deadline) deadline = now_ms() + (left_ms > 0 ? left_ms : 1);
        }
        fetch_request req = {.platform = t->platform,
                             .post_id = t->post_id,
                             .canonical_url = t->canonical_url,
                             .max_comments = limit,
                             .include_replies = jo->include_replies,
                             .deadline_ms = deadline,
                             .ctx = source_state(p, src)};
        cerr_clear(&sc.err);
        int rc = src->fetch(p->src, &req, store_page, &sc, &out, e);
        release_slot(p, &slot, &slot_held);
        if (rc) {
            if (sc.err.code != CERR_OK) *e = sc.err;
            cerr e2;
            if (st->ops->post_claim(st, t->post_ref, sc.lease_id, 0, &ignored, &e2)) log_warn("%s", e2.msg);
            return -1;
        }
    }
    if (out.status == FETCH_OK) {
        return st->ops->post_fetched(st, t->post_ref, true, NULL, out.delivered, out.expected_count, limit,
                                     jo->include_replies, e);
    }
    if (st->ops->post_fetched(st, t->post_ref, false, out.reason, out.delivered, out.expected_count, limit,
                              jo->include_replies, e))
        return -1;
    *settled = true;
    if (out.status == FETCH_RETRY && out.quota && p->cfg.limiter) {
        /* every post of this source waits for the reset, not only this one; other sources go on */
        int64_t after = out.retry_after_ms > 0 ? out.retry_after_ms : 3600 * 1000;
        int64_t until = now_unix() + (after + 999) / 1000;
        if (limiter_pause(p->cfg.limiter, lname, until, e)) return -1;
        char when[21], note[REASON_MAX];
        format_iso8601(until, when);
        snprintf(note, sizeof note, "%.150s; %s is paused (quota exhausted) until %s", out.reason, lname, when);
        return defer(p, m, t, jo, budget_end, after, note, false, e);
    }
    if (budget_end && now_unix() >= budget_end) return fail_budget(p, m, t, jo, e);
    if (out.status == FETCH_RETRY && t->attempts + 1 < p->cfg.max_attempts) {
        int64_t delay = retry_delay_ms(t->attempts + 1, out.retry_after_ms, seed);
        char when[21], note[REASON_MAX];
        format_iso8601(now_unix() + (delay + 999) / 1000, when);
        snprintf(note, sizeof note, "%.180s; retrying at %s", out.reason, when);
        return defer(p, m, t, jo, budget_end, delay, note, true, e);
    }
    char reason[REASON_MAX];
    if (out.status == FETCH_RETRY)
        snprintf(reason, sizeof reason, "%.200s (gave up after %d attempts)", out.reason, t->attempts + 1);
    else
        snprintf(reason, sizeof reason, "%s", out.reason);
    return fail_task(p, m, t, reason, e);
}

/* A note for a finished post whose last fetch brought fewer comments than the platform reports. */
static void shortfall_note(const post_fetch_state *ps, char *note, size_t cap) {
    note[0] = '\0';
    if (!ps->fetched_at || ps->expected_count < 0 || ps->fetched_count >= ps->expected_count) return;
    if (ps->fetch_limit > 0 && ps->fetched_count >= ps->fetch_limit)
        snprintf(note, cap, "fetched %lld of the %lld comments the platform reports (stopped at the limit of %lld)",
                 (long long)ps->fetched_count, (long long)ps->expected_count, (long long)ps->fetch_limit);
    else
        snprintf(note, cap,
                 "the platform reports %lld comments but returned %lld (the rest are deleted, hidden, held for "
                 "review or not visible to this account)",
                 (long long)ps->expected_count, (long long)ps->fetched_count);
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
        if (atomic_load(&p->handing_back)) {
            rc = cerr_set(e, CERR_NETWORK, "worker is shutting down: post handed back to the queue");
            break;
        }
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

    int64_t budget_end = 0;
    if (budget_deadline(p, &t, &jo, &budget_end, e)) goto retry_later;
    if (budget_end && now_unix() >= budget_end) return fail_budget(p, m, &t, &jo, e);
    bool settled = false;
    if (fetch_stage(p, m, &t, &jo, budget_end, &settled, &seed, e)) goto retry_later;
    if (settled) return 0;
    int64_t kept;
    if (st->ops->task_select(st, t.job_id, t.post_ref, &kept, e)) goto retry_later;
    if (classify_stage(p, sess, &t, e)) goto retry_later;
    post_fetch_state ps;
    char note[REASON_MAX] = "";
    if (st->ops->post_state(st, t.post_ref, &ps, e)) goto retry_later;
    shortfall_note(&ps, note, sizeof note);
    if (st->ops->task_finish(st, t.job_id, t.post_ref, TASK_DONE, note[0] ? note : NULL, analyzer_model_id(p->an), e))
        goto retry_later;
    return q->ops->ack(q, m, e);

retry_later: {
    /* store or analyzer trouble: hand the message back; every step is idempotent */
    cerr saved = *e, e2;
    if (atomic_load(&p->handing_back)) { /* draining: at once, to whichever worker is still running */
        if (q->ops->nack(q, m, 0, &e2))
            log_warn("cannot hand back job %lld post %lld: %s", (long long)m->job_id, (long long)m->post_ref, e2.msg);
    } else if (m->attempts >= p->cfg.max_attempts * 2) {
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

/* After a failed post: while the database is unreachable (a restart), wait with backoff instead of
 * taking message after message only to hand each back, which would burn their delivery attempts. */
static void wait_for_store(pipeline *p, int index) {
    int64_t backoff = 250;
    cerr e;
    for (int n = 0; !atomic_load(&p->stopping) && p->st->ops->ping(p->st, &e); n++) {
        if (n == 0) log_warn("worker %d: database unavailable (%s); waiting for it", index, e.msg);
        sleep_ms(backoff);
        backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
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
        if (atomic_load(&p->stopping)) { /* taken while a drain began: give it straight back */
            if (p->q->ops->nack(p->q, &m, 0, &e)) log_warn("worker %d: hand back: %s", w->index, e.msg);
            break;
        }
        if (pipeline_process(p, sess, &m, &e)) {
            log_warn("job %lld post %lld: %s (will retry)", (long long)m.job_id, (long long)m.post_ref, e.msg);
            wait_for_store(p, w->index);
        }
    }
    analyzer_session_free(sess);
    free(w);
    pthread_mutex_lock(&p->mu);
    p->running--;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
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
        pthread_mutex_lock(&p->mu);
        p->running++;
        pthread_mutex_unlock(&p->mu);
        if (pthread_create(&p->threads[i], NULL, worker_main, w) != 0) {
            free(w);
            pthread_mutex_lock(&p->mu);
            p->running--;
            pthread_mutex_unlock(&p->mu);
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

/* Waits until no worker thread runs or the absolute deadline passes; true when none runs. */
static bool wait_idle(pipeline *p, int64_t deadline_ms) {
    pthread_mutex_lock(&p->mu);
    while (p->running > 0 && now_ms() < deadline_ms) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L; /* re-check the monotonic deadline every 100 ms */
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    bool idle = p->running == 0;
    pthread_mutex_unlock(&p->mu);
    return idle;
}

bool pipeline_drain(pipeline *p, int64_t grace_ms, int64_t hand_back_ms) {
    if (!p || p->nthreads == 0) return true;
    /* The queue stays open: finished posts are acked and aborted ones nacked, so nothing waits for the
     * broker's visibility timeout. Idle threads see `stopping` when their pop times out (1 s). */
    atomic_store(&p->stopping, true);
    bool idle = wait_idle(p, now_ms() + grace_ms);
    if (!idle) {
        log_info("grace period over: handing in-flight posts back to the queue");
        atomic_store(&p->handing_back, true);
        idle = wait_idle(p, now_ms() + hand_back_ms);
    }
    if (!idle) return false; /* a thread is stuck in a transfer: the caller must not free what it uses */
    for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    p->nthreads = 0;
    return true;
}

void pipeline_free(pipeline *p) {
    if (!p) return;
    for (int k = 0; k < PLATFORM_COUNT; k++)
        if (p->source_ctx[k].ops && p->source_ctx[k].ops->ctx_free) p->source_ctx[k].ops->ctx_free(p->source_ctx[k].ctx);
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
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
