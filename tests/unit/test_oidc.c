/* test_oidc.c - the OIDC verifier against a fake provider served from this process (libmicrohttpd on
 * 127.0.0.1, random port), with RSA and EC keys generated here. Covers the bad-token matrix of issue 6,
 * the JWKS refetch rate limit (counted at the fake), key rotation, the admin claim and concurrency.
 *
 * Second mode, used by tests/integration/test_oidc_glewlwyd.sh against a real provider:
 *   test_oidc --verify [TOKEN...]  config from OIDC_* env vars; tokens from argv or one per stdin line. Prints
 *                                  "ok OWNER admin=0|1" or "rejected CODE WWW-AUTHENTICATE (REASON)" per token;
 *                                  exit 0 iff all were accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <rhonabwy.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/oidc.h"
#include "core/http.h"
#include "core/util.h"

/* ---------- fake provider ---------- */

typedef struct fake_idp {
    struct MHD_Daemon *d;
    char issuer[64];
    pthread_mutex_t mu;
    char *jwks;                /* served at /jwks; guarded by mu */
    char doc_issuer[128];      /* issuer written into the discovery document ("" = the real one) */
    atomic_int discovery_hits, jwks_hits;
} fake_idp;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version, (void)upload, (void)upload_size, (void)con_cls;
    fake_idp *f = cls;
    char *body = NULL;
    unsigned status = MHD_HTTP_OK;
    if (strcmp(method, "GET") != 0) {
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
        body = strdup("{}");
    } else if (strcmp(url, "/.well-known/openid-configuration") == 0) {
        atomic_fetch_add(&f->discovery_hits, 1);
        pthread_mutex_lock(&f->mu);
        const char *iss = f->doc_issuer[0] ? f->doc_issuer : f->issuer;
        size_t n = strlen(iss) + strlen(f->issuer) + 128;
        body = malloc(n);
        snprintf(body, n, "{\"issuer\":\"%s\",\"jwks_uri\":\"%s/jwks\",\"id_token_signing_alg_values_supported\":[\"RS256\"]}",
                 iss, f->issuer);
        pthread_mutex_unlock(&f->mu);
    } else if (strcmp(url, "/jwks") == 0) {
        atomic_fetch_add(&f->jwks_hits, 1);
        pthread_mutex_lock(&f->mu);
        body = strdup(f->jwks ? f->jwks : "{\"keys\":[]}");
        pthread_mutex_unlock(&f->mu);
    } else {
        status = MHD_HTTP_NOT_FOUND;
        body = strdup("{}");
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static fake_idp *fake_start(void) {
    fake_idp *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, f, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_CONNECTION_TIMEOUT, 5u, MHD_OPTION_END);
    assert_non_null(f->d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(f->issuer, sizeof f->issuer, "http://127.0.0.1:%u", (unsigned)info->port);
    return f;
}

static void fake_stop(fake_idp *f) {
    MHD_stop_daemon(f->d);
    pthread_mutex_destroy(&f->mu);
    free(f->jwks);
    free(f);
}

/* ---------- keys and tokens ---------- */

typedef struct keypair {
    jwk_t *priv, *pub;
} keypair;

typedef struct world {
    fake_idp *idp;
    keypair rsa1, rsa2, ec1, other, small;
} world;

static keypair gen(int type, unsigned bits, const char *kid) {
    keypair k = {0};
    assert_int_equal(r_jwk_init(&k.priv), RHN_OK);
    assert_int_equal(r_jwk_init(&k.pub), RHN_OK);
    assert_int_equal(r_jwk_generate_key_pair(k.priv, k.pub, type, bits, kid), RHN_OK);
    return k;
}

static void kp_free(keypair *k) {
    r_jwk_free(k->priv);
    r_jwk_free(k->pub);
}

/* Serves the public halves of the given keys. */
static void serve_keys(fake_idp *f, jwk_t **keys, size_t n) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *jk = r_jwk_export_to_json_t(keys[i]);
        json_object_set_new(jk, "use", json_string("sig"));
        json_array_append_new(arr, jk);
    }
    json_t *doc = json_pack("{s:o}", "keys", arr);
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    pthread_mutex_lock(&f->mu);
    free(f->jwks);
    f->jwks = s;
    pthread_mutex_unlock(&f->mu);
}

static json_t *base_claims(const world *w) {
    int64_t now = now_unix();
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "iss", w->idp->issuer, "aud", "chatter-api", "sub",
                     "alice", "exp", (json_int_t)(now + 300), "iat", (json_int_t)now, "jti", "j1", "client_id", "cli");
}

