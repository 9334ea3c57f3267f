/* api.h - the HTTP API and web page (libmicrohttpd). Stateless: everything it knows is in the store,
 * so any number of `chatter serve` replicas can run side by side. */
#ifndef CHATTER_API_API_H
#define CHATTER_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "queue/queue.h"
#include "sources/source.h"
#include "store/store.h"

/* Authenticates a request from its Authorization header. Returns 0 and fills owner/admin, or -1 and
 * fills www_authenticate with the challenge to send with the 401. */
typedef int (*api_auth_fn)(void *ctx, const char *authorization, char *owner, size_t owner_cap, bool *admin,
                           char *www_authenticate, size_t cap, cerr *e);

typedef struct api_config {
    const char *listen;              /* "127.0.0.1:8080", "[::1]:8080", ":8080" */
    int threads;                     /* HTTP threads (default 4) */
    size_t max_body;                 /* default 1 MiB */
    int max_urls;                    /* default 500 */
    int64_t max_comments_limit;      /* highest max_comments_per_post accepted (default 100000) */
    int64_t default_max_comments;    /* default 1000 */
    int64_t sample_pool;             /* comments fetched per post for a job that samples (default 5000,
                                      * 1..SAMPLE_POOL_MAX; raised to the job's own limit when that is higher) */
    int64_t max_time_budget_s;       /* highest time_budget_s accepted (default 7 days) */
    unsigned connection_timeout_s;   /* a connection idle this long is closed (default 15) */
    unsigned connection_limit;       /* default 1024 */
    unsigned per_ip_connection_limit;/* default 64: a slow client holds at most this many */
    const char *default_analyzer;    /* recorded on jobs that name none */
    api_auth_fn auth;                /* NULL = no authentication: every job belongs to LOCAL_OWNER */
    void *auth_ctx;
    /* Optional per-user job-creation limiter; returns seconds to wait (0 = allowed). */
    int64_t (*create_limit)(void *ctx, const char *owner);
    void *create_limit_ctx;
    int max_running_jobs_per_user;   /* 0 = no cap */
    /* Resolves short links (TikTok vm./vt./t/) at job creation; NULL = short links rejected. */
    int (*resolve)(void *ctx, const char *url, char *out, size_t cap, cerr *e);
    void *resolve_ctx;
} api_config;

void api_config_defaults(api_config *c);

typedef struct api_server api_server;

/* Borrowed: store, queue (may be NULL in tests: jobs are then only stored), settings. */
int api_start(const api_config *cfg, store *st, queue *q, const source_settings *src, api_server **out,
              cerr *e) CH_MUST_USE;
/* The port actually bound (useful with port 0). */
int api_port(const api_server *s);
void api_stop(api_server *s);

#endif
