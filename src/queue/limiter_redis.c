/* limiter_redis.c - the limiter shared by every worker through Redis. One Lua script decides each
 * acquire atomically against the server's clock, so N processes on M machines draw from one bucket.
 * Keys: <prefix>limit:<platform>:bucket (hash tokens, ts), :slots (sorted set token -> lease end, ms),
 * :pause (unix seconds). Slots are leases: a worker that dies holding one frees it when the lease runs
 * out, and every key expires on its own once idle. */
#include <gnutls/crypto.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "queue/limiter_impl.h"
#include "queue/queue_impl.h"
#include "queue/redis_conn.h"

#define DEFAULT_LEASE_S 900
#define RETRY_MS 5000

/* KEYS: bucket slots pause. ARGV: rate burst concurrency lease_ms token poll_ms.
 * Returns {verdict, wait_ms}. */
static const char LUA_ACQUIRE[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local until_s = tonumber(redis.call('GET', KEYS[3]) or '0') or 0\n"
    "if until_s * 1000 > now then return {3, until_s * 1000 - now} end\n"
    "local conc = tonumber(ARGV[3])\n"
    "if conc > 0 then\n"
    "  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%d', now))\n"
    "  if redis.call('ZCARD', KEYS[2]) >= conc then return {2, tonumber(ARGV[6])} end\n"
    "end\n"
    "local rate = tonumber(ARGV[1])\n"
    "if rate > 0 then\n"
    "  local burst = tonumber(ARGV[2])\n"
    "  local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')\n"
    "  local tokens = tonumber(b[1]) or burst\n"
    "  local ts = tonumber(b[2]) or now\n"
    "  if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate / 1000) end\n"
    "  if tokens < 1 then return {1, math.ceil((1 - tokens) * 1000 / rate)} end\n"
    "  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'ts', string.format('%d', now))\n"
    "  redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 60000)\n"
    "end\n"
    "if conc > 0 then\n"
    "  local lease = tonumber(ARGV[4])\n"
    "  redis.call('ZADD', KEYS[2], string.format('%d', now + lease), ARGV[5])\n"
    "  redis.call('PEXPIRE', KEYS[2], lease + 60000)\n"
    "end\n"
    "return {0, 0}\n";

/* KEYS: pause. ARGV: until_unix. A pause only grows. */
static const char LUA_PAUSE[] =
    "local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0\n"
    "local u = tonumber(ARGV[1])\n"
    "if u > cur then\n"
    "  redis.call('SET', KEYS[1], ARGV[1])\n"
    "  redis.call('EXPIREAT', KEYS[1], u + 60)\n"
    "end\n"
    "return 1\n";

typedef struct lim_redis {
    limiter base;
    redis_cfg cfg;
    redis_pool *pool;
    int64_t lease_ms;
    redis_script acquire_s, pause_s;
    char token_prefix[40];
    pthread_mutex_t mu; /* guards next_token */
    uint64_t next_token;
} lim_redis;

typedef struct op_args {
    lim_redis *l;
    const char *platform;
    const limiter_limits *lim;
    limiter_slot *slot;
    const limiter_slot *cslot;
    int64_t until_unix;
    int verdict;
    int64_t wait_ms;
} op_args;

static int key(const lim_redis *l, const char *platform, const char *what, char *out, size_t size, cerr *e) {
    if (sbprintf(out, size, "%slimit:%s:%s", l->cfg.prefix, platform, what))
        return cerr_set(e, CERR_INVALID, "limiter key too long");
    return 0;
}

static int acquire_fn(rconn *c, void *arg, cerr *e) {
    op_args *a = arg;
    lim_redis *l = a->l;
    char kb[160], ks[160], kp[160], rate[64], burst[24], conc[24], lease[24], poll[24];
    if (key(l, a->platform, "bucket", kb, sizeof kb, e) || key(l, a->platform, "slots", ks, sizeof ks, e) ||
        key(l, a->platform, "pause", kp, sizeof kp, e))
        return -1;
    snprintf(rate, sizeof rate, "%.17g", a->lim->rate);
    const char *args[] = {kb, ks, kp, rate, rfmt_i64(burst, a->lim->burst), rfmt_i64(conc, a->lim->concurrency),
                          rfmt_i64(lease, l->lease_ms), a->slot->token,
                          rfmt_i64(poll, LIMITER_CONCURRENCY_POLL_MS)};
    redisReply *r = rconn_script(c, &l->acquire_s, e, 3, 9, args);
    if (!r) return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_INTEGER &&
        r->element[1]->type == REDIS_REPLY_INTEGER && r->element[0]->integer >= 0 && r->element[0]->integer <= 3) {
        a->verdict = (int)r->element[0]->integer;
        a->wait_ms = r->element[1]->integer;
    } else {
        rc = cerr_set(e, CERR_UPSTREAM, "redis limiter script returned an unexpected reply");
    }
    freeReplyObject(r);
    return rc;
}