/* Signs claims (consumed) with priv. kid NULL = whatever rhonabwy takes from the key. */
static char *sign(jwk_t *priv, const char *alg, const char *kid, const char *typ, json_t *claims) {
    jwt_t *jwt = NULL;
    assert_int_equal(r_jwt_init(&jwt), RHN_OK);
    assert_int_equal(r_jwt_set_sign_alg(jwt, r_str_to_jwa_alg(alg)), RHN_OK);
    if (typ) r_jwt_set_header_str_value(jwt, "typ", typ);
    if (kid) r_jwt_set_header_str_value(jwt, "kid", kid);
    assert_int_equal(r_jwt_set_full_claims_json_t(jwt, claims), RHN_OK);
    json_decref(claims);
    char *t = r_jwt_serialize_signed(jwt, priv, 0);
    assert_non_null(t);
    r_jwt_free(jwt);
    char *copy = strdup(t);
    r_free(t);
    return copy;
}

static char *b64url(const void *data, size_t n) {
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *p = data;
    char *out = malloc(n * 4 / 3 + 4), *o = out;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = A[v >> 18], *o++ = A[(v >> 12) & 63], *o++ = A[(v >> 6) & 63], *o++ = A[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *o++ = A[v >> 18], *o++ = A[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *o++ = A[v >> 18], *o++ = A[(v >> 12) & 63], *o++ = A[(v >> 6) & 63];
    }
    *o = '\0';
    return out;
}

/* header.payload from raw JSON texts; sig appended verbatim (may be ""). */
static char *craft(const char *header, const char *payload, const char *sig) {
    char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
    size_t n = strlen(h) + strlen(p) + strlen(sig) + 3;
    char *t = malloc(n);
    snprintf(t, n, "%s.%s.%s", h, p, sig);
    free(h);
    free(p);
    return t;
}

/* ---------- verifier helpers ---------- */

static oidc_verifier *verifier(const world *w, long min_refresh_s, const char *admin_claim, bool at_jwt) {
    oidc_config cfg = {.issuer = w->idp->issuer, .audience = "chatter-api", .allow_insecure_http = true,
                       .jwks_min_refresh_s = min_refresh_s, .admin_claim = admin_claim,
                       .admin_value = admin_claim ? "chatter-admin" : NULL, .require_at_jwt_typ = at_jwt,
                       .http_timeout_ms = 3000};
    oidc_verifier *v = NULL;
    cerr e = {0};
    if (oidc_verifier_new(&cfg, &v, &e)) fail_msg("oidc_verifier_new: %s", e.msg);
    return v;
}

typedef struct outcome {
    int rc;
    cerr e;
    auth_identity id;
    char www[512];
} outcome;

static outcome check_header(oidc_verifier *v, const char *header) {
    outcome o;
    memset(&o, 0, sizeof o);
    o.rc = oidc_verify(v, header, &o.id, o.www, sizeof o.www, &o.e);
    return o;
}

static outcome check(oidc_verifier *v, const char *token) {
    size_t n = strlen(token) + 8;
    char *h = malloc(n);
    snprintf(h, n, "Bearer %s", token);
    outcome o = check_header(v, h);
    /* never echo any part of the token back to the client */
    const char *sig = strrchr(token, '.');
    if (sig && strlen(sig) > 8) assert_null(strstr(o.www, sig + 1));
    if (sig && strlen(sig) > 8) assert_null(strstr(o.e.msg, sig + 1));
    free(h);
    return o;
}

#define assert_rejected(o, desc)                                                                  \
    do {                                                                                          \
        outcome o_ = (o);                                                                         \
        if (o_.rc != -1) fail_msg("token accepted, expected rejection: %s", desc);               \
        assert_int_equal(o_.e.code, CERR_INVALID);                                                \
        if (!strstr(o_.www, "error_description=\"" desc "\""))                                    \
            fail_msg("challenge \"%s\" lacks \"%s\" (reason: %s)", o_.www, desc, o_.e.msg);      \
        assert_non_null(strstr(o_.www, "Bearer realm=\"chatter\""));                              \
        assert_int_equal(o_.id.owner[0], '\0');                                                   \
    } while (0)

#define assert_accepted(o)                                                                        \
    do {                                                                                          \
        outcome o_ = (o);                                                                         \
        if (o_.rc != 0) fail_msg("token rejected: %s", o_.e.msg);                                 \
    } while (0)

/* ---------- fixtures ---------- */

static int setup(void **state) {
    world *w = calloc(1, sizeof *w);
    w->idp = fake_start();
    w->rsa1 = gen(R_KEY_TYPE_RSA, 2048, "rsa-1");
    w->rsa2 = gen(R_KEY_TYPE_RSA, 2048, "rsa-2");
    w->ec1 = gen(R_KEY_TYPE_EC, 256, "ec-1");
    w->other = gen(R_KEY_TYPE_RSA, 2048, "rsa-1"); /* another provider reusing a common kid */
    w->small = gen(R_KEY_TYPE_RSA, 1024, "rsa-small");
    jwk_t *keys[] = {w->rsa1.pub, w->ec1.pub, w->small.pub};
    serve_keys(w->idp, keys, 3);
    *state = w;
    return 0;
}

static int teardown(void **state) {
    world *w = *state;
    fake_stop(w->idp);
    kp_free(&w->rsa1), kp_free(&w->rsa2), kp_free(&w->ec1), kp_free(&w->other), kp_free(&w->small);
    free(w);
    return 0;
}

/* Each test starts from the same served key set and fresh counters. */
static int reset(void **state) {
    world *w = *state;
    jwk_t *keys[] = {w->rsa1.pub, w->ec1.pub, w->small.pub};
    serve_keys(w->idp, keys, 3);
    w->idp->doc_issuer[0] = '\0';
    atomic_store(&w->idp->discovery_hits, 0);
    atomic_store(&w->idp->jwks_hits, 0);
    return 0;
}

/* ---------- tests ---------- */

static void test_valid_rs256_es256_ps256(void **state) {
    world *w = *state;
    oidc_verifier *v = verifier(w, 0, NULL, false);
    char *t = sign(w->rsa1.priv, "RS256", "rsa-1", "at+jwt", base_claims(w));
    outcome o = check(v, t);
    assert_accepted(o);
    char want[256];
    snprintf(want, sizeof want, "%s|alice", w->idp->issuer);
    assert_string_equal(o.id.owner, want);
    assert_string_equal(o.id.sub, "alice");
    assert_false(o.id.admin);
    free(t);

    t = sign(w->ec1.priv, "ES256", "ec-1", "JWT", base_claims(w));
    assert_accepted(check(v, t));
    free(t);
    t = sign(w->rsa1.priv, "PS256", "rsa-1", NULL, base_claims(w));
    assert_accepted(check(v, t));
    free(t);
    /* scheme is case-insensitive and surrounding blanks are tolerated */
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, base_claims(w));
    char hdr[8192];
    snprintf(hdr, sizeof hdr, "bearer   %s ", t);
    assert_accepted(check_header(v, hdr));
    free(t);
    /* one discovery and one JWKS fetch served all of them */
    assert_int_equal(atomic_load(&w->idp->discovery_hits), 1);
    assert_int_equal(atomic_load(&w->idp->jwks_hits), 1);
    oidc_verifier_free(v);
}

