/* redis.c - the scale-out queue: a Redis Stream read through one consumer group.
 *
 * Keys (prefix "chatter:" by default):
 *   <prefix>queue          the stream; entry fields job, post, att (deliveries before this entry existed)
 *   <prefix>queue:delayed  sorted set of messages not visible yet, scored by due time (Redis clock, ms)
 *   <prefix>queue:seq      counter that keeps delayed members unique
 * Delivery is at-least-once: XREADGROUP puts an entry in the consumer's pending list; XACK+XDEL removes it.
 * A worker that dies leaves its entry pending, and after the visibility timeout any consumer takes it
 * over with XAUTOCLAIM (which bumps its delivery count: attempts = att + delivery count). nack and delayed
 * pushes go through the sorted set, moved into the stream by a Lua script, so the move is atomic and
 * all due times use the Redis server's clock rather than each worker's. Acked entries are deleted, so
 * the stream only holds work that is outstanding, and XLEN + ZCARD is the queue length that the cap
 * checks. */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "queue/queue_impl.h"
#include "queue/redis_conn.h"

#define DEFAULT_VISIBILITY_S 300
#define DEFAULT_RETRY_S 10
#define MAX_BLOCK_MS 1000 /* pops block in slices so delayed messages and reclaims are looked at often */
#define PROMOTE_BATCH "100"
#define PROMOTE_EVERY_MS 100
/* Consumers (one name per worker thread and process) are created by XREADGROUP and never go away by
 * themselves; ones idle this long with nothing pending are deleted so the group does not grow forever. */
#define DEFAULT_CONSUMER_IDLE_S (6 * 3600)

/* Shared by push and nack: puts one message in the stream now, or in the delayed set. */
#define LUA_ENQUEUE                                                                                       \
    "local function now_ms()\n"                                                                          \
    "  local t = redis.call('TIME')\n"                                                                   \
    "  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"                               \
    "end\n"                                                                                              \
    "local function enqueue(job, post, att, d)\n"                                                        \
    "  if d <= 0 then\n"                                                                                 \
    "    redis.call('XADD', KEYS[1], '*', 'job', job, 'post', post, 'att', att)\n"                       \
    "  else\n"                                                                                           \
    "    local n = redis.call('INCR', KEYS[3])\n"                                                        \
    "    redis.call('ZADD', KEYS[2], string.format('%d', now_ms() + d),\n"                               \
    "               n .. ':' .. job .. ':' .. post .. ':' .. att)\n"                                     \
    "  end\n"                                                                                            \
    "end\n"

/* KEYS: stream delayed seq. ARGV: job post att delay_ms max */
static const char LUA_PUSH[] = LUA_ENQUEUE
    "if redis.call('XLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then\n"
    "  return redis.error_reply('TOOBIG Redis queue is full (' .. ARGV[5] ..\n"
    "                           ' messages); workers are not keeping up')\n"
    "end\n"
    "enqueue(ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]))\n"
    "return 1\n";

/* KEYS: stream delayed seq. ARGV: group id job post att delay_ms.
 * A message no longer pending (acked or nacked already, e.g. a retry after a lost reply) is left alone. */
static const char LUA_NACK[] = LUA_ENQUEUE
    "if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end\n"
    "redis.call('XDEL', KEYS[1], ARGV[2])\n"
    "enqueue(ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]))\n"
    "return 1\n";

/* KEYS: stream group. ARGV: group id */
static const char LUA_ACK[] =
    "local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "redis.call('XDEL', KEYS[1], ARGV[2])\n"
    "return n\n";

