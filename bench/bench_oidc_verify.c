/* bench_oidc_verify.c - oidc_verify throughput: valid RS256 / ES256 tokens and a flood of unknown kids, 1 and 4
 * threads, keys served by an in-process libmicrohttpd JWKS endpoint on 127.0.0.1.
 * Build and run from the repository root after building build/:
 *   cc -O2 -D_GNU_SOURCE -Isrc bench/bench_oidc_verify.c build/libchatter_lib.a \
 *      $(pkg-config --libs librhonabwy libmicrohttpd libcurl jansson gnutls) -lpthread -o /tmp/bench_oidc && /tmp/bench_oidc */
#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <rhonabwy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/oidc.h"
#include "core/http.h"
#include "core/util.h"

static char issuer[64], *jwks_doc;
static int jwks_hits;

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url, const char *m, const char *v,
                             const char *up, size_t *ups, void **cc) {
    (void)cls, (void)m, (void)v, (void)up, (void)ups, (void)cc;
    char doc[256];
    const char *body = doc;
    if (strcmp(url, "/jwks") == 0) {
        body = jwks_doc;
        __atomic_add_fetch(&jwks_hits, 1, __ATOMIC_SEQ_CST);
    } else {
        snprintf(doc, sizeof doc, "{\"issuer\":\"%s\",\"jwks_uri\":\"%s/jwks\"}", issuer, issuer);
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return rc;
}

static char *token(jwk_t *priv, jwa_alg alg, const char *kid) {
    jwt_t *jwt;
    r_jwt_init(&jwt);
    r_jwt_set_sign_alg(jwt, alg);
    r_jwt_set_header_str_value(jwt, "kid", kid);
    json_t *c = json_pack("{s:s,s:s,s:s,s:I}", "iss", issuer, "aud", "api", "sub", "bench", "exp",
                          (json_int_t)(now_unix() + 3600));
    r_jwt_set_full_claims_json_t(jwt, c);
    json_decref(c);
    char *t = r_jwt_serialize_signed(jwt, priv, 0), *hdr = malloc(strlen(t) + 8);
    sprintf(hdr, "Bearer %s", t);
    r_free(t);
    r_jwt_free(jwt);
    return hdr;
}

typedef struct job {
    oidc_verifier *v;
    char **tokens;
    int ntokens, iters, ok;
} job;

static void *run(void *p) {
    job *j = p;
    for (int i = 0; i < j->iters; i++) {
        auth_identity id;
        char www[256];
        cerr e;
        j->ok += oidc_verify(j->v, j->tokens[i % j->ntokens], &id, www, sizeof www, &e) == 0;
    }
    return NULL;
}

static void measure(const char *what, oidc_verifier *v, char **tokens, int ntokens, int threads, int iters) {
    pthread_t th[16];
    job jobs[16];
    int64_t t0 = now_ms();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (job){v, tokens, ntokens, iters, 0};
        pthread_create(&th[i], NULL, run, &jobs[i]);
    }
    int ok = 0;
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL), ok += jobs[i].ok;
    double s = (double)(now_ms() - t0) / 1000.0;
    printf("%-28s %d thread(s): %8.0f verifies/s  (%d of %d accepted)\n", what, threads, threads * iters / s, ok,
           threads * iters);
}

int main(void) {
    cerr e = {0};
    if (http_global_init(&e)) return 1;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, serve, NULL,
                                            MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
    snprintf(issuer, sizeof issuer, "http://127.0.0.1:%u", MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
    jwk_t *rp, *ru, *ep, *eu;
    r_jwk_init(&rp), r_jwk_init(&ru), r_jwk_init(&ep), r_jwk_init(&eu);
    r_jwk_generate_key_pair(rp, ru, R_KEY_TYPE_RSA, 2048, "rsa");
    r_jwk_generate_key_pair(ep, eu, R_KEY_TYPE_EC, 256, "ec");
    json_t *keys = json_pack("{s:[oo]}", "keys", r_jwk_export_to_json_t(ru), r_jwk_export_to_json_t(eu));
    jwks_doc = json_dumps(keys, JSON_COMPACT);
    json_decref(keys);

    oidc_config cfg = {.issuer = issuer, .audience = "api", .allow_insecure_http = true};
    oidc_verifier *v;
    if (oidc_verifier_new(&cfg, &v, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
    char *rs = token(rp, R_JWA_ALG_RS256, "rsa"), *es = token(ep, R_JWA_ALG_ES256, "ec");
    char *flood[64];
    for (int i = 0; i < 64; i++) {
        char kid[32];
        snprintf(kid, sizeof kid, "forged-%d", i);
        flood[i] = token(ep, R_JWA_ALG_ES256, kid);
    }
    for (int t = 1; t <= 4; t *= 4) {
        measure("RS256 (2048-bit) valid", v, &rs, 1, t, 4000 / t);
        measure("ES256 valid", v, &es, 1, t, 4000 / t);
        measure("ES256 unknown kid (flood)", v, flood, 64, t, 4000 / t);
    }
    printf("JWKS downloads during the whole run: %d (first use + at most one per 10 s)\n", jwks_hits);
    oidc_verifier_free(v);
    MHD_stop_daemon(d);
    http_global_cleanup();
    return 0;
}