static void test_time_claims(void **state) {
    world *w = *state;
    oidc_verifier *v = verifier(w, 0, NULL, false);
    int64_t now = now_unix();
    json_t *c;
    char *t;

    c = base_claims(w);
    json_object_set_new(c, "exp", json_integer(now - 120));
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, c);
    assert_rejected(check(v, t), "token expired");
    free(t);

    c = base_claims(w); /* expired 30 s ago: inside the 60 s leeway */
    json_object_set_new(c, "exp", json_integer(now - 30));
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, c);
    assert_accepted(check(v, t));
    free(t);

    c = base_claims(w);
    json_object_del(c, "exp");
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, c);
    assert_rejected(check(v, t), "token has no valid exp");
    free(t);

    c = base_claims(w);
    json_object_set_new(c, "exp", json_string("tomorrow"));
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, c);
    assert_rejected(check(v, t), "token has no valid exp");
    free(t);

    c = base_claims(w);
    json_object_set_new(c, "nbf", json_integer(now + 300));
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, c);
    assert_rejected(check(v, t), "token not yet valid");
    free(t);

    c = base_claims(w);
    json_object_set_new(c, "nbf", json_integer(now + 20)); /* within leeway */
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, c);
    assert_accepted(check(v, t));
    free(t);

    c = base_claims(w);
    json_object_set_new(c, "iat", json_integer(now + 300));
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, c);
    assert_rejected(check(v, t), "token issued in the future");
    free(t);
    oidc_verifier_free(v);
}

