#include "auth/jwks_cache.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/http.h"
#include "core/log.h"
#include "core/util.h"

enum key_kind { KIND_RSA = 1, KIND_EC_P256 = 2 };

typedef struct cached_key {
    jwk_t *jwk;
    char *kid;     /* NULL when the key has none */
    int kind;
    char alg[16];  /* the key's own "alg", "" when absent */
} cached_key;

struct jwks_cache {
    char *issuer;
    char *discovery_url;
    char *ca_file;
    bool insecure;
    int64_t min_refresh_ms, ttl_ms;
    long timeout_ms;

    /* Serialises fetches so one request at a time reaches the provider; held across network I/O,
     * never while holding mu. jwks_uri and discovery_ms change only with both locks held. */
    pthread_mutex_t fetch_mu;
    pthread_mutex_t mu; /* guards everything below; held only for lookups and swaps */
    char *jwks_uri;
    int64_t discovery_ms;
    cached_key keys[JWKS_MAX_KEYS];
    size_t nkeys;
    bool have_keys;
    int64_t keys_ms;    /* when the current set arrived */
    bool attempted;
    int64_t attempt_ms; /* last JWKS fetch attempt, success or not: the refetch rate limit */
    char last_error[sizeof(((cerr *)0)->msg)];
};

bool url_is_loopback(const char *url) {
    CURLU *u = curl_url();
    if (!u) return false;
    bool ok = false;
    char *scheme = NULL, *host = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0)) {
        struct in_addr a4;
        if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0) ok = true;
        else if (inet_pton(AF_INET, host, &a4) == 1) ok = (ntohl(a4.s_addr) >> 24) == 127;
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

/* https always; http only when the operator allowed it for a loopback test provider. */
static int check_url(const jwks_cache *c, const char *what, const char *url, cerr *e) {
    if (strncasecmp(url, "https://", 8) == 0) return 0;
    if (strncasecmp(url, "http://", 7) == 0) {
        if (c->insecure && url_is_loopback(url)) return 0;
        return cerr_set(e, CERR_INVALID, "%s must use https (plain http is allowed only for a loopback test provider)",
                        what);
    }
    return cerr_set(e, CERR_INVALID, "%s is not an http(s) URL", what);
}

static void free_keys(cached_key *keys, size_t n) {
    for (size_t i = 0; i < n; i++) {
        r_jwk_free(keys[i].jwk);
        free(keys[i].kid);
    }
}

int jwks_cache_new(const jwks_cache_config *cfg, jwks_cache **out, cerr *e) {
    *out = NULL;
    if (!cfg->issuer || !*cfg->issuer) return cerr_set(e, CERR_INVALID, "OIDC issuer is empty");
    jwks_cache *c = calloc(1, sizeof *c);
    if (!c) return cerr_set(e, CERR_NOMEM, "out of memory");
    c->insecure = cfg->allow_insecure_http;
    c->min_refresh_ms = cfg->min_refresh_ms;
    c->ttl_ms = cfg->ttl_ms;
    c->timeout_ms = cfg->http_timeout_ms;
    if (check_url(c, "OIDC issuer", cfg->issuer, e)) {
        free(c);
        return -1;
    }
    size_t n = strlen(cfg->issuer);
    while (n > 0 && cfg->issuer[n - 1] == '/') n--; /* Discovery §4.1: drop a trailing slash before appending */
    c->issuer = strdup(cfg->issuer);
    c->discovery_url = malloc(n + sizeof "/.well-known/openid-configuration");
    c->ca_file = cfg->ca_file && *cfg->ca_file ? strdup(cfg->ca_file) : NULL;
    if (!c->issuer || !c->discovery_url || (cfg->ca_file && *cfg->ca_file && !c->ca_file)) {
        jwks_cache_free(c);
        return cerr_set(e, CERR_NOMEM, "out of memory");
    }
    memcpy(c->discovery_url, cfg->issuer, n);
    strcpy(c->discovery_url + n, "/.well-known/openid-configuration");
    pthread_mutex_init(&c->fetch_mu, NULL);
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return 0;
}

void jwks_cache_free(jwks_cache *c) {
    if (!c) return;
    if (c->discovery_url) { /* mutexes exist only past that point */
        pthread_mutex_destroy(&c->fetch_mu);
        pthread_mutex_destroy(&c->mu);
    }
    free_keys(c->keys, c->nkeys);
    free(c->issuer);
    free(c->discovery_url);
    free(c->ca_file);
    free(c->jwks_uri);
    free(c);
}

/* GETs a JSON object, size- and time-capped. */
static int fetch_json(const jwks_cache *c, const char *what, const char *url, json_t **out, cerr *e) {
    http_request req = {.url = url, .timeout_ms = c->timeout_ms, .max_body = JWKS_MAX_DOC, .ca_file = c->ca_file,
                        .headers = {"Accept: application/json"}};
    http_response r;
    http_response_init(&r);
    int rc = http_do(&req, &r, e);
    if (rc) {
        cerr_wrap(e, "fetching the %s", what);
    } else if (r.status != 200) {
        rc = cerr_set(e, CERR_UPSTREAM, "fetching the %s: HTTP %ld", what, r.status);
    } else {
        json_error_t je;
        *out = json_loadb(r.body.data, r.body.len, JSON_REJECT_DUPLICATES, &je);
        if (!*out || !json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
            rc = cerr_set(e, CERR_UPSTREAM, "the %s is not a JSON object", what);
        }
    }
    http_response_free(&r);
    return rc;
}

