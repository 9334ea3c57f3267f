#include "auth/oidc.h"

#include <jansson.h>
#include <rhonabwy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/claims.h"
#include "auth/jwks_cache.h"
#include "core/util.h"

struct oidc_verifier {
    char *issuer, *audience, *admin_claim, *admin_value;
    int64_t leeway_s;
    bool require_at_jwt_typ;
    jwks_cache *keys;
};

#define MAX_LEEWAY_S 600 /* RFC 8725 / platform notes: a few minutes at most */

int oidc_verifier_new(const oidc_config *cfg, oidc_verifier **out, cerr *e) {
    *out = NULL;
    if (!cfg->issuer || !*cfg->issuer) return cerr_set(e, CERR_INVALID, "OIDC issuer is not set");
    if (!cfg->audience || !*cfg->audience) return cerr_set(e, CERR_INVALID, "OIDC audience is not set (OIDC_AUDIENCE)");
    if (cfg->leeway_s > MAX_LEEWAY_S) return cerr_set(e, CERR_INVALID, "OIDC leeway %lds is over the %ds maximum", cfg->leeway_s, MAX_LEEWAY_S);
    if ((cfg->admin_claim && *cfg->admin_claim) != (cfg->admin_value && *cfg->admin_value))
        return cerr_set(e, CERR_INVALID, "OIDC admin claim and admin value must be set together");
    if (cfg->jwks_min_refresh_s < 0 || cfg->discovery_ttl_s < 0 || cfg->http_timeout_ms < 0)
        return cerr_set(e, CERR_INVALID, "OIDC refresh intervals and timeouts must not be negative");

    jwks_cache_config kc = {
        .issuer = cfg->issuer,
        .allow_insecure_http = cfg->allow_insecure_http,
        .ca_file = cfg->ca_file,
        .min_refresh_ms = (cfg->jwks_min_refresh_s ? cfg->jwks_min_refresh_s : 10) * 1000,
        .ttl_ms = (int64_t)(cfg->discovery_ttl_s ? cfg->discovery_ttl_s : 3600) * 1000,
        .http_timeout_ms = cfg->http_timeout_ms ? cfg->http_timeout_ms : 5000,
    };
    oidc_verifier *v = calloc(1, sizeof *v);
    if (!v) return cerr_set(e, CERR_NOMEM, "out of memory");
    if (jwks_cache_new(&kc, &v->keys, e)) {
        free(v);
        return -1;
    }
    v->issuer = strdup(cfg->issuer);
    v->audience = strdup(cfg->audience);
    bool admin = cfg->admin_claim && *cfg->admin_claim;
    v->admin_claim = admin ? strdup(cfg->admin_claim) : NULL;
    v->admin_value = admin ? strdup(cfg->admin_value) : NULL;
    v->leeway_s = cfg->leeway_s == 0 ? 60 : cfg->leeway_s < 0 ? 0 : cfg->leeway_s;
    v->require_at_jwt_typ = cfg->require_at_jwt_typ;
    if (!v->issuer || !v->audience || (admin && (!v->admin_claim || !v->admin_value))) {
        oidc_verifier_free(v);
        return cerr_set(e, CERR_NOMEM, "out of memory");
    }
    *out = v;
    return 0;
}

void oidc_verifier_free(oidc_verifier *v) {
    if (!v) return;
    jwks_cache_free(v->keys);
    free(v->issuer);
    free(v->audience);
    free(v->admin_claim);
    free(v->admin_value);
    free(v);
}

/* Fills the challenge and the log reason. `desc` is always one of our fixed strings: RFC 6750 limits its
 * characters, and echoing anything from the request would leak or inject. */
static int reject(char *www, size_t cap, cerr *e, const char *error, const char *desc) {
    if (www && cap) {
        if (error) snprintf(www, cap, "Bearer realm=\"chatter\", error=\"%s\", error_description=\"%s\"", error, desc);
        else snprintf(www, cap, "Bearer realm=\"chatter\"");
    }
    return cerr_set(e, CERR_INVALID, "bearer token rejected: %s", desc);
}