static void test_iss_aud_sub(void **state) {
    world *w = *state;
    oidc_verifier *v = verifier(w, 0, NULL, false);
    json_t *c;
    char *t;

    c = base_claims(w);
    json_object_set_new(c, "iss", json_string("http://127.0.0.1:1/evil"));
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, c);
    assert_rejected(check(v, t), "token from another issuer");
    free(t);

    c = base_claims(w); /* trailing slash: not the same issuer */
    char iss[128];
    snprintf(iss, sizeof iss, "%s/", w->idp->issuer);
    json_object_set_new(c, "iss", json_string(iss));
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, c);
    assert_rejected(check(v, t), "token from another issuer");
    free(t);

    c = base_claims(w);
    json_object_set_new(c, "aud", json_string("another-api"));
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, c);
    assert_rejected(check(v, t), "token not intended for this audience");
    free(t);

    c = base_claims(w);
    json_object_set_new(c, "aud", json_pack("[s,s]", "another-api", "chatter-api"));
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, c);
    assert_accepted(check(v, t));
    free(t);

    c = base_claims(w);
    json_object_set_new(c, "aud", json_pack("[s,s]", "another-api", "chatter"));
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, c);
    assert_rejected(check(v, t), "token not intended for this audience");
    free(t);

    c = base_claims(w);
    json_object_del(c, "aud");
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, c);
    assert_rejected(check(v, t), "token not intended for this audience");
    free(t);

    c = base_claims(w);
    json_object_del(c, "sub");
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, c);
    assert_rejected(check(v, t), "token has no usable sub");
    free(t);
    oidc_verifier_free(v);
}

static void test_signature_and_alg_attacks(void **state) {
    world *w = *state;
    oidc_verifier *v = verifier(w, 0, NULL, false);
    int64_t now = now_unix();
    char payload[512];
    snprintf(payload, sizeof payload,
             "{\"iss\":\"%s\",\"aud\":\"chatter-api\",\"sub\":\"mallory\",\"exp\":%lld,\"iat\":%lld}",
             w->idp->issuer, (long long)(now + 300), (long long)now);

    /* bad signature: one signature character changed */
    char *t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, base_claims(w));
    char *sig = strrchr(t, '.') + 1;
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    assert_rejected(check(v, t), "bad signature");
    free(t);

    /* claims swapped under a valid signature */
    char *good = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, base_claims(w));
    char *forged = craft("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", payload, strrchr(good, '.') + 1);
    assert_rejected(check(v, forged), "bad signature");
    free(forged);
    free(good);

    /* alg none, with and without a trailing signature */
    t = craft("{\"alg\":\"none\",\"kid\":\"rsa-1\"}", payload, "");
    assert_rejected(check(v, t), "malformed token"); /* empty third part: refused by shape */
    free(t);
    t = craft("{\"alg\":\"none\",\"kid\":\"rsa-1\"}", payload, "c2ln");
    assert_rejected(check(v, t), "unsigned tokens (alg none) are not accepted");
    free(t);
    t = craft("{\"alg\":\"NONE\"}", payload, "c2ln"); /* an alg rhonabwy does not know fails its parse */
    assert_rejected(check(v, t), "malformed token");
    free(t);

    /* HS256 keyed with the provider's public key (PEM), the classic RS/HS confusion */
    unsigned char pem[4096];
    size_t pem_len = sizeof pem;
    assert_int_equal(r_jwk_export_to_pem_der(w->rsa1.pub, R_FORMAT_PEM, pem, &pem_len, 0), RHN_OK);
    char *unsigned_part = craft("{\"alg\":\"HS256\",\"kid\":\"rsa-1\",\"typ\":\"JWT\"}", payload, "");
    unsigned_part[strlen(unsigned_part) - 1] = '\0'; /* drop the trailing '.' */
    unsigned char mac[32];
    assert_int_equal(gnutls_hmac_fast(GNUTLS_MAC_SHA256, pem, pem_len, unsigned_part, strlen(unsigned_part), mac), 0);
    char *mac64 = b64url(mac, sizeof mac);
    size_t n = strlen(unsigned_part) + strlen(mac64) + 2;
    t = malloc(n);
    snprintf(t, n, "%s.%s", unsigned_part, mac64);
    assert_rejected(check(v, t), "token alg not allowed (RS256, PS256, ES256 only)");
    free(t);
    free(mac64);
    free(unsigned_part);

    /* every HS* and other non-allowed algs, properly signed with a symmetric key */
    jwk_t *hkey = NULL;
    assert_int_equal(r_jwk_init(&hkey), RHN_OK);
    assert_int_equal(r_jwk_import_from_symmetric_key(hkey, pem, pem_len), RHN_OK);
    const char *hs[] = {"HS256", "HS384", "HS512"};
    for (size_t i = 0; i < 3; i++) {
        t = sign(hkey, hs[i], "rsa-1", NULL, base_claims(w));
        assert_rejected(check(v, t), "token alg not allowed (RS256, PS256, ES256 only)");
        free(t);
    }
    r_jwk_free(hkey);
    t = sign(w->rsa1.priv, "RS512", "rsa-1", NULL, base_claims(w));
    assert_rejected(check(v, t), "token alg not allowed (RS256, PS256, ES256 only)");
    free(t);

    /* key type must match the alg: ES256 header naming the RSA key, RS256 naming the EC key */
    t = sign(w->ec1.priv, "ES256", "rsa-1", NULL, base_claims(w));
    assert_rejected(check(v, t), "unknown signing key");
    free(t);
    t = sign(w->rsa1.priv, "RS256", "ec-1", NULL, base_claims(w));
    assert_rejected(check(v, t), "unknown signing key");
    free(t);
    /* RSA keys under 2048 bits are not used, even when served */
    t = sign(w->small.priv, "RS256", "rsa-small", NULL, base_claims(w));
    assert_rejected(check(v, t), "unknown signing key");
    free(t);

    /* jwk / jku / x5u headers are ignored: a token carrying its own key is still checked against the JWKS */
    json_t *own = r_jwk_export_to_json_t(w->other.pub);
    char *own_s = json_dumps(own, JSON_COMPACT);
    json_decref(own);
    jwt_t *jwt = NULL;
    r_jwt_init(&jwt);
    r_jwt_set_sign_alg(jwt, R_JWA_ALG_RS256);
    r_jwt_set_header_str_value(jwt, "kid", "rsa-1");
    r_jwt_set_header_str_value(jwt, "jku", "http://127.0.0.1:1/keys");
    json_t *own_j = json_loads(own_s, 0, NULL);
    r_jwt_set_header_json_t_value(jwt, "jwk", own_j); /* rhonabwy copies header values */
    json_decref(own_j);
    json_t *c = base_claims(w);
    r_jwt_set_full_claims_json_t(jwt, c);
    json_decref(c);
    char *raw = r_jwt_serialize_signed(jwt, w->other.priv, 0);
    assert_non_null(raw);
    assert_rejected(check(v, raw), "bad signature"); /* verified with the JWKS key, not the embedded one */
    r_free(raw);
    r_jwt_free(jwt);
    free(own_s);

    /* crit extension we do not understand */
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, base_claims(w));
    jwt = NULL;
    r_jwt_init(&jwt);
    r_jwt_set_sign_alg(jwt, R_JWA_ALG_RS256);
    r_jwt_set_header_str_value(jwt, "kid", "rsa-1");
    json_t *crit = json_pack("[s]", "exp");
    r_jwt_set_header_json_t_value(jwt, "crit", crit);
    json_decref(crit);
    c = base_claims(w);
    r_jwt_set_full_claims_json_t(jwt, c);
    json_decref(c);
    raw = r_jwt_serialize_signed(jwt, w->rsa1.priv, 0);
    assert_non_null(raw);
    assert_rejected(check(v, raw), "token has critical header extensions");
    r_free(raw);
    r_jwt_free(jwt);
    free(t);
    oidc_verifier_free(v);
}