/* KEYS: stream delayed. ARGV: batch. Returns ms until the next delayed message is due, -1 if none. */
static const char LUA_PROMOTE[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', string.format('%d', now),\n"
    "                       'LIMIT', 0, tonumber(ARGV[1]))\n"
    "for _, m in ipairs(due) do\n"
    "  local job, post, att = string.match(m, '^%d+:(%-?%d+):(%-?%d+):(%d+)$')\n"
    "  if job then redis.call('XADD', KEYS[1], '*', 'job', job, 'post', post, 'att', att) end\n"
    "  redis.call('ZREM', KEYS[2], m)\n"
    "end\n"
    "if #due > 0 and #due == tonumber(ARGV[1]) then return 0 end\n"
    "local nxt = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')\n"
    "if #nxt == 0 then return -1 end\n"
    "local w = tonumber(nxt[2]) - now\n"
    "if w < 0 then w = 0 end\n"
    "return w\n";

typedef struct rq {
    queue base;
    redis_cfg cfg;
    redis_pool *pool;
    char stream[128], delayed[128], seq[128], group[64];
    char default_consumer[128];
    int64_t visibility_ms, retry_ms, claim_every_ms;
    int64_t max;
    redis_script push_s, nack_s, ack_s, promote_s;
    pthread_mutex_t mu; /* guards the reclaim/promote schedules below */
    int64_t next_claim_at;
    char claim_cursor[48];
    int64_t next_prune_at, prune_idle_ms, prune_every_ms;
    int64_t next_promote_at, next_due_at; /* delayed-set schedule (monotonic ms; 0 = unknown) */
} rq;

static int setup_group(rconn *c, void *arg, cerr *e) {
    rq *q = arg;
    const char *argv[] = {"XGROUP", "CREATE", q->stream, q->group, "0", "MKSTREAM"};
    redisReply *r = rconn_cmd(c, 0, e, 6, argv);
    if (r) {
        freeReplyObject(r);
        return 0;
    }
    if (strstr(e->msg, "BUSYGROUP")) { /* exists already: the normal case */
        cerr_clear(e);
        return 0;
    }
    return cerr_wrap(e, "cannot create consumer group %s on %s", q->group, q->stream);
}

static int setting_i64(const char *url, const char *key, const char *env, int64_t dflt, int64_t lo, int64_t hi,
                       int64_t *out, cerr *e) {
    char v[32];
    int r = queue_url_param(url, key, v, sizeof v);
    const char *s = r > 0 ? v : getenv(env);
    *out = dflt;
    if (r < 0 || (s && *s && (parse_i64(s, out) || *out < lo || *out > hi)))
        return cerr_set(e, CERR_INVALID, "queue setting %s (%s) must be an integer from %" PRId64 " to %" PRId64,
                        key, env, lo, hi);
    return 0;
}

static void rq_free(rq *q) {
    redis_pool_free(q->pool);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

static int ping_fn(rconn *c, void *arg, cerr *e) {
    (void)arg;
    const char *argv[] = {"PING"};
    redisReply *r = rconn_cmd(c, 0, e, 1, argv);
    if (!r) return -1;
    freeReplyObject(r);
    return 0;
}

static int rq_open(const char *url, queue **out, cerr *e) {
    rq *q = calloc(1, sizeof *q);
    if (!q) return cerr_set(e, CERR_NOMEM, "out of memory");
    q->base.ops = &redis_queue_ops;
    pthread_mutex_init(&q->mu, NULL);
    snprintf(q->claim_cursor, sizeof q->claim_cursor, "0-0");
    int64_t vis_s;
    char group[64] = "workers";
    if (redis_cfg_parse(url, &q->cfg, e) ||
        setting_i64(url, "visibility_s", "CHATTER_QUEUE_VISIBILITY_S", DEFAULT_VISIBILITY_S, 1, 86400 * 7, &vis_s,
                    e) ||
        setting_i64(url, "retry_s", "CHATTER_QUEUE_RETRY_S", DEFAULT_RETRY_S, 0, 3600, &q->retry_ms, e) ||
        setting_i64(url, "consumer_idle_s", "CHATTER_QUEUE_CONSUMER_IDLE_S", DEFAULT_CONSUMER_IDLE_S, 1,
                    86400 * 30, &q->prune_idle_ms, e) ||
        setting_i64(url, "max", "CHATTER_QUEUE_MAX", QUEUE_DEFAULT_MAX_MESSAGES, 1, INT64_C(1) << 40, &q->max, e) ||
        queue_url_param(url, "group", group, sizeof group) < 0 ||
        sbprintf(q->group, sizeof q->group, "%s", group) ||
        sbprintf(q->stream, sizeof q->stream, "%squeue", q->cfg.prefix) ||
        sbprintf(q->delayed, sizeof q->delayed, "%squeue:delayed", q->cfg.prefix) ||
        sbprintf(q->seq, sizeof q->seq, "%squeue:seq", q->cfg.prefix)) {
        if (e && e->code == CERR_OK) cerr_set(e, CERR_INVALID, "bad Redis queue settings in the URL");
        rq_free(q);
        return cerr_wrap(e, "redis queue");
    }
    q->visibility_ms = vis_s * 1000;
    q->retry_ms *= 1000;
    q->prune_idle_ms *= 1000;
    q->prune_every_ms = q->prune_idle_ms / 2 < 600000 ? q->prune_idle_ms / 2 : 600000;
    q->claim_every_ms = q->visibility_ms / 4;
    if (q->claim_every_ms < 100) q->claim_every_ms = 100;
    if (q->claim_every_ms > 5000) q->claim_every_ms = 5000;
    char host[64] = "host";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    snprintf(q->default_consumer, sizeof q->default_consumer, "%s-%ld", host, (long)getpid());
    if (redis_script_init(&q->push_s, LUA_PUSH, e) || redis_script_init(&q->nack_s, LUA_NACK, e) ||
        redis_script_init(&q->ack_s, LUA_ACK, e) || redis_script_init(&q->promote_s, LUA_PROMOTE, e) ||
        redis_pool_new(&q->cfg, setup_group, q, &q->pool, e)) {
        rq_free(q);
        return -1;
    }
    /* Fail fast on a wrong URL or password; later outages are ridden out with reconnects. */
    if (redis_pool_run(q->pool, now_ms() + 2000, ping_fn, NULL, e)) {
        rq_free(q);
        return -1;
    }
    *out = &q->base;
    return 0;
}

static void rq_close(queue *base) { rq_free((rq *)base); }

/* ---- push / ack / nack ---- */

typedef struct enqueue_args {
    rq *q;
    int64_t job_id, post_ref, delay_ms;
    int attempts;
    const char *id; /* nack: the entry to hand back */
} enqueue_args;

static int push_fn(rconn *c, void *arg, cerr *e) {
    enqueue_args *a = arg;
    rq *q = a->q;
    char job[24], post[24], att[24], delay[24], max[24];
    const char *args[] = {q->stream, q->delayed, q->seq, rfmt_i64(job, a->job_id), rfmt_i64(post, a->post_ref),
                          rfmt_i64(att, a->attempts), rfmt_i64(delay, a->delay_ms), rfmt_i64(max, q->max)};
    redisReply *r = rconn_script(c, &q->push_s, e, 3, 8, args);
    if (!r) return -1;
    freeReplyObject(r);
    return 0;
}

/* A delayed message from this process: pops here wake for it on time (other processes' are seen by
 * the next promote, within MAX_BLOCK_MS). */
static void note_due(rq *q, int64_t delay_ms) {
    if (delay_ms <= 0) return;
    int64_t due = now_ms() + delay_ms;
    pthread_mutex_lock(&q->mu);
    if (!q->next_due_at || due < q->next_due_at) q->next_due_at = due;
    pthread_mutex_unlock(&q->mu);
}

static int rq_push(queue *base, int64_t job_id, int64_t post_ref, int64_t delay_ms, cerr *e) {
    rq *q = (rq *)base;
    enqueue_args a = {.q = q, .job_id = job_id, .post_ref = post_ref, .delay_ms = delay_ms};
    if (redis_pool_run(q->pool, now_ms() + q->retry_ms, push_fn, &a, e)) return cerr_wrap(e, "queue push");
    note_due(q, delay_ms);
    return 0;
}

static int ack_fn(rconn *c, void *arg, cerr *e) {
    enqueue_args *a = arg;
    const char *args[] = {a->q->stream, a->q->group, a->id};
    redisReply *r = rconn_script(c, &a->q->ack_s, e, 1, 3, args);
    if (!r) return -1;
    freeReplyObject(r);
    return 0;
}

static int rq_ack(queue *base, const queue_msg *m, cerr *e) {
    rq *q = (rq *)base;
    enqueue_args a = {.q = q, .id = m->handle};
    if (redis_pool_run(q->pool, now_ms() + q->retry_ms, ack_fn, &a, e)) return cerr_wrap(e, "queue ack");
    return 0;
}

static int nack_fn(rconn *c, void *arg, cerr *e) {
    enqueue_args *a = arg;
    rq *q = a->q;
    char job[24], post[24], att[24], delay[24];
    const char *args[] = {q->stream, q->delayed, q->seq, q->group, a->id, rfmt_i64(job, a->job_id),
                          rfmt_i64(post, a->post_ref), rfmt_i64(att, a->attempts), rfmt_i64(delay, a->delay_ms)};
    redisReply *r = rconn_script(c, &q->nack_s, e, 3, 9, args);
    if (!r) return -1;
    freeReplyObject(r);
    return 0;
}

static int rq_nack(queue *base, const queue_msg *m, int64_t delay_ms, cerr *e) {
    rq *q = (rq *)base;
    enqueue_args a = {.q = q, .id = m->handle, .job_id = m->job_id, .post_ref = m->post_ref,
                      .attempts = m->attempts, .delay_ms = delay_ms};
    if (redis_pool_run(q->pool, now_ms() + q->retry_ms, nack_fn, &a, e)) return cerr_wrap(e, "queue nack");
    note_due(q, delay_ms);
    return 0;
}

/* ---- pop ---- */

typedef struct pop_args {
    rq *q;
    const char *consumer;
    int64_t deadline;
    queue_msg *out;
    int got;
} pop_args;

static const char *field(const redisReply *fields, const char *name) {
    if (!fields || fields->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING && strcmp(k->str, name) == 0)
            return v->str;
    }
    return NULL;
}

/* Fills out from one [id, [field, value, ...]] entry. Returns 1 when usable, 0 to skip it. */
static int parse_entry(const redisReply *entry, int deliveries, queue_msg *out) {
    if (!entry || entry->type != REDIS_REPLY_ARRAY || entry->elements < 2) return 0;
    const redisReply *id = entry->element[0];
    if (id->type != REDIS_REPLY_STRING || id->len >= sizeof out->handle) return 0;
    const char *job = field(entry->element[1], "job"), *post = field(entry->element[1], "post"),
               *att = field(entry->element[1], "att");
    int64_t j, p, a = 0;
    memset(out, 0, sizeof *out);
    memcpy(out->handle, id->str, id->len);
    if (!job || !post || parse_i64(job, &j) || parse_i64(post, &p) || (att && parse_i64(att, &a)) || a < 0 ||
        a > 1000000)
        return 0;
    out->job_id = j;
    out->post_ref = p;
    out->attempts = (int)a + (deliveries > 0 ? deliveries : 1);
    return 1;
}

/* Someone wrote an entry we cannot read: drop it rather than trip over it forever. */
static void drop_entry(rconn *c, rq *q, const char *id) {
    cerr e = {0};
    log_warn("queue: dropping malformed stream entry %s in %s", id, q->stream);
    const char *args[] = {q->stream, q->group, id};
    redisReply *r = rconn_script(c, &q->ack_s, &e, 1, 3, args);
    if (r) freeReplyObject(r);
}

static int64_t deliveries_of(rconn *c, rq *q, const char *id, cerr *e) {
    const char *argv[] = {"XPENDING", q->stream, q->group, id, id, "1"};
    redisReply *r = rconn_cmd(c, 0, e, 6, argv);
    if (!r) return -1;
    int64_t n = 1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->elements >= 4 && r->element[0]->element[3]->type == REDIS_REPLY_INTEGER)
        n = r->element[0]->element[3]->integer;
    freeReplyObject(r);
    return n;
}