static bool b64url_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* JWS compact serialization: three non-empty base64url parts. Anything else (JWE, padding, spaces, a
 * second token) is refused before a parser sees it. */
static bool compact_jws_shape(const char *t, size_t n) {
    size_t dots = 0, part = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '.') {
            if (part == 0) return false;
            dots++;
            part = 0;
        } else if (b64url_char(t[i])) {
            part++;
        } else {
            return false;
        }
    }
    return dots == 2 && part > 0;
}

/* rhonabwy hands out deep copies of header values */
static bool header_has(jwt_t *jwt, const char *name) {
    json_t *v = r_jwt_get_header_json_t_value(jwt, name);
    json_decref(v);
    return v != NULL;
}

static const char *ALLOWED_ALGS[] = {"RS256", "PS256", "ES256"};

static bool alg_allowed(const char *alg) {
    for (size_t i = 0; i < sizeof ALLOWED_ALGS / sizeof *ALLOWED_ALGS; i++)
        if (strcmp(alg, ALLOWED_ALGS[i]) == 0) return true;
    return false;
}

int oidc_verify(oidc_verifier *v, const char *authorization, auth_identity *out, char *www, size_t cap, cerr *e) {
    memset(out, 0, sizeof *out);
    if (www && cap) www[0] = '\0';
    if (!authorization || !*authorization) return reject(www, cap, e, NULL, "no bearer token");
    /* Size first: nothing below may scan or decode an arbitrarily long attacker-chosen value. */
    size_t alen = strnlen(authorization, OIDC_MAX_TOKEN + 64);
    if (alen >= OIDC_MAX_TOKEN + 64) return reject(www, cap, e, "invalid_token", "token too large");
    if (alen < 7 || strncasecmp(authorization, "Bearer ", 7) != 0)
        return reject(www, cap, e, "invalid_request", "authorization scheme must be Bearer");
    const char *tok = authorization + 7;
    while (*tok == ' ') tok++;
    size_t n = strlen(tok);
    while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t')) n--;
    if (n == 0) return reject(www, cap, e, "invalid_request", "empty bearer token");
    if (n > OIDC_MAX_TOKEN) return reject(www, cap, e, "invalid_token", "token too large");
    if (!compact_jws_shape(tok, n)) return reject(www, cap, e, "invalid_token", "malformed token");

    jwt_t *jwt = NULL;
    jwk_t *key = NULL;
    char *claims = NULL;
    int rc = -1;
    if (r_jwt_init(&jwt) != RHN_OK) return cerr_set(e, CERR_NOMEM, "out of memory");
    /* R_PARSE_UNSIGNED only so that alg "none" parses and is refused below by name; jwk/jku/x5c/x5u headers
     * are left alone (R_PARSE_HEADER_* unset), and IGNORE_REMOTE forbids any download. */
    if (r_jwt_advanced_parsen(jwt, tok, n, R_PARSE_UNSIGNED, R_FLAG_IGNORE_REMOTE) != RHN_OK) {
        rc = reject(www, cap, e, "invalid_token", "malformed token");
        goto done;
    }
    const char *alg = r_jwt_get_header_str_value(jwt, "alg");
    const char *typ = r_jwt_get_header_str_value(jwt, "typ");
    const char *kid = r_jwt_get_header_str_value(jwt, "kid");
    if (!alg) {
        rc = reject(www, cap, e, "invalid_token", "token has no alg");
    } else if (strcmp(alg, "none") == 0) {
        rc = reject(www, cap, e, "invalid_token", "unsigned tokens (alg none) are not accepted");
    } else if (!alg_allowed(alg) || r_jwt_get_type(jwt) != R_JWT_TYPE_SIGN) {
        rc = reject(www, cap, e, "invalid_token", "token alg not allowed (RS256, PS256, ES256 only)");
    } else if (header_has(jwt, "crit")) {
        /* RFC 7515 §4.1.11: we understand no extension, so a token that marks one critical is refused */
        rc = reject(www, cap, e, "invalid_token", "token has critical header extensions");
    } else if (v->require_at_jwt_typ &&
               (!typ || (strcasecmp(typ, "at+jwt") != 0 && strcasecmp(typ, "application/at+jwt") != 0))) {
        rc = reject(www, cap, e, "invalid_token", "token typ is not at+jwt");
    } else if (header_has(jwt, "kid") && !kid) {
        rc = reject(www, cap, e, "invalid_token", "token kid is not a string");
    } else {
        cerr ke = {0};
        if (jwks_cache_get_key(v->keys, kid, alg, &key, &ke)) {
            if (ke.code == CERR_NOTFOUND) {
                rc = reject(www, cap, e, "invalid_token", "unknown signing key");
            } else {
                if (www && cap) snprintf(www, cap, "Bearer realm=\"chatter\"");
                *e = ke;
                rc = -1;
            }
        } else if (r_jwt_verify_signature(jwt, key, R_FLAG_IGNORE_REMOTE) != RHN_OK) {
            rc = reject(www, cap, e, "invalid_token", "bad signature");
        } else if (!(claims = r_jwt_get_full_claims_str(jwt))) {
            rc = reject(www, cap, e, "invalid_token", "malformed token claims");
        } else {
            claims_policy p = {.issuer = v->issuer, .audience = v->audience, .leeway_s = v->leeway_s,
                               .admin_claim = v->admin_claim, .admin_value = v->admin_value};
            const char *reason = NULL;
            if (claims_check(claims, &p, now_unix(), out, &reason)) rc = reject(www, cap, e, "invalid_token", reason);
            else rc = 0;
        }
    }
done:
    r_free(claims);
    r_jwk_free(key);
    r_jwt_free(jwt);
    return rc;
}

