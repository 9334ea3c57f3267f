/* source.h - the comment-source interface. A source turns one canonical post into a stream of comment
 * records; it never stores or classifies. One implementation per file (youtube.c, tiktok.c, ...),
 * registered in source_registry.c. */
#ifndef CHATTER_SOURCES_SOURCE_H
#define CHATTER_SOURCES_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "sources/url.h"

/* Hard caps on what we keep of one comment, whatever the platform sends. */
#define COMMENT_TEXT_MAX (16 * 1024)
#define COMMENT_FIELD_MAX 256

typedef struct comment_rec {
    const char *comment_id;   /* platform's id, as a string (64-bit ids never go through double) */
    const char *parent_id;    /* NULL for top-level comments */
    const char *author;       /* may be NULL */
    const char *text;         /* UTF-8 */
    const char *published_at; /* RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ", or NULL when unknown */
    int64_t like_count;       /* -1 when unknown */
} comment_rec;

/* Settings a source needs; filled from the environment / config file by config.c. */
typedef struct source_settings {
    const char *youtube_api_url;      /* default https://www.googleapis.com/youtube/v3 */
    const char *youtube_api_key;
    const char *tiktok_api_url;       /* default https://open.tiktokapis.com */
    const char *tiktok_client_key;
    const char *tiktok_client_secret;
    const char *instagram_api_url;    /* default https://graph.facebook.com/v19.0 */
    const char *instagram_access_token;
    const char *instagram_account_id;
    const char *apify_api_url;        /* default https://api.apify.com */
    const char *apify_token;
    const char *provider[PLATFORM_COUNT]; /* "official" (default) or "apify" */
    long request_timeout_ms;          /* per HTTP exchange */
    int max_retries;                  /* per request, on 429/5xx/timeouts */
    int64_t retry_base_ms;            /* first backoff step */
    int64_t retry_max_ms;             /* cap on one wait */
    char *owned_[16];                 /* private: strings source_settings_defaults allocated */
} source_settings;

/* Fills defaults, then reads the environment: YOUTUBE_API_KEY, TIKTOK_CLIENT_KEY, TIKTOK_CLIENT_SECRET,
 * INSTAGRAM_ACCESS_TOKEN, INSTAGRAM_ACCOUNT_ID, APIFY_TOKEN (each also as NAME_FILE),
 * CHATTER_{YOUTUBE,TIKTOK,INSTAGRAM,APIFY}_API_URL, CHATTER_{YOUTUBE,TIKTOK,INSTAGRAM}_PROVIDER,
 * CHATTER_HTTP_TIMEOUT_MS, CHATTER_HTTP_RETRIES. A bad value is an error, never silently ignored.
 * The struct owns what it allocated: release with source_settings_free (fields the caller overwrites
 * with its own strings are not freed). */
int source_settings_defaults(source_settings *s, cerr *e) CH_MUST_USE;
void source_settings_free(source_settings *s);

typedef struct fetch_request {
    platform platform;
    const char *post_id;
    const char *canonical_url;
    int64_t max_comments;    /* top-level + replies together; 0 = all */
    bool include_replies;
    int64_t deadline_ms;     /* now_ms() value after which the fetch gives up; 0 = none */
    void *ctx;               /* the source's process-wide state from ops->ctx_new; NULL = none yet (the
                              * fetch then builds a private one, so nothing is cached across fetches) */
} fetch_request;

/* Receives comments in API order, a page at a time. Returning non-zero aborts the fetch. */
typedef int (*comment_sink)(void *ud, const comment_rec *recs, size_t n);

typedef enum fetch_status {
    FETCH_OK = 0,       /* all comments (up to the limit) delivered */
    FETCH_FAILED,       /* permanent for this post: reason says why (disabled, not found, ...) */
    FETCH_RETRY,        /* transient and retries exhausted, or quota: try the post again later */
} fetch_status;

typedef struct fetch_outcome {
    fetch_status status;
    char reason[256];        /* for the user; never contains secrets */
    int64_t expected_count;  /* total the platform reports, -1 when unknown */
    int64_t delivered;       /* comments passed to the sink */
    int64_t retry_after_ms;  /* with FETCH_RETRY: earliest sensible retry, -1 unknown */
    bool quota;              /* with FETCH_RETRY: the platform's quota is spent until retry_after_ms, so
                              * every post of this source must wait, not only this one */
} fetch_outcome;

typedef struct source_ops {
    const char *name;        /* "youtube", "tiktok", "instagram", "apify" */
    platform platform;       /* PLATFORM_NONE for providers serving several platforms (apify) */
    /* Checks credentials are configured; reason for the user when not (no network). */
    int (*check_config)(const source_settings *s, platform p, cerr *e);
    /* Fetches one post. Returns 0 with out->status set (even for FETCH_FAILED); -1 only when the
     * sink aborted or memory ran out. */
    int (*fetch)(const source_settings *s, const fetch_request *req, comment_sink sink, void *ud,
                 fetch_outcome *out, cerr *e);
    /* Optional (NULL when the source keeps no state): state shared by every thread of the process, such
     * as a cached access token or an id mapping, created once per process and passed to each fetch in
     * fetch_request.ctx. It is internally locked, so concurrent fetches may share it. */
    void *(*ctx_new)(const source_settings *s, cerr *e);
    void (*ctx_free)(void *ctx);
} source_ops;

/* The source that serves platform p under the given settings (official or apify); NULL if none. */
const source_ops *source_for(const source_settings *s, platform p);

#endif