static int64_t info_int(const redisReply *flat, const char *name) {
    for (size_t i = 0; flat->type == REDIS_REPLY_ARRAY && i + 1 < flat->elements; i += 2) {
        const redisReply *k = flat->element[i], *v = flat->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && strcmp(k->str, name) == 0)
            return v->type == REDIS_REPLY_INTEGER ? v->integer : -1;
    }
    return -1;
}

/* Best effort: a failure here only means the group keeps a few stale names a while longer. */
static void prune_consumers(rconn *c, rq *q) {
    cerr e = {0};
    const char *argv[] = {"XINFO", "CONSUMERS", q->stream, q->group};
    redisReply *r = rconn_cmd(c, 0, &e, 4, argv);
    if (!r) return;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && i < 10000; i++) {
        const redisReply *info = r->element[i];
        const char *name = field(info, "name");
        if (!name || info_int(info, "pending") != 0 || info_int(info, "idle") < q->prune_idle_ms) continue;
        const char *del[] = {"XGROUP", "DELCONSUMER", q->stream, q->group, name};
        redisReply *d = rconn_cmd(c, 0, &e, 5, del);
        if (d) freeReplyObject(d);
    }
    freeReplyObject(r);
}

/* Takes over one message whose consumer has held it past the visibility timeout. */
static int reclaim(rconn *c, pop_args *a, cerr *e) {
    rq *q = a->q;
    char cursor[48], idle[24];
    int64_t now = now_ms();
    pthread_mutex_lock(&q->mu);
    bool due = now >= q->next_claim_at;
    if (due) q->next_claim_at = now + q->claim_every_ms; /* one thread per interval does it */
    memcpy(cursor, q->claim_cursor, sizeof cursor);
    pthread_mutex_unlock(&q->mu);
    if (!due) return 0;
    const char *argv[] = {"XAUTOCLAIM", q->stream, q->group, a->consumer, rfmt_i64(idle, q->visibility_ms),
                          cursor, "COUNT", "1"};
    redisReply *r = rconn_cmd(c, 0, e, 8, argv);
    if (!r) {
        pthread_mutex_lock(&q->mu);
        q->next_claim_at = 0;
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    int rc = 0;
    bool more = false;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 && r->element[0]->type == REDIS_REPLY_STRING) {
        pthread_mutex_lock(&q->mu);
        snprintf(q->claim_cursor, sizeof q->claim_cursor, "%s", r->element[0]->str);
        pthread_mutex_unlock(&q->mu);
        more = strcmp(r->element[0]->str, "0-0") != 0;
        const redisReply *entries = r->element[1];
        if (entries->type == REDIS_REPLY_ARRAY && entries->elements > 0) {
            const redisReply *en = entries->element[0];
            more = true;
            if (en->type == REDIS_REPLY_ARRAY && en->elements >= 2 && en->element[0]->type == REDIS_REPLY_STRING) {
                const char *id = en->element[0]->str;
                int64_t n = deliveries_of(c, q, id, e);
                if (n < 0) rc = -1;
                else if (parse_entry(en, (int)(n > 1000000 ? 1000000 : n), a->out)) a->got = 1;
                else drop_entry(c, q, id);
            }
        }
    }
    freeReplyObject(r);
    if (!more && rc == 0) { /* a full pass over the pending list: now and then, tidy the consumer list */
        pthread_mutex_lock(&q->mu);
        bool prune = now >= q->next_prune_at;
        if (prune) q->next_prune_at = now + q->prune_every_ms;
        pthread_mutex_unlock(&q->mu);
        if (prune) prune_consumers(c, q);
    }
    if (more) { /* keep draining while there is a backlog of abandoned messages */
        pthread_mutex_lock(&q->mu);
        q->next_claim_at = 0;
        pthread_mutex_unlock(&q->mu);
    }
    return rc;
}

