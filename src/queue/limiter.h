/* limiter.h - per-platform request limits shared by every fetch: a token bucket (requests/s), a cap on
 * concurrent fetches, and a quota pause (the platform said "come back at T"). In-process (one mutex, for
 * the embedded default) or in Redis (Lua scripts, so every worker process on every machine shares one
 * budget and the Redis server's clock).
 *
 * Limits per platform come from the environment unless set with limiter_set_limits():
 *   CHATTER_<PLATFORM>_RATE         requests per second, decimal allowed (unset or 0 = unlimited)
 *   CHATTER_<PLATFORM>_BURST        tokens that can pile up while idle (default 1: evenly spaced requests)
 *   CHATTER_<PLATFORM>_CONCURRENCY  fetches in flight at once (unset or 0 = unlimited)
 *   CHATTER_LIMITER_LEASE_S         Redis only: a slot not released within this long (a crashed worker's)
 *                                   is freed (default 900)
 * PLATFORM is the platform name upper-cased ("youtube" -> CHATTER_YOUTUBE_RATE). */
#ifndef CHATTER_QUEUE_LIMITER_H
#define CHATTER_QUEUE_LIMITER_H

#include <stdint.h>

#include "core/err.h"

typedef struct limiter limiter;

typedef enum limiter_verdict {
    LIMITER_GO = 0,               /* slot taken: call limiter_release when the request is done */
    LIMITER_WAIT_RATE = 1,        /* no token yet: *wait_ms until the next one */
    LIMITER_WAIT_CONCURRENCY = 2, /* every slot busy: *wait_ms is a polling hint */
    LIMITER_PAUSED = 3,           /* quota pause: *wait_ms until it ends (see limiter_paused_until) */
} limiter_verdict;

typedef struct limiter_limits {
    double rate;     /* requests per second; <= 0 = unlimited */
    int burst;       /* >= 1 */
    int concurrency; /* <= 0 = unlimited */
} limiter_limits;

/* What limiter_acquire hands out and limiter_release takes back. */
typedef struct limiter_slot {
    char platform[32];
    char token[48];
} limiter_slot;

/* url NULL or "" = in-process; "redis://host:port/db[?prefix=...]" = shared through Redis (keys
 * "<prefix>limit:<platform>:*", prefix "chatter:" unless the URL or CHATTER_QUEUE_PREFIX says otherwise). */
int limiter_open(const char *url, limiter **out, cerr *e) CH_MUST_USE;
void limiter_close(limiter *l);

/* Overrides the environment for one platform in this handle (tests, config files). */
int limiter_set_limits(limiter *l, const char *platform, const limiter_limits *lim, cerr *e) CH_MUST_USE;
int limiter_get_limits(limiter *l, const char *platform, limiter_limits *out, cerr *e) CH_MUST_USE;

/* Returns LIMITER_GO (0) with slot filled, a positive limiter_verdict with *wait_ms > 0 (nothing taken:
 * try again after that long), or -1 on error (bad platform name or setting, Redis unreachable). */
int limiter_acquire(limiter *l, const char *platform, limiter_slot *slot, int64_t *wait_ms, cerr *e) CH_MUST_USE;
/* Frees the concurrency slot. Releasing twice is harmless. */
int limiter_release(limiter *l, const limiter_slot *slot, cerr *e);

/* Pauses the platform until until_unix (wall clock, seconds), e.g. a quota reset or Retry-After. A pause
 * only ever grows: a shorter one does not cut a longer one short. limiter_resume ends it now. */
int limiter_pause(limiter *l, const char *platform, int64_t until_unix, cerr *e) CH_MUST_USE;
int limiter_resume(limiter *l, const char *platform, cerr *e) CH_MUST_USE;
/* *until_unix = end of the pause, or 0 when the platform is not paused. */
int limiter_paused_until(limiter *l, const char *platform, int64_t *until_unix, cerr *e) CH_MUST_USE;

#endif
