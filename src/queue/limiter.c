/* limiter.c - picks the limiter implementation, validates platform names and resolves each platform's
 * limits (environment, or limiter_set_limits) once per handle. */
#include "queue/limiter.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "queue/limiter_impl.h"

int64_t limiter_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void limiter_base_init(limiter *l, const limiter_ops *ops) {
    l->ops = ops;
    pthread_mutex_init(&l->conf_mu, NULL);
    l->nconf = 0;
}

void limiter_base_destroy(limiter *l) { pthread_mutex_destroy(&l->conf_mu); }

int limiter_open(const char *url, limiter **out, cerr *e) {
    *out = NULL;
    if (!url || !*url || str_starts_with(url, "inproc://")) return limiter_inproc_open(out, e);
    if (str_starts_with(url, "redis://") || str_starts_with(url, "rediss://")) return limiter_redis_open(url, out, e);
    return cerr_set(e, CERR_INVALID, "unsupported limiter URL (expected redis://host:port/db)");
}

void limiter_close(limiter *l) {
    if (l) l->ops->close(l);
}

/* Platform names become parts of environment variable names and Redis keys: keep them plain. */
static int check_platform(const char *p, cerr *e) {
    size_t n = p ? strlen(p) : 0;
    if (n == 0 || n >= sizeof ((limiter_slot *)0)->platform)
        return cerr_set(e, CERR_INVALID, "platform name must be 1-31 characters");
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)p[i]) || isdigit((unsigned char)p[i]) || p[i] == '_'))
            return cerr_set(e, CERR_INVALID, "platform name '%s' may only hold a-z, 0-9 and _", p);
    return 0;
}

static int check_limits(const limiter_limits *lim, const char *platform, cerr *e) {
    if (!isfinite(lim->rate) || lim->rate > 1e6)
        return cerr_set(e, CERR_INVALID, "%s: rate must be between 0 and 1000000 requests/s", platform);
    if (lim->burst < 1 || lim->burst > 1000000)
        return cerr_set(e, CERR_INVALID, "%s: burst must be between 1 and 1000000", platform);
    if (lim->concurrency > 1000000)
        return cerr_set(e, CERR_INVALID, "%s: concurrency must be at most 1000000", platform);
    return 0;
}

static int env_number(const char *platform, const char *what, double *out, cerr *e) {
    char name[96];
    size_t k = (size_t)snprintf(name, sizeof name, "CHATTER_");
    for (const char *p = platform; *p && k < sizeof name - 1; p++) name[k++] = (char)toupper((unsigned char)*p);
    name[k] = '\0';
    if (sbprintf(name + k, sizeof name - k, "_%s", what)) return cerr_set(e, CERR_INVALID, "platform name too long");
    const char *s = getenv(name);
    if (!s || !*s) return 0;
    char *end;
    double v = strtod(s, &end);
    if (*end || !isfinite(v) || v < 0) return cerr_set(e, CERR_INVALID, "%s must be a non-negative number", name);
    *out = v;
    return 1;
}

static int limits_from_env(const char *platform, limiter_limits *lim, cerr *e) {
    double rate = 0, burst = 1, conc = 0;
    if (env_number(platform, "RATE", &rate, e) < 0 || env_number(platform, "BURST", &burst, e) < 0 ||
        env_number(platform, "CONCURRENCY", &conc, e) < 0)
        return -1;
    if (burst < 1 || burst > 1000000 || burst != floor(burst) || conc > 1000000 || conc != floor(conc))
        return cerr_set(e, CERR_INVALID, "%s: burst and concurrency must be whole numbers (burst >= 1)", platform);
    *lim = (limiter_limits){.rate = rate, .burst = (int)burst, .concurrency = (int)conc};
    return check_limits(lim, platform, e);
}

/* Caller holds conf_mu. */
static limiter_conf *find_conf(limiter *l, const char *platform) {
    for (int i = 0; i < l->nconf; i++)
        if (strcmp(l->conf[i].platform, platform) == 0) return &l->conf[i];
    return NULL;
}

static int store_conf(limiter *l, const char *platform, const limiter_limits *lim, cerr *e) {
    limiter_conf *c = find_conf(l, platform);
    if (!c) {
        if (l->nconf >= LIMITER_MAX_PLATFORMS)
            return cerr_set(e, CERR_TOOBIG, "more than %d platforms in the limiter", LIMITER_MAX_PLATFORMS);
        c = &l->conf[l->nconf++];
        snprintf(c->platform, sizeof c->platform, "%s", platform);
    }
    c->lim = *lim;
    return 0;
}

int limiter_set_limits(limiter *l, const char *platform, const limiter_limits *lim, cerr *e) {
    if (check_platform(platform, e) || check_limits(lim, platform, e)) return -1;
    pthread_mutex_lock(&l->conf_mu);
    int rc = store_conf(l, platform, lim, e);
    pthread_mutex_unlock(&l->conf_mu);
    return rc;
}

int limiter_get_limits(limiter *l, const char *platform, limiter_limits *out, cerr *e) {
    if (check_platform(platform, e)) return -1;
    pthread_mutex_lock(&l->conf_mu);
    limiter_conf *c = find_conf(l, platform);
    int rc = 0;
    if (c) *out = c->lim;
    else if ((rc = limits_from_env(platform, out, e)) == 0) rc = store_conf(l, platform, out, e);
    pthread_mutex_unlock(&l->conf_mu);
    return rc;
}

int limiter_acquire(limiter *l, const char *platform, limiter_slot *slot, int64_t *wait_ms, cerr *e) {
    limiter_limits lim;
    *wait_ms = 0;
    memset(slot, 0, sizeof *slot);
    if (limiter_get_limits(l, platform, &lim, e)) return -1;
    int rc = l->ops->acquire(l, platform, &lim, slot, wait_ms, e);
    if (rc == LIMITER_GO) snprintf(slot->platform, sizeof slot->platform, "%s", platform);
    else if (rc > 0 && *wait_ms < 1) *wait_ms = 1;
    return rc;
}

int limiter_release(limiter *l, const limiter_slot *slot, cerr *e) {
    if (!slot->platform[0]) return 0; /* never acquired (or already cleared by the caller) */
    return l->ops->release(l, slot, e);
}

int limiter_pause(limiter *l, const char *platform, int64_t until_unix, cerr *e) {
    if (check_platform(platform, e)) return -1;
    return l->ops->pause(l, platform, until_unix, e);
}

int limiter_resume(limiter *l, const char *platform, cerr *e) {
    if (check_platform(platform, e)) return -1;
    return l->ops->resume(l, platform, e);
}

int limiter_paused_until(limiter *l, const char *platform, int64_t *until_unix, cerr *e) {
    *until_unix = 0;
    if (check_platform(platform, e)) return -1;
    return l->ops->paused_until(l, platform, until_unix, e);
}