static int pop_fn(rconn *c, void *arg, cerr *e) {
    pop_args *a = arg;
    rq *q = a->q;
    redisReply *r;
    /* Delayed messages are retry backoffs (seconds): looking for due ones every PROMOTE_EVERY_MS per
     * process is plenty, and saves a round trip on most pops. */
    int64_t t = now_ms();
    pthread_mutex_lock(&q->mu);
    bool promote = t >= q->next_promote_at || (q->next_due_at && t >= q->next_due_at);
    if (promote) q->next_promote_at = t + PROMOTE_EVERY_MS;
    int64_t next_due = q->next_due_at ? (q->next_due_at > t ? q->next_due_at - t : 0) : -1;
    pthread_mutex_unlock(&q->mu);
    if (promote) {
        const char *pargs[] = {q->stream, q->delayed, PROMOTE_BATCH};
        r = rconn_script(c, &q->promote_s, e, 2, 3, pargs);
        if (!r) {
            pthread_mutex_lock(&q->mu);
            q->next_promote_at = 0;
            pthread_mutex_unlock(&q->mu);
            return -1;
        }
        next_due = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
        freeReplyObject(r);
        pthread_mutex_lock(&q->mu);
        q->next_due_at = next_due >= 0 ? t + next_due : 0;
        if (next_due >= 0 && next_due < PROMOTE_EVERY_MS) q->next_promote_at = t + next_due;
        pthread_mutex_unlock(&q->mu);
    }

    if (reclaim(c, a, e)) return -1;
    if (a->got) return 0;

    int64_t now = now_ms();
    int64_t block = a->deadline - now;
    if (block > MAX_BLOCK_MS) block = MAX_BLOCK_MS;
    if (next_due >= 0 && block > next_due) block = next_due;
    pthread_mutex_lock(&q->mu);
    int64_t to_claim = q->next_claim_at - now;
    pthread_mutex_unlock(&q->mu);
    if (block > to_claim) block = to_claim;
    char bms[24];
    const char *argv[] = {"XREADGROUP", "GROUP", q->group, a->consumer, "COUNT", "1", "BLOCK",
                          rfmt_i64(bms, block), "STREAMS", q->stream, ">"};
    if (block > 0) r = rconn_cmd(c, block, e, 11, argv);
    else {
        const char *nb[] = {"XREADGROUP", "GROUP", q->group, a->consumer, "COUNT", "1", "STREAMS", q->stream, ">"};
        r = rconn_cmd(c, 0, e, 9, nb);
    }
    if (!r) return -1;
    /* [[stream, [[id, [f, v, ...]]]]] or nil on timeout */
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->elements >= 2) {
        const redisReply *entries = r->element[0]->element[1];
        if (entries->type == REDIS_REPLY_ARRAY && entries->elements > 0) {
            const redisReply *en = entries->element[0];
            if (parse_entry(en, 1, a->out)) a->got = 1;
            else if (en->type == REDIS_REPLY_ARRAY && en->elements > 0 && en->element[0]->type == REDIS_REPLY_STRING)
                drop_entry(c, q, en->element[0]->str);
        }
    }
    freeReplyObject(r);
    return 0;
}