static void test_malformed_and_oversized(void **state) {
    world *w = *state;
    oidc_verifier *v = verifier(w, 0, NULL, false);

    outcome o = check_header(v, NULL);
    assert_int_equal(o.rc, -1);
    assert_int_equal(o.e.code, CERR_INVALID);
    assert_string_equal(o.www, "Bearer realm=\"chatter\""); /* RFC 6750 §3.1: no error code without credentials */
    o = check_header(v, "");
    assert_string_equal(o.www, "Bearer realm=\"chatter\"");
    o = check_header(v, "Basic YWxpY2U6c2VjcmV0");
    assert_int_equal(o.rc, -1);
    assert_non_null(strstr(o.www, "error=\"invalid_request\""));
    assert_null(strstr(o.www, "YWxpY2U6"));
    assert_rejected(check_header(v, "Bearer "), "empty bearer token");

    assert_rejected(check(v, "abc"), "malformed token");
    assert_rejected(check(v, "a.b"), "malformed token");
    assert_rejected(check(v, "a.b.c.d.e"), "malformed token");    /* JWE shape */
    assert_rejected(check(v, "eyJh!.eyJ.c2ln"), "malformed token"); /* not base64url */
    assert_rejected(check(v, "eyJhbGciOiJSUzI1NiJ9=.e30.c2ln"), "malformed token");
    char *t = craft("{\"alg\":\"RS256\",\"kid\":", "{}", "c2lnbmF0dXJl"); /* header not JSON */
    assert_rejected(check(v, t), "malformed token");
    free(t);
    t = craft("[\"alg\",\"RS256\"]", "{}", "c2lnbmF0dXJl"); /* header JSON but not an object */
    assert_rejected(check(v, t), "malformed token");
    free(t);
    t = craft("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", "{\"sub\":", "c2lnbmF0dXJl"); /* payload not JSON */
    assert_int_equal(check(v, t).rc, -1);
    free(t);
    /* invalid base64 inside a part: a lone trailing 6-bit group */
    assert_rejected(check(v, "e.e30.c2ln"), "malformed token");

    /* a 100 KB Authorization value is refused before parsing */
    size_t big = 100 * 1024;
    char *h = malloc(big + 1);
    memcpy(h, "Bearer ", 7);
    memset(h + 7, 'A', big - 7);
    h[big] = '\0';
    h[big / 3] = '.', h[2 * big / 3] = '.';
    assert_rejected(check_header(v, h), "token too large");
    free(h);
    /* a validly signed but oversized token (a huge claim) too */
    json_t *c = base_claims(w);
    char *pad = malloc(20000);
    memset(pad, 'x', 19999);
    pad[19999] = '\0';
    json_object_set_new(c, "pad", json_string(pad));
    free(pad);
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, c);
    assert_rejected(check(v, t), "token too large");
    free(t);
    /* nothing above needed the provider except none at all */
    assert_int_equal(atomic_load(&w->idp->jwks_hits), 0);
    oidc_verifier_free(v);
}

