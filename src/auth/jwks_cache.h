/* jwks_cache.h - the provider's discovery document and signing keys, fetched lazily and shared by threads.
 * Internal to auth/: oidc.c is its only caller. */
#ifndef CHATTER_AUTH_JWKS_CACHE_H
#define CHATTER_AUTH_JWKS_CACHE_H

#include <rhonabwy.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#define JWKS_MAX_DOC (256u * 1024u) /* discovery and JWKS bodies */
#define JWKS_MAX_KEYS 64

typedef struct jwks_cache jwks_cache;

typedef struct jwks_cache_config {
    const char *issuer;
    bool allow_insecure_http; /* loopback issuers and JWKS URIs only */
    const char *ca_file;
    int64_t min_refresh_ms;
    int64_t ttl_ms;
    long http_timeout_ms;
} jwks_cache_config;

int jwks_cache_new(const jwks_cache_config *cfg, jwks_cache **out, cerr *e) CH_MUST_USE;
void jwks_cache_free(jwks_cache *c);

/* Finds the key for a token signed with `alg` ("RS256", "PS256" or "ES256") naming `kid` (NULL when the
 * token has none: then the set must hold exactly one suitable key). Fetches discovery/JWKS when needed.
 * On success *out is a private copy the caller frees with r_jwk_free.
 * Errors: CERR_NOTFOUND (no such key, even after an allowed refetch), CERR_NETWORK / CERR_UPSTREAM
 * (provider unreachable or answering garbage, and no usable cached keys). */
int jwks_cache_get_key(jwks_cache *c, const char *kid, const char *alg, jwk_t **out, cerr *e) CH_MUST_USE;

/* True when url is http:// or https:// on 127.0.0.0/8, ::1 or localhost. */
bool url_is_loopback(const char *url);

#endif
