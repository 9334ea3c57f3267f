/* retry.h - one logical API call: an HTTP exchange repeated on 429, 5xx and transport failures, with
 * exponential backoff and full jitter, honouring Retry-After, bounded by the settings and a deadline.
 * Every source makes its upstream calls through retry_http. */
#ifndef CHATTER_SOURCES_RETRY_H
#define CHATTER_SOURCES_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/http.h"
#include "sources/source.h"

typedef struct retry_policy {
    int max_retries;        /* extra attempts after the first; 0 = try once */
    int64_t base_ms;        /* backoff before retry n is uniform in [0, min(max_ms, base_ms * 2^n)] */
    int64_t max_ms;         /* cap on one wait; a Retry-After above it ends the retries */
    long timeout_ms;        /* per exchange (shortened to what the deadline leaves) */
    int64_t deadline_ms;    /* now_ms() value after which no attempt starts; 0 = none */
} retry_policy;

typedef struct retry_stats {
    int attempts;           /* exchanges made */
    int64_t waited_ms;      /* time slept between them */
    bool deadline_hit;      /* stopped early because the deadline left no room */
} retry_stats;

/* The policy from source settings and a request deadline (fetch_request.deadline_ms). */
retry_policy retry_policy_from(const source_settings *s, int64_t deadline_ms);

/* 429, 408 and 5xx: worth another try. */
bool retry_status_is_transient(long status);

/* Performs req under the policy. Returns 0 when a response arrived that is final: any non-transient
 * status, or a transient one once retries, Retry-After or the deadline rule out another try (check
 * r->status; r->retry_after_ms keeps the server's hint). Returns -1 with CERR_NETWORK when no response
 * arrived (transport failures every time, or the deadline passed before an attempt), or CERR_TOOBIG
 * when the body passed req->max_body (not retried). st may be NULL. */
int retry_http(const retry_policy *p, const http_request *req, http_response *r, retry_stats *st, cerr *e) CH_MUST_USE;

/* Full-jitter backoff before retry number `attempt` (0-based); exposed for tests. rng is the caller's
 * state (seed it with retry_rng_seed); nothing random is shared between calls or threads. */
int64_t retry_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, uint64_t *rng);
uint64_t retry_rng_seed(void);

#endif