static void test_other_provider_token(void **state) {
    world *w = *state;
    oidc_verifier *v = verifier(w, 0, NULL, false);
    fake_idp *other = fake_start();
    jwk_t *keys[] = {w->other.pub};
    serve_keys(other, keys, 1);
    json_t *c = base_claims(w);
    json_object_set_new(c, "iss", json_string(other->issuer));
    char *t = sign(w->other.priv, "RS256", "rsa-1", NULL, c);
    assert_rejected(check(v, t), "bad signature"); /* same kid, different key: the signature is what fails */
    free(t);
    /* even claiming our issuer, the other provider's key does not verify */
    t = sign(w->other.priv, "RS256", "rsa-1", NULL, base_claims(w));
    assert_rejected(check(v, t), "bad signature");
    free(t);
    assert_int_equal(atomic_load(&other->jwks_hits), 0);
    fake_stop(other);
    oidc_verifier_free(v);
}

static void test_unknown_kid_refetch_rate_limited(void **state) {
    world *w = *state;
    oidc_verifier *v = verifier(w, 0, NULL, false); /* default 10 s between JWKS fetches */
    char *t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, base_claims(w));
    assert_accepted(check(v, t));
    free(t);
    assert_int_equal(atomic_load(&w->idp->jwks_hits), 1);
    /* a flood of random kids right after the fetch: every one rejected, not one reaches the provider */
    for (int i = 0; i < 200; i++) {
        char kid[32];
        snprintf(kid, sizeof kid, "random-%d-%lld", i, (long long)now_ms());
        t = sign(w->rsa1.priv, "RS256", kid, NULL, base_claims(w));
        assert_rejected(check(v, t), "unknown signing key");
        free(t);
    }
    assert_int_equal(atomic_load(&w->idp->jwks_hits), 1);
    assert_int_equal(atomic_load(&w->idp->discovery_hits), 1);
    /* known keys keep working during the flood */
    t = sign(w->ec1.priv, "ES256", "ec-1", NULL, base_claims(w));
    assert_accepted(check(v, t));
    free(t);
    oidc_verifier_free(v);
}

static void test_key_rotation(void **state) {
    world *w = *state;
    oidc_verifier *v = verifier(w, 1, NULL, false); /* 1 s between JWKS fetches */
    char *t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, base_claims(w));
    assert_accepted(check(v, t));
    free(t);
    /* the provider rotates: rsa-2 replaces rsa-1 */
    jwk_t *keys[] = {w->rsa2.pub, w->ec1.pub};
    serve_keys(w->idp, keys, 2);
    char *t2 = sign(w->rsa2.priv, "RS256", "rsa-2", NULL, base_claims(w));
    sleep_ms(1100);
    assert_accepted(check(v, t2)); /* unknown kid -> one refetch -> accepted, no restart */
    assert_int_equal(atomic_load(&w->idp->jwks_hits), 2);
    for (int i = 0; i < 20; i++) assert_accepted(check(v, t2));
    assert_int_equal(atomic_load(&w->idp->jwks_hits), 2);
    /* the retired key is gone from the refreshed set */
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, base_claims(w));
    assert_rejected(check(v, t), "unknown signing key");
    free(t);
    free(t2);
    oidc_verifier_free(v);
}

