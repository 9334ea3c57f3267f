/* redis_conn.h - what the Redis queue and the Redis limiter share: URL parsing, a locked pool of hiredis
 * connections (one caller per connection at a time, so a blocking XREADGROUP never shares a socket with
 * other commands), reconnection with backoff, and Lua scripts run by EVALSHA with an EVAL fallback. */
#ifndef CHATTER_QUEUE_REDIS_CONN_H
#define CHATTER_QUEUE_REDIS_CONN_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

typedef struct redis_cfg {
    char host[256];
    int port;
    int db;
    char password[256];
    char prefix[64]; /* key prefix, "chatter:" unless the URL or CHATTER_QUEUE_PREFIX says otherwise */
    int max_conns;   /* pool size cap */
} redis_cfg;

/* redis://[[user]:password@]host[:port][/db][?prefix=...&pool=N]. Unknown query keys are left to the
 * caller (the queue reads visibility_s, max, ...). */
int redis_cfg_parse(const char *url, redis_cfg *cfg, cerr *e) CH_MUST_USE;

typedef struct rconn rconn;
typedef struct redis_pool redis_pool;

/* Called on every new connection (after AUTH/SELECT), e.g. to create the consumer group. */
typedef int (*rconn_setup_fn)(rconn *c, void *arg, cerr *e);

int redis_pool_new(const redis_cfg *cfg, rconn_setup_fn setup, void *setup_arg, redis_pool **out,
                   cerr *e) CH_MUST_USE;
/* Callers must have stopped using the pool. */
void redis_pool_free(redis_pool *p);
/* Makes later rpool_run calls fail fast and breaks every connection blocked in a command, so waiters wake. */
void redis_pool_shutdown(redis_pool *p);
bool redis_pool_is_shut(redis_pool *p);

/* Runs fn with a pooled connection. When fn fails with CERR_NETWORK (connection lost, Redis loading or
 * restarting) the connection is dropped and fn is retried on a fresh one with exponential backoff until
 * deadline_ms (monotonic, from now_ms()). Any other error is returned at once. The last attempt always
 * runs, even when the deadline has already passed. */
typedef int (*rconn_fn)(rconn *c, void *arg, cerr *e);
int redis_pool_run(redis_pool *p, int64_t deadline_ms, rconn_fn fn, void *arg, cerr *e) CH_MUST_USE;

/* One command. Returns the reply (caller frees with freeReplyObject) or NULL with e filled: CERR_NETWORK
 * for a lost connection or a retryable server state (LOADING, NOGROUP after a restart without
 * persistence), CERR_UPSTREAM for any other error reply. blocking_ms > 0 marks a command that may block
 * that long on the server, so the socket timeout is extended and shutdown can interrupt it. */
redisReply *rconn_cmd(rconn *c, int64_t blocking_ms, cerr *e, int argc, const char **argv);

typedef struct redis_script {
    const char *body;
    char sha[41];
} redis_script;

/* Computes the SHA1 by which EVALSHA finds the script. */
int redis_script_init(redis_script *s, const char *body, cerr *e) CH_MUST_USE;
/* EVALSHA, then EVAL if the server has not seen the script (after a restart or SCRIPT FLUSH). */
redisReply *rconn_script(rconn *c, const redis_script *s, cerr *e, int nkeys, int nargs, const char **args);

/* Formats an int64 into buf for use as an argv element; returns buf. */
const char *rfmt_i64(char buf[24], int64_t v);

#endif