static int rl_acquire(limiter *base, const char *platform, const limiter_limits *lim, limiter_slot *slot,
                      int64_t *wait_ms, cerr *e) {
    lim_redis *l = (lim_redis *)base;
    pthread_mutex_lock(&l->mu);
    uint64_t n = ++l->next_token;
    pthread_mutex_unlock(&l->mu);
    snprintf(slot->token, sizeof slot->token, "%s-%" PRIu64, l->token_prefix, n);
    op_args a = {.l = l, .platform = platform, .lim = lim, .slot = slot};
    if (redis_pool_run(l->pool, now_ms() + RETRY_MS, acquire_fn, &a, e)) return cerr_wrap(e, "rate limiter");
    *wait_ms = a.wait_ms;
    return a.verdict;
}

static int release_fn(rconn *c, void *arg, cerr *e) {
    op_args *a = arg;
    char ks[160];
    if (key(a->l, a->cslot->platform, "slots", ks, sizeof ks, e)) return -1;
    const char *argv[] = {"ZREM", ks, a->cslot->token};
    redisReply *r = rconn_cmd(c, 0, e, 3, argv);
    if (!r) return -1;
    freeReplyObject(r);
    return 0;
}

static int rl_release(limiter *base, const limiter_slot *slot, cerr *e) {
    lim_redis *l = (lim_redis *)base;
    op_args a = {.l = l, .cslot = slot};
    if (redis_pool_run(l->pool, now_ms() + RETRY_MS, release_fn, &a, e)) return cerr_wrap(e, "rate limiter");
    return 0;
}

static int pause_fn(rconn *c, void *arg, cerr *e) {
    op_args *a = arg;
    char kp[160], until[24];
    if (key(a->l, a->platform, "pause", kp, sizeof kp, e)) return -1;
    const char *args[] = {kp, rfmt_i64(until, a->until_unix)};
    redisReply *r = rconn_script(c, &a->l->pause_s, e, 1, 2, args);
    if (!r) return -1;
    freeReplyObject(r);
    return 0;
}

static int rl_pause(limiter *base, const char *platform, int64_t until_unix, cerr *e) {
    lim_redis *l = (lim_redis *)base;
    op_args a = {.l = l, .platform = platform, .until_unix = until_unix};
    if (redis_pool_run(l->pool, now_ms() + RETRY_MS, pause_fn, &a, e)) return cerr_wrap(e, "rate limiter");
    return 0;
}

static int resume_fn(rconn *c, void *arg, cerr *e) {
    op_args *a = arg;
    char kp[160];
    if (key(a->l, a->platform, "pause", kp, sizeof kp, e)) return -1;
    const char *argv[] = {"DEL", kp};
    redisReply *r = rconn_cmd(c, 0, e, 2, argv);
    if (!r) return -1;
    freeReplyObject(r);
    return 0;
}

static int rl_resume(limiter *base, const char *platform, cerr *e) {
    lim_redis *l = (lim_redis *)base;
    op_args a = {.l = l, .platform = platform};
    if (redis_pool_run(l->pool, now_ms() + RETRY_MS, resume_fn, &a, e)) return cerr_wrap(e, "rate limiter");
    return 0;
}