static int fetch_discovery(jwks_cache *c, cerr *e) {
    json_t *doc = NULL;
    if (fetch_json(c, "OIDC discovery document", c->discovery_url, &doc, e)) return -1;
    int rc = 0;
    const char *iss = json_string_value(json_object_get(doc, "issuer"));
    const char *uri = json_string_value(json_object_get(doc, "jwks_uri"));
    /* Discovery §4.3: a document naming another issuer is not this provider's (mix-up / misconfiguration). */
    if (!iss || strcmp(iss, c->issuer) != 0) {
        rc = cerr_set(e, CERR_UPSTREAM, "discovery document names issuer \"%.100s\", configured \"%.100s\"",
                      iss ? iss : "(none)", c->issuer);
    } else if (!uri || !*uri || strlen(uri) > 2000) {
        rc = cerr_set(e, CERR_UPSTREAM, "discovery document has no usable jwks_uri");
    } else if (check_url(c, "jwks_uri", uri, e)) {
        rc = -1;
        e->code = CERR_UPSTREAM;
    } else {
        char *copy = strdup(uri);
        if (!copy) {
            rc = cerr_set(e, CERR_NOMEM, "out of memory");
        } else {
            pthread_mutex_lock(&c->mu);
            free(c->jwks_uri);
            c->jwks_uri = copy;
            c->discovery_ms = now_ms();
            pthread_mutex_unlock(&c->mu);
        }
    }
    json_decref(doc);
    return rc;
}

/* Builds a cache entry for one JWK, or returns false for keys that cannot verify RS256/PS256/ES256
 * (encryption keys, private or symmetric keys, RSA under 2048 bits, curves other than P-256). */
static bool make_key(json_t *jk, cached_key *out) {
    if (!json_is_object(jk)) return false;
    const char *use = json_string_value(json_object_get(jk, "use"));
    if (use && strcmp(use, "sig") != 0) return false;
    json_t *ops = json_object_get(jk, "key_ops");
    if (ops) {
        bool verify = false;
        size_t i;
        json_t *op;
        json_array_foreach(ops, i, op) if (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0) verify = true;
        if (!verify) return false;
    }
    const char *alg = json_string_value(json_object_get(jk, "alg"));
    if (alg && strlen(alg) >= sizeof out->alg) return false;
    json_t *kid = json_object_get(jk, "kid");
    if (kid && (!json_is_string(kid) || json_string_length(kid) > 256)) return false;

    /* the key is imported without its remote references: they would make rhonabwy download things */
    json_t *clean = json_deep_copy(jk);
    if (!clean) return false;
    json_object_del(clean, "x5u");
    jwk_t *jwk = NULL;
    bool ok = false;
    if (r_jwk_init(&jwk) == RHN_OK && r_jwk_import_from_json_t(jwk, clean) == RHN_OK) {
        unsigned int bits = 0;
        int t = r_jwk_key_type(jwk, &bits, R_FLAG_IGNORE_REMOTE);
        const char *crv = json_string_value(json_object_get(jk, "crv"));
        memset(out, 0, sizeof *out);
        if ((t & R_KEY_TYPE_PUBLIC) && (t & R_KEY_TYPE_RSA) && bits >= 2048) out->kind = KIND_RSA;
        else if ((t & R_KEY_TYPE_PUBLIC) && (t & R_KEY_TYPE_EC) && crv && strcmp(crv, "P-256") == 0) out->kind = KIND_EC_P256;
        if (out->kind) {
            out->kid = kid ? strdup(json_string_value(kid)) : NULL;
            ok = !kid || out->kid;
            if (ok) {
                out->jwk = jwk;
                if (alg) strcpy(out->alg, alg);
            }
        }
    }
    if (!ok) r_jwk_free(jwk);
    json_decref(clean);
    return ok;
}

static int fetch_keys(jwks_cache *c, cerr *e) {
    json_t *doc = NULL;
    if (fetch_json(c, "JWKS", c->jwks_uri, &doc, e)) return -1;
    json_t *arr = json_object_get(doc, "keys");
    if (!json_is_array(arr)) {
        json_decref(doc);
        return cerr_set(e, CERR_UPSTREAM, "the JWKS has no \"keys\" array");
    }
    cached_key fresh[JWKS_MAX_KEYS];
    size_t n = 0, skipped = 0, i;
    json_t *jk;
    json_array_foreach(arr, i, jk) {
        if (n == JWKS_MAX_KEYS) {
            skipped += json_array_size(arr) - i;
            break;
        }
        if (make_key(jk, &fresh[n])) n++;
        else skipped++;
    }
    json_decref(doc);
    if (skipped) log_debug("oidc: ignored %zu JWKS entries that cannot verify RS256/PS256/ES256", skipped);

    pthread_mutex_lock(&c->mu);
    cached_key old[JWKS_MAX_KEYS];
    size_t nold = c->nkeys;
    memcpy(old, c->keys, nold * sizeof *old);
    memcpy(c->keys, fresh, n * sizeof *fresh);
    c->nkeys = n;
    c->have_keys = true;
    c->keys_ms = now_ms();
    pthread_mutex_unlock(&c->mu);
    free_keys(old, nold);
    log_info("oidc: loaded %zu signing keys from the provider", n);
    return 0;
}

