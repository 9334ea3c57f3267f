/* redis_conn.c - URL parsing, a locked connection pool with reconnect/backoff, and script helpers. */
#include "queue/redis_conn.h"

#include <gnutls/crypto.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "core/util.h"
#include "queue/queue_impl.h"

#define CONNECT_TIMEOUT_MS 2000
#define COMMAND_TIMEOUT_MS 5000 /* a non-blocking command that takes longer means the link is dead */
#define BACKOFF_FIRST_MS 50
#define BACKOFF_MAX_MS 1000
#define DEFAULT_POOL 64

struct rconn {
    redisContext *ctx;
    redis_pool *pool;
    bool busy;
    bool in_block; /* inside a blocking command: shutdown may break the socket to wake it */
    bool broken;   /* drop instead of returning to the pool */
    int64_t timeout_ms; /* socket timeout now set, to skip the setsockopt calls when it does not change */
    rconn *next;
};

struct redis_pool {
    redis_cfg cfg;
    rconn_setup_fn setup;
    void *setup_arg;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a connection came back or the pool shut down */
    rconn *all;
    int nconns;
    bool shut;
};

const char *rfmt_i64(char buf[24], int64_t v) {
    snprintf(buf, 24, "%" PRId64, v);
    return buf;
}

int redis_cfg_parse(const char *url, redis_cfg *cfg, cerr *e) {
    memset(cfg, 0, sizeof *cfg);
    cfg->port = 6379;
    cfg->max_conns = DEFAULT_POOL;
    if (sbprintf(cfg->prefix, sizeof cfg->prefix, "%s", env_or("CHATTER_QUEUE_PREFIX", "chatter:")))
        return cerr_set(e, CERR_INVALID, "CHATTER_QUEUE_PREFIX is too long");
    if (str_starts_with(url, "rediss://"))
        return cerr_set(e, CERR_INVALID, "rediss:// (TLS) is not supported; use a TLS tunnel to Redis");
    if (!str_starts_with(url, "redis://"))
        return cerr_set(e, CERR_INVALID, "Redis URL must start with redis://");
    const char *p = url + strlen("redis://");
    size_t authority_len = strcspn(p, "/?");
    const char *rest = p + authority_len;
    const char *at = memchr(p, '@', authority_len);
    if (at) {
        /* user:password@ (Redis 6 ACL) or :password@; the user part is dropped with a bare password */
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        size_t n = (size_t)(at - pw);
        if (n >= sizeof cfg->password) return cerr_set(e, CERR_INVALID, "Redis password is too long");
        memcpy(cfg->password, pw, n);
        authority_len -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    const char *host_end = p + authority_len;
    const char *port = NULL;
    if (*p == '[') { /* [ipv6]:port */
        const char *rb = memchr(p, ']', authority_len);
        if (!rb) return cerr_set(e, CERR_INVALID, "Redis URL has an unterminated [IPv6] host");
        if ((size_t)(rb - p - 1) >= sizeof cfg->host) return cerr_set(e, CERR_INVALID, "Redis host is too long");
        memcpy(cfg->host, p + 1, (size_t)(rb - p - 1));
        if (rb + 1 < host_end && rb[1] == ':') port = rb + 2;
    } else {
        const char *colon = memchr(p, ':', authority_len);
        const char *hend = colon ? colon : host_end;
        if ((size_t)(hend - p) >= sizeof cfg->host) return cerr_set(e, CERR_INVALID, "Redis host is too long");
        memcpy(cfg->host, p, (size_t)(hend - p));
        if (colon) port = colon + 1;
    }
    if (!cfg->host[0]) snprintf(cfg->host, sizeof cfg->host, "127.0.0.1");
    if (port) {
        char tmp[16];
        int64_t v;
        size_t n = (size_t)(host_end - port);
        if (n == 0 || n >= sizeof tmp) return cerr_set(e, CERR_INVALID, "Redis URL has a bad port");
        memcpy(tmp, port, n);
        tmp[n] = '\0';
        if (parse_i64(tmp, &v) || v < 1 || v > 65535) return cerr_set(e, CERR_INVALID, "Redis URL has a bad port");
        cfg->port = (int)v;
    }
    if (*rest == '/' && rest[1] && rest[1] != '?') {
        char tmp[16];
        int64_t v;
        size_t n = strcspn(rest + 1, "?");
        if (n >= sizeof tmp) return cerr_set(e, CERR_INVALID, "Redis URL has a bad database number");
        memcpy(tmp, rest + 1, n);
        tmp[n] = '\0';
        if (parse_i64(tmp, &v) || v < 0 || v > 1000000)
            return cerr_set(e, CERR_INVALID, "Redis URL has a bad database number");
        cfg->db = (int)v;
    }
    char v[64];
    int r = queue_url_param(url, "prefix", v, sizeof v);
    if (r < 0) return cerr_set(e, CERR_INVALID, "Redis URL prefix is too long (max %zu)", sizeof v - 1);
    if (r > 0) snprintf(cfg->prefix, sizeof cfg->prefix, "%s", v);
    r = queue_url_param(url, "pool", v, sizeof v);
    if (r != 0) {
        int64_t n;
        if (r < 0 || parse_i64(v, &n) || n < 1 || n > 10000)
            return cerr_set(e, CERR_INVALID, "Redis URL pool must be between 1 and 10000");
        cfg->max_conns = (int)n;
    }
    return 0;
}

static struct timeval tv_ms(int64_t ms) {
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

/* Error replies that mean "try again on a fresh connection" rather than "your command is wrong". */
static bool retryable_error(const char *s) {
    return str_starts_with(s, "LOADING") || str_starts_with(s, "NOGROUP") || str_starts_with(s, "MASTERDOWN") ||
           str_starts_with(s, "TRYAGAIN") || str_starts_with(s, "READONLY");
}

static redisReply *cmd_raw(rconn *c, int64_t blocking_ms, cerr *e, int argc, const char **argv) {
    redis_pool *p = c->pool;
    int64_t timeout = COMMAND_TIMEOUT_MS + (blocking_ms > 0 ? blocking_ms : 0);
    if (timeout != c->timeout_ms && redisSetTimeout(c->ctx, tv_ms(timeout)) == REDIS_OK) c->timeout_ms = timeout;
    if (blocking_ms > 0) {
        pthread_mutex_lock(&p->mu);
        bool shut = p->shut;
        if (!shut) c->in_block = true;
        pthread_mutex_unlock(&p->mu);
        if (shut) return cerr_set(e, CERR_NETWORK, "queue is shutting down"), NULL;
    }
    redisReply *r = redisCommandArgv(c->ctx, argc, argv, NULL);
    if (blocking_ms > 0) {
        pthread_mutex_lock(&p->mu);
        c->in_block = false;
        pthread_mutex_unlock(&p->mu);
    }
    if (!r) {
        c->broken = true;
        cerr_set(e, CERR_NETWORK, "redis %s:%d: %s", p->cfg.host, p->cfg.port,
                 c->ctx->errstr[0] ? c->ctx->errstr : "connection lost");
        return NULL;
    }
    return r;
}

static redisReply *check_reply(rconn *c, redisReply *r, cerr *e) {
    if (!r || r->type != REDIS_REPLY_ERROR) return r;
    const char *s = r->str ? r->str : "";
    if (retryable_error(s)) {
        c->broken = true; /* a fresh connection re-runs setup (re-creates the consumer group, ...) */
        cerr_set(e, CERR_NETWORK, "redis: %s", s);
    } else if (str_starts_with(s, "TOOBIG ")) {
        cerr_set(e, CERR_TOOBIG, "%s", s + 7);
    } else {
        cerr_set(e, CERR_UPSTREAM, "redis: %s", s);
    }
    freeReplyObject(r);
    return NULL;
}

redisReply *rconn_cmd(rconn *c, int64_t blocking_ms, cerr *e, int argc, const char **argv) {
    return check_reply(c, cmd_raw(c, blocking_ms, e, argc, argv), e);
}

int redis_script_init(redis_script *s, const char *body, cerr *e) {
    unsigned char md[20];
    if (gnutls_hash_fast(GNUTLS_DIG_SHA1, body, strlen(body), md) < 0)
        return cerr_set(e, CERR_INTERNAL, "cannot hash a Lua script");
    for (int i = 0; i < 20; i++) snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
    s->body = body;
    return 0;
}

redisReply *rconn_script(rconn *c, const redis_script *s, cerr *e, int nkeys, int nargs, const char **args) {
    enum { MAX_ARGS = 16 };
    if (nargs > MAX_ARGS) return cerr_set(e, CERR_INTERNAL, "too many script arguments"), NULL;
    const char *argv[MAX_ARGS + 3];
    char nk[24];
    argv[0] = "EVALSHA";
    argv[1] = s->sha;
    argv[2] = rfmt_i64(nk, nkeys);
    for (int i = 0; i < nargs; i++) argv[3 + i] = args[i];
    redisReply *r = cmd_raw(c, 0, e, nargs + 3, argv);
    if (r && r->type == REDIS_REPLY_ERROR && r->str && str_starts_with(r->str, "NOSCRIPT")) {
        freeReplyObject(r);
        argv[0] = "EVAL";
        argv[1] = s->body;
        r = cmd_raw(c, 0, e, nargs + 3, argv);
    }
    return check_reply(c, r, e);
}

/* ---- pool ---- */

int redis_pool_new(const redis_cfg *cfg, rconn_setup_fn setup, void *setup_arg, redis_pool **out, cerr *e) {
    redis_pool *p = calloc(1, sizeof *p);
    if (!p) return cerr_set(e, CERR_NOMEM, "out of memory");
    p->cfg = *cfg;
    p->setup = setup;
    p->setup_arg = setup_arg;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    *out = p;
    return 0;
}

void redis_pool_free(redis_pool *p) {
    if (!p) return;
    rconn *c = p->all;
    while (c) {
        rconn *n = c->next;
        if (c->ctx) redisFree(c->ctx);
        free(c);
        c = n;
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

void redis_pool_shutdown(redis_pool *p) {
    pthread_mutex_lock(&p->mu);
    p->shut = true;
    for (rconn *c = p->all; c; c = c->next)
        if (c->in_block && c->ctx) shutdown(c->ctx->fd, SHUT_RDWR); /* the blocked read returns at once */
    pthread_mutex_unlock(&p->mu);
    pthread_cond_broadcast(&p->cv);
}

bool redis_pool_is_shut(redis_pool *p) {
    pthread_mutex_lock(&p->mu);
    bool s = p->shut;
    pthread_mutex_unlock(&p->mu);
    return s;
}

static int conn_open(redis_pool *p, rconn *c, int64_t deadline, cerr *e) {
    int64_t left = deadline - now_ms();
    if (left > CONNECT_TIMEOUT_MS) left = CONNECT_TIMEOUT_MS;
    if (left < 100) left = 100;
    c->ctx = redisConnectWithTimeout(p->cfg.host, p->cfg.port, tv_ms(left));
    if (!c->ctx) return cerr_set(e, CERR_NOMEM, "out of memory connecting to Redis");
    if (c->ctx->err)
        return cerr_set(e, CERR_NETWORK, "cannot connect to redis %s:%d: %s", p->cfg.host, p->cfg.port,
                        c->ctx->errstr);
    redisEnableKeepAlive(c->ctx);
    if (p->cfg.password[0]) {
        const char *argv[] = {"AUTH", p->cfg.password};
        redisReply *r = rconn_cmd(c, 0, e, 2, argv);
        if (!r) return cerr_wrap(e, "redis AUTH"); /* the message is Redis's, never the password */
        freeReplyObject(r);
    }
    if (p->cfg.db) {
        char db[24];
        const char *argv[] = {"SELECT", rfmt_i64(db, p->cfg.db)};
        redisReply *r = rconn_cmd(c, 0, e, 2, argv);
        if (!r) return cerr_wrap(e, "redis SELECT %d", p->cfg.db);
        freeReplyObject(r);
    }
    if (p->setup && p->setup(c, p->setup_arg, e)) return -1;
    return 0;
}

static void unlink_conn(redis_pool *p, rconn *c) {
    for (rconn **pp = &p->all; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    p->nconns--;
}

static int acquire(redis_pool *p, int64_t deadline, rconn **out, cerr *e) {
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->shut) {
            pthread_mutex_unlock(&p->mu);
            return cerr_set(e, CERR_NETWORK, "queue is shutting down");
        }
        for (rconn *c = p->all; c; c = c->next) {
            if (!c->busy && c->ctx) {
                c->busy = true;
                pthread_mutex_unlock(&p->mu);
                *out = c;
                return 0;
            }
        }
        if (p->nconns < p->cfg.max_conns) break;
        int64_t now = now_ms();
        if (now >= deadline) {
            pthread_mutex_unlock(&p->mu);
            return cerr_set(e, CERR_NETWORK, "all %d Redis connections are busy", p->cfg.max_conns);
        }
        struct timespec ts = {.tv_sec = deadline / 1000, .tv_nsec = (deadline % 1000) * 1000000};
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    rconn *c = calloc(1, sizeof *c);
    if (!c) {
        pthread_mutex_unlock(&p->mu);
        return cerr_set(e, CERR_NOMEM, "out of memory");
    }
    c->pool = p;
    c->busy = true;
    c->next = p->all;
    p->all = c;
    p->nconns++;
    pthread_mutex_unlock(&p->mu);
    /* Connect outside the lock: it can take seconds and other threads may hold working connections. */
    redisContext *ctx = NULL;
    int rc = conn_open(p, c, deadline, e);
    if (rc) {
        ctx = c->ctx;
        pthread_mutex_lock(&p->mu);
        unlink_conn(p, c);
        pthread_mutex_unlock(&p->mu);
        pthread_cond_signal(&p->cv);
        if (ctx) redisFree(ctx);
        free(c);
        return -1;
    }
    *out = c;
    return 0;
}

static void release(redis_pool *p, rconn *c) {
    pthread_mutex_lock(&p->mu);
    bool drop = c->broken || c->ctx->err;
    if (drop) unlink_conn(p, c);
    else c->busy = false;
    pthread_mutex_unlock(&p->mu);
    pthread_cond_signal(&p->cv);
    if (drop) {
        redisFree(c->ctx);
        free(c);
    }
}

int redis_pool_run(redis_pool *p, int64_t deadline_ms, rconn_fn fn, void *arg, cerr *e) {
    int64_t backoff = BACKOFF_FIRST_MS;
    cerr err = {0}; /* local so the retry decision works even when the caller passes e = NULL */
    for (;;) {
        rconn *c = NULL;
        cerr_clear(&err);
        if (acquire(p, deadline_ms, &c, &err) == 0) {
            int rc = fn(c, arg, &err);
            release(p, c);
            if (rc == 0) return 0;
        }
        if (err.code != CERR_NETWORK || redis_pool_is_shut(p)) break;
        int64_t left = deadline_ms - now_ms();
        if (left <= 0) break;
        sleep_ms(backoff < left ? backoff : left);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    if (e) *e = err;
    return -1;
}