static int paused_fn(rconn *c, void *arg, cerr *e) {
    op_args *a = arg;
    char kp[160];
    if (key(a->l, a->platform, "pause", kp, sizeof kp, e)) return -1;
    const char *argv[] = {"GET", kp};
    redisReply *r = rconn_cmd(c, 0, e, 2, argv);
    if (!r) return -1;
    int64_t v = 0;
    if (r->type == REDIS_REPLY_STRING && parse_i64(r->str, &v)) v = 0;
    a->until_unix = v;
    freeReplyObject(r);
    return 0;
}

static int rl_paused_until(limiter *base, const char *platform, int64_t *until_unix, cerr *e) {
    lim_redis *l = (lim_redis *)base;
    op_args a = {.l = l, .platform = platform};
    if (redis_pool_run(l->pool, now_ms() + RETRY_MS, paused_fn, &a, e)) return cerr_wrap(e, "rate limiter");
    /* The key outlives the pause by a minute (so EXPIREAT never races the check); compare here too. */
    *until_unix = a.until_unix * 1000 > limiter_wall_ms() ? a.until_unix : 0;
    return 0;
}

static void rl_close(limiter *base) {
    lim_redis *l = (lim_redis *)base;
    redis_pool_free(l->pool);
    pthread_mutex_destroy(&l->mu);
    limiter_base_destroy(base);
    free(l);
}

static const limiter_ops redis_limiter_ops = {
    .acquire = rl_acquire,
    .release = rl_release,
    .pause = rl_pause,
    .resume = rl_resume,
    .paused_until = rl_paused_until,
    .close = rl_close,
};

static int ping_fn(rconn *c, void *arg, cerr *e) {
    (void)arg;
    const char *argv[] = {"PING"};
    redisReply *r = rconn_cmd(c, 0, e, 1, argv);
    if (!r) return -1;
    freeReplyObject(r);
    return 0;
}

int limiter_redis_open(const char *url, limiter **out, cerr *e) {
    lim_redis *l = calloc(1, sizeof *l);
    if (!l) return cerr_set(e, CERR_NOMEM, "out of memory");
    limiter_base_init(&l->base, &redis_limiter_ops);
    pthread_mutex_init(&l->mu, NULL);
    l->lease_ms = DEFAULT_LEASE_S * 1000;
    const char *lease = getenv("CHATTER_LIMITER_LEASE_S");
    char v[32];
    int r = queue_url_param(url, "lease_s", v, sizeof v);
    if (r > 0) lease = v;
    int64_t s;
    int rc = 0;
    if (r < 0 || (lease && *lease && (parse_i64(lease, &s) || s < 1 || s > 86400)))
        rc = cerr_set(e, CERR_INVALID, "CHATTER_LIMITER_LEASE_S must be 1-86400 seconds");
    else if (lease && *lease)
        l->lease_ms = s * 1000;
    /* Tokens only need to be unique among live holders: random bytes avoid clashes across machines. */
    unsigned char rnd[8];
    if (!rc && gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof rnd) < 0)
        rc = cerr_set(e, CERR_INTERNAL, "no random bytes for limiter tokens");
    if (!rc) {
        for (size_t i = 0; i < sizeof rnd; i++) snprintf(l->token_prefix + 2 * i, 3, "%02x", rnd[i]);
        rc = redis_cfg_parse(url, &l->cfg, e);
    }
    if (!rc) rc = redis_script_init(&l->acquire_s, LUA_ACQUIRE, e);
    if (!rc) rc = redis_script_init(&l->pause_s, LUA_PAUSE, e);
    if (!rc) rc = redis_pool_new(&l->cfg, NULL, NULL, &l->pool, e);
    if (!rc) rc = redis_pool_run(l->pool, now_ms() + 2000, ping_fn, NULL, e);
    if (rc) {
        rl_close(&l->base);
        return cerr_wrap(e, "rate limiter");
    }
    *out = &l->base;
    return 0;
}