static void test_admin_claim_and_typ(void **state) {
    world *w = *state;
    oidc_verifier *v = verifier(w, 0, "roles", false);
    json_t *c = base_claims(w);
    json_object_set_new(c, "roles", json_pack("[s,s]", "reader", "chatter-admin"));
    char *t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, c);
    outcome o = check(v, t);
    assert_accepted(o);
    assert_true(o.id.admin);
    free(t);
    c = base_claims(w);
    json_object_set_new(c, "roles", json_pack("[s]", "chatter-admins"));
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, c);
    o = check(v, t);
    assert_accepted(o);
    assert_false(o.id.admin);
    free(t);
    c = base_claims(w);
    json_object_set_new(c, "roles", json_string("openid chatter-admin profile"));
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, c);
    o = check(v, t);
    assert_true(o.id.admin);
    free(t);
    oidc_verifier_free(v);

    /* nested path (Keycloak style) */
    v = verifier(w, 0, "realm_access.roles", false);
    c = base_claims(w);
    json_object_set_new(c, "realm_access", json_pack("{s:[s]}", "roles", "chatter-admin"));
    t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, c);
    o = check(v, t);
    assert_accepted(o);
    assert_true(o.id.admin);
    free(t);
    oidc_verifier_free(v);

    v = verifier(w, 0, NULL, true);
    t = sign(w->rsa1.priv, "RS256", "rsa-1", "JWT", base_claims(w));
    assert_rejected(check(v, t), "token typ is not at+jwt");
    free(t);
    t = sign(w->rsa1.priv, "RS256", "rsa-1", "application/at+jwt", base_claims(w));
    assert_accepted(check(v, t));
    free(t);
    oidc_verifier_free(v);
}

static void test_provider_problems_are_not_401(void **state) {
    world *w = *state;
    /* discovery names a different issuer: configuration error, reported as unavailable, never accepted */
    snprintf(w->idp->doc_issuer, sizeof w->idp->doc_issuer, "https://evil.example");
    oidc_verifier *v = verifier(w, 0, NULL, false);
    char *t = sign(w->rsa1.priv, "RS256", "rsa-1", NULL, base_claims(w));
    outcome o = check(v, t);
    assert_int_equal(o.rc, -1);
    assert_int_not_equal(o.e.code, CERR_INVALID);
    assert_non_null(strstr(o.e.msg, "issuer"));
    assert_int_equal(atomic_load(&w->idp->jwks_hits), 0);
    /* and the failed attempt is rate limited too */
    for (int i = 0; i < 20; i++) assert_int_equal(check(v, t).rc, -1);
    assert_int_equal(atomic_load(&w->idp->discovery_hits), 1);
    oidc_verifier_free(v);
    w->idp->doc_issuer[0] = '\0';

    /* provider down */
    oidc_config cfg = {.issuer = "http://127.0.0.1:1", .audience = "chatter-api", .allow_insecure_http = true,
                       .http_timeout_ms = 2000};
    cerr e = {0};
    assert_int_equal(oidc_verifier_new(&cfg, &v, &e), 0);
    o = check(v, t);
    assert_int_equal(o.rc, -1);
    assert_int_equal(o.e.code, CERR_NETWORK);
    oidc_verifier_free(v);
    free(t);
}

static void test_config_validation(void **state) {
    (void)state;
    oidc_verifier *v = NULL;
    cerr e = {0};
    oidc_config cfg = {.issuer = "http://idp.example.com", .audience = "a", .allow_insecure_http = true};
    assert_int_equal(oidc_verifier_new(&cfg, &v, &e), -1); /* plain http off loopback: never */
    assert_non_null(strstr(e.msg, "https"));
    cfg.issuer = "http://127.0.0.1:8080";
    cfg.allow_insecure_http = false;
    assert_int_equal(oidc_verifier_new(&cfg, &v, &e), -1); /* loopback http needs the explicit flag */
    cfg.issuer = "http://127.0.0.1.evil.example:80";
    cfg.allow_insecure_http = true;
    assert_int_equal(oidc_verifier_new(&cfg, &v, &e), -1);
    cfg.issuer = "https://login.microsoftonline.com/tenant/v2.0";
    cfg.allow_insecure_http = false;
    cfg.audience = NULL;
    assert_int_equal(oidc_verifier_new(&cfg, &v, &e), -1);
    cfg.audience = "api://chatter";
    cfg.admin_claim = "roles";
    assert_int_equal(oidc_verifier_new(&cfg, &v, &e), -1); /* claim without value */
    cfg.admin_value = "chatter-admin";
    cfg.leeway_s = 3600;
    assert_int_equal(oidc_verifier_new(&cfg, &v, &e), -1);
    cfg.leeway_s = 0;
    assert_int_equal(oidc_verifier_new(&cfg, &v, &e), 0); /* no network I/O at construction */
    oidc_verifier_free(v);

    bool on = true;
    unsetenv("OIDC_ISSUER");
    assert_int_equal(oidc_config_from_env(&cfg, &on, &e), 0);
    assert_false(on);
    setenv("OIDC_ISSUER", "https://idp.example.com", 1);
    unsetenv("OIDC_AUDIENCE");
    assert_int_equal(oidc_config_from_env(&cfg, &on, &e), -1);
    setenv("OIDC_AUDIENCE", "api://chatter", 1);
    setenv("OIDC_LEEWAY_S", "abc", 1);
    assert_int_equal(oidc_config_from_env(&cfg, &on, &e), -1);
    setenv("OIDC_LEEWAY_S", "0", 1);
    assert_int_equal(oidc_config_from_env(&cfg, &on, &e), 0);
    assert_true(on);
    assert_true(cfg.leeway_s < 0);
    assert_string_equal(cfg.audience, "api://chatter");
    unsetenv("OIDC_ISSUER"), unsetenv("OIDC_AUDIENCE"), unsetenv("OIDC_LEEWAY_S");
}