static int rq_pop(queue *base, const char *consumer, int64_t timeout_ms, queue_msg *out, cerr *e) {
    rq *q = (rq *)base;
    pop_args a = {.q = q,
                  .consumer = consumer && *consumer ? consumer : q->default_consumer,
                  .deadline = timeout_ms < 0 ? INT64_MAX / 2 : now_ms() + timeout_ms,
                  .out = out};
    for (;;) {
        if (redis_pool_is_shut(q->pool)) return 0;
        if (redis_pool_run(q->pool, a.deadline, pop_fn, &a, e)) {
            if (redis_pool_is_shut(q->pool)) return 0;
            return cerr_wrap(e, "queue pop");
        }
        if (a.got) return 1;
        if (now_ms() >= a.deadline) return 0;
    }
}

static void rq_shutdown(queue *base) { redis_pool_shutdown(((rq *)base)->pool); }

static int rq_ping(queue *base, cerr *e) {
    rq *q = (rq *)base;
    if (redis_pool_run(q->pool, now_ms() + 1000, ping_fn, NULL, e)) return cerr_wrap(e, "queue ping");
    return 0;
}

const queue_ops redis_queue_ops = {
    .scheme = "redis",
    .open = rq_open,
    .close = rq_close,
    .push = rq_push,
    .pop = rq_pop,
    .ack = rq_ack,
    .nack = rq_nack,
    .shutdown = rq_shutdown,
    .ping = rq_ping,
};