/* Called with fetch_mu held. */
static int refresh(jwks_cache *c, cerr *e) {
    if (!c->jwks_uri || now_ms() - c->discovery_ms >= c->ttl_ms) {
        if (fetch_discovery(c, e)) {
            if (!c->jwks_uri) return -1;
            log_warn("oidc: keeping the cached jwks_uri: %s", e->msg);
        }
    }
    return fetch_keys(c, e);
}

static bool alg_fits(const cached_key *k, const char *alg) {
    if (k->alg[0] && strcmp(k->alg, alg) != 0) return false;
    if (strcmp(alg, "ES256") == 0) return k->kind == KIND_EC_P256;
    return k->kind == KIND_RSA; /* RS256, PS256: the caller allows nothing else */
}

/* Called with mu held. 1 = found (copied into *out), 0 = not found, -1 = out of memory. */
static int find_key(jwks_cache *c, const char *kid, const char *alg, jwk_t **out) {
    const cached_key *hit = NULL;
    if (kid) {
        for (size_t i = 0; i < c->nkeys; i++) {
            if (c->keys[i].kid && strcmp(c->keys[i].kid, kid) == 0 && alg_fits(&c->keys[i], alg)) {
                hit = &c->keys[i];
                break;
            }
        }
    } else {
        /* no kid: unambiguous only when exactly one key fits */
        size_t fits = 0;
        for (size_t i = 0; i < c->nkeys; i++) {
            if (alg_fits(&c->keys[i], alg)) {
                hit = &c->keys[i];
                fits++;
            }
        }
        if (fits != 1) hit = NULL;
    }
    if (!hit) return 0;
    *out = r_jwk_copy(hit->jwk);
    return *out ? 1 : -1;
}

int jwks_cache_get_key(jwks_cache *c, const char *kid, const char *alg, jwk_t **out, cerr *e) {
    *out = NULL;
    pthread_mutex_lock(&c->mu);
    bool fresh = c->have_keys && now_ms() - c->keys_ms < c->ttl_ms;
    int found = c->have_keys ? find_key(c, kid, alg, out) : 0;
    pthread_mutex_unlock(&c->mu);
    if (found < 0) return cerr_set(e, CERR_NOMEM, "out of memory");
    if (found && fresh) return 0;
    if (found) { /* stale: try a refresh below, keep this copy as the fallback */
        r_jwk_free(*out);
        *out = NULL;
    }

    pthread_mutex_lock(&c->fetch_mu);
    pthread_mutex_lock(&c->mu);
    /* another thread may have refreshed while this one waited for fetch_mu */
    fresh = c->have_keys && now_ms() - c->keys_ms < c->ttl_ms;
    found = c->have_keys ? find_key(c, kid, alg, out) : 0;
    bool may_fetch = false;
    if (found == 0 || !fresh) {
        int64_t now = now_ms();
        may_fetch = !c->attempted || now - c->attempt_ms >= c->min_refresh_ms;
        if (may_fetch) {
            c->attempted = true;
            c->attempt_ms = now;
        }
    }
    pthread_mutex_unlock(&c->mu);

    if (found == 1 && !fresh && may_fetch) {
        r_jwk_free(*out);
        *out = NULL;
        found = 0;
    }
    if (found == 0 && may_fetch) {
        cerr fe = {0};
        int rc = refresh(c, &fe);
        pthread_mutex_lock(&c->mu);
        if (rc) {
            snprintf(c->last_error, sizeof c->last_error, "%s", fe.msg);
            log_warn("oidc: cannot refresh the provider's keys: %s", fe.msg);
        } else {
            c->last_error[0] = '\0';
        }
        if (c->have_keys) found = find_key(c, kid, alg, out);
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&c->fetch_mu);

    if (found < 0) return cerr_set(e, CERR_NOMEM, "out of memory");
    if (found) return 0;
    pthread_mutex_lock(&c->mu);
    bool have = c->have_keys;
    char why[sizeof c->last_error];
    memcpy(why, c->last_error, sizeof why);
    pthread_mutex_unlock(&c->mu);
    if (!have) return cerr_set(e, CERR_NETWORK, "the identity provider's keys are unavailable: %s", why[0] ? why : "fetch pending");
    return cerr_set(e, CERR_NOTFOUND, kid ? "unknown kid: the provider publishes no matching %s key"
                                          : "token has no kid and the provider has no single %s key", alg);
}
