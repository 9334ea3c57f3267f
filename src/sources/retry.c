/* retry.c - backoff with full jitter (AWS "Exponential Backoff And Jitter"): the wait before retry n is
 * uniform in [0, min(cap, base * 2^n)], so many workers hitting the same 429 spread out instead of
 * returning in lockstep. */
#include "sources/retry.h"

#include <string.h>
#include <sys/random.h>

#include "core/log.h"
#include "core/util.h"

retry_policy retry_policy_from(const source_settings *s, int64_t deadline_ms) {
    retry_policy p = {
        .max_retries = s && s->max_retries >= 0 ? s->max_retries : 3,
        .base_ms = s && s->retry_base_ms > 0 ? s->retry_base_ms : 500,
        .max_ms = s && s->retry_max_ms > 0 ? s->retry_max_ms : 30000,
        .timeout_ms = s && s->request_timeout_ms > 0 ? s->request_timeout_ms : 30000,
        .deadline_ms = deadline_ms,
    };
    return p;
}

bool retry_status_is_transient(long status) { return status == 429 || status == 408 || (status >= 500 && status <= 599); }

uint64_t retry_rng_seed(void) {
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
        seed = (uint64_t)now_ms() ^ (uint64_t)(uintptr_t)&seed;
    return seed ? seed : 0x9e3779b97f4a7c15ULL;
}

/* splitmix64: tiny, good enough for jitter, and its state is one caller-owned word */
static uint64_t next_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int64_t retry_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, uint64_t *rng) {
    if (base_ms <= 0 || max_ms <= 0) return 0;
    int64_t ceiling = base_ms;
    for (int i = 0; i < attempt && ceiling < max_ms; i++) ceiling *= 2;
    if (ceiling > max_ms) ceiling = max_ms;
    return (int64_t)(next_rand(rng) % (uint64_t)(ceiling + 1));
}

int retry_http(const retry_policy *p, const http_request *req, http_response *r, retry_stats *st, cerr *e) {
    retry_stats local = {0};
    if (!st) st = &local;
    memset(st, 0, sizeof *st);
    uint64_t rng = retry_rng_seed();
    http_request one = *req;
    cerr last = {0};
    bool have_response = false;

    for (int attempt = 0;; attempt++) {
        long timeout = p->timeout_ms;
        if (p->deadline_ms) {
            int64_t left = p->deadline_ms - now_ms();
            if (left <= 0) {
                st->deadline_hit = true;
                break;
            }
            if (left < timeout) timeout = (long)left;
        }
        one.timeout_ms = timeout;
        st->attempts++;
        cerr ae = {0};
        int rc = http_do(&one, r, &ae);
        if (rc != 0 && ae.code != CERR_NETWORK) {
            if (e) *e = ae; /* over the size cap, out of memory: another try would end the same way */
            return -1;
        }
        have_response = rc == 0;
        last = ae;
        if (have_response && !retry_status_is_transient(r->status)) return 0;
        if (attempt >= p->max_retries) break;

        int64_t wait;
        if (have_response && r->retry_after_ms >= 0) {
            if (r->retry_after_ms > p->max_ms) break; /* the server asks for longer than we may wait */
            wait = r->retry_after_ms;
        } else {
            wait = retry_backoff_ms(attempt, p->base_ms, p->max_ms, &rng);
        }
        if (p->deadline_ms && now_ms() + wait >= p->deadline_ms) {
            st->deadline_hit = true;
            break;
        }
        if (have_response)
            log_debug("upstream HTTP %ld, retry %d/%d in %lld ms", r->status, attempt + 1, p->max_retries, (long long)wait);
        else
            log_debug("upstream unreachable (%s), retry %d/%d in %lld ms", ae.msg, attempt + 1, p->max_retries,
                      (long long)wait);
        sleep_ms(wait);
        st->waited_ms += wait;
    }
    if (have_response) return 0;
    if (st->attempts == 0) return cerr_set(e, CERR_NETWORK, "time limit reached before the request could be made");
    if (e) *e = last;
    if (st->deadline_hit) return cerr_wrap(e, "time limit reached after %d attempt(s)", st->attempts);
    return cerr_wrap(e, "gave up after %d attempt(s)", st->attempts);
}
