/* oidc.h - verifies OIDC/OAuth 2 JWT access tokens (RFC 9068) for the HTTP API.
 *
 * One verifier per process, shared by every HTTP thread. It fetches the provider's discovery document
 * and JWKS lazily (first verify), caches them, and refetches the JWKS when a token names an unknown
 * `kid`, at most once per jwks_min_refresh_s, so forged kids cannot hammer the provider.
 * Only RS256, PS256 and ES256 are accepted; signatures are checked by librhonabwy (GnuTLS). */
#ifndef CHATTER_AUTH_OIDC_H
#define CHATTER_AUTH_OIDC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define OIDC_MAX_TOKEN 16384 /* bytes of the compact JWT; larger Authorization values are refused unparsed */

typedef struct oidc_config {
    const char *issuer;      /* required; must equal the discovery `issuer` and every token's `iss` exactly */
    const char *audience;    /* required; must appear in `aud` (string or array) */
    long leeway_s;           /* clock skew for exp/nbf/iat; 0 = default 60; negative = none */
    const char *admin_claim; /* optional claim (dotted path, e.g. "roles" or "realm_access.roles") */
    const char *admin_value; /* the value in admin_claim (string, array element or space-separated word) */
    bool require_at_jwt_typ; /* insist on typ "at+jwt" (RFC 9068); many providers send "JWT" */
    long jwks_min_refresh_s; /* minimum gap between JWKS fetches; 0 = default 10 */
    long discovery_ttl_s;    /* how long discovery and JWKS are trusted before a refetch; 0 = default 3600 */
    const char *ca_file;     /* optional CA bundle (PEM) for the provider's TLS certificate */
    /* Allows http:// for an issuer on a loopback address (127.0.0.1, ::1, localhost) only, for tests
     * against a local provider. Any other http:// issuer is refused even with this set. */
    bool allow_insecure_http;
    long http_timeout_ms;    /* per provider request; 0 = default 5000 */
} oidc_config;

typedef struct auth_identity {
    char owner[256]; /* issuer + "|" + sub: the job owner key */
    char sub[128];
    bool admin;
} auth_identity;

typedef struct oidc_verifier oidc_verifier;

/* Validates and copies cfg (strings are duplicated). Does no network I/O. */
int oidc_verifier_new(const oidc_config *cfg, oidc_verifier **out, cerr *e) CH_MUST_USE;
void oidc_verifier_free(oidc_verifier *v);

/* Checks `authorization`, the raw Authorization header value (may be NULL). Thread-safe.
 * On success fills *out and returns 0. On failure returns -1, fills www_authenticate with the value for a
 * `WWW-Authenticate` header (RFC 6750; never contains the token) and e with the reason, also free of the
 * token, suitable for the log:
 *   e->code == CERR_INVALID  -> the token (or its absence) is the problem: answer 401;
 *   anything else            -> the provider could not be reached or sent garbage: answer 503. */
int oidc_verify(oidc_verifier *v, const char *authorization, auth_identity *out, char *www_authenticate,
                size_t cap, cerr *e) CH_MUST_USE;

/* Fills cfg from OIDC_ISSUER, OIDC_AUDIENCE, OIDC_LEEWAY_S, OIDC_ADMIN_CLAIM, OIDC_ADMIN_VALUE,
 * OIDC_REQUIRE_AT_JWT, OIDC_JWKS_MIN_REFRESH_S, OIDC_DISCOVERY_TTL_S, OIDC_CA_FILE. The strings point into
 * the environment. Returns 0 with *enabled = false when OIDC_ISSUER is unset; -1 on a malformed value. */
int oidc_config_from_env(oidc_config *cfg, bool *enabled, cerr *e) CH_MUST_USE;

#endif