static int env_long(const char *name, long lo, long hi, long *out, cerr *e) {
    const char *s = getenv(name);
    if (!s || !*s) return 0;
    int64_t x;
    if (parse_i64(s, &x) || x < lo || x > hi) return cerr_set(e, CERR_INVALID, "%s must be an integer from %ld to %ld", name, lo, hi);
    *out = (long)x;
    return 0;
}

static bool env_flag(const char *name) {
    const char *s = getenv(name);
    return s && (strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0);
}

int oidc_config_from_env(oidc_config *cfg, bool *enabled, cerr *e) {
    memset(cfg, 0, sizeof *cfg);
    *enabled = false;
    const char *iss = getenv("OIDC_ISSUER");
    if (!iss || !*iss) return 0;
    cfg->issuer = iss;
    cfg->audience = getenv("OIDC_AUDIENCE");
    cfg->admin_claim = getenv("OIDC_ADMIN_CLAIM");
    cfg->admin_value = getenv("OIDC_ADMIN_VALUE");
    cfg->ca_file = getenv("OIDC_CA_FILE");
    cfg->require_at_jwt_typ = env_flag("OIDC_REQUIRE_AT_JWT");
    cfg->allow_insecure_http = env_flag("OIDC_ALLOW_INSECURE_HTTP");
    long leeway = 60;
    if (env_long("OIDC_LEEWAY_S", 0, MAX_LEEWAY_S, &leeway, e)) return -1;
    cfg->leeway_s = leeway == 0 ? -1 : leeway; /* in the struct 0 means "default"; in the env it means none */
    if (env_long("OIDC_JWKS_MIN_REFRESH_S", 1, 86400, &cfg->jwks_min_refresh_s, e)) return -1;
    if (env_long("OIDC_DISCOVERY_TTL_S", 1, 7 * 86400, &cfg->discovery_ttl_s, e)) return -1;
    if (!cfg->audience || !*cfg->audience) return cerr_set(e, CERR_INVALID, "OIDC_ISSUER is set but OIDC_AUDIENCE is not");
    *enabled = true;
    return 0;
}
