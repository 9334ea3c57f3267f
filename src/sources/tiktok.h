/* tiktok.h - the TikTok Research API source and its process-wide client (the cached access token). */
#ifndef CHATTER_SOURCES_TIKTOK_H
#define CHATTER_SOURCES_TIKTOK_H

#include <stdint.h>

#include "sources/source.h"

/* ctx_new creates a tiktok_client; pass it as fetch_request.ctx to every TikTok fetch of the process. */
extern const source_ops tiktok_source_ops;

typedef struct tiktok_client tiktok_client;
tiktok_client *tiktok_client_new(void);
void tiktok_client_free(tiktok_client *c);
/* How many tokens this client obtained so far (for tests and status). */
int64_t tiktok_client_tokens_fetched(tiktok_client *c);

/* When the Research API's daily quota comes back after now (Unix seconds): the next 00:00 UTC. A quota
 * error (429 rate_limit_exceeded that outlasts the in-request retries, or an error naming the quota) sets
 * fetch_outcome.quota with retry_after_ms until then, or until Retry-After when TikTok sends one. */
int64_t tiktok_quota_reset_unix(int64_t now);

#endif
