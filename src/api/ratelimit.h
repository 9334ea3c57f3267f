/* ratelimit.h - per-key token buckets (e.g. job creations per user), thread-safe, with bounded memory.
 *
 * Each key gets a bucket of `burst` tokens refilled at `per_minute` tokens a minute. The table holds at most
 * `max_keys` buckets; when full, the least recently used bucket is dropped, so a stream of new keys
 * cannot grow memory. A dropped bucket comes back full, which only ever errs towards allowing. */
#ifndef CHATTER_API_RATELIMIT_H
#define CHATTER_API_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define RATELIMIT_MAX_KEY 255 /* longer keys are refused (auth_identity.owner fits) */

typedef struct ratelimit ratelimit;

/* per_minute > 0, burst >= 1, max_keys >= 1. */
int ratelimit_new(double per_minute, double burst, size_t max_keys, ratelimit **out, cerr *e) CH_MUST_USE;
void ratelimit_free(ratelimit *rl);

/* Takes one token from key's bucket. Returns true when allowed; otherwise false and *retry_after_s is the
 * whole number of seconds (>= 1) until a token is available, for a `Retry-After` header. */
bool ratelimit_take(ratelimit *rl, const char *key, long *retry_after_s);
/* The same at an explicit monotonic time in milliseconds (tests; callers that already read the clock). */
bool ratelimit_take_at(ratelimit *rl, const char *key, int64_t now_ms, long *retry_after_s);

size_t ratelimit_size(ratelimit *rl); /* buckets currently held */

#endif