typedef struct race_arg {
    oidc_verifier *v;
    const char *token;
    int ok;
} race_arg;

static void *race(void *p) {
    race_arg *a = p;
    for (int i = 0; i < 25; i++) {
        auth_identity id;
        char www[256];
        cerr e = {0};
        if (oidc_verify(a->v, a->token, &id, www, sizeof www, &e) == 0 && strcmp(id.sub, "alice") == 0) a->ok++;
    }
    return NULL;
}

static void test_concurrent_first_use(void **state) {
    world *w = *state;
    oidc_verifier *v = verifier(w, 0, NULL, false);
    char *t = sign(w->ec1.priv, "ES256", "ec-1", NULL, base_claims(w));
    size_t n = strlen(t) + 8;
    char *hdr = malloc(n);
    snprintf(hdr, n, "Bearer %s", t);
    pthread_t th[8];
    race_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (race_arg){.v = v, .token = hdr};
        assert_int_equal(pthread_create(&th[i], NULL, race, &args[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ok += args[i].ok;
    }
    assert_int_equal(ok, 8 * 25);
    /* eight threads hit a cold cache at once; the provider still saw one fetch of each */
    assert_int_equal(atomic_load(&w->idp->discovery_hits), 1);
    assert_int_equal(atomic_load(&w->idp->jwks_hits), 1);
    free(hdr);
    free(t);
    oidc_verifier_free(v);
}

/* ---------- --verify mode ---------- */

static bool verify_one(oidc_verifier *v, const char *token) {
    size_t n = strlen(token) + 8;
    char *hdr = malloc(n);
    snprintf(hdr, n, "Bearer %s", token);
    auth_identity id;
    char www[512];
    cerr e = {0};
    bool ok = oidc_verify(v, hdr, &id, www, sizeof www, &e) == 0;
    if (ok) printf("ok %s admin=%d\n", id.owner, id.admin);
    else printf("rejected %s %s (%s)\n", cerr_code_name(e.code), www, e.msg);
    fflush(stdout);
    free(hdr);
    return ok;
}

/* Tokens from argv, or else one per stdin line (so a script can rotate provider keys between tokens while
 * this verifier, and its key cache, stays up). */
static int verify_mode(int argc, char **argv) {
    oidc_config cfg;
    bool on = false;
    cerr e = {0};
    if (oidc_config_from_env(&cfg, &on, &e) || !on) {
        fprintf(stderr, "test_oidc --verify: %s\n", on ? e.msg : "OIDC_ISSUER is not set");
        return 2;
    }
    oidc_verifier *v = NULL;
    if (oidc_verifier_new(&cfg, &v, &e)) {
        fprintf(stderr, "test_oidc --verify: %s\n", e.msg);
        return 2;
    }
    int bad = 0;
    if (argc > 2) {
        for (int i = 2; i < argc; i++) bad += !verify_one(v, argv[i]);
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, stdin)) > 0) {
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
            if (n == 0) continue;
            bad += !verify_one(v, line);
        }
        free(line);
    }
    oidc_verifier_free(v);
    return bad ? 1 : 0;
}

int main(int argc, char **argv) {
    cerr e = {0};
    if (http_global_init(&e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    if (argc > 1 && strcmp(argv[1], "--verify") == 0) {
        int rc = verify_mode(argc, argv);
        http_global_cleanup();
        return rc;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_valid_rs256_es256_ps256, reset),
        cmocka_unit_test_setup(test_time_claims, reset),
        cmocka_unit_test_setup(test_iss_aud_sub, reset),
        cmocka_unit_test_setup(test_signature_and_alg_attacks, reset),
        cmocka_unit_test_setup(test_malformed_and_oversized, reset),
        cmocka_unit_test_setup(test_other_provider_token, reset),
        cmocka_unit_test_setup(test_unknown_kid_refetch_rate_limited, reset),
        cmocka_unit_test_setup(test_key_rotation, reset),
        cmocka_unit_test_setup(test_admin_claim_and_typ, reset),
        cmocka_unit_test_setup(test_provider_problems_are_not_401, reset),
        cmocka_unit_test(test_config_validation),
        cmocka_unit_test_setup(test_concurrent_first_use, reset),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    http_global_cleanup();
    return rc;
}
