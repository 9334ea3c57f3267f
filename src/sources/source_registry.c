/* source_registry.c - which source serves a platform, and the settings every source reads. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "sources/apify.h"
#include "sources/instagram.h"
#include "sources/source.h"
#include "sources/tiktok.h"
#include "sources/youtube.h"

/* One line per (platform, provider) implementation. */
static const struct {
    platform p;
    const char *provider;
    const source_ops *ops;
} registry[] = {
    {PLATFORM_YOUTUBE, "official", &youtube_source_ops},
    {PLATFORM_TIKTOK, "official", &tiktok_source_ops},
    {PLATFORM_INSTAGRAM, "official", &instagram_source_ops},
    {PLATFORM_YOUTUBE, "apify", &apify_source_ops},
    {PLATFORM_TIKTOK, "apify", &apify_source_ops},
    {PLATFORM_INSTAGRAM, "apify", &apify_source_ops},
};

const source_ops *source_for(const source_settings *s, platform p) {
    if ((int)p <= PLATFORM_NONE || p >= PLATFORM_COUNT) return NULL;
    const char *provider = s && s->provider[p] && *s->provider[p] ? s->provider[p] : "official";
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
        if (registry[i].p == p && strcmp(registry[i].provider, provider) == 0) return registry[i].ops;
    return NULL;
}

static int own(source_settings *s, char *str, const char **field, cerr *e) {
    if (!str) return 0;
    for (size_t i = 0; i < sizeof s->owned_ / sizeof s->owned_[0]; i++) {
        if (!s->owned_[i]) {
            s->owned_[i] = str;
            *field = str;
            return 0;
        }
    }
    free(str);
    return cerr_set(e, CERR_INTERNAL, "too many settings strings");
}

static int secret(source_settings *s, const char *name, const char **field, cerr *e) {
    char *v = NULL;
    if (env_secret(name, &v, e)) return -1;
    return own(s, v, field, e);
}

/* An API base URL: http(s) only, trailing slashes dropped so paths can be appended. */
static int api_url(source_settings *s, const char *name, const char **field, cerr *e) {
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    if (!str_starts_with(v, "https://") && !str_starts_with(v, "http://"))
        return cerr_set(e, CERR_INVALID, "%s must be an http(s) URL", name);
    size_t n = strlen(v);
    while (n && v[n - 1] == '/') n--;
    if (n >= 1024) return cerr_set(e, CERR_INVALID, "%s is too long", name);
    char *copy = xstrndup(v, n);
    if (!copy) return cerr_set(e, CERR_NOMEM, "out of memory");
    return own(s, copy, field, e);
}

static int env_range(const char *name, int64_t lo, int64_t hi, int64_t *out, cerr *e) {
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    int64_t x;
    if (parse_i64(v, &x) || x < lo || x > hi)
        return cerr_set(e, CERR_INVALID, "%s must be a whole number from %lld to %lld", name, (long long)lo, (long long)hi);
    *out = x;
    return 0;
}

int source_settings_defaults(source_settings *s, cerr *e) {
    memset(s, 0, sizeof *s);
    s->youtube_api_url = "https://www.googleapis.com/youtube/v3";
    s->tiktok_api_url = "https://open.tiktokapis.com";
    s->instagram_api_url = "https://graph.facebook.com/v19.0";
    s->apify_api_url = "https://api.apify.com";
    for (int p = 0; p < PLATFORM_COUNT; p++) s->provider[p] = "official";
    s->request_timeout_ms = 30000;
    s->max_retries = 4;
    s->retry_base_ms = 500;
    s->retry_max_ms = 30000;

    int64_t timeout = s->request_timeout_ms, retries = s->max_retries;
    if (secret(s, "YOUTUBE_API_KEY", &s->youtube_api_key, e) || secret(s, "TIKTOK_CLIENT_KEY", &s->tiktok_client_key, e) ||
        secret(s, "TIKTOK_CLIENT_SECRET", &s->tiktok_client_secret, e) ||
        secret(s, "INSTAGRAM_ACCESS_TOKEN", &s->instagram_access_token, e) ||
        secret(s, "INSTAGRAM_ACCOUNT_ID", &s->instagram_account_id, e) || secret(s, "APIFY_TOKEN", &s->apify_token, e) ||
        api_url(s, "CHATTER_YOUTUBE_API_URL", &s->youtube_api_url, e) ||
        api_url(s, "CHATTER_TIKTOK_API_URL", &s->tiktok_api_url, e) ||
        api_url(s, "CHATTER_INSTAGRAM_API_URL", &s->instagram_api_url, e) ||
        api_url(s, "CHATTER_APIFY_API_URL", &s->apify_api_url, e) ||
        env_range("CHATTER_HTTP_TIMEOUT_MS", 100, 3600000, &timeout, e) ||
        env_range("CHATTER_HTTP_RETRIES", 0, 20, &retries, e))
        goto fail;
    s->request_timeout_ms = (long)timeout;
    s->max_retries = (int)retries;

    static const char *const provider_env[PLATFORM_COUNT] = {
        [PLATFORM_YOUTUBE] = "CHATTER_YOUTUBE_PROVIDER",
        [PLATFORM_TIKTOK] = "CHATTER_TIKTOK_PROVIDER",
        [PLATFORM_INSTAGRAM] = "CHATTER_INSTAGRAM_PROVIDER",
    };
    for (int p = PLATFORM_NONE + 1; p < PLATFORM_COUNT; p++) {
        const char *v = getenv(provider_env[p]);
        if (!v || !*v) continue;
        if (strcasecmp(v, "official") == 0) s->provider[p] = "official";
        else if (strcasecmp(v, "apify") == 0) s->provider[p] = "apify";
        else {
            cerr_set(e, CERR_INVALID, "%s must be 'official' or 'apify'", provider_env[p]);
            goto fail;
        }
    }
    return 0;
fail:
    source_settings_free(s);
    return -1;
}

void source_settings_free(source_settings *s) {
    if (!s) return;
    for (size_t i = 0; i < sizeof s->owned_ / sizeof s->owned_[0]; i++) {
        if (!s->owned_[i]) continue;
        /* secrets are wiped before the memory goes back to the allocator */
        memset(s->owned_[i], 0, strlen(s->owned_[i]));
        free(s->owned_[i]);
        s->owned_[i] = NULL;
    }
    memset(s, 0, sizeof *s); /* the fields may point at what was just freed */
}
